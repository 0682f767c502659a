/**
 * The VXP endpoint driven by our SDK-compatible client, on a gateway with the real broker and store: two systems
 * (A = G22, B = H29 + STC) exchange through it as two DMSs built on VNPT's SDK would, and every refusal leaves
 * nothing behind while the gateway keeps serving.
 */
import http from 'node:http'
import t from 'tap'
import { VxpClient, type VxpAnswer } from '../../src/vxp/client.js'
import { hashFile } from '../../src/vxp/protocol.js'
import { auth, G22, H29, KEYS, STC } from '../helper.js'
import { edocPackage, sdkReadable, startVxpGateway, statusPackage, SYS_A, SYS_B, until } from './helpers.js'

const readable = (tt: { same: (a: unknown, b: unknown, m: string) => unknown }, a: VxpAnswer, what: string) => tt.same(sdkReadable(a), [], `${what}: readable by the SDK`)
type Item = Record<string, string>
const data = (a: VxpAnswer) => (a.json?.data ?? []) as Item[]

t.test('two SDK systems exchange a document, statuses and acknowledgements through /vxp', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const a = new VxpClient({ endpoint, ...SYS_A })
  const b = new VxpClient({ endpoint, ...SYS_B })

  // 1. A sends a package its edXML library wrote with a final CRLF (the body ends with two)
  const doc = edocPackage(G22, [H29], { crlf: true })
  const sent = await a.sendEdoc(doc.bytes, { from: G22, to: [H29] })
  readable(t, sent, 'sendEdoc')
  t.equal(sent.json?.status, 'OK', `sendEdoc OK (${String(sent.json?.ErrorDesc)})`)
  t.equal(sent.json?.ErrorCode, '0')
  const docId = String(sent.json?.DocId)
  t.match(docId, /^[0-9a-f-]{36}$/, 'DocId is a plain ASCII UUID')
  const stored = await gw.store.getPackageBytes(docId)
  t.same(Buffer.from(stored!.bytes), doc.bytes, 'exactly one CRLF stripped: the package as its library wrote it')
  t.ok(stored!.signature.length > 0, 'signed by the gateway with G22 key')

  // the SDK retries after an I/O error: the same bytes again give the same DocId and send nothing new
  const again = await a.sendEdoc(doc.bytes, { from: G22 })
  t.equal(again.json?.DocId, docId, 'replayed sendEdoc: same DocId')
  t.equal((await gw.store.listPackages({ senderOrganId: G22, limit: 10 })).items.length, 1, 'one package stored')

  // it is in the REST API like any other document, with the system as actor
  const rest = await gw.app.inject({ method: 'GET', url: `/v1/documents/${docId}`, headers: auth(KEYS.g22) })
  t.equal(rest.statusCode, 200)
  const timeline = rest.json().deliveries[0].timeline as { actor: string; state: string }[]
  t.equal(timeline[0]!.actor, 'vxp:vxp.saas.02', 'the log names the VXP system')

  // 2. B lists what arrived for H29 (a list call: POST, application/json, empty body)
  const list = await until(async () => {
    const l = await b.getReceivedEdocList('edoc')
    if (data(l).length === 0) throw new Error('not yet')
    return l
  })
  readable(t, list, 'getReceivedEdocList')
  const item = data(list)[0]!
  t.equal(item.from, G22)
  t.equal(item.to, H29)
  t.equal(item.messageType, 'edoc')
  for (const k of ['docId', 'serviceType', 'messageType', 'from', 'to', 'status', 'status_desc', 'created_time', 'updated_time']) t.type(item[k], 'string', `item.${k} is a string`)
  const count = await b.countReceiveEdoc()
  readable(t, count, 'countReceiveEdoc')
  t.equal(count.json?.count, 1, 'countReceiveEdoc counts it')
  t.same(data(await a.getReceivedEdocList('edoc')), [], 'A sees nothing of H29 documents')

  // 3. getEdoc (POST {} with Expect: 100-continue) returns the exact bytes, base64; downloadEdoc (GET) raw
  const got = await b.getEdoc(item.docId!)
  readable(t, got, 'getEdoc')
  t.same(Buffer.from(String(got.json?.data), 'base64'), doc.bytes, 'getEdoc: the exact package bytes')
  const dl = await b.downloadEdoc(item.docId!)
  t.same(dl.raw, doc.bytes, 'downloadEdoc: the exact package bytes')
  t.ok(b.retained.has('docId') && b.retained.has('filePath'), 'the client keeps docId and filePath like the SDK')

  // a list call now carries the retained docId/filePath, and is not filtered by them
  t.equal(data(await b.getReceivedEdocList('edoc')).length, 1, 'retained parameters do not filter the list')

  // 4. the automatic 01 reaches A's status list
  const s01 = await until(async () => {
    const l = data(await a.getReceivedEdocList('status'))
    const x = l.find((i) => i.status === '01')
    if (!x) throw new Error('no 01 yet')
    return x
  })
  t.equal(s01.from, H29)
  t.equal(s01.messageType, 'status')

  // 5. B takes the document: updateStatus done (written `docid`), repeated harmlessly
  const done = await b.updateStatus(item.docId!, 'done', 'docid')
  readable(t, done, 'updateStatus')
  t.equal(done.json?.status, 'OK')
  t.equal((await b.updateStatus(item.docId!, 'done', 'docid')).json?.status, 'OK', 'repeated updateStatus is harmless')
  t.same(data(await b.getReceivedEdocList('edoc')), [], 'taken: no longer listed')
  t.equal((await b.countReceiveEdoc()).json?.count, 0)
  const events = await gw.store.listEvents({ packageId: item.docId!, limit: 50 })
  t.ok(events.items.some((e) => e.actor === 'vxp:vxp.saas.03' && e.state === 'fetched'), 'the take is logged with the system as actor')

  // 6. B's DMS sends 03 as its own status package (messagetype=status, no `to`)
  const st = statusPackage(H29, { sender: G22, documentId: doc.documentId, code: doc.code }, '03', 'Đã tiếp nhận vào sổ')
  const s = await b.sendEdoc(st, { from: H29, messagetype: 'status' })
  readable(t, s, 'sendEdoc status')
  t.equal(s.json?.status, 'OK', `status accepted (${String(s.json?.ErrorDesc)})`)
  const statusId = String(s.json?.DocId)
  t.same(Buffer.from((await gw.store.getPackageBytes(statusId))!.bytes), st, 'the status package keeps its bytes')
  t.equal((await gw.store.getIncoming(item.docId!))!.state, 'registered', 'the inbox item moved with it')
  t.equal((await b.sendEdoc(st, { from: H29, messagetype: 'status' })).json?.DocId, statusId, 'the same status again: same DocId')

  // 7. A sees 03 in its status list and on its sent list
  await until(async () => {
    if (!data(await a.getReceivedEdocList('status')).some((i) => i.status === '03')) throw new Error('no 03 yet')
  })
  const sentList = await until(async () => {
    const l = await a.getSentEdocList('edoc')
    if (data(l)[0]?.receiveStatus !== '03') throw new Error('not yet 03')
    return l
  })
  readable(t, sentList, 'getSentEdocList')
  const row = data(sentList)[0]!
  t.equal(row.senderDocId, docId)
  t.equal(row.toCode, H29)
  t.equal(row.sendStatus, 'registered')
  t.ok(row.receiverDocId && row.receiverDocId !== docId, 'each recipient has its own docId')


  // 8. A takes its statuses
  for (const x of data(await a.getReceivedEdocList('status'))) t.equal((await a.updateStatus(x.docId!, 'done')).json?.status, 'OK')
  t.equal((await a.countReceiveStatus()).json?.count, 0, 'statuses taken')
})

