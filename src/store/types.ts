/**
 * Records the store takes and returns. Times are ISO-8601 UTC strings with milliseconds
 * (`2026-11-26T05:04:42.123Z`); `at` parameters are Dates (default: now).
 */
import type { DeliveryState, Direction, IncomingState, StatusCode } from '../document/delivery.js'

export type PackageKind = 'edoc' | 'status'
export type JsonObject = { [k: string]: unknown }

/** Who caused an event: `client:<id>` (API client), `peer:<OrganId>` (a peer gateway / remote agency),
 * `operator:<id>`, `system` (relay, consumer, timers). Free text; these prefixes are the convention. */
export type Actor = string

// ---- outgoing -------------------------------------------------------------------------------------------

export interface OutgoingPackageInput {
  /** Our package id (uuid); also the AMQP messageId. */
  id: string
  kind: PackageKind
  /** edXML DocumentId (for a status package: the DocumentId of the document it answers). */
  documentId: string
  senderOrganId: string
  /** API client that sent it (absent for packages the gateway sends itself, e.g. status 01). */
  clientId?: string
  /** The exact signed edXML bytes. */
  bytes: Uint8Array
  /** Detached CMS SignedData (DER) over `bytes`. */
  signature: Uint8Array
  /** Hex SHA-256 of `bytes`. */
  sha256: string
  /** AMQP priority (0 normal; higher for urgent documents). */
  priority: number
  subject?: string
  codeNumber?: string
  codeNotation?: string
  /** yyyy-MM-dd or as in the package; used by status matching fallbacks (docs/edxml.md §c). */
  promulgationDate?: string
  /** Status code of a status package. */
  statusCode?: StatusCode
  /** Free JSON metadata (the MessageHeader in friendly names, attachments list, business type...). */
  metadata: JsonObject
}

export interface IdempotencyInput {
  clientId: string
  key: string
  /** Hash of the request body (and anything else that makes two requests "the same"). */
  requestHash: string
}

export interface RecordOutgoingInput {
  package: OutgoingPackageInput
  /** Recipient OrganIds, one delivery each (duplicates are ignored). */
  recipients: string[]
  actor: Actor
  idempotency?: IdempotencyInput
  at?: Date
  /** An incoming package's state change applied in the SAME transaction, only when the package is new
   *  (an idempotent repeat applies nothing). */
  incomingTransition?: { incomingId: string; toState: IncomingState; options: TransitionOptions }
  /**
   * The package is stored without its signature (`package.signature` empty): the signing token was unavailable.
   * It waits in `awaiting_signature` (migration 013) and the relay does not publish it until `recordSignature`.
   */
  awaitingSignature?: { signer: string; reason: string }
}

export interface StoredPackage {
  id: string
  kind: PackageKind
  documentId: string
  senderOrganId: string
  clientId?: string
  sha256: string
  /** Size of the bytes. */
  size: number
  priority: number
  subject?: string
  codeNumber?: string
  codeNotation?: string
  promulgationDate?: string
  statusCode?: StatusCode
  metadata: JsonObject
  createdAt: string
}

export interface PackageBytes {
  bytes: Uint8Array
  signature: Uint8Array
}

export interface Delivery {
  id: string
  packageId: string
  recipient: string
  state: DeliveryState
  /** Last status code that moved or confirmed the state. */
  statusCode?: StatusCode
  /** Why it failed (state `failed`) or was refused (02 Description). */
  reason?: string
  /** Publish attempts recorded by the relay. */
  attempts: number
  createdAt: string
  updatedAt: string
  queuedAt?: string
  /** A failed delivery an operator discarded (its dead-letter state); cleared when the delivery moves again. */
  discardedAt?: string
}

export interface RecordOutgoingResult {
  package: StoredPackage
  deliveries: Delivery[]
  /** True when the idempotency key was already used with the same request: nothing new was stored. */
  replayed: boolean
  /** The applied `incomingTransition` (absent when replayed or none was given); refused moves have `changed: false`. */
  incomingTransition?: IncomingTransitionResult
  /** Stored awaiting its signature (`RecordOutgoingInput.awaitingSignature`): not published until signed. */
  awaitingSignature?: boolean
}

