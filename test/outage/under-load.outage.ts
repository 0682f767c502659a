/**
 * Faults under load. Gateway A (hosting 000.00.00.G22) and gateway B (hosting 000.00.00.H29 and 000.00.11.H29),
 * each a `lienthong serve` process of its own (gateway-processes.ts), on a RabbitMQ node of this test's own. A's
 * DMS sends N documents of 10 KB to both of B's agencies (N = LIENTHONG_OUTAGE_DOCS, default 200), 8 requests at a
 * time, each with its Idempotency-Key, repeating a request after a 503 or a failed connection. Once 30 % are
 * accepted, one fault per subtest:
 *
 *   (a) the broker node stopped (`rabbitmqctl stop_app`) for 5 s and started again
 *   (b) B SIGKILLed and started again 2 s later, on the same store
 *   (c) A SIGKILLed and started again 2 s later (its DMS retrying with the same keys meanwhile)
 *   (d) B's store unavailable for 20 s: B on PostgreSQL (a cluster of the test's own), stopped like a crash
 *       (`pg_ctl stop -m immediate`) and started again
 *   (e) A's connection to the broker closed from the broker's side (`rabbitmqctl close_connection`), 5 times,
 *       1.5 s apart
 *
 * After each: one package at A per acceptance (the retries never made a second one), every (DocumentId,
 * recipient) in B's inbox exactly once, every delivery at A in state delivered (its 01 came back), nothing refused
 * on either side, nothing left pending (A's deliveries, both outboxes, every queue empty), and both delivery logs
 * verify (`lienthong log verify`). The counts are printed: accepted, delivered, duplicates seen and dropped (by
 * either receiver), redelivered messages, relay publishes repeated, and the time to drain.
 *
 * Nothing here touches the machine's shared RabbitMQ or PostgreSQL: the node and the cluster are the test's own
 * (test/services/).
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { rabbitNodeUnavailable, startRabbitNode, type RabbitNode } from '../services/rabbit-node.js'
import { pgClusterUnavailable, startPgCluster, type PgCluster } from '../services/pg-cluster.js'
import {
  amqpNames,
  assertExchange,
  checkExchange,
  cliCommand,
  G22,
  gatewayProcess,
  H29,
  logCounts,
  pendingDeliveries,
  queueDepths,
  sendDocuments,
  STC,
  verifyLog,
  waitFor,
  type GatewayProcess,
} from './gateway-processes.js'

const N = Number(process.env.LIENTHONG_OUTAGE_DOCS ?? 200)
if (!Number.isInteger(N) || N < 10) throw new Error(`LIENTHONG_OUTAGE_DOCS must be an integer of at least 10, not ${process.env.LIENTHONG_OUTAGE_DOCS}`)
const SIZE = 10 * 1024
const RECIPIENTS = [H29, STC]
const skip = rabbitNodeUnavailable()

interface Run {
  node: RabbitNode
  a: GatewayProcess
  b: GatewayProcess
  cluster?: PgCluster
  /** What the fault subtest asserts while it happens. */
  t: Test
}

