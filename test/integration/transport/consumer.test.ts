// Consuming inbox queues against the real RabbitMQ: manual ack, bounded prefetch, reject → dead-letter queue,
// retry → redelivery, resubscription after reconnect, stop() waiting for handlers.
import t from 'tap'
import {
  createAmqpConnection,
  createConsumer,
  createPublisher,
  declareTopology,
  type AmqpConnection,
  type InboundMessage,
  type Publisher,
  type Topology,
} from '../../../src/transport/index.js'
import { adminChannel, AMQP_URL, type TapLike, closeConnectionByName, deleteAll, randomName, randomOrganId, sampleMessage, sleep, waitFor } from './helpers.js'

interface Rig {
  conn: AmqpConnection
  topology: Topology
  publisher: Publisher
  queue: string
  dlq: string
  organ: string
  connectionName: string
}

/** One connection, a topology with one hosted agency and a publisher; all removed at teardown. */
async function rig(t: TapLike, opts: { initialDelayMs?: number } = {}): Promise<Rig> {
  const prefix = randomName()
  const organ = randomOrganId()
  const connectionName = `${prefix}-conn`
  const conn = createAmqpConnection({ url: AMQP_URL, connectionName, initialDelayMs: opts.initialDelayMs ?? 200 })
  const topology = declareTopology(conn, {
    hostedOrganIds: [organ],
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
  })
  const publisher = createPublisher(conn, { exchange: topology.exchange })
  const inbox = topology.inboxes[0]
  if (inbox === undefined) throw new TypeError('no inbox')
  t.teardown(async () => {
    await publisher.close({ timeoutMs: 500 })
    await conn.close()
    await deleteAll({ queues: [inbox.queue, inbox.deadLetterQueue], exchanges: [topology.exchange, topology.deadLetterExchange] })
  })
  await publisher.whenReady({ timeoutMs: 10_000 })
  return { conn, topology, publisher, queue: inbox.queue, dlq: inbox.deadLetterQueue, organ, connectionName }
}

t.test('manual ack: the handler gets the exact bytes and headers; ack removes the message', async (t) => {
  const r = await rig(t)
  const got: InboundMessage[] = []
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    handler: (m) => {
      got.push(m)
      return 'ack'
    },
  })
  await consumer.whenConsuming({ timeoutMs: 5000 })
  const msg = sampleMessage(r.organ, { priority: 7, type: 'status', timestamp: new Date('2026-01-02T03:04:05Z'), correlationId: 'c-9' })
  await r.publisher.publish(msg)
  t.ok(await waitFor(() => got.length === 1), 'delivered')
  await consumer.stop()
  const m = got[0] as InboundMessage
  t.ok(Buffer.from(m.body).equals(Buffer.from(msg.body)), 'exact body')
  t.ok(Buffer.from(m.signature ?? []).equals(Buffer.from(msg.signature)), 'signature header decoded')
  t.equal(m.messageId, msg.messageId)
  t.equal(m.type, 'status')
  t.equal(m.contentType, 'application/xml')
  t.equal(m.correlationId, 'c-9')
  t.equal(m.priority, 7)
  t.same(m.timestamp, new Date('2026-01-02T03:04:05Z'))
  t.equal(m.sender, msg.sender)
  t.equal(m.recipient, r.organ)
  t.equal(m.routingKey, r.organ)
  t.equal(m.sha256, msg.sha256)
  t.equal(m.redelivered, false)
  t.equal(m.queue, r.queue)
  const { ch } = await adminChannel(t)
  t.equal((await ch.checkQueue(r.queue)).messageCount, 0, 'acked: nothing left (unacked ones would be requeued by now)')
})

t.test('prefetch bounds the deliveries in the handler', async (t) => {
  const r = await rig(t)
  let active = 0
  let maxActive = 0
  let done = 0
  let open = false
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    prefetch: 3,
    handler: async () => {
      active++
      maxActive = Math.max(maxActive, active)
      while (!open) await sleep(10)
      active--
      done++
      return 'ack' as const
    },
  })
  t.teardown(() => consumer.stop())
  await Promise.all(Array.from({ length: 10 }, () => r.publisher.publish(sampleMessage(r.organ))))
  await consumer.whenConsuming({ timeoutMs: 5000 })
  t.ok(await waitFor(() => active === 3), 'three in the handler')
  await sleep(300)
  t.equal(active, 3, 'still three after a while: the broker holds back the rest')
  t.equal(consumer.inFlight, 3)
  open = true
  t.ok(await waitFor(() => done === 10), 'all ten handled')
  t.equal(maxActive, 3)
})

t.test("'reject' dead-letters the message to the agency's dead-letter queue, without requeue", async (t) => {
  const r = await rig(t)
  let calls = 0
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    handler: () => {
      calls++
      return 'reject'
    },
  })
  t.teardown(() => consumer.stop())
  const msg = sampleMessage(r.organ)
  await r.publisher.publish(msg)
  const { ch } = await adminChannel(t)
  t.ok(await waitFor(async () => (await ch.checkQueue(r.dlq)).messageCount === 1), 'in the dead-letter queue')
  const dead = await ch.get(r.dlq, { noAck: true })
  if (dead === false) throw new TypeError('dead-letter queue empty')
  t.equal(dead.properties.messageId, msg.messageId)
  t.ok(Buffer.from(msg.body).equals(dead.content), 'same bytes')
  const death = (dead.properties.headers as Record<string, unknown>)['x-death'] as Array<Record<string, unknown>>
  t.equal(death[0]?.reason, 'rejected')
  t.equal(death[0]?.queue, r.queue)
  await sleep(200)
  t.equal(calls, 1, 'not redelivered')
  t.equal((await ch.checkQueue(r.queue)).messageCount, 0)
})

