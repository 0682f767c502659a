/**
 * Two gateways where A's axis connector points at B's /vxp: B plays the national axis (it is a faithful VXP
 * server). A hosts G22 and routes 000.00.*.H29 via the axis; B hosts H29 and, as a provincial hub would, G22 for
 * the system A connects as. A DMS on A sends to H29 through the axis path and gets 01 and 03 back; B's DMS (an SDK
 * client of B) sends to G22 and A's answer comes back the same way.
 */
import t from 'tap'
import { VxpClient } from '../../src/vxp/client.js'
import { auth, G22, H29, KEYS, sampleDocument } from '../helper.js'
import { edocPackage, startVxpGateway, statusPackage, until } from './helpers.js'

const SYS_GW_A = { systemId: 'lienthong.gateway-a', secret: 'YS1jb25uZWN0b3Itc2VjcmV0', organIds: [G22] }
const SYS_DMS_B = { systemId: 'vxp.saas.03', secret: 'ZG1zLWItc2VjcmV0', organIds: [H29] }

async function twoGateways(t: Parameters<typeof startVxpGateway>[0]) {
  const b = await startVxpGateway(t, { server: { systems: [SYS_GW_A, SYS_DMS_B] } }, { only: [G22, H29] })
  const a = await startVxpGateway(
    t,
    {
      axis: { endpoint: `${b.url}/vxp`, systemId: SYS_GW_A.systemId, secret: SYS_GW_A.secret, organIds: [G22], pollIntervalMs: 300, retryDelayMs: 200 },
      routes: [{ organIds: ['000.00.*.H29'], via: 'axis' }],
    },
    { only: [G22] },
  )
  const dmsB = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_DMS_B })
  return { a, b, dmsB }
}
type Item = Record<string, string>
const data = (x: { json?: Record<string, unknown> | undefined }) => (x.json?.data ?? []) as Item[]

t.test('A → B through the axis path: 01 and 03 come back', async (t) => {
  const { a, b, dmsB } = await twoGateways(t)
  const doc = sampleDocument()
  const res = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: doc })
  t.equal(res.statusCode, 202, res.body)
  const id = res.json().id as string

  // A's connector sent it with sendEdoc; B relayed it to H29, whose 01 came back through B's status list
  const delivered = await until(async () => {
    const [d] = await a.store.getDeliveries(id)
    if (d?.state !== 'delivered') throw new Error(`delivery is ${d?.state}`)
    return d
  }, 30_000)
  t.equal(delivered.recipient, H29)
  const timeline = await a.store.timeline(delivered.id)
  const queued = timeline.find((e) => e.state === 'queued')
  t.match(queued?.detail, { via: 'axis' }, 'queued by the axis connector')
  t.match(String(queued?.detail.axisDocId), /^[0-9a-f-]{36}$/, 'the axis DocId is stored with the delivery')
  t.equal(await a.store.getPackageBytes(id).then((p) => p?.bytes.length), (await b.store.getPackageBytes(String(queued?.detail.axisDocId)))?.bytes.length, 'B holds the same package')

  // B's DMS takes it and answers 03 with its own status package
  const item = await until(async () => {
    const x = data(await dmsB.getReceivedEdocList()).find((i) => i.from === G22)
    if (!x) throw new Error('not yet on B')
    return x
  })
  const got = await dmsB.getEdoc(item.docId!)
  t.same(Buffer.from(String(got.json?.data), 'base64'), Buffer.from((await a.store.getPackageBytes(id))!.bytes), 'B\'s DMS gets the exact bytes A\'s DMS sent')
  t.equal((await dmsB.updateStatus(item.docId!, 'done')).json?.status, 'OK')
  const pkg = await a.store.getPackage(id)
  const st = statusPackage(H29, { sender: G22, documentId: pkg!.documentId, code: `${pkg!.codeNumber}/${pkg!.codeNotation}` }, '03', 'Đã vào sổ')
  t.equal((await dmsB.sendEdoc(st, { from: H29, messagetype: 'status' })).json?.status, 'OK')

  await until(async () => {
    const [d] = await a.store.getDeliveries(id)
    if (d?.state !== 'registered' || d.statusCode !== '03') throw new Error(`delivery is ${d?.state}`)
  }, 30_000)
  t.pass('03 moved A\'s delivery to received')
  const statuses = (await a.store.listIncoming({ kind: 'status', limit: 10 })).items
  t.same(statuses.map((s) => s.statusCode).sort(), ['01', '03'], 'A stored 01 and 03 once each')
  t.ok(statuses.every((s) => (s.verdict as { code?: string }).code === 'AXIS_UNSIGNED'), 'statuses from the axis are flagged AXIS_UNSIGNED')
  // updateStatus done follows the store commit
  await until(async () => {
    const left = data(await new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_GW_A }).getReceivedEdocList('status'))
    if (left.length > 0) throw new Error(`${left.length} statuses still listed on B`)
  })
  t.pass('A took every status from the axis (updateStatus done)')
  t.equal(a.gateway.axis?.status().state, 'connected')
})

