/**
 * Confirmed publishing: one AMQP message per (package, recipient), resolved only when the broker has taken
 * responsibility for it.
 *
 * Semantics, in the order the broker answers on the publisher's confirm channel:
 * - `basic.return` (mandatory message that no queue is bound for): the promise rejects with
 *   GW_ERR_TRANSPORT_UNROUTABLE at once. RabbitMQ still sends `basic.ack` for that message afterwards (the return
 *   always comes first); the ack is ignored. Returns are correlated by messageId + routing key, in publish order.
 * - `basic.ack` (the message is on disk in every queue it was routed to, for persistent messages): resolves.
 * - `basic.nack` (the broker could not take it, e.g. a queue with `overflow: reject-publish` is full): rejects with
 *   GW_ERR_TRANSPORT_NACKED (retryable).
 * - the channel or connection is lost before the answer, or there is no channel right now: rejects with
 *   GW_ERR_TRANSPORT_UNAVAILABLE (retryable). The message may or may not have reached the queue: the outbox
 *   publishes it again (at-least-once; receivers deduplicate by messageId/DocumentId).
 *
 * Many publishes can be in flight at once: call `publish` without awaiting the previous one. When amqplib's
 * channel buffer is full (`publish` returned false) further messages wait inside the publisher until 'drain',
 * so memory stays bounded by the caller's concurrency, not by the socket.
 */
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib'
import { gwError, type GatewayError } from '../errors.js'
import type { AmqpConnection } from './connection.js'
import { reasonOf, silentLogger, type TransportLogger } from './logger.js'
import { routingKeyFor } from './topology.js'

/** Header with the detached CMS SignedData over the body, base64 of the DER. */
export const HEADER_SIGNATURE = 'x-lienthong-signature'
/** Header with the sending agency's OrganId, as given by the pipeline. */
export const HEADER_SENDER = 'x-lienthong-sender'
/** Header with the recipient agency's OrganId, as given by the pipeline (the routing key is its uppercase form). */
export const HEADER_RECIPIENT = 'x-lienthong-recipient'
/** Header with the SHA-256 of the body, lowercase hex. */
export const HEADER_SHA256 = 'x-lienthong-sha256'
/** The headers above, for the consumer. */
export const LIENTHONG_HEADERS = Object.freeze({
  signature: HEADER_SIGNATURE,
  sender: HEADER_SENDER,
  recipient: HEADER_RECIPIENT,
  sha256: HEADER_SHA256,
})
/** `contentType` of every message: the body is the exact edXML bytes. */
export const MESSAGE_CONTENT_TYPE = 'application/xml'
/** `appId` of every message. */
export const MESSAGE_APP_ID = 'lienthong'

/** What the pipeline hands over for one recipient. Plain data: the transport never parses the body. */
export interface OutgoingMessage {
  /** AMQP `messageId` (≤ 255 characters); the receiver deduplicates on it. */
  messageId: string
  /** AMQP `type`: a document package or a status package. */
  type: 'edoc' | 'status'
  /** The exact edXML bytes (sent as is, never copied or re-serialised). */
  body: Uint8Array
  /** Recipient OrganId; the routing key is its trimmed uppercase form. */
  recipient: string
  /** Sender OrganId (header only). */
  sender: string
  /** Detached CMS SignedData (DER) over `body`; sent base64 in {@link HEADER_SIGNATURE}. */
  signature: Uint8Array
  /** SHA-256 of `body`, hex. */
  sha256: string
  /** AMQP priority 0-9 (urgent documents higher; the inbox queues honour up to `maxPriority`). Default: 0. */
  priority?: number
  /** AMQP `timestamp` (sent in whole seconds). Default: now. */
  timestamp?: Date | number
  /** AMQP `correlationId`, e.g. the package a status refers to. */
  correlationId?: string
  /** Extra headers; the four `x-lienthong-*` headers above always win. */
  headers?: Record<string, string | number | boolean>
}

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  /** Exchange to publish to (the topology's `exchange`). Default: `lienthong.edoc`. */
  exchange?: string
  /**
   * amqplib's per-channel write buffer, in frames, before `publish` reports backpressure and the publisher waits
   * for 'drain'. Default: 1024 (amqplib's default).
   */
  highWaterMark?: number
  /** Delay before re-opening a confirm channel the broker closed while the connection stayed up, in ms. Default: 1000. */
  reopenDelayMs?: number
  /** Where to log. Default: silent. */
  logger?: TransportLogger
}

