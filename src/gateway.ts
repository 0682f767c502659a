/**
 * createGateway(config, overrides?): every service of a gateway, wired in this one place. `src/server.ts` (the
 * process) and the tests' app builder (`test/helper.ts`) both build on it; `src/app.ts` turns it into the HTTP API.
 *
 * In this order: logger and clock → store → signers → package pool (worker threads) → trust (one verifier over
 * config.trust) → metrics → AMQP connection, topology and confirmed publisher → outbox relay (started) → the
 * outbox (sign → store → wake) and its re-signer (packages that waited for their token, started) → status sender
 * → outgoing pipeline → use-cases (recall, inbox) → receiver (consuming) → webhooks (delivering). `close()` stops
 * them in the reverse order.
 *
 * Overrides replace a service (tests pass a fake relay, a broker status, a pinned clock...). What is given is the
 * caller's: the gateway never closes a store, pool or relay it did not open. A gateway given a `relay` owns no
 * transport: no AMQP connection, no receiver and no webhook deliveries (an API-only gateway, as the API tests use).
 *
 * If building fails half-way, whatever was already started is stopped before the error is thrown.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { EventEmitter } from 'node:events'
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { connectionInspector, createMetrics, registerAxisMetrics, type GatewayMetrics, type QueueInspector } from './metrics.js'
import type { DeadLetterDeps } from './pipeline/deadletter.js'
import { createInbox, type Inbox } from './pipeline/inbox.js'
import { createOutbox, type Outbox, type RelayWake, type SignerLike } from './pipeline/outbox.js'
import { createOutgoingPipeline, type OutgoingPipeline } from './pipeline/outgoing.js'
import type { OverduePolicyConfig } from './pipeline/overdue.js'
import { createInspector, type Inspector } from './pipeline/inspect.js'
import { createPackagePool, type PackagePool } from './pipeline/package-pool.js'
import { createRecall, type Recall } from './pipeline/recall.js'
import { startReceiver, topologyOptions, type Receiver } from './pipeline/receiver.js'
import { createRelay, type Relay } from './pipeline/relay.js'
import { createResigner, type Resigner, type ResignerDeps } from './pipeline/resigner.js'
import { createRetention, type Retention } from './pipeline/retention.js'
import { loadSigners } from './pipeline/signers.js'
import { createStatusSender, type StatusSender } from './pipeline/statuses.js'
import { offsetClock, revocationCheckerFor, timestamperFor, trustVerifier, tsaTrustFor, type TrustVerifier } from './pipeline/trust.js'
import { createTrustWatch, type TrustWatch, type TrustWatchOptions } from './pipeline/trust-watch.js'
import { attachWebhooks, createWebhookDispatcher, type WebhookDispatcher } from './pipeline/webhooks.js'
import type { Timestamper, Verifier } from './signature/index.js'
import { checkLogAnchors, createLogAnchorer, type AnchorCheck, type LogAnchorer } from './pipeline/log-anchors.js'
import { openPgStore, openSqliteStore, type Store, type VerifyLogResult } from './store/index.js'
import { createAmqpConnection, createPublisher, declareTopology, type AmqpConnection, type AmqpTlsOptions, type Publisher } from './transport/index.js'
import { createAxisConnector, storeWithPending, type AxisConnector } from './vxp/connector.js'
import { routeMatcher } from './vxp/routes.js'

/** Broker connection status (readiness, console): the transport's AmqpConnection fits. */
export interface BrokerState {
  readonly state: string
  readonly redactedUrl?: string
}

/** Collaborators of the operator routes (see src/api/routes/operator.ts `OpsDeps`), as the gateway provides them. */
export interface GatewayOps {
  metrics?: GatewayMetrics
  queueInspector?: QueueInspector
  statuses?: StatusSender
  verifier?: () => Pick<Verifier, 'verify'>
  overdue?: OverduePolicyConfig
  metricsPublic?: boolean
  events?: DeadLetterDeps['events']
}