/** A package stored while its signing token was unavailable, waiting for its signature (migration 013). */
export interface AwaitingSignature {
  packageId: string
  /** Store order of the package (`afterSeq` of listAwaitingSignature). */
  seq: number
  kind: PackageKind
  documentId: string
  senderOrganId: string
  /** The hosted agency whose key signs it. */
  signer: string
  priority: number
  /** Since when it waits (when it was stored). */
  since: string
  /** Why it was stored unsigned (the token's error). */
  reason?: string
  /** Signing attempts that failed since. */
  attempts: number
  lastError?: string
  lastAttemptAt?: string
  createdAt: string
}

export interface RecordSignatureInput {
  packageId: string
  /** Detached CMS SignedData (DER) over the stored bytes. */
  signature: Uint8Array
  actor: Actor
  at?: Date
  /** Extra facts for the `signed` events (the token, a timestamp...). */
  detail?: JsonObject
}

export interface RecordSignatureResult {
  /** False when the package was not waiting (signed already, e.g. by another process). */
  signed: boolean
  package?: StoredPackage
  deliveries?: Delivery[]
}

export interface IdempotencyRecord {
  clientId: string
  key: string
  requestHash: string
  packageId: string
  createdAt: string
}

/**
 * A relay's lease on the pending deliveries it reads (migration 012): rows another relay holds (lease not expired)
 * are left out; the rows returned are held by `owner` until `at + ms`.
 */
export interface PendingLease {
  /** The relay that takes the rows (unique per process and start). */
  owner: string
  /** How long the lease lasts (config relay.leaseMs). */
  ms: number
  /** Now (default the store's clock). */
  at?: Date
}

/** What `pendingDeliveries` reads. */
export interface PendingQuery {
  limit: number
  afterId?: string
  /** Take a lease on the rows read (several gateway processes on one store); without it, every pending row. */
  lease?: PendingLease
}

/** A delivery waiting for the relay, with what it needs to publish. */
export interface PendingDelivery {
  deliveryId: string
  packageId: string
  recipient: string
  kind: PackageKind
  documentId: string
  senderOrganId: string
  priority: number
  sha256: string
  /**
   * The package bytes, for a package under PENDING_INLINE_BYTES; a larger one comes without them (read them with
   * `getPackageBytes` when it is its turn), so that a page of pending deliveries never holds many large packages.
   */
  bytes?: Uint8Array
  /** Size of the package bytes (packages.size). */
  size: number
  signature: Uint8Array
  attempts: number
  createdAt: string
}

/**
 * From this size a pending delivery's package bytes are not read with the page (`PendingDelivery.bytes`): a page
 * (relay.batchSize, 500) then holds at most 500 × 256 KiB = 125 MiB of bytes, however large the packages waiting.
 */
export const PENDING_INLINE_BYTES = 256 * 1024

export interface TransitionOptions {
  /** Why: `broker-ack`, `status 03 from peer`, `operator replay`... */
  cause: string
  actor: Actor
  at?: Date
  statusCode?: StatusCode
  /** Failure or refusal reason, kept on the delivery (`reason`) while it is in that state. */
  reason?: string
  /** Extra facts for the log (incoming status package id, Description, StaffInfo...). */
  detail?: JsonObject
  /** Event type; default `status` when statusCode is given, else `state`. */
  type?: string
  /**
   * The move ends one publish of the delivery (the broker confirmed it, or refused it for good): the delivery's
   * `attempts` goes up by one, whether the state changes or not (a publish confirmed again after a restart), and
   * the event's detail gets `attempt` (its number).
   */
  countsAttempt?: boolean
}

export interface TransitionResult {
  /** Whether the state changed. The event is recorded either way. */
  changed: boolean
  /** State before. */
  from: DeliveryState
  /** State after (equal to `from` when not changed). */
  state: DeliveryState
  /** Sequence number of the recorded event. */
  seq: number
}