t.test('updateStatus fail refuses the document: the sender gets a 02 with the reason', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const a = new VxpClient({ endpoint, ...SYS_A })
  const b = new VxpClient({ endpoint, ...SYS_B })
  const doc = edocPackage(G22, [STC])
  const docId = String((await a.sendEdoc(doc.bytes, { from: G22 })).json?.DocId)
  const item = await until(async () => {
    const l = await b.getReceivedEdocList()
    const x = data(l).find((i) => i.to === STC)
    if (!x) throw new Error('not yet')
    return x
  })
  t.equal((await b.updateStatus(item.docId!, 'fail')).json?.status, 'OK')
  t.equal((await b.updateStatus(item.docId!, 'fail')).json?.status, 'OK', 'repeated: harmless')
  t.equal((await gw.store.getIncoming(item.docId!))!.state, 'refused')
  const d = await until(async () => {
    const [x] = await gw.store.getDeliveries(docId)
    if (x?.statusCode !== '02') throw new Error('no 02 yet')
    return x
  })
  t.match(d.reason, /receiving system vxp\.saas\.03 reported a failure/, 'the 02 says why')
  t.same(data(await b.getReceivedEdocList()), [], 'no longer listed')
})

t.test('refusals: nothing accepted, answers the SDK can read, the gateway keeps serving', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const doc = edocPackage(G22, [H29])
  const stored = async () => (await gw.store.listPackages({ limit: 100 })).items.length

  const cases: [string, () => Promise<VxpAnswer>, string][] = [
    ['wrong secret', () => new VxpClient({ endpoint, ...SYS_A, secret: 'not-the-secret' }).sendEdoc(doc.bytes, { from: G22 }), 'GW_ERR_VXP_UNAUTHORIZED'],
    ['unknown system', () => new VxpClient({ endpoint, ...SYS_A, systemId: 'vxp.saas.99' }).sendEdoc(doc.bytes, { from: G22 }), 'GW_ERR_VXP_UNAUTHORIZED'],
    ['From not the system agency', () => new VxpClient({ endpoint, ...SYS_B }).sendEdoc(doc.bytes, { from: H29 }), 'GW_ERR_VXP_FORBIDDEN'],
    [
      'tampered body',
      () => {
        const c = new VxpClient({ endpoint, ...SYS_A })
        const req = c.build('sendEdoc', { from: G22, servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': hashFile(doc.bytes) }, { contentType: 'application/octet-stream', body: Buffer.concat([doc.bytes, Buffer.from('\r\n')]), ascii: true })
        const body = req.body as Buffer
        body[200] = body[200]! ^ 0x01
        return c.send('sendEdoc', req)
      },
      'GW_ERR_VXP_HASH_MISMATCH',
    ],
    ['non-edXML body', () => new VxpClient({ endpoint, ...SYS_A }).sendEdoc(Buffer.from('%PDF-1.4 not a package'), { from: G22 }), 'GW_ERR_ENVELOPE_NOT_XML'],
    [
      'a signed header changed on the way',
      () => {
        const c = new VxpClient({ endpoint, ...SYS_A })
        const req = c.build('sendEdoc', { from: G22, servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': hashFile(doc.bytes) }, { contentType: 'application/octet-stream', body: Buffer.concat([doc.bytes, Buffer.from('\r\n')]), ascii: true })
        req.headers['XroadVnpt-from'] = H29
        return c.send('sendEdoc', req)
      },
      'GW_ERR_VXP_UNAUTHORIZED',
    ],
    [
      'no signature headers',
      () => {
        const c = new VxpClient({ endpoint, ...SYS_A })
        const req = c.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' })
        delete req.headers['XroadVnpt-hash-header']
        return c.send('getReceivedEdocList', req)
      },
      'GW_ERR_VXP_UNAUTHORIZED',
    ],
  ]
  for (const [what, call, code] of cases) {
    const r = await call()
    t.same(sdkReadable(r), [], `${what}: readable`)
    t.equal(r.json?.status, 'FAIL', `${what}: FAIL`)
    t.equal(r.json?.ErrorCode, code, `${what}: ${code}`)
    if (r.json && 'DocId' in r.json) t.equal(r.json.DocId, '', `${what}: DocId ""`)
    t.notMatch(r.raw.toString('latin1'), new RegExp(SYS_A.secret), `${what}: no secret in the answer`)
  }
  t.equal(await stored(), 0, 'nothing stored')
  t.ok(cases.length > 0)

  // a non-edXML body that is not even sent as the SDK would (wrong messagetype), and unsupported operations
  const a = new VxpClient({ endpoint, ...SYS_A })
  const reg = await a.registerAgency({ code: '000.00.00.X01', name: 'Cơ quan thử' })
  t.same(sdkReadable(reg), [])
  t.equal(reg.json?.ErrorCode, 'GW_ERR_VXP_UNSUPPORTED')
  t.equal((await a.deleteAgency('000.00.00.X01')).json?.ErrorCode, 'GW_ERR_VXP_UNSUPPORTED')
  const unknown = await a.send('noSuchOperation', a.build('getAgenciesList', {}))
  t.equal(unknown.json?.status, 'FAIL', 'unknown operation: JSON FAIL')
  // downloadEdoc of an unknown id: an empty body (the SDK takes any non-empty body for the file)
  const dl = await a.downloadEdoc('00000000-0000-0000-0000-000000000000')
  t.equal(dl.raw.length, 0, 'downloadEdoc error: empty body')
  t.equal((await a.getEdoc('00000000-0000-0000-0000-000000000000')).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND')
  // another system's document is not found for B
  const docId = String((await a.sendEdoc(doc.bytes, { from: G22 })).json?.DocId)
  t.equal((await new VxpClient({ endpoint, ...SYS_B }).getEdoc(docId)).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'a sent package is not a received item')
  // still serving
  t.equal((await a.getAgenciesList()).json?.status, 'OK', 'the gateway keeps serving')
})

t.test('what the SDK forces on a server', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const a = new VxpClient({ endpoint, ...SYS_A })

  await t.test('an empty application/json POST reaches the operation', async (t) => {
    const req = a.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' })
    t.equal(req.body, undefined)
    const r = await a.send('getReceivedEdocList', req)
    t.equal(r.httpStatus, 200)
    t.same(r.json?.data, [], 'data: [] when empty')
    t.equal(r.json?.status, 'OK')
  })

  await t.test('Expect: 100-continue is answered with 100 before the body', async (t) => {
    const req = a.build('countReceiveEdoc', {}, { body: Buffer.from('{}'), expectContinue: true })
    const url = new URL(`${endpoint}/countReceiveEdoc`)
    const got = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
      let continued = false
      const r = http.request(url, { method: 'POST', headers: { ...req.headers, 'Content-Length': '2', Expect: '100-continue' } }, (res) => {
        let s = ''
        res.on('data', (c: Buffer) => (s += c.toString()))
        res.on('end', () => resolve({ continued, body: s }))
      })
      r.on('continue', () => {
        continued = true
        r.end('{}')
      })
      r.on('error', reject)
      r.flushHeaders()
    })
    t.ok(got.continued, '100 Continue received')
    t.equal(JSON.parse(got.body).count, 0)
  })

  await t.test('sendEdoc takes up to limits.packageBytes + 2 bytes of octet-stream', async (t) => {
    const doc = edocPackage(G22, [H29])
    const r = await a.sendEdoc(doc.bytes, { from: G22 })
    t.equal(r.json?.status, 'OK')
    const limit = gw.config.limits.packageBytes
    const big = new VxpClient({ endpoint, ...SYS_A })
    const req = big.build('sendEdoc', { from: G22, servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': 'x' }, { contentType: 'application/octet-stream', body: Buffer.alloc(limit + 3, 0x20), ascii: true })
    const tooBig = await big.send('sendEdoc', req)
    t.equal(tooBig.json?.status, 'FAIL', 'over the limit: FAIL')
    t.equal(tooBig.json?.ErrorCode, 'GW_ERR_API_BODY_TOO_LARGE')
    t.equal(tooBig.json?.DocId, '')
    t.ok(tooBig.httpStatus >= 400 && tooBig.raw.length > 0, 'a non-2xx sendEdoc answer has a body')
  })

  await t.test('answers are ASCII: Vietnamese text travels as \\u escapes', async (t) => {
    const doc = edocPackage(G22, [H29], { subject: 'V/v Hà Nội — Đà Nẵng' })
    const docId = String((await a.sendEdoc(doc.bytes, { from: G22 })).json?.DocId)
    const l = await a.getSentEdocList('edoc', docId)
    t.same(sdkReadable(l), [])
    const rows = data(l)
    t.equal(rows.length, 1, 'docId of a sent package filters the sent list')
    t.equal(rows[0]!.title, 'V/v Hà Nội — Đà Nẵng', 'the text survives the escapes')
    const list = await a.getAgenciesList()
    t.same(sdkReadable(list), [])
    const codes = data(list).map((x) => x.code)
    for (const c of [G22, H29, STC]) t.ok(codes.includes(c), `directory lists ${c}`)
    t.ok(data(list).every((x) => ['id', 'code', 'name', 'mail', 'pid', 'oldCode'].every((k) => typeof x[k] === 'string')), 'every field a string')
    t.equal((await a.getAgenciesListQD20('1')).json?.status, 'OK')
    const sync = await a.getSynchronizeUnit()
    t.same(sdkReadable(sync), [])
    t.type((data(sync)[0] as unknown as { version: unknown }).version, 'number')
  })

  await t.test('docId and docid kept from two calls: one header name twice, and it verifies', async (t) => {
    const c = new VxpClient({ endpoint, ...SYS_A })
    t.equal((await c.getEdoc('11111111-1111-1111-1111-111111111111')).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND')
    const req = c.build('updateStatus', { docid: '22222222-2222-2222-2222-222222222222', status: 'done' }, { body: Buffer.from('{}'), expectContinue: true })
    t.ok('XroadVnpt-docId' in req.headers && 'XroadVnpt-docid' in req.headers, 'both signed')
    const r = await c.send('updateStatus', req)
    t.equal(r.json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'authenticated (the real SDK sends exactly this after getEdoc then updateStatus)')
    t.match(String(r.json?.ErrorDesc), /22222222/, 'updateStatus reads docid')
  })

  await t.test('an old timestamp is accepted (fixed per SDK service object)', async (t) => {
    const old = new VxpClient({ endpoint, ...SYS_A, clock: () => new Date('2026-11-01T08:00:00Z') })
    t.equal((await old.getReceivedEdocList()).json?.status, 'OK')
  })
})

t.test('a system reads and answers only for its own agencies', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const a = new VxpClient({ endpoint, ...SYS_A })
  const b = new VxpClient({ endpoint, ...SYS_B })
  // A sends to H29 (B's agency); B sends to G22 (A's agency)
  const toB = edocPackage(G22, [H29])
  const aDocId = String((await a.sendEdoc(toB.bytes, { from: G22 })).json?.DocId)
  const toA = edocPackage(H29, [G22])
  const bDocId = String((await b.sendEdoc(toA.bytes, { from: H29 })).json?.DocId)
  const itemOfB = await until(async () => {
    const x = data(await b.getReceivedEdocList()).find((i) => i.from === G22)
    if (!x) throw new Error('not yet')
    return x
  })
  await until(async () => {
    if (!data(await a.getReceivedEdocList()).some((i) => i.from === H29)) throw new Error('not yet')
  })

  // A cannot fetch, download, take or refuse B's item, nor see it in its lists
  t.equal((await a.getEdoc(itemOfB.docId!)).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'getEdoc of another system\'s item')
  t.equal((await a.downloadEdoc(itemOfB.docId!)).raw.length, 0, 'downloadEdoc of another system\'s item: empty')
  t.equal((await a.updateStatus(itemOfB.docId!, 'done')).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'updateStatus done of another system\'s item')
  t.equal((await a.updateStatus(itemOfB.docId!, 'fail')).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'updateStatus fail of another system\'s item')
  t.equal((await gw.store.getIncoming(itemOfB.docId!))!.state, 'arrived', 'B\'s item untouched')
  t.notOk(data(await a.getReceivedEdocList()).some((i) => i.docId === itemOfB.docId), 'not in A\'s list')
  const aSent = data(await a.getSentEdocList('edoc', bDocId))
  t.ok(aSent.every((r) => r.senderDocId !== bDocId) && aSent.some((r) => r.senderDocId === aDocId), 'a docId of B\'s package does not show it to A')

  // status packages: From must be the system's agency, ResponseFor a document that agency received
  const asB = statusPackage(H29, { sender: G22, documentId: toB.documentId, code: toB.code }, '03')
  const forged = await a.sendEdoc(asB, { from: H29, messagetype: 'status' })
  t.equal(forged.json?.ErrorCode, 'GW_ERR_VXP_FORBIDDEN', 'A cannot answer as H29')
  t.equal(forged.json?.DocId, '')
  const notReceived = statusPackage(G22, { sender: H29, documentId: '000.00.00.H29,2026/11/30,1/NOPE', code: '1/NOPE' }, '03')
  t.equal((await a.sendEdoc(notReceived, { from: G22, messagetype: 'status' })).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'a status for a document the agency never received')
  const otherAgency = statusPackage(G22, { sender: G22, documentId: toB.documentId, code: toB.code }, '03')
  t.equal((await a.sendEdoc(otherAgency, { from: G22, messagetype: 'status' })).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND', 'a status for a document another agency received')
  const recall = statusPackage(H29, { sender: G22, documentId: toB.documentId, code: toB.code }, '13')
  t.equal((await b.sendEdoc(recall, { from: H29, messagetype: 'status' })).json?.ErrorCode, 'GW_ERR_VXP_INVALID_REQUEST', '13 is a recall: not through sendEdoc')
  t.equal((await gw.store.getIncoming(itemOfB.docId!))!.state, 'arrived', 'none of them moved the item')
  t.equal((await gw.store.listPackages({ kind: 'status', senderOrganId: H29, limit: 10 })).items.filter((p) => p.statusCode !== '01').length, 0, 'no status package stored for H29 beyond its automatic 01')
})

t.test('sendEdoc: limits.packageBytes + 2 bytes pass the body limit (the file and the SDK\'s CRLF)', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A] } }, { limits: { packageBytes: 65536, attachmentBytes: 32768 } })
  const c = new VxpClient({ endpoint: `${gw.url}/vxp`, ...SYS_A })
  const limit = gw.config.limits.packageBytes
  const body = Buffer.concat([Buffer.alloc(limit, 0x20), Buffer.from('\r\n')])
  const req = c.build('sendEdoc', { from: G22, servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': hashFile(Buffer.alloc(limit, 0x20)) }, { contentType: 'application/octet-stream', body, ascii: true })
  const r = await c.send('sendEdoc', req)
  t.not(r.json?.ErrorCode, 'GW_ERR_API_BODY_TOO_LARGE', 'exactly packageBytes + 2: read')
  t.equal(r.json?.ErrorCode, 'GW_ERR_ENVELOPE_NOT_XML', 'then checked as a package (spaces are not edXML)')
  t.equal(r.json?.DocId, '')
})