export interface GatewayOverrides {
  /** Default: a pino logger with the configured level on stdout. */
  logger?: Logger
  /** Time source. Default: `() => new Date()`. */
  clock?: () => Date
  /** Package id source. Default: crypto.randomUUID. */
  newId?: () => string
  /** Default: the configured store, opened (and closed) by the gateway. */
  store?: Store
  /** Signer of each hosted agency, by OrganId. Default: loaded from the configuration. */
  signers?: ReadonlyMap<string, SignerLike>
  /** Worker threads that build and sign; `null`: none. Default: `pipeline.workers` threads (none when 0). */
  packager?: PackagePool | null
  /** The outbox relay to wake. Given: the gateway owns no transport (no AMQP, receiver or webhook deliveries). */
  relay?: RelayWake
  /** Broker status for /readyz and the console. Default: the gateway's AMQP connection (or "disconnected"). */
  broker?: BrokerState
  /** The verifier over config.trust shared by the receiver, POST /v1/verify and operator replays. */
  trust?: TrustVerifier
  /** Verifier of POST /v1/verify only. Default: `trust`. */
  verifier?: Verifier
  /**
   * Where POST /v1/verify verifies and the inbox routes unzip. Default: `pipeline.inspectWorkers` worker threads
   * over config.trust (started on first use), or in-process when `trust` or `verifier` is given.
   */
  inspector?: Inspector
  /** Sends every status package (receiver, inbox, recall, operator replay). */
  statuses?: StatusSender
  /** Operator routes' collaborators; each given one replaces the gateway's. */
  ops?: GatewayOps
  /** Consume the hosted agencies' inbox queues (default true); false: send-only. */
  receive?: boolean
  /** Run the periodic retention purge when config.retention sets a window (default true). */
  retention?: boolean
  /** The TSA that stamps every signature (CAdES-T) and the log head; `null`: none. Default: config.trust.tsa.url when set. */
  stamper?: Timestamper | null
  /** The trust watch's periods (src/pipeline/trust-watch.ts); false: no watch. */
  trustWatch?: Pick<TrustWatchOptions, 'intervalMs' | 'tokenProbeMs'> | false
  /** The re-signer's period (src/pipeline/resigner.ts); false: none (packages awaiting their signature stay so). */
  resigner?: Pick<ResignerDeps, 'intervalMs' | 'batchSize'> | false
}

export interface Gateway {
  readonly config: Config
  readonly logger: Logger
  readonly clock: () => Date
  readonly newId: () => string
  readonly store: Store
  readonly signers: ReadonlyMap<string, SignerLike>
  readonly packager: PackagePool | undefined
  readonly trust: TrustVerifier
  /** POST /v1/verify's verifier when overridden (else the route uses `trust`). */
  readonly verifier: Verifier | undefined
  /** Verifications and attachment readings off the event loop (src/pipeline/inspect.ts). */
  readonly inspector: Inspector
  readonly metrics: GatewayMetrics
  /** The gateway's own transport (absent when a relay was given). */
  readonly amqp: { readonly connection: AmqpConnection; readonly publisher: Publisher; readonly relay: Relay } | undefined
  readonly relay: RelayWake
  readonly broker: BrokerState
  readonly outbox: Outbox
  readonly statuses: StatusSender
  readonly outgoing: OutgoingPipeline
  readonly recall: Recall
  readonly inbox: Inbox
  readonly receiver: Receiver | undefined
  /** Webhook deliveries to the DMS clients (absent without an own transport). */
  readonly webhooks: WebhookDispatcher | undefined
  /** The periodic retention purge (started when config.retention sets a window). */
  readonly retention: Retention
  /** The national-axis connector (vxp.axis; absent without it or without an own transport). */
  readonly axis: AxisConnector | undefined
  /** Timestamps of the delivery log's chain head (log.anchor with trust.tsa.url). */
  readonly anchorer: LogAnchorer | undefined
  /** The TSA that stamps signatures and log heads (trust.tsa.url). */
  readonly tsa: Timestamper | undefined
  /** With trust.tsa: the check of the log anchors against the log (GET /v1/log/verify). */
  readonly logAnchors: ((chain: VerifyLogResult) => Promise<AnchorCheck>) | undefined
  /** Expiry of own certificates, anchors, intermediates and CRLs; PKCS#11 token probes (src/pipeline/trust-watch.ts). */
  readonly trustWatch: TrustWatch | undefined
  /** Signs the packages stored while their signing token was unavailable (src/pipeline/resigner.ts). */
  readonly resigner: Resigner | undefined
  /** Operator routes' collaborators: metrics, queue inspector, status sender, replay verifier, replay events. */
  readonly ops: GatewayOps & { metrics: GatewayMetrics; statuses: StatusSender; verifier: () => Pick<Verifier, 'verify'> }
  /** Stop everything this gateway started, in reverse order; idempotent. */
  close(): Promise<void>
}

