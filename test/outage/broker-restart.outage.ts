/**
 * The broker goes away while documents are being sent (`rabbitmqctl stop_app`) and comes back (`start_app`): every
 * accepted document arrives in the recipient queue after recovery, and exactly once per messageId.
 *
 * AMQP 0-9-1 confirms cannot tell a publisher whether a message whose confirm was lost with the connection reached
 * the queue: the relay publishes it again (at-least-once) and the receiver deduplicates on messageId. So the only
 * copies allowed twice are those whose first publish was left unconfirmed by the outage (the relay's
 * `unavailable` events); everything else must be there exactly once.
 *
 * The broker is a RabbitMQ node of this test's own (test/services/rabbit-node.ts), never the machine's shared one.
 */
import t from 'tap'
import { rabbitNodeUnavailable, startRabbitNode } from '../services/rabbit-node.js'

const skip = rabbitNodeUnavailable()

t.test('rabbitmqctl stop_app while sending, then start_app: every accepted document arrives, once per messageId', { skip: skip ?? false }, async (t) => {
  const node = await startRabbitNode(t)
  // the helpers read their broker URL when first imported: point them at the test node, then import them
  process.env.LIENTHONG_TEST_AMQP_URL = node.url
  const { AMQP_URL, auth, drainQueue, eventually, H29, inboxOf, KEYS, queueDepth, sampleDocument, startTestGateway } = await import('../helper.js')
  if (AMQP_URL !== node.url) throw new Error(`test/helper.ts was imported before the test node started (it uses ${AMQP_URL})`)
  const gw = await startTestGateway(t, { amqp: { reconnect: { initialDelayMs: 200, maxDelayMs: 1000 } }, relay: { retryDelayMs: 200 } })
  const ids: string[] = []
  const unconfirmed = new Set<string>()
  gw.relay.on('unavailable', (d) => unconfirmed.add(d.packageId))
  let refused = 0
  let sending = true
  // a steady stream of documents, 4 at a time, before, during and after the outage
  const sender = Promise.all(
    [1, 2, 3, 4].map(async () => {
      while (sending) {
        const r = await gw.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
        if (r.statusCode === 202) ids.push(r.json().id)
        else refused++
        await new Promise((res) => setTimeout(res, 5))
      }
    }),
  )
  await new Promise((r) => setTimeout(r, 500))
  const beforeStop = ids.length
  await node.stopApp()
  t.ok(await eventually(() => gw.connection.state !== 'connected', 5000), 'the gateway noticed the broker is gone')
  const ready = await gw.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503, 'not ready while the broker is down')
  const duringStart = ids.length
  await new Promise((r) => setTimeout(r, 1500))
  const acceptedWhileDown = ids.length - duringStart
  await node.startApp()
  await new Promise((r) => setTimeout(r, 500))
  sending = false
  await sender
  t.equal(refused, 0, 'the API never refused a document')
  t.ok(acceptedWhileDown > 0, `${acceptedWhileDown} documents accepted while the broker was down (${beforeStop} before)`)
  await gw.connection.whenConnected({ timeoutMs: 20_000 })

  const queue = inboxOf(gw.config, H29)
  await eventually(async () => (await queueDepth(queue).catch(() => 0)) >= ids.length, 30_000, 200)
  await eventually(async () => (await gw.store.listPackages({ state: 'accepted', limit: 1 })).items.length === 0, 10_000)
  await new Promise((r) => setTimeout(r, 300))
  const msgs = await drainQueue(queue)
  const counts = new Map<string, number>()
  for (const m of msgs) counts.set(String(m.properties.messageId), (counts.get(String(m.properties.messageId)) ?? 0) + 1)
  t.same(ids.filter((id) => !counts.has(id)), [], 'none lost')
  const twice = [...counts.entries()].filter(([, n]) => n > 1)
  t.same(twice.filter(([id, n]) => n > 2 || !unconfirmed.has(id)), [], 'a copy is repeated only when its first publish was left unconfirmed by the outage, and at most once')
  t.same([...counts.keys()].sort(), [...ids].sort(), 'deduplicated on messageId: exactly the accepted documents')
  t.comment(`${ids.length} accepted, ${msgs.length} messages in the queue, ${twice.length} republished after the outage (${unconfirmed.size} publishes left unconfirmed)`)
})
