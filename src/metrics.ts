/**
 * Prometheus metrics (prom-client), one Registry per gateway instance (never the global one, so two apps in one
 * test process do not clash).
 *
 * Counters since the process started, fed by tailing the hash-chained event log (every pipeline, in this process or
 * another one on the same database, appends there; nothing in the pipelines has to call the metrics):
 *   lienthong_documents_sent_total{sender}                  outgoing documents accepted (edoc, first recipient event)
 *   lienthong_status_packages_sent_total{sender,code}       outgoing status packages accepted (our 01/02, the DMS's 02-16)
 *   lienthong_deliveries_failed_total                        outgoing deliveries that became `failed`
 *   lienthong_documents_received_total{recipient}           incoming documents (edoc) verified and stored
 *   lienthong_status_packages_received_total{recipient,code} incoming status packages verified and stored
 *   lienthong_documents_rejected_total{code,kind}            incoming packages rejected, by verdict/error code and kind
 *                                                            (edoc, status, unknown: unreadable)
 *   lienthong_statuses_total{direction,code}                 statuses (01…16) applied to a delivery or an incoming
 *                                                            document, by direction and code
 * A status package is never a document: documents_* count edoc packages only.
 * Default process metrics (prom-client) carry the `lienthong_` prefix once: lienthong_process_cpu_seconds_total,
 * lienthong_nodejs_heap_size_used_bytes, ... (never `lienthong_process_process_…`).
 *   lienthong_operator_actions_total{action}                 replayed / discarded by an operator
 * Histograms, observed where the work happens (the publisher and verifier wrappers below):
 *   lienthong_publish_duration_seconds{outcome}              publish → broker confirm (or failure)
 *   lienthong_verify_duration_seconds{code}                  signature verification of incoming packages
 * Gauges, collected on scrape with cheap queries (a timeout on broker calls):
 *   lienthong_deliveries{state}, lienthong_incoming{state}, lienthong_outbox_backlog,
 *   lienthong_outbox_awaiting_signature (packages waiting for a signing token), lienthong_log_events,
 *   lienthong_overdue_deliveries, lienthong_queue_messages{agency,queue}, lienthong_certificate_expiry_days{agency},
 *   lienthong_metrics_scrape_errors_total{part}
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { DELIVERY_STATES, INCOMING_STATES } from './document/delivery.js'
import type { LogEvent, Store, StoreStats } from './store/index.js'
import { gwError } from './errors.js'

/** What the queue-depth gauge needs from an AMQP connection (the transport's AmqpConnection `current` fits). */
export interface QueueInspector {
  /** Messages ready in `queue`; rejects when the broker is unreachable or the queue is missing. */
  messageCount(queue: string): Promise<number>
}

export interface MetricsSources {
  store: Store
  /** Hosted agencies: OrganId → inbox and dead-letter queue names. */
  queues?: readonly { organId: string; inbox: string; deadLetter: string }[]
  inspector?: QueueInspector
  /** Hosted agencies' signing certificates: OrganId → notAfter (ISO). */
  certificates?: ReadonlyMap<string, string>
  /** Count of overdue deliveries (cached by the caller if expensive). */
  overdue?: () => Promise<number>
  clock?: () => Date
  /** Timeout of broker calls during a scrape, ms. Default 1000. */
  brokerTimeoutMs?: number
}

export interface GatewayMetrics {
  readonly registry: Registry
  /** Attach the scrape-time sources (once per app). */
  bind(sources: MetricsSources): void
  /** Read new log events into the counters (also done on every scrape). */
  tail(): Promise<void>
  /** Prometheus text exposition. */
  text(): Promise<string>
  readonly contentType: string
  observePublish(seconds: number, outcome: 'confirmed' | 'failed' | 'unavailable'): void
  observeVerify(seconds: number, code: string): void
  /** Wrap a publisher so that every publish is timed until its confirm. */
  wrapPublisher<P extends { publish(msg: M): Promise<R> }, M, R>(publisher: P): P
  /** Wrap a verifier (`verify(...)` resolving to a verdict with `code`) so that every verification is timed. */
  wrapVerifier<V extends { verify(...args: any[]): Promise<{ code: string }> }>(verifier: V): V
  stop(): void
}

const PUBLISH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const VERIFY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new RangeError(`timed out after ${ms} ms`)), ms)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    )
  })

/** A member of the wrapped object, read and bound on the object itself (its #private fields need `this` = it). */
function passThrough(target: object, prop: string | symbol): unknown {
  const v = Reflect.get(target, prop, target) as unknown
  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
}

