// The send path's store operations, against every store implementation (helpers.ts: eachStore).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { isGatewayError } from '../../../src/errors.js'
import { PENDING_INLINE_BYTES } from '../../../src/store/types.js'
import { eachStore, incomingInput, outgoing, sha256 } from './helpers.js'

eachStore(t, 'recordOutgoing stores the package, one accepted delivery per recipient and their events', async (t, { store }) => {
  const input = outgoing({ recipients: ['000.00.02.H26', '000.00.03.H26', '000.00.02.H26'] })
  const res = await store.recordOutgoing(input)
  t.equal(res.replayed, false)
  t.equal(res.package.id, input.package.id)
  t.equal(res.package.size, input.package.bytes.byteLength)
  t.same(res.package.metadata, input.package.metadata)
  t.same(
    res.deliveries.map((d) => [d.recipient, d.state]),
    [
      ['000.00.02.H26', 'accepted'],
      ['000.00.03.H26', 'accepted'],
    ],
    'duplicate recipients collapse to one delivery each',
  )
  t.same(await store.getPackage(input.package.id), res.package, 'read back equals what was returned')
  t.same(await store.getDeliveries(input.package.id), res.deliveries)
  for (const d of res.deliveries) {
    const tl = await store.timeline(d.id)
    t.equal(tl.length, 1)
    t.match(tl[0], { state: 'accepted', changed: true, actor: 'client:dms-hanoi' })
  }
  t.equal(await store.getPackage('no-such-id'), undefined)
})

eachStore(t, 'exact bytes and signature round trip, including NUL, invalid UTF-8 and a 1 MB package', async (t, { store }) => {
  const odd = Buffer.concat([Buffer.from('<?xml version="1.0"?>\r\n<edXML>\u0000'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from('\n</edXML>\n')])
  const big = randomBytes(1024 * 1024)
  for (const bytes of [odd, big, new Uint8Array(randomBytes(33)).subarray(1, 30)]) {
    const input = outgoing({ package: { bytes: new Uint8Array(bytes), signature: new Uint8Array(randomBytes(1500)) } })
    await store.recordOutgoing(input)
    const back = await store.getPackageBytes(input.package.id)
    t.ok(back, 'bytes found')
    t.ok(Buffer.from(back!.bytes).equals(Buffer.from(input.package.bytes)), `bytes identical (${bytes.byteLength})`)
    t.ok(Buffer.from(back!.signature).equals(Buffer.from(input.package.signature)), 'signature identical')
  }
  t.equal(await store.getPackageBytes('nope'), undefined)
})

eachStore(t, 'a failure mid-way through recordOutgoing leaves nothing behind', async (t, { store }) => {
  const before = await store.stats()
  // the second delivery row violates NOT NULL after the package, its bytes and the first delivery were written
  const input = outgoing({ recipients: ['000.00.02.H26', null as unknown as string], idempotency: { clientId: 'dms', key: 'k-1', requestHash: 'h1' } })
  await t.rejects(store.recordOutgoing(input), { code: 'GW_ERR_STORE_CONFLICT' })
  t.equal(await store.getPackage(input.package.id), undefined, 'no package')
  t.equal(await store.getPackageBytes(input.package.id), undefined, 'no bytes')
  t.same(await store.getDeliveries(input.package.id), [], 'no deliveries')
  t.equal(await store.findIdempotent('dms', 'k-1'), undefined, 'no idempotency key')
  t.same(await store.stats(), before, 'no events, no deliveries')
  t.same(await store.verifyLog(), { ok: true, checked: 0 }, 'chain untouched')
  // and the same package can be stored afterwards
  const ok = await store.recordOutgoing({ ...input, recipients: ['000.00.02.H26'] })
  t.equal(ok.deliveries.length, 1)
})

eachStore(t, 'a package id is stored once', async (t, { store }) => {
  const input = outgoing()
  await store.recordOutgoing(input)
  await t.rejects(store.recordOutgoing(input), { code: 'GW_ERR_STORE_CONFLICT' })
  t.equal((await store.getDeliveries(input.package.id)).length, 2)
})

eachStore(t, 'idempotency: same key and hash replays, a different hash conflicts, keys are per client', async (t, { store }) => {
  const idem = { clientId: 'dms-hanoi', key: 'order-42', requestHash: 'a'.repeat(64) }
  const first = await store.recordOutgoing(outgoing({ idempotency: idem }))
  t.equal(first.replayed, false)
  t.match(await store.findIdempotent('dms-hanoi', 'order-42'), { requestHash: idem.requestHash, packageId: first.package.id })

  await store.markQueued(first.deliveries[0]!.id)
  const again = await store.recordOutgoing(outgoing({ idempotency: idem }))
  t.equal(again.replayed, true)
  t.equal(again.package.id, first.package.id, 'the original package')
  t.same(
    again.deliveries.map((d) => [d.id, d.state]),
    [
      [first.deliveries[0]!.id, 'queued'],
      [first.deliveries[1]!.id, 'accepted'],
    ],
    'the original deliveries, as they are now',
  )
  t.equal((await store.listPackages({ limit: 10 })).items.length, 1, 'nothing new stored')

  const err = await store.recordOutgoing(outgoing({ idempotency: { ...idem, requestHash: 'b'.repeat(64) } })).catch((e) => e)
  t.ok(isGatewayError(err, 'GW_ERR_API_IDEMPOTENCY_CONFLICT'), 'different body: conflict')
  t.equal(err.httpStatus, 409)

  const other = await store.recordOutgoing(outgoing({ idempotency: { ...idem, clientId: 'dms-hue' } }))
  t.equal(other.replayed, false, 'another client may use the same key')
  t.equal(await store.findIdempotent('dms-hanoi', 'unknown'), undefined)
})

eachStore(t, 'concurrent requests with one idempotency key store one package', async (t, { store }) => {
  const idem = { clientId: 'dms', key: 'race', requestHash: 'h' }
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.recordOutgoing(outgoing({ idempotency: idem }))))
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ replayed: boolean; package: { id: string } }>).value)
  t.equal(ok.length, 8, 'all succeed')
  t.equal(ok.filter((r) => !r.replayed).length, 1, 'exactly one stored')
  t.equal(new Set(ok.map((r) => r.package.id)).size, 1, 'all answer with the same package')
})

