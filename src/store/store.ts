/**
 * The gateway's persistence contract: packages with their exact bytes, deliveries per recipient, the
 * hash-chained event log, idempotency keys and the inbox. Every operation is async so that the SQLite
 * implementation (sqlite-store.ts) and a PostgreSQL one are interchangeable behind the pipeline.
 *
 * Errors: GatewayError with GW_ERR_STORE_UNAVAILABLE (retryable: busy, I/O, connection lost),
 * GW_ERR_STORE_CONFLICT, GW_ERR_STORE_NOT_FOUND, GW_ERR_STORE_INVALID_CURSOR, GW_ERR_STORE_CORRUPT,
 * and GW_ERR_API_IDEMPOTENCY_CONFLICT from recordOutgoing.
 */
import type { DeliveryState, IncomingState } from '../document/delivery.js'
import type {
  Actor,
  AppendEventInput,
  AwaitingSignature,
  Delivery,
  DeliveryWithPackage,
  FindDeliveryQuery,
  IdempotencyRecord,
  IncomingTransitionResult,
  ListDeliveriesFilter,
  ListEventsFilter,
  ListIncomingFilter,
  ListPackagesFilter,
  LogEvent,
  PackageBytes,
  PackageWithDeliveries,
  Page,
  PendingDelivery,
  PendingQuery,
  PurgeOptions,
  PurgeResult,
  RecordIncomingInput,
  RecordIncomingResult,
  RecordOutgoingInput,
  RecordOutgoingResult,
  RecordSignatureInput,
  RecordSignatureResult,
  StoreStats,
  StoredIncoming,
  StoredPackage,
  TimelineEntry,
  TransitionOptions,
  TransitionResult,
  VerifyLogOptions,
  VerifyLogResult,
  LogAnchor,
  DiscardDeliveryInput,
  WebhookAttemptInput,
  WebhookDelivery,
  WebhookQueueInput,
} from './types.js'

export interface Store {
  // ---- send path --------------------------------------------------------------------------------------

  /**
   * Persist a signed package, one `accepted` delivery per recipient, an `accepted` event per delivery and the
   * idempotency key, in one transaction. With an idempotency key already used: the same requestHash returns the
   * stored result with `replayed: true` (nothing written); a different one throws GW_ERR_API_IDEMPOTENCY_CONFLICT.
   * A package id already stored throws GW_ERR_STORE_CONFLICT.
   */
  recordOutgoing(input: RecordOutgoingInput): Promise<RecordOutgoingResult>

  findIdempotent(clientId: string, key: string): Promise<IdempotencyRecord | undefined>

  /**
   * Deliveries in state `accepted` (not yet confirmed by the broker) with their package bytes, highest priority
   * first, then oldest first. `afterId`: continue after that delivery in the same order (it was on a previous
   * page). On restart, everything accepted but never confirmed comes back here (at-least-once). With `lease`, only
   * rows no other relay holds (or whose lease expired), and the lease is written on them in the same statement
   * (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite in one immediate transaction).
   */
  pendingDeliveries(opts: PendingQuery): Promise<PendingDelivery[]>

  /** accepted → queued on the broker's ack. Returns whether the state changed (false: already further). */
  markQueued(deliveryId: string, at?: Date): Promise<boolean>

  /** markQueued for many deliveries in one transaction (one commit per batch of confirms). Returns how many changed. */
  markQueuedMany(deliveryIds: readonly string[], at?: Date): Promise<number>

  /** accepted|queued → failed with a reason (nack, unroutable, retries exhausted). Returns whether it changed. */
  markFailed(deliveryId: string, reason: string, actor: Actor, at?: Date): Promise<boolean>

