// The webhook outbox and discarded dead letters: operational state in tables of their own, not read back from the log.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDeadLetters } from '../../src/pipeline/deadletter.js'
import { createWebhookDispatcher, documentReceivedEvent } from '../../src/pipeline/webhooks.js'
import { openSqliteStore, type Store } from '../../src/store/index.js'
import { G22, H26, rawTestConfig, silentLogger } from '../helper.js'
import { seedIncoming } from './inbox-fixtures.js'

type Tap = { testdir(f?: any): string; teardown(fn: () => unknown): void }

function setup(t: Tap) {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.agencies[0].clients[0].webhook = { url: 'https://dms.invalid/hooks', secret: 'a-webhook-secret-of-vpcp-0123456789' }
  return loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
}

/** A fetch that answers `status()` and records each body. */
function fakeFetch(status: () => number) {
  const bodies: any[] = []
  const fetch = async (_url: string, init: { body: string }) => {
    bodies.push(JSON.parse(init.body))
    return { status: status() }
  }
  return { fetch, bodies }
}

t.test('a restart resumes the pending deliveries from the outbox table; delivered ones are not sent again', async (t) => {
  const config = setup(t)
  let store: Store = await openSqliteStore(config.store.path)
  t.teardown(() => store.close())
  const a = await seedIncoming(store, config, { from: H26, to: G22 })
  const b = await seedIncoming(store, config, { from: H26, to: G22 })

  // 1. the DMS answers 503: two notifications stay pending, with their attempt recorded
  const down = fakeFetch(() => 503)
  const d1 = createWebhookDispatcher({ config, store, logger: silentLogger(), fetch: down.fetch as any, initialDelayMs: 60_000 })
  let failures = 0
  const bothFailed = new Promise<void>((r) => d1.on('failed', () => ++failures === 2 && r()))
  await d1.start()
  d1.notify(G22, documentReceivedEvent(a.incoming))
  d1.notify(G22, documentReceivedEvent(b.incoming))
  await bothFailed
  await d1.stop()
  t.ok(await d1.idle(200).then(() => true))
  const pending = await store.pendingWebhooks({ limit: 10 })
  t.equal(pending.length, 2, 'two rows pending')
  t.match(pending, [
    { state: 'pending', attempts: 1, lastStatus: 503, clientId: 'dms-vpcp', organId: G22, event: 'document.received', data: { inboxId: a.incoming.id } },
    { state: 'pending', attempts: 1, lastStatus: 503, data: { inboxId: b.incoming.id } },
  ])
  t.ok(pending.every((w) => Date.parse(w.nextAttemptAt) > Date.now() + 30_000), 'next attempt time after the backoff')
  t.equal((await store.listEvents({ type: 'webhook-queued', limit: 5 })).items.length, 0, 'the queue is not in the audit log')

  // 2. next process: start reads the pending rows (and nothing else) and delivers them, attempt numbers going on
  await store.close()
  store = await openSqliteStore(config.store.path)
  let reads = 0
  const outbox: Parameters<typeof createWebhookDispatcher>[0]['store'] = {
    queueWebhooks: (x) => store.queueWebhooks(x),
    pendingWebhooks: (o) => (reads++, store.pendingWebhooks(o)),
    recordWebhookAttempt: (id, x) => store.recordWebhookAttempt(id, x),
  }
  const up = fakeFetch(() => 200)
  const d2 = createWebhookDispatcher({ config, store: outbox, logger: silentLogger(), fetch: up.fetch as any })
  t.teardown(() => d2.stop())
  await d2.start()
  t.equal(reads, 1, 'one read of the pending rows')
  t.equal(d2.pending(), 2, 'both recovered')
  t.ok(await d2.idle(5000))
  t.same(up.bodies.map((x) => x.id).sort(), pending.map((w) => w.id).sort(), 'the same delivery ids')
  t.same(up.bodies.map((x) => x.attempt), [2, 2], 'the attempt count goes on from the table')
  t.same(await store.pendingWebhooks({ limit: 10 }), [], 'nothing pending')
  t.equal((await store.listEvents({ type: 'webhook-delivered', limit: 5 })).items.length, 2, 'the outcome is in the log')

  // 3. a third start: nothing to send
  const again = fakeFetch(() => 200)
  const d3 = createWebhookDispatcher({ config, store, logger: silentLogger(), fetch: again.fetch as any })
  t.teardown(() => d3.stop())
  await d3.start()
  t.equal(d3.pending(), 0)
  t.ok(await d3.idle(1000))
  t.equal(again.bodies.length, 0, 'delivered ones are not sent again')
})

t.test('discarded dead letters: a state of the delivery, filtered by the store, not looked up per row', async (t) => {
  const config = setup(t)
  const store = await openSqliteStore(config.store.path)
  t.teardown(() => store.close())
  const failed = async (): Promise<string> => {
    const bytes = randomBytes(512)
    const r = await store.recordOutgoing({
      package: { id: randomUUID(), kind: 'edoc', documentId: randomUUID(), senderOrganId: G22, bytes, signature: randomBytes(64), sha256: createHash('sha256').update(bytes).digest('hex'), priority: 0, metadata: {} },
      recipients: [H26],
      actor: 'client:dms-vpcp',
    })
    await store.markFailed(r.deliveries[0]!.id, 'unroutable', 'system')
    return r.deliveries[0]!.id
  }
  const [x, y, z] = [await failed(), await failed(), await failed()]
  const dl = createDeadLetters({ config, store, relay: { wake() {} }, logger: silentLogger() })
  const timelineReads = { n: 0 }
  const timeline = store.timeline.bind(store)
  store.timeline = (id) => (timelineReads.n++, timeline(id))
  const r = await dl.discard(y, 'an', 'sent twice by the DMS')
  t.match(r, { id: y, kind: 'outgoing', state: 'failed' })
  await t.rejects(dl.discard(y, 'an'), { code: 'GW_ERR_API_CONFLICT' }, 'not twice')
  t.match(await store.getDelivery(y), { state: 'failed', reason: 'unroutable' })
  t.ok((await store.getDelivery(y))?.discardedAt)
  const listed = (await dl.list({ kind: 'outgoing', limit: 10 })).items.map((d) => d.id)
  t.same(listed, [z, x], 'the discarded one left the list')
  t.same((await dl.list({ kind: 'outgoing', limit: 1 })).items.map((d) => d.id), [z], 'pages are unaffected')
  t.same((await store.listDeliveries({ state: 'failed', discarded: true, limit: 10 })).items.map((d) => d.id), [y], 'discarded dead letters by state')
  t.equal(timelineReads.n, 0, 'no timeline read to tell discarded rows apart')
  t.match((await store.timeline(y)).at(-1), { type: 'discarded', actor: 'operator:an', detail: { note: 'sent twice by the DMS', previousReason: 'unroutable' } })
  // a replay puts it back into the outbox and clears the mark
  await dl.replay(y, 'an')
  t.match(await store.getDelivery(y), { state: 'accepted', discardedAt: undefined })
})
