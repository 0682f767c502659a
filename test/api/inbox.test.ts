import t from 'tap'
import { parseEnvelope } from '../../src/envelope/index.js'
import { auth, buildTestApp, G22, H26, H29, KEYS, STC } from '../helper.js'
import { PDF, PDF2, plainPdf, seedIncoming, verifierFor, zippedPdf } from './inbox-fixtures.js'

t.test('GET /v1/inbox: own agency only, newest first, no rejected packages, filters and cursor pagination', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await seedIncoming(store, config, { from: H26, to: G22 })).incoming.id)
  const rejected = (await seedIncoming(store, config, { from: H26, to: G22, rejected: true })).incoming
  t.equal(rejected.state, 'rejected', 'a package signed with another agency’s key is stored as rejected')
  for (let i = 0; i < 2; i++) ids.push((await seedIncoming(store, config, { from: STC, to: G22 })).incoming.id)
  const forH29 = (await seedIncoming(store, config, { from: H26, to: H29 })).incoming

  const pages: { id: string }[][] = []
  let url = '/v1/inbox?limit=2'
  for (;;) {
    const res = await app.inject({ url, headers: auth(KEYS.g22) })
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    pages.push(body.items)
    if (!body.next) break
    url = `/v1/inbox?limit=2&cursor=${encodeURIComponent(body.next)}`
  }
  t.same(pages.map((p) => p.length), [2, 2, 1], 'pages are filled past the rejected package')
  t.same(pages.flat().map((i) => i.id), [...ids].reverse(), 'the five valid documents for G22, newest first')
  const first = pages[0]![0] as Record<string, unknown>
  t.match(first, { kind: 'edoc', sender: STC, recipient: G22, state: 'arrived', verdict: { ok: true, code: 'VALID' }, code: String, sha256: /^[0-9a-f]{64}$/ })

  const bySender = (await app.inject({ url: `/v1/inbox?sender=${STC.toLowerCase()}`, headers: auth(KEYS.g22) })).json()
  t.equal(bySender.items.length, 2, 'sender filter (case-insensitive)')
  const future = (await app.inject({ url: '/v1/inbox?since=2100-01-01T00:00:00Z', headers: auth(KEYS.g22) })).json()
  t.equal(future.items.length, 0, 'since filter')
  const fetched = (await app.inject({ url: '/v1/inbox?state=fetched', headers: auth(KEYS.g22) })).json()
  t.equal(fetched.items.length, 0, 'state filter')
  const h29 = (await app.inject({ url: '/v1/inbox', headers: auth(KEYS.h29) })).json()
  t.same(h29.items.map((i: { id: string }) => i.id), [forH29.id], 'H29 sees only its own inbox')

  const clientRejected = await app.inject({ url: '/v1/inbox?state=rejected', headers: auth(KEYS.g22) })
  t.equal(clientRejected.statusCode, 403, 'clients cannot list rejected packages')
  t.equal(clientRejected.json().code, 'GW_ERR_API_FORBIDDEN')
  const otherRecipient = await app.inject({ url: `/v1/inbox?recipient=${H29}`, headers: auth(KEYS.g22) })
  t.equal(otherRecipient.statusCode, 403)

  const opsRejected = (await app.inject({ url: '/v1/inbox?state=rejected', headers: auth(KEYS.ops) })).json()
  t.same(opsRejected.items.map((i: { id: string }) => i.id), [rejected.id], 'operators see rejected packages with the filter')
  t.match(opsRejected.items[0], { state: 'rejected', verdict: { ok: false }, reason: String })
  const opsAll = (await app.inject({ url: '/v1/inbox?limit=100', headers: auth(KEYS.ops) })).json()
  t.equal(opsAll.items.length, 6, 'operators list every hosted agency’s valid documents by default')
  const opsH29 = (await app.inject({ url: `/v1/inbox?recipient=${H29}`, headers: auth(KEYS.ops) })).json()
  t.equal(opsH29.items.length, 1)

  t.equal((await app.inject({ url: '/v1/inbox' })).statusCode, 401, 'a key is needed')
  const badCursor = await app.inject({ url: '/v1/inbox?cursor=garbage', headers: auth(KEYS.g22) })
  t.equal(badCursor.statusCode, 400)
  const badState = await app.inject({ url: '/v1/inbox?state=lost', headers: auth(KEYS.g22) })
  t.equal(badState.json().code, 'GW_ERR_API_VALIDATION')
})

