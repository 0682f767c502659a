/**
 * Consuming the hosted agencies' inbox queues with manual acknowledgement.
 *
 * For every delivery the handler decides, and the consumer answers the broker on the channel that delivered it:
 * - `'ack'`: `basic.ack`: the broker deletes the message. Return it only once the package is durably stored.
 * - `'reject'`: `basic.reject` with `requeue = false`: the broker dead-letters the message through the queue's
 *   `x-dead-letter-exchange` to the agency's dead-letter queue (for packages that can never be processed: bad
 *   signature, unparsable, not for us). Operators can inspect and replay it there.
 * - `'retry'` (or the handler throws, or returns anything else): after `retryDelayMs` the consumer sends
 *   `basic.nack` with `requeue = true`; the broker puts the message back (near the head of the queue) and
 *   redelivers it with `redelivered = true`. For transient failures (store unavailable). The message keeps its
 *   prefetch slot while it waits, so at most `prefetch` messages per queue are in the handler or waiting.
 *
 * If the channel or connection is lost before the answer, the broker requeues every unacknowledged message by
 * itself and redelivers it after the reconnect (`redelivered = true`): handlers must be idempotent (the pipeline
 * deduplicates on messageId/DocumentId). An answer for a message from a lost channel is dropped, never sent on the
 * new channel (delivery tags are per channel).
 *
 * Deliveries that came to no end: a message that hangs the process (heartbeats missed, the broker drops the
 * connection) or kills it is redelivered forever unless someone counts. The consumer tells the handler, in
 * `unfinishedDeliveries`, how many earlier deliveries of this message ended without an answer: counted by the
 * consumer itself (a delivery whose channel closed before its answer, or whose handler threw), at least 1 for a
 * message the broker marks `redelivered` that this process never asked to retry (it was handed out before, by this
 * or another process, and not answered), and on quorum queues also `x-delivery-count` minus this process's own
 * retries. The pipeline refuses the message unread once that reaches `amqp.deliveryLimit` (dead-lettered). The
 * process's record is bounded (the oldest entries are forgotten past 10,000) and an entry ends with the answer.
 * With `attempts` (the store's delivery_attempts) a count above 0 is also written before the handler runs and
 * removed with the answer, so it survives the process: a message that kills the gateway on a classic queue is
 * dead-lettered at the limit instead of killing every restart.
 */
import { createHash } from 'node:crypto'
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import { decodeBase64Strict } from '../encoding.js'
import { gwError } from '../errors.js'
import type { AmqpConnection } from './connection.js'
import { reasonOf, silentLogger, type TransportLogger } from './logger.js'
import { HEADER_RECIPIENT, HEADER_SENDER, HEADER_SHA256, HEADER_SIGNATURE } from './publisher.js'

/**
 * What the handler wants done with a delivery:
 * - `'ack'`: `basic.ack`, the broker deletes it (return it only once the package is durably stored);
 * - `'reject'`: `basic.reject(requeue = false)`, the broker dead-letters it to the agency's dead-letter queue;
 * - `'retry'`: held `retryDelayMs`, then `basic.nack(requeue = true)`, redelivered with `redelivered = true`.
 * A handler that throws counts as `'retry'`.
 */
export type HandlerResult = 'ack' | 'reject' | 'retry'

