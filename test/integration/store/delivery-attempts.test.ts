// delivery_attempts (migration 009): the count of an inbox message's deliveries that came to no end, kept across
// restarts for the consumer (src/transport/consumer.ts). Against every store implementation (helpers.ts: eachStore).
import t from 'tap'
import { eachStore } from './helpers.js'

eachStore(t, 'delivery attempts: begin stores the count before the work, end clears it, a retry stores it back', async (t, { store }) => {
  const key = 'a'.repeat(64)
  t.equal(await store.beginDelivery(key, 1), 0, 'nothing stored: the redelivery alone said 1')
  t.equal(await store.beginDelivery(key, 1), 2, 'the delivery that died after begin is counted: 2 stored')
  t.equal(await store.beginDelivery(key, 5), 3, 'the caller may know more (x-delivery-count): max(stored, atLeast) + 1 is stored')
  await store.endDelivery(key, 2)
  t.equal(await store.beginDelivery(key, 1), 2, 'a retry the handler asked for stored its count back without itself')
  await store.endDelivery(key)
  t.equal(await store.beginDelivery(key, 1), 0, 'answered: the row is gone')
  await store.endDelivery(key)
  const other = 'b'.repeat(64)
  t.equal(await store.beginDelivery(other, 1, new Date(Date.now() - 40 * 86_400_000)), 0)
  await store.beginDelivery(key, 1)
  t.equal(await store.beginDelivery(other, 1), 0, 'a row not updated for 30 days is pruned by the next write')
})