/** The broker's receipt for one message. */
export interface PublishReceipt {
  messageId: string
  /** The routing key used (uppercase recipient OrganId). */
  routingKey: string
}

/** Counters since the publisher was created (for metrics). */
export interface PublisherStats {
  /** Messages written to the channel. */
  published: number
  /** Resolved by `basic.ack`. */
  acked: number
  /** Rejected by `basic.nack`. */
  nacked: number
  /** Rejected by `basic.return` (unroutable). */
  returned: number
  /** Rejected because the channel/connection was lost or absent. */
  unavailable: number
  /** Times the channel buffer was full and later publishes waited for 'drain'. */
  backpressureWaits: number
}

/** A confirmed publisher on its own ConfirmChannel, re-opened after every reconnect. */
export interface Publisher {
  /**
   * Publish one message persistent (deliveryMode 2), `mandatory`, contentType `application/xml`. Resolves when the
   * broker acks this message; rejects with GW_ERR_TRANSPORT_UNROUTABLE, _NACKED, _UNAVAILABLE or
   * _INVALID_MESSAGE (see the module comment). Never throws synchronously.
   */
  publish(msg: OutgoingMessage): Promise<PublishReceipt>
  /** True while a confirm channel is open (publishing can succeed). */
  readonly ready: boolean
  /** Messages published or waiting for 'drain' and not yet answered. */
  readonly inFlight: number
  /** Counters since creation; a live view, do not modify. */
  readonly stats: Readonly<PublisherStats>
  /**
   * Resolves once a confirm channel is open. Rejects with GW_ERR_TRANSPORT_UNAVAILABLE after `timeoutMs`
   * (default: wait forever) or when the publisher is closed.
   */
  whenReady(opts?: { timeoutMs?: number }): Promise<void>
  /**
   * Stop accepting publishes, wait up to `timeoutMs` (default 5000) for outstanding confirms, then close the
   * channel; what is still unconfirmed rejects with GW_ERR_TRANSPORT_UNAVAILABLE. Does not close the connection.
   */
  close(opts?: { timeoutMs?: number }): Promise<void>
}

interface Pending {
  readonly messageId: string
  readonly routingKey: string
  readonly body: Buffer
  readonly options: Options.Publish
  readonly resolve: (r: PublishReceipt) => void
  readonly reject: (e: GatewayError) => void
  tag: number
  returned: boolean
}

/** Per-channel confirm bookkeeping; delivery tags restart at 1 on every channel. */
interface ChannelSlot {
  readonly ch: ConfirmChannel
  readonly model: ChannelModel
  nextTag: number
  /** Published, awaiting ack/nack, by delivery tag (insertion order = tag order). */
  readonly unconfirmed: Map<number, Pending>
  /** messageId + routing key → unconfirmed messages, oldest first, to correlate basic.return. */
  readonly byKey: Map<string, Pending[]>
  /** Not yet written because the channel buffer was full. */
  readonly waiting: Pending[]
  paused: boolean
  closed: boolean
  lastError: unknown
}

/**
 * Create a publisher on the managed connection. Its confirm channel is opened as a setup step, so create the
 * publisher after registering the topology ({@link declareTopology}).
 */
export function createPublisher(connection: AmqpConnection, options: PublisherOptions = {}): Publisher {
  return new ConfirmPublisher(connection, options)
}

const keyOf = (messageId: string | undefined, routingKey: string): string => `${messageId ?? ''}\n${routingKey}`

class ConfirmPublisher implements Publisher {
  readonly #conn: AmqpConnection
  readonly #exchange: string
  readonly #hwm: number | undefined
  readonly #reopenDelayMs: number
  readonly #log: TransportLogger
  readonly #removeSetup: () => void
  #slot: ChannelSlot | undefined
  #closed = false
  #readyWaiters = new Set<{ resolve: () => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout }>()
  #idleWaiters: Array<() => void> = []
  #reopenTimer: NodeJS.Timeout | undefined
  readonly #stats: PublisherStats = { published: 0, acked: 0, nacked: 0, returned: 0, unavailable: 0, backpressureWaits: 0 }

