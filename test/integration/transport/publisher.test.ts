// Confirmed publishing against the real RabbitMQ: exact bytes, properties, headers, priority, returns, nacks,
// many publishes in flight. Random exchange/queue names, deleted at teardown.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import {
  createAmqpConnection,
  createPublisher,
  declareTopology,
  HEADER_RECIPIENT,
  HEADER_SENDER,
  HEADER_SHA256,
  HEADER_SIGNATURE,
  type PublishReceipt,
} from '../../../src/transport/index.js'
import { isGatewayError } from '../../../src/errors.js'
import { adminChannel, AMQP_URL, deleteAll, randomName, randomOrganId, sampleMessage } from './helpers.js'

const prefix = randomName()
const organA = randomOrganId()
const organB = randomOrganId()
const conn = createAmqpConnection({ url: AMQP_URL, connectionName: `${prefix}-conn` })
const topology = declareTopology(conn, {
  hostedOrganIds: [organA, organB.toLowerCase()],
  exchange: `${prefix}.edoc`,
  deadLetterExchange: `${prefix}.dead`,
  inboxQueuePrefix: `${prefix}.inbox.`,
  deadLetterQueuePrefix: `${prefix}.dlq.`,
})
const publisher = createPublisher(conn, { exchange: topology.exchange })
const queueA = `${prefix}.inbox.${organA}`
const queueB = `${prefix}.inbox.${organB}`
const nackQueue = `${prefix}.full`

t.teardown(async () => {
  await publisher.close({ timeoutMs: 1000 })
  await conn.close()
  await deleteAll({
    queues: [...topology.inboxes.flatMap((i) => [i.queue, i.deadLetterQueue]), nackQueue],
    exchanges: [topology.exchange, topology.deadLetterExchange],
  })
})

t.before(async () => {
  await conn.whenConnected({ timeoutMs: 10_000 })
  await publisher.whenReady({ timeoutMs: 5000 })
})

t.test('topology: names are resolved, OrganIds uppercased, queues declared with DLX and max priority', async (t) => {
  t.same(
    topology.inboxes.map((i) => i.organId),
    [organA, organB],
  )
  t.equal(topology.inboxes[1]?.queue, queueB)
  const { ch } = await adminChannel(t)
  const q = await ch.checkQueue(queueA)
  t.equal(q.queue, queueA)
  await ch.checkQueue(`${prefix}.dlq.${organA}`)
  // Redeclaring with a different x-max-priority must fail: proves the argument is on the queue.
  const ch2 = await (await adminChannel(t)).conn.createChannel()
  ch2.on('error', () => {})
  await t.rejects(ch2.assertQueue(queueA, { durable: true, arguments: { 'x-max-priority': 3, 'x-dead-letter-exchange': topology.deadLetterExchange } }), /PRECONDITION/)
})

t.test('publish: the message in the queue has the exact body bytes, properties and headers', async (t) => {
  const { ch } = await adminChannel(t)
  const ts = new Date('2026-03-04T05:06:07.890Z')
  const msg = sampleMessage(organA.toLowerCase(), { priority: 3, timestamp: ts, correlationId: 'corr-1', headers: { 'x-extra': 'yes' } }, 10_000)
  const receipt = await publisher.publish(msg)
  t.same(receipt, { messageId: msg.messageId, routingKey: organA })
  const got = await ch.get(queueA, { noAck: true })
  if (got === false) throw new TypeError('queue is empty')
  t.ok(Buffer.from(msg.body).equals(got.content), 'exact body bytes')
  const p = got.properties
  t.equal(p.messageId, msg.messageId)
  t.equal(p.type, 'edoc')
  t.equal(p.contentType, 'application/xml')
  t.equal(p.deliveryMode, 2, 'persistent')
  t.equal(p.priority, 3)
  t.equal(p.timestamp, Math.floor(ts.getTime() / 1000), 'AMQP timestamp in seconds')
  t.equal(p.correlationId, 'corr-1')
  t.equal(p.appId, 'lienthong')
  t.equal(got.fields.routingKey, organA, 'routing key is the uppercase OrganId')
  const h = p.headers as Record<string, unknown>
  t.equal(h[HEADER_SIGNATURE], Buffer.from(msg.signature).toString('base64'))
  t.equal(h[HEADER_SENDER], msg.sender)
  t.equal(h[HEADER_RECIPIENT], organA.toLowerCase(), 'recipient header as given')
  t.equal(h[HEADER_SHA256], msg.sha256)
  t.equal(h['x-extra'], 'yes')
  t.equal(publisher.inFlight, 0)
})