export interface ListPackagesFilter {
  senderOrganId?: string
  /** Only packages sent by this API client. */
  clientId?: string
  kind?: PackageKind
  /** At least one delivery in this state. */
  state?: DeliveryState
  /** At least one delivery to this recipient. */
  recipient?: string
  documentId?: string
  /** createdAt >= since */
  since?: Date
  /** createdAt < until */
  until?: Date
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string
  /** 1..1000 */
  limit: number
}

export interface PackageWithDeliveries extends StoredPackage {
  deliveries: Delivery[]
}

export interface Page<T> {
  items: T[]
  /** Cursor of the next page; absent on the last page. */
  next?: string
}

export interface FindDeliveryQuery {
  /** The original sender (our hosted agency). */
  senderOrganId: string
  /** The recipient that answers (From/OrganId of its status package). */
  recipient: string
  /** ResponseFor/DocumentId: tried first. */
  documentId?: string
  /** Fallback (docs/edxml.md §c): CodeNumber, CodeNotation and PromulgationDate of the original. */
  codeNumber?: string
  codeNotation?: string
  promulgationDate?: string
}

export interface ListDeliveriesFilter {
  /** One state or several (e.g. overdue: `queued`; stuck: `accepted`, `failed`). */
  state?: DeliveryState | DeliveryState[]
  recipient?: string
  senderOrganId?: string
  kind?: PackageKind
  /** Queued (broker-confirmed) before this time: with state `queued`, the deliveries with no 01 since then. */
  queuedBefore?: Date
  /** Last state change before this time. */
  updatedBefore?: Date
  /** true: only deliveries an operator discarded; false: only those not discarded. */
  discarded?: boolean
  cursor?: string
  limit: number
}

/** A delivery with the package facts an operator list needs. */
export interface DeliveryWithPackage extends Delivery {
  kind: PackageKind
  documentId: string
  senderOrganId: string
  subject?: string
  codeNumber?: string
  codeNotation?: string
}

// ---- event log ------------------------------------------------------------------------------------------

/** One row of the append-only, hash-chained event log. */
export interface LogEvent {
  seq: number
  time: string
  direction: Direction
  /** What happened: `state` (a state was set), `status` (a status package moved or confirmed a state),
   * `recall-requested`, `replayed`, `discarded`, `note`, ... */
  type: string
  packageId?: string
  deliveryId?: string
  documentId?: string
  sender?: string
  recipient?: string
  actor: Actor
  /** State before (for state events). */
  fromState?: string
  /** The state this event sets or asks for. */
  state?: string
  /**
   * Rows written before schema 009 only, when a state name changed since (docs/design.md "Delivery states"): the
   * names as stored, which the row's hash covers; `fromState`/`state` carry the names of today.
   */
  storedFromState?: string
  storedState?: string
  /** Whether the state changed (false: out of order or duplicate status, kept for the record). */
  changed: boolean
  statusCode?: StatusCode
  cause?: string
  detail: JsonObject
  prevHash: string
  hash: string
}

export interface AppendEventInput {
  direction: Direction
  type: string
  packageId?: string
  deliveryId?: string
  documentId?: string
  sender?: string
  recipient?: string
  actor: Actor
  state?: string
  statusCode?: StatusCode
  cause?: string
  detail?: JsonObject
  at?: Date
}

export interface TimelineEntry {
  seq: number
  time: string
  type: string
  fromState?: string
  state?: string
  changed: boolean
  cause?: string
  actor: Actor
  statusCode?: StatusCode
  detail: JsonObject
}

export interface ListEventsFilter {
  since?: Date
  until?: Date
  /** Agency as sender or recipient. */
  organId?: string
  direction?: Direction
  /**
   * The state the event sets: a name (a current state name or an old one, src/document/delivery.ts
   * resolveStateFilter) or the state to match per direction. Events written before schema 009 are found by the
   * names they were stored under.
   */
  state?: string | { out?: string; in?: string }
  type?: string
  documentId?: string
  packageId?: string
  /** Text in subject or code number/notation of the package (case-insensitive substring). */
  text?: string
  cursor?: string
  limit: number
}

export interface VerifyLogOptions {
  fromSeq?: number
  toSeq?: number
}

