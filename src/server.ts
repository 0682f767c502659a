/**
 * The gateway process: config → store → signers → AMQP connection (topology, confirmed publisher) → outbox relay
 * → API (buildApp) → listen. `close()` shuts down in the reverse order: stop accepting requests and finish the
 * in-flight ones, stop the relay (outstanding confirms get a few seconds), close AMQP, close the store.
 *
 * The broker does not have to be up: the API accepts documents into the outbox while the connection manager keeps
 * retrying (with a log line that names the URL and what to do), and the relay publishes them once it connects.
 */
import { EventEmitter } from 'node:events'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { createPackagePool, type PackagePool } from './pipeline/package-pool.js'
import { createRelay, type Relay } from './pipeline/relay.js'
import { loadSigners } from './pipeline/signers.js'
import { createStatusSender } from './pipeline/statuses.js'
import { trustVerifier } from './pipeline/trust.js'
import { attachWebhooks, createWebhookDispatcher, type WebhookDispatcher } from './pipeline/webhooks.js'
import { startReceiver, topologyOptions, type Receiver } from './pipeline/receiver.js'
import { connectionInspector, createMetrics } from './metrics.js'
import { openPgStore, openSqliteStore, type Store } from './store/index.js'
import { createAmqpConnection, createPublisher, declareTopology, type AmqpConnection, type Publisher } from './transport/index.js'

export interface RunningGateway {
  readonly app: FastifyInstance
  readonly store: Store
  readonly relay: Relay
  readonly connection: AmqpConnection
  readonly publisher: Publisher
  /** Consumes the hosted agencies' inbox queues (receive path). */
  readonly receiver: Receiver | undefined
  /** POSTs events (document received, status changed, recall requested) to the DMS clients' webhooks. */
  readonly webhooks: WebhookDispatcher
  readonly logger: Logger
  /** `http://host:port` the API listens on. */
  readonly url: string
  close(): Promise<void>
}

export interface StartOptions {
  /** Default: a pino logger with the configured level on stdout. */
  logger?: Logger
  /** Listen (default true); false builds everything but the listener (bench, tests). */
  listen?: boolean
  /** Consume the hosted agencies' inbox queues (default true); false: send-only (tests that read the queues). */
  receive?: boolean
}

export async function startGateway(config: Config, opts: StartOptions = {}): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger({ level: config.log.level })
  const storeLogger = logger.child({ area: 'store' })
  let store: Store
  if (config.store.driver === 'postgres' && config.store.url) {
    store = await openPgStore(config.store.url, { logger: storeLogger })
  } else {
    mkdirSync(path.dirname(config.store.path), { recursive: true })
    store = await openSqliteStore(config.store.path, { logger: storeLogger, synchronous: config.store.synchronous })
  }
  let connection: AmqpConnection | undefined
  let packager: PackagePool | undefined
  try {
    const signers = await loadSigners(config)
    if (config.pipeline.workers > 0) packager = await createPackagePool(config.agencies, config.pipeline.workers)
    const tlog = logger.child({ area: 'transport' })
    connection = createAmqpConnection({
      url: config.amqp.url,
      heartbeatSeconds: config.amqp.heartbeatSeconds,
      initialDelayMs: config.amqp.reconnect.initialDelayMs,
      maxDelayMs: config.amqp.reconnect.maxDelayMs,
      connectionName: `lienthong ${config.agencies.map((a) => a.organId).join(',')}`,
      logger: tlog,
    })
    let warned = false
    connection.on('connectFailed', (f) => {
      if (warned || f.irrecoverable) return
      warned = true
      logger.warn(
        { url: connection?.redactedUrl },
        `RabbitMQ is not reachable at ${connection?.redactedUrl}: start it (e.g. "systemctl start rabbitmq-server" or ` +
          `"docker run -p 5672:5672 rabbitmq:3"), or set amqp.url / LIENTHONG_AMQP_URL. The gateway keeps retrying; ` +
          `the API still accepts documents and they wait in the outbox until the broker is back.`,
      )
    })
    connection.on('connect', () => {
      if (warned) logger.info({ url: connection?.redactedUrl }, 'RabbitMQ reachable again; the outbox is being published')
      warned = false
    })
    declareTopology(connection, topologyOptions(config))
    const publisher = createPublisher(connection, { exchange: config.amqp.exchange, logger: tlog })
    // one Prometheus registry per gateway: publish and verify latency measured where they happen
    const metrics = createMetrics()
    const relay = createRelay({
      store,
      publisher: metrics.wrapPublisher(publisher),
      batchSize: config.relay.batchSize,
      maxInFlight: config.relay.maxInFlight,
      pollIntervalMs: config.relay.pollIntervalMs,
      retryDelayMs: config.relay.retryDelayMs,
      logger: logger.child({ area: 'relay' }),
    })
    // a (re)connect is a good moment to look at the outbox
    connection.on('connect', () => relay.wake())
    relay.start()
    // one status sender: 01/02 of the receiver, the DMS's statuses and recalls, the operator's replays
    const statuses = createStatusSender({ store, agencies: config.agencies, limits: config.limits, signers, relay, logger: logger.child({ area: 'statuses' }) })
    // one verifier over config.trust for the receiver, POST /v1/verify and operator replays (CRL files re-read when changed)
    const trust = trustVerifier(config)
    if (opts.receive !== false) trust.current() // unreadable trust files stop a receiving gateway at start
    const receiver = opts.receive === false ? undefined : startReceiver({ config, store, connection, signers, relay, logger, statuses, verifier: metrics.wrapVerifier(trust.verifier) })
    // an operator's replay of a rejected package is announced like a package the receive pipeline stored (webhooks)
    const replays = new EventEmitter()
    const ops = { metrics, queueInspector: connectionInspector(connection), events: replays }
    const app = await buildApp(config, { store, signers, relay, broker: connection, logger, statuses, trust, ops, ...(packager ? { packager } : {}) })
    // webhooks never block the receive pipeline: notify() only queues; pending deliveries are kept in the event log
    const webhooks = createWebhookDispatcher({ config, store, logger: logger.child({ area: 'webhooks' }) })
    if (receiver) attachWebhooks(receiver.pipeline, webhooks, { store, logger })
    attachWebhooks(replays, webhooks, { store, logger })
    await webhooks.start()
    let url = ''
    if (opts.listen !== false) {
      url = await app.listen({ host: config.http.host, port: config.http.port })
    } else {
      await app.ready()
    }
    const conn = connection
    const pool = packager
    let closing: Promise<void> | undefined
    return {
      app,
      store,
      relay,
      connection: conn,
      publisher,
      receiver,
      webhooks,
      logger,
      url,
      close() {
        closing ??= (async () => {
          await app.close().catch((e: unknown) => logger.error({ err: e }, 'closing the API failed'))
          await receiver?.stop().catch((e: unknown) => logger.error({ err: e }, 'stopping the receiver failed'))
          await webhooks.stop()
          await pool?.close()
          await relay.stop({ timeoutMs: 5000 })
          await publisher.close({ timeoutMs: 2000 }).catch(() => {})
          await conn.close().catch(() => {})
          await store.close().catch((e: unknown) => logger.error({ err: e }, 'closing the store failed'))
        })()
        return closing
      },
    }
  } catch (e) {
    await packager?.close().catch(() => {})
    await connection?.close().catch(() => {})
    await store.close().catch(() => {})
    throw e
  }
}
