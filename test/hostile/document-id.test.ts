/**
 * DocumentIds on the send path and updates that keep them (issue "fail safe against hostile peers": strict on what
 * we sign; interop defects). Two gateways on the real RabbitMQ: A's DMS (G22) sends to H26 on B.
 *
 *   - a client's DocumentId is its own agency's, in the edXML form (GW_ERR_API_DOCUMENT_ID_FORM);
 *   - a second, different new document with a DocumentId already sent is refused at the API before anything is
 *     signed or sent (GW_ERR_API_DOCUMENT_ID_USED, whose hint says how to send an update): junk a client posted
 *     earlier cannot make its genuine document a replay at the recipient;
 *   - the identical body sent again without an Idempotency-Key (also at the same time, in the same second) is the
 *     package already sent: one package, one delivery, and it reaches `delivered`;
 *   - an update (type 2) or replacement (type 3) keeping the original's DocumentId, through the API (same code and
 *     date) or prebuilt the public SDK's way, is received and linked to the original, not refused as REPLAY.
 */
import t from 'tap'
import { sampleDocument } from '../helper.js'
import { sampleEdoc } from '../integration/receive/helpers.js'
import { bearer, E2E_KEYS, G22, H26, startTwoGateways, waitFor, type Gateway } from '../integration/e2e/helpers.js'
import { documentIdProblem } from '../../src/pipeline/outgoing.js'
import { ERRORS } from '../../src/errors.js'

const toH26 = [{ organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'UBND TP Hà Nội' }]

const post = (a: Gateway, body: unknown, type = 'application/json') =>
  a.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...bearer(E2E_KEYS.g22), 'content-type': type }, payload: type === 'application/json' ? JSON.stringify(body) : (body as Buffer) })

async function deliveryState(a: Gateway, id: string): Promise<string | undefined> {
  const res = await a.app.inject({ method: 'GET', url: `/v1/documents/${id}`, headers: bearer(E2E_KEYS.g22) })
  return (res.json() as { deliveries?: { recipient: string; state: string }[] }).deliveries?.find((d) => d.recipient.toUpperCase() === H26)?.state
}

const delivered = (a: Gateway, id: string) => waitFor(async () => ((await deliveryState(a, id)) === 'delivered' ? true : undefined), 8000)

async function received(b: Gateway, documentId: string) {
  return (await b.store.listIncoming({ documentId, limit: 50 })).items
}

