import t from 'tap'
import { buildEdoc, buildStatus, parseEnvelope } from '../../src/envelope/index.js'
import { auth, buildTestApp, G22, H26, H29, KEYS, sampleDocument, STC } from '../helper.js'

const json = (body: unknown, key: string = KEYS.g22, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/v1/documents',
  headers: { ...auth(key), 'content-type': 'application/json', ...headers },
  payload: JSON.stringify(body),
})

t.test('JSON document: 202 with id, DocumentId and one accepted delivery per recipient; stored signed; relay woken', async (t) => {
  const { app, store, wakes } = await buildTestApp(t)
  const doc = sampleDocument({ recipients: [
    { organId: H29, name: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
    { organId: H26.toLowerCase(), name: 'UBND TP Hà Nội', organizationInCharge: 'Chính phủ' },
  ] })
  const res = await app.inject(json(doc))
  t.equal(res.statusCode, 202, res.body)
  const body = res.json()
  t.match(body, { id: String, documentId: `${G22},2026/11/25,${doc.code.number}/${doc.code.notation}`, replayed: false })
  t.same(body.deliveries, [
    { recipient: H29, state: 'accepted' },
    { recipient: H26, state: 'accepted' },
  ], 'recipients uppercased, in order')
  t.equal(wakes(), 1, 'relay woken once')
  const pkg = await store.getPackage(body.id)
  t.equal(pkg?.senderOrganId, G22)
  t.equal(pkg?.clientId, 'dms-vpcp')
  const bytes = await store.getPackageBytes(body.id)
  const env = parseEnvelope(bytes!.bytes)
  t.equal(env.sha256(), body.sha256, 'stored bytes are the package the answer names')
  t.equal(env.edoc?.messageHeader.from.organId, G22, 'From is the agency of the key')
  t.equal(env.edoc?.messageHeader.subject, doc.subject)
  t.same(env.edoc?.attachments.map((a) => a.attachmentName), ['cong-van.pdf'])
  t.ok(bytes!.signature.length > 500, 'a detached CMS signature is stored')
})

t.test('GET /v1/documents/:id: metadata, per-recipient state and timeline; other agencies get 404, operators see it', async (t) => {
  const { app } = await buildTestApp(t)
  const sent = (await app.inject(json(sampleDocument()))).json()
  const res = await app.inject({ url: `/v1/documents/${sent.id}`, headers: auth(KEYS.g22) })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.match(doc, { id: sent.id, documentId: sent.documentId, sender: G22, kind: 'edoc', sha256: sent.sha256, clientId: 'dms-vpcp' })
  t.equal(doc.deliveries.length, 1)
  t.equal(doc.deliveries[0].state, 'accepted')
  t.match(doc.deliveries[0].timeline[0], { state: 'accepted', actor: 'client:dms-vpcp', changed: true })
  const other = await app.inject({ url: `/v1/documents/${sent.id}`, headers: auth(KEYS.h29) })
  t.equal(other.statusCode, 404, "another agency's document is not found")
  t.equal(other.json().code, 'GW_ERR_API_NOT_FOUND')
  const missing = await app.inject({ url: '/v1/documents/nope', headers: auth(KEYS.g22) })
  t.equal(missing.statusCode, 404)
  const ops = await app.inject({ url: `/v1/documents/${sent.id}`, headers: auth(KEYS.ops) })
  t.equal(ops.statusCode, 200, 'operators read every document')
})

t.test('GET /v1/documents lists only the agency’s packages, newest first, with filters and cursor pagination', async (t) => {
  const { app } = await buildTestApp(t)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await app.inject(json(sampleDocument()))).json().id)
  await app.inject(json(sampleDocument({ recipients: [{ organId: G22, name: 'VPCP', organizationInCharge: 'Chính phủ' }] }), KEYS.h29))
  const p1 = (await app.inject({ url: '/v1/documents?limit=2', headers: auth(KEYS.g22) })).json()
  t.equal(p1.items.length, 2)
  t.ok(p1.next, 'a cursor for the next page')
  const p2 = (await app.inject({ url: `/v1/documents?limit=2&cursor=${encodeURIComponent(p1.next)}`, headers: auth(KEYS.g22) })).json()
  const p3 = (await app.inject({ url: `/v1/documents?limit=2&cursor=${encodeURIComponent(p2.next)}`, headers: auth(KEYS.g22) })).json()
  t.notOk(p3.next, 'last page has no cursor')
  t.same([...p1.items, ...p2.items, ...p3.items].map((d: { id: string }) => d.id), [...ids].reverse(), 'all five, newest first, no other agency’s')
  const byRecipient = (await app.inject({ url: `/v1/documents?recipient=${G22.toLowerCase()}`, headers: auth(KEYS.h29) })).json()
  t.equal(byRecipient.items.length, 1)
  const none = (await app.inject({ url: '/v1/documents?state=queued', headers: auth(KEYS.g22) })).json()
  t.equal(none.items.length, 0, 'state filter')
  const future = (await app.inject({ url: '/v1/documents?since=2100-01-01T00:00:00Z', headers: auth(KEYS.g22) })).json()
  t.equal(future.items.length, 0, 'since filter')
  const all = (await app.inject({ url: '/v1/documents?limit=100', headers: auth(KEYS.ops) })).json()
  t.equal(all.items.length, 6, 'operator sees every agency')
  const bad = await app.inject({ url: '/v1/documents?cursor=garbage', headers: auth(KEYS.g22) })
  t.equal(bad.statusCode, 400)
  const badState = await app.inject({ url: '/v1/documents?state=lost', headers: auth(KEYS.g22) })
  t.equal(badState.json().code, 'GW_ERR_API_VALIDATION')
})