/** One delivery as plain data for the pipeline. Nothing here has been verified: headers are the sender's claims. */
export interface InboundMessage {
  /** The queue it came from. */
  queue: string
  /** The routing key it was published with (uppercase recipient OrganId). */
  routingKey: string
  /** The exact body bytes (the edXML package). */
  body: Uint8Array
  messageId: string | undefined
  /** AMQP `type`: `edoc` or `status` from a lienthong gateway; anything else from a stranger. */
  type: string | undefined
  contentType: string | undefined
  correlationId: string | undefined
  /** AMQP priority, 0 when absent. */
  priority: number
  /** AMQP timestamp (whole seconds) as a Date. */
  timestamp: Date | undefined
  /** {@link HEADER_SENDER} */
  sender: string | undefined
  /** {@link HEADER_RECIPIENT} */
  recipient: string | undefined
  /** {@link HEADER_SHA256} */
  sha256: string | undefined
  /** {@link HEADER_SIGNATURE} decoded; undefined when absent or not strict base64 (see `signatureBase64`). */
  signature: Uint8Array | undefined
  /** {@link HEADER_SIGNATURE} as received. */
  signatureBase64: string | undefined
  /** True when the broker delivered it before (to this or another consumer) without an ack. */
  redelivered: boolean
  /** Quorum queues only: `x-delivery-count`, how many times it was returned before. */
  deliveryCount: number | undefined
  /** Earlier deliveries of this message that ended without an answer, as far as known (see the module comment). */
  unfinishedDeliveries?: number
  /** All AMQP headers, as received. */
  headers: Readonly<Record<string, unknown>>
}

export type MessageHandler = (msg: InboundMessage) => Promise<HandlerResult> | HandlerResult

/** Options of {@link createConsumer}. */
export interface ConsumerOptions {
  /** Queues to consume (the topology's inbox queues). */
  queues: readonly string[]
  /**
   * Called for every delivery, concurrently up to `prefetch` per queue; its {@link HandlerResult} decides ack,
   * dead-letter or requeue. Must be idempotent: after a lost channel the broker redelivers what was not acked.
   */
  handler: MessageHandler
  /**
   * `basic.qos` prefetch count per consumer (one consumer per queue): the most unacknowledged messages the broker
   * hands out per queue, including those waiting to be retried. 1-65535. Default: 16.
   */
  prefetch?: number
  /** How long a `'retry'` message is held before `nack` with requeue, in milliseconds. Default: 5000. */
  retryDelayMs?: number
  /**
   * Delay before re-subscribing when the broker cancelled a consumer or closed the channel while the connection
   * stayed up (queue deleted, 404), in milliseconds; doubles per failure up to 30000. Default: 1000.
   */
  resubscribeDelayMs?: number
  /** Where to log. Default: silent. */
  logger?: TransportLogger
  /**
   * Where the count of deliveries that came to no end survives the process (the store's delivery_attempts,
   * migration 009). Without it the count is this process's memory only: on a classic queue, whose broker only
   * says `redelivered`, a message that kills the process would start from 1 after every restart.
   */
  attempts?: DeliveryAttempts
}

/**
 * The persistent record of a message's unfinished deliveries, keyed by a SHA-256 of the delivery key (hex).
 * `begin` is awaited before the handler runs and stores max(stored, atLeast) + 1, returning the stored count;
 * `end` removes it (answered), or stores `unfinished` back (a requeue the handler asked for: it does not count).
 */
export interface DeliveryAttempts {
  begin(key: string, atLeast: number): Promise<number>
  end(key: string, unfinished?: number): Promise<void>
}

export interface Consumer {
  /** True while subscribed to every queue. */
  readonly consuming: boolean
  /** Deliveries in the handler or waiting to be retried. */
  readonly inFlight: number
  /**
   * Resolves once subscribed to every queue (after the next (re)connect if needed). Rejects with
   * GW_ERR_TRANSPORT_UNAVAILABLE after `timeoutMs` (default: wait forever) or when stopped.
   */
  whenConsuming(opts?: { timeoutMs?: number }): Promise<void>
  /**
   * Cancel the subscriptions (no new deliveries), send pending retries back at once, wait for handlers in flight
   * and their acks, then close the channel. Does not close the connection. Idempotent.
   */
  stop(): Promise<void>
}

/**
 * Create a consumer on the managed connection. It subscribes as a setup step, after every (re)connect; create it
 * after registering the topology so that the queues exist.
 */
export function createConsumer(connection: AmqpConnection, options: ConsumerOptions): Consumer {
  return new QueueConsumer(connection, options)
}

interface Slot {
  readonly ch: Channel
  readonly model: ChannelModel
  readonly tags: string[]
  closed: boolean
  consuming: boolean
}

