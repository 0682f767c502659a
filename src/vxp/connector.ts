/**
 * The axis connector: this gateway as a VXP SDK client of a national-axis endpoint (`vxp.axis`).
 *
 * Sending (the outbox, like the AMQP relay in src/pipeline/relay.ts): every `accepted` delivery whose recipient is
 * routed `via: axis` (routes.ts) is sent with sendEdoc (documents and statuses alike, their exact bytes; the axis
 * carries no detached CMS), one at a time:
 *
 *   1. persisted first: the delivery is in the store before anything is sent (the outbox put it there)
 *   2. sendEdoc; the axis's answer `DocId` confirms it
 *   3. the delivery moves to `queued` in ONE write with the axis DocId in its event (`detail.axisDocId`): a
 *      confirmed delivery is never pending again, so a restart never sends it twice. The only window is between
 *      the axis's answer and that write; a faithful axis answers a repeat of the same bytes with the same DocId
 *      (this gateway's own /vxp does).
 *   4. a failure is counted on the delivery and logged (`axis-attempt` event with the reason); the delivery stays
 *      `accepted` and is tried again after a backoff (retryDelayMs, doubled per attempt, at most 30 times it). An
 *      unreachable axis pauses every send until the backoff has passed; the connector resumes by itself.
 *
 * Receiving (a poller, every pollIntervalMs): getReceivedEdocList for documents then statuses; for each item
 * getEdoc → the receive pipeline (source `axis`: PDF signatures verified instead of a CMS, receive-axis.ts) → the
 * store commit → updateStatus `done` (`fail` for a package the pipeline refused, which stored it `rejected`). A
 * crash between the commit and updateStatus fetches it again: the pipeline knows the bytes (a duplicate) and the
 * item is then marked done. A retryable failure leaves the item on the axis for the next poll.
 *
 * `status()` tells /readyz, the metrics and the console how the axis is doing; the secret is never in it.
 */
import type { Config, VxpAxisConfig } from '../config.js'
import { parseEnvelope } from '../envelope/index.js'
import { gwError, isGatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ReceiveInput } from '../pipeline/receive-steps.js'
import type { PendingDelivery, PendingQuery, Store } from '../store/index.js'
import { okAnswer, shownEndpoint, VxpClient } from './client.js'
import { routeMatcher } from './routes.js'

export type AxisState = 'starting' | 'connected' | 'unreachable' | 'refused'

export interface AxisStatus {
  state: AxisState
  /** The endpoint without any user:password part. */
  endpoint: string
  systemId: string
  organIds: string[]
  pollIntervalMs: number
  /** Deliveries waiting to go through the axis (as of the last round). */
  backlog: number
  lastError?: { code: string; message: string; at: string }
  lastSentAt?: string
  lastPollAt?: string
  sent: number
  received: number
  failedAttempts: number
}

export interface AxisConnectorDeps {
  config: Config
  store: Store
  /** The receive pipeline (src/pipeline/incoming.ts `receive`). */
  receive: (input: ReceiveInput) => Promise<'ack' | 'reject' | 'retry'>
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  clock?: () => Date
  /** Default: a client over vxp.axis. */
  client?: VxpClient
}

export interface AxisConnector {
  start(): void
  stop(): Promise<void>
  /** A delivery may be waiting (the outbox calls it with the relay's wake). */
  wake(): void
  /** One send round now (tests, operators). */
  sendPending(): Promise<void>
  /** One poll round now. */
  poll(): Promise<void>
  status(): AxisStatus
}

const silent = { info() {}, warn() {}, error() {}, debug() {} }
const up = (s: string | undefined) => (s ?? '').trim().toUpperCase()

/** The store's pending deliveries kept by `keep`, pages read on until `limit` are found or none are left. */
export async function pendingWhere(store: Store, keep: (d: PendingDelivery) => boolean, opts: PendingQuery): Promise<PendingDelivery[]> {
  const out: PendingDelivery[] = []
  let after = opts.afterId
  for (let round = 0; round < 100; round++) {
    const page = await store.pendingDeliveries({ limit: opts.limit, ...(after !== undefined ? { afterId: after } : {}), ...(opts.lease ? { lease: opts.lease } : {}) })
    for (const d of page) if (keep(d)) out.push(d)
    if (page.length < opts.limit || out.length >= opts.limit) break
    after = page[page.length - 1]!.deliveryId
  }
  return out.slice(0, opts.limit)
}

/** A store whose pendingDeliveries leaves out what `keep` refuses (the AMQP relay's view when routes send via the axis). */
export function storeWithPending(store: Store, keep: (d: PendingDelivery) => boolean): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'pendingDeliveries') return (opts: PendingQuery) => pendingWhere(target, keep, opts)
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

