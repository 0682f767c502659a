// The real outage: the broker application stops (`rabbitmqctl stop_app`) for a few seconds while messages are
// being published, then starts again. The broker is a RabbitMQ node of this test's own
// (test/services/rabbit-node.ts), never the machine's shared one.
//
// What it shows at transport level: publishes during the outage reject as GW_ERR_TRANSPORT_UNAVAILABLE (retryable),
// the manager reconnects by itself and re-declares the topology, a relay that retries on UNAVAILABLE gets every
// message confirmed, and every confirmed message (including those confirmed before the outage) is in the queue
// afterwards (at-least-once: a message whose confirm was lost may be there twice; receivers deduplicate).
import t from 'tap'
import { createAmqpConnection, createPublisher, declareTopology, type ConnectionState, type OutgoingMessage } from '../../src/transport/index.js'
import { isGatewayError } from '../../src/errors.js'
import { rabbitNodeUnavailable, startRabbitNode } from '../services/rabbit-node.js'

const skip = rabbitNodeUnavailable()

t.test('broker stop_app / start_app while publishing: nothing confirmed is lost, everything is eventually confirmed', { skip: skip ?? false }, async (t) => {
  const node = await startRabbitNode(t)
  // the transport helpers read their broker URL when first imported: point them at the test node, then import them
  process.env.AMQP_URL = node.url
  const { adminChannel, AMQP_URL, deleteAll, randomName, randomOrganId, sampleMessage, sleep } = await import('../integration/transport/helpers.js')
  if (AMQP_URL !== node.url) throw new Error(`the transport helpers were imported before the test node started (they use ${AMQP_URL})`)
  const prefix = randomName()
  const organ = randomOrganId()
  const conn = createAmqpConnection({ url: AMQP_URL, connectionName: `${prefix}-conn`, initialDelayMs: 200, maxDelayMs: 1000 })
  const topology = declareTopology(conn, {
    hostedOrganIds: [organ],
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
  })
  const inbox = topology.inboxes[0]
  if (inbox === undefined) throw new TypeError('no inbox')
  const publisher = createPublisher(conn, { exchange: topology.exchange })
  t.teardown(async () => {
    await publisher.close({ timeoutMs: 500 })
    await conn.close()
    await deleteAll({ queues: [inbox.queue, inbox.deadLetterQueue], exchanges: [topology.exchange, topology.deadLetterExchange] })
  })
  const states: ConnectionState[] = []
  conn.on('state', (s) => states.push(s))
  await publisher.whenReady({ timeoutMs: 10_000 })

  // 1. Confirmed before the outage.
  const before = Array.from({ length: 50 }, () => sampleMessage(organ))
  await Promise.all(before.map((m) => publisher.publish(m)))

  // 2. A relay in miniature: publish, and on UNAVAILABLE wait until the publisher is ready again and republish.
  let unavailable = 0
  const relay = async (m: OutgoingMessage): Promise<void> => {
    for (;;) {
      try {
        await publisher.publish(m)
        return
      } catch (err) {
        if (!isGatewayError(err, 'GW_ERR_TRANSPORT_UNAVAILABLE')) throw err
        unavailable++
        await publisher.whenReady({ timeoutMs: 60_000 })
      }
    }
  }
  const during = Array.from({ length: 300 }, () => sampleMessage(organ))
  const producing = (async () => {
    const all: Array<Promise<void>> = []
    for (const m of during) {
      all.push(relay(m))
      await sleep(20)
    }
    await Promise.all(all)
  })()

  // 3. The outage: about 4 s down (stop_app itself takes about a second).
  await sleep(300)
  const tStop = Date.now()
  await node.stopApp()
  await sleep(2500)
  await node.startApp()
  t.comment(`broker down for ${Date.now() - tStop} ms (stop_app → start_app done)`)

  await producing
  const recovered = Date.now()
  t.ok(unavailable > 0, `${unavailable} publish attempts failed as unavailable during the outage and were retried`)
  t.ok(states.includes('disconnected') && states.at(-1) === 'connected', `lost and re-established after ${states.filter((s) => s === 'connecting').length} attempts`)
  t.comment(`all 300 confirmed ${recovered - tStop} ms after stop_app began`)

  // 4. Everything confirmed is in the (re-declared, durable) queue.
  const { ch } = await adminChannel(t)
  const ids = new Map<string, number>()
  for (;;) {
    const m = await ch.get(inbox.queue, { noAck: true })
    if (m === false) break
    const id = m.properties.messageId as string
    ids.set(id, (ids.get(id) ?? 0) + 1)
  }
  const missing = [...before, ...during].filter((m) => !ids.has(m.messageId))
  t.same(missing.map((m) => m.messageId), [], 'no confirmed message lost')
  const duplicates = [...ids.values()].filter((n) => n > 1).length
  t.comment(`${ids.size} distinct messages in the queue, ${duplicates} delivered twice (at-least-once)`)
})
