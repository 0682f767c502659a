/**
 * The dead-letter queues are bounded by their arguments (x-max-length / x-max-length-bytes, x-overflow
 * reject-publish: once full, new dead letters are dropped and the oldest kept). A dead-letter queue declared
 * before the bounds existed answers 406 to the new arguments: the topology uses it as it is instead of failing
 * the connection's setup (an operator bounds it with a policy).
 */
import { randomBytes } from 'node:crypto'
import amqp from 'amqplib'
import t from 'tap'
import { AMQP_URL, queueDepth } from '../helper.js'
import { createAmqpConnection, declareTopology } from '../../src/transport/index.js'

t.test('dead-letter queue: bounded with reject-publish; an old unbounded one is used as it is', async (t) => {
  const r = randomBytes(4).toString('hex')
  const names = { exchange: `lt-hostile-${r}.edoc`, deadLetterExchange: `lt-hostile-${r}.dead`, inboxQueuePrefix: `lt-hostile-${r}.inbox.`, deadLetterQueuePrefix: `lt-hostile-${r}.dlq.` }
  const A = '000.00.00.A01'
  const B = '000.00.00.B02'
  const raw = await amqp.connect(AMQP_URL)
  const ch = await raw.createChannel()
  // B's dead-letter queue exists from before the bounds
  await ch.assertQueue(names.deadLetterQueuePrefix + B, { durable: true })
  const connection = createAmqpConnection({ url: AMQP_URL, initialDelayMs: 100, maxDelayMs: 500 })
  const warnings: string[] = []
  const log = { warn: (_o: Record<string, unknown>, m: string) => void warnings.push(m) }
  declareTopology(connection, { hostedOrganIds: [A, B], ...names, deadLetterBounds: { maxLength: 2, maxBytes: 1024 * 1024 } }, log)
  t.teardown(async () => {
    await connection.close().catch(() => {})
    for (const q of [names.inboxQueuePrefix + A, names.inboxQueuePrefix + B, names.deadLetterQueuePrefix + A, names.deadLetterQueuePrefix + B]) await ch.deleteQueue(q).catch(() => {})
    await ch.deleteExchange(names.exchange).catch(() => {})
    await ch.deleteExchange(names.deadLetterExchange).catch(() => {})
    await raw.close().catch(() => {})
  })
  await connection.whenConnected({ timeoutMs: 10_000 })
  t.ok(warnings.some((w) => /dead-letter queue exists with other arguments/.test(w)), 'the old queue is named in a warning')

  // A's queue is new and bounded: five dead letters, two kept (the first two: reject-publish drops the newest)
  const pub = await raw.createConfirmChannel()
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => pub.publish(names.deadLetterExchange, A, Buffer.from(`dead ${i}`), { persistent: true }, () => resolve()))
  }
  t.equal(await queueDepth(names.deadLetterQueuePrefix + A), 2, 'x-max-length 2: the queue holds two')
  const first = await ch.get(names.deadLetterQueuePrefix + A, { noAck: true })
  t.equal(first && first.content.toString(), 'dead 0', 'the oldest is kept (reject-publish, not drop-head)')
  t.equal(await queueDepth(names.inboxQueuePrefix + B), 0, 'and the other agency\'s inbox exists (setup went on)')
})