t.test('GET /v1/inbox/:id: metadata, verdict, header, attachments with declared and real types; 404 for others', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const zipName = 'Quyết định số 12 về đề án.pdf'
  const { incoming } = await seedIncoming(store, config, { from: H26, to: G22, attachments: [plainPdf(), zippedPdf(zipName)] })
  const res = await app.inject({ url: `/v1/inbox/${incoming.id}`, headers: auth(KEYS.g22) })
  t.equal(res.statusCode, 200, res.body)
  const doc = res.json()
  t.match(doc, {
    id: incoming.id,
    documentId: incoming.documentId,
    sender: H26,
    recipient: G22,
    state: 'arrived',
    verdict: { ok: true, code: 'VALID', signer: { organId: H26 } },
    header: { from: { organId: H26 }, to: [{ organId: G22 }], subject: incoming.subject, documentId: incoming.documentId },
    business: { type: 0 },
  })
  t.equal(doc.attachments.length, 2)
  t.match(doc.attachments[0], {
    contentId: 'plain-1',
    name: 'cong-van.pdf',
    declared: { manifest: 'application/pdf', attachment: 'application/pdf' },
    contentType: 'application/pdf',
    realContentType: 'application/pdf',
    size: PDF.length,
    zipConvention: false,
    mismatch: false,
    url: `/v1/inbox/${incoming.id}/attachments/plain-1`,
  })
  t.match(doc.attachments[1], {
    contentId: 'zipped-1',
    name: zipName,
    declared: { manifest: 'application/zip', attachment: 'application/zip' },
    payload: { contentType: 'application/zip' },
    contentType: 'application/pdf',
    realContentType: 'application/pdf',
    size: PDF2.length,
    zipConvention: true,
    zipEntryName: zipName,
  })
  t.ok(doc.timeline.length >= 1, 'timeline')
  t.match(doc.timeline[0], { state: 'arrived', actor: `peer:${H26}` })

  t.equal((await app.inject({ url: `/v1/inbox/${incoming.id}`, headers: auth(KEYS.h29) })).statusCode, 404, 'another agency gets 404')
  t.equal((await app.inject({ url: `/v1/inbox/${incoming.id}`, headers: auth(KEYS.ops) })).statusCode, 200, 'operators read it')
  t.equal((await app.inject({ url: '/v1/inbox/nope', headers: auth(KEYS.g22) })).json().code, 'GW_ERR_API_NOT_FOUND')

  const rejected = (await seedIncoming(store, config, { from: H26, to: G22, rejected: true })).incoming
  t.equal((await app.inject({ url: `/v1/inbox/${rejected.id}`, headers: auth(KEYS.g22) })).statusCode, 404, 'a rejected package is not shown to the client')
  const ops = await app.inject({ url: `/v1/inbox/${rejected.id}`, headers: auth(KEYS.ops) })
  t.equal(ops.statusCode, 200)
  t.match(ops.json(), { state: 'rejected', verdict: { ok: false, code: 'SENDER_MISMATCH' } })
  for (const sub of ['edxml', 'signature', 'attachments/plain-1']) {
    t.equal((await app.inject({ url: `/v1/inbox/${rejected.id}/${sub}`, headers: auth(KEYS.g22) })).statusCode, 404, `${sub} of a rejected package: 404`)
  }
  const ack = await app.inject({ method: 'POST', url: `/v1/inbox/${rejected.id}/ack`, headers: auth(KEYS.g22) })
  t.equal(ack.statusCode, 404, 'a rejected package cannot be acknowledged')
})

t.test('edxml and signature: the exact stored bytes; the signature verifies over them', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const { incoming, envelope, signature } = await seedIncoming(store, config, { from: STC, to: G22 })
  const x = await app.inject({ url: `/v1/inbox/${incoming.id}/edxml`, headers: auth(KEYS.g22) })
  t.equal(x.statusCode, 200)
  t.equal(x.headers['content-type'], 'application/xml')
  t.ok(x.rawPayload.equals(Buffer.from(envelope.bytes)), 'identical bytes')
  t.equal(x.headers['content-length'], String(envelope.bytes.length))
  const s = await app.inject({ url: `/v1/inbox/${incoming.id}/signature`, headers: auth(KEYS.g22) })
  t.equal(s.statusCode, 200)
  t.equal(s.headers['content-type'], 'application/pkcs7-signature')
  t.ok(s.rawPayload.equals(Buffer.from(signature)), 'identical DER signature')
  const v = await verifierFor(config).verify(x.rawPayload, s.rawPayload, { expectedOrganId: STC })
  t.equal(v.code, 'VALID', 'a DMS can re-verify what it downloaded')
  t.equal((await app.inject({ url: `/v1/inbox/${incoming.id}/edxml`, headers: auth(KEYS.stc) })).statusCode, 404, 'not the sender’s inbox')
})

