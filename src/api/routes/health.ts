/**
 * Health, in one place:
 *
 * - `GET /healthz`: the process answers.
 * - `GET /readyz`: the store answers a query and its writes go through (503 while the last write failed for a
 *   reason of the storage, such as a full disk, and none succeeded since) and the broker connection is up; with
 *   PKCS#11 signing tokens, `checks.signing` says whether every token is usable and how many packages await their
 *   signature (`awaitingSignature`): reported, not required (a token that is down makes sending wait in the
 *   outbox, the API still accepts documents, see src/pipeline/resigner.ts); with an axis connector, `checks.axis`
 *   says how the axis is doing (reported only: an axis down does not make the gateway unready); with the trust
 *   watch (src/pipeline/trust-watch.ts), `checks.trust` lists what has expired (`expired`) and is not ok (503) when
 *   an own signing certificate or a needed trust anchor has.
 * - `GET /v1/operator/health` (operator keys, `operatorHealthRoutes`): store reachability and counters, broker state,
 *   queue depth per hosted agency (inbox and dead-letter queue), and the signing certificate expiry of every hosted
 *   agency; with the trust watch, `trust`: the days left of every own certificate, anchor, intermediate and CRL with
 *   its warning level (30/7/1 days, expired), and `tokens`: the state of every PKCS#11 signing token; with an axis
 *   connector, its state (`axis`: reachable or not, last poll, last send, last error, the
 *   deliveries waiting for it); with a VXP endpoint, the systems calling it (`vxpSystems`: agencies, calls, last
 *   call). Always 200: the answer says what is down. No secret is ever part of it.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.js'
import { gwError } from '../../errors.js'
import type { QueueInspector } from '../../metrics.js'
import type { TrustReadiness, TrustSnapshot } from '../../pipeline/trust-watch.js'
import type { Store } from '../../store/index.js'
import { ref } from '../schemas.js'

export interface BrokerStatus {
  /** `connected` when publishing can happen. */
  readonly state: string
  /** Broker URL without password, for the readiness detail. */
  readonly redactedUrl?: string
}

/** The national-axis connector as readiness sees it (src/vxp/connector.ts `status`). */
export interface AxisHealth {
  readonly state: string
  readonly endpoint: string
  readonly backlog: number
  readonly lastError?: { readonly code: string; readonly message: string }
}

/** What /readyz reads of a signer: a key in a token has `token.status()`. */
export interface SignerHealth {
  readonly token?: { status(): { ok: boolean; detail?: string; since: string } }
}

/**
 * The token check of /readyz: present when some hosted agency signs with a token (or packages still await their
 * signature). Not ok while a token is down; `awaitingSignature`: the packages stored meanwhile, not sent yet.
 * Reported, not required for readiness: the gateway keeps accepting documents, which wait in the outbox for the
 * token and are signed and sent when it is back (src/pipeline/resigner.ts).
 */
export function signingCheck(signers: ReadonlyMap<string, SignerHealth> | undefined, awaitingSignature = 0): { ok: boolean; detail?: string; awaitingSignature: number } | undefined {
  const down: string[] = []
  let tokens = 0
  for (const [organId, s] of signers ?? []) {
    if (!s.token) continue
    tokens++
    const st = s.token.status()
    if (!st.ok) down.push(`${organId}: token down since ${st.since}${st.detail ? ` (${st.detail})` : ''}`)
  }
  if (tokens === 0 && awaitingSignature === 0) return undefined
  const waiting = awaitingSignature > 0 ? `${awaitingSignature} package(s) awaiting their signature in the outbox` : ''
  if (down.length === 0) return { ok: true, ...(waiting ? { detail: `${waiting}, being signed` } : {}), awaitingSignature }
  return { ok: false, detail: `${down.join('; ')}${waiting ? `; ${waiting}, sent when the token is back` : '; documents are accepted and wait for it'}`, awaitingSignature }
}

/** The TSA of trust.tsa.url as readiness sees it (src/signature/tsa-client.ts `status`). */
export interface TsaHealth {
  readonly url: string
  status(): { ok: boolean; detail?: string; since: string }
}

/** The trust watch as the health routes read it (src/pipeline/trust-watch.ts). */
export interface TrustHealth {
  readiness(): TrustReadiness
  snapshot(): TrustSnapshot
}

