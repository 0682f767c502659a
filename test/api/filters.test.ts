/** Unknown filter values and unknown filters are a 400 naming the allowed values, on every list route. */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { DELIVERY_STATES, INCOMING_STATES } from '../../src/document/delivery.js'
import { auth, buildTestApp, KEYS, ROOT } from '../helper.js'

t.test('the log filter knows exactly the delivery and incoming states', async (t) => {
  const q = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/log-query.json'), 'utf8'))
  t.same(new Set(q.properties.state.enum), new Set([...DELIVERY_STATES, ...INCOMING_STATES]))
})

t.test('state=bogus and an unknown filter are refused with 400', async (t) => {
  const { app } = await buildTestApp(t)
  for (const [url, key] of [
    ['/v1/documents?state=bogus', KEYS.g22],
    ['/v1/inbox?state=bogus', KEYS.g22],
    ['/v1/log?state=bogus', KEYS.ops],
    ['/v1/log?direction=sideways', KEYS.ops],
    ['/v1/documents?colour=red', KEYS.g22],
    ['/v1/log?colour=red', KEYS.ops],
  ] as const) {
    const res = await app.inject({ url, headers: auth(key) })
    t.equal(res.statusCode, 400, `${url}: 400`)
    const body = res.json()
    t.equal(body.code, 'GW_ERR_API_VALIDATION', url)
    t.match(body.message, /must be one of|is not a known field/, `${url}: ${body.message}`)
  }
  const ok = await app.inject({ url: '/v1/log?state=delivered&direction=out', headers: auth(KEYS.ops) })
  t.equal(ok.statusCode, 200, 'a known state is a filter')
})
