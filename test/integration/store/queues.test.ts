// Operational queues kept apart from the audit log (migration 005): the webhook outbox and discarded dead letters.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { Store } from '../../../src/store/index.js'
import { eachStore, outgoing } from './helpers.js'

async function failedDelivery(store: Store): Promise<string> {
  const r = await store.recordOutgoing(outgoing({ recipients: ['000.00.00.G22'] }))
  const id = r.deliveries[0]!.id
  await store.markFailed(id, 'unroutable', 'system')
  return id
}

eachStore(t, 'discardDelivery: a failed delivery is marked discarded with its event; lists filter on the mark; a re-send clears it', async (t, { store }) => {
  const a = await failedDelivery(store)
  const b = await failedDelivery(store)
  const ev = await store.discardDelivery(a, { actor: 'operator:an', detail: { note: 'duplicate' } })
  t.match(ev, { type: 'discarded', deliveryId: a, state: 'failed', actor: 'operator:an', cause: 'discarded by operator', detail: { note: 'duplicate' } })
  const da = await store.getDelivery(a)
  t.equal(da?.state, 'failed', 'the state stays failed')
  t.equal(da?.discardedAt, ev.time)
  t.equal((await store.getDelivery(b))?.discardedAt, undefined)
  const ids = async (discarded?: boolean) => (await store.listDeliveries({ state: 'failed', limit: 10, ...(discarded === undefined ? {} : { discarded }) })).items.map((d) => d.id)
  t.same(await ids(true), [a], 'discarded dead letters')
  t.same(await ids(false), [b], 'open dead letters')
  t.same(await ids(), [b, a], 'both without the filter')
  await t.rejects(store.discardDelivery(a, { actor: 'operator:an' }), { code: 'GW_ERR_STORE_CONFLICT' }, 'not twice')
  await t.rejects(store.discardDelivery(randomUUID(), { actor: 'operator:an' }), { code: 'GW_ERR_STORE_NOT_FOUND' })
  const live = (await store.recordOutgoing(outgoing())).deliveries[0]!.id
  await t.rejects(store.discardDelivery(live, { actor: 'operator:an' }), { code: 'GW_ERR_STORE_CONFLICT' }, 'only failed deliveries')
  // re-sent by an operator: no longer discarded; failing again makes it an open dead letter
  await store.transition(a, 'accepted', { actor: 'operator:an', type: 'replayed', cause: 'replayed' })
  t.equal((await store.getDelivery(a))?.discardedAt, undefined)
  await store.markFailed(a, 'unroutable again', 'system')
  t.same(await ids(true), [])
  t.same((await store.timeline(a)).map((e) => e.type), ['state', 'state', 'discarded', 'replayed', 'state'])
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'webhook outbox: pending rows, attempts, the end with its log event', async (t, { store }) => {
  const row = (n: number) => ({
    id: randomUUID(),
    clientId: 'dms',
    organId: '000.00.01.H26',
    event: 'document.received',
    url: 'https://dms.invalid/hook',
    data: { inboxId: `i${n}`, subject: 'Báo cáo' },
    occurredAt: new Date(Date.UTC(2026, 10, 20, 0, 0, n)).toISOString(),
  })
  const rows = Array.from({ length: 5 }, (_, n) => row(n))
  await store.queueWebhooks(rows.slice(0, 3))
  await store.queueWebhooks(rows.slice(3))
  await store.queueWebhooks([])
  const all = await store.pendingWebhooks({ limit: 10 })
  t.same(all.map((w) => w.id), rows.map((r) => r.id), 'oldest first')
  t.match(all[0], { state: 'pending', attempts: 0, clientId: 'dms', organId: '000.00.01.H26', event: 'document.received', data: { inboxId: 'i0', subject: 'Báo cáo' } })
  const p1 = await store.pendingWebhooks({ limit: 2 })
  const p2 = await store.pendingWebhooks({ limit: 2, afterSeq: p1[1]!.seq })
  t.same([...p1, ...p2].map((w) => w.id), rows.slice(0, 4).map((r) => r.id), 'pages')

  const next = new Date(Date.now() + 60_000)
  await store.recordWebhookAttempt(rows[0]!.id, { attempts: 1, status: 503, nextAttemptAt: next })
  t.match((await store.pendingWebhooks({ limit: 1 }))[0], { id: rows[0]!.id, state: 'pending', attempts: 1, lastStatus: 503, nextAttemptAt: next.toISOString() })
  const before = (await store.stats()).events
  await store.recordWebhookAttempt(rows[0]!.id, {
    attempts: 2,
    status: 200,
    state: 'delivered',
    event: { direction: 'in', type: 'webhook-delivered', recipient: '000.00.01.H26', actor: 'system', detail: { webhookId: rows[0]!.id, attempts: 2, status: 200 } },
  })
  await store.recordWebhookAttempt(rows[1]!.id, {
    attempts: 7,
    error: 'ECONNREFUSED',
    state: 'failed',
    event: { direction: 'in', type: 'webhook-abandoned', recipient: '000.00.01.H26', actor: 'system', detail: { webhookId: rows[1]!.id } },
  })
  t.same((await store.pendingWebhooks({ limit: 10 })).map((w) => w.id), rows.slice(2).map((r) => r.id), 'ended rows are not pending')
  t.equal((await store.stats()).events, before + 2, 'one log event per end')
  t.match((await store.listEvents({ type: 'webhook-delivered', limit: 5 })).items, [{ detail: { webhookId: rows[0]!.id, status: 200 } }])
  // a late attempt on an ended row changes nothing and logs nothing
  await store.recordWebhookAttempt(rows[0]!.id, { attempts: 3, status: 500, nextAttemptAt: new Date() })
  t.equal((await store.stats()).events, before + 2)
  t.same((await store.pendingWebhooks({ limit: 10 })).length, 3)
  await t.rejects(store.recordWebhookAttempt(randomUUID(), { attempts: 1 }), { code: 'GW_ERR_STORE_NOT_FOUND' })
  await t.rejects(store.queueWebhooks([rows[2]!]), { code: 'GW_ERR_STORE_CONFLICT' }, 'an id is queued once')
})

eachStore(t, 'migration 005 moves the queues out of the log: webhook rows from their events, discards as a state', async (t, s) => {
  let store = s.store
  // what a gateway before 005 wrote: webhook events in the log, and a discard as an event on a failed delivery
  const hook = (id: string, type: string, detail: Record<string, unknown>, at?: Date) =>
    store.appendEvent({ direction: 'in', type, recipient: '000.00.01.H26', actor: 'system', cause: 'document.received', detail: { webhookId: id, clientId: 'dms', event: 'document.received', ...detail }, ...(at ? { at } : {}) })
  const [pending, delivered, abandoned, old] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
  const queued = (id: string, at?: Date) => hook(id, 'webhook-queued', { url: 'https://dms.invalid/hook', occurredAt: '2026-11-20T00:00:00.000Z', data: { inboxId: id, n: 1 } }, at)
  await queued(pending)
  await queued(delivered)
  await queued(abandoned)
  await queued(old, new Date(Date.now() - 4 * 24 * 3600_000))
  await hook(delivered, 'webhook-delivered', { attempts: 2, status: 204 })
  await hook(abandoned, 'webhook-abandoned', { attempts: 9, error: 'ECONNREFUSED' })
  const discarded = await failedDelivery(store)
  const resent = await failedDelivery(store)
  const open = await failedDelivery(store)
  const discard = (id: string) => store.appendEvent({ direction: 'out', type: 'discarded', deliveryId: id, actor: 'operator:an', state: 'failed', cause: 'discarded by operator' })
  const d1 = await discard(discarded)
  await discard(resent)
  await store.transition(resent, 'accepted', { actor: 'operator:an', cause: 'replayed' })
  await store.markFailed(resent, 'again', 'system')
  // back to schema 4 (008, independent of 005 and 006, stays applied: only missing versions are applied again)
  await s.rawSql(`DROP TABLE webhook_deliveries; ALTER TABLE deliveries DROP COLUMN discarded_at; DROP INDEX incoming_sender_document; DELETE FROM schema_version WHERE version IN (5, 6);`)
  store = await s.reopen()

  const rows = await store.pendingWebhooks({ limit: 10 })
  t.same(rows.map((w) => w.id), [pending], 'only the notification without an end (and not too old) is pending')
  t.match(rows[0], { clientId: 'dms', organId: '000.00.01.H26', event: 'document.received', url: 'https://dms.invalid/hook', occurredAt: '2026-11-20T00:00:00.000Z', data: { inboxId: pending, n: 1 }, attempts: 0 })
  t.same((await store.listDeliveries({ state: 'failed', discarded: true, limit: 10 })).items.map((d) => d.id), [discarded])
  t.equal((await store.getDelivery(discarded))?.discardedAt, d1.time)
  t.same((await store.listDeliveries({ state: 'failed', discarded: false, limit: 10 })).items.map((d) => d.id).sort(), [resent, open].sort(), 'a delivery re-sent after its discard is open again')
  // the ended ones are rows in their final state: a late attempt changes nothing
  const events = (await store.stats()).events
  for (const id of [delivered, abandoned, old]) await store.recordWebhookAttempt(id, { attempts: 99, state: 'delivered', event: { direction: 'in', type: 'note', actor: 'system' } })
  t.equal((await store.stats()).events, events, 'delivered, abandoned and too-old rows are ended')
  t.ok((await store.verifyLog()).ok)
})