t.test('auth: missing or wrong key 401; an operator key cannot send; a client cannot send as another agency (403)', async (t) => {
  const { app, store } = await buildTestApp(t)
  const none = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'GW_ERR_API_UNAUTHORIZED')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="lienthong"')
  const wrong = await app.inject(json(sampleDocument(), 'not-a-key'))
  t.equal(wrong.statusCode, 401)
  const basic = await app.inject({ ...json(sampleDocument()), headers: { authorization: 'Basic Zm9vOmJhcg==', 'content-type': 'application/json' } })
  t.equal(basic.statusCode, 401)
  const wrongGet = await app.inject({ url: '/v1/documents', headers: auth('nope') })
  t.equal(wrongGet.statusCode, 401)
  const ops = await app.inject(json(sampleDocument(), KEYS.ops))
  t.equal(ops.statusCode, 403)
  t.equal(ops.json().code, 'GW_ERR_API_FORBIDDEN')
  const asOther = await app.inject(json(sampleDocument({ from: H29 })))
  t.equal(asOther.statusCode, 403, 'JSON with another agency as from')
  t.match(asOther.json().message, /sends for 000\.00\.00\.G22 only/)
  const asSelf = await app.inject(json(sampleDocument({ from: G22 })))
  t.equal(asSelf.statusCode, 202, 'naming its own agency is fine')
  // prebuilt edXML whose From is another agency
  const foreign = buildEdoc({
    from: { organId: H29, organName: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
    to: [{ organId: G22, organName: 'VPCP', organizationInCharge: 'Chính phủ' }],
    code: { codeNumber: '1', codeNotation: 'UBND' },
    promulgationInfo: { place: 'TP.HCM', promulgationDate: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'x',
    signerInfo: { position: 'Chủ tịch', fullName: 'B' },
    otherInfo: { pageAmount: 1 },
  })
  const xml = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml' }, payload: Buffer.from(foreign.bytes) })
  t.equal(xml.statusCode, 403, 'edXML From of another agency')
  t.match(xml.json().message, /From\/OrganId 000\.00\.00\.H29 is not the agency of this API key/)
  const page = await store.listPackages({ limit: 10 })
  t.equal(page.items.length, 1, 'only the allowed document was stored')
})

t.test('prebuilt edXML (application/xml) is signed and stored with its exact bytes', async (t) => {
  const { app, store } = await buildTestApp(t)
  const env = buildEdoc({
    from: { organId: G22, organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    to: [
      { organId: H29, organName: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
      { organId: STC, organName: 'Sở Tài chính', organizationInCharge: 'UBND TP.HCM' },
    ],
    code: { codeNumber: '77', codeNotation: 'VPCP-KTTH' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/20' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'Gói tin dựng sẵn',
    signerInfo: { position: 'Bộ trưởng', fullName: 'C' },
    otherInfo: { pageAmount: 2, priority: 2 },
    attachments: [{ attachmentName: 'a.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.7 x') }],
  })
  // a producer's own formatting: leading whitespace inside, CRLF line ends — must be kept byte for byte
  const bytes = Buffer.from(Buffer.from(env.bytes).toString('utf8').replace(/\n/g, '\r\n'))
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml; charset=utf-8' }, payload: bytes })
  t.equal(res.statusCode, 202, res.body)
  const body = res.json()
  t.equal(body.documentId, `${G22},2026/11/20,77/VPCP-KTTH`)
  t.same(body.deliveries.map((d: { recipient: string }) => d.recipient), [H29, STC])
  const stored = await store.getPackageBytes(body.id)
  t.ok(Buffer.from(stored!.bytes).equals(bytes), 'exact bytes kept')
  const pkg = await store.getPackage(body.id)
  t.equal(pkg?.priority, 6, 'edXML Priority 2 → AMQP priority 6')
  const notXml = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml' }, payload: 'hello' })
  t.equal(notXml.statusCode, 400)
  t.match(notXml.json().code, /^GW_ERR_ENVELOPE_/)
  const doctype = await app.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { ...auth(KEYS.g22), 'content-type': 'text/xml' },
    payload: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edXML/>',
  })
  t.equal(doctype.json().code, 'GW_ERR_ENVELOPE_DOCTYPE')
  const status = buildStatus({
    from: { organId: G22, organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    responseFor: { organId: H29, code: '1/UBND', promulgationDate: '2026/11/20', documentId: 'x' },
    statusCode: '03',
  })
  const st = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml' }, payload: Buffer.from(status.bytes) })
  t.equal(st.statusCode, 400, 'a status package is not a document')
  t.match(st.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body', problem: /status package/ }] })
  const junk = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml' }, payload: Buffer.concat([Buffer.from('1212'), bytes]) })
  t.equal(junk.json().code, 'GW_ERR_ENVELOPE_NOT_XML', 'bytes before <?xml are refused from a DMS (they would be signed and relayed)')
})

t.test('multipart/form-data: metadata part + streamed file parts', async (t) => {
  const { app, store } = await buildTestApp(t)
  const { attachments: _a, ...meta } = sampleDocument()
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(300_000, 7)])
  const form = new FormData()
  form.append('metadata', JSON.stringify(meta))
  form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'quyet-dinh.pdf')
  form.append('file', new Blob([Buffer.from('phụ lục')], { type: 'text/plain' }), 'phu-luc.txt')
  const req = new Request('http://x/', { method: 'POST', body: form })
  const payload = Buffer.from(await req.arrayBuffer())
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': req.headers.get('content-type')! }, payload })
  t.equal(res.statusCode, 202, res.body)
  const env = parseEnvelope((await store.getPackageBytes(res.json().id))!.bytes)
  t.same(env.edoc?.attachments.map((a) => [a.attachmentName, a.contentType, a.size]), [
    ['quyet-dinh.pdf', 'application/pdf', pdf.length],
    ['phu-luc.txt', 'text/plain', Buffer.byteLength('phụ lục')],
  ])
  t.ok(Buffer.from(env.attachment(env.attachmentIds()[0]!)).equals(pdf), 'file bytes intact')

  const noMeta = new FormData()
  noMeta.append('file', new Blob([pdf], { type: 'application/pdf' }), 'x.pdf')
  const r2 = new Request('http://x/', { method: 'POST', body: noMeta })
  const res2 = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': r2.headers.get('content-type')! }, payload: Buffer.from(await r2.arrayBuffer()) })
  t.equal(res2.statusCode, 400)
  t.match(res2.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'metadata', problem: 'is required' }] })

  const badMeta = new FormData()
  badMeta.append('metadata', JSON.stringify({ ...meta, subject: undefined, priority: 9 }))
  const r3 = new Request('http://x/', { method: 'POST', body: badMeta })
  const res3 = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': r3.headers.get('content-type')! }, payload: Buffer.from(await r3.arrayBuffer()) })
  t.equal(res3.statusCode, 400)
  const fields = res3.json().details.map((d: { field: string }) => d.field)
  t.ok(fields.includes('metadata.subject') && fields.includes('metadata.priority'), `metadata problems listed: ${fields}`)
})