eachStore(t, 'outbox: pending deliveries by priority then age, paged with afterId, gone once queued', async (t, { store }) => {
  const t0 = Date.parse('2026-11-26T01:00:00Z')
  const normal1 = await store.recordOutgoing(outgoing({ recipients: ['A', 'B'], at: new Date(t0) }))
  const urgent = await store.recordOutgoing(outgoing({ package: { priority: 5 }, recipients: ['C'], at: new Date(t0 + 1000) }))
  const normal2 = await store.recordOutgoing(outgoing({ recipients: ['D'], at: new Date(t0 + 2000) }))
  const express = await store.recordOutgoing(outgoing({ package: { priority: 9 }, recipients: ['E'], at: new Date(t0 + 3000) }))

  const all = await store.pendingDeliveries({ limit: 100 })
  t.same(
    all.map((d) => d.recipient),
    ['E', 'C', 'A', 'B', 'D'],
    'priority desc, then oldest first',
  )
  const e = all[0]!
  t.equal(e.packageId, express.package.id)
  t.equal(e.kind, 'edoc')
  t.equal(e.priority, 9)
  t.equal(e.senderOrganId, '000.00.01.H26')
  t.equal(e.sha256, express.package.sha256)
  t.ok(Buffer.from(e.bytes!).equals(Buffer.from((await store.getPackageBytes(express.package.id))!.bytes)), 'carries the bytes')
  t.equal(e.size, express.package.size, 'and their size')
  t.ok(e.signature.byteLength > 0, 'carries the signature')

  // paging with afterId gives the same sequence without duplicates
  const seen: string[] = []
  let after: string | undefined
  for (;;) {
    const page = await store.pendingDeliveries({ limit: 2, ...(after ? { afterId: after } : {}) })
    if (!page.length) break
    seen.push(...page.map((d) => d.recipient))
    after = page[page.length - 1]!.deliveryId
  }
  t.same(seen, ['E', 'C', 'A', 'B', 'D'])

  t.equal(await store.markQueued(urgent.deliveries[0]!.id), true)
  t.equal(await store.markQueuedMany([normal1.deliveries[0]!.id, normal1.deliveries[1]!.id, urgent.deliveries[0]!.id]), 2, 'counts only changes')
  t.same(
    (await store.pendingDeliveries({ limit: 100 })).map((d) => d.recipient),
    ['E', 'D'],
  )
  t.equal(await store.markFailed(normal2.deliveries[0]!.id, 'NO_ROUTE: no queue bound for D', 'system'), true)
  t.same((await store.pendingDeliveries({ limit: 100 })).map((d) => d.recipient), ['E'])
  const failed = await store.getDelivery(normal2.deliveries[0]!.id)
  t.match(failed, { state: 'failed', reason: 'NO_ROUTE: no queue bound for D' })

  const q = await store.getDelivery(urgent.deliveries[0]!.id)
  t.equal(q!.state, 'queued')
  t.ok(q!.queuedAt, 'queuedAt set')
  await store.countAttempt(express.deliveries[0]!.id)
  await store.countAttempt(express.deliveries[0]!.id)
  t.equal((await store.pendingDeliveries({ limit: 1 }))[0]!.attempts, 2)

  await t.rejects(store.pendingDeliveries({ limit: 1, afterId: 'nope' }), { code: 'GW_ERR_STORE_NOT_FOUND' })
  await t.rejects(store.markQueued('nope'), { code: 'GW_ERR_STORE_NOT_FOUND' })

  const st = await store.stats()
  t.same(st.deliveriesByState, { accepted: 1, queued: 3, failed: 1 })
  t.equal(st.outboxBacklog, 1)
})