export function healthRoutes(app: FastifyInstance, deps: { store: Store; broker: BrokerStatus; signers?: ReadonlyMap<string, SignerHealth>; axis?: () => AxisHealth; tsa?: TsaHealth; trust?: TrustHealth }): void {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up', response: { 200: ref('Health') } } }, async () => ({
    status: 'ok',
  }))
  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Store and broker usable, own certificates and needed anchors not expired; signing tokens and packages awaiting their signature reported', response: { 200: ref('Health'), 503: ref('Health') } } },
    async (_req, reply) => {
      let store: { ok: boolean; detail?: string } = { ok: true }
      try {
        await deps.store.ping()
        const w = deps.store.writeHealth?.()
        if (w && !w.ok) store = { ok: false, detail: `${w.detail ?? 'writes fail'}${w.since ? ` (since ${w.since})` : ''}` }
      } catch (e) {
        store = { ok: false, detail: (e as Error).message }
      }
      const brokerUp = deps.broker.state === 'connected'
      const broker = brokerUp ? { ok: true } : { ok: false, detail: `${deps.broker.state}: ${deps.broker.redactedUrl ?? 'broker'}` }
      let awaiting = 0
      if (store.ok) awaiting = await deps.store.countAwaitingSignature().catch(() => 0)
      // reported, not required: with a token down documents are accepted and wait in the outbox for their signature
      const signing = signingCheck(deps.signers, awaiting)
      const tr = deps.trust?.readiness()
      const trust = tr ? { ok: tr.ok, ...(tr.detail ? { detail: tr.detail } : {}), ...(tr.expired.length ? { expired: tr.expired } : {}) } : undefined
      const ok = store.ok && broker.ok && (trust?.ok ?? true)
      // the axis is reported, not required: documents for it wait in the outbox while it is down
      const a = deps.axis?.()
      const axis = a
        ? a.state === 'connected' || a.state === 'starting'
          ? { ok: true, detail: `${a.state}: ${a.endpoint}, ${a.backlog} waiting` }
          : { ok: false, detail: `${a.state}: ${a.endpoint}, ${a.backlog} waiting in the outbox${a.lastError ? `; ${a.lastError.code}: ${a.lastError.message}` : ''}` }
        : undefined
      // the TSA is reported, not required: while it fails, sends answer 503 (or go unstamped with send-without)
      const t = deps.tsa?.status()
      const tsa = t ? (t.ok ? { ok: true } : { ok: false, detail: `${deps.tsa!.url}: failing since ${t.since}${t.detail ? ` (${t.detail})` : ''}` }) : undefined
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { store, broker, ...(signing ? { signing } : {}), ...(trust ? { trust } : {}), ...(axis ? { axis } : {}), ...(tsa ? { tsa } : {}) } })
    },
  )
}

export interface OperatorHealthOptions {
  config: Config
  store: Store
  /** The broker connection (the transport's AmqpConnection: `state`, `redactedUrl`, `current`). */
  broker: BrokerStatus
  /** Signers of the hosted agencies by OrganId (their `certificate` gives the expiry). */
  signers?: ReadonlyMap<string, unknown>
  /** Queue depths; default: read through the broker connection's `current` model when it has one. */
  queueInspector?: QueueInspector
  clock?: () => Date
  /** Timeout of each broker call, ms. Default 1500. */
  brokerTimeoutMs?: number
  /** The national-axis connector's state (src/vxp/connector.ts `status`), when there is one. */
  axis?: () => AxisOperatorView
  /** The VXP systems that call this gateway (vxp.server.systems) with their agencies and last call. */
  vxpSystems?: () => VxpSystemView[]
  /** The trust watch: expiry of own certificates, anchors, intermediates and CRLs. */
  trust?: TrustHealth
}

/** What the console shows of the axis connector: picked field by field (the connector's secret is never here). */
export interface AxisOperatorView extends AxisHealth {
  readonly systemId: string
  readonly organIds?: readonly string[]
  readonly pollIntervalMs?: number
  readonly lastPollAt?: string
  readonly lastSentAt?: string
  readonly lastError?: { readonly code: string; readonly message: string; readonly at?: string }
  readonly sent: number
  readonly received: number
  readonly failedAttempts: number
}

