/**
 * The outbox relay: publishes every `accepted` delivery to the broker and marks it `queued` only once the broker
 * has confirmed it.
 *
 * - One loop takes pending deliveries from the store (highest priority first, then oldest) and publishes each on
 *   the confirm channel without awaiting the previous one: up to `maxInFlight` publishes, and `maxInFlightBytes`
 *   of package bytes, are outstanding at once. A package of PENDING_INLINE_BYTES or more comes without its bytes
 *   in the page; they are read when its turn comes (after the bytes in flight leave room for it; one always goes),
 *   and the relay keeps no reference to them once published: a page of large packages never sits in memory.
 * - On the broker's ack the delivery goes to a batch; the batch is written with one `markQueuedMany` transaction
 *   (one commit for many confirms), then `queued` events are emitted. A delivery leaves the in-flight set only
 *   after its new state is stored, so the loop never publishes it twice while it is in flight.
 * - GW_ERR_TRANSPORT_UNROUTABLE (returned: no queue for the recipient), _NACKED and _INVALID_MESSAGE make the
 *   delivery `failed` with the reason. GW_ERR_TRANSPORT_UNAVAILABLE (no channel, connection lost before the
 *   confirm) leaves it `accepted`: it is published again when the broker is back.
 * - With `lease` (several gateway processes on one store) the rows read are leased to this relay for
 *   `lease.ms` (store migration 012): other relays pass them over, and take them once the lease expires (this
 *   process died). A full scan, at least every 10 × `pollIntervalMs` while publishes are in flight, reads the rows
 *   this relay holds again and so renews their lease.
 * - Woken at once by `wake()` (the API calls it for every accepted document); polls every `pollIntervalMs` as a
 *   fallback. On start everything accepted but not confirmed is published again: at-least-once (receivers
 *   deduplicate on messageId = package id).
 *
 * Message per docs/design.md: body = exact edXML bytes; messageId = package id; type = edoc|status; priority from the
 * edXML Priority; headers x-lienthong-signature (base64 DER CMS), -sender, -recipient, -sha256 (set by the
 * transport) and x-lienthong-document-id.
 */