eachStore(t, 'pending deliveries survive a reopen (restart republishes what was never confirmed)', async (t, s) => {
  const a = await s.store.recordOutgoing(outgoing({ recipients: ['A', 'B'] }))
  await s.store.markQueued(a.deliveries[0]!.id)
  const store = await s.reopen()
  t.same(
    (await store.pendingDeliveries({ limit: 10 })).map((d) => d.deliveryId),
    [a.deliveries[1]!.id],
  )
  t.same(await store.getPackage(a.package.id), a.package)
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'state machine: forward moves, out-of-order statuses kept in the timeline but never moving backwards', async (t, { store }) => {
  const r = await store.recordOutgoing(outgoing({ recipients: ['B'] }))
  const id = r.deliveries[0]!.id
  const peer = 'peer:000.00.02.H26'
  await store.markQueued(id)
  // 03 overtakes 01
  t.match(await store.transition(id, 'registered', { cause: 'status 03', actor: peer, statusCode: '03' }), { changed: true, from: 'queued', state: 'registered' })
  t.match(await store.transition(id, 'delivered', { cause: 'status 01', actor: peer, statusCode: '01' }), { changed: false, from: 'registered', state: 'registered' })
  t.match(await store.transition(id, 'completed', { cause: 'status 06', actor: peer, statusCode: '06', detail: { description: 'Đã xử lý xong' } }), { changed: true, state: 'completed' })
  t.match(await store.transition(id, 'processing', { cause: 'status 05', actor: peer, statusCode: '05' }), { changed: false, state: 'completed' })
  t.match(await store.transition(id, 'failed', { cause: 'late nack', actor: 'system', reason: 'x' }), { changed: false, state: 'completed' }, 'not failed once answered')
  // a late broker confirm after statuses does not move it back either
  t.equal(await store.markQueued(id), false)

  const d = await store.getDelivery(id)
  t.equal(d!.state, 'completed')
  t.equal(d!.statusCode, '06')

  const tl = await store.timeline(id)
  t.same(
    tl.map((e) => [e.state, e.changed, e.statusCode ?? null]),
    [
      ['accepted', true, null],
      ['queued', true, null],
      ['registered', true, '03'],
      ['delivered', false, '01'],
      ['completed', true, '06'],
      ['processing', false, '05'],
      ['failed', false, null],
      ['queued', false, null],
    ],
    'every event, oldest first, applied or not',
  )
  t.ok(tl.every((e, i) => i === 0 || e.seq > tl[i - 1]!.seq), 'oldest first')
  t.match(tl[4], { type: 'status', actor: peer, cause: 'status 06', fromState: 'registered', detail: { description: 'Đã xử lý xong' } })
  t.ok(tl.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.time)), 'ISO times')
})

