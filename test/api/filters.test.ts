/** Unknown filter values and unknown filters are a 400 naming the allowed values, on every list route. */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { DELIVERY_STATES, INCOMING_STATES, stateFilterValues } from '../../src/document/delivery.js'
import { auth, buildTestApp, G22, H29, KEYS, ROOT, sampleDocument } from '../helper.js'

t.test('the log filter knows exactly the delivery and incoming states, and the old names for one release', async (t) => {
  const q = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/log-query.json'), 'utf8'))
  t.same(new Set(q.properties.state.enum), new Set([...DELIVERY_STATES, ...INCOMING_STATES, 'received']))
  t.same(new Set(q.properties.state.enum), new Set(stateFilterValues()))
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

t.test('state names per direction: new names filter, old names are aliases with a Deprecation header', async (t) => {
  const { app, store } = await buildTestApp(t)
  const send = async (subject: string) => {
    const r = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument({ subject })) })
    t.equal(r.statusCode, 202, r.body)
    return r.json() as { id: string }
  }
  // outgoing: one registered by its recipient (03), one still in the outbox
  const reg = await send('Đã được tiếp nhận')
  const waiting = await send('Còn trong hàng đợi')
  const [d] = await store.getDeliveries(reg.id)
  await store.markQueued(d!.id)
  await store.transition(d!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01' })
  await store.transition(d!.id, 'registered', { cause: 'status 03 from peer', actor: `peer:${H29}`, statusCode: '03' })
  // incoming for G22: one just arrived, one fetched and registered by the DMS (03)
  const incoming = async (n: number) =>
    (
      await store.recordIncoming({
        package: { id: randomUUID(), kind: 'edoc', documentId: `${H29},2026/11/25,${n}/UBND`, senderOrganId: H29, recipient: G22, bytes: Buffer.from(`in-${n}-${randomUUID()}`), sha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), subject: `Văn bản đến ${n}`, verdict: { ok: true, code: 'VALID' } },
        state: 'arrived',
        actor: `peer:${H29}`,
      })
    ).incoming
  const arrived = await incoming(1)
  const registered = await incoming(2)
  await store.transitionIncoming(registered.id, 'fetched', { actor: 'client:dms-vpcp', cause: 'fetched by the DMS' })
  await store.transitionIncoming(registered.id, 'registered', { actor: 'client:dms-vpcp', cause: 'status 03 sent', statusCode: '03' })

  const get = async (url: string, key: string = KEYS.g22) => {
    const r = await app.inject({ url, headers: auth(key) })
    t.equal(r.statusCode, 200, `${url}: ${r.body}`)
    return { ids: (r.json().items as { id?: string; packageId?: string; seq?: number }[]).map((i) => i.id ?? i.packageId), body: r.json(), headers: r.headers }
  }
  const deprecated = (h: Record<string, unknown>, use: RegExp, what: string) => {
    t.equal(h.deprecation, 'true', `${what}: Deprecation header`)
    t.match(String(h.warning), use, `${what}: the Warning says what to use`)
  }
  const current = (h: Record<string, unknown>, what: string) => t.equal(h.deprecation, undefined, `${what}: no Deprecation header`)

  // sent documents
  let r = await get('/v1/documents?state=registered')
  t.same(r.ids, [reg.id], 'documents: registered (03)')
  current(r.headers, 'documents registered')
  r = await get('/v1/documents?state=received')
  t.same(r.ids, [reg.id], 'documents: received is the old name of registered')
  deprecated(r.headers, /^299 lienthong "state=received is an old state name.*use outgoing registered"$/, 'documents received')
  r = await get('/v1/documents?state=accepted')
  t.same(r.ids, [waiting.id], 'documents: accepted is the outbox, as before')
  current(r.headers, 'documents accepted')
  t.equal((await app.inject({ url: '/v1/documents?state=arrived', headers: auth(KEYS.g22) })).statusCode, 400, 'arrived is no outgoing state')

  // inbox
  r = await get('/v1/inbox?state=arrived')
  t.same(r.ids, [arrived.id], 'inbox: arrived')
  r = await get('/v1/inbox?state=received')
  t.same(r.ids, [arrived.id], 'inbox: received is the old name of arrived')
  deprecated(r.headers, /use incoming arrived/, 'inbox received')
  r = await get('/v1/inbox?state=registered')
  t.same(r.ids, [registered.id], 'inbox: registered (03)')
  current(r.headers, 'inbox registered')
  r = await get('/v1/inbox?state=accepted')
  t.same(r.ids, [registered.id], 'inbox: accepted is the old name of registered')
  deprecated(r.headers, /use incoming registered/, 'inbox accepted')
  t.equal((await app.inject({ url: '/v1/inbox?state=queued', headers: auth(KEYS.g22) })).statusCode, 400, 'queued is no incoming state')

  // the log: a name used in both directions matches both unless direction is given
  const log = async (qs: string) => {
    const x = await get(`/v1/log?${qs}`, KEYS.ops)
    return { states: (x.body.items as { direction: string; state: string; packageId: string }[]).map((e) => `${e.direction}:${e.state}:${e.packageId === reg.id ? 'reg' : e.packageId === arrived.id ? 'arrived' : e.packageId === registered.id ? 'registered' : e.packageId === waiting.id ? 'waiting' : '?'}`).sort(), headers: x.headers }
  }
  let l = await log('state=registered')
  t.same(l.states, ['in:registered:registered', 'out:registered:reg'], 'log: 03 in both directions')
  current(l.headers, 'log registered')
  t.same((await log('state=registered&direction=out')).states, ['out:registered:reg'])
  t.same((await log('state=arrived')).states, ['in:arrived:arrived', 'in:arrived:registered'])
  l = await log('state=received')
  t.same(l.states, ['in:arrived:arrived', 'in:arrived:registered', 'out:registered:reg'], 'log: received meant the 03 outgoing and the arrival incoming')
  deprecated(l.headers, /use outgoing registered \/ incoming arrived/, 'log received')
  l = await log('state=accepted')
  t.same(l.states, ['out:accepted:reg', 'out:accepted:waiting'], 'log: accepted is the outbox only')
  current(l.headers, 'log accepted')
  l = await log('state=accepted&direction=in')
  t.same(l.states, ['in:registered:registered'], 'log, incoming: accepted is the old name of registered')
  deprecated(l.headers, /use incoming registered/, 'log accepted incoming')
  const csv = await app.inject({ url: '/v1/log/export.csv?state=received', headers: auth(KEYS.ops) })
  t.equal(csv.statusCode, 200)
  t.equal(csv.headers.deprecation, 'true', 'the export answers the old name with the header too')
})