/** Open the configured store (creating the SQLite file's folder). */
async function openConfiguredStore(config: Config, logger: Logger): Promise<Store> {
  const storeLogger = logger.child({ area: 'store' })
  if (config.store.driver === 'postgres' && config.store.url) return openPgStore(config.store.url, { logger: storeLogger })
  mkdirSync(path.dirname(config.store.path), { recursive: true })
  return openSqliteStore(config.store.path, { logger: storeLogger, synchronous: config.store.synchronous })
}

/** The AMQP connection with its operator-facing warnings, topology, confirmed publisher and relay. */
function startTransport(config: Config, store: Store, logger: Logger, metrics: GatewayMetrics, stack: Stack) {
  const tlog = logger.child({ area: 'transport' })
  const connection = createAmqpConnection({
    url: config.amqp.url,
    heartbeatSeconds: config.amqp.heartbeatSeconds,
    initialDelayMs: config.amqp.reconnect.initialDelayMs,
    maxDelayMs: config.amqp.reconnect.maxDelayMs,
    connectionName: `lienthong ${config.agencies.map((a) => a.organId).join(',')}`,
    ...(config.amqp.tls ? { tls: amqpTlsFiles(config.amqp.tls) } : {}),
    logger: tlog,
  })
  stack.push(() => connection.close().catch(() => {}))
  let warned = false
  connection.on('connectFailed', (f) => {
    if (warned || f.irrecoverable) return
    warned = true
    logger.warn(
      { url: connection.redactedUrl },
      `RabbitMQ is not reachable at ${connection.redactedUrl}: start it (e.g. "systemctl start rabbitmq-server" or ` +
        `"docker run -p 5672:5672 rabbitmq:3"), or set amqp.url / LIENTHONG_AMQP_URL. The gateway keeps retrying; ` +
        `the API still accepts documents and they wait in the outbox until the broker is back.`,
    )
  })
  connection.on('connect', () => {
    if (warned) logger.info({ url: connection.redactedUrl }, 'RabbitMQ reachable again; the outbox is being published')
    warned = false
  })
  declareTopology(connection, topologyOptions(config), tlog)
  const publisher = createPublisher(connection, { exchange: config.amqp.exchange, logger: tlog })
  stack.push(() => publisher.close({ timeoutMs: 2000 }).catch(() => {}))
  // recipients routed through the national axis are the axis connector's, not the broker's
  const via = routeMatcher(config.vxp.routes)
  const relayStore = config.vxp.routes.some((r) => r.via === 'axis') ? storeWithPending(store, (d) => via(d.recipient) !== 'axis') : store
  // publish latency measured where it happens
  const relay = createRelay({
    store: relayStore,
    publisher: metrics.wrapPublisher(publisher),
    batchSize: config.relay.batchSize,
    maxInFlight: config.relay.maxInFlight,
    maxInFlightBytes: config.relay.maxInFlightBytes,
    pollIntervalMs: config.relay.pollIntervalMs,
    retryDelayMs: config.relay.retryDelayMs,
    logger: logger.child({ area: 'relay' }),
    // several processes on one PostgreSQL database share the outbox; an SQLite file is one process's
    ...(config.store.driver === 'postgres' ? { lease: { owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, ms: config.relay.leaseMs } } : {}),
  })
  // a (re)connect is a good moment to look at the outbox
  connection.on('connect', () => relay.wake())
  relay.start()
  stack.push(() => relay.stop({ timeoutMs: 5000 }))
  return { connection, publisher, relay }
}