t.test('priority: an urgent message published after a normal one is consumed first', async (t) => {
  const { ch } = await adminChannel(t)
  const normal = sampleMessage(organB, { priority: 0 })
  const urgent = sampleMessage(organB, { priority: 9 })
  await Promise.all([publisher.publish(normal), publisher.publish(urgent)])
  const first = await ch.get(queueB, { noAck: true })
  const second = await ch.get(queueB, { noAck: true })
  t.equal(first !== false && first.properties.messageId, urgent.messageId, 'urgent first')
  t.equal(second !== false && second.properties.messageId, normal.messageId, 'normal second')
})

t.test('unroutable recipient rejects with GW_ERR_TRANSPORT_UNROUTABLE; a routable one right after resolves', async (t) => {
  const { ch } = await adminChannel(t)
  const lost = sampleMessage(randomOrganId())
  const ok = sampleMessage(organA)
  // Same messageId for the unroutable and the routable one: correlation uses messageId + routing key.
  const okSameId = sampleMessage(organB, { messageId: lost.messageId })
  const [r1, r2, r3] = await Promise.allSettled([publisher.publish(lost), publisher.publish(ok), publisher.publish(okSameId)])
  t.equal(r1.status, 'rejected')
  if (r1.status === 'rejected') {
    t.ok(isGatewayError(r1.reason, 'GW_ERR_TRANSPORT_UNROUTABLE'), String(r1.reason))
    t.equal(r1.reason.params.replyCode, 312)
    t.match(r1.reason.message, lost.recipient)
  }
  t.equal(r2.status, 'fulfilled')
  t.equal(r3.status, 'fulfilled')
  const a = await ch.get(queueA, { noAck: true })
  t.equal(a !== false && a.properties.messageId, ok.messageId)
  const b = await ch.get(queueB, { noAck: true })
  t.equal(b !== false && b.properties.messageId, lost.messageId)
  t.equal(publisher.stats.returned >= 1, true)
})

t.test('nack: a queue that refuses the message makes the promise reject with GW_ERR_TRANSPORT_NACKED', async (t) => {
  const { ch } = await adminChannel(t)
  await ch.assertQueue(nackQueue, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } })
  await ch.bindQueue(nackQueue, topology.exchange, 'FULL.QUEUE')
  const err = await publisher.publish(sampleMessage('full.queue')).catch((e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_TRANSPORT_NACKED'), String(err))
  await t.resolves(publisher.publish(sampleMessage(organA)), 'the channel is still usable')
  await ch.purgeQueue(queueA)
})

t.test('invalid messages reject with GW_ERR_TRANSPORT_INVALID_MESSAGE and do not disturb the channel', async (t) => {
  const bad = await publisher.publish(sampleMessage(organA, { priority: 12 })).catch((e: unknown) => e)
  t.ok(isGatewayError(bad, 'GW_ERR_TRANSPORT_INVALID_MESSAGE'), String(bad))
  const noSha = await publisher.publish(sampleMessage(organA, { sha256: 'abc' })).catch((e: unknown) => e)
  t.ok(isGatewayError(noSha, 'GW_ERR_TRANSPORT_INVALID_MESSAGE'))
  // A signature whose base64 exceeds amqplib's 64 KiB header table.
  const huge = await publisher.publish(sampleMessage(organA, { signature: new Uint8Array(randomBytes(60_000)) })).catch((e: unknown) => e)
  t.ok(isGatewayError(huge, 'GW_ERR_TRANSPORT_INVALID_MESSAGE'), String(huge))
  await t.resolves(publisher.publish(sampleMessage(organA)))
  const { ch } = await adminChannel(t)
  await ch.purgeQueue(queueA)
})