  /**
   * Packages stored awaiting their signature (a token that was unavailable, migration 013), oldest first, with
   * the bytes to sign; `signer`: of that hosted agency only (OrganIds in any case); `afterSeq`: after that package.
   * Their deliveries are never returned by `pendingDeliveries` until `recordSignature`.
   */
  listAwaitingSignature(opts: { limit: number; signer?: string; afterSeq?: number }): Promise<AwaitingSignature[]>
  /** How many packages await their signature (/readyz); `signer`: of that hosted agency only (any case). */
  countAwaitingSignature(signer?: string): Promise<number>
  /** The waiting mark of a package, undefined when it does not wait (signed, or never waited). */
  getAwaitingSignature(packageId: string): Promise<AwaitingSignature | undefined>
  /**
   * Store the signature of a waiting package, delete its waiting mark and log a `signed` event per delivery, in one
   * transaction; `signed: false` (nothing written) when it was not waiting.
   */
  recordSignature(input: RecordSignatureInput): Promise<RecordSignatureResult>
  /** One more failed signing attempt of a waiting package (no event: it is counted on its waiting mark). */
  noteSignatureAttempt(packageId: string, error: string, at?: Date): Promise<void>

  /** Count one more publish attempt (no event, no state change). */
  countAttempt(deliveryId: string): Promise<void>

  /**
   * Move a delivery along the state machine (state-machine.ts). A move that is not allowed (out of order,
   * duplicate, backwards) changes nothing but is still recorded as an event in the timeline. Throws
   * GW_ERR_STORE_NOT_FOUND for an unknown delivery.
   */
  transition(deliveryId: string, toState: DeliveryState, opts: TransitionOptions): Promise<TransitionResult>

  // ---- reads ------------------------------------------------------------------------------------------

  getPackage(id: string): Promise<StoredPackage | undefined>
  getPackageBytes(id: string): Promise<PackageBytes | undefined>
  /** Newest first, keyset pagination with an opaque cursor. */
  listPackages(filter: ListPackagesFilter): Promise<Page<PackageWithDeliveries>>
  getDeliveries(packageId: string): Promise<Delivery[]>
  getDelivery(deliveryId: string): Promise<Delivery | undefined>
  /** The delivery a status package answers: by DocumentId, else by code and promulgation date (newest edoc). */
  findDelivery(query: FindDeliveryQuery): Promise<Delivery | undefined>
  /** A delivery's events, oldest first. */
  timeline(deliveryId: string): Promise<TimelineEntry[]>
  /** Deliveries across packages, newest first (operators: overdue = `queued` + queuedBefore, failed, stuck). */
  listDeliveries(filter: ListDeliveriesFilter): Promise<Page<DeliveryWithPackage>>

  // ---- event log --------------------------------------------------------------------------------------

  /** Append an event that is not a delivery state change (recall requested, operator replay, note...). */
  appendEvent(event: AppendEventInput): Promise<LogEvent>
  /** Events newest first, filtered, keyset pagination. */
  listEvents(filter: ListEventsFilter): Promise<Page<LogEvent>>
  /** Recompute the hash chain over a range (default: all) and report the first broken row. */
  verifyLog(opts?: VerifyLogOptions): Promise<VerifyLogResult>
  /** The chain head: seq and hash of the last row (seq 0 and the genesis hash for an empty log). */
  logHead(): Promise<{ seq: number; hash: string }>
  /** The stored hash of row `seq`, undefined when there is no such row. */
  logHashAt(seq: number): Promise<string | undefined>
  /** Store a timestamp token over the chain head (append-only; a second anchor of the same seq is a conflict). */
  recordLogAnchor(anchor: LogAnchor): Promise<void>
  /** Every anchor, oldest (lowest seq) first. */
  listLogAnchors(): Promise<LogAnchor[]>

  // ---- receive path -----------------------------------------------------------------------------------