  constructor(connection: AmqpConnection, options: PublisherOptions) {
    this.#conn = connection
    this.#exchange = options.exchange ?? 'lienthong.edoc'
    this.#hwm = options.highWaterMark
    this.#reopenDelayMs = options.reopenDelayMs ?? 1000
    this.#log = options.logger ?? silentLogger
    this.#removeSetup = connection.addSetup(async (model) => {
      try {
        await this.#open(model)
      } catch (err) {
        if (!this.#closed) throw err
      }
    })
  }

  get ready(): boolean {
    return this.#slot !== undefined && !this.#slot.closed
  }

  get inFlight(): number {
    const s = this.#slot
    return s === undefined ? 0 : s.unconfirmed.size + s.waiting.length
  }

  get stats(): Readonly<PublisherStats> {
    return this.#stats
  }

  whenReady(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.ready) return Promise.resolve()
    if (this.#closed) return Promise.reject(this.#unavailable('publisher closed'))
    return new Promise((resolve, reject) => {
      const w: { resolve: () => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout } = { resolve, reject }
      if (opts.timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.#readyWaiters.delete(w)
          reject(this.#unavailable(`no confirm channel within ${opts.timeoutMs} ms`))
        }, opts.timeoutMs)
      }
      this.#readyWaiters.add(w)
    })
  }

  publish(msg: OutgoingMessage): Promise<PublishReceipt> {
    if (this.#closed) {
      this.#stats.unavailable++
      return Promise.reject(this.#unavailable('publisher closed'))
    }
    let prepared: { routingKey: string; body: Buffer; options: Options.Publish }
    try {
      prepared = prepare(msg)
    } catch (err) {
      return Promise.reject(err)
    }
    const slot = this.#slot
    if (slot === undefined || slot.closed) {
      this.#stats.unavailable++
      return Promise.reject(this.#unavailable(this.#conn.state === 'connected' ? 'confirm channel is being re-opened' : `not connected (${this.#conn.state})`))
    }
    return new Promise<PublishReceipt>((resolve, reject) => {
      const p: Pending = { messageId: msg.messageId, ...prepared, resolve, reject, tag: 0, returned: false }
      if (slot.paused) slot.waiting.push(p)
      else this.#write(slot, p)
    })
  }

  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#removeSetup()
    if (this.#reopenTimer !== undefined) clearTimeout(this.#reopenTimer)
    for (const w of this.#readyWaiters) {
      if (w.timer) clearTimeout(w.timer)
      w.reject(this.#unavailable('publisher closed'))
    }
    this.#readyWaiters.clear()
    const slot = this.#slot
    if (slot === undefined || slot.closed) return
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, opts.timeoutMs ?? 5000)
        }),
      ])
      clearTimeout(timer)
    }
    if (!slot.closed) await slot.ch.close().catch(() => {})
  }

  // ---- internals ----------------------------------------------------------------------------------------

  #unavailable(reason: string, cause?: unknown): GatewayError {
    return gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.#conn.redactedUrl, reason }, cause)
  }

  async #open(model: ChannelModel): Promise<void> {
    if (this.#closed) return
    const ch = await model.createConfirmChannel(this.#hwm === undefined ? undefined : { highWaterMark: this.#hwm })
    if (this.#closed) {
      await ch.close().catch(() => {})
      return
    }
    const slot: ChannelSlot = {
      ch,
      model,
      nextTag: 1,
      unconfirmed: new Map(),
      byKey: new Map(),
      waiting: [],
      paused: false,
      closed: false,
      lastError: undefined,
    }
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => this.#confirm(slot, f.deliveryTag, f.multiple, undefined))
    ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => this.#confirm(slot, f.deliveryTag, f.multiple, 'nack'))
    ch.on('return', (m: Message) => this.#onReturn(slot, m))
    ch.on('drain', () => this.#onDrain(slot))
    ch.on('error', (err: Error) => {
      slot.lastError = err
      this.#log.warn({ err: err.message }, 'AMQP confirm channel error')
    })
    ch.on('close', () => this.#onClose(slot))
    this.#slot = slot
    for (const w of this.#readyWaiters) {
      if (w.timer) clearTimeout(w.timer)
      w.resolve()
    }
    this.#readyWaiters.clear()
  }

  #write(slot: ChannelSlot, p: Pending): void {
    let ok: boolean
    try {
      ok = slot.ch.publish(this.#exchange, p.routingKey, p.body, p.options)
    } catch (err) {
      // RangeError: a headers table over amqplib's 64 KiB encoding buffer. Anything else: the channel is closing.
      if (err instanceof RangeError || err instanceof TypeError) {
        p.reject(gwError('GW_ERR_TRANSPORT_INVALID_MESSAGE', { messageId: p.messageId, reason: err.message }, err))
      } else {
        this.#stats.unavailable++
        p.reject(this.#unavailable(`channel closed: ${reasonOf(err)}`, err))
      }
      this.#maybeIdle()
      return
    }
    this.#stats.published++
    p.tag = slot.nextTag++
    slot.unconfirmed.set(p.tag, p)
    const key = keyOf(p.messageId, p.routingKey)
    const list = slot.byKey.get(key)
    if (list === undefined) slot.byKey.set(key, [p])
    else list.push(p)
    if (!ok) {
      slot.paused = true
      this.#stats.backpressureWaits++
    }
  }

  #onDrain(slot: ChannelSlot): void {
    slot.paused = false
    while (!slot.paused && !slot.closed && slot.waiting.length > 0) {
      const p = slot.waiting.shift() as Pending
      this.#write(slot, p)
    }
  }

  #forget(slot: ChannelSlot, p: Pending): void {
    slot.unconfirmed.delete(p.tag)
    const key = keyOf(p.messageId, p.routingKey)
    const list = slot.byKey.get(key)
    if (list !== undefined) {
      const i = list.indexOf(p)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) slot.byKey.delete(key)
    }
  }

  #settle(slot: ChannelSlot, p: Pending, outcome: 'nack' | undefined): void {
    this.#forget(slot, p)
    if (p.returned) return // already rejected as unroutable; the ack that follows a return means nothing more
    if (outcome === 'nack') {
      this.#stats.nacked++
      p.reject(gwError('GW_ERR_TRANSPORT_NACKED', { reason: `basic.nack for message ${p.messageId} to ${p.routingKey}`, messageId: p.messageId }))
    } else {
      this.#stats.acked++
      p.resolve({ messageId: p.messageId, routingKey: p.routingKey })
    }
  }

  #confirm(slot: ChannelSlot, tag: number, multiple: boolean, outcome: 'nack' | undefined): void {
    if (multiple) {
      for (const [t, p] of slot.unconfirmed) {
        if (t > tag) break
        this.#settle(slot, p, outcome)
      }
    } else {
      const p = slot.unconfirmed.get(tag)
      if (p !== undefined) this.#settle(slot, p, outcome)
    }
    this.#maybeIdle()
  }

  #onReturn(slot: ChannelSlot, m: Message): void {
    const list = slot.byKey.get(keyOf(m.properties.messageId as string | undefined, m.fields.routingKey))
    const p = list?.find((x) => !x.returned)
    if (p === undefined) {
      this.#log.warn({ messageId: m.properties.messageId, routingKey: m.fields.routingKey }, 'basic.return for a message not awaiting confirmation')
      return
    }
    p.returned = true
    this.#stats.returned++
    const f = m.fields as unknown as { replyCode?: number; replyText?: string }
    p.reject(
      gwError('GW_ERR_TRANSPORT_UNROUTABLE', {
        recipient: p.routingKey,
        messageId: p.messageId,
        replyCode: f.replyCode,
        replyText: f.replyText,
      }),
    )
  }

  #onClose(slot: ChannelSlot): void {
    slot.closed = true
    const reason = slot.lastError !== undefined ? `channel closed: ${reasonOf(slot.lastError)}` : 'channel or connection closed before the broker confirmed'
    const lost = [...slot.unconfirmed.values(), ...slot.waiting].filter((p) => !p.returned)
    slot.unconfirmed.clear()
    slot.byKey.clear()
    slot.waiting.length = 0
    this.#stats.unavailable += lost.length
    for (const p of lost) p.reject(this.#unavailable(reason, slot.lastError))
    if (lost.length > 0) this.#log.warn({ count: lost.length, reason }, 'unconfirmed publishes failed as unavailable; the outbox will publish them again')
    this.#maybeIdle()
    if (this.#slot === slot) this.#slot = undefined
    // The broker closed only this channel (e.g. 404 exchange not found) while the connection is fine: re-open it.
    // After a connection loss the setup step re-opens it instead (amqplib closes the channels just before it
    // reports the connection closed, so decide on the next turn).
    setImmediate(() => {
      if (!this.#closed && this.#conn.current === slot.model) this.#scheduleReopen(slot.model, this.#reopenDelayMs)
    })
  }

  #scheduleReopen(model: ChannelModel, delayMs: number): void {
    if (this.#reopenTimer !== undefined) return
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined
      if (this.#closed || this.#conn.current !== model || this.ready) return
      this.#open(model).catch((err: unknown) => {
        this.#log.warn({ err: reasonOf(err) }, 'cannot re-open the AMQP confirm channel; retrying')
        this.#scheduleReopen(model, Math.min(delayMs * 2, 30_000))
      })
    }, delayMs)
  }

  #maybeIdle(): void {
    if (this.#idleWaiters.length === 0 || this.inFlight > 0) return
    const ws = this.#idleWaiters
    this.#idleWaiters = []
    for (const w of ws) w()
  }
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/

