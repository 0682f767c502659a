/**
 * Two provinces, two brokers, linked by RabbitMQ's own exchange federation (the rabbitmq_federation plugin that
 * ships with the broker, enabled on these two test nodes only). Province 1's node carries gateway A (hosting
 * 000.00.00.G22); province 2's node carries gateway B (hosting 000.00.00.H29 and 000.00.11.H29). Both gateways
 * declare the same document exchange (src/transport/topology.ts: a durable direct exchange, routing key = the
 * recipient's OrganId), each on its own node; each node federates that exchange from the other (an upstream with
 * max-hops 1 and a policy on the exchange name), so:
 *
 *   A ─▶ [edoc @ node 1] ─(federation queue on node 1, bound H29 and 000.00.11.H29)─▶ [edoc @ node 2] ─▶ B's inboxes
 *   B's 01s ─▶ [edoc @ node 2] ─(federation queue on node 2, bound G22)─▶ [edoc @ node 1] ─▶ A's inbox
 *
 * The federation queues are durable and the links forward on confirm (ack-mode on-confirm): while a link is down,
 * what the gateways publish waits in the upstream node's federation queue. The dead-letter exchanges stay local.
 *
 * Under load (N = LIENTHONG_OUTAGE_DOCS documents of 10 KB, default 200, to both of B's agencies; the last 40 %
 * held back until the broker stop begins, so that documents are still coming then): the links are
 * cut from the upstream side three times (their connections closed with `rabbitmqctl close_connection` on both
 * nodes; the link reconnects after its reconnect-delay of 1 s), then province 1's node, the upstream of the
 * documents, is stopped for 5 s and started. After: nothing lost or duplicated at the DMS (every (DocumentId,
 * recipient) in B's inbox once, every 01 back at A), nothing refused, every queue on both nodes empty (the
 * federation queues included), both logs verify; the counts are printed.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { rabbitNodeUnavailable, startRabbitNode, type RabbitNode } from '../services/rabbit-node.js'
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
  sendDocuments,
  STC,
  verifyLog,
  waitFor,
} from './gateway-processes.js'

const N = Number(process.env.LIENTHONG_OUTAGE_DOCS ?? 200)
if (!Number.isInteger(N) || N < 10) throw new Error(`LIENTHONG_OUTAGE_DOCS must be an integer of at least 10, not ${process.env.LIENTHONG_OUTAGE_DOCS}`)
const RECIPIENTS = [H29, STC]
const skip = rabbitNodeUnavailable()

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** On `downstream`: federate `exchange` from `upstream` (an upstream definition and a policy naming it). */
async function federate(downstream: RabbitNode, upstream: RabbitNode, name: string, exchange: string): Promise<void> {
  await downstream.ctl('set_parameter', 'federation-upstream', name, JSON.stringify({ uri: upstream.url, 'max-hops': 1, 'reconnect-delay': 1, 'ack-mode': 'on-confirm' }))
  await downstream.ctl('set_policy', '--apply-to', 'exchanges', `federate-from-${name}`, `^${escapeRe(exchange)}$`, JSON.stringify({ 'federation-upstream': name }))
}

/** Routing keys bound from `exchange` to a federation queue or exchange on `node` (what the other side asked for). */
async function federatedKeys(node: RabbitNode, exchange: string): Promise<Set<string>> {
  const out = await node.ctl('list_bindings', 'source_name', 'destination_name', 'routing_key')
  return new Set(
    out
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([src, dst]) => src === exchange && (dst ?? '').startsWith('federation: '))
      .map(([, , key]) => key ?? ''),
  )
}

/** Close, from `node`'s side, the connections of the federation links whose upstream is `upstreamName`. */
async function cutLinks(node: RabbitNode, upstreamName: string): Promise<number> {
  const out = await node.ctl('list_connections', 'pid', 'client_properties')
  let n = 0
  for (const line of out.split('\n')) {
    if (!line.includes(`Federation link (upstream: ${upstreamName},`)) continue
    const pid = line.split('\t')[0]!
    await node.ctl('close_connection', pid, 'federation link cut by the outage test').then(() => n++, () => {})
  }
  return n
}

/** Every queue on `node` with its message count. */
async function queues(node: RabbitNode): Promise<Record<string, number>> {
  const out = await node.ctl('list_queues', 'name', 'messages')
  return Object.fromEntries(
    out
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f.length === 2 && f[0] !== 'name')
      .map(([q, m]) => [q, Number(m)]),
  )
}