eachStore(t, 'state machine: refusal, failure and retry, recall', async (t, { store }) => {
  const r = await store.recordOutgoing(outgoing({ recipients: ['A', 'B', 'C', 'D'] }))
  const [a, b, c, d] = r.deliveries.map((x) => x.id) as [string, string, string, string]
  const o = { actor: 'peer:x' }
  // refused is the end of the main line
  await store.markQueued(a)
  t.match(await store.transition(a, 'refused', { ...o, cause: 'status 02', statusCode: '02', reason: 'Sai nơi nhận' }), { changed: true })
  t.match(await store.transition(a, 'registered', { ...o, cause: 'status 03', statusCode: '03' }), { changed: false })
  t.match(await store.transition(a, 'assigned', { ...o, cause: 'status 04', statusCode: '04' }), { changed: false })
  t.match(await store.getDelivery(a), { state: 'refused', reason: 'Sai nơi nhận', statusCode: '02' })
  // failed → accepted (operator replay) → queued; failed → delivered when the recipient answers after all
  await store.markFailed(b, 'nacked', 'system')
  t.match(await store.transition(b, 'queued', { ...o, cause: 'late' }), { changed: false }, 'a failed delivery is not queued without a re-send')
  t.match(await store.transition(b, 'accepted', { actor: 'operator:an', cause: 'operator replay' }), { changed: true, from: 'failed' })
  t.same((await store.pendingDeliveries({ limit: 10 })).map((p) => p.deliveryId).includes(b), true, 'back in the outbox')
  t.notOk((await store.getDelivery(b))!.reason, 'reason cleared once it leaves failed')
  await store.markFailed(c, 'retries exhausted', 'system')
  t.match(await store.transition(c, 'delivered', { ...o, cause: 'status 01', statusCode: '01' }), { changed: true, from: 'failed' })
  // recall: 15 → recalled (terminal), 16 → recall-refused then a later 15 is still accepted
  await store.markQueued(d)
  t.match(await store.transition(d, 'recall-refused', { ...o, cause: 'status 16', statusCode: '16' }), { changed: true })
  t.match(await store.transition(d, 'completed', { ...o, cause: 'status 06', statusCode: '06' }), { changed: false })
  t.match(await store.transition(d, 'recalled', { ...o, cause: 'status 15', statusCode: '15' }), { changed: true })
  t.match(await store.transition(d, 'recall-refused', { ...o, cause: 'status 16', statusCode: '16' }), { changed: false }, 'recalled is final')
  t.match(await store.transition(a, 'recalled', { ...o, cause: 'status 15', statusCode: '15' }), { changed: true }, 'a refused document can still be recalled')
  await t.rejects(store.transition('nope', 'queued', { ...o, cause: 'x' }), { code: 'GW_ERR_STORE_NOT_FOUND' })
})

eachStore(t, 'findDelivery matches a status to its delivery by DocumentId, else by code and date', async (t, { store }) => {
  const sender = '000.00.01.H26'
  const first = await store.recordOutgoing(outgoing({ package: { documentId: 'DOC-1', codeNumber: '7', codeNotation: 'QĐ-UBND', promulgationDate: '2026-01-02' }, recipients: ['B', 'C'] }))
  // a revoke (type 1) re-sends the same DocumentId: the newest edoc wins
  const revoke = await store.recordOutgoing(outgoing({ package: { documentId: 'DOC-1', codeNumber: '7', codeNotation: 'QĐ-UBND', promulgationDate: '2026-01-02' }, recipients: ['B'] }))
  await store.recordOutgoing(outgoing({ package: { kind: 'status', documentId: 'DOC-1', statusCode: '13' }, recipients: ['B'] }))
  t.equal((await store.findDelivery({ senderOrganId: sender, recipient: 'B', documentId: 'DOC-1' }))?.id, revoke.deliveries[0]!.id)
  t.equal((await store.findDelivery({ senderOrganId: sender, recipient: 'C', documentId: 'DOC-1' }))?.id, first.deliveries[1]!.id)
  t.equal(await store.findDelivery({ senderOrganId: 'other', recipient: 'C', documentId: 'DOC-1' }), undefined, 'only our own sender')
  t.equal(
    (await store.findDelivery({ senderOrganId: sender, recipient: 'C', documentId: 'unknown', codeNumber: '7', codeNotation: 'QĐ-UBND', promulgationDate: '2026-01-02' }))?.id,
    first.deliveries[1]!.id,
    'fallback on code and promulgation date',
  )
  t.equal(await store.findDelivery({ senderOrganId: sender, recipient: 'C', codeNumber: '7', codeNotation: 'QĐ-UBND', promulgationDate: '2025-01-01' }), undefined)
})