t.test('B → A through the axis path, and A\'s DMS answers back through it', async (t) => {
  const { a, dmsB } = await twoGateways(t)
  const doc = edocPackage(H29, [G22])
  const sent = await dmsB.sendEdoc(doc.bytes, { from: H29, to: [G22] })
  t.equal(sent.json?.status, 'OK', String(sent.json?.ErrorDesc))
  const bId = String(sent.json?.DocId)

  // A's poller took it from B: stored in A's inbox, flagged, exact bytes
  const inc = await until(async () => {
    const x = (await a.store.listIncoming({ kind: 'edoc', limit: 5 })).items[0]
    if (!x) throw new Error('not yet on A')
    return x
  }, 30_000)
  t.equal(inc.senderOrganId, H29)
  t.equal(inc.state, 'arrived')
  t.match(inc.verdict, { ok: true, code: 'AXIS_UNSIGNED' })
  t.same(Buffer.from((await a.store.getIncomingBytes(inc.id))!.bytes), doc.bytes, 'A stored the exact bytes B\'s DMS sent')
  // A's DMS sees it in its REST inbox and answers 03
  const list = await a.app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(KEYS.g22) })
  t.equal(list.json().items[0]?.id, inc.id)
  const r = await a.app.inject({ method: 'POST', url: `/v1/inbox/${inc.id}/status`, headers: auth(KEYS.g22), payload: { code: '03' } })
  t.equal(r.statusCode, 202, r.body)

  // B's DMS sees the 03 (and the 01) and its sent list shows it
  await until(async () => {
    const rows = data(await dmsB.getSentEdocList('edoc', bId))
    if (rows[0]?.receiveStatus !== '03') throw new Error(`sent row: ${JSON.stringify(rows[0])}`)
  }, 30_000)
  const codes = data(await dmsB.getReceivedEdocList('status')).map((i) => i.status)
  t.ok(codes.includes('01') && codes.includes('03'), `B's DMS has 01 and 03 (${codes.join(',')})`)
  // nothing left waiting on either side
  await until(async () => {
    const pending = await a.store.pendingDeliveries({ limit: 10 })
    if (pending.length > 0) throw new Error(`${pending.length} pending on A`)
  })
  t.pass('A\'s outbox is empty')
})

