/**
 * Webhooks: the gateway tells a DMS client that something happened (a document arrived, a status changed one of its
 * deliveries, a sender asks to recall a document) by POSTing JSON to the client's configured URL. A notification
 * only: the pull API stays the source of truth, so a DMS that misses one loses nothing.
 *
 * Request: `POST <client.webhook.url>`, `Content-Type: application/json`, body
 * `{ id, type, timestamp, occurredAt, organId, attempt, data }` (schemas/api/inbox-webhook-event.json), headers
 * `X-Lienthong-Event: <type>`, `X-Lienthong-Delivery: <id>` (the same on every retry: deduplicate on it) and
 * `X-Lienthong-Signature: sha256=<hex HMAC-SHA256 of the raw body with the client's secret>`. `timestamp` is the time
 * of the attempt and is inside the signed body, so a receiver can refuse old replays.
 *
 * Delivery: any 2xx acknowledges; anything else (status, timeout, connection refused) is retried with capped
 * exponential backoff and jitter (initialDelayMs · 2^(attempt-1), at most maxDelayMs) until it succeeds or the event
 * is older than maxAgeMs (then `webhook-abandoned` is logged). Several deliveries run at once (concurrency), none
 * of them in the caller's path: `notify()` returns at once and never throws, so the receive pipeline is never
 * blocked by a slow or dead DMS.
 *
 * Persistence: each notification is written to the store's event log (`webhook-queued`, with the body data) before
 * the first attempt, and `webhook-delivered` / `webhook-abandoned` when it ends. `start()` re-reads the queued events
 * younger than maxAgeMs without an end event, so a restart does not lose pending deliveries (at-least-once; the
 * delivery id lets the DMS drop duplicates).
 */
import { createHmac, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import type { Direction, StatusCode } from '../document/delivery.js'
import type { LogEvent, Store, StoredIncoming } from '../store/index.js'

export const WEBHOOK_EVENT_TYPES = ['document.received', 'status.changed', 'recall.requested'] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** What happened, as given to `notify`. */
export interface WebhookEvent {
  type: WebhookEventType
  /** The event's own facts (ids, codes); JSON. */
  data: Record<string, unknown>
  /** Default: now. */
  occurredAt?: Date
}

/** The JSON body POSTed to the DMS. */
export interface WebhookBody {
  id: string
  type: WebhookEventType
  /** Time of this attempt (ISO 8601), signed with the rest. */
  timestamp: string
  occurredAt: string
  organId: string
  attempt: number
  data: Record<string, unknown>
}

type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'manual' }) => Promise<{
  status: number
  body?: { cancel(): Promise<void> } | null
}>

export interface WebhookDispatcherOptions {
  config: Pick<Config, 'agencies'>
  store: Pick<Store, 'appendEvent' | 'listEvents'>
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  /** Default: the global fetch. */
  fetch?: FetchLike
  /** First retry delay, ms. Default 1000. */
  initialDelayMs?: number
  /** Longest retry delay, ms. Default 300000 (5 minutes). */
  maxDelayMs?: number
  /** Give up on an event older than this, ms. Default 3 days. */
  maxAgeMs?: number
  /** Per-request timeout, ms. Default 10000. */
  timeoutMs?: number
  /** Requests in flight at once. Default 4. */
  concurrency?: number
  clock?: () => Date
}

export interface WebhookDispatcherEvents {
  delivered: [d: { id: string; clientId: string; type: WebhookEventType; attempts: number; status: number }]
  /** One attempt failed; `retryInMs` until the next. */
  failed: [d: { id: string; clientId: string; type: WebhookEventType; attempt: number; status?: number; error?: string; retryInMs: number }]
  abandoned: [d: { id: string; clientId: string; type: WebhookEventType; attempts: number }]
}

export interface WebhookDispatcher {
  /** Queue the event for every client of the hosted agency `clientOrganId` that has a webhook. Never throws, never waits. */
  notify(clientOrganId: string, event: WebhookEvent): void
  /** Recover pending deliveries from the store, then deliver (queued notifications wait for start). */
  start(): Promise<void>
  /** Stop delivering: in-flight requests are aborted after `timeoutMs` (default 2000); pending ones stay in the store. */
  stop(opts?: { timeoutMs?: number }): Promise<void>
  /** Deliveries not yet acknowledged (queued, waiting for a retry or in flight). */
  pending(): number
  /** Resolves when nothing is pending or in flight (tests, shutdown). */
  idle(timeoutMs?: number): Promise<boolean>
  on<K extends keyof WebhookDispatcherEvents>(event: K, listener: (...args: WebhookDispatcherEvents[K]) => void): this
  off<K extends keyof WebhookDispatcherEvents>(event: K, listener: (...args: WebhookDispatcherEvents[K]) => void): this
}