  /**
   * Store a received package (valid → `received`, failed → `rejected` with its verdict) with its event, in one
   * transaction, together with its `reply` (the signed 01/02 status package to send back, via the outbox) and,
   * for a status package, the outgoing delivery state it moves (`apply`). Idempotent on (sender, DocumentId,
   * sha256, recipient): a redelivery returns the stored row with `duplicate: true` and writes nothing, so no
   * second 01 is sent and no status is applied twice.
   */
  recordIncoming(input: RecordIncomingInput): Promise<RecordIncomingResult>
  getIncoming(id: string): Promise<StoredIncoming | undefined>
  getIncomingBytes(id: string): Promise<{ bytes: Uint8Array; signature?: Uint8Array } | undefined>
  /** Packages received from `senderOrganId` (any case) with this DocumentId (any recipient, any state), oldest first: replay checks. */
  findIncomingByDocument(senderOrganId: string, documentId: string): Promise<StoredIncoming[]>
  /** Newest first, keyset pagination. */
  listIncoming(filter: ListIncomingFilter): Promise<Page<StoredIncoming>>
  /** Move an incoming package along its state machine; recorded as an event either way. */
  transitionIncoming(id: string, toState: IncomingState, opts: TransitionOptions): Promise<IncomingTransitionResult>

  // ---- operational queues -----------------------------------------------------------------------------

  /**
   * An operator discards a failed delivery (a dead letter): `discardedAt` is set and a `discarded` event logged, in
   * one transaction; the state stays `failed`. Throws GW_ERR_STORE_NOT_FOUND for an unknown delivery and
   * GW_ERR_STORE_CONFLICT when it is not failed or already discarded. A later move (re-send) clears the mark.
   */
  discardDelivery(deliveryId: string, opts: DiscardDeliveryInput): Promise<LogEvent>

  /** Webhook outbox: queue notifications as `pending` rows (one transaction). */
  queueWebhooks(items: readonly WebhookQueueInput[]): Promise<void>
  /** Pending webhook deliveries, oldest first (`afterSeq`: continue after a previous page). */
  pendingWebhooks(opts: { limit: number; afterSeq?: number }): Promise<WebhookDelivery[]>
  /**
   * Record an attempt: still pending with its next attempt time, or ended (`delivered` / `failed`) with its log
   * event in the same transaction. Throws GW_ERR_STORE_NOT_FOUND for an unknown id.
   */
  recordWebhookAttempt(id: string, attempt: WebhookAttemptInput): Promise<void>

  /**
   * Deliveries of an inbox message that came to no end, kept across restarts (table delivery_attempts, 009; the
   * consumer's record for classic queues, src/transport/consumer.ts). `beginDelivery` before the message is
   * handled: returns the stored count of earlier unfinished deliveries and stores max(that, `atLeast`) + 1.
   * `endDelivery` when it is answered: removes the row, or with `unfinished` (a retry the handler asked for, which
   * does not count) stores that count back.
   */
  beginDelivery(key: string, atLeast: number, at?: Date): Promise<number>
  endDelivery(key: string, unfinished?: number, at?: Date): Promise<void>

  // ---- health, metrics, lifecycle ---------------------------------------------------------------------

  /** Resolves when the store answers a trivial query; throws GW_ERR_STORE_UNAVAILABLE otherwise. */
  /**
   * Retention (config `retention`): empty the bytes of packages in a final state older than the windows, and delete
   * idempotency keys older than theirs, with a `purged` log event per direction and transaction; `dryRun` counts
   * only. Rows are never deleted (idempotency keys aside) and the log keeps verifying. Reading purged bytes
   * (getPackageBytes, getIncomingBytes) throws GW_ERR_STORE_PURGED (410) saying when and why.
   */
  purge(opts: PurgeOptions): Promise<PurgeResult>

  ping(): Promise<void>
  /**
   * Whether writes go through: `ok: false` while the last write batch failed for a reason of the storage (disk
   * full, read-only, connection lost) and none committed since (at most 30 s after the failure). /readyz uses it.
   */
  writeHealth?(): { ok: boolean; detail?: string; since?: string }
  stats(): Promise<StoreStats>
  close(): Promise<void>
}