t.test("'retry' and a throwing handler make the broker redeliver after the delay", async (t) => {
  const r = await rig(t)
  const seen: Array<{ id: string | undefined; redelivered: boolean; at: number }> = []
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    retryDelayMs: 150,
    handler: (m) => {
      seen.push({ id: m.messageId, redelivered: m.redelivered, at: Date.now() })
      const n = seen.filter((s) => s.id === m.messageId).length
      if (n === 1) return 'retry'
      if (n === 2) throw new RangeError('store unavailable (simulated)')
      return 'ack'
    },
  })
  t.teardown(() => consumer.stop())
  const msg = sampleMessage(r.organ)
  await r.publisher.publish(msg)
  t.ok(await waitFor(() => seen.length === 3), 'delivered three times')
  t.same(
    seen.map((s) => s.redelivered),
    [false, true, true],
  )
  t.ok((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0) >= 140, 'held for retryDelayMs before the nack')
  const { ch } = await adminChannel(t)
  await sleep(100)
  t.equal((await ch.checkQueue(r.queue)).messageCount, 0, 'acked at last')
  t.equal((await ch.checkQueue(r.dlq)).messageCount, 0, 'never dead-lettered')
})

t.test('after a reconnect the consumer subscribes again; the unacked message is redelivered', async (t) => {
  const r = await rig(t, { initialDelayMs: 100 })
  const seen: InboundMessage[] = []
  let hold = true
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    handler: async (m) => {
      seen.push(m)
      while (hold && seen.length === 1) await sleep(10)
      return 'ack' as const
    },
  })
  t.teardown(() => consumer.stop())
  await consumer.whenConsuming({ timeoutMs: 5000 })
  const first = sampleMessage(r.organ)
  await r.publisher.publish(first)
  t.ok(await waitFor(() => seen.length === 1), 'first delivery in the handler')
  // 1. The broker drops our connection while the handler still works on the message.
  // (the connection's own event: with a 100 ms reconnect delay its state may be `connected` again between two polls)
  let lost = false
  r.conn.once('disconnect', () => (lost = true))
  t.equal(await closeConnectionByName(r.connectionName), 1)
  t.ok(await waitFor(() => lost, 10_000), 'disconnected')
  hold = false // 2. The handler finishes; its ack cannot go anywhere (old channel) and is dropped.
  await r.conn.whenConnected({ timeoutMs: 10_000 })
  await consumer.whenConsuming({ timeoutMs: 5000 })
  // 3. The broker redelivers the unacked message on the new subscription.
  t.ok(await waitFor(() => seen.length >= 2, 5000), 'redelivered after reconnect')
  t.equal(seen[1]?.messageId, first.messageId)
  t.equal(seen[1]?.redelivered, true)
  // 4. New messages flow again.
  await r.publisher.whenReady({ timeoutMs: 5000 })
  const second = sampleMessage(r.organ)
  await r.publisher.publish(second)
  t.ok(await waitFor(() => seen.some((m) => m.messageId === second.messageId), 5000), 'new message consumed')
})

t.test('the broker cancelling the subscription (queue deleted) leads to a new subscription once the queue is back', async (t) => {
  const r = await rig(t)
  const seen: string[] = []
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    resubscribeDelayMs: 100,
    handler: (m) => {
      seen.push(m.messageId ?? '')
      return 'ack'
    },
  })
  t.teardown(() => consumer.stop())
  await consumer.whenConsuming({ timeoutMs: 5000 })
  const { ch } = await adminChannel(t)
  await ch.deleteQueue(r.queue)
  t.ok(await waitFor(() => !consumer.consuming, 2000), 'subscription lost')
  await sleep(300) // a few failed attempts (404) while the queue is missing
  await ch.assertQueue(r.queue, { durable: true, arguments: { 'x-dead-letter-exchange': r.topology.deadLetterExchange, 'x-max-priority': 10 } })
  await ch.bindQueue(r.queue, r.topology.exchange, r.organ)
  await consumer.whenConsuming({ timeoutMs: 10_000 })
  const msg = sampleMessage(r.organ)
  await r.publisher.publish(msg)
  t.ok(await waitFor(() => seen.includes(msg.messageId)), 'consumed on the new subscription')
  t.equal(r.conn.state, 'connected', 'the connection itself was never recycled')
})

t.test('stop() waits for handlers in flight and their acks', async (t) => {
  const r = await rig(t)
  let finished = 0
  let started = 0
  const consumer = createConsumer(r.conn, {
    queues: [r.queue],
    handler: async () => {
      started++
      await sleep(300)
      finished++
      return 'ack' as const
    },
  })
  await Promise.all([r.publisher.publish(sampleMessage(r.organ)), r.publisher.publish(sampleMessage(r.organ))])
  t.ok(await waitFor(() => started === 2))
  const t0 = Date.now()
  await consumer.stop()
  t.equal(finished, 2, 'both handlers finished before stop() resolved')
  t.ok(Date.now() - t0 >= 200)
  t.equal(consumer.consuming, false)
  const { ch } = await adminChannel(t)
  t.equal((await ch.checkQueue(r.queue)).messageCount, 0, 'both acked before the channel closed')
})
