/**
 * The receiving side of a gateway process: declares the hosted agencies' inbox queues (idempotent; the same
 * topology the relay side declares), consumes them with manual ack and the configured prefetch, and hands every
 * message to the incoming pipeline. Status packages it sends (01, 02) go through the outbox and the relay.
 *
 * `stop()` cancels the subscriptions, waits for the messages being handled (each ends stored and acked, or back in
 * the queue) and closes the consumer's channel; it does not close the connection.
 */
import { randomUUID } from 'node:crypto'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import type { Verifier } from '../signature/index.js'
import type { Store } from '../store/index.js'
import { createConsumer, declareTopology, type AmqpConnection, type Consumer, type TopologyOptions } from '../transport/index.js'
import { createIncomingPipeline, type IncomingPipeline } from './incoming.js'
import type { SignerLike } from './outgoing.js'
import { createInspector, type Inspector } from './inspect.js'
import { createStatusSender, type StatusSender } from './statuses.js'
import { verifierFromTrust } from './trust.js'

export interface ReceiverDeps {
  config: Config
  store: Store
  connection: AmqpConnection
  /** Default: built from config.trust (verifierFromConfig). */
  verifier?: Pick<Verifier, 'verify'>
  signers: ReadonlyMap<string, SignerLike>
  /** The outbox relay, woken when a status package (01/02) is stored. */
  relay: { wake(): void }
  /** Sends the statuses (01/02); default: createStatusSender over store, signers and relay. */
  statuses?: StatusSender
  logger?: Logger
  clock?: () => Date
  newId?: () => string
  /** Consumer retry delay for transient failures, ms (default 5000). */
  retryDelayMs?: number
}

/**
 * The receive workers (config.pipeline.receiveWorkers threads, started on first use; none when 0): packages of
 * pipeline.receiveInlineBytes or more are parsed and verified there, with a verifier of their own over config.trust
 * (the one `verifierFromConfig` builds: the same files, the same rules), so the event loop never holds a 50 MB
 * package's XML reading or digest. Jobs beyond the workers wait; the consumers' prefetch bounds how many.
 */
export function receiveInspector(config: Pick<Config, 'trust' | 'pipeline'>): Inspector | undefined {
  if (config.pipeline.receiveWorkers <= 0) return undefined
  return createInspector({ config: { trust: config.trust, pipeline: { ...config.pipeline, inspectWorkers: config.pipeline.receiveWorkers, inspectQueue: 100_000 } } })
}

export interface Receiver {
  readonly pipeline: IncomingPipeline
  readonly statuses: StatusSender
  readonly consumer: Consumer
  readonly queues: readonly string[]
  /** Resolves once subscribed to every inbox queue. */
  whenConsuming(opts?: { timeoutMs?: number }): Promise<void>
  stop(): Promise<void>
}

/** A verifier over the configured trust anchors, intermediates and CRLs (files read once). */
export const verifierFromConfig = (config: Pick<Config, 'trust'>): Verifier => verifierFromTrust(config)

/** The exchanges and inbox queues of the hosted agencies, as configured (the relay side declares the same). */
export function topologyOptions(config: Pick<Config, 'agencies' | 'amqp'>): TopologyOptions {
  return {
    hostedOrganIds: config.agencies.map((a) => a.organId),
    exchange: config.amqp.exchange,
    deadLetterExchange: config.amqp.deadLetterExchange,
    inboxQueuePrefix: config.amqp.queuePrefix,
    deadLetterQueuePrefix: config.amqp.deadLetterQueuePrefix,
    queueType: config.amqp.queueType,
    deadLetterBounds: { maxBytes: config.amqp.deadLetterMaxBytes, maxLength: config.amqp.deadLetterMaxLength },
  }
}

export function startReceiver(deps: ReceiverDeps): Receiver {
  const { config, store, connection } = deps
  const logger = deps.logger?.child({ area: 'receive' })
  const statuses =
    deps.statuses ??
    createStatusSender({
      store,
      agencies: config.agencies,
      signers: deps.signers,
      relay: deps.relay,
      ...(deps.clock ? { clock: deps.clock } : {}),
      newId: deps.newId ?? randomUUID,
      ...(logger ? { logger } : {}),
    })
  const readers = receiveInspector(config)
  const pipeline = createIncomingPipeline({
    config,
    ...(readers ? { offload: { inspector: readers, minBytes: config.pipeline.receiveInlineBytes } } : {}),
    store,
    verifier: deps.verifier ?? verifierFromConfig(config),
    statuses,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.newId ? { newId: deps.newId } : {}),
    ...(logger ? { logger } : {}),
    deliveryLimit: config.amqp.deliveryLimit,
  })
  const topology = declareTopology(connection, topologyOptions(config), logger)
  const consumer = createConsumer(connection, {
    queues: topology.queues,
    handler: (msg) => pipeline.handle(msg),
    prefetch: config.amqp.prefetch,
    attempts: { begin: (key, atLeast) => store.beginDelivery(key, atLeast), end: (key, unfinished) => store.endDelivery(key, unfinished) },
    ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    ...(logger ? { logger } : {}),
  })
  let stopping: Promise<void> | undefined
  return {
    pipeline,
    statuses,
    consumer,
    queues: topology.queues,
    whenConsuming: (opts) => consumer.whenConsuming(opts),
    stop() {
      stopping ??= (async () => {
        await consumer.stop()
        topology.remove()
        await readers?.close()
      })()
      return stopping
    },
  }
}