export function createAxisConnector(deps: AxisConnectorDeps): AxisConnector {
  const axis = deps.config.vxp.axis as VxpAxisConfig
  const { store } = deps
  const log = deps.logger ?? silent
  const clock = deps.clock ?? (() => new Date())
  const client = deps.client ?? new VxpClient({ endpoint: axis.endpoint, systemId: axis.systemId, secret: axis.secret ?? '', timeoutMs: axis.timeoutMs })
  const via = routeMatcher(deps.config.vxp.routes)
  const isAxis = (d: PendingDelivery) => via(d.recipient) === 'axis'
  const ours = new Map(axis.organIds.map((o) => [up(o), o]))
  const limits = deps.config.limits

  const st: AxisStatus = {
    state: 'starting',
    endpoint: shownEndpoint(axis.endpoint),
    systemId: axis.systemId,
    organIds: [...axis.organIds],
    pollIntervalMs: axis.pollIntervalMs,
    backlog: 0,
    sent: 0,
    received: 0,
    failedAttempts: 0,
  }
  /** Per delivery: attempts so far and when it may be tried again. */
  const backoff = new Map<string, { attempts: number; until: number }>()
  /** Axis items whose receive failed retryably: not before this time. */
  const itemBackoff = new Map<string, number>()
  let pausedUntil = 0
  let running = false
  let stopping = false
  let wakeResolve: (() => void) | undefined
  let woken = false
  let loops: Promise<unknown> = Promise.resolve()
  let sending: Promise<void> | undefined
  let polling: Promise<void> | undefined

  const delayFor = (attempts: number) => Math.min(axis.retryDelayMs * 2 ** Math.max(0, attempts - 1), axis.retryDelayMs * 30)

  function noteError(e: unknown): { code: string; message: string } {
    const code = isGatewayError(e) ? e.code : 'GW_ERR_VXP_AXIS_UNAVAILABLE'
    const message = (e instanceof Error ? e.message : String(e)).replace(/[^\x20-\x7e]/g, '?').slice(0, 500)
    st.lastError = { code, message, at: clock().toISOString() }
    st.state = code === 'GW_ERR_VXP_AXIS_UNAVAILABLE' ? 'unreachable' : 'refused'
    return { code, message }
  }

  function connected(): void {
    if (st.state === 'unreachable') log.info({ endpoint: st.endpoint }, 'the national axis answers again; the waiting deliveries are being sent')
    st.state = 'connected'
  }

  async function sendOne(d: PendingDelivery): Promise<boolean> {
    try {
      // a large package comes without its bytes in the page (PENDING_INLINE_BYTES): read them now
      const bytes = d.bytes ?? (await store.getPackageBytes(d.packageId))?.bytes
      if (!bytes) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'package bytes', id: d.packageId })
      const a = await client.sendEdoc(bytes, { from: d.senderOrganId, messagetype: d.kind, ...(d.kind === 'edoc' ? { to: [d.recipient] } : {}) })
      const j = okAnswer(a, 'sendEdoc')
      const axisDocId = typeof j.DocId === 'string' ? j.DocId : String(j.DocId ?? '')
      // 3. confirmed: queued, with the axis's DocId, in one write
      await store.transition(d.deliveryId, 'queued', {
        cause: 'confirmed by the national axis (sendEdoc)',
        actor: 'system',
        at: clock(),
        detail: { via: 'axis', axisDocId, endpoint: st.endpoint },
      })
      backoff.delete(d.deliveryId)
      st.sent++
      st.lastSentAt = clock().toISOString()
      connected()
      log.info({ deliveryId: d.deliveryId, packageId: d.packageId, recipient: d.recipient, axisDocId }, `sent to ${d.recipient} through the national axis`)
      return true
    } catch (e) {
      const { code, message } = noteError(e)
      const prev = backoff.get(d.deliveryId)?.attempts ?? 0
      const wait = delayFor(prev + 1)
      backoff.set(d.deliveryId, { attempts: prev + 1, until: Date.now() + wait })
      st.failedAttempts++
      await store.countAttempt(d.deliveryId).catch(() => {})
      await store
        .appendEvent({
          direction: 'out',
          type: 'axis-attempt',
          packageId: d.packageId,
          deliveryId: d.deliveryId,
          documentId: d.documentId,
          sender: d.senderOrganId,
          recipient: d.recipient,
          actor: 'system',
          cause: `sendEdoc to the national axis failed: ${code}`,
          detail: { code, reason: message, attempt: prev + 1, retryInMs: wait },
        })
        .catch(() => {})
      if (code === 'GW_ERR_VXP_AXIS_UNAVAILABLE') {
        pausedUntil = Date.now() + wait
        if (prev === 0) log.warn({ endpoint: st.endpoint, reason: message }, `the national axis at ${st.endpoint} cannot be reached; deliveries wait in the outbox and are sent when it answers`)
      } else {
        log.warn({ deliveryId: d.deliveryId, recipient: d.recipient, code, reason: message }, `the national axis refused the delivery to ${d.recipient}; trying again in ${wait} ms`)
      }
      return false
    }
  }

  async function sendRound(): Promise<void> {
    const rows = await pendingWhere(store, isAxis, { limit: 200 })
    st.backlog = rows.length
    for (const d of rows) {
      if (stopping || Date.now() < pausedUntil) break
      const b = backoff.get(d.deliveryId)
      if (b && Date.now() < b.until) continue
      if (await sendOne(d)) st.backlog--
    }
  }

  /** The hosted agency an axis item is for, and its sender: the list's fields when they name ours, else the package's. */
  function addressOf(item: Record<string, unknown>, bytes: Uint8Array): { recipient: string | undefined; sender: string | undefined } {
    const to = typeof item.to === 'string' ? ours.get(up(item.to)) : undefined
    const from = typeof item.from === 'string' && item.from.trim() ? item.from.trim() : undefined
    if (to && from) return { recipient: to, sender: from }
    try {
      const env = parseEnvelope(bytes, { maxBytes: limits.packageBytes, maxDepth: limits.xmlDepth })
      if (env.edoc) {
        const h = env.edoc.messageHeader
        return { recipient: to ?? h.to.map((t) => ours.get(up(t.organId))).find((x) => x !== undefined), sender: from ?? h.from.organId }
      }
      const s = env.status!.messageHeader
      return { recipient: to ?? ours.get(up(s.responseFor.organId)), sender: from ?? s.from.organId }
    } catch {
      return { recipient: to ?? axis.organIds[0], sender: from }
    }
  }

  async function pollRound(): Promise<void> {
    for (const type of ['edoc', 'status'] as const) {
      const list = okAnswer(await client.getReceivedEdocList(type), 'getReceivedEdocList')
      connected()
      const items = Array.isArray(list.data) ? (list.data as Record<string, unknown>[]) : []
      for (const item of items) {
        if (stopping) return
        const docId = typeof item.docId === 'string' ? item.docId : ''
        if (!docId || (itemBackoff.get(docId) ?? 0) > Date.now()) continue
        const got = okAnswer(await client.getEdoc(docId), 'getEdoc')
        const bytes = Buffer.from(typeof got.data === 'string' ? got.data : '', 'base64')
        const { recipient, sender } = addressOf(item, bytes)
        const result = await deps.receive({
          source: 'axis',
          bytes,
          sender,
          recipient,
          messageId: `axis:${docId}`,
          declaredKind: type,
          unsigned: axis.unsigned,
        })
        if (result === 'retry') {
          itemBackoff.set(docId, Date.now() + axis.retryDelayMs)
          continue
        }
        // stored (received, a duplicate, or rejected with its verdict): only now tell the axis
        okAnswer(await client.updateStatus(docId, result === 'ack' ? 'done' : 'fail'), 'updateStatus')
        itemBackoff.delete(docId)
        st.received++
        log.info({ axisDocId: docId, type, sender, recipient, result }, `${type} from ${sender ?? '?'} taken from the national axis`)
      }
    }
    st.lastPollAt = clock().toISOString()
  }

  function sleep(ms: number): Promise<void> {
    if (woken || stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        wakeResolve = undefined
        resolve()
      }, ms)
      wakeResolve = () => {
        clearTimeout(t)
        resolve()
      }
    })
  }

  const sendPending = () => (sending ??= sendRound()
    .catch((e: unknown) => {
      noteError(e)
      log.error({ err: e }, 'axis send round failed')
    })
    .finally(() => (sending = undefined)))
  const poll = () => (polling ??= pollRound()
    .catch((e: unknown) => {
      const { code, message } = noteError(e)
      log.warn({ endpoint: st.endpoint, code }, `polling the national axis failed: ${message}`)
    })
    .finally(() => (polling = undefined)))

  async function sendLoop(): Promise<void> {
    while (!stopping) {
      woken = false
      await sendPending()
      await sleep(Math.max(50, Math.min(axis.retryDelayMs, pausedUntil - Date.now() > 0 ? pausedUntil - Date.now() : deps.config.relay.pollIntervalMs)))
    }
  }

  async function pollLoop(): Promise<void> {
    while (!stopping) {
      await poll()
      await new Promise<void>((r) => {
        const t = setTimeout(r, axis.pollIntervalMs)
        const check = setInterval(() => {
          if (stopping) {
            clearTimeout(t)
            clearInterval(check)
            r()
          }
        }, 50)
        setTimeout(() => clearInterval(check), axis.pollIntervalMs + 10)
      })
    }
  }

  return {
    start() {
      if (running) return
      running = true
      stopping = false
      loops = Promise.all([sendLoop(), pollLoop()]).catch((e: unknown) => log.error({ err: e }, 'axis connector stopped unexpectedly'))
    },
    async stop() {
      if (!running) return
      stopping = true
      woken = true
      wakeResolve?.()
      await loops
      await sending
      await polling
      running = false
    },
    wake() {
      woken = true
      const r = wakeResolve
      wakeResolve = undefined
      r?.()
    },
    sendPending,
    poll,
    status: () => ({ ...st, organIds: [...st.organIds], ...(st.lastError ? { lastError: { ...st.lastError } } : {}) }),
  }
}
