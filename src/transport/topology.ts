/**
 * The AMQP topology every gateway declares (docs/design.md "AMQP topology"):
 *
 * ```
 *  publisher ──▶ [lienthong.edoc] direct ──(key = recipient OrganId)──▶ lienthong.inbox.<ORGANID>  (one per hosted agency)
 *                                                                            │ reject / nack without requeue
 *                                                                            ▼ (x-dead-letter-exchange, keeps the key)
 *                [lienthong.dead] direct ──(key = OrganId)──────────▶ lienthong.dead.<ORGANID>
 * ```
 *
 * With `sharedQueue` set, one inbox queue (and one dead-letter queue) serves every hosted OrganId instead, with one
 * binding per OrganId: for a province gateway hosting hundreds of communes, where a queue and a consumer each would
 * be wasteful. The recipient is then told apart by the routing key / recipient header.
 *
 * Everything is durable. Re-declaring with the same arguments is a no-op, so every gateway declares the exchanges
 * and its own inboxes after every (re)connect. Declaring an existing queue with *different* arguments fails with
 * 406 PRECONDITION_FAILED: changing `queueType` or `maxPriority` of an existing queue needs the queue to be
 * drained and deleted first (or a policy).
 *
 * Priorities: classic queues get `x-max-priority` (default 10) and deliver higher AMQP priorities first. Quorum
 * queues do not take `x-max-priority` (RabbitMQ 3.x refuses the argument with 406; it is not set for them): on
 * RabbitMQ 3.x they ignore priorities (FIFO); from RabbitMQ 4.0 they have two levels, priority 0-4 "normal" and
 * 5 and above "high", delivered roughly 2:1 high:normal rather than strictly first.
 */
import type { Channel } from 'amqplib'
import { gwError } from '../errors.js'
import type { AmqpConnection } from './connection.js'
import { reasonOf, silentLogger, type TransportLogger } from './logger.js'

/** Options of {@link declareTopology} / {@link resolveTopology}. All names are configurable so tests can use random ones. */
export interface TopologyOptions {
  /** The OrganIds this gateway hosts; each gets an inbox queue and a dead-letter queue. May be empty (send only). */
  hostedOrganIds: readonly string[]
  /** Durable direct exchange documents and statuses are published to. Default: `lienthong.edoc`. */
  exchange?: string
  /** Durable direct dead-letter exchange. Default: `lienthong.dead`. */
  deadLetterExchange?: string
  /** Inbox queue name = prefix + uppercase OrganId. Default: `lienthong.inbox.`. */
  inboxQueuePrefix?: string
  /** Dead-letter queue name = prefix + uppercase OrganId. Default: `lienthong.dead.`. */
  deadLetterQueuePrefix?: string
  /**
   * One inbox queue for the whole gateway instead of one per agency: its full name (e.g. `lienthong.inbox.gw1`),
   * bound once per hosted OrganId; the dead-letter queue is then `deadLetterQueuePrefix + sharedQueue`.
   * Default: unset (one queue per agency).
   */
  sharedQueue?: string
  /**
   * `classic` (default; a single broker) or `quorum` (replicated, for a RabbitMQ cluster; see the priority note
   * above). Must match how existing queues were declared.
   */
  queueType?: 'classic' | 'quorum'
  /** `x-max-priority` of classic inbox queues (1-255; 10 covers AMQP 0-9). Ignored for quorum. Default: 10. */
  maxPriority?: number
  /**
   * Quorum only: `x-delivery-limit`, the number of redeliveries after which the broker dead-letters a message by
   * itself (poison-message protection). Default: none (unlimited).
   */
  deliveryLimit?: number
  /**
   * Bounds of every dead-letter queue, so that junk dead-lettered by the thousand cannot fill the broker's disk:
   * `x-max-length-bytes` (bytes of message bodies) and `x-max-length` (messages), with `x-overflow: reject-publish`:
   * once full, a new dead letter is dropped and the ones already there are kept (the oldest evidence survives a
   * flood; the store keeps a bounded record of every refused message either way). Default: no bounds.
   */
  deadLetterBounds?: { maxBytes?: number; maxLength?: number }
}

