// A delivery's `attempts` counts its publishes: every broker confirm and every final refusal, in the same
// transaction as the move, also when the state does not change (a publish confirmed again after a restart) and
// after an operator's replay. Against every store implementation (helpers.ts: eachStore).
import t from 'tap'
import { eachStore, outgoing } from './helpers.js'

eachStore(t, 'attempts: each confirm and each refusal is one publish; the event says which one it was', async (t, { store }) => {
  const res = await store.recordOutgoing(outgoing({ recipients: ['000.00.02.H26', '000.00.03.H26'] }))
  const [a, b] = res.deliveries
  t.equal(a!.attempts, 0, 'not published yet')

  // 1. the broker confirms a's first publish
  t.equal(await store.markQueued(a!.id), true)
  t.equal((await store.getDelivery(a!.id))!.attempts, 1)
  // 2. after a restart the relay published it again (at-least-once) and the broker confirmed again: counted, no move
  t.equal(await store.markQueuedMany([a!.id]), 0, 'no state change')
  t.equal((await store.getDelivery(a!.id))!.attempts, 2, 'the second publish is counted')
  const tlA = await store.timeline(a!.id)
  t.same(tlA.map((e) => [e.state, e.changed, e.detail.attempt]), [
    ['accepted', true, undefined],
    ['queued', true, 1],
    ['queued', false, 2],
  ])

  // 3. b: the broker was unavailable once (counted by the relay), then refused it for good
  await store.countAttempt(b!.id)
  t.equal(await store.markFailed(b!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient 000.00.03.H26', 'system'), true)
  t.equal((await store.getDelivery(b!.id))!.attempts, 2)
  // 4. the operator replays it: back to the outbox (not a publish), then the broker confirms: the third publish
  t.match(await store.transition(b!.id, 'accepted', { actor: 'operator:lan', type: 'replayed', cause: 'replayed by operator: back to the outbox' }), { changed: true })
  t.equal((await store.getDelivery(b!.id))!.attempts, 2, 'a replay itself publishes nothing')
  t.equal((await store.pendingDeliveries({ limit: 10 })).find((d) => d.deliveryId === b!.id)?.attempts, 2, 'the relay sees the count')
  await store.markQueued(b!.id)
  t.equal((await store.getDelivery(b!.id))!.attempts, 3)
  const last = (await store.timeline(b!.id)).at(-1)!
  t.match(last, { state: 'queued', cause: 'broker confirmed', detail: { attempt: 3 } })

  // a status move from the peer is not a publish
  await store.transition(a!.id, 'delivered', { cause: 'status 01 from peer', actor: 'peer:000.00.02.H26', statusCode: '01' })
  t.equal((await store.getDelivery(a!.id))!.attempts, 2)
  t.match(await store.verifyLog(), { ok: true }, 'the log chain still verifies')
})
