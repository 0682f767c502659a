/**
 * Webhook delivery. A notification only: the pull API stays the source of truth, so a DMS that misses one loses
 * nothing.
 *
 * Request: `POST <client.webhook.url>`, `Content-Type: application/json`, body
 * `{ id, type, timestamp, occurredAt, organId, attempt, data }` (schemas/api/inbox-webhook-event.json), headers
 * `X-Lienthong-Event: <type>`, `X-Lienthong-Delivery: <id>` (the same on every retry: deduplicate on it) and
 * `X-Lienthong-Signature: sha256=<hex HMAC-SHA256 of the raw body with the client's secret>`. `timestamp` is the time
 * of the attempt and is inside the signed body, so a receiver can refuse old replays.
 *
 * Delivery: any 2xx acknowledges; anything else (status, timeout, connection refused) is retried with capped
 * exponential backoff and jitter (initialDelayMs · 2^(attempt-1), at most maxDelayMs) until it succeeds or the event
 * is older than maxAgeMs (then it is abandoned). Several deliveries run at once (concurrency), none of them in the
 * caller's path: `notify()` returns at once and never throws, so the receive pipeline is never blocked by a slow or
 * dead DMS.
 *
 * Persistence (the store's webhook outbox, `webhook_deliveries`): each notification is a `pending` row written
 * before the first attempt; each failed attempt updates its attempts and next attempt time; the end sets
 * `delivered` or `failed` together with a `webhook-delivered` / `webhook-abandoned` event in the log. `start()`
 * reads only the pending rows and tries them again at once, so a restart loses no pending delivery and never
 * re-sends a delivered one (at-least-once: a crash between the 2xx and its write sends it again; the delivery id
 * lets the DMS drop the duplicate).
 */
