// Reconnect after the broker closes only this test's connection (found by its connection_name): topology is
// declared again, in-flight publishes fail as unavailable, later ones succeed.
import t from 'tap'
import { createAmqpConnection, createPublisher, declareTopology, type ConnectionState } from '../../../src/transport/index.js'
import { isGatewayError } from '../../../src/errors.js'
import { adminChannel, AMQP_URL, closeConnectionByName, deleteAll, randomName, randomOrganId, sampleMessage, waitFor } from './helpers.js'

t.test('broker closes our connection: reconnect, re-declare topology, in-flight publishes reject UNAVAILABLE', async (t) => {
  const prefix = randomName()
  const organ = randomOrganId()
  const connectionName = `${prefix}-conn`
  // random fixed near 1: the first reconnect waits ~1.5 s, time enough to delete the queue while disconnected.
  const conn = createAmqpConnection({ url: AMQP_URL, connectionName, initialDelayMs: 1500, random: () => 0.999 })
  const topology = declareTopology(conn, {
    hostedOrganIds: [organ],
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
  })
  const queue = topology.inboxes[0]?.queue as string
  const publisher = createPublisher(conn, { exchange: topology.exchange })
  let down = false
  t.teardown(async () => {
    down = true // stops the publishing pump below if the test failed early
    await publisher.close({ timeoutMs: 500 })
    await conn.close()
    await deleteAll({ queues: [queue, topology.inboxes[0]?.deadLetterQueue as string], exchanges: [topology.exchange, topology.deadLetterExchange] })
  })
  const { ch } = await adminChannel(t)
  await publisher.whenReady({ timeoutMs: 10_000 })
  await t.resolves(publisher.publish(sampleMessage(organ)), 'publishing works before')

  const states: ConnectionState[] = []
  conn.on('state', (s) => states.push(s))
  // 1. While the connection is lost and the reconnect is pending, delete the inbox queue.
  let deletedWhileDown = false
  conn.once('disconnect', () => {
    void ch.deleteQueue(queue).then(() => {
      deletedWhileDown = conn.state !== 'connected'
    })
  })

  // 2. Keep many publishes in flight until the connection drops.
  const outcomes: Array<Promise<unknown>> = []
  conn.once('disconnect', () => {
    down = true
  })
  const deadline = Date.now() + 20_000
  const pump = (async () => {
    while (!down && Date.now() < deadline) {
      while (!down && publisher.ready && publisher.inFlight < 500) {
        outcomes.push(publisher.publish(sampleMessage(organ, {}, 256)).then(() => 'ok', (e: unknown) => e))
      }
      await new Promise((r) => setImmediate(r))
    }
  })()

  // 3. Close only our connection from the broker side.
  t.equal(await closeConnectionByName(connectionName, 'transport reconnect test'), 1, 'found our connection by name')
  await pump
  const settled = await Promise.all(outcomes)
  const unavailable = settled.filter((e) => isGatewayError(e, 'GW_ERR_TRANSPORT_UNAVAILABLE'))
  const other = settled.filter((e) => e !== 'ok' && !isGatewayError(e, 'GW_ERR_TRANSPORT_UNAVAILABLE'))
  t.ok(unavailable.length > 0, `${unavailable.length} in-flight publishes rejected as unavailable (${settled.length} sent)`)
  t.same(other, [], 'no other outcome than ok / unavailable')

  // 4. While disconnected, publishing fails fast as unavailable.
  t.equal(publisher.ready, false)
  const fast = await publisher.publish(sampleMessage(organ)).catch((e: unknown) => e)
  t.ok(isGatewayError(fast, 'GW_ERR_TRANSPORT_UNAVAILABLE'))

  // 5. The manager comes back and declares the queue again.
  await conn.whenConnected({ timeoutMs: 15_000 })
  t.ok(await waitFor(() => deletedWhileDown, 2000), 'the queue was deleted while disconnected')
  t.same(states.slice(0, 3), ['disconnected', 'connecting', 'connected'])
  const q = await ch.checkQueue(queue)
  t.equal(q.messageCount, 0, 'queue re-declared (empty: the old one was deleted)')
  await publisher.whenReady({ timeoutMs: 5000 })
  const later = sampleMessage(organ)
  await t.resolves(publisher.publish(later), 'later publishes succeed')
  const got = await ch.get(queue, { noAck: true })
  t.equal(got !== false && got.properties.messageId, later.messageId)
})
