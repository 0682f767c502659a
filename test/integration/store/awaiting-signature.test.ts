// Packages stored while their signing token was unavailable (migration 013), against every store implementation:
// the relay never reads them (pendingDeliveries, with and without a lease) until their signature is stored; the
// signature is stored with a `signed` event per delivery in the hash chain; the waiting mark survives a reopen.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { eachStore, incomingInput, outgoing } from './helpers.js'

const waiting = (signer = '000.00.01.H26') => ({ signer, reason: 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: token removable: CKR_TOKEN_NOT_PRESENT' })

eachStore(t, 'a package awaiting its signature is never pending, and is once signed', async (t, s) => {
  const signed = outgoing()
  await s.store.recordOutgoing(signed)
  const input = outgoing({ awaitingSignature: waiting() })
  input.package.signature = new Uint8Array(0)
  const res = await s.store.recordOutgoing(input)
  t.equal(res.awaitingSignature, true)
  t.same(res.deliveries.map((d) => d.state), ['accepted', 'accepted'], 'its deliveries are accepted')
  const later = outgoing({ package: { priority: 5 } })
  await s.store.recordOutgoing(later)

  const pendingIds = async (lease?: boolean) =>
    (await s.store.pendingDeliveries({ limit: 100, ...(lease ? { lease: { owner: `relay-${randomBytes(3).toString('hex')}`, ms: 1 } } : {}) })).map((p) => p.packageId)
  for (const lease of [false, true]) {
    const ids = await pendingIds(lease)
    t.notOk(ids.includes(input.package.id), `never pending while it waits (lease: ${lease})`)
    t.equal(ids.filter((id) => id === signed.package.id).length, 2, 'the signed ones are')
  }
  // paging after a delivery never returns it either
  const first = (await s.store.pendingDeliveries({ limit: 1 }))[0]!
  t.notOk((await s.store.pendingDeliveries({ limit: 100, afterId: first.deliveryId })).some((p) => p.packageId === input.package.id), 'nor after a page')

  t.equal((await s.store.stats()).awaitingSignature, 1)
  t.equal(await s.store.countAwaitingSignature(), 1)
  t.equal(await s.store.countAwaitingSignature('000.00.01.h26'), 1, 'by signer, any case')
  t.equal(await s.store.countAwaitingSignature('000.00.02.H26'), 0)
  const mark = await s.store.getAwaitingSignature(input.package.id)
  t.match(mark, { packageId: input.package.id, signer: '000.00.01.H26', attempts: 0, reason: /TOKEN_UNAVAILABLE/, documentId: input.package.documentId })
  t.equal(await s.store.getAwaitingSignature(signed.package.id), undefined, 'a signed package does not wait')
  const tl = await s.store.timeline(res.deliveries[0]!.id)
  t.match(tl, [{ state: 'accepted', cause: /awaiting its signature/ }])

  await s.store.noteSignatureAttempt(input.package.id, 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: still away')
  await s.store.noteSignatureAttempt(input.package.id, 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: still away')
  // a restart keeps it waiting
  const store = await s.reopen()
  t.match(await store.getAwaitingSignature(input.package.id), { attempts: 2, lastError: /still away/ })
  const list = await store.listAwaitingSignature({ limit: 10 })
  t.same(list.map((w) => w.packageId), [input.package.id])
  t.ok(Buffer.from((await store.getPackageBytes(list[0]!.packageId))!.bytes).equals(Buffer.from(input.package.bytes)), 'the exact bytes to sign')
  t.same(await store.listAwaitingSignature({ limit: 10, signer: '000.00.01.h26' }).then((l) => l.length), 1, 'by signer, any case')
  t.same(await store.listAwaitingSignature({ limit: 10, signer: '000.00.02.H26' }), [], 'not another signer')
  t.same(await store.listAwaitingSignature({ limit: 10, afterSeq: list[0]!.seq }), [], 'after it: nothing')
  t.notOk((await store.pendingDeliveries({ limit: 100 })).some((p) => p.packageId === input.package.id), 'still not pending after the restart')

  const signature = new Uint8Array(randomBytes(700))
  const done = await store.recordSignature({ packageId: input.package.id, signature, actor: 'system', detail: { token: 'removable' } })
  t.equal(done.signed, true)
  t.equal(done.deliveries?.length, 2)
  t.equal((await store.recordSignature({ packageId: input.package.id, signature, actor: 'system' })).signed, false, 'signed once only')
  t.equal(await store.getAwaitingSignature(input.package.id), undefined)
  t.equal((await store.stats()).awaitingSignature, 0)
  t.equal(await store.countAwaitingSignature('000.00.01.H26'), 0)
  const pending = (await store.pendingDeliveries({ limit: 100 })).filter((p) => p.packageId === input.package.id)
  t.equal(pending.length, 2, 'pending once signed')
  t.ok(Buffer.from(pending[0]!.signature).equals(Buffer.from(signature)), 'with its signature')
  t.ok(Buffer.from((await store.getPackageBytes(input.package.id))!.signature).equals(Buffer.from(signature)))
  const after = await store.timeline(res.deliveries[1]!.id)
  t.match(after, [{ state: 'accepted' }, { type: 'signed', state: 'accepted', cause: 'signed after waiting for the signing token', changed: false }])
  t.match((await store.listEvents({ type: 'signed', limit: 10 })).items[0]?.detail, { failedAttempts: 2, token: 'removable' })
  t.equal((await store.verifyLog()).ok, true, 'the log verifies')
})

eachStore(t, 'an idempotent repeat of a waiting package stores nothing more; a 01 stored with its incoming package waits too', async (t, s) => {
  const idem = { clientId: 'dms-hanoi', key: 'k-1', requestHash: 'h-1' }
  const input = outgoing({ awaitingSignature: waiting(), idempotency: idem })
  input.package.signature = new Uint8Array(0)
  await s.store.recordOutgoing(input)
  const again = await s.store.recordOutgoing({ ...input, package: { ...input.package, id: 'other-id' } })
  t.equal(again.replayed, true)
  t.equal((await s.store.stats()).awaitingSignature, 1)

  // the 01 of a received package, stored with it in one transaction, waits the same way
  const reply = outgoing({ package: { kind: 'status', statusCode: '01' }, recipients: ['000.00.09.H26'], actor: 'system', awaitingSignature: waiting() })
  reply.package.signature = new Uint8Array(0)
  const rec = await s.store.recordIncoming({ ...incomingInput(), reply })
  t.equal(rec.reply?.awaitingSignature, true)
  t.equal((await s.store.stats()).awaitingSignature, 2)
  t.notOk((await s.store.pendingDeliveries({ limit: 100 })).some((p) => p.packageId === reply.package.id), 'the waiting 01 is not pending')
})