t.test('ContentId written cid:cid:<uuid> (the Java edXML library without an id) or <cid:...>: listed and downloadable by the same id', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const uuid = '3f2c8a4e-1b7d-4c55-9a0e-6d1f2b3c4d5e'
  const spellings = [`cid:cid:${uuid}`, `CID:cid:${uuid}`, `&lt;cid:${uuid}&gt;`]
  for (const spelling of spellings) {
    const { incoming, envelope } = await seedIncoming(store, config, {
      from: H26,
      to: G22,
      attachments: [{ ...plainPdf(), contentId: uuid }],
      // Manifest and Attachment both carry the id as the other implementation writes it
      rewrite: (xml) => xml.split(`cid:${uuid}`).join(spelling),
    })
    t.ok(Buffer.from(envelope.bytes).toString('utf8').includes(spelling), `package written with ${spelling}`)
    const doc = (await app.inject({ url: `/v1/inbox/${incoming.id}`, headers: auth(KEYS.g22) })).json() as { attachments: { contentId: string; url: string; name: string; size: number }[] }
    t.equal(doc.attachments.length, 1)
    t.match(doc.attachments[0], { contentId: uuid, name: 'cong-van.pdf', size: PDF.length, url: `/v1/inbox/${incoming.id}/attachments/${uuid}` }, `${spelling}: one normalised id listed`)
    const listed = await app.inject({ url: doc.attachments[0]!.url, headers: auth(KEYS.g22) })
    t.equal(listed.statusCode, 200, `${spelling}: the listed URL downloads`)
    t.ok(listed.rawPayload.equals(PDF), 'the attachment bytes')
    for (const asked of [`cid:${uuid}`, `cid:cid:${uuid}`]) {
      const r = await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/${encodeURIComponent(asked)}`, headers: auth(KEYS.g22) })
      t.equal(r.statusCode, 200, `${spelling}: ${asked} downloads too`)
    }
  }
})

t.test('attachments: plain PDF as is; ZIP convention unzipped; Vietnamese file name per RFC 5987; cid: optional', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const zipName = 'Quyết định số 12 về đề án "mới".pdf'
  const { incoming } = await seedIncoming(store, config, { from: H26, to: G22, attachments: [plainPdf('Công văn gửi Đà Nẵng.pdf'), zippedPdf(zipName)] })

  const plain = await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/plain-1`, headers: auth(KEYS.g22) })
  t.equal(plain.statusCode, 200)
  t.ok(plain.rawPayload.equals(PDF), 'identical bytes to what was sent')
  t.equal(plain.headers['content-type'], 'application/pdf')
  const cd = String(plain.headers['content-disposition'])
  t.match(cd, /^attachment; filename="Cong van gui Da Nang\.pdf"; filename\*=UTF-8''/)
  t.equal(decodeURIComponent(cd.split("filename*=UTF-8''")[1]!), 'Công văn gửi Đà Nẵng.pdf', 'RFC 5987 name decodes to the original')
  t.equal(plain.headers['x-content-type-options'], 'nosniff')

  const withPrefix = await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/${encodeURIComponent('cid:plain-1')}`, headers: auth(KEYS.g22) })
  t.ok(withPrefix.rawPayload.equals(PDF), 'the cid: prefix is optional')

  const zipped = await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/zipped-1`, headers: auth(KEYS.g22) })
  t.equal(zipped.statusCode, 200)
  t.ok(zipped.rawPayload.equals(PDF2), 'unzipped: the PDF inside the single-entry ZIP, byte for byte')
  t.equal(zipped.headers['content-type'], 'application/pdf', 'served as what it really is')
  t.equal(zipped.headers['x-lienthong-declared-content-type'], 'application/zip', 'declared type reported')
  t.equal(zipped.headers['x-lienthong-zip-convention'], 'applied')
  const zcd = String(zipped.headers['content-disposition'])
  t.notMatch(zcd.split('; filename*=')[0]!, /[^\x20-\x7e]/, 'ASCII fallback only has ASCII')
  t.notMatch(zcd.split('; filename*=')[0]!.slice('attachment; filename="'.length, -1), /"/, 'no quote inside the quoted fallback')
  t.equal(decodeURIComponent(zcd.split("filename*=UTF-8''")[1]!), zipName.replace(/"/g, '_'))

  const missing = await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/nope`, headers: auth(KEYS.g22) })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'GW_ERR_API_NOT_FOUND')
  t.equal((await app.inject({ url: `/v1/inbox/${incoming.id}/attachments/plain-1`, headers: auth(KEYS.h29) })).statusCode, 404)
})

t.test('POST /v1/inbox/:id/ack: fetched, idempotent, clients only', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const { incoming } = await seedIncoming(store, config, { from: H26, to: G22 })
  const a1 = await app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/ack`, headers: auth(KEYS.g22) })
  t.equal(a1.statusCode, 200, a1.body)
  t.match(a1.json(), { id: incoming.id, state: 'fetched', changed: true, fetchedAt: String })
  const a2 = await app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/ack`, headers: auth(KEYS.g22) })
  t.match(a2.json(), { state: 'fetched', changed: false, fetchedAt: a1.json().fetchedAt }, 'repeating changes nothing')
  t.equal((await store.getIncoming(incoming.id))?.state, 'fetched')
  const events = (await store.listEvents({ packageId: incoming.id, limit: 50 })).items.filter((e) => e.state === 'fetched')
  t.equal(events.length, 1, 'one fetched event')
  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/ack`, headers: auth(KEYS.h29) })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/ack`, headers: auth(KEYS.ops) })).statusCode, 403)
  const listed = (await app.inject({ url: '/v1/inbox?state=fetched', headers: auth(KEYS.g22) })).json()
  t.equal(listed.items.length, 1)
})

t.test('POST /v1/inbox/:id/status: 03 then 06 send signed status packages to the sender; transitions checked', async (t) => {
  const { app, store, config, wakes } = await buildTestApp(t)
  const { incoming, envelope } = await seedIncoming(store, config, { from: STC, to: G22 })
  const post = (body: unknown, key: string = KEYS.g22) =>
    app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/status`, headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(body) })

  await app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/ack`, headers: auth(KEYS.g22) })
  const staff = { department: 'Văn thư', name: 'Lê Thị Cúc', mobile: '0901234567', email: 'vanthu@sample.invalid' }
  const r03 = await post({ code: '03', staff })
  t.equal(r03.statusCode, 202, r03.body)
  t.match(r03.json(), { id: incoming.id, state: 'registered', changed: true, statusCode: '03', statusPackage: { id: String, recipient: STC, state: 'accepted' } })
  const r06 = await post({ code: '06', description: 'Đã xử lý xong' })
  t.equal(r06.statusCode, 202, r06.body)
  t.match(r06.json(), { state: 'completed', statusCode: '06' })
  t.equal(wakes(), 2, 'the relay is woken for each status package')

  const h = envelope.edoc!.messageHeader
  const statusPkgs = (await store.listPackages({ senderOrganId: G22, kind: 'status', limit: 10 })).items.reverse()
  t.same(statusPkgs.map((p) => p.statusCode), ['03', '06'], 'two status packages in the outbox, in order')
  for (const [i, p] of statusPkgs.entries()) {
    t.same(p.deliveries.map((d) => [d.recipient, d.state]), [[STC, 'accepted']], 'addressed to the original sender, waiting for the relay')
    const stored = await store.getPackageBytes(p.id)
    const env = parseEnvelope(stored!.bytes)
    t.equal(env.kind, 'status')
    const sh = env.status!.messageHeader
    t.equal(sh.statusCode, i === 0 ? '03' : '06')
    t.equal(sh.from.organId, G22, 'From = the receiving agency')
    t.same(
      { organId: sh.responseFor.organId, code: sh.responseFor.code, date: sh.responseFor.promulgationDate.value, documentId: sh.responseFor.documentId },
      { organId: STC, code: `${h.code.codeNumber}/${h.code.codeNotation}`, date: '2026/11/20', documentId: h.documentId },
      'ResponseFor = the original document',
    )
    if (i === 0) t.same(sh.staffInfo, { department: 'Văn thư', staff: 'Lê Thị Cúc', mobile: '0901234567', email: 'vanthu@sample.invalid' })
    else t.equal(sh.description, 'Đã xử lý xong')
    const v = await verifierFor(config).verify(stored!.bytes, stored!.signature, { expectedOrganId: G22 })
    t.equal(v.code, 'VALID', 'signed with the receiving agency’s certificate')
  }
  const inc = await store.getIncoming(incoming.id)
  t.equal(inc?.state, 'completed')
  const doc = (await app.inject({ url: `/v1/inbox/${incoming.id}`, headers: auth(KEYS.g22) })).json()
  t.same(doc.timeline.map((e: { state: string }) => e.state), ['arrived', 'fetched', 'registered', 'completed'], 'timeline in order')

  const again = await post({ code: '06' })
  t.equal(again.statusCode, 200, 'repeating the current status is idempotent')
  t.match(again.json(), { state: 'completed', changed: false })
  t.notOk(again.json().statusPackage, 'nothing sent again')
  const back = await post({ code: '03' })
  t.equal(back.statusCode, 409, 'states never move backwards')
  t.equal(back.json().code, 'GW_ERR_API_CONFLICT')
  const recall15 = await post({ code: '15' })
  t.equal(recall15.statusCode, 409, '15 without a recall request')
  t.equal((await store.listPackages({ senderOrganId: G22, kind: 'status', limit: 10 })).items.length, 2, 'no package for refused requests')
})

t.test('status validation: 02 needs a description; unknown codes, operators and other agencies refused', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const { incoming } = await seedIncoming(store, config, { from: H26, to: G22 })
  const post = (body: unknown, key: string = KEYS.g22) =>
    app.inject({ method: 'POST', url: `/v1/inbox/${incoming.id}/status`, headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  for (const body of [{ code: '02' }, { code: '02', description: '   ' }]) {
    const r = await post(body)
    t.equal(r.statusCode, 400)
    t.equal(r.json().code, 'GW_ERR_API_VALIDATION')
    t.match(r.json().details, [{ field: 'body.description' }])
  }
  const bad = await post({ code: '13' })
  t.equal(bad.statusCode, 400, '13 is the sender’s code, not the DMS’s')
  t.equal(bad.json().code, 'GW_ERR_API_VALIDATION')
  t.equal((await post({ code: '03', extra: 1 })).statusCode, 400, 'unknown fields refused')
  t.equal((await post({ code: '03' }, KEYS.ops)).statusCode, 403, 'operators cannot answer for an agency')
  t.equal((await post({ code: '03' }, KEYS.h29)).statusCode, 404, 'another agency: not found')

  const r02 = await post({ code: '02', description: 'Sai địa chỉ nhận' })
  t.equal(r02.statusCode, 202, r02.body)
  t.match(r02.json(), { state: 'refused', statusCode: '02' })
  const inc = await store.getIncoming(incoming.id)
  t.equal(inc?.reason, 'Sai địa chỉ nhận')
  const pkg = (await store.listPackages({ senderOrganId: G22, kind: 'status', limit: 1 })).items[0]!
  t.equal(pkg.deliveries[0]?.recipient, H26)
  const env = parseEnvelope((await store.getPackageBytes(pkg.id))!.bytes)
  t.equal(env.status?.messageHeader.description, 'Sai địa chỉ nhận')
  const after = await post({ code: '04' })
  t.equal(after.statusCode, 409, 'nothing follows a refusal')
})

t.test('status 15/16 answer a recall request', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const a = (await seedIncoming(store, config, { from: H26, to: G22 })).incoming
  const b = (await seedIncoming(store, config, { from: H26, to: G22 })).incoming
  for (const i of [a, b]) await store.transitionIncoming(i.id, 'recall-requested', { cause: 'status 13 from the sender', actor: `peer:${H26}`, statusCode: '13' })
  const post = (id: string, body: unknown) =>
    app.inject({ method: 'POST', url: `/v1/inbox/${id}/status`, headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  const r15 = await post(a.id, { code: '15', description: 'Đồng ý thu hồi' })
  t.equal(r15.statusCode, 202, r15.body)
  t.match(r15.json(), { state: 'recalled' })
  const r16 = await post(b.id, { code: '16', description: 'Đã ban hành thực hiện' })
  t.match(r16.json(), { state: 'recall-refused' })
  t.equal((await post(a.id, { code: '03' })).statusCode, 409, 'a recalled document takes no more statuses')
  const codes = (await store.listPackages({ senderOrganId: G22, kind: 'status', limit: 10 })).items.map((p) => p.statusCode).sort()
  t.same(codes, ['15', '16'])
})

t.test('OpenAPI document lists the inbox routes and their schemas', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  for (const p of ['/v1/inbox', '/v1/inbox/{id}', '/v1/inbox/{id}/edxml', '/v1/inbox/{id}/signature', '/v1/inbox/{id}/attachments/{cid}', '/v1/inbox/{id}/ack', '/v1/inbox/{id}/status', '/v1/documents/{id}/recall']) {
    t.ok(doc.paths[p], `${p} documented`)
  }
  const schemas = JSON.stringify(doc.components?.schemas ?? {})
  for (const id of ['InboxItem', 'InboxDocument', 'StatusRequest', 'RecallRequest', 'WebhookEvent']) t.match(schemas, id)
})