/** The rejection code of an incoming `rejected` event: verdict code, else the GW_ERR_* code of the cause. */
export function rejectionCode(e: Pick<LogEvent, 'detail' | 'cause'>): string {
  const v = e.detail.verdict
  if (typeof v === 'string' && v !== '' && v !== 'VALID') return v
  const m = /\b(GW_ERR_[A-Z0-9_]+)\b/.exec(e.cause ?? '')
  if (m) return m[1]!
  const code = e.detail.code
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN'
}

export function createMetrics(opts: { defaultMetrics?: boolean; prefix?: string } = {}): GatewayMetrics {
  const registry = new Registry()
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'lienthong_' })
  const registers = [registry]
  const sent = new Counter({ name: 'lienthong_documents_sent_total', help: 'Outgoing documents accepted (signed and stored) since start, by sender', labelNames: ['sender'], registers })
  const statusSent = new Counter({ name: 'lienthong_status_packages_sent_total', help: 'Outgoing status packages accepted (signed and stored) since start, by sender and status code; not documents', labelNames: ['sender', 'code'], registers })
  const statusReceived = new Counter({ name: 'lienthong_status_packages_received_total', help: 'Incoming status packages verified and stored since start, by hosted recipient and status code; not documents', labelNames: ['recipient', 'code'], registers })
  const failed = new Counter({ name: 'lienthong_deliveries_failed_total', help: 'Outgoing deliveries that became failed since start', registers })
  const received = new Counter({ name: 'lienthong_documents_received_total', help: 'Incoming documents (edoc packages, not status packages) verified and stored since start, by hosted recipient', labelNames: ['recipient'], registers })
  const rejected = new Counter({ name: 'lienthong_documents_rejected_total', help: 'Incoming packages rejected since start, by verdict or error code and package kind (edoc, status, unknown)', labelNames: ['code', 'kind'], registers })
  const statuses = new Counter({ name: 'lienthong_statuses_total', help: 'Statuses applied since start, by direction (out: answers to our documents; in: statuses about documents we received) and code', labelNames: ['direction', 'code'], registers })
  const operatorActions = new Counter({ name: 'lienthong_operator_actions_total', help: 'Dead letters replayed or discarded by operators since start', labelNames: ['action'], registers })
  const publish = new Histogram({ name: 'lienthong_publish_duration_seconds', help: 'Time from publish to the broker confirm (or failure)', labelNames: ['outcome'], buckets: PUBLISH_BUCKETS, registers })
  const verify = new Histogram({ name: 'lienthong_verify_duration_seconds', help: 'Signature verification time of incoming packages, by verdict code', labelNames: ['code'], buckets: VERIFY_BUCKETS, registers })
  const scrapeErrors = new Counter({ name: 'lienthong_metrics_scrape_errors_total', help: 'Parts of a scrape that could not be collected (store, broker, overdue)', labelNames: ['part'], registers })
  for (const p of ['store', 'broker', 'overdue', 'log']) scrapeErrors.inc({ part: p }, 0)
  for (const a of ['replayed', 'discarded']) operatorActions.inc({ action: a }, 0)
  failed.inc(0)

  let sources: MetricsSources | undefined
  /** Last log seq counted; undefined until the first tail (which starts at the current head: counters since start). */
  let lastSeq: number | undefined
  let tailing: Promise<void> | undefined

  const count = (e: LogEvent): void => {
    if (e.type === 'replayed' || e.type === 'discarded') operatorActions.inc({ action: e.type })
    if (e.statusCode !== undefined && e.type === 'status') statuses.inc({ direction: e.direction, code: e.statusCode })
    if (!e.changed) return
    if (e.direction === 'out') {
      if (e.state === 'accepted' && e.fromState === undefined && (e.detail.kind === 'edoc' || e.detail.kind === 'status') && e.packageId !== undefined) {
        // one per package: recordOutgoing writes one accepted event per recipient, the first delivery counts
        if (!seenPackages.has(e.packageId)) {
          seenPackages.add(e.packageId)
          if (seenPackages.size > 10_000) seenPackages.delete(seenPackages.values().next().value as string)
          if (e.detail.kind === 'edoc') sent.inc({ sender: e.sender ?? 'unknown' })
          else statusSent.inc({ sender: e.sender ?? 'unknown', code: e.statusCode ?? 'unknown' })
        }
      }
      if (e.state === 'failed') failed.inc()
    } else {
      if (e.state === 'arrived' && e.fromState === undefined) {
        if (e.detail.kind === 'status') statusReceived.inc({ recipient: e.recipient ?? 'unknown', code: e.statusCode ?? 'unknown' })
        else received.inc({ recipient: e.recipient ?? 'unknown' })
      }
      if (e.state === 'rejected') rejected.inc({ code: rejectionCode(e), kind: typeof e.detail.kind === 'string' ? e.detail.kind : 'unknown' })
    }
  }
  const seenPackages = new Set<string>()

  async function tailOnce(): Promise<void> {
    const s = sources
    if (!s) return
    if (lastSeq === undefined) {
      lastSeq = (await s.store.stats()).events
      return
    }
    const fresh: LogEvent[] = []
    let cursor: string | undefined
    // newest first until the last counted row; at most 200 pages per round (the rest waits for the next one)
    for (let i = 0; i < 200; i++) {
      const page = await s.store.listEvents({ limit: 1000, ...(cursor ? { cursor } : {}) })
      let reached = false
      for (const e of page.items) {
        if (e.seq <= lastSeq) {
          reached = true
          break
        }
        fresh.push(e)
      }
      if (reached || !page.next) break
      cursor = page.next
    }
    fresh.sort((a, b) => a.seq - b.seq)
    for (const e of fresh) count(e)
    if (fresh.length) lastSeq = fresh[fresh.length - 1]!.seq
  }

  const tail = (): Promise<void> => {
    tailing ??= tailOnce()
      .catch(() => scrapeErrors.inc({ part: 'log' }))
      .finally(() => (tailing = undefined))
    return tailing
  }

  let bound = false
  /** Set by text(): the next gauge collection reads the store again. */
  let statsStale = false
  const m: GatewayMetrics = {
    registry,
    contentType: registry.contentType,
    bind(src) {
      sources = src
      if (bound) return
      bound = true
      // one store query per scrape, shared by the gauges (the registry collects them concurrently)
      let statsAt = 0
      let statsP: Promise<StoreStats | undefined> | undefined
      const currentStats = (): Promise<StoreStats | undefined> => {
        if (!statsP || Date.now() - statsAt > 50 || statsStale) {
          statsStale = false
          statsAt = Date.now()
          statsP = sources!.store.stats().catch(() => {
            scrapeErrors.inc({ part: 'store' })
            return undefined
          })
        }
        return statsP
      }
      new Gauge({
        name: 'lienthong_deliveries',
        help: 'Outgoing deliveries by state (store)',
        labelNames: ['state'],
        registers,
        async collect() {
          const st = await currentStats()
          if (st) for (const state of DELIVERY_STATES) this.set({ state }, st.deliveriesByState[state] ?? 0)
        },
      })
      new Gauge({
        name: 'lienthong_incoming',
        help: 'Incoming packages by state (store)',
        labelNames: ['state'],
        registers,
        async collect() {
          const st = await currentStats()
          if (st) for (const state of INCOMING_STATES) this.set({ state }, st.incomingByState[state] ?? 0)
        },
      })
      new Gauge({
        name: 'lienthong_outbox_backlog',
        help: 'Deliveries accepted but not yet confirmed by the broker',
        registers,
        async collect() {
          const st = await currentStats()
          if (st) this.set(st.outboxBacklog)
        },
      })
      new Gauge({
        name: 'lienthong_outbox_awaiting_signature',
        help: 'Packages stored while their signing token (PKCS#11) was unavailable, waiting for their signature: not published until the token is back',
        registers,
        async collect() {
          const st = await currentStats()
          if (st) this.set(st.awaitingSignature)
        },
      })
      new Gauge({
        name: 'lienthong_log_events',
        help: 'Rows in the hash-chained delivery log',
        registers,
        async collect() {
          const st = await currentStats()
          if (st) this.set(st.events)
        },
      })
      new Gauge({
        name: 'lienthong_store_up',
        help: '1 when the store answered the scrape',
        registers,
        async collect() {
          this.set((await currentStats()) ? 1 : 0)
        },
      })
      new Gauge({
        name: 'lienthong_overdue_deliveries',
        help: 'Deliveries queued and not answered with 01 by their due time (GET /v1/operator/overdue)',
        registers,
        async collect() {
          const s = sources!
          if (!s.overdue) return
          try {
            this.set(await s.overdue())
          } catch {
            scrapeErrors.inc({ part: 'overdue' })
          }
        },
      })
      new Gauge({
        name: 'lienthong_queue_messages',
        help: 'Messages waiting in the broker queues of each hosted agency (inbox, dead-letter); absent when the broker did not answer',
        labelNames: ['agency', 'queue'],
        registers,
        async collect() {
          const s = sources!
          this.reset()
          if (!s.inspector || !s.queues) return
          const inspector = s.inspector
          const ms = s.brokerTimeoutMs ?? 1000
          const jobs = s.queues.flatMap((q) => [
            withTimeout(inspector.messageCount(q.inbox), ms).then((n) => this.set({ agency: q.organId, queue: 'inbox' }, n)),
            withTimeout(inspector.messageCount(q.deadLetter), ms).then((n) => this.set({ agency: q.organId, queue: 'dead-letter' }, n)),
          ])
          const results = await Promise.allSettled(jobs)
          if (results.some((r) => r.status === 'rejected')) scrapeErrors.inc({ part: 'broker' })
        },
      })
      new Gauge({
        name: 'lienthong_certificate_expiry_days',
        help: 'Days until the signing certificate of each hosted agency expires (negative: expired)',
        labelNames: ['agency'],
        registers,
        collect() {
          const s = sources!
          const now = (s.clock ?? (() => new Date()))().getTime()
          for (const [agency, notAfter] of s.certificates ?? []) {
            const t = Date.parse(notAfter)
            if (Number.isFinite(t)) this.set({ agency }, Math.floor(((t - now) / 86_400_000) * 100) / 100)
          }
        },
      })
      void tail()
    },
    tail,
    async text() {
      // counters first: the registry collects every family concurrently
      await tail()
      statsStale = true
      return registry.metrics()
    },
    observePublish(seconds, outcome) {
      publish.observe({ outcome }, seconds)
    },
    observeVerify(seconds, code) {
      verify.observe({ code }, seconds)
    },
    wrapPublisher(publisher) {
      const inner = publisher.publish.bind(publisher)
      return new Proxy(publisher, {
        get(target, prop) {
          if (prop !== 'publish') return passThrough(target, prop)
          return (msg: Parameters<typeof inner>[0]) => {
            const t0 = process.hrtime.bigint()
            const sec = () => Number(process.hrtime.bigint() - t0) / 1e9
            return inner(msg).then(
              (r) => (m.observePublish(sec(), 'confirmed'), r),
              (e: unknown) => {
                const code = (e as { code?: unknown })?.code
                m.observePublish(sec(), code === 'GW_ERR_TRANSPORT_UNAVAILABLE' ? 'unavailable' : 'failed')
                throw e
              },
            )
          }
        },
      })
    },
    wrapVerifier(verifier) {
      const inner = verifier.verify.bind(verifier)
      return new Proxy(verifier, {
        get(target, prop) {
          if (prop !== 'verify') return passThrough(target, prop)
          return async (...args: unknown[]) => {
            const t0 = process.hrtime.bigint()
            const v = await inner(...args)
            m.observeVerify(Number(process.hrtime.bigint() - t0) / 1e9, v.code)
            return v
          }
        },
      })
    },
    stop() {
      sources = undefined
    },
  }
  return m
}