class QueueConsumer implements Consumer {
  readonly #conn: AmqpConnection
  readonly #queues: readonly string[]
  readonly #handler: MessageHandler
  readonly #prefetch: number
  readonly #retryDelayMs: number
  readonly #resubscribeDelayMs: number
  readonly #log: TransportLogger
  readonly #persist: DeliveryAttempts | undefined
  readonly #removeSetup: () => void
  #slot: Slot | undefined
  #stopping = false
  #stopped: Promise<void> | undefined
  readonly #inFlight = new Set<Promise<void>>()
  /** Per message (deliveryKey): earlier deliveries that came to no end, and requeues this process asked for. */
  readonly #attempts = new Map<string, { unfinished: number; retries: number }>()
  readonly #retries = new Set<{ timer: NodeJS.Timeout; fire: () => void }>()
  #consumingWaiters = new Set<{ resolve: () => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout }>()
  #resubTimer: NodeJS.Timeout | undefined
  #resubDelay: number

  constructor(connection: AmqpConnection, options: ConsumerOptions) {
    this.#conn = connection
    this.#queues = [...options.queues]
    this.#handler = options.handler
    this.#prefetch = options.prefetch ?? 16
    this.#retryDelayMs = options.retryDelayMs ?? 5000
    this.#resubscribeDelayMs = options.resubscribeDelayMs ?? 1000
    this.#resubDelay = this.#resubscribeDelayMs
    this.#log = options.logger ?? silentLogger
    this.#persist = options.attempts
    this.#removeSetup = connection.addSetup(async (model) => {
      try {
        await this.#subscribe(model)
      } catch (err) {
        if (!this.#stopping) throw err // stopped meanwhile: the failure is ours, not the connection's
      }
    })
  }

  get consuming(): boolean {
    return this.#slot?.consuming === true && !this.#slot.closed
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  whenConsuming(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.consuming) return Promise.resolve()
    if (this.#stopping) return Promise.reject(this.#unavailable('consumer stopped'))
    return new Promise((resolve, reject) => {
      const w: { resolve: () => void; reject: (e: unknown) => void; timer?: NodeJS.Timeout } = { resolve, reject }
      if (opts.timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.#consumingWaiters.delete(w)
          reject(this.#unavailable(`not consuming within ${opts.timeoutMs} ms`))
        }, opts.timeoutMs)
      }
      this.#consumingWaiters.add(w)
    })
  }

  #unavailable(reason: string): Error {
    return gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.#conn.redactedUrl, reason })
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#stopping = true
    this.#removeSetup()
    if (this.#resubTimer !== undefined) clearTimeout(this.#resubTimer)
    for (const w of this.#consumingWaiters) {
      if (w.timer) clearTimeout(w.timer)
      w.reject(this.#unavailable('consumer stopped'))
    }
    this.#consumingWaiters.clear()
    const slot = this.#slot
    if (slot !== undefined && !slot.closed) {
      for (const tag of slot.tags) await slot.ch.cancel(tag).catch(() => {})
      slot.consuming = false
    }
    for (const r of [...this.#retries]) r.fire()
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
    if (slot !== undefined && !slot.closed) await slot.ch.close().catch(() => {})
    this.#log.info({ queues: this.#queues }, 'AMQP consumer stopped')
  }

  async #subscribe(model: ChannelModel): Promise<void> {
    if (this.#stopping) return
    const ch = await model.createChannel()
    const slot: Slot = { ch, model, tags: [], closed: false, consuming: false }
    ch.on('error', (err: Error) => this.#log.warn({ err: err.message, queues: this.#queues }, 'AMQP consumer channel error'))
    ch.on('close', () => this.#onChannelClose(slot))
    this.#slot = slot
    await ch.prefetch(this.#prefetch, false)
    for (const queue of this.#queues) {
      if (this.#stopping) break
      const { consumerTag } = await ch.consume(queue, (m) => this.#onDelivery(slot, queue, m), { noAck: false })
      slot.tags.push(consumerTag)
    }
    if (slot.closed) return
    if (this.#stopping) {
      // stop() ran while subscribing; it may have seen no slot. Leave nothing behind (nothing was handled yet
      // unless a delivery raced in, and unacked deliveries go back to the queue when the channel closes).
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
      await ch.close().catch(() => {})
      return
    }
    slot.consuming = true
    this.#resubDelay = this.#resubscribeDelayMs
    this.#log.info({ queues: this.#queues, prefetch: this.#prefetch }, 'consuming inbox queues')
    for (const w of this.#consumingWaiters) {
      if (w.timer) clearTimeout(w.timer)
      w.resolve()
    }
    this.#consumingWaiters.clear()
  }

  #onChannelClose(slot: Slot): void {
    slot.closed = true
    slot.consuming = false
    if (this.#slot === slot) this.#slot = undefined
    // Connection lost: the setup step subscribes again after the reconnect. Only this channel closed: do it here.
    // amqplib closes the channels just before it reports the connection closed, so decide on the next turn.
    setImmediate(() => {
      if (!this.#stopping && this.#conn.current === slot.model) this.#scheduleResubscribe(slot.model)
    })
  }

  #scheduleResubscribe(model: ChannelModel): void {
    if (this.#resubTimer !== undefined) return
    const delay = this.#resubDelay
    this.#resubDelay = Math.min(delay * 2, 30_000)
    this.#log.warn({ queues: this.#queues, retryInMs: delay }, 'AMQP consumer lost its subscription; subscribing again')
    this.#resubTimer = setTimeout(() => {
      this.#resubTimer = undefined
      if (this.#stopping || this.#conn.current !== model || this.consuming) return
      this.#subscribe(model).catch((err: unknown) => {
        // A failed consume (e.g. 404 queue missing) closes the channel, whose close handler schedules the next try.
        this.#log.warn({ err: reasonOf(err), queues: this.#queues }, 'cannot subscribe to the inbox queues')
        if (this.#slot === undefined || this.#slot.closed) this.#scheduleResubscribe(model)
      })
    }, delay)
  }

  #onDelivery(slot: Slot, queue: string, m: ConsumeMessage | null): void {
    if (m === null) {
      // basic.cancel from the broker: the queue was deleted (or, for quorum, lost its leader). Recycle the channel.
      this.#log.warn({ queue }, 'the broker cancelled the subscription (queue deleted?)')
      if (!slot.closed) slot.ch.close().catch(() => {})
      return
    }
    const task = this.#handle(slot, queue, m)
    this.#inFlight.add(task)
    void task.finally(() => this.#inFlight.delete(task))
  }

  async #handle(slot: Slot, queue: string, m: ConsumeMessage): Promise<void> {
    let result: HandlerResult
    const key = deliveryKey(queue, m)
    const known = this.#attempts.get(key)
    const rec = known ?? { unfinished: m.fields.redelivered ? 1 : 0, retries: 0 }
    const inbound = toInbound(queue, m)
    // a message back from an earlier delivery (a lost connection or channel, a restart): rare, and worth a line
    if (m.fields.redelivered) this.#log.info({ messageId: m.properties.messageId, queue, deliveryCount: inbound.deliveryCount }, 'redelivered message')
    if (inbound.deliveryCount !== undefined) rec.unfinished = Math.max(rec.unfinished, inbound.deliveryCount - rec.retries)
    // Once a delivery counts as unfinished (the message came back without this process asking), the count goes to
    // the store before the handler runs, so the delivery that kills the process is counted across the restart; a
    // first delivery writes nothing (its crash shows as `redelivered` on the next one).
    const stored = this.#persist && rec.unfinished > 0 ? createHash('sha256').update(key).digest('hex') : undefined
    if (stored) {
      try {
        rec.unfinished = Math.max(rec.unfinished, await this.#persist!.begin(stored, rec.unfinished))
      } catch (err) {
        this.#log.warn({ err: reasonOf(err), messageId: m.properties.messageId, queue }, 'cannot store the delivery count; counting in memory only')
      }
    }
    inbound.unfinishedDeliveries = rec.unfinished
    this.#remember(key, rec)
    let threw = false
    try {
      result = await this.#handler(inbound)
    } catch (err) {
      this.#log.warn({ err: reasonOf(err), messageId: m.properties.messageId, queue }, 'message handler failed; the message will be retried')
      result = 'retry'
      threw = true
    }
    if (result !== 'ack' && result !== 'reject' && result !== 'retry') {
      this.#log.error({ result, messageId: m.properties.messageId }, 'message handler returned an unknown result; retrying')
      result = 'retry'
    }
    if (result === 'retry' && !this.#stopping) await this.#delay(this.#retryDelayMs)
    if (slot.closed) {
      rec.unfinished++
      this.#log.warn({ messageId: m.properties.messageId, result, unfinished: rec.unfinished }, 'channel closed before the answer; the broker will redeliver')
      return
    }
    if (threw) rec.unfinished++
    else if (result === 'retry') rec.retries++
    else this.#attempts.delete(key)
    // answered: the stored count ends; a requeue the handler asked for stores the count without this delivery
    if (stored && !threw) {
      this.#persist!.end(stored, result === 'retry' ? rec.unfinished : undefined).catch((err: unknown) => {
        this.#log.warn({ err: reasonOf(err), messageId: m.properties.messageId, queue }, 'cannot clear the stored delivery count')
      })
    }
    try {
      if (result === 'ack') slot.ch.ack(m)
      else if (result === 'reject') slot.ch.reject(m, false)
      else slot.ch.nack(m, false, true)
    } catch (err) {
      this.#log.debug({ err: reasonOf(err), messageId: m.properties.messageId }, 'cannot answer on a closing channel; the broker will redeliver')
    }
  }

  #remember(key: string, rec: { unfinished: number; retries: number }): void {
    this.#attempts.delete(key)
    this.#attempts.set(key, rec)
    if (this.#attempts.size > MAX_ATTEMPT_RECORDS) this.#attempts.delete(this.#attempts.keys().next().value!)
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.fire(), ms),
        fire: () => {
          clearTimeout(entry.timer)
          this.#retries.delete(entry)
          resolve()
        },
      }
      this.#retries.add(entry)
    })
  }
}

const MAX_ATTEMPT_RECORDS = 10_000

/**
 * What tells one message from another across its deliveries without hashing it whole: the queue, messageId, size
 * and a hash of its first and last 4 KiB (a peer can reuse a messageId; it then shares a count only with a
 * message of the same size and ends).
 */
function deliveryKey(queue: string, m: ConsumeMessage): string {
  const b = m.content
  const h = createHash('sha256').update(b.subarray(0, 4096))
  if (b.length > 4096) h.update(b.subarray(Math.max(4096, b.length - 4096)))
  return `${queue}\0${String(m.properties.messageId ?? '')}\0${b.length}\0${h.digest('base64')}`
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  return undefined
}

function toInbound(queue: string, m: ConsumeMessage): InboundMessage {
  const p = m.properties
  const headers = (p.headers ?? {}) as Record<string, unknown>
  const signatureBase64 = str(headers[HEADER_SIGNATURE])
  const decoded = signatureBase64 ? decodeBase64Strict(signatureBase64) : undefined
  const sig = decoded ? new Uint8Array(decoded) : undefined
  const dc = headers['x-delivery-count']
  return {
    queue,
    routingKey: m.fields.routingKey,
    body: m.content,
    messageId: str(p.messageId),
    type: str(p.type),
    contentType: str(p.contentType),
    correlationId: str(p.correlationId),
    priority: typeof p.priority === 'number' ? p.priority : 0,
    timestamp: typeof p.timestamp === 'number' ? new Date(p.timestamp * 1000) : undefined,
    sender: str(headers[HEADER_SENDER]),
    recipient: str(headers[HEADER_RECIPIENT]),
    sha256: str(headers[HEADER_SHA256]),
    signature: sig,
    signatureBase64,
    redelivered: m.fields.redelivered,
    deliveryCount: typeof dc === 'number' ? dc : undefined,
    unfinishedDeliveries: 0,
    headers,
  }
}
