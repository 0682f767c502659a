// One inbox queue for the whole gateway (sharedQueue): every hosted OrganId is bound to it; the routing key tells
// the recipient apart; rejected messages go to the one shared dead-letter queue.
import t from 'tap'
import { createAmqpConnection, createConsumer, createPublisher, declareTopology, type InboundMessage } from '../../../src/transport/index.js'
import { isGatewayError } from '../../../src/errors.js'
import { adminChannel, AMQP_URL, deleteAll, randomName, randomOrganId, sampleMessage, waitFor } from './helpers.js'

t.test('shared inbox queue: one queue, one binding per hosted agency', async (t) => {
  const prefix = randomName()
  const organs = [randomOrganId(), randomOrganId(), randomOrganId()]
  const conn = createAmqpConnection({ url: AMQP_URL })
  const topology = declareTopology(conn, {
    hostedOrganIds: organs,
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
    sharedQueue: `${prefix}.inbox.gw`,
  })
  const dlq = `${prefix}.dlq.${prefix}.inbox.gw`
  t.same(topology.queues, [`${prefix}.inbox.gw`])
  t.ok(topology.inboxes.every((i) => i.deadLetterQueue === dlq))
  const publisher = createPublisher(conn, { exchange: topology.exchange })
  t.teardown(async () => {
    await publisher.close({ timeoutMs: 500 })
    await conn.close()
    await deleteAll({ queues: [...topology.queues, dlq], exchanges: [topology.exchange, topology.deadLetterExchange] })
  })
  await publisher.whenReady({ timeoutMs: 10_000 })
  await Promise.all(organs.map((o) => publisher.publish(sampleMessage(o))))
  const stranger = await publisher.publish(sampleMessage(randomOrganId())).catch((e: unknown) => e)
  t.ok(isGatewayError(stranger, 'GW_ERR_TRANSPORT_UNROUTABLE'), 'an OrganId not hosted here is still unroutable')

  const seen: InboundMessage[] = []
  const consumer = createConsumer(conn, {
    queues: topology.queues,
    handler: (m) => {
      seen.push(m)
      return m.routingKey === organs[0] ? 'reject' : 'ack'
    },
  })
  t.teardown(() => consumer.stop())
  t.ok(await waitFor(() => seen.length === 3))
  t.same(seen.map((m) => m.routingKey).sort(), [...organs].sort(), 'each recipient told apart by its routing key')
  const { ch } = await adminChannel(t)
  t.ok(await waitFor(async () => (await ch.checkQueue(dlq)).messageCount === 1), 'the rejected one is in the shared dead-letter queue')
})