t.test('documentIdProblem: the edXML form with the agency\'s own OrganId', async (t) => {
  t.equal(documentIdProblem(`${G22},2026/11/25,12/QĐ-UBND`, G22), undefined)
  t.equal(documentIdProblem(`${G22.toLowerCase()},2026/11/25,12/QĐ-UBND`, G22), undefined, 'the OrganId in any case')
  t.match(documentIdProblem(`${H26},2026/11/25,12/QĐ-UBND`, G22), /start with this agency's OrganId/)
  t.match(documentIdProblem('b3d1e7a4-6c2f-4f18-9a5e-0d7c4b2a9e61', G22), /start with/)
  t.match(documentIdProblem(`${G22}`, G22), /expected/)
  t.match(documentIdProblem(`${G22},2026/02/30,1/X`, G22), /not a date/)
  t.match(documentIdProblem(`${G22},25/11/2026,1/X`, G22), /not a date/)
  t.match(documentIdProblem(`${G22},2026/11/25,`, G22), /code/)
  t.match(documentIdProblem(`${G22},2026/11/25,1/X\u202e`, G22), /control/)
  t.match(documentIdProblem(`${G22},2026/11/25,${'1'.repeat(90)}`, G22), /100/)
})

t.test('send path: DocumentId form, a used DocumentId, an identical resend; updates keeping the DocumentId are linked', async (t) => {
  const { a, b } = await startTwoGateways(t)

  // ---- the client's DocumentId must be its own agency's, in the edXML form --------------------------------
  for (const documentId of [`${H26},2026/11/25,1/UBND`, 'DOC-1', '6d2b8f41-0e7c-4a95-b3d6-1c9e8a7f5b24']) {
    const res = await post(a, sampleDocument({ recipients: toH26, documentId }))
    t.equal(res.statusCode, 400, `${documentId}: 400`)
    t.equal(res.json().code, 'GW_ERR_API_DOCUMENT_ID_FORM', `${documentId}: GW_ERR_API_DOCUMENT_ID_FORM`)
  }
  const foreign = Buffer.from(sampleEdoc(G22, [H26], { documentId: 'b3d1e7a4-6c2f-4f18-9a5e-0d7c4b2a9e61' }).bytes)
  t.equal((await post(a, foreign, 'application/xml')).json().code, 'GW_ERR_API_DOCUMENT_ID_FORM', 'prebuilt package with a UUID DocumentId: refused')
  t.equal((await a.store.listPackages({ kind: 'edoc', limit: 10 })).items.length, 0, 'nothing stored or sent')

  // ---- the original, and the identical body twice at the same time without an Idempotency-Key ---------------
  const original = sampleDocument({ recipients: toH26 })
  const [r1, r2, r3] = await Promise.all([post(a, original), post(a, original), post(a, original)])
  t.same([r1.statusCode, r2.statusCode, r3.statusCode], [202, 202, 202])
  const ids = new Set([r1, r2, r3].map((r) => (r.json() as { id: string }).id))
  t.equal(ids.size, 1, 'one package for the three identical requests')
  t.equal([r1, r2, r3].filter((r) => r.headers['idempotent-replayed'] === 'true').length, 2, 'the two resends are answered as replays')
  const sent = r1.json() as { id: string; documentId: string }
  t.ok(await delivered(a, sent.id), 'the one package reaches delivered (its 01)')
  t.equal((await a.store.listPackages({ kind: 'edoc', documentId: sent.documentId, limit: 10 })).items.length, 1, 'one package stored at A')
  const [orig] = await received(b, sent.documentId)
  t.equal(orig?.state, 'arrived', 'B received it')

  // ---- a different new document under the same DocumentId: refused at the API, nothing sent --------------
  const other = await post(a, { ...original, subject: 'V/v nội dung khác' })
  t.equal(other.statusCode, 409)
  t.equal(other.json().code, 'GW_ERR_API_DOCUMENT_ID_USED')
  t.match(other.json().message, sent.id, 'names the package that holds the DocumentId')
  t.match(ERRORS.GW_ERR_API_DOCUMENT_ID_USED.solve, /send an update: `business: \{ type: 2/, 'the hint says how to send an update')
  const explicit = await post(a, sampleDocument({ recipients: toH26, documentId: sent.documentId, subject: 'Rác' }))
  t.equal(explicit.json().code, 'GW_ERR_API_DOCUMENT_ID_USED', 'also with the DocumentId given explicitly')
  t.equal((await a.store.listPackages({ kind: 'edoc', documentId: sent.documentId, limit: 10 })).items.length, 1, 'still one package at A')

  // ---- an update through the API with the same code and date: the same DocumentId, received and linked ----
  const update = await post(a, { ...original, subject: 'V/v cập nhật', business: { type: 2, documentId: sent.documentId, documentInfo: { metadataChanged: true } } })
  t.equal(update.statusCode, 202, update.body)
  const upd = update.json() as { id: string; documentId: string }
  t.equal(upd.documentId, sent.documentId, 'the update keeps the DocumentId')
  t.ok(await delivered(a, upd.id), 'the update gets its 01')
  const afterUpdate = await received(b, sent.documentId)
  const updRow = afterUpdate.find((r) => r.id !== orig!.id)
  t.equal(updRow?.state, 'arrived', 'B received the update (not REPLAY)')
  t.equal(updRow?.relatedId, orig!.id, 'linked to the original')
  const events = await b.store.listEvents({ packageId: orig!.id, limit: 50 })
  t.ok(events.items.some((e) => e.type === 'updated'), 'the original is marked updated')

  // ---- the public SDK's way: prebuilt, type 2 and type 3, the original's DocumentId kept ------------------
  const sdkOriginal = sampleEdoc(G22, [H26])
  const docId = sdkOriginal.edoc!.messageHeader.documentId
  const o = await post(a, Buffer.from(sdkOriginal.bytes), 'application/xml')
  t.equal(o.statusCode, 202, o.body)
  t.ok(await delivered(a, (o.json() as { id: string }).id))
  const code = sdkOriginal.edoc!.messageHeader.code
  const sdkUpdate = sampleEdoc(G22, [H26], { documentId: docId, code, subject: 'Cập nhật (SDK)', bussiness: { bussinessDocType: 2 } })
  const u = await post(a, Buffer.from(sdkUpdate.bytes), 'application/xml')
  t.equal(u.statusCode, 202, u.body)
  t.ok(await delivered(a, (u.json() as { id: string }).id), 'SDK-style update delivered')
  const sdkReplace = sampleEdoc(G22, [H26], { documentId: docId, code, subject: 'Thay thế (SDK)', bussiness: { bussinessDocType: 3, replacementInfoList: [{ documentId: docId, organIdList: [H26] }] } })
  const r = await post(a, Buffer.from(sdkReplace.bytes), 'application/xml')
  t.equal(r.statusCode, 202, r.body)
  t.ok(await delivered(a, (r.json() as { id: string }).id), 'SDK-style replacement delivered')
  const rows = await received(b, docId)
  t.equal(rows.length, 3, 'three packages received under the one DocumentId')
  t.ok(rows.every((x) => x.state === 'arrived'), 'none refused')
  const first = rows.find((x) => Number(x.metadata.businessType ?? 0) === 0)!
  t.ok(rows.filter((x) => x.id !== first.id).every((x) => x.relatedId === first.id), 'the update and the replacement are linked to the original')
  const ev = await b.store.listEvents({ packageId: first.id, limit: 50 })
  t.ok(ev.items.some((e) => e.type === 'updated') && ev.items.some((e) => e.type === 'superseded'), 'updated and superseded events on the original')

  // ---- an original and its update in flight together: each gets its own 01 (ResponseFor cannot tell them apart)
  const o2 = sampleEdoc(G22, [H26])
  const id2 = o2.edoc!.messageHeader.documentId
  const u2 = sampleEdoc(G22, [H26], { documentId: id2, code: o2.edoc!.messageHeader.code, subject: 'Cập nhật ngay', bussiness: { bussinessDocType: 2 } })
  const s1 = (await post(a, Buffer.from(o2.bytes), 'application/xml')).json() as { id: string }
  const s2 = (await post(a, Buffer.from(u2.bytes), 'application/xml')).json() as { id: string }
  t.ok(await delivered(a, s1.id), 'the original delivered')
  t.ok(await delivered(a, s2.id), 'the update sent right after it delivered too')

  t.equal((await b.store.listPackages({ kind: 'status', limit: 100 })).items.filter((p) => p.statusCode === '02').length, 0, 'no 02 anywhere')
})