t.test('2,000 concurrent 10 KB publishes all resolve on their own confirm', async (t) => {
  const { ch } = await adminChannel(t)
  await ch.purgeQueue(queueA)
  const n = 2000
  const body = new Uint8Array(randomBytes(10_000))
  const msgs = Array.from({ length: n }, (_, i) => sampleMessage(organA, { body, messageId: `${prefix}-bulk-${i}` }))
  const settledAt: number[] = []
  const t0 = performance.now()
  const results = await Promise.allSettled(
    msgs.map((m) =>
      publisher.publish(m).then((r: PublishReceipt) => {
        settledAt.push(performance.now())
        return r
      }),
    ),
  )
  const ms = performance.now() - t0
  const ok = results.filter((r) => r.status === 'fulfilled')
  t.equal(ok.length, n, 'every publish resolved')
  t.same(
    ok.map((r) => (r as PromiseFulfilledResult<PublishReceipt>).value.messageId),
    msgs.map((m) => m.messageId),
    'each promise resolved with its own message',
  )
  const q = await ch.checkQueue(queueA)
  t.equal(q.messageCount, n, 'all in the queue')
  // Informational only (shared 2-core machine): no timing assertion.
  const rate = Math.round((n / ms) * 1000)
  t.comment(`published ${n} persistent 10 KB messages with confirms in ${ms.toFixed(0)} ms: ${rate} msgs/s; first confirm after ${((settledAt[0] ?? t0) - t0).toFixed(0)} ms; backpressure waits so far ${publisher.stats.backpressureWaits}`)
  await ch.purgeQueue(queueA)
})

t.test('backpressure: with a tiny channel buffer, 200 x 100 KB publishes wait for drain and all resolve', async (t) => {
  const small = createPublisher(conn, { exchange: topology.exchange, highWaterMark: 2 })
  t.teardown(() => small.close())
  await small.whenReady({ timeoutMs: 5000 })
  const body = new Uint8Array(randomBytes(100_000))
  const all = Array.from({ length: 200 }, () => small.publish(sampleMessage(organB, { body })))
  t.ok(small.inFlight > 0)
  const res = await Promise.allSettled(all)
  t.equal(res.filter((r) => r.status === 'fulfilled').length, 200)
  t.ok(small.stats.backpressureWaits > 0, `waited for drain ${small.stats.backpressureWaits} times`)
  const { ch } = await adminChannel(t)
  t.equal((await ch.checkQueue(queueB)).messageCount, 200)
  await ch.purgeQueue(queueB)
})

t.test('closed publisher rejects with GW_ERR_TRANSPORT_UNAVAILABLE', async (t) => {
  const p = createPublisher(conn, { exchange: topology.exchange })
  await p.whenReady({ timeoutMs: 5000 })
  await p.close()
  const err = await p.publish(sampleMessage(organA)).catch((e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_TRANSPORT_UNAVAILABLE'))
  t.equal(p.ready, false)
})

t.test('the broker closing only the confirm channel (404 exchange) fails its publishes as unavailable; it re-opens', async (t) => {
  const missing = `${prefix}.missing`
  const p = createPublisher(conn, { exchange: missing, reopenDelayMs: 100 })
  t.teardown(async () => {
    await p.close()
    await deleteAll({ exchanges: [missing] })
  })
  await p.whenReady({ timeoutMs: 5000 })
  const err = await p.publish(sampleMessage(organA)).catch((e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_TRANSPORT_UNAVAILABLE'), String(err))
  t.match(String(err), /NOT_FOUND|404/)
  t.equal(conn.state, 'connected', 'the connection is not affected')
  const { ch } = await adminChannel(t)
  await ch.assertExchange(missing, 'direct', { durable: false, autoDelete: false })
  await ch.bindQueue(queueA, missing, organA)
  await p.whenReady({ timeoutMs: 5000 })
  await t.resolves(p.publish(sampleMessage(organA)), 'published on the re-opened channel')
  await ch.purgeQueue(queueA)
})