eachStore(t, 'listPackages: newest first, filters, cursor pages without duplicates or gaps', async (t, { store }) => {
  const base = Date.parse('2026-11-01T00:00:00Z')
  const ids: string[] = []
  for (let i = 0; i < 23; i++) {
    const r = await store.recordOutgoing(
      outgoing({
        package: { senderOrganId: i % 2 ? 'S1' : 'S2', clientId: i % 2 ? 'c1' : 'c2', kind: i % 5 === 0 ? 'status' : 'edoc' },
        recipients: i % 3 ? ['R1'] : ['R1', 'R2'],
        at: new Date(base + i * 60_000),
      }),
    )
    ids.push(r.package.id)
    if (i % 4 === 0) await store.markQueued(r.deliveries[0]!.id)
  }
  const newestFirst = [...ids].reverse()

  const walk = async (filter: Omit<Parameters<typeof store.listPackages>[0], 'cursor' | 'limit'>, limit: number): Promise<string[]> => {
    const out: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await store.listPackages({ ...filter, limit, ...(cursor ? { cursor } : {}) })
      t.ok(page.items.length <= limit)
      out.push(...page.items.map((p) => p.id))
      cursor = page.next
      if (++pages > 50) break
    } while (cursor)
    return out
  }
  t.same(await walk({}, 5), newestFirst, 'all, pages of 5')
  t.same(await walk({}, 23), newestFirst, 'one full page')
  t.same(await walk({}, 1), newestFirst, 'pages of 1')
  t.same(await walk({ senderOrganId: 'S1' }, 4), newestFirst.filter((_, i) => (22 - i) % 2 === 1), 'by sender')
  t.same(await walk({ clientId: 'c2', kind: 'edoc' }, 3), newestFirst.filter((_, i) => (22 - i) % 2 === 0 && (22 - i) % 5 !== 0), 'by client and kind')
  t.same(await walk({ recipient: 'R2' }, 3), newestFirst.filter((_, i) => (22 - i) % 3 === 0), 'by recipient')
  t.same(await walk({ state: 'queued' }, 2), newestFirst.filter((_, i) => (22 - i) % 4 === 0), 'by delivery state')
  t.same(
    await walk({ since: new Date(base + 5 * 60_000), until: new Date(base + 10 * 60_000) }, 2),
    [9, 8, 7, 6, 5].map((i) => ids[i]),
    'time range [since, until)',
  )

  const page = await store.listPackages({ limit: 2 })
  t.equal(page.items[0]!.deliveries.length, 1)
  t.equal(page.items[1]!.deliveries.length, 2, 'deliveries included')
  t.equal((await store.listPackages({ limit: 100 })).next, undefined, 'no cursor after the last page')
  // a package stored after the first page was read does not shift later pages
  const p1 = await store.listPackages({ limit: 10 })
  await store.recordOutgoing(outgoing())
  const p2 = await store.listPackages({ limit: 10, cursor: p1.next! })
  t.same(p2.items.map((p) => p.id), newestFirst.slice(10, 20))

  await t.rejects(store.listPackages({ limit: 5, cursor: 'garbage!' }), { code: 'GW_ERR_STORE_INVALID_CURSOR' })
  const eventsCursor = (await store.listEvents({ limit: 1 })).next!
  await t.rejects(store.listPackages({ limit: 5, cursor: eventsCursor }), { code: 'GW_ERR_STORE_INVALID_CURSOR' }, 'a cursor of another list')
})

