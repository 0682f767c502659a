/**
 * GET /v1/operator/health (src/api/routes/health.ts): operator only; store, broker, queue depths (from the process's
 * queue inspector, or through the broker connection on the real broker), certificate expiry of the hosted agencies.
 */
import t from 'tap'
import { auth, buildTestApp, G22, H29, KEYS, startTestGateway, STC } from '../helper.js'

t.test('GET /v1/operator/health: operator keys; store counters, certificate expiry; degraded without the broker', async (t) => {
  const now = new Date('2026-11-26T00:00:00Z')
  const { app } = await buildTestApp(t, { brokerState: 'reconnecting', deps: { clock: () => now } })
  t.equal((await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.g22) })).statusCode, 403, 'DMS key refused')
  const r = await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json()
  t.match(body, { status: 'degraded', time: now.toISOString(), store: { ok: true, outboxBacklog: 0, events: 0 }, broker: { ok: false, state: 'reconnecting', url: 'amqp://test' } })
  t.same(body.queues.map((q: any) => q.organId), [G22, H29, STC])
  for (const q of body.queues) {
    t.match(q.error, /reconnecting/, 'no queue depth while the broker is down')
    t.notOk('inboxMessages' in q)
  }
  t.same(body.certificates.map((c: any) => c.organId), [G22, H29, STC])
  for (const c of body.certificates) {
    t.match(c.subject, new RegExp(`UID=${c.organId.replace(/\./g, '\\.')}`))
    t.equal(c.daysLeft, Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000))
    t.ok(c.daysLeft > 0, `${c.organId} certificate valid`)
  }
})

t.test('GET /v1/operator/health: depths from the queue inspector the process passes in; a failing queue is named', async (t) => {
  const { app } = await buildTestApp(t, {
    deps: {
      ops: {
        queueInspector: {
          async messageCount(queue: string) {
            if (queue.endsWith(STC) && queue.includes('.dlq.')) throw new RangeError('NOT_FOUND - no queue')
            return queue.includes('.dlq.') ? 2 : 5
          },
        },
      },
    },
  })
  const body = (await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.match(body.queues, [
    { organId: G22, inboxMessages: 5, deadLetterMessages: 2 },
    { organId: H29, inboxMessages: 5, deadLetterMessages: 2 },
    { organId: STC, inboxMessages: 5, error: /NOT_FOUND/ },
  ])
  t.notOk('deadLetterMessages' in body.queues[2])
  t.equal(body.queues[0].error, undefined)
})

t.test('GET /v1/operator/health on the real broker: queue depth of every hosted agency', async (t) => {
  const gw = await startTestGateway(t)
  const r = await gw.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json()
  t.match(body, { status: 'ok', broker: { ok: true, state: 'connected' }, store: { ok: true } })
  for (const q of body.queues) {
    t.equal(q.error, undefined, `${q.organId}: ${q.error}`)
    t.ok(Number.isInteger(q.inboxMessages) && q.inboxMessages >= 0, `${q.organId} inbox depth ${q.inboxMessages}`)
    t.ok(Number.isInteger(q.deadLetterMessages) && q.deadLetterMessages >= 0, `${q.organId} dead-letter depth ${q.deadLetterMessages}`)
    t.equal(q.inbox, gw.config.amqp.queuePrefix + q.organId)
  }
  // an app given only the broker connection (no inspector) reads the depths through it
  const names = { exchange: gw.config.amqp.exchange, deadLetterExchange: gw.config.amqp.deadLetterExchange, queuePrefix: gw.config.amqp.queuePrefix, deadLetterQueuePrefix: gw.config.amqp.deadLetterQueuePrefix }
  const { app } = await buildTestApp(t, { config: { amqp: names }, deps: { broker: gw.connection } })
  const own = (await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.same(
    own.queues.map((q: any) => [q.organId, typeof q.inboxMessages, typeof q.deadLetterMessages, q.error]),
    [G22, H29, STC].map((id) => [id, 'number', 'number', undefined]),
    'depths read through the connection',
  )
  // queues that do not exist on the broker: reported per agency, the rest of the answer intact
  const other = await buildTestApp(t, { deps: { broker: gw.connection } })
  const missing = (await other.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.equal(missing.status, 'ok')
  for (const q of missing.queues) t.match(q.error, /NOT_FOUND|404/, `${q.organId}: missing queue reported`)
})