/** One hosted agency's queues. */
export interface InboxNames {
  /** Uppercase OrganId: the routing and binding key. */
  organId: string
  queue: string
  deadLetterQueue: string
}

/** The resolved names and arguments of a topology. */
export interface Topology {
  readonly exchange: string
  readonly deadLetterExchange: string
  readonly inboxQueuePrefix: string
  readonly deadLetterQueuePrefix: string
  readonly queueType: 'classic' | 'quorum'
  readonly maxPriority: number
  readonly deliveryLimit: number | undefined
  readonly deadLetterBounds: { readonly maxBytes?: number; readonly maxLength?: number } | undefined
  /** Per hosted OrganId, its routing key and queues (with `sharedQueue`, all name the same queues). */
  readonly inboxes: readonly InboxNames[]
  /** The distinct inbox queues to consume. */
  readonly queues: readonly string[]
}

/** The routing/binding key for an OrganId: trimmed and uppercased (`000.00.00.g22` → `000.00.00.G22`). */
export function routingKeyFor(organId: string): string {
  return organId.trim().toUpperCase()
}

const ORGAN_KEY = /^[A-Z0-9][A-Z0-9._-]{0,63}$/

/** Apply defaults and validate; throws GW_ERR_CONFIG_INVALID listing every problem. */
export function resolveTopology(opts: TopologyOptions): Topology {
  const problems: string[] = []
  const exchange = opts.exchange ?? 'lienthong.edoc'
  const deadLetterExchange = opts.deadLetterExchange ?? 'lienthong.dead'
  const inboxQueuePrefix = opts.inboxQueuePrefix ?? 'lienthong.inbox.'
  const deadLetterQueuePrefix = opts.deadLetterQueuePrefix ?? 'lienthong.dead.'
  const queueType = opts.queueType ?? 'classic'
  const maxPriority = opts.maxPriority ?? 10
  if (exchange === '' || deadLetterExchange === '') problems.push('exchange names must not be empty')
  if (exchange === deadLetterExchange) problems.push('the exchange and the dead-letter exchange must differ')
  if (inboxQueuePrefix === deadLetterQueuePrefix) problems.push('inbox and dead-letter queue prefixes must differ')
  if (queueType !== 'classic' && queueType !== 'quorum') problems.push(`queueType ${String(queueType)} is not classic or quorum`)
  if (!Number.isInteger(maxPriority) || maxPriority < 1 || maxPriority > 255) problems.push(`maxPriority ${maxPriority} is not an integer in 1..255`)
  if (opts.deliveryLimit !== undefined && (!Number.isInteger(opts.deliveryLimit) || opts.deliveryLimit < 1)) {
    problems.push(`deliveryLimit ${opts.deliveryLimit} is not a positive integer`)
  }
  const seen = new Set<string>()
  const inboxes: InboxNames[] = []
  for (const raw of opts.hostedOrganIds) {
    const organId = routingKeyFor(raw)
    if (!ORGAN_KEY.test(organId)) {
      problems.push(`OrganId ${JSON.stringify(raw)} cannot be a routing key (A-Z, 0-9, dot, dash, underscore; at most 64)`)
      continue
    }
    if (seen.has(organId)) continue
    seen.add(organId)
    const shared = opts.sharedQueue
    inboxes.push(
      shared === undefined
        ? { organId, queue: inboxQueuePrefix + organId, deadLetterQueue: deadLetterQueuePrefix + organId }
        : { organId, queue: shared, deadLetterQueue: deadLetterQueuePrefix + shared },
    )
  }
  if (opts.sharedQueue !== undefined && (opts.sharedQueue === '' || opts.sharedQueue.startsWith('amq.'))) {
    problems.push(`sharedQueue ${JSON.stringify(opts.sharedQueue)} is not a usable queue name`)
  }
  if (problems.length > 0) throw gwError('GW_ERR_CONFIG_INVALID', { problems: problems.join('; ') })
  return Object.freeze({
    exchange,
    deadLetterExchange,
    inboxQueuePrefix,
    deadLetterQueuePrefix,
    queueType,
    maxPriority,
    deliveryLimit: opts.deliveryLimit,
    deadLetterBounds: opts.deadLetterBounds ? Object.freeze({ ...opts.deadLetterBounds }) : undefined,
    inboxes: Object.freeze(inboxes.map((i) => Object.freeze(i))),
    queues: Object.freeze([...new Set(inboxes.map((i) => i.queue))]),
  })
}