/** A VXP system as the console shows it: its id, its agencies by name, its calls since start (never its secret). */
export interface VxpSystemView {
  readonly systemId: string
  readonly agencies: readonly { readonly organId: string; readonly name?: string }[]
  readonly calls: number
  readonly failures: number
  readonly lastCallAt?: string
  readonly lastOperation?: string
  readonly lastErrorCode?: string
  readonly lastFailureAt?: string
}

const defined = <T extends Record<string, unknown>>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>

function axisView(a: AxisOperatorView): Record<string, unknown> {
  return defined({
    ok: a.state === 'connected' || a.state === 'starting',
    state: a.state,
    endpoint: a.endpoint,
    systemId: a.systemId,
    organIds: a.organIds ? [...a.organIds] : undefined,
    pollIntervalMs: a.pollIntervalMs,
    backlog: a.backlog,
    lastPollAt: a.lastPollAt,
    lastSentAt: a.lastSentAt,
    lastError: a.lastError ? defined({ code: a.lastError.code, message: a.lastError.message, at: a.lastError.at }) : undefined,
    sent: a.sent,
    received: a.received,
    failedAttempts: a.failedAttempts,
  })
}

function vxpView(s: VxpSystemView): Record<string, unknown> {
  return defined({
    systemId: s.systemId,
    agencies: s.agencies.map((x) => defined({ organId: x.organId, name: x.name })),
    calls: s.calls,
    failures: s.failures,
    lastCallAt: s.lastCallAt,
    lastOperation: s.lastOperation,
    lastErrorCode: s.lastErrorCode,
    lastFailureAt: s.lastFailureAt,
  })
}

function trustView(s: TrustSnapshot): Record<string, unknown> {
  return defined({
    checkedAt: s.checkedAt,
    warnings: s.warnings,
    problems: s.problems.length ? [...s.problems] : undefined,
    items: s.items.map((i) =>
      defined({ kind: i.kind, agency: i.agency, subject: i.subject, issuer: i.issuer, serial: i.serial, fingerprint: i.fingerprint, source: i.source, expiresAt: i.expiresAt, daysLeft: i.daysLeft, level: i.level, needed: i.needed }),
    ),
  })
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: 'broker', reason: `no answer within ${ms} ms` })), ms)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    )
  })

interface ChannelLike {
  on(event: 'error', fn: (e: unknown) => void): unknown
  checkQueue(queue: string): Promise<{ messageCount: number }>
  close(): Promise<void>
}

/** A queue inspector over the broker connection's current channel model (passive declare on a fresh channel). */
function inspectorOf(broker: BrokerStatus): QueueInspector | undefined {
  const b = broker as BrokerStatus & { readonly current?: { createChannel?: () => Promise<ChannelLike> } }
  if (!('current' in b)) return undefined
  return {
    async messageCount(queue) {
      const model = b.current
      if (!model || typeof model.createChannel !== 'function') {
        throw gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: broker.redactedUrl ?? 'broker', reason: broker.state })
      }
      const ch = await model.createChannel()
      // a missing queue closes the channel with 404: the rejection of checkQueue says so, the event is noise
      ch.on('error', () => {})
      try {
        return (await ch.checkQueue(queue)).messageCount
      } finally {
        ch.close().catch(() => {})
      }
    },
  }
}

const DAY_MS = 86_400_000