/** The pids of the node's AMQP connections whose client properties name `connectionName`. */
async function connectionsNamed(node: RabbitNode, connectionName: string): Promise<string[]> {
  const out = await node.ctl('list_connections', 'pid', 'client_properties')
  return out
    .split('\n')
    .filter((l) => l.includes(connectionName))
    .map((l) => l.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'))
}

t.test(`faults under load: ${N} documents of 10 KB to 2 recipients each`, { skip: skip ?? false }, async (t) => {
  const node = await startRabbitNode(t)
  t.comment(`gateways run as ${cliCommand().how}; broker node ${node.name} on port ${node.port}`)

  const scenario = (name: string, tag: string, opts: { pg?: boolean }, fault: (r: Run) => Promise<void>) =>
    t.test(name, { skip: opts.pg ? (pgClusterUnavailable() ?? false) : false }, async (t) => {
      const dir = t.testdir({})
      const names = amqpNames(tag)
      const cluster = opts.pg ? await startPgCluster(t) : undefined
      const a = await gatewayProcess(t, { name: 'a', dir, amqpUrl: node.url, names, organIds: [G22] })
      const b = await gatewayProcess(t, { name: 'b', dir, amqpUrl: node.url, names, organIds: RECIPIENTS, ...(cluster ? { store: { driver: 'postgres' as const, url: cluster.url } } : {}) })
      await Promise.all([a.start(), b.start()])
      const since = new Date()
      const t0 = Date.now()
      const sending = sendDocuments(a, { count: N, concurrency: 8, recipients: RECIPIENTS, sizeBytes: SIZE, tag })
      const sent = sending.done.then(
        () => undefined,
        (e: unknown) => e,
      )
      await waitFor('30 % of the documents accepted', () => sending.accepted.size >= Math.ceil(N * 0.3), 600_000)
      const faultAt = Date.now()
      await fault({ node, a, b, t, ...(cluster ? { cluster } : {}) })
      const faultEnd = Date.now()
      const sendError = await sent
      if (sendError) throw sendError
      const sentAt = Date.now()

      // drained: every delivery of A answered with a 01, nothing in either outbox
      const drainTimeout = 120_000 + N * 300
      await waitFor(
        'A has every 01 and both outboxes are empty',
        async () => (await pendingDeliveries(a)) === 0 && (await a.metric('lienthong_outbox_backlog')) === 0 && (await b.metric('lienthong_outbox_backlog')) === 0,
        drainTimeout,
        250,
      )
      const drainedAt = Date.now()
      const check = await checkExchange(a, b, sending.accepted.values(), since)
      const countsA = logCounts(a)
      const countsB = logCounts(b)
      await Promise.all([a.stop(), b.stop()])
      const queues = [G22, ...RECIPIENTS].flatMap((id) => [names.queuePrefix + id, names.deadLetterQueuePrefix + id])
      const depths = await queueDepths(node.url, queues)
      const [logA, logB] = await Promise.all([verifyLog(a.storeRef), verifyLog(b.storeRef)])

      assertExchange(t, { sending, check, documents: N, recipients: RECIPIENTS.length, depths, queuesWhat: 'every inbox and dead-letter queue', logA, logB })

      const counts = {
        accepted: sending.accepted.size,
        delivered: check.inbox,
        with01AtSender: check.delivered01,
        requests: sending.requests,
        retriedRequests: sending.retries,
        replayedAcceptances: sending.replayed,
        duplicatesDropped: { atB: countsB.duplicatesDropped, atA: countsA.duplicatesDropped },
        redelivered: { atB: countsB.redelivered, atA: countsA.redelivered },
        publishedAgain: check.publishedAgain,
        faultMs: faultEnd - faultAt,
        sendSeconds: Math.round((sentAt - t0) / 100) / 10,
        drainMsAfterLastAccepted: drainedAt - Math.max(sending.lastAcceptedAt, faultEnd),
        totalSeconds: Math.round((drainedAt - t0) / 100) / 10,
      }
      t.comment(`counts ${tag}: ${JSON.stringify(counts)}`)
    })

  await scenario('(a) the broker node stopped for 5 s and started', 'broker', {}, async ({ node, a, t }) => {
    await node.stopApp()
    await waitFor('A notices the broker is gone', async () => (await a.request('GET', '/readyz')).status === 503, 10_000)
    t.pass('A is not ready while the broker is down')
    await sleep(5000)
    await node.startApp()
  })

  await scenario('(b) B SIGKILLed and started again', 'killb', {}, async ({ b }) => {
    await b.kill()
    await sleep(2000)
    await b.start()
  })

  await scenario('(c) A SIGKILLed and started again, its DMS retrying', 'killa', {}, async ({ a }) => {
    await a.kill()
    await sleep(2000)
    await a.start()
  })

  await scenario('(d) B\'s store (PostgreSQL) unavailable for 20 s', 'pgdown', { pg: true }, async ({ b, cluster, t }) => {
    await cluster!.stop('immediate')
    const down = Date.now()
    await waitFor('B says its store is down', async () => (await b.request('GET', '/readyz')).status === 503, 10_000)
    t.pass('B is not ready while its store is down')
    await sleep(Math.max(0, 20_000 - (Date.now() - down)))
    await cluster!.start()
  })

  await scenario('(e) A\'s broker connection closed from the broker side, 5 times', 'close', {}, async ({ node, a, t }) => {
    const name = `lienthong ${G22}`
    let closed = 0
    for (let i = 0; i < 5; i++) {
      await waitFor('A connected again', async () => (await connectionsNamed(node, name)).length > 0, 30_000, 100)
      for (const pid of await connectionsNamed(node, name)) {
        await node.ctl('close_connection', pid, 'closed by the outage test').then(() => closed++, () => {})
      }
      await sleep(1500)
    }
    const lost = a.logLines().filter((l) => l.msg === 'AMQP connection lost; reconnecting').length
    t.ok(closed >= 5 && lost >= 5, `${closed} connections of A closed by the broker; A reconnected after each (${lost} times)`)
  })
})