/** The `arguments` of an inbox queue. */
export function inboxQueueArguments(t: Topology): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-dead-letter-exchange': t.deadLetterExchange }
  if (t.queueType === 'quorum') {
    args['x-queue-type'] = 'quorum'
    if (t.deliveryLimit !== undefined) args['x-delivery-limit'] = t.deliveryLimit
  } else {
    args['x-max-priority'] = t.maxPriority
  }
  return args
}

/** The `arguments` of a dead-letter queue: the queue type and the bounds (`x-overflow: reject-publish`). */
export function deadLetterQueueArguments(t: Topology): Record<string, unknown> {
  const args: Record<string, unknown> = t.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {}
  const b = t.deadLetterBounds
  if (b?.maxBytes !== undefined) args['x-max-length-bytes'] = b.maxBytes
  if (b?.maxLength !== undefined) args['x-max-length'] = b.maxLength
  if (b?.maxBytes !== undefined || b?.maxLength !== undefined) args['x-overflow'] = 'reject-publish'
  return args
}

/**
 * Declare exchanges, queues and bindings on a channel, once. Rejects (and the channel closes) on 406/403.
 * `deadLetterQueuesDeclared`: the dead-letter queues were declared already (declareTopology does it first, on
 * channels of their own, see there).
 */
export async function declareTopologyOn(channel: Channel, topology: Topology, opts: { deadLetterQueuesDeclared?: boolean } = {}): Promise<void> {
  await channel.assertExchange(topology.exchange, 'direct', { durable: true })
  await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true })
  const declared = new Set<string>()
  for (const inbox of topology.inboxes) {
    if (!declared.has(inbox.queue)) {
      declared.add(inbox.queue)
      if (!opts.deadLetterQueuesDeclared) await channel.assertQueue(inbox.deadLetterQueue, { durable: true, arguments: deadLetterQueueArguments(topology) })
      await channel.assertQueue(inbox.queue, { durable: true, arguments: inboxQueueArguments(topology) })
    }
    await channel.bindQueue(inbox.deadLetterQueue, topology.deadLetterExchange, inbox.organId)
    await channel.bindQueue(inbox.queue, topology.exchange, inbox.organId)
  }
}

/**
 * Register the topology with the connection manager: it is declared on a short-lived channel after every
 * (re)connect, before later-registered setups (register it before creating the publisher and the consumer).
 * Returns the resolved names.
 */
export function declareTopology(connection: AmqpConnection, options: TopologyOptions, log: Pick<TransportLogger, 'warn'> = silentLogger): Topology & { remove: () => void } {
  const topology = resolveTopology(options)
  const remove = connection.addSetup(async (conn) => {
    const open = async () => {
      const c = await conn.createChannel()
      // A declaration failure closes the channel with an 'error' event; the rejected RPC reports it.
      c.on('error', () => {})
      return c
    }
    let ch = await open()
    // Dead-letter queues first: one declared before its bounds existed (or with other bounds) answers 406; it is
    // then used as it is (a warning says how to bound it with a policy) instead of failing the whole setup.
    for (const dlq of new Set(topology.inboxes.map((i) => i.deadLetterQueue))) {
      try {
        await ch.assertQueue(dlq, { durable: true, arguments: deadLetterQueueArguments(topology) })
      } catch (err) {
        if ((err as { code?: number }).code !== 406) throw err
        log.warn({ queue: dlq, err: reasonOf(err) }, 'dead-letter queue exists with other arguments: used as it is; bound it with a policy (max-length-bytes, overflow reject-publish)')
        ch = await open()
      }
    }
    await declareTopologyOn(ch, topology, { deadLetterQueuesDeclared: true })
    await ch.close()
  })
  return { ...topology, remove }
}