export interface VerifyLogResult {
  ok: boolean
  /** Rows checked. */
  checked: number
  /** Last row checked (anchor it outside the store to detect truncation of the tail). */
  lastSeq?: number
  lastHash?: string
  firstBroken?: { seq: number; reason: string }
}

/** A timestamp token over the log's chain head (migration 009; src/pipeline/log-anchors.ts). */
export interface LogAnchor {
  /** The seq of the head row that was anchored. */
  seq: number
  /** Its hash (lowercase hex SHA-256): the token's message imprint. */
  hash: string
  anchoredAt: string
  /** The TSA's URL. */
  tsa: string
  /** The token's genTime, ISO 8601. */
  genTime: string
  /** The token's exact DER (a ContentInfo). */
  token: Uint8Array
}

// ---- incoming -------------------------------------------------------------------------------------------

export interface IncomingPackageInput {
  /** Our id for the received package (uuid). */
  id: string
  /** `unknown` when the bytes could not be parsed. */
  kind: PackageKind | 'unknown'
  documentId?: string
  senderOrganId?: string
  /** The hosted agency it is addressed to (AMQP routing key / recipient header). */
  recipient?: string
  /** AMQP messageId. */
  messageId?: string
  /** The bytes stored: the whole package, or for a bounded record of a refused message only its first bytes. */
  bytes: Uint8Array
  /** Size of the package as received, when `bytes` holds only its first bytes. Default: `bytes.byteLength`. */
  size?: number
  signature?: Uint8Array
  sha256: string
  priority?: number
  subject?: string
  codeNumber?: string
  codeNotation?: string
  promulgationDate?: string
  statusCode?: StatusCode
  metadata?: JsonObject
  /** The verification verdict (signature Verdict plus any pipeline checks), stored as JSON. */
  verdict: JsonObject
  /** For status packages: the outgoing package they answer; for update/replace: the incoming package changed. */
  relatedId?: string
}

export interface RecordIncomingInput {
  package: IncomingPackageInput
  state: 'arrived' | 'rejected'
  /** Rejection reason (error code and message). */
  reason?: string
  actor: Actor
  at?: Date
  /**
   * The signed status package answering it (01 arrived, or 02 refused), stored with its delivery in the SAME
   * transaction, only when the package is new: a redelivery never produces a second 01, and a crash can never
   * leave a stored package without its 01.
   */
  reply?: RecordOutgoingInput
  /**
   * For a status package: the outgoing delivery state it moves, applied in the SAME transaction, only when the
   * status package is new (a redelivered status is not applied twice).
   */
  apply?: { deliveryId: string; toState: DeliveryState; options: TransitionOptions }
  /**
   * The history rule of the package's sender and DocumentId, checked INSIDE the write transaction, before the row
   * is written: `check` gets every stored copy under (sender, DocumentId) (OrganIds compared case-insensitively)
   * and throws to refuse the package (a REPLAY); then nothing of it is stored and the write rejects with that
   * error. The transaction holds the identity for its rest (PostgreSQL: an advisory transaction lock on the
   * canonical (sender, DocumentId), besides the chain-head lock every write takes; SQLite: its one writer), so
   * two processes that receive two packages under one DocumentId at once cannot both accept one.
   */
  guard?: { sender: string; documentId: string; check(stored: readonly StoredIncoming[]): void }
}

export interface StoredIncoming {
  id: string
  kind: PackageKind | 'unknown'
  documentId?: string
  senderOrganId?: string
  recipient?: string
  messageId?: string
  sha256: string
  size: number
  priority: number
  subject?: string
  codeNumber?: string
  codeNotation?: string
  promulgationDate?: string
  statusCode?: StatusCode
  metadata: JsonObject
  verdict: JsonObject
  state: IncomingState
  reason?: string
  relatedId?: string
  receivedAt: string
  updatedAt: string
  fetchedAt?: string
}

export interface RecordIncomingResult {
  incoming: StoredIncoming
  /**
   * True when the same package (sender, DocumentId, sha256, recipient; OrganIds in any case) was already stored and
   * accepted: nothing new written. A `rejected` record is never a duplicate, and no rejected row makes one.
   */
  duplicate: boolean
  /** The stored reply (absent when duplicate or none was given). */
  reply?: RecordOutgoingResult
  /** The applied state change (absent when duplicate or none was given). */
  applied?: TransitionResult
}