function prepare(msg: OutgoingMessage): { routingKey: string; body: Buffer; options: Options.Publish } {
  const bad = (reason: string): never => {
    throw gwError('GW_ERR_TRANSPORT_INVALID_MESSAGE', { messageId: msg.messageId, reason })
  }
  if (typeof msg.messageId !== 'string' || msg.messageId === '' || msg.messageId.length > 255) bad('messageId must be 1-255 characters')
  if (msg.type !== 'edoc' && msg.type !== 'status') bad(`type ${String(msg.type)} is not edoc or status`)
  if (!(msg.body instanceof Uint8Array)) bad('body is not a Uint8Array')
  if (!(msg.signature instanceof Uint8Array) || msg.signature.byteLength === 0) bad('signature is missing')
  if (!SHA256_HEX.test(msg.sha256)) bad('sha256 is not 64 hex digits')
  const routingKey = routingKeyFor(msg.recipient ?? '')
  if (routingKey === '') bad('recipient is empty')
  if (typeof msg.sender !== 'string' || msg.sender.trim() === '') bad('sender is empty')
  const priority = msg.priority ?? 0
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) bad(`priority ${priority} is not an integer in 0..9`)
  const ts = msg.timestamp === undefined ? Date.now() : msg.timestamp instanceof Date ? msg.timestamp.getTime() : msg.timestamp
  if (!Number.isFinite(ts)) bad('timestamp is not a valid date')
  const body = Buffer.isBuffer(msg.body) ? msg.body : Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength)
  const sig = Buffer.from(msg.signature.buffer, msg.signature.byteOffset, msg.signature.byteLength)
  const options: Options.Publish = {
    persistent: true,
    mandatory: true,
    contentType: MESSAGE_CONTENT_TYPE,
    messageId: msg.messageId,
    type: msg.type,
    priority,
    timestamp: Math.floor(ts / 1000),
    appId: MESSAGE_APP_ID,
    headers: {
      ...msg.headers,
      [HEADER_SIGNATURE]: sig.toString('base64'),
      [HEADER_SENDER]: msg.sender.trim(),
      [HEADER_RECIPIENT]: msg.recipient.trim(),
      [HEADER_SHA256]: msg.sha256.toLowerCase(),
    },
  }
  if (msg.correlationId !== undefined) options.correlationId = msg.correlationId
  return { routingKey, body, options }
}