t.test('Idempotency-Key: same key + same body → the original answer, nothing stored twice; other body → 409', async (t) => {
  const { app, store, wakes } = await buildTestApp(t)
  const doc = sampleDocument()
  const first = await app.inject(json(doc, KEYS.g22, { 'idempotency-key': 'dms-req-42' }))
  t.equal(first.statusCode, 202)
  const again = await app.inject(json(doc, KEYS.g22, { 'idempotency-key': 'dms-req-42' }))
  t.equal(again.statusCode, 202)
  t.equal(again.headers['idempotent-replayed'], 'true')
  const a = first.json()
  const b = again.json()
  t.same({ ...b, replayed: false }, a, 'same id, DocumentId, sha256 and deliveries')
  t.equal(b.replayed, true)
  t.equal(wakes(), 1, 'nothing new for the relay')
  t.equal((await store.listPackages({ limit: 10 })).items.length, 1, 'stored once')
  const conflict = await app.inject(json({ ...doc, subject: 'khác' }, KEYS.g22, { 'idempotency-key': 'dms-req-42' }))
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'GW_ERR_API_IDEMPOTENCY_CONFLICT')
  const otherClient = await app.inject(json(sampleDocument({ recipients: [{ organId: G22, name: 'VPCP', organizationInCharge: 'CP' }] }), KEYS.h29, { 'idempotency-key': 'dms-req-42' }))
  t.equal(otherClient.statusCode, 202, 'keys are per client')
  t.not(otherClient.json().id, a.id)
  // concurrent duplicates: exactly one package
  const doc2 = sampleDocument()
  const both = await Promise.all([1, 2, 3].map(() => app.inject(json(doc2, KEYS.g22, { 'idempotency-key': 'race' }))))
  t.same(both.map((r) => r.statusCode), [202, 202, 202])
  t.equal(new Set(both.map((r) => r.json().id)).size, 1, 'one id for concurrent retries')
  const bad = await app.inject(json(doc, KEYS.g22, { 'idempotency-key': 'with space' }))
  t.equal(bad.json().code, 'GW_ERR_API_VALIDATION')
})