t.test('an unreachable axis keeps everything in the outbox and resumes by itself', async (t) => {
  // an endpoint where nothing listens yet
  const net = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const a = await startVxpGateway(
    t,
    { axis: { endpoint: `http://127.0.0.1:${port}/vxp`, systemId: 'x', secret: 'y', organIds: [G22], pollIntervalMs: 200, retryDelayMs: 100 }, routes: [{ organIds: [H29], via: 'axis' }] },
    { only: [G22] },
  )
  const res = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: sampleDocument() })
  const id = res.json().id as string
  await until(async () => {
    if (a.gateway.axis?.status().state !== 'unreachable') throw new Error('not yet')
  })
  const [d] = await a.store.getDeliveries(id)
  t.equal(d?.state, 'accepted', 'kept in the outbox')
  const s = a.gateway.axis!.status()
  t.equal(s.lastError?.code, 'GW_ERR_VXP_AXIS_UNAVAILABLE')
  t.notMatch(JSON.stringify(s), /"y"|secret/, 'no secret in the status')
  const attempts = await until(async () => {
    const x = (await a.store.listEvents({ packageId: id, type: 'axis-attempt', limit: 50 })).items
    if (x.length === 0) throw new Error('no attempt logged yet')
    return x
  })
  t.match(attempts[0]?.detail, { code: 'GW_ERR_VXP_AXIS_UNAVAILABLE' }, 'each attempt is in the log with its reason')
  // readiness reports it (without making the gateway unready), the metrics count it
  const ready = await a.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'an axis down does not make the gateway unready')
  t.match(ready.json().checks.axis, { ok: false, detail: /unreachable: http:\/\/127\.0\.0\.1:\d+\/vxp, 1 waiting in the outbox; GW_ERR_VXP_AXIS_UNAVAILABLE/ })
  const metrics = await a.app.inject({ method: 'GET', url: '/metrics', headers: auth(KEYS.ops) })
  t.match(metrics.body, /^lienthong_axis_up 0$/m)
  t.match(metrics.body, /^lienthong_axis_backlog 1$/m)
  t.notMatch(ready.body + metrics.body, /"y"/, 'no secret')

  // the axis comes up on that port: B, hosting G22 and H29, with a system "x"
  const b = await startVxpGateway(t, { server: { systems: [{ systemId: 'x', secret: 'y', organIds: [G22] }] } }, { only: [G22, H29], http: { port } })
  t.ok(b.url.endsWith(`:${port}`))
  await until(async () => {
    const [x] = await a.store.getDeliveries(id)
    if (x?.state !== 'delivered') throw new Error(`delivery is ${x?.state}`)
  }, 30_000)
  t.equal(a.gateway.axis?.status().state, 'connected', 'resumed by itself')
  t.match((await a.app.inject({ method: 'GET', url: '/readyz' })).json().checks.axis, { ok: true })
})

t.test('vxp.axis.unsigned reject: a package from the axis without a CMS is refused, and the axis is told (fail → 02)', async (t) => {
  const b = await startVxpGateway(t, { server: { systems: [SYS_GW_A, SYS_DMS_B] } }, { only: [G22, H29] })
  const a = await startVxpGateway(
    t,
    {
      axis: { endpoint: `${b.url}/vxp`, systemId: SYS_GW_A.systemId, secret: SYS_GW_A.secret, organIds: [G22], pollIntervalMs: 300, retryDelayMs: 200, unsigned: 'reject' },
      routes: [{ organIds: ['000.00.*.H29'], via: 'axis' }],
    },
    { only: [G22] },
  )
  const dmsB = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_DMS_B })
  const doc = edocPackage(H29, [G22])
  const bId = String((await dmsB.sendEdoc(doc.bytes, { from: H29, to: [G22] })).json?.DocId)
  const inc = await until(async () => {
    const x = (await a.store.listIncoming({ kind: 'edoc', limit: 5 })).items[0]
    if (!x) throw new Error('not yet on A')
    return x
  }, 30_000)
  t.equal(inc.state, 'rejected', 'refused by policy')
  t.match(inc.verdict, { ok: false, code: 'NO_SIGNATURE' })
  t.same((await a.app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(KEYS.g22) })).json().items, [], 'not in the DMS inbox')
  // the connector answered updateStatus fail: B's DMS sees a 02 with the reason
  const row = await until(async () => {
    const r = data(await dmsB.getSentEdocList('edoc', bId))[0]
    if (r?.receiveStatus !== '02') throw new Error(`sent row: ${JSON.stringify(r)}`)
    return r
  }, 30_000)
  t.equal(row.toCode, G22)
  t.match(row.sendStatusDesc, /lienthong\.gateway-a reported a failure/, 'the reason names the receiving system')
  t.same(data(await new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_GW_A }).getReceivedEdocList('edoc')), [], 'taken off the axis list')
  t.equal((await a.store.listPackages({ kind: 'status', limit: 10 })).items.length, 0, 'A sent no 01 for it')
})

