import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { createStatusSender } from '../../src/pipeline/statuses.js'
import { createVerifier } from '../../src/signature/index.js'
import { auth, buildTestApp, CERTS, crlsPem, G22, H26, H29, KEYS, sampleDocument, STC, testSigners, trustAnchorsPem } from '../helper.js'

const send = (app: any, doc: unknown, key: string = KEYS.g22) =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
const get = (app: any, url: string, key: string = KEYS.ops) => app.inject({ url, headers: auth(key) })
const post = (app: any, url: string, key: string = KEYS.ops, body?: unknown) =>
  app.inject({ method: 'POST', url, headers: { ...auth(key), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) })

/** Vietnam local time → Date. */
const vn = (s: string) => new Date(`${s}+07:00`)

t.test('GET /v1/operator/overdue: next working day 17:00 Vietnam time, across a weekend and a holiday; operator only', async (t) => {
  let now = vn('2026-11-26T09:00:00') // Thursday
  const { app, store } = await buildTestApp(t, { deps: { clock: () => now } })
  const thu = (await send(app, sampleDocument({ subject: 'Thứ năm' }))).json()
  const fri = (await send(app, sampleDocument({ subject: 'Thứ sáu chiều' }))).json()
  const answered = (await send(app, sampleDocument({ subject: 'Đã trả lời 01' }))).json()
  const [dThu] = await store.getDeliveries(thu.id)
  const [dFri] = await store.getDeliveries(fri.id)
  const [dAns] = await store.getDeliveries(answered.id)
  await store.markQueued(dThu!.id, vn('2026-11-26T10:00:00')) // due Fri 27, 17:00
  await store.markQueued(dFri!.id, vn('2026-11-27T16:30:00')) // Friday afternoon: due Mon 30, 17:00
  await store.markQueued(dAns!.id, vn('2026-11-26T10:00:00'))
  await store.transition(dAns!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01' })

  const list = async (qs = '') => {
    const r = await get(app, `/v1/operator/overdue${qs}`)
    t.equal(r.statusCode, 200, r.body)
    return r.json()
  }
  t.equal((await get(app, '/v1/operator/overdue', KEYS.g22)).statusCode, 403)
  now = vn('2026-11-27T16:59:59')
  t.same((await list()).items, [], 'Thursday delivery not yet overdue at Friday 16:59:59')
  now = vn('2026-11-27T17:00:00')
  let page = await list()
  t.same(page.items.map((i: any) => i.deliveryId), [dThu!.id], 'overdue at Friday 17:00; the answered one never')
  t.match(page.items[0], { packageId: thu.id, documentId: thu.documentId, sender: G22, recipient: H29, subject: 'Thứ năm', queuedAt: vn('2026-11-26T10:00:00').toISOString(), dueAt: vn('2026-11-27T17:00:00').toISOString(), overdueMinutes: 0 })
  t.match(page.policy, /next working day/)
  t.match(page.policyLabel, /ngày làm việc kế tiếp/, 'the rule in Vietnamese for the console')
  now = vn('2026-11-29T12:00:00') // Sunday
  page = await list()
  t.same(page.items.map((i: any) => i.deliveryId), [dThu!.id], 'Friday afternoon delivery is not overdue over the weekend')
  t.equal(page.items[0].overdueMinutes, 2 * 24 * 60 - 5 * 60)
  now = vn('2026-11-30T17:00:00') // Monday
  page = await list()
  t.same(page.items.map((i: any) => i.deliveryId), [dFri!.id, dThu!.id], 'Friday delivery overdue Monday 17:00, newest first')
  t.equal(page.items[0].dueAt, vn('2026-11-30T17:00:00').toISOString())
  t.same((await list(`?recipient=${H26}`)).items, [], 'filter by recipient')
  const p1 = await list('?limit=1')
  t.equal(p1.items.length, 1)
  t.same((await list(`?limit=1&cursor=${p1.next}`)).items.map((i: any) => i.deliveryId), [dThu!.id])
  // the count is a metric
  const m = await get(app, '/metrics')
  t.match(m.body, /^lienthong_overdue_deliveries 2$/m)
})

t.test('overdue: a holiday in the config moves the due time to the next working day', async (t) => {
  let now = vn('2026-11-27T16:30:00')
  const { app, store } = await buildTestApp(t, { deps: { clock: () => now, ops: { overdue: { holidays: ['2026-11-30'] } } } })
  const doc = (await send(app, sampleDocument())).json()
  const [d] = await store.getDeliveries(doc.id)
  await store.markQueued(d!.id, now)
  now = vn('2026-11-30T18:00:00')
  t.same((await get(app, '/v1/operator/overdue')).json().items, [], 'Monday is a holiday')
  now = vn('2026-12-01T17:00:00')
  t.match((await get(app, '/v1/operator/overdue')).json().items, [{ deliveryId: d!.id, dueAt: vn('2026-12-01T17:00:00').toISOString() }])
})

/** A real package signed by G22 for H29, stored as an incoming package rejected for a missing trust anchor. */
async function rejectedIncoming(app: any, store: any) {
  const sent = (await send(app, sampleDocument({ subject: 'Văn bản bị từ chối vì thiếu trust anchor' }))).json()
  const pkg = await store.getPackage(sent.id)
  const bytes = await store.getPackageBytes(sent.id)
  const id = randomUUID()
  await store.recordIncoming({
    package: {
      id,
      kind: 'edoc',
      documentId: pkg.documentId,
      senderOrganId: G22,
      recipient: H29,
      messageId: sent.id,
      bytes: bytes.bytes,
      signature: bytes.signature,
      sha256: pkg.sha256,
      subject: pkg.subject,
      codeNumber: pkg.codeNumber,
      codeNotation: pkg.codeNotation,
      promulgationDate: pkg.promulgationDate,
      verdict: { ok: false, code: 'UNTRUSTED_CHAIN', message: 'the chain does not end at a trust anchor' },
    },
    state: 'rejected',
    reason: 'UNTRUSTED_CHAIN: the chain does not end at a trust anchor',
    actor: `peer:${G22}`,
  })
  return { id, sent, pkg }
}

t.test('dead letters: listed with reasons; incoming replay after fixing the trust anchor, logged with the operator; 01 sent', async (t) => {
  let anchors = readFileSync(path.join(CERTS, 'untrusted-root-ca.pem'), 'utf8')
  let wakes = 0
  const holder: { statuses?: any } = {}
  const observer = new EventEmitter()
  const observed: any[] = []
  observer.on('received', (e) => observed.push(e))
  const { app, store, config } = await buildTestApp(t, {
    deps: {
      relay: { wake: () => void wakes++ },
      ops: {
        verifier: () => createVerifier({ trustAnchors: anchors, crls: crlsPem() }),
        statuses: { send: (i: any) => holder.statuses.send(i), sendRevoke: (i: any) => holder.statuses.sendRevoke(i), prepare: (i: any) => holder.statuses.prepare(i) },
        events: observer,
      },
    },
  })
  holder.statuses = createStatusSender({ store, agencies: config.agencies, signers: await testSigners(config), relay: { wake: () => void wakes++ } })
  const { id, pkg } = await rejectedIncoming(app, store)
  const other = (await send(app, sampleDocument({ recipients: [{ organId: H26, name: 'UBND HN', organizationInCharge: 'CP' }] }))).json()
  const [failed] = await store.getDeliveries(other.id)
  await store.markFailed(failed!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient 000.00.00.H26', 'system')

  t.equal((await get(app, '/v1/operator/dead-letters', KEYS.h29)).statusCode, 403)
  const list = (await get(app, '/v1/operator/dead-letters')).json()
  t.same(list.items.map((x: any) => [x.kind, x.id]), [['outgoing', failed!.id], ['incoming', id]], 'both kinds, newest first')
  t.match(list.items[0], { reason: /UNROUTABLE/, recipient: H26, sender: G22, attempts: 1 }) // the refused publish is counted
  t.match(list.items[1], { verdictCode: 'UNTRUSTED_CHAIN', sender: G22, recipient: H29, documentId: pkg.documentId, reason: /UNTRUSTED_CHAIN/ })
  t.same((await get(app, '/v1/operator/dead-letters?kind=incoming')).json().items.map((x: any) => x.id), [id])
  const p1 = (await get(app, '/v1/operator/dead-letters?limit=1')).json()
  t.equal(p1.items[0].id, failed!.id)
  const p2 = (await get(app, `/v1/operator/dead-letters?limit=1&cursor=${p1.next}`)).json()
  t.same(p2.items.map((x: any) => x.id), [id], 'second page continues with the other kind')
  t.notOk(p2.next)
  t.equal((await get(app, `/v1/operator/dead-letters/${id}`)).json().kind, 'incoming')

  // the cause is not fixed yet: still rejected, recorded
  const again = await post(app, `/v1/operator/dead-letters/${id}/replay`)
  t.equal(again.statusCode, 200, again.body)
  t.match(again.json(), { outcome: 'still-rejected', verdictCode: 'UNTRUSTED_CHAIN', state: 'rejected' })
  t.equal((await store.getIncoming(id))!.state, 'rejected')
  // the operator adds the right trust anchor, then replays
  anchors = trustAnchorsPem()
  const ok = await post(app, `/v1/operator/dead-letters/${id}/replay`, KEYS.ops, { note: '  Đã thêm CA của bên gửi  ' })
  t.equal(ok.statusCode, 200, ok.body)
  t.match(ok.json(), { outcome: 'replayed', kind: 'incoming', state: 'arrived', verdictCode: 'VALID' })
  t.notOk(ok.json().reason, '01 was sent')
  t.equal((await store.getIncoming(id))!.state, 'arrived')
  t.equal(observed.length, 1, 'observers (webhooks) are told once, after the replay')
  t.match(observed[0], { duplicate: false, incoming: { id, state: 'arrived', recipient: H29 } })
  const events = (await get(app, `/v1/log?packageId=${id}`)).json().items
  t.match(events[0], { type: 'replayed', actor: 'operator:ops', fromState: 'rejected', state: 'arrived', changed: true, detail: { verdict: 'VALID', previousReason: /UNTRUSTED_CHAIN/, note: 'Đã thêm CA của bên gửi' } })
  t.match(events[1], { type: 'replay-failed', actor: 'operator:ops', state: 'rejected', detail: { verdict: 'UNTRUSTED_CHAIN' } })
  t.notOk('note' in events[1].detail, 'no note given: none recorded')
  const statuses = (await store.listPackages({ kind: 'status', limit: 10 })).items
  t.equal(statuses.length, 1, 'status 01 stored in the outbox')
  t.match(statuses[0], { statusCode: '01', senderOrganId: H29, documentId: pkg.documentId })
  t.equal((await post(app, `/v1/operator/dead-letters/${id}/replay`)).statusCode, 409, 'nothing left to replay')

  // outgoing: replay puts it back in the outbox and wakes the relay
  const w0 = wakes
  const r = await post(app, `/v1/operator/dead-letters/${failed!.id}/replay`, KEYS.ops, { note: 'Bên nhận đã đăng ký hàng đợi' })
  t.match(r.json(), { outcome: 'replayed', kind: 'outgoing', state: 'accepted' })
  t.equal(wakes, w0 + 1)
  t.equal((await store.getDelivery(failed!.id))!.state, 'accepted')
  t.match((await get(app, `/v1/log?type=replayed&direction=out`)).json().items[0], { actor: 'operator:ops', deliveryId: failed!.id, fromState: 'failed', state: 'accepted', detail: { note: 'Bên nhận đã đăng ký hàng đợi' } })
  t.same((await get(app, '/v1/operator/dead-letters')).json().items, [], 'nothing left')
  t.equal((await post(app, `/v1/operator/dead-letters/nope/replay`)).statusCode, 404)
})

t.test('dead letters: discard (incoming → discarded; outgoing keeps failed and leaves the list), logged with the operator', async (t) => {
  const { app, store } = await buildTestApp(t)
  const { id } = await rejectedIncoming(app, store)
  const other = (await send(app, sampleDocument({ recipients: [{ organId: H26, name: 'UBND HN', organizationInCharge: 'CP' }] }))).json()
  const [failed] = await store.getDeliveries(other.id)
  await store.markFailed(failed!.id, 'GW_ERR_TRANSPORT_NACKED: broker refused', 'system')
  t.equal((await post(app, `/v1/operator/dead-letters/${id}/discard`, KEYS.g22)).statusCode, 403)
  const d1 = await post(app, `/v1/operator/dead-letters/${id}/discard`, KEYS.ops, { note: 'spam from a test sender' })
  t.equal(d1.statusCode, 200, d1.body)
  t.match(d1.json(), { kind: 'incoming', outcome: 'discarded', state: 'discarded' })
  t.equal((await store.getIncoming(id))!.state, 'discarded')
  const d2 = await post(app, `/v1/operator/dead-letters/${failed!.id}/discard`)
  t.match(d2.json(), { kind: 'outgoing', outcome: 'discarded', state: 'failed' })
  t.equal((await post(app, `/v1/operator/dead-letters/${failed!.id}/discard`)).statusCode, 409, 'twice is a conflict')
  t.same((await get(app, '/v1/operator/dead-letters')).json().items, [])
  const ev = (await get(app, '/v1/log?type=discarded')).json().items
  t.match(ev, [
    { direction: 'out', actor: 'operator:ops', deliveryId: failed!.id, state: 'failed', detail: { previousReason: /NACKED/ } },
    { direction: 'in', actor: 'operator:ops', packageId: id, fromState: 'rejected', state: 'discarded', detail: { note: 'spam from a test sender' } },
  ])
  t.equal((await post(app, `/v1/operator/dead-letters/${id}/replay`)).statusCode, 409, 'a discarded package is not replayed')
  t.equal((await get(app, '/v1/log/verify')).json().ok, true, 'operator actions are chained')
})

t.test('dead letters: pages of any size over both lists, discarded deliveries skipped, each item once, newest first', async (t) => {
  const { app, store } = await buildTestApp(t)
  const expected: string[] = []
  for (let i = 0; i < 7; i++) {
    if (i % 3 === 1) {
      const { id } = await rejectedIncoming(app, store)
      expected.push(id)
    } else {
      const doc = (await send(app, sampleDocument({ recipients: [{ organId: H26, name: 'UBND HN', organizationInCharge: 'CP' }] }))).json()
      const [d] = await store.getDeliveries(doc.id)
      await store.markFailed(d!.id, `GW_ERR_TRANSPORT_NACKED: refused ${i}`, 'system')
      expected.push(d!.id)
    }
    await new Promise((r) => setTimeout(r, 3)) // distinct times
  }
  // discard one outgoing in the middle
  const dropped = expected[3]!
  t.equal((await post(app, `/v1/operator/dead-letters/${dropped}/discard`)).statusCode, 200)
  const want = expected.filter((x) => x !== dropped).reverse()
  for (const size of [1, 2, 3, 10]) {
    const got: string[] = []
    let cursor: string | undefined
    for (let i = 0; i < 20; i++) {
      const r = await get(app, `/v1/operator/dead-letters?limit=${size}${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(r.statusCode, 200, r.body)
      got.push(...r.json().items.map((x: any) => x.id))
      cursor = r.json().next
      if (!cursor) break
    }
    t.same(got, want, `pages of ${size}`)
  }
  t.equal((await get(app, '/v1/operator/dead-letters?cursor=%7B%7D')).statusCode, 400, 'a cursor that is not ours')
})

/** A document from G22 to H29, signed by G22's key, stored as an incoming package with the given state and facts. */
async function storedIncoming(store: any, config: any, opts: { state: 'arrived' | 'rejected'; bussiness?: any; documentId?: string; code?: { codeNumber: string; codeNotation: string }; metadata?: Record<string, unknown>; verdictCode?: string }) {
  const { buildEdoc } = await import('../../src/envelope/index.js')
  const env = buildEdoc({
    from: { organId: G22, organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    to: [{ organId: H29, organName: 'UBND TP HCM', organizationInCharge: 'Chính phủ' }],
    ...(opts.documentId ? { documentId: opts.documentId } : {}),
    code: opts.code ?? { codeNumber: String(Math.floor(Math.random() * 1e6)), codeNotation: 'VPCP-REPLAY' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'Văn bản gửi lại',
    signerInfo: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    otherInfo: { pageAmount: 1 },
    ...(opts.bussiness ? { bussiness: opts.bussiness } : {}),
  })
  const signer = (await testSigners(config)).get(G22)!
  const h = env.edoc!.messageHeader
  const id = randomUUID()
  const code = opts.verdictCode ?? 'VALID'
  const { createHash } = await import('node:crypto')
  await store.recordIncoming({
    package: {
      id, kind: 'edoc', documentId: h.documentId, senderOrganId: G22, recipient: H29, bytes: env.bytes, signature: await signer.sign(env.bytes),
      sha256: createHash('sha256').update(env.bytes).digest('hex'), codeNumber: h.code.codeNumber, codeNotation: h.code.codeNotation, promulgationDate: '2026/11/25',
      metadata: { businessType: Number(opts.bussiness?.bussinessDocType ?? 0), ...(opts.metadata ?? {}) },
      verdict: opts.state === 'arrived' ? { ok: true, code } : { ok: false, code, message: 'refused' },
    },
    state: opts.state,
    ...(opts.state === 'rejected' ? { reason: `${code}: refused` } : {}),
    actor: `peer:${G22}`,
  })
  return { id, documentId: h.documentId, code: h.code }
}

t.test('replay runs the receive steps: the transport sender is checked again, a revoke takes effect', async (t) => {
  const { app, store, config } = await buildTestApp(t, { deps: { ops: { verifier: () => createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem() }) } } })
  // refused because the AMQP sender header named another agency: a valid signature does not override that
  const mismatch = await storedIncoming(store, config, { state: 'rejected', verdictCode: 'SENDER_MISMATCH', metadata: { input: { source: 'amqp', sender: STC } } })
  const r1 = await post(app, `/v1/operator/dead-letters/${mismatch.id}/replay`)
  t.equal(r1.statusCode, 200, r1.body)
  t.match(r1.json(), { outcome: 'still-rejected', verdictCode: 'SENDER_MISMATCH', reason: /sender header 000.00.11.H29, From\/OrganId 000.00.00.G22/ })

  // a revoke (type 1) refused earlier, replayed: the original it revokes is asked back, as on the receive path
  const original = await storedIncoming(store, config, { state: 'arrived' })
  const revoke = await storedIncoming(store, config, { state: 'rejected', verdictCode: 'UNTRUSTED_CHAIN', documentId: original.documentId, code: original.code, bussiness: { bussinessDocType: 1, bussinessDocReason: 'Ban hành nhầm' } })
  const r2 = await post(app, `/v1/operator/dead-letters/${revoke.id}/replay`)
  t.equal(r2.statusCode, 200, r2.body)
  t.match(r2.json(), { outcome: 'replayed', state: 'arrived', verdictCode: 'VALID' })
  t.equal((await store.getIncoming(original.id))!.state, 'recall-requested', 'the revoke moved the original')
  const ev = (await store.listEvents({ packageId: original.id, limit: 1 })).items[0]
  t.match(ev, { state: 'recall-requested', statusCode: '13', detail: { revokePackageId: revoke.id } })

  // same DocumentId, other bytes, not a revoke: REPLAY, as the receive path decides
  const replayOf = await storedIncoming(store, config, { state: 'rejected', verdictCode: 'UNTRUSTED_CHAIN', documentId: original.documentId })
  t.match((await post(app, `/v1/operator/dead-letters/${replayOf.id}/replay`)).json(), { outcome: 'still-rejected', verdictCode: 'REPLAY' })
})
