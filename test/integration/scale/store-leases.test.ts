/**
 * The store's part of several processes, in both dialects: leases on pending deliveries (migration 012) and the
 * history guard that `recordIncoming` checks inside its write transaction.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { eachStore, incomingInput, outgoing, sha256 } from '../store/helpers.js'
import type { StoredIncoming } from '../../../src/store/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

eachStore(t, 'a lease keeps pending deliveries from other relays until it expires', async (t, { store }) => {
  const rec = await store.recordOutgoing(outgoing({ recipients: ['000.00.02.H26', '000.00.03.H26', '000.00.04.H26'] }))
  const ids = rec.deliveries.map((d) => d.id).sort()
  const take = async (owner: string, ms = 400) => (await store.pendingDeliveries({ limit: 10, lease: { owner, ms } })).map((d) => d.deliveryId).sort()
  t.same(await take('relay-a'), ids, 'the first relay takes every pending delivery')
  t.same(await take('relay-b'), [], 'another relay gets none while the lease lasts')
  t.same(await take('relay-a'), ids, 'the holder reads its rows again (and renews the lease)')
  t.equal((await store.pendingDeliveries({ limit: 10 })).length, 3, 'without a lease every pending row is read, as before')
  await store.markQueued(ids[0]!)
  await sleep(500)
  t.same(await take('relay-b'), ids.slice(1), 'once the lease expired another relay takes what is still pending')
  t.same(await take('relay-a'), [], 'and the first relay has lost them')
  // the cursor form leases too
  const more = await store.recordOutgoing(outgoing({ recipients: ['000.00.05.H26', '000.00.06.H26'] }))
  const [firstOfMore] = (await store.pendingDeliveries({ limit: 10 })).filter((d) => d.packageId === more.package.id)
  const after = await store.pendingDeliveries({ limit: 10, afterId: firstOfMore!.deliveryId, lease: { owner: 'relay-c', ms: 10_000 } })
  t.same(after.map((d) => d.packageId), [more.package.id], 'afterId: the rows after the cursor that nobody holds')
})

eachStore(t, 'recordIncoming guard: checked in the write transaction, a refusal stores nothing', async (t, { store }) => {
  const documentId = `G22,${randomBytes(4).toString('hex')}`
  const seen: number[] = []
  const guard = (refuse: boolean) => ({
    sender: '000.00.00.g22', // any case: the identity is canonical
    documentId,
    check(stored: readonly StoredIncoming[]) {
      seen.push(stored.length)
      if (refuse && stored.some((s) => s.state !== 'rejected')) throw Object.assign(new Error('REPLAY'), { code: 'TEST_REPLAY' })
    },
  })
  const one = incomingInput({ documentId })
  const bytes = randomBytes(100)
  const two = incomingInput({ documentId, bytes, sha256: sha256(bytes) })
  // both in one batch: the second sees the first (same transaction, its savepoint)
  const [r1, r2] = await Promise.allSettled([store.recordIncoming({ ...one, guard: guard(true) }), store.recordIncoming({ ...two, guard: guard(true) })])
  t.equal(r1.status, 'fulfilled', 'the first is stored')
  t.equal(r2.status, 'rejected', 'the second is refused by its guard')
  t.equal((r2 as PromiseRejectedResult).reason?.message, 'REPLAY', 'with the error the guard threw')
  t.same(seen, [0, 1], 'each guard saw what was stored before it')
  t.equal((await store.findIncomingByDocument('000.00.00.G22', documentId)).length, 1, 'nothing of the refused one was stored')
  const rejected = await store.recordIncoming({ ...incomingInput({ documentId }, 'rejected'), guard: guard(true) })
  t.equal(rejected.incoming.state, 'rejected', 'a refused record is stored without asking the guard')
  t.same(seen, [0, 1], '(the guard was not called)')
})
