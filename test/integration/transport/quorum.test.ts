// Quorum queue topology (for a RabbitMQ cluster): the broker accepts the declared arguments (no x-max-priority),
// messages with any priority are confirmed, and rejection dead-letters to the quorum dead-letter queue.
import t from 'tap'
import { createAmqpConnection, createConsumer, createPublisher, declareTopology } from '../../../src/transport/index.js'
import { adminChannel, AMQP_URL, deleteAll, rabbitmqctl, randomName, randomOrganId, sampleMessage, waitFor } from './helpers.js'

t.test('quorum topology: declared, publishes confirmed, reject dead-letters', async (t) => {
  const prefix = randomName()
  const organ = randomOrganId()
  const conn = createAmqpConnection({ url: AMQP_URL })
  const topology = declareTopology(conn, {
    hostedOrganIds: [organ],
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
    queueType: 'quorum',
    deliveryLimit: 5,
  })
  const inbox = topology.inboxes[0]
  if (inbox === undefined) throw new TypeError('no inbox')
  const publisher = createPublisher(conn, { exchange: topology.exchange })
  t.teardown(async () => {
    await publisher.close({ timeoutMs: 500 })
    await conn.close()
    await deleteAll({ queues: [inbox.queue, inbox.deadLetterQueue], exchanges: [topology.exchange, topology.deadLetterExchange] })
  })
  await conn.whenConnected({ timeoutMs: 15_000 })
  const types = await rabbitmqctl('list_queues', 'name', 'type', '--no-table-headers')
  t.match(types, new RegExp(`${inbox.queue.replace(/\./g, '\\.')}\\s+quorum`), 'inbox is a quorum queue')
  t.match(types, new RegExp(`${inbox.deadLetterQueue.replace(/\./g, '\\.')}\\s+quorum`), 'dead-letter queue is a quorum queue')

  const urgent = sampleMessage(organ, { priority: 9 })
  const normal = sampleMessage(organ, { priority: 0 })
  await t.resolves(Promise.all([publisher.publish(normal), publisher.publish(urgent)]))
  const seen: Array<number | undefined> = []
  const consumer = createConsumer(conn, {
    queues: [inbox.queue],
    handler: (m) => {
      seen.push(m.deliveryCount)
      return 'reject'
    },
  })
  t.teardown(() => consumer.stop())
  const { ch } = await adminChannel(t)
  t.ok(await waitFor(async () => (await ch.checkQueue(inbox.deadLetterQueue)).messageCount === 2, 10_000), 'both dead-lettered')
  t.equal(seen.length, 2)
})