import { EventEmitter } from 'node:events'
import { gwError, isGatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { PendingDelivery, Store } from '../store/index.js'
import type { OutgoingMessage, PublishReceipt } from '../transport/index.js'

/** What the relay needs from the transport (src/transport's Publisher fits). */
export interface PublisherLike {
  publish(msg: OutgoingMessage): Promise<PublishReceipt>
  readonly ready: boolean
}

export interface RelayOptions {
  store: Store
  publisher: PublisherLike
  /** Pending deliveries read per round. Default 500. */
  batchSize?: number
  /** Most publishes awaiting a confirm at once. Default 1000. */
  maxInFlight?: number
  /** Most package bytes awaiting a confirm at once (one package always goes, whatever its size). Default 256 MiB. */
  maxInFlightBytes?: number
  /** Fallback poll interval, ms. Default 1000. */
  pollIntervalMs?: number
  /** Pause after the broker was unavailable, ms. Default 2000. */
  retryDelayMs?: number
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  clock?: () => Date
  /**
   * Several relays on one store (gateway processes on one PostgreSQL database): each takes a lease of `ms` on the
   * deliveries it reads (`owner`: unique per process and start), so no two publish one at the same time; the rows
   * of a relay that died are taken over once its lease expires. Rows in flight are leased again on each full scan.
   */
  lease?: { owner: string; ms: number }
}

export interface RelayEvents {
  /** The broker confirmed the delivery and its state is `queued` in the store. */
  queued: [d: { deliveryId: string; packageId: string; recipient: string }]
  /** The delivery is `failed` (unroutable, nacked, invalid message). */
  failed: [d: { deliveryId: string; packageId: string; recipient: string; code: string; reason: string }]
  /** The broker was unavailable; the delivery stays pending. */
  unavailable: [d: { deliveryId: string; packageId: string; recipient: string; reason: string }]
}

export interface Relay {
  /** Start the loop (publishes everything pending at once). */
  start(): void
  /**
   * Look at the outbox now (a document was accepted). Cheap; calls while a round runs coalesce. With the new
   * delivery's AMQP priority, a more urgent one than those being read makes the next round start from the top.
   */
  wake(hint?: { priority?: number }): void
  /** Stop taking new deliveries, wait up to `timeoutMs` for outstanding confirms and their store updates. */
  stop(opts?: { timeoutMs?: number }): Promise<void>
  readonly inFlight: number
  readonly running: boolean
  on<K extends keyof RelayEvents>(event: K, listener: (...args: RelayEvents[K]) => void): this
  off<K extends keyof RelayEvents>(event: K, listener: (...args: RelayEvents[K]) => void): this
  once<K extends keyof RelayEvents>(event: K, listener: (...args: RelayEvents[K]) => void): this
}

export function createRelay(opts: RelayOptions): Relay {
  return new OutboxRelay(opts)
}

const silent = { info() {}, warn() {}, error() {}, debug() {} }

class OutboxRelay extends EventEmitter implements Relay {
  readonly #store: Store
  readonly #publisher: PublisherLike
  readonly #batchSize: number
  readonly #maxInFlight: number
  readonly #maxInFlightBytes: number
  /** Package bytes of the publishes in flight. */
  #inFlightBytes = 0
  readonly #pollMs: number
  readonly #retryMs: number
  readonly #log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  readonly #clock: () => Date
  readonly #lease: { owner: string; ms: number } | undefined
  /** Delivery ids published and not yet settled in the store. */
  readonly #inFlight = new Map<string, PendingDelivery>()
  #acks: PendingDelivery[] = []
  #flushScheduled = false
  #flushing: Promise<void> = Promise.resolve()
  #running = false
  #stopping = false
  #woken = false
  #wakeResolve: (() => void) | undefined
  #slotResolve: (() => void) | undefined
  #loopDone: Promise<void> = Promise.resolve()
  /** Continue after this delivery in the next round (skips rows already in flight); reset for a full scan. */
  #cursor: string | undefined
  /** AMQP priority of the cursor's row: newcomers above it sort before the cursor. */
  #cursorPriority = 0
  #lastFullScan = 0
  #unavailableUntil = 0

  constructor(o: RelayOptions) {
    super()
    this.#store = o.store
    this.#publisher = o.publisher
    this.#batchSize = o.batchSize ?? 500
    this.#maxInFlight = o.maxInFlight ?? 1000
    this.#maxInFlightBytes = o.maxInFlightBytes ?? 256 * 1024 * 1024
    this.#pollMs = o.pollIntervalMs ?? 1000
    this.#retryMs = o.retryDelayMs ?? 2000
    this.#log = o.logger ?? silent
    this.#clock = o.clock ?? (() => new Date())
    this.#lease = o.lease
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  get running(): boolean {
    return this.#running
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#stopping = false
    if (this.#lease) this.#log.info({ owner: this.#lease.owner, leaseMs: this.#lease.ms }, `outbox relay started as ${this.#lease.owner}: leases pending deliveries for ${this.#lease.ms} ms`)
    this.#loopDone = this.#loop().catch((e: unknown) => {
      this.#log.error({ err: e }, 'outbox relay loop stopped unexpectedly')
    })
  }

  wake(hint?: { priority?: number }): void {
    if (hint?.priority !== undefined && this.#cursor !== undefined && hint.priority > this.#cursorPriority) this.#cursor = undefined
    this.#woken = true
    const r = this.#wakeResolve
    this.#wakeResolve = undefined
    r?.()
  }

  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.#running) return
    this.#stopping = true
    this.wake()
    this.#slotResolve?.()
    await this.#loopDone
    const deadline = Date.now() + (opts.timeoutMs ?? 5000)
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      await new Promise<void>((r) => setTimeout(r, 20))
      await this.#flushing
    }
    await this.#flush()
    this.#running = false
    if (this.#inFlight.size > 0) {
      this.#log.warn({ unconfirmed: this.#inFlight.size }, 'relay stopped with unconfirmed publishes; they stay pending and go out again on the next start')
    }
  }

  /** Wait for a wake-up, or the given time. */
  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopping) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#wakeResolve = undefined
        resolve()
      }, ms)
      this.#wakeResolve = () => {
        clearTimeout(t)
        resolve()
      }
    })
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false
      const now = Date.now()
      if (now < this.#unavailableUntil || !this.#publisher.ready) {
        // broker down: pending deliveries wait in the store; look again after a pause
        await this.#sleep(Math.max(50, Math.min(this.#retryMs, this.#unavailableUntil - now || this.#retryMs)))
        this.#woken = true // re-check at once after the pause
        continue
      }
      let published = 0
      let rows: PendingDelivery[]
      let limit: number
      try {
        // from the top when nothing is in flight; otherwise on from the cursor, with a full scan now and then as a
        // safety net (a full scan reads the rows in flight again, bytes included)
        if (this.#inFlight.size === 0 || now - this.#lastFullScan >= 10 * this.#pollMs) {
          this.#cursor = undefined
          this.#lastFullScan = now
        }
        // never read (package bytes included) more rows than can be put in flight now
        while (this.#inFlight.size >= this.#maxInFlight && !this.#stopping) {
          await new Promise<void>((r) => (this.#slotResolve = r))
        }
        if (this.#stopping) break
        limit = Math.max(1, Math.min(this.#batchSize, this.#maxInFlight - this.#inFlight.size + this.#skipAllowance()))
        rows = await this.#store.pendingDeliveries({
          limit,
          ...(this.#cursor !== undefined ? { afterId: this.#cursor } : {}),
          // (the store's clock: the leases of processes whose clock.offsetMs differ compare on one time)
          ...(this.#lease ? { lease: this.#lease } : {}),
        })
      } catch (e) {
        this.#cursor = undefined
        this.#log.error({ err: e }, 'outbox relay cannot read pending deliveries; retrying')
        await this.#sleep(this.#retryMs)
        continue
      }
      // the cursor moves past the rows handled in this round only (published, or already in flight)
      let last: PendingDelivery | undefined
      for (const d of rows) {
        if (this.#stopping) break
        if (this.#inFlight.has(d.deliveryId)) {
          last = d
          continue
        }
        while ((this.#inFlight.size >= this.#maxInFlight || (this.#inFlightBytes > 0 && this.#inFlightBytes + d.size > this.#maxInFlightBytes)) && !this.#stopping) {
          await new Promise<void>((r) => (this.#slotResolve = r))
        }
        if (this.#stopping) break
        if (Date.now() < this.#unavailableUntil) break
        let bytes = d.bytes
        if (bytes === undefined) {
          // a package of PENDING_INLINE_BYTES or more: its bytes now, one at a time
          try {
            const b = await this.#store.getPackageBytes(d.packageId)
            if (!b) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'package bytes', id: d.packageId })
            bytes = b.bytes
          } catch (e) {
            this.#log.error({ err: e, deliveryId: d.deliveryId, packageId: d.packageId }, 'outbox relay cannot read the bytes of a pending package; retrying')
            this.#cursor = undefined
            await this.#sleep(this.#retryMs)
            break
          }
          if (this.#stopping || this.#inFlight.has(d.deliveryId)) break
        }
        this.#publish(d, bytes)
        last = d
        published++
      }
      if (last !== undefined) {
        this.#cursor = last.deliveryId
        this.#cursorPriority = last.priority
      }
      if (rows.length >= limit && published > 0) continue // more waiting: next page at once
      if (rows.length > 0 && published === 0) {
        // a full page of rows already in flight: read on past them, but give confirms time to arrive
        await this.#sleep(5)
        this.#woken = true
        continue
      }
      if (!this.#woken) await this.#sleep(this.#pollMs)
    }
  }

  /** Rows of a full scan that are already in flight come back too; read that many more so the page is not all old. */
  #skipAllowance(): number {
    return this.#cursor === undefined ? this.#inFlight.size : 0
  }

  #publish(row: PendingDelivery, body: Uint8Array): void {
    // in flight without its bytes: the publisher holds them until the confirm, nothing here after that
    const { bytes: _, ...d } = row
    this.#inFlight.set(d.deliveryId, d)
    this.#inFlightBytes += d.size
    const msg: OutgoingMessage = {
      messageId: d.packageId,
      type: d.kind,
      body,
      recipient: d.recipient,
      sender: d.senderOrganId,
      signature: d.signature,
      sha256: d.sha256,
      priority: d.priority,
      timestamp: new Date(d.createdAt),
      correlationId: d.documentId,
      headers: { 'x-lienthong-document-id': d.documentId },
    }
    this.#publisher.publish(msg).then(
      () => this.#acked(d),
      (e: unknown) => this.#rejected(d, e),
    )
  }

  #release(id: string): void {
    const d = this.#inFlight.get(id)
    if (!d) return
    this.#inFlight.delete(id)
    this.#inFlightBytes -= d.size
    // the loop looks again (a slot, or room for the bytes of the next package)
    const r = this.#slotResolve
    this.#slotResolve = undefined
    r?.()
  }

  #acked(d: PendingDelivery): void {
    this.#acks.push(d)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      // one transaction for the confirms that arrive in the same turn of the event loop
      setImmediate(() => {
        this.#flushScheduled = false
        this.#flushing = this.#flushing.then(() => this.#flush())
      })
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#acks
    if (batch.length === 0) return
    this.#acks = []
    try {
      await this.#store.markQueuedMany(
        batch.map((d) => d.deliveryId),
        this.#clock(),
      )
      for (const d of batch) {
        this.#release(d.deliveryId)
        this.emit('queued', { deliveryId: d.deliveryId, packageId: d.packageId, recipient: d.recipient })
      }
    } catch (e) {
      // not recorded: they stay `accepted` and are published again (at-least-once)
      this.#log.error({ err: e, deliveries: batch.length }, 'cannot record broker confirms; the deliveries will be published again')
      for (const d of batch) this.#release(d.deliveryId)
    }
    this.wake()
  }

  #rejected(d: PendingDelivery, e: unknown): void {
    const code = isGatewayError(e) ? e.code : 'UNKNOWN'
    const reason = e instanceof Error ? e.message : String(e)
    const base = { deliveryId: d.deliveryId, packageId: d.packageId, recipient: d.recipient }
    if (code === 'GW_ERR_TRANSPORT_UNROUTABLE' || code === 'GW_ERR_TRANSPORT_NACKED' || code === 'GW_ERR_TRANSPORT_INVALID_MESSAGE') {
      this.#store
        .markFailed(d.deliveryId, `${code}: ${reason}`, 'system', this.#clock())
        .then(
          () => {
            this.#log.warn({ deliveryId: d.deliveryId, packageId: d.packageId, documentId: d.documentId, recipient: d.recipient, code }, `delivery failed: ${reason}`)
            this.emit('failed', { ...base, code, reason })
          },
          (err: unknown) => this.#log.error({ err, deliveryId: d.deliveryId, packageId: d.packageId, documentId: d.documentId }, 'cannot record a failed delivery; it will be published again'),
        )
        .finally(() => {
          this.#release(d.deliveryId)
          this.wake()
        })
      return
    }
    // unavailable (or unexpected): stays accepted; back off, then publish again
    this.#unavailableUntil = Date.now() + this.#retryMs
    this.#cursor = undefined
    this.#log.debug({ deliveryId: d.deliveryId, packageId: d.packageId, documentId: d.documentId, code, reason }, 'publish not confirmed; the delivery stays pending')
    this.emit('unavailable', { ...base, reason })
    this.#store
      .countAttempt(d.deliveryId)
      .catch(() => {})
      .finally(() => this.#release(d.deliveryId))
  }
}
