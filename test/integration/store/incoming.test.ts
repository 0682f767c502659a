// The receive path's store operations: inbox rows with verdicts, dedupe of redeliveries, states, pages.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { RecordIncomingInput } from '../../../src/store/types.js'
import { eachStore, incomingInput, outgoing, sha256 } from './helpers.js'

const incoming = incomingInput

eachStore(t, 'recordIncoming stores bytes, verdict and an event; a redelivery is a duplicate', async (t, { store }) => {
  const input = incoming()
  const r = await store.recordIncoming(input)
  t.equal(r.duplicate, false)
  t.match(r.incoming, { id: input.package.id, state: 'arrived', kind: 'edoc', verdict: { ok: true, code: 'VALID' }, size: 2048, subject: 'Thông báo kết luận' })
  t.same(await store.getIncoming(input.package.id), r.incoming)
  const b = await store.getIncomingBytes(input.package.id)
  t.ok(Buffer.from(b!.bytes).equals(Buffer.from(input.package.bytes)), 'exact bytes')
  t.ok(Buffer.from(b!.signature!).equals(Buffer.from(input.package.signature!)), 'exact signature')

  // the broker redelivers: new message, new id, same package
  const again = await store.recordIncoming({ ...input, package: { ...input.package, id: randomUUID(), messageId: randomUUID() } })
  t.equal(again.duplicate, true)
  t.equal(again.incoming.id, input.package.id, 'the stored one')
  // the same package addressed to a second hosted agency is its own inbox row
  const other = await store.recordIncoming({ ...input, package: { ...input.package, id: randomUUID(), recipient: '000.00.02.H26' } })
  t.equal(other.duplicate, false)
  // the same DocumentId with other bytes is not a duplicate: the pipeline sees it with findIncomingByDocument
  const replay = incoming({ documentId: input.package.documentId! }, 'rejected')
  t.equal((await store.recordIncoming(replay)).duplicate, false)
  const byDoc = await store.findIncomingByDocument('000.00.00.G22', input.package.documentId!)
  t.same(byDoc.map((x) => [x.id, x.state]), [
    [input.package.id, 'arrived'],
    [other.incoming.id, 'arrived'],
    [replay.package.id, 'rejected'],
  ])
  t.match(byDoc[2], { reason: 'GW_ERR_SIGNATURE_INVALID: DIGEST_MISMATCH', verdict: { ok: false, code: 'DIGEST_MISMATCH' } })

  const ev = (await store.listEvents({ limit: 10, direction: 'in' })).items
  t.equal(ev.length, 3, 'one event per stored package, none for the duplicate')
  t.match(ev[0], { type: 'state', state: 'rejected', cause: 'GW_ERR_SIGNATURE_INVALID: DIGEST_MISMATCH', detail: { verdict: 'DIGEST_MISMATCH' } })
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'unparseable packages (no sender or DocumentId) are stored as rejected, each copy its own row', async (t, { store }) => {
  const bytes = Buffer.from('\u0000garbage<edXML')
  const input: RecordIncomingInput = {
    package: { id: randomUUID(), kind: 'unknown', bytes, sha256: sha256(bytes), verdict: { ok: false, code: 'MALFORMED' } },
    state: 'rejected',
    reason: 'GW_ERR_ENVELOPE_NOT_XML',
    actor: 'system',
  }
  const r = await store.recordIncoming(input)
  t.match(r, { duplicate: false, incoming: { state: 'rejected', kind: 'unknown' } })
  t.notOk(r.incoming.senderOrganId)
  // a refused copy is never a duplicate (of a refused copy either): each is its own dead letter, with its verdict
  const again = await store.recordIncoming({ ...input, package: { ...input.package, id: randomUUID() } })
  t.equal(again.duplicate, false)
  t.not(again.incoming.id, r.incoming.id)
  t.same(await store.getIncomingBytes(input.package.id), { bytes }, 'no signature')
})

eachStore(t, 'a refused copy never shadows the accepted one: dedupe over accepted copies only, OrganIds compared canonically', async (t, { store }) => {
  // 1. a copy of the bytes with a garbage signature is stored first
  const genuine = incoming()
  const junk = { ...incoming({ ...genuine.package, id: randomUUID(), messageId: randomUUID() }, 'rejected') }
  const j = await store.recordIncoming(junk)
  t.match(j, { duplicate: false, incoming: { id: junk.package.id, state: 'rejected' } })
  // 2. the genuine copy: its own row, received, not a duplicate of the refused one
  const g = await store.recordIncoming(genuine)
  t.match(g, { duplicate: false, incoming: { id: genuine.package.id, state: 'arrived' } })
  // 3. another junk copy after it: its own rejected row, the received one untouched
  const junk2 = incoming({ ...genuine.package, id: randomUUID(), messageId: randomUUID() }, 'rejected')
  const j2 = await store.recordIncoming(junk2)
  t.match(j2, { duplicate: false, incoming: { id: junk2.package.id, state: 'rejected' } })
  t.equal((await store.getIncoming(genuine.package.id))?.state, 'arrived')
  // 4. a redelivery of the genuine copy, sender and recipient in another case: the stored accepted one
  const lower = { ...genuine, package: { ...genuine.package, id: randomUUID(), senderOrganId: genuine.package.senderOrganId!.toLowerCase(), recipient: genuine.package.recipient!.toLowerCase() } }
  const dup = await store.recordIncoming(lower)
  t.match(dup, { duplicate: true, incoming: { id: genuine.package.id } })
  // 5. the history read finds every copy by any spelling of the sender
  const byDoc = await store.findIncomingByDocument('000.00.00.g22', genuine.package.documentId!)
  t.same(byDoc.map((x) => [x.id, x.state]), [
    [junk.package.id, 'rejected'],
    [genuine.package.id, 'arrived'],
    [junk2.package.id, 'rejected'],
  ])
  const listed = await store.listIncoming({ senderOrganId: '000.00.00.g22', limit: 10 })
  t.equal(listed.items.length, 3, 'the sender filter compares canonically')
  // 6. a discarded refused copy does not count either; an operator replay of a refused copy that an accepted copy
  //    already covers is refused by the store (the pipeline answers 409 before)
  await store.transitionIncoming(junk.package.id, 'discarded', { actor: 'operator:ops', cause: 'test' })
  await t.rejects(store.transitionIncoming(junk2.package.id, 'arrived', { actor: 'operator:ops', cause: 'test' }))
  t.equal((await store.getIncoming(junk2.package.id))?.state, 'rejected')
})

eachStore(t, 'incoming state machine: fetched, DMS statuses, recall, rejected replay', async (t, { store }) => {
  const a = (await store.recordIncoming(incoming())).incoming
  const dms = { actor: 'client:dms-hanoi' }
  t.match(await store.transitionIncoming(a.id, 'fetched', { ...dms, cause: 'DMS ack' }), { changed: true, from: 'arrived' })
  t.ok((await store.getIncoming(a.id))!.fetchedAt)
  t.match(await store.transitionIncoming(a.id, 'processing', { ...dms, cause: 'status 05', statusCode: '05' }), { changed: true })
  t.match(await store.transitionIncoming(a.id, 'registered', { ...dms, cause: 'status 03', statusCode: '03' }), { changed: false }, 'never backwards')
  t.match(await store.transitionIncoming(a.id, 'recall-requested', { actor: 'peer:000.00.00.G22', cause: 'status 13', statusCode: '13' }), { changed: true })
  t.match(await store.transitionIncoming(a.id, 'recalled', { ...dms, cause: 'status 15', statusCode: '15' }), { changed: true })
  t.match(await store.transitionIncoming(a.id, 'completed', { ...dms, cause: 'status 06', statusCode: '06' }), { changed: false })
  t.match(await store.getIncoming(a.id), { state: 'recalled', statusCode: '15' })

  const rej = (await store.recordIncoming(incoming({}, 'rejected'))).incoming
  t.match(await store.transitionIncoming(rej.id, 'fetched', { ...dms, cause: 'x' }), { changed: false }, 'a rejected package is never handed over')
  t.match(await store.transitionIncoming(rej.id, 'arrived', { actor: 'operator:an', cause: 'operator replay: trust anchor added', type: 'replayed' }), { changed: true })
  const rej2 = (await store.recordIncoming(incoming({}, 'rejected'))).incoming
  t.match(await store.transitionIncoming(rej2.id, 'discarded', { actor: 'operator:an', cause: 'operator discard', type: 'discarded' }), { changed: true })
  t.match(await store.transitionIncoming(rej2.id, 'arrived', { actor: 'operator:an', cause: 'x' }), { changed: false })
  await t.rejects(store.transitionIncoming('nope', 'fetched', { ...dms, cause: 'x' }), { code: 'GW_ERR_STORE_NOT_FOUND' })

  const events = (await store.listEvents({ limit: 50, packageId: a.id })).items.reverse()
  t.same(
    events.map((e) => [e.state, e.changed]),
    [
      ['arrived', true],
      ['fetched', true],
      ['processing', true],
      ['registered', false],
      ['recall-requested', true],
      ['recalled', true],
      ['completed', false],
    ],
  )
  t.match((await store.stats()).incomingByState, { recalled: 1, arrived: 1, discarded: 1 })
})

eachStore(t, 'listIncoming: per hosted agency, filters, cursor pages', async (t, { store }) => {
  const base = Date.parse('2026-11-20T00:00:00Z')
  const ids: string[] = []
  for (let i = 0; i < 17; i++) {
    const r = await store.recordIncoming(
      incoming({ recipient: i % 2 ? 'R1' : 'R2', senderOrganId: i % 3 ? 'S1' : 'S2' }, i % 4 === 3 ? 'rejected' : 'arrived', new Date(base + i * 1000)),
    )
    ids.push(r.incoming.id)
  }
  const newest = [...ids].reverse()
  const walk = async (f: Omit<Parameters<typeof store.listIncoming>[0], 'limit' | 'cursor'>, limit: number): Promise<string[]> => {
    const out: string[] = []
    let cursor: string | undefined
    do {
      const p = await store.listIncoming({ ...f, limit, ...(cursor ? { cursor } : {}) })
      out.push(...p.items.map((x) => x.id))
      cursor = p.next
    } while (cursor)
    return out
  }
  t.same(await walk({}, 4), newest)
  t.same(await walk({ recipient: 'R1' }, 3), newest.filter((_, j) => (16 - j) % 2 === 1))
  t.same(await walk({ recipient: 'R2', state: 'arrived' }, 2), newest.filter((_, j) => (16 - j) % 2 === 0 && (16 - j) % 4 !== 3))
  t.same(await walk({ senderOrganId: 'S2' }, 5), newest.filter((_, j) => (16 - j) % 3 === 0))
  t.same(await walk({ since: new Date(base + 10_000), until: new Date(base + 12_000) }, 1), [ids[11], ids[10]])
  await t.rejects(store.listIncoming({ limit: 5, cursor: (await store.listPackages({ limit: 1 })).next ?? 'cA' }), { code: 'GW_ERR_STORE_INVALID_CURSOR' })
})

eachStore(t, 'the 01 reply and a status’s delivery change are written with the package, once', async (t, { store }) => {
  // our gateway hosts 000.00.01.H26; a document arrives from G22: store it and its 01 together
  const doc = incoming()
  const reply = outgoing({ package: { kind: 'status', documentId: doc.package.documentId!, senderOrganId: '000.00.01.H26', statusCode: '01', clientId: undefined }, recipients: ['000.00.00.G22'], actor: 'system' })
  const r1 = await store.recordIncoming({ ...doc, reply })
  t.equal(r1.duplicate, false)
  t.match(r1.reply, { replayed: false, package: { kind: 'status', statusCode: '01' }, deliveries: [{ recipient: '000.00.00.G22', state: 'accepted' }] })
  t.same((await store.pendingDeliveries({ limit: 10 })).map((d) => d.packageId), [reply.package.id], '01 waiting in the outbox')
  // redelivery, with a freshly signed 01 that must not be stored
  const again = outgoing({ package: { kind: 'status', documentId: doc.package.documentId!, statusCode: '01' }, recipients: ['000.00.00.G22'] })
  const r2 = await store.recordIncoming({ ...doc, package: { ...doc.package, id: randomUUID() }, reply: again })
  t.equal(r2.duplicate, true)
  t.equal(r2.reply, undefined)
  t.equal(await store.getPackage(again.package.id), undefined, 'no second 01')
  t.equal((await store.pendingDeliveries({ limit: 10 })).length, 1)

  // a reply that cannot be stored takes the incoming package with it (nothing half-done)
  const doc2 = incoming()
  await t.rejects(store.recordIncoming({ ...doc2, reply: { ...reply } }), { code: 'GW_ERR_STORE_CONFLICT' })
  t.equal(await store.getIncoming(doc2.package.id), undefined)

  // the sender side: our document to B, B's 03 comes back and moves the delivery, once
  const sent = await store.recordOutgoing(outgoing({ recipients: ['000.00.00.G22'] }))
  const d = sent.deliveries[0]!
  await store.markQueued(d.id)
  const status = incoming({ kind: 'status', documentId: sent.package.documentId, statusCode: '03', relatedId: sent.package.id })
  const apply = { deliveryId: d.id, toState: 'registered' as const, options: { cause: 'status 03', actor: 'peer:000.00.00.G22', statusCode: '03' as const, detail: { incomingId: status.package.id } } }
  const s1 = await store.recordIncoming({ ...status, apply })
  t.match(s1.applied, { changed: true, from: 'queued', state: 'registered' })
  const s2 = await store.recordIncoming({ ...status, package: { ...status.package, id: randomUUID() }, apply })
  t.equal(s2.duplicate, true)
  t.equal(s2.applied, undefined)
  t.same((await store.timeline(d.id)).map((e) => e.state), ['accepted', 'queued', 'registered'], 'applied once')
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'a failing reply or apply takes the whole received package with it (one transaction)', async (t, { store }) => {
  // an apply naming an unknown delivery: the package, its event and its reply are all rolled back
  const doc = incoming()
  const reply = outgoing({ package: { kind: 'status', documentId: doc.package.documentId!, senderOrganId: '000.00.01.H26', statusCode: '01', clientId: undefined }, recipients: ['000.00.00.G22'], actor: 'system' })
  const before = (await store.stats()).events
  await t.rejects(
    store.recordIncoming({ ...doc, reply, apply: { deliveryId: randomUUID(), toState: 'registered', options: { cause: 'status 03', actor: 'peer:x', statusCode: '03' } } }),
    { code: 'GW_ERR_STORE_NOT_FOUND' },
  )
  t.equal(await store.getIncoming(doc.package.id), undefined, 'no incoming row')
  t.equal(await store.getPackage(reply.package.id), undefined, 'no reply')
  t.equal((await store.pendingDeliveries({ limit: 10 })).length, 0, 'nothing in the outbox')
  t.equal((await store.stats()).events, before, 'no event')
  // the same package goes in afterwards (nothing was half-stored under its dedupe key), and the chain is whole
  const ok = await store.recordIncoming({ ...doc, reply })
  t.equal(ok.duplicate, false)
  t.ok(ok.reply)
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'recordOutgoing with incomingTransition: applied with the package, not on an idempotent repeat, refusals as transitionIncoming', async (t, { store }) => {
  const inc = (await store.recordIncoming(incoming())).incoming
  await store.transitionIncoming(inc.id, 'fetched', { actor: 'client:dms', cause: 'fetched' })
  // the DMS answers 03 (accepted): the status package and the inbox move go in together
  const status = (over: Parameters<typeof outgoing>[0] = {}) =>
    outgoing({
      package: { kind: 'status', documentId: inc.documentId!, senderOrganId: '000.00.01.H26', statusCode: '03' },
      recipients: ['000.00.00.G22'],
      actor: 'client:dms',
      idempotency: { clientId: 'dms', key: `03:${inc.id}`, requestHash: 'h03' },
      incomingTransition: { incomingId: inc.id, toState: 'registered', options: { actor: 'client:dms', cause: 'status 03 sent', statusCode: '03' } },
      ...over,
    })
  const first = status()
  const r1 = await store.recordOutgoing(first)
  t.equal(r1.replayed, false)
  t.match(r1.incomingTransition, { changed: true, from: 'fetched', state: 'registered' })
  t.equal((await store.getIncoming(inc.id))?.state, 'registered')
  const seqs = (await store.listEvents({ packageId: inc.id, limit: 10 })).items.map((e) => e.seq)

  // the same request again (idempotency key, same hash): nothing written, no second move
  const r2 = await store.recordOutgoing(status())
  t.equal(r2.replayed, true)
  t.equal(r2.incomingTransition, undefined, 'nothing applied on a repeat')
  t.equal(r2.package.id, first.package.id)
  t.same((await store.listEvents({ packageId: inc.id, limit: 10 })).items.map((e) => e.seq), seqs, 'no event for the incoming package')

  // a backwards move (accepted → fetched) is refused as transitionIncoming refuses it: recorded, state unchanged
  const viaTransition = await store.transitionIncoming(inc.id, 'fetched', { actor: 'client:dms', cause: 'backwards' })
  const back = await store.recordOutgoing(
    status({
      idempotency: { clientId: 'dms', key: `back:${inc.id}`, requestHash: 'hb' },
      incomingTransition: { incomingId: inc.id, toState: 'fetched', options: { actor: 'client:dms', cause: 'backwards' } },
    }),
  )
  t.match(viaTransition, { changed: false, from: 'registered', state: 'registered' })
  t.match(back.incomingTransition, { changed: false, from: 'registered', state: 'registered' })
  t.equal(back.replayed, false, 'the package itself is stored')
  t.ok(await store.getPackage(back.package.id))
  const last = (await store.listEvents({ packageId: inc.id, limit: 1 })).items[0]!
  t.match(last, { seq: back.incomingTransition!.seq, state: 'fetched', fromState: 'registered', changed: false, cause: 'backwards' })

  // an unknown incoming package fails the whole write, as transitionIncoming does: no package stored
  const orphan = status({ idempotency: undefined, incomingTransition: { incomingId: randomUUID(), toState: 'registered', options: { actor: 'client:dms', cause: 'x' } } })
  await t.rejects(store.recordOutgoing(orphan), { code: 'GW_ERR_STORE_NOT_FOUND' })
  t.equal(await store.getPackage(orphan.package.id), undefined)
  t.ok((await store.verifyLog()).ok)
})