interface Target {
  clientId: string
  organId: string
  url: string
  secret: string
}

interface Job {
  id: string
  target: Target
  type: WebhookEventType
  occurredAt: string
  data: Record<string, unknown>
  attempt: number
  dueAt: number
  /** The `webhook-queued` event is written (or failed to be). */
  persisted: Promise<void>
}

const DIRECTION: Record<WebhookEventType, Direction> = { 'document.received': 'in', 'status.changed': 'out', 'recall.requested': 'in' }

/** `sha256=<hex>` of the body with the secret (what X-Lienthong-Signature carries). */
export function webhookSignature(secret: string, rawBody: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`
}

export function createWebhookDispatcher(opts: WebhookDispatcherOptions): WebhookDispatcher {
  const log = opts.logger
  const clock = opts.clock ?? (() => new Date())
  const initialDelayMs = opts.initialDelayMs ?? 1000
  const maxDelayMs = opts.maxDelayMs ?? 300_000
  const maxAgeMs = opts.maxAgeMs ?? 3 * 24 * 3600_000
  const timeoutMs = opts.timeoutMs ?? 10_000
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const doFetch: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike)
  const emitter = new EventEmitter()

  // clients with a usable webhook, by agency
  const targets = new Map<string, Target[]>()
  const byClient = new Map<string, Target>()
  for (const a of opts.config.agencies) {
    for (const c of a.clients) {
      if (!c.webhook) continue
      if (!c.webhook.secret) {
        log?.error({ clientId: c.id, organId: a.organId }, `webhook of client ${c.id} has no secret (webhook.secret or webhook.secretEnv): no events are sent to it`)
        continue
      }
      const t: Target = { clientId: c.id, organId: a.organId, url: c.webhook.url, secret: c.webhook.secret }
      const key = a.organId.toUpperCase()
      targets.set(key, [...(targets.get(key) ?? []), t])
      byClient.set(c.id, t)
    }
  }

  const jobs = new Map<string, Job>()
  const inFlight = new Map<string, AbortController>()
  let running = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let idleWaiters: (() => void)[] = []

  /** Event-log writes not yet settled (idle() waits for them: a test or a shutdown reads the log next). */
  let writing = 0
  const isIdle = () => jobs.size === 0 && inFlight.size === 0 && writing === 0

  function checkIdle(): void {
    if (isIdle()) {
      const w = idleWaiters
      idleWaiters = []
      for (const f of w) f()
    }
  }

  function schedule(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (!running) return
    let next = Infinity
    for (const j of jobs.values()) if (!inFlight.has(j.id)) next = Math.min(next, j.dueAt)
    if (next === Infinity) return
    timer = setTimeout(pump, Math.max(0, next - Date.now()))
    timer.unref?.()
  }

  function pump(): void {
    timer = undefined
    if (!running) return
    const now = Date.now()
    const due = [...jobs.values()].filter((j) => !inFlight.has(j.id) && j.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt)
    for (const j of due) {
      if (inFlight.size >= concurrency) break
      void attempt(j)
    }
    schedule()
  }

  async function record(type: string, j: Job, detail: Record<string, unknown>): Promise<void> {
    writing++
    try {
      await opts.store.appendEvent({
        direction: DIRECTION[j.type],
        type,
        recipient: j.target.organId,
        actor: 'system',
        cause: j.type,
        detail: { webhookId: j.id, clientId: j.target.clientId, event: j.type, ...detail },
      })
    } catch (e) {
      log?.warn({ err: (e as Error).message, webhookId: j.id, type }, 'could not record a webhook event in the store')
    } finally {
      writing--
      checkIdle()
    }
  }

  function backoff(attempt: number): number {
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(30, attempt - 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  async function attempt(j: Job): Promise<void> {
    const ac = new AbortController()
    inFlight.set(j.id, ac)
    const timeout = setTimeout(() => ac.abort(), timeoutMs)
    let status: number | undefined
    let error: string | undefined
    try {
      await j.persisted
      const body: WebhookBody = {
        id: j.id,
        type: j.type,
        timestamp: clock().toISOString(),
        occurredAt: j.occurredAt,
        organId: j.target.organId,
        attempt: j.attempt,
        data: j.data,
      }
      const raw = JSON.stringify(body)
      const res = await doFetch(j.target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'lienthong-webhooks/1',
          'x-lienthong-event': j.type,
          'x-lienthong-delivery': j.id,
          'x-lienthong-signature': webhookSignature(j.target.secret, raw),
        },
        body: raw,
        signal: ac.signal,
        redirect: 'manual',
      })
      status = res.status
      await res.body?.cancel().catch(() => {})
    } catch (e) {
      error = (e as Error).name === 'AbortError' ? `no answer within ${timeoutMs} ms` : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message)
    } finally {
      clearTimeout(timeout)
    }
    if (status !== undefined && status >= 200 && status < 300) {
      jobs.delete(j.id)
      inFlight.delete(j.id)
      log?.debug({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt, status }, 'webhook delivered')
      emitter.emit('delivered', { id: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt, status })
      void record('webhook-delivered', j, { attempts: j.attempt, status })
      pump()
      return
    }
    inFlight.delete(j.id)
    if (stopped) return
    const age = Date.now() - Date.parse(j.occurredAt)
    if (age > maxAgeMs) {
      jobs.delete(j.id)
      log?.warn({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt, status, error }, 'webhook abandoned: the DMS did not acknowledge it in time')
      emitter.emit('abandoned', { id: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt })
      void record('webhook-abandoned', j, { attempts: j.attempt, ...(status !== undefined ? { status } : {}), ...(error ? { error } : {}) })
      pump()
      return
    }
    const retryInMs = backoff(j.attempt)
    log?.info({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempt: j.attempt, status, error, retryInMs }, 'webhook not acknowledged; will retry')
    emitter.emit('failed', {
      id: j.id,
      clientId: j.target.clientId,
      type: j.type,
      attempt: j.attempt,
      ...(status !== undefined ? { status } : {}),
      ...(error ? { error } : {}),
      retryInMs,
    })
    j.attempt++
    j.dueAt = Date.now() + retryInMs
    pump()
  }

  function enqueue(target: Target, type: WebhookEventType, data: Record<string, unknown>, occurredAt: string, id: string, persist: boolean): void {
    const job: Job = { id, target, type, occurredAt, data, attempt: 1, dueAt: Date.now(), persisted: Promise.resolve() }
    jobs.set(id, job)
    if (persist) {
      job.persisted = record('webhook-queued', job, { url: target.url, occurredAt, data })
    }
  }

  async function readAll(type: string, since: Date): Promise<LogEvent[]> {
    const out: LogEvent[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await opts.store.listEvents({ type, since, limit: 1000, ...(cursor ? { cursor } : {}) })
      out.push(...page.items)
      if (!page.next) return out
      cursor = page.next
    }
  }

  const api: WebhookDispatcher = {
    notify(clientOrganId, event) {
      try {
        const list = targets.get(clientOrganId.trim().toUpperCase())
        if (!list?.length) return
        const occurredAt = (event.occurredAt ?? clock()).toISOString()
        for (const t of list) enqueue(t, event.type, event.data, occurredAt, randomUUID(), true)
        if (running) pump()
      } catch (e) {
        log?.error({ err: (e as Error).message }, 'webhook notification could not be queued')
      }
    },

    async start() {
      if (running) return
      stopped = false
      if (byClient.size > 0) {
        try {
          const since = new Date(clock().getTime() - maxAgeMs)
          const [queued, delivered, abandoned] = await Promise.all([
            readAll('webhook-queued', since),
            readAll('webhook-delivered', since),
            readAll('webhook-abandoned', since),
          ])
          const done = new Set([...delivered, ...abandoned].map((e) => String(e.detail.webhookId)))
          let recovered = 0
          for (const e of queued.reverse()) {
            const d = e.detail as { webhookId?: string; clientId?: string; event?: string; occurredAt?: string; data?: Record<string, unknown> }
            if (!d.webhookId || done.has(d.webhookId) || jobs.has(d.webhookId)) continue
            const t = d.clientId ? byClient.get(d.clientId) : undefined
            if (!t || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(String(d.event))) continue
            enqueue(t, d.event as WebhookEventType, d.data ?? {}, d.occurredAt ?? e.time, d.webhookId, false)
            recovered++
          }
          if (recovered > 0) log?.info({ recovered }, 'pending webhook deliveries recovered from the store')
        } catch (e) {
          log?.warn({ err: (e as Error).message }, 'could not read pending webhook deliveries from the store')
        }
      }
      running = true
      pump()
    },

    async stop(o = {}) {
      running = false
      stopped = true
      if (timer) clearTimeout(timer)
      timer = undefined
      if (inFlight.size === 0) return
      const end = Date.now() + (o.timeoutMs ?? 2000)
      while (inFlight.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      for (const ac of inFlight.values()) ac.abort()
    },

    pending: () => jobs.size,

    idle(waitMs = 10_000) {
      if (isIdle()) return Promise.resolve(true)
      return new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          idleWaiters = idleWaiters.filter((f) => f !== done)
          resolve(false)
        }, waitMs)
        const done = () => {
          clearTimeout(t)
          resolve(true)
        }
        idleWaiters.push(done)
      })
    },

    on(event, listener) {
      emitter.on(event, listener as (...a: unknown[]) => void)
      return api
    },
    off(event, listener) {
      emitter.off(event, listener as (...a: unknown[]) => void)
      return api
    },
  }
  return api
}

// ---- events from the receive path ----------------------------------------------------------------------------

/** document.received for a document stored in a hosted agency's inbox. */
export function documentReceivedEvent(i: StoredIncoming): WebhookEvent {
  return {
    type: 'document.received',
    occurredAt: new Date(i.receivedAt),
    data: {
      inboxId: i.id,
      ...(i.documentId ? { documentId: i.documentId } : {}),
      ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
      ...(i.recipient ? { recipient: i.recipient } : {}),
      ...(i.subject ? { subject: i.subject } : {}),
      ...(i.codeNumber || i.codeNotation ? { code: `${i.codeNumber ?? ''}/${i.codeNotation ?? ''}` } : {}),
      ...(i.promulgationDate ? { promulgationDate: i.promulgationDate } : {}),
      priority: i.priority,
      ...(i.relatedId ? { relatedId: i.relatedId } : {}),
      ...(typeof i.metadata.businessType === 'number' ? { businessType: i.metadata.businessType } : {}),
      url: `/v1/inbox/${encodeURIComponent(i.id)}`,
    },
  }
}

/** status.changed: a status package from a recipient moved (or confirmed) one of our deliveries. */
export function statusChangedEvent(s: {
  packageId?: string
  deliveryId?: string
  documentId?: string
  recipient?: string
  statusCode: StatusCode
  state?: string
  changed: boolean
  description?: string
  statusPackageId?: string
  /** The recall request (revoke document) a 15/16 answers, when it is not the document itself. */
  requestPackageId?: string
  at?: Date
}): WebhookEvent {
  return {
    type: 'status.changed',
    ...(s.at ? { occurredAt: s.at } : {}),
    data: {
      ...(s.packageId ? { packageId: s.packageId, url: `/v1/documents/${encodeURIComponent(s.packageId)}` } : {}),
      ...(s.deliveryId ? { deliveryId: s.deliveryId } : {}),
      ...(s.documentId ? { documentId: s.documentId } : {}),
      ...(s.recipient ? { recipient: s.recipient } : {}),
      statusCode: s.statusCode,
      ...(s.state ? { state: s.state } : {}),
      changed: s.changed,
      ...(s.description ? { description: s.description } : {}),
      ...(s.statusPackageId ? { statusPackageId: s.statusPackageId } : {}),
      ...(s.requestPackageId ? { requestPackageId: s.requestPackageId } : {}),
    },
  }
}

/** recall.requested: the sender of a document in our inbox asks to take it back (status 13 or a revoke document). */
export function recallRequestedEvent(r: { inboxId: string; documentId?: string; sender?: string; reason?: string; method: 'status13' | 'revoke'; requestId?: string; at?: Date }): WebhookEvent {
  return {
    type: 'recall.requested',
    ...(r.at ? { occurredAt: r.at } : {}),
    data: {
      inboxId: r.inboxId,
      ...(r.documentId ? { documentId: r.documentId } : {}),
      ...(r.sender ? { sender: r.sender } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      method: r.method,
      ...(r.requestId ? { requestId: r.requestId } : {}),
      url: `/v1/inbox/${encodeURIComponent(r.inboxId)}`,
      answer: `/v1/inbox/${encodeURIComponent(r.inboxId)}/status`,
    },
  }
}

/**
 * The events of the incoming pipeline (src/pipeline/incoming.ts `IncomingEvents`), described structurally so this
 * file does not depend on the pipeline's internals.
 */
export interface IncomingEventSource {
  on(event: 'received', listener: (e: { incoming: StoredIncoming; duplicate: boolean }) => void): unknown
  on(event: 'status', listener: (e: { incoming: StoredIncoming; statusCode: StatusCode; deliveryId?: string; changed: boolean; state?: string }) => void): unknown
}

/**
 * Turn the incoming pipeline's events into webhook notifications for the receiving agency's clients:
 * a new document → document.received; a revoke document (type 1) or a status 13 → recall.requested (about the
 * document it recalls); any other status → status.changed (about our delivery it answers). With `store`, a 15/16
 * that answers a revoke document of ours (POST /v1/documents/:id/recall, method revoke) names the recalled
 * original as `packageId` (the revoke package as `requestPackageId`).
 */
export function attachWebhooks(
  source: IncomingEventSource,
  webhooks: Pick<WebhookDispatcher, 'notify'>,
  opts: { store?: Pick<Store, 'getPackage'>; logger?: Pick<Logger, 'warn'> } = {},
): void {
  source.on('received', ({ incoming: i, duplicate }) => {
    if (duplicate || i.kind !== 'edoc' || i.state === 'rejected' || !i.recipient) return
    const meta = i.metadata as { businessType?: unknown; business?: { reason?: unknown } }
    if (meta.businessType === 1) {
      if (!i.relatedId) return
      webhooks.notify(
        i.recipient,
        recallRequestedEvent({
          inboxId: i.relatedId,
          ...(i.documentId ? { documentId: i.documentId } : {}),
          ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
          ...(typeof meta.business?.reason === 'string' ? { reason: meta.business.reason } : {}),
          method: 'revoke',
          requestId: i.id,
          at: new Date(i.receivedAt),
        }),
      )
      return
    }
    webhooks.notify(i.recipient, documentReceivedEvent(i))
  })
  source.on('status', ({ incoming: s, statusCode, deliveryId, changed, state }) => {
    if (!s.recipient) return
    const description = typeof s.metadata.description === 'string' && s.metadata.description ? s.metadata.description : undefined
    if (statusCode === '13') {
      if (!s.relatedId) return
      webhooks.notify(
        s.recipient,
        recallRequestedEvent({
          inboxId: s.relatedId,
          ...(s.documentId ? { documentId: s.documentId } : {}),
          ...(s.senderOrganId ? { sender: s.senderOrganId } : {}),
          ...(description ? { reason: description } : {}),
          method: 'status13',
          requestId: s.id,
          at: new Date(s.receivedAt),
        }),
      )
      return
    }
    const recipient = s.recipient
    const send = (packageId: string | undefined, requestPackageId?: string) =>
      webhooks.notify(
        recipient,
        statusChangedEvent({
          ...(packageId ? { packageId } : {}),
          ...(requestPackageId ? { requestPackageId } : {}),
          ...(deliveryId ? { deliveryId } : {}),
          ...(s.documentId ? { documentId: s.documentId } : {}),
          ...(s.senderOrganId ? { recipient: s.senderOrganId } : {}),
          statusCode,
          ...(state ? { state } : {}),
          changed,
          ...(description ? { description } : {}),
          statusPackageId: s.id,
          at: new Date(s.receivedAt),
        }),
      )
    if ((statusCode === '15' || statusCode === '16') && s.relatedId && opts.store) {
      const related = s.relatedId
      opts.store.getPackage(related).then(
        (p) => {
          const original = p?.metadata.form === 'revoke' && typeof p.metadata.originalPackageId === 'string' ? p.metadata.originalPackageId : undefined
          if (original) send(original, related)
          else send(related)
        },
        (e: unknown) => {
          opts.logger?.warn({ err: (e as Error).message }, 'webhook: could not read the package a recall answer refers to')
          send(related)
        },
      )
      return
    }
    send(s.relatedId)
  })
}