export interface ListIncomingFilter {
  recipient?: string
  senderOrganId?: string
  kind?: PackageKind | 'unknown'
  state?: IncomingState
  documentId?: string
  since?: Date
  until?: Date
  cursor?: string
  limit: number
}

export interface IncomingTransitionResult {
  changed: boolean
  from: IncomingState
  state: IncomingState
  seq: number
}

export interface DiscardDeliveryInput {
  actor: Actor
  cause?: string
  /** Extra facts for the log (the note, the previous reason). */
  detail?: JsonObject
  at?: Date
}

// ---- webhook outbox -------------------------------------------------------------------------------------

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed'

/** One notification for one client's webhook. */
export interface WebhookNotification {
  /** The delivery id (X-Lienthong-Delivery), the same on every attempt. */
  id: string
  clientId: string
  /** The hosted agency the client belongs to. */
  organId: string
  /** document.received, status.changed, recall.requested */
  event: string
  url: string
  data: JsonObject
  occurredAt: string
}

export interface WebhookQueueInput extends WebhookNotification {
  /** When the first attempt is due (default: now). */
  nextAttemptAt?: Date
  at?: Date
}

/** A row of the webhook outbox. */
export interface WebhookDelivery extends WebhookNotification {
  seq: number
  state: WebhookDeliveryState
  /** Attempts made so far. */
  attempts: number
  nextAttemptAt: string
  lastStatus?: number
  lastError?: string
  createdAt: string
  updatedAt: string
}

export interface WebhookAttemptInput {
  /** Attempts made so far (this one included). */
  attempts: number
  status?: number
  error?: string
  /** Still pending: when to try again. */
  nextAttemptAt?: Date
  /** Ended: delivered (2xx) or failed (abandoned), recorded with `event` in the log in the same transaction. */
  state?: 'delivered' | 'failed'
  event?: AppendEventInput
  at?: Date
}

// ---- retention ------------------------------------------------------------------------------------------

/**
 * One purge run (config `retention`, `lienthong purge`). Each window is in days since the package was stored
 * (`created_at` / `received_at`); an absent window purges nothing of its kind. Only bytes are purged (set empty,
 * with `purged_at` and `purge_reason`); rows stay and the log keeps verifying.
 */
export interface PurgeOptions {
  /** Bytes of packages in a final state: outgoing with every delivery final, incoming the DMS has taken. */
  packageBytesDays?: number
  /** Idempotency keys (the request hash of a POST, so a retry is answered with the first result). */
  idempotencyKeysDays?: number
  /** Bytes of dead letters: incoming `rejected`, outgoing with a `failed` delivery and every other one final. */
  deadLettersDays?: number
  actor: Actor
  /** Now (default: the clock). */
  at?: Date
  /** Count what would be purged; write nothing. */
  dryRun?: boolean
  /** Most packages per direction in one transaction (default 500); a run repeats until nothing is left. */
  batchSize?: number
}

export interface PurgeCount {
  packages: number
  /** Bytes freed: package bytes plus signature. */
  bytes: number
}

export interface PurgeResult {
  dryRun: boolean
  at: string
  packageBytes: { outgoing: PurgeCount; incoming: PurgeCount }
  deadLetters: { outgoing: PurgeCount; incoming: PurgeCount }
  idempotencyKeys: number
  /** The `purged` log events written (one per direction and transaction that purged something). */
  events: LogEvent[]
}

/** Why a package's bytes are gone: reading them throws GW_ERR_STORE_PURGED with these. */
export interface PurgedInfo {
  purgedAt: string
  reason: string
}

// ---- health / metrics -----------------------------------------------------------------------------------

export interface StoreStats {
  deliveriesByState: Partial<Record<DeliveryState, number>>
  incomingByState: Partial<Record<IncomingState, number>>
  /** Deliveries waiting for the relay (`accepted`). */
  outboxBacklog: number
  /** Packages stored while their signing token was unavailable, waiting for their signature (not published yet). */
  awaitingSignature: number
  events: number
}