import { createHmac, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import type { Store, WebhookAttemptInput, WebhookQueueInput } from '../../store/index.js'
import { EVENT_DIRECTION, isWebhookEventType, type WebhookEventType, type WebhookNotifier } from './events.js'
import { webhookSubscriptions, type WebhookTarget } from './subscriptions.js'

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
  store: Pick<Store, 'queueWebhooks' | 'pendingWebhooks' | 'recordWebhookAttempt'>
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

export interface WebhookDispatcher extends WebhookNotifier {
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

interface Job {
  id: string
  target: WebhookTarget
  type: WebhookEventType
  occurredAt: string
  data: Record<string, unknown>
  /** The number of the next attempt. */
  attempt: number
  dueAt: number
  /** The outbox row is written (or failed to be). */
  persisted: Promise<void>
}

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
  const subs = webhookSubscriptions(opts.config, log)

  const jobs = new Map<string, Job>()
  const inFlight = new Map<string, AbortController>()
  let running = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let idleWaiters: (() => void)[] = []

  /** Store writes not yet settled (idle() waits for them: a test or a shutdown reads the store next). */
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

  /** A store write in the background: counted for idle(), failures logged (the delivery goes on regardless). */
  async function write(what: string, ids: string[], fn: () => Promise<void>): Promise<void> {
    writing++
    try {
      await fn()
    } catch (e) {
      log?.warn({ err: (e as Error).message, webhookIds: ids }, `could not record ${what} in the store`)
    } finally {
      writing--
      checkIdle()
    }
  }

  function recordAttempt(j: Job, a: WebhookAttemptInput, end?: { type: string; detail: Record<string, unknown> }): void {
    const event = end && {
      direction: EVENT_DIRECTION[j.type],
      type: end.type,
      recipient: j.target.organId,
      actor: 'system',
      cause: j.type,
      detail: { webhookId: j.id, clientId: j.target.clientId, event: j.type, ...end.detail },
    }
    void write('a webhook attempt', [j.id], () => opts.store.recordWebhookAttempt(j.id, { ...a, ...(event ? { event } : {}) }))
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
    const info = { id: j.id, clientId: j.target.clientId, type: j.type }
    const outcome = { ...(status !== undefined ? { status } : {}), ...(error ? { error } : {}) }
    if (status !== undefined && status >= 200 && status < 300) {
      jobs.delete(j.id)
      inFlight.delete(j.id)
      log?.debug({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt, status }, 'webhook delivered')
      emitter.emit('delivered', { ...info, attempts: j.attempt, status })
      recordAttempt(j, { attempts: j.attempt, status, state: 'delivered' }, { type: 'webhook-delivered', detail: { attempts: j.attempt, status } })
      pump()
      return
    }
    inFlight.delete(j.id)
    if (stopped) {
      // the row stays pending: the next start tries it again
      recordAttempt(j, { attempts: j.attempt, ...outcome })
      return
    }
    const age = Date.now() - Date.parse(j.occurredAt)
    if (age > maxAgeMs) {
      jobs.delete(j.id)
      log?.warn({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempts: j.attempt, status, error }, 'webhook abandoned: the DMS did not acknowledge it in time')
      emitter.emit('abandoned', { ...info, attempts: j.attempt })
      recordAttempt(j, { attempts: j.attempt, ...outcome, state: 'failed' }, { type: 'webhook-abandoned', detail: { attempts: j.attempt, ...outcome } })
      pump()
      return
    }
    const retryInMs = backoff(j.attempt)
    log?.info({ webhookId: j.id, clientId: j.target.clientId, type: j.type, attempt: j.attempt, status, error, retryInMs }, 'webhook not acknowledged; will retry')
    emitter.emit('failed', { ...info, attempt: j.attempt, ...outcome, retryInMs })
    recordAttempt(j, { attempts: j.attempt, ...outcome, nextAttemptAt: new Date(Date.now() + retryInMs) })
    j.attempt++
    j.dueAt = Date.now() + retryInMs
    pump()
  }

  function addJob(target: WebhookTarget, type: WebhookEventType, data: Record<string, unknown>, occurredAt: string, id: string, attempt: number): Job {
    const job: Job = { id, target, type, occurredAt, data, attempt, dueAt: Date.now(), persisted: Promise.resolve() }
    jobs.set(id, job)
    return job
  }

  /** Every pending row of the outbox, oldest first. */
  async function recover(): Promise<number> {
    let recovered = 0
    let afterSeq = 0
    for (;;) {
      const page = await opts.store.pendingWebhooks({ limit: 1000, afterSeq })
      for (const w of page) {
        if (jobs.has(w.id)) continue
        const t = subs.ofClient(w.clientId)
        if (!t || !isWebhookEventType(w.event)) continue // the client's webhook is no longer configured: stays pending
        addJob(t, w.event, w.data, w.occurredAt, w.id, w.attempts + 1)
        recovered++
      }
      if (page.length < 1000) return recovered
      afterSeq = page[page.length - 1]!.seq
    }
  }

  const api: WebhookDispatcher = {
    notify(clientOrganId, event) {
      try {
        const list = subs.ofAgency(clientOrganId)
        if (!list.length) return
        const occurredAt = (event.occurredAt ?? clock()).toISOString()
        const rows: WebhookQueueInput[] = []
        const added: Job[] = []
        for (const t of list) {
          const id = randomUUID()
          added.push(addJob(t, event.type, event.data, occurredAt, id, 1))
          rows.push({ id, clientId: t.clientId, organId: t.organId, event: event.type, url: t.url, data: event.data, occurredAt })
        }
        const persisted = write('queued webhooks', rows.map((r) => r.id), () => opts.store.queueWebhooks(rows))
        for (const j of added) j.persisted = persisted
        if (running) pump()
      } catch (e) {
        log?.error({ err: (e as Error).message }, 'webhook notification could not be queued')
      }
    },

    async start() {
      if (running) return
      stopped = false
      if (subs.size > 0) {
        try {
          const recovered = await recover()
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