eachStore(t, 'ping and closed store', async (t, s) => {
  await s.store.ping()
  await s.store.close()
  await t.rejects(s.store.ping(), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  await t.rejects(s.store.recordOutgoing(outgoing()), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  await s.reopen()
  await s.store.ping()
  t.pass()
})


eachStore(t, 'concurrent writes: one failing write rejects alone, the others are committed', async (t, { store }) => {
  const good = Array.from({ length: 20 }, () => outgoing())
  const dup = outgoing()
  await store.recordOutgoing(dup)
  const settled = await Promise.allSettled([
    ...good.slice(0, 10).map((g) => store.recordOutgoing(g)),
    store.recordOutgoing(dup), // package id already stored
    store.recordOutgoing(outgoing({ recipients: ['A', null as unknown as string] })), // fails after its first delivery
    store.markQueued('no-such-delivery'),
    ...good.slice(10).map((g) => store.recordOutgoing(g)),
  ])
  t.same(
    settled.map((s) => s.status),
    [...Array(10).fill('fulfilled'), 'rejected', 'rejected', 'rejected', ...Array(10).fill('fulfilled')],
  )
  t.match((settled[10] as PromiseRejectedResult).reason, { code: 'GW_ERR_STORE_CONFLICT' })
  t.match((settled[12] as PromiseRejectedResult).reason, { code: 'GW_ERR_STORE_NOT_FOUND' })
  for (const g of good) t.ok(await store.getPackage(g.package.id), 'committed')
  t.equal((await store.stats()).deliveriesByState.accepted, 42, '21 packages x 2 recipients, nothing from the failed one')
  t.match(await store.verifyLog(), { ok: true, checked: 42 })
})

eachStore(t, 'listDeliveries: overdue (queued long ago, no 01), failed, by recipient, pages', async (t, { store }) => {
  const t0 = Date.parse('2026-11-23T02:00:00Z')
  const old = await store.recordOutgoing(outgoing({ recipients: ['A', 'B', 'C'], at: new Date(t0) }))
  await store.markQueuedMany(old.deliveries.map((d) => d.id), new Date(t0 + 1000))
  await store.transition(old.deliveries[1]!.id, 'delivered', { cause: 'status 01', actor: 'peer:B', statusCode: '01', at: new Date(t0 + 5000) })
  const fresh = await store.recordOutgoing(outgoing({ recipients: ['A'], at: new Date(t0 + 86_400_000) }))
  await store.markQueued(fresh.deliveries[0]!.id, new Date(t0 + 86_401_000))
  const failed = await store.recordOutgoing(outgoing({ recipients: ['Z'] }))
  await store.markFailed(failed.deliveries[0]!.id, 'unroutable', 'system')

  const overdue = await store.listDeliveries({ state: 'queued', queuedBefore: new Date(t0 + 3_600_000), limit: 10 })
  t.same(overdue.items.map((d) => d.recipient), ['C', 'A'], 'queued an hour before the cutoff and never answered')
  t.match(overdue.items[0], { packageId: old.package.id, documentId: old.package.documentId, senderOrganId: '000.00.01.H26', subject: old.package.subject, kind: 'edoc' })
  t.same((await store.listDeliveries({ state: ['failed', 'accepted'], limit: 10 })).items.map((d) => [d.recipient, d.reason]), [['Z', 'unroutable']])
  t.same((await store.listDeliveries({ recipient: 'A', limit: 10 })).items.map((d) => d.packageId), [fresh.package.id, old.package.id])
  const p1 = await store.listDeliveries({ limit: 3 })
  const p2 = await store.listDeliveries({ limit: 3, cursor: p1.next! })
  t.same([...p1.items, ...p2.items].map((d) => d.recipient), ['Z', 'A', 'C', 'B', 'A'])
  t.equal(p2.next, undefined)
})

eachStore(t, 'outbox: a large package comes without its bytes in the page (read them when publishing), with and without a lease', async (t, { store }) => {
  // over the page's bound, and over 4 MiB (PostgreSQL reads it in slices, SQLite stores it in parts)
  const big = randomBytes(4 * 1024 * 1024 + 12345)
  const small = randomBytes(PENDING_INLINE_BYTES - 1)
  const b = await store.recordOutgoing(outgoing({ package: { bytes: big, sha256: sha256(big) }, recipients: ['000.00.02.H26'] }))
  const s = await store.recordOutgoing(outgoing({ package: { bytes: small, sha256: sha256(small) }, recipients: ['000.00.02.H26'] }))
  for (const lease of [undefined, { owner: 'relay-1', ms: 30_000 }]) {
    const page = await store.pendingDeliveries({ limit: 10, ...(lease ? { lease } : {}) })
    const of = (id: string) => page.find((p) => p.packageId === id)!
    t.match(of(b.package.id), { size: big.length, bytes: undefined }, `${lease ? 'leased' : 'plain'}: the large package has its size, not its bytes`)
    t.equal(of(s.package.id).size, small.length)
    t.ok(Buffer.from(of(s.package.id).bytes!).equals(small), `${lease ? 'leased' : 'plain'}: the one just under the bound has its bytes`)
  }
  t.ok(Buffer.from((await store.getPackageBytes(b.package.id))!.bytes).equals(big), 'the large one reads whole with getPackageBytes')
  // received: the same size, read back whole (PostgreSQL reads a large bytea a slice at a time)
  const input = incomingInput({ bytes: big, sha256: sha256(big) })
  const r = await store.recordIncoming(input)
  const back = (await store.getIncomingBytes(r.incoming.id))!
  t.ok(Buffer.from(back.bytes).equals(big), 'a large received package reads whole with getIncomingBytes')
  t.ok(Buffer.from(back.signature!).equals(Buffer.from(input.package.signature!)), 'with its signature')
})