t.test('a provincial hub: an SDK DMS on A exchanges with an SDK DMS on the axis, A relaying both ways', async (t) => {
  const SYS_DMS_A = { systemId: 'vxp.saas.02', secret: 'ZG1zLWEtc2VjcmV0', organIds: [G22] }
  const b = await startVxpGateway(t, { server: { systems: [SYS_GW_A, SYS_DMS_B] } }, { only: [G22, H29] })
  const a = await startVxpGateway(
    t,
    {
      server: { systems: [SYS_DMS_A] },
      axis: { endpoint: `${b.url}/vxp`, systemId: SYS_GW_A.systemId, secret: SYS_GW_A.secret, organIds: [G22], pollIntervalMs: 300, retryDelayMs: 200 },
      routes: [{ organIds: [H29], via: 'axis' }],
    },
    { only: [G22] },
  )
  const dmsA = new VxpClient({ endpoint: `${a.url}/vxp`, ...SYS_DMS_A })
  const dmsB = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_DMS_B })

  // what arrives over the connector is listed for A's VXP system
  const doc = edocPackage(H29, [G22])
  const bId = String((await dmsB.sendEdoc(doc.bytes, { from: H29, to: [G22] })).json?.DocId)
  const item = await until(async () => {
    const x = data(await dmsA.getReceivedEdocList('edoc')).find((i) => i.from === H29)
    if (!x) throw new Error('not yet on A\'s VXP list')
    return x
  }, 30_000)
  t.same(Buffer.from(String((await dmsA.getEdoc(item.docId!)).json?.data), 'base64'), doc.bytes, 'A\'s DMS gets the exact bytes B\'s DMS sent')
  t.equal((await dmsA.updateStatus(item.docId!, 'done')).json?.status, 'OK')
  // A's DMS answers 03 with its own status package: relayed through the axis
  t.equal((await dmsA.sendEdoc(statusPackage(G22, { sender: H29, documentId: doc.documentId, code: doc.code }, '03'), { from: G22, messagetype: 'status' })).json?.status, 'OK')
  await until(async () => {
    const r = data(await dmsB.getSentEdocList('edoc', bId))[0]
    if (r?.receiveStatus !== '03') throw new Error(`sent row: ${JSON.stringify(r)}`)
  }, 30_000)
  t.pass('B\'s DMS sees the 03 of A\'s DMS')

  // and A's DMS sends to H29 through A and the axis
  const out = edocPackage(G22, [H29])
  const aId = String((await dmsA.sendEdoc(out.bytes, { from: G22, to: [H29] })).json?.DocId)
  const onB = await until(async () => {
    const x = data(await dmsB.getReceivedEdocList('edoc')).find((i) => i.from === G22)
    if (!x) throw new Error('not yet on B')
    return x
  }, 30_000)
  t.same(Buffer.from(String((await dmsB.getEdoc(onB.docId!)).json?.data), 'base64'), out.bytes, 'the axis DMS gets the exact bytes')
  await until(async () => {
    const r = data(await dmsA.getSentEdocList('edoc', aId))[0]
    if (r?.receiveStatus !== '01') throw new Error(`sent row: ${JSON.stringify(r)}`)
  }, 30_000)
  t.pass('the 01 from the axis reaches A\'s DMS\'s sent list')
  t.ok(data(await dmsA.getReceivedEdocList('status')).some((i) => i.status === '01' && i.from === H29), 'and its status list')
})
