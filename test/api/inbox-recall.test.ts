import t from 'tap'
import { parseEnvelope } from '../../src/envelope/index.js'
import { auth, buildTestApp, G22, H26, H29, KEYS, sampleDocument, STC } from '../helper.js'
import { verifierFor } from './inbox-fixtures.js'

const send = async (app: Awaited<ReturnType<typeof buildTestApp>>['app']) => {
  const doc = sampleDocument({
    recipients: [
      { organId: H29, name: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
      { organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'Chính phủ' },
    ],
  })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
  return { doc, sent: res.json() as { id: string; documentId: string } }
}

const recall = (app: Awaited<ReturnType<typeof buildTestApp>>['app'], id: string, body: unknown, key: string = KEYS.g22) =>
  app.inject({ method: 'POST', url: `/v1/documents/${id}/recall`, headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(body) })

t.test('recall (default status 13): one signed status-13 package per recipient, recorded in each timeline', async (t) => {
  const { app, store, config } = await buildTestApp(t)
  const { doc, sent } = await send(app)
  const res = await recall(app, sent.id, { reason: 'Văn bản ban hành nhầm số' })
  t.equal(res.statusCode, 202, res.body)
  const body = res.json()
  t.match(body, { id: sent.id, documentId: sent.documentId, method: 'status13', reason: 'Văn bản ban hành nhầm số' })
  t.same(body.recipients.map((r: { recipient: string }) => r.recipient).sort(), [H26, H29].sort())

  const statusPkgs = (await store.listPackages({ senderOrganId: G22, kind: 'status', limit: 10 })).items
  t.equal(statusPkgs.length, 2, 'one status package per recipient')
  for (const p of statusPkgs) {
    t.equal(p.statusCode, '13')
    t.equal(p.documentId, sent.documentId)
    const recipient = p.deliveries[0]!.recipient
    const stored = await store.getPackageBytes(p.id)
    const sh = parseEnvelope(stored!.bytes).status!.messageHeader
    t.equal(sh.statusCode, '13')
    t.equal(sh.from.organId, G22)
    t.equal(sh.description, 'Văn bản ban hành nhầm số')
    t.same(
      { organId: sh.responseFor.organId, code: sh.responseFor.code, documentId: sh.responseFor.documentId, date: sh.responseFor.promulgationDate.value },
      { organId: recipient, code: `${doc.code.number}/${doc.code.notation}`, documentId: sent.documentId, date: '2026/11/25' },
      'ResponseFor = the original, addressed to the recipient (SDK sample)',
    )
    t.equal((await verifierFor(config).verify(stored!.bytes, stored!.signature, { expectedOrganId: G22 })).code, 'VALID')
    t.equal(body.recipients.find((r: { recipient: string }) => r.recipient === recipient).requestPackageId, p.id)
  }
  const view = (await app.inject({ url: `/v1/documents/${sent.id}`, headers: auth(KEYS.g22) })).json()
  for (const d of view.deliveries) {
    const ev = d.timeline.find((e: { type: string }) => e.type === 'recall-requested')
    t.match(ev, { statusCode: '13', cause: 'Văn bản ban hành nhầm số', actor: 'client:dms-vpcp', detail: { method: 'status13' } }, `recall in ${d.recipient}'s timeline`)
    t.equal(d.state, 'accepted', 'the state moves only on the answer (15/16)')
  }
})

t.test('recall: 404 for another agency, 409 once recalled, unknown recipients refused, subset and revoke method', async (t) => {
  const { app, store } = await buildTestApp(t)
  const { sent } = await send(app)
  t.equal((await recall(app, sent.id, { reason: 'x' }, KEYS.h29)).statusCode, 404, "another agency's document")
  t.equal((await recall(app, 'nope', { reason: 'x' })).statusCode, 404)
  t.equal((await recall(app, sent.id, { reason: 'x' }, KEYS.ops)).statusCode, 403, 'operators do not recall for an agency')
  t.equal((await recall(app, sent.id, {})).json().code, 'GW_ERR_API_VALIDATION', 'reason required')
  t.equal((await recall(app, sent.id, { reason: '  ' })).statusCode, 400, 'blank reason')
  t.equal((await recall(app, sent.id, { reason: 'x', method: 'delete' })).statusCode, 400)
  const unknown = await recall(app, sent.id, { reason: 'x', recipients: [STC] })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json().details, [{ field: 'body.recipients.0' }])

  // H29 agreed to an earlier recall (15): the receive pipeline made the delivery `recalled`
  const deliveries = await store.getDeliveries(sent.id)
  const h29 = deliveries.find((d) => d.recipient === H29)!
  await store.transition(h29.id, 'recalled', { cause: `status 15 from ${H29}`, actor: `peer:${H29}`, statusCode: '15' })
  const again = await recall(app, sent.id, { reason: 'x', recipients: [H29.toLowerCase()] })
  t.equal(again.statusCode, 409, 'already recalled from that recipient')
  t.equal(again.json().code, 'GW_ERR_API_CONFLICT')

  const revoke = await recall(app, sent.id, { reason: 'Thu hồi để sửa nội dung', method: 'revoke' })
  t.equal(revoke.statusCode, 202, revoke.body)
  t.same(revoke.json().recipients.map((r: { recipient: string }) => r.recipient), [H26], 'only the recipient not yet recalled')
  const pkgId = revoke.json().recipients[0].requestPackageId
  const pkg = await store.getPackage(pkgId)
  t.match(pkg, { kind: 'edoc', documentId: sent.documentId, senderOrganId: G22 })
  const orig = parseEnvelope((await store.getPackageBytes(sent.id))!.bytes).edoc!
  const env = parseEnvelope((await store.getPackageBytes(pkgId))!.bytes).edoc!
  t.equal(env.traceHeaderList.bussiness?.bussinessDocType, '1', 'business type 1 (revoke)')
  t.equal(env.traceHeaderList.bussiness?.bussinessDocReason, 'Thu hồi để sửa nội dung')
  t.equal(env.messageHeader.documentId, orig.messageHeader.documentId, 'same DocumentId')
  t.same(env.messageHeader.code, orig.messageHeader.code, 'same Code')
  t.same(env.messageHeader.promulgationInfo, orig.messageHeader.promulgationInfo, 'same PromulgationInfo')
  t.equal(env.messageHeader.from.organId, G22)
  t.same(env.messageHeader.to.map((o) => o.organId), [H26])
  t.same((await store.getDeliveries(pkgId)).map((d) => d.recipient), [H26])

  await store.transition(deliveries.find((d) => d.recipient === H26)!.id, 'recalled', { cause: `status 15 from ${H26}`, actor: `peer:${H26}`, statusCode: '15' })
  const done = await recall(app, sent.id, { reason: 'x' })
  t.equal(done.statusCode, 409, 'recalled from everyone: 409')
})