interface CertLike {
  subject?: unknown
  issuer?: unknown
  serial?: unknown
  notBefore?: unknown
  notAfter?: unknown
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

export async function operatorHealthRoutes(app: FastifyInstance, opts: OperatorHealthOptions): Promise<void> {
  const clock = opts.clock ?? (() => new Date())
  const timeoutMs = opts.brokerTimeoutMs ?? 1500
  const inspector = opts.queueInspector ?? inspectorOf(opts.broker)

  app.get(
    '/v1/operator/health',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Gateway health for operators: store, broker, queue depths, certificate expiry (operator keys)',
        description:
          'Always 200 (the answer says what is down): store reachability and counters, broker connection state, ready messages in the inbox and dead-letter queue of every hosted agency (absent when the broker cannot be asked), and the notAfter and days left of every hosted agency’s signing certificate.',
        response: { 200: ref('OperatorHealth'), 401: ref('Error'), 403: ref('Error'), 429: ref('Error') },
      },
    },
    async () => {
      const now = clock()
      const store: Record<string, unknown> = { ok: true }
      try {
        await opts.store.ping()
        Object.assign(store, await opts.store.stats())
      } catch (e) {
        store.ok = false
        store.detail = (e as Error).message
      }
      const brokerOk = opts.broker.state === 'connected'
      const broker = { ok: brokerOk, state: opts.broker.state, ...(opts.broker.redactedUrl ? { url: opts.broker.redactedUrl } : {}) }

      const queues = await Promise.all(
        opts.config.agencies.map(async (a) => {
          const organId = a.organId.toUpperCase()
          const q: Record<string, unknown> = {
            organId,
            name: a.name,
            inbox: opts.config.amqp.queuePrefix + organId,
            deadLetter: opts.config.amqp.deadLetterQueuePrefix + organId,
          }
          if (!brokerOk) {
            q.error = `mạng liên thông lienthong không kết nối (broker ${opts.broker.state})`
            return q
          }
          if (!inspector) {
            q.error = 'không đọc được độ sâu hàng đợi trong tiến trình này (no queue inspector)'
            return q
          }
          const [inbox, dead] = await Promise.allSettled([
            withTimeout(inspector.messageCount(q.inbox as string), timeoutMs),
            withTimeout(inspector.messageCount(q.deadLetter as string), timeoutMs),
          ])
          if (inbox.status === 'fulfilled') q.inboxMessages = inbox.value
          if (dead.status === 'fulfilled') q.deadLetterMessages = dead.value
          const failed = [inbox, dead].find((r): r is PromiseRejectedResult => r.status === 'rejected')
          if (failed) q.error = (failed.reason as Error)?.message ?? String(failed.reason)
          return q
        }),
      )

      const certificates = opts.config.agencies.map((a) => {
        const organId = a.organId.toUpperCase()
        const signer = (opts.signers?.get(a.organId) ?? opts.signers?.get(organId)) as { certificate?: CertLike } | undefined
        const c = signer?.certificate
        const notAfter = str(c?.notAfter)
        const t = notAfter ? new Date(notAfter).getTime() : Number.NaN
        return {
          organId,
          name: a.name,
          ...(str(c?.subject) ? { subject: str(c?.subject) } : {}),
          ...(str(c?.issuer) ? { issuer: str(c?.issuer) } : {}),
          ...(str(c?.serial) ? { serial: str(c?.serial) } : {}),
          ...(str(c?.notBefore) ? { notBefore: str(c?.notBefore) } : {}),
          ...(notAfter ? { notAfter } : {}),
          ...(Number.isFinite(t) ? { daysLeft: Math.floor((t - now.getTime()) / DAY_MS) } : {}),
        }
      })

      // every hosted agency whose key is in a PKCS#11 token: reported (/readyz reports it too, without failing on it)
      const tokens = opts.config.agencies.flatMap((a) => {
        const organId = a.organId.toUpperCase()
        const signer = (opts.signers?.get(a.organId) ?? opts.signers?.get(organId)) as SignerHealth | undefined
        const st = signer?.token?.status() as ({ ok: boolean; detail?: string; since: string; signatures?: number; errors?: number; reopens?: number } | undefined)
        return st ? [defined({ organId, name: a.name, ok: st.ok, since: st.since, detail: st.detail, signatures: st.signatures, errors: st.errors, reopens: st.reopens })] : []
      })
      const ok = store.ok === true && brokerOk
      return {
        status: ok ? 'ok' : 'degraded',
        time: now.toISOString(),
        store,
        broker,
        queues,
        certificates,
        // reported, not part of `status`: documents for the axis wait in the outbox while it is down
        ...(opts.axis ? { axis: axisView(opts.axis()) } : {}),
        ...(opts.vxpSystems ? { vxpSystems: opts.vxpSystems().map(vxpView) } : {}),
        ...(opts.trust ? { trust: trustView(opts.trust.snapshot()) } : {}),
        ...(tokens.length ? { tokens } : {}),
      }
    },
  )
}