/** amqp.tls: the PEM files read once (loadConfig checked that they exist). */
function amqpTlsFiles(tls: NonNullable<Config['amqp']['tls']>): AmqpTlsOptions {
  return {
    ...(tls.caPath ? { ca: readFileSync(tls.caPath) } : {}),
    ...(tls.certPath ? { cert: readFileSync(tls.certPath) } : {}),
    ...(tls.keyPath ? { key: readFileSync(tls.keyPath) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  }
}

type Stack = (() => Promise<unknown>)[]

export async function createGateway(config: Config, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const o = overrides
  const logger = o.logger ?? createLogger({ level: config.log.level })
  const clock = o.clock ?? (config.clock.offsetMs ? offsetClock(config.clock.offsetMs) : () => new Date())
  const newId = o.newId ?? randomUUID
  // what was started, to stop in reverse order (on close, or when a later step fails)
  const stack: Stack = []
  const unwind = async () => {
    for (const stop of stack.splice(0).reverse()) {
      await stop().catch((e: unknown) => logger.error({ err: e }, 'stopping a gateway service failed'))
    }
  }
  try {
    let store = o.store
    if (!store) {
      const own = await openConfiguredStore(config, logger)
      stack.push(() => own.close())
      store = own
    }
    let signers: ReadonlyMap<string, SignerLike>
    if (o.signers) signers = o.signers
    else {
      const own = await loadSigners(config)
      // sessions of PKCS#11 tokens are closed last
      stack.push(async () => {
        for (const s of own.values()) s.token?.close()
      })
      signers = own
    }
    let packager = o.packager ?? undefined
    if (o.packager === undefined && config.pipeline.workers > 0) {
      const own = await createPackagePool(config.agencies, config.pipeline.workers, config.trust.binding)
      stack.push(() => own.close())
      packager = own
    }
    // one verifier over config.trust (one cache, one CRL set; files re-read when changed)
    const trust = o.trust ?? trustVerifier(config)
    let inspector = o.inspector
    if (!inspector) {
      const injected = o.verifier ?? (o.trust ? undefined : null)
      const own = createInspector({ config, ...(injected === null ? {} : { verifier: () => injected ?? trust.current() }) })
      stack.push(() => own.close())
      inspector = own
    }
    // one Prometheus registry per gateway
    const metrics = o.ops?.metrics ?? createMetrics()
    // signs the packages stored while their token was unavailable (created with the outbox below)
    let resigner: Resigner | undefined
    // expiry of what we sign with and rely on, tokens probed; recomputed periodically
    let trustWatch: TrustWatch | undefined
    if (o.trustWatch !== false) {
      const revocation = config.trust.revocation
      const w = createTrustWatch({
        config,
        signers,
        clock,
        logger: logger.child({ area: 'trust' }),
        ...(revocation ? { revocation: () => revocationCheckerFor(revocation, config.trust.clockSkewMs) } : {}),
        onTokenUp: () => resigner?.wake(),
        ...(o.trustWatch ?? {}),
      })
      // a registry shared by several gateways (tests) has the gauges already
      if (!metrics.registry.getSingleMetric('lienthong_trust_expiry_days')) w.register(metrics)
      w.start()
      stack.push(() => w.stop())
      trustWatch = w
    }
    const amqp = o.relay ? undefined : startTransport(config, store, logger, metrics, stack)
    const amqpRelay: RelayWake = o.relay ?? (amqp as NonNullable<typeof amqp>).relay
    // a new delivery wakes the AMQP relay and, when there is one, the axis connector
    let axis: AxisConnector | undefined
    const relay: RelayWake = {
      wake(hint) {
        amqpRelay.wake(hint)
        axis?.wake()
      },
    }
    const broker: BrokerState = o.broker ?? amqp?.connection ?? { state: 'disconnected' }

    const stamper = o.stamper !== undefined ? o.stamper ?? undefined : timestamperFor(config)
    const tsaLog = logger.child({ area: 'tsa' })
    const signLog = logger.child({ area: 'signing' })
    const outbox = createOutbox({
      store,
      relay,
      ...(packager ? { packager } : {}),
      ...(stamper && config.trust.tsa ? { tsa: { stamper, onUnavailable: config.trust.tsa.onUnavailable, warn: (msg: string, err: unknown) => tsaLog.warn({ err }, msg) } } : {}),
      onAwaitingSignature: (n) => {
        const fields = { packageId: n.packageId, kind: n.kind, sender: n.senderOrganId, reason: n.reason }
        if (n.behind) signLog.info(fields, `package ${n.packageId} waits behind older packages of ${n.senderOrganId} awaiting their signature`)
        else signLog.warn(fields, `package ${n.packageId} stored awaiting its signature: the signing token of ${n.senderOrganId} is unavailable; it is signed and sent when the token is back`)
      },
      // the token may be back already (a package waiting behind older ones): the re-signer looks now
      awaitingStored: () => resigner?.wake(),
    })
    // waiting packages (of this run or an earlier one) are signed when their token is usable, then published
    if (o.resigner !== false) {
      const r = createResigner({ store, outbox, relay, signers, clock, logger: signLog, ...(o.resigner ?? {}) })
      r.start()
      stack.push(() => r.stop())
      resigner = r
    }
    const tsaRoots = config.trust.tsa ? tsaTrustFor(config) : undefined
    const logAnchors = tsaRoots ? (chain: VerifyLogResult) => checkLogAnchors(store, chain, tsaRoots) : undefined
    // the delivery log's chain head timestamped every log.anchor.everyEvents events / everyMinutes minutes
    let anchorer: LogAnchorer | undefined
    if (stamper && config.log.anchor) {
      const a = createLogAnchorer({ store, stamper, everyEvents: config.log.anchor.everyEvents, everyMinutes: config.log.anchor.everyMinutes, clock, logger: tsaLog })
      a.start()
      stack.push(() => a.stop())
      anchorer = a
    }
    // one status sender: 01/02 of the receiver, the DMS's statuses and recalls, the operator's replays
    const statuses =
      o.statuses ??
      createStatusSender({ store, agencies: config.agencies, limits: config.limits, signers, relay, outbox, clock, newId, logger: logger.child({ area: 'statuses' }) })
    const outgoing = createOutgoingPipeline({ config, store, signers, relay, outbox, clock, newId, logger, ...(packager ? { packager } : {}) })
    const recall = createRecall({ store, statuses, limits: config.limits })
    const inbox = createInbox({ store, statuses, limits: config.limits })

    // an operator's replay of a rejected package is announced like a package the receive pipeline stored (webhooks)
    const replays = o.ops?.events ?? new EventEmitter()
    let webhooks: WebhookDispatcher | undefined
    if (amqp) {
      // webhooks never block the receive pipeline: notify() only queues; pending deliveries are kept in the event log
      const w = createWebhookDispatcher({ config, store, logger: logger.child({ area: 'webhooks' }) })
      stack.push(() => w.stop())
      webhooks = w
    }
    let receiver: Receiver | undefined
    if (amqp && o.receive !== false) {
      trust.current() // unreadable trust files stop a receiving gateway at start
      const r = startReceiver({ config, store, connection: amqp.connection, signers, relay, logger, statuses, clock, verifier: metrics.wrapVerifier(trust.verifier) })
      stack.push(() => r.stop())
      receiver = r
    }
    if (receiver && config.vxp.axis) {
      const pipeline = receiver.pipeline
      const c = createAxisConnector({ config, store, receive: (input) => pipeline.receive(input), logger: logger.child({ area: 'axis' }), clock })
      c.start()
      stack.push(() => c.stop())
      registerAxisMetrics(metrics, () => c.status())
      axis = c
    }
    if (webhooks) {
      if (receiver) attachWebhooks(receiver.pipeline, webhooks, { store, logger })
      if (replays instanceof EventEmitter) attachWebhooks(replays, webhooks, { store, logger })
      await webhooks.start()
    }
    const retention = createRetention({ store, retention: config.retention, clock, logger: logger.child({ area: 'retention' }) })
    if (o.retention !== false && retention.enabled) {
      retention.start()
      stack.push(() => retention.stop())
      logger.info({ retention: config.retention }, 'retention purge scheduled')
    }
    // a replay checks the trust files first
    const replayVerifier = () => {
      trust.refresh(Date.now(), { force: true })
      return trust.current()
    }
    const ops = {
      ...(amqp ? { queueInspector: connectionInspector(amqp.connection) } : {}),
      statuses,
      verifier: replayVerifier,
      events: replays,
      ...o.ops,
      metrics,
    }

    let closing: Promise<void> | undefined
    return {
      config,
      logger,
      clock,
      newId,
      store,
      signers,
      packager,
      trust,
      verifier: o.verifier,
      inspector,
      metrics,
      amqp,
      relay,
      broker,
      outbox,
      statuses,
      outgoing,
      recall,
      inbox,
      receiver,
      webhooks,
      retention,
      axis,
      anchorer,
      tsa: stamper,
      logAnchors,
      trustWatch,
      resigner,
      ops,
      close() {
        closing ??= unwind()
        return closing
      },
    }
  } catch (e) {
    await unwind()
    throw e
  }
}