/** A QueueInspector over the transport's managed connection (`connection.current` while connected). */
export function connectionInspector(connection: {
  readonly current:
    | { createChannel(): Promise<{ checkQueue(q: string): Promise<{ messageCount: number }>; close(): Promise<void>; on(ev: 'error', f: (e: unknown) => void): unknown }> }
    | undefined
}): QueueInspector {
  return {
    async messageCount(queue) {
      const conn = connection.current
      if (!conn) throw gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: 'broker', reason: 'not connected' })
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      try {
        return (await ch.checkQueue(queue)).messageCount
      } finally {
        await ch.close().catch(() => {})
      }
    },
  }
}

/** What the axis gauges read (src/vxp/connector.ts `status`). */
export interface AxisMetricsSource {
  state: string
  backlog: number
  sent: number
  received: number
  failedAttempts: number
}

/**
 * The axis connector's gauges: lienthong_axis_up (1 when the last call answered), lienthong_axis_backlog
 * (deliveries waiting for the axis), lienthong_axis_packages{direction} (sent / taken since start) and
 * lienthong_axis_failed_attempts (since start).
 */
export function registerAxisMetrics(m: Pick<GatewayMetrics, 'registry'>, status: () => AxisMetricsSource): void {
  const registers = [m.registry]
  new Gauge({ name: 'lienthong_axis_up', help: 'The national axis answered the last call (1) or not (0)', registers, collect() { this.set(status().state === 'connected' ? 1 : 0) } })
  new Gauge({ name: 'lienthong_axis_backlog', help: 'Deliveries waiting to be sent through the national axis', registers, collect() { this.set(status().backlog) } })
  new Gauge({
    name: 'lienthong_axis_packages',
    help: 'Packages sent to / taken from the national axis since the process started',
    labelNames: ['direction'],
    registers,
    collect() {
      const s = status()
      this.set({ direction: 'sent' }, s.sent)
      this.set({ direction: 'received' }, s.received)
    },
  })
  new Gauge({ name: 'lienthong_axis_failed_attempts', help: 'Failed sendEdoc attempts since the process started', registers, collect() { this.set(status().failedAttempts) } })
}