t.test(`two provinces' brokers federated: ${N} documents and their 01s across links cut under load`, { skip: skip ?? false }, async (t) => {
  const [p1, p2] = await Promise.all([startRabbitNode(t, { plugins: ['rabbitmq_federation'] }), startRabbitNode(t, { plugins: ['rabbitmq_federation'] })])
  t.comment(`gateways run as ${cliCommand().how}; province 1: ${p1.name} (port ${p1.port}), province 2: ${p2.name} (port ${p2.port})`)
  const names = amqpNames('fed')
  // province 2 takes documents from province 1's exchange; province 1 takes statuses from province 2's
  await federate(p2, p1, 'province-1', names.exchange)
  await federate(p1, p2, 'province-2', names.exchange)

  const dir = t.testdir({})
  const a = await gatewayProcess(t, { name: 'a', dir, amqpUrl: p1.url, names, organIds: [G22] })
  const b = await gatewayProcess(t, { name: 'b', dir, amqpUrl: p2.url, names, organIds: RECIPIENTS })
  await Promise.all([a.start(), b.start()])
  // the links carry each side's bindings to the other: until they are there, the recipients cannot be routed to
  await waitFor('B\'s bindings federated to province 1', async () => {
    const keys = await federatedKeys(p1, names.exchange)
    return RECIPIENTS.every((r) => keys.has(r))
  }, 60_000, 250)
  await waitFor('A\'s binding federated to province 2', async () => (await federatedKeys(p2, names.exchange)).has(G22), 60_000, 250)
  t.pass('each province\'s exchange is bound, through a federation queue, for the agencies of the other')

  const since = new Date()
  const t0 = Date.now()
  // the last 40 % wait for the broker stop to begin, so that documents are still coming when it does
  let stopping: () => void = () => {}
  const stopBegins = new Promise<void>((resolve) => (stopping = resolve))
  const sending = sendDocuments(a, { count: N, concurrency: 8, recipients: RECIPIENTS, sizeBytes: 10 * 1024, tag: 'fed', gate: { from: Math.ceil(N * 0.6), open: stopBegins } })
  const sent = sending.done.then(
    () => undefined,
    (e: unknown) => e,
  )

  // 1. the links cut from the upstream side, three times (documents: on province 1; statuses: on province 2)
  await waitFor('10 % accepted', () => sending.accepted.size >= Math.ceil(N * 0.1), 600_000)
  let cuts = 0
  for (let i = 0; i < 3; i++) {
    await waitFor('both links up', async () => (await p1.ctl('list_connections', 'client_properties')).includes('Federation link') && (await p2.ctl('list_connections', 'client_properties')).includes('Federation link'), 60_000, 200)
    cuts += (await cutLinks(p1, 'province-1')) + (await cutLinks(p2, 'province-2'))
    await sleep(2000)
  }
  t.ok(cuts >= 6, `the federation links were cut ${cuts} times (both directions, three rounds)`)

  // 2. province 1's broker, the documents' upstream, stopped for 5 s (A loses its broker too) and started
  const acceptedBeforeStop = sending.accepted.size
  t.comment(`${acceptedBeforeStop} of ${N} documents accepted during and before the link cuts`)
  const stopAt = Date.now()
  stopping()
  await p1.stopApp()
  await sleep(5000)
  await p1.startApp()
  const faultEnd = Date.now()
  t.comment(`province 1's broker down for ${faultEnd - stopAt} ms (stop_app to start_app done); ${sending.accepted.size - acceptedBeforeStop} documents accepted meanwhile`)

  const sendError = await sent
  if (sendError) throw sendError
  await waitFor(
    'A has every 01 and both outboxes are empty',
    async () => (await pendingDeliveries(a)) === 0 && (await a.metric('lienthong_outbox_backlog')) === 0 && (await b.metric('lienthong_outbox_backlog')) === 0,
    120_000 + N * 300,
    250,
  )
  const drainedAt = Date.now()
  const check = await checkExchange(a, b, sending.accepted.values(), since)
  const countsA = logCounts(a)
  const countsB = logCounts(b)
  await Promise.all([a.stop(), b.stop()])
  // the links forward what is left in the federation queues even with the gateways stopped
  let depths: Record<string, number> = {}
  await waitFor('every queue of both provinces empty', async () => {
    depths = { ...(await queues(p1)), ...Object.fromEntries(Object.entries(await queues(p2)).map(([q, n]) => [`${q} (province 2)`, n])) }
    return Object.values(depths).every((n) => n === 0)
  }, 30_000, 500).catch(() => {})
  const [logA, logB] = await Promise.all([verifyLog(a.storeRef), verifyLog(b.storeRef)])

  assertExchange(t, { sending, check, documents: N, recipients: RECIPIENTS.length, depths, queuesWhat: 'every queue of both provinces, federation queues included,', logA, logB })
  const counts = {
    accepted: sending.accepted.size,
    delivered: check.inbox,
    with01AtSender: check.delivered01,
    retriedRequests: sending.retries,
    linkCuts: cuts,
    duplicatesDropped: { atB: countsB.duplicatesDropped, atA: countsA.duplicatesDropped },
    redelivered: { atB: countsB.redelivered, atA: countsA.redelivered },
    publishedAgain: check.publishedAgain,
    drainMsAfterLastAccepted: drainedAt - Math.max(sending.lastAcceptedAt, faultEnd),
    totalSeconds: Math.round((drainedAt - t0) / 100) / 10,
  }
  t.comment(`counts federation: ${JSON.stringify(counts)}`)
})
