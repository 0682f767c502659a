/**
 * The store's rules, once for both dialects: what a write reads, decides and writes, in which order, inside one
 * transaction (idempotency, dedupe, state moves, events, the reply/apply of a received package, the incoming move
 * that goes with an outgoing package). A dialect supplies `WriteOps` (its SQL, prepared statements on SQLite, CTEs
 * and `unnest` on PostgreSQL) and runs the bodies inside its group commit (group-commit.ts).
 */
import { DELIVERY_STATES, INCOMING_STATES, type DeliveryState, type IncomingState } from '../document/delivery.js'
import { gwError } from '../errors.js'
import { newId } from './ids.js'
import { incomingMoves, outgoingMoves } from './state-machine.js'
import { $, type ChainHead, type ChainedRow, type Maybe, type Steps, type WriteQueue } from './group-commit.js'
import type { EventFields } from './hash-chain.js'
import { acceptedEvent, buf, failedOpts, incomingRow, incomingStoredEvent, iso, moveEvent, noteEvent, orNull, packageRow, queuedOpts, webhookRow, type IncomingRow, type PackageRow, type Row, type WebhookRow, type WebhookUpdate } from './records.js'
import { deliveryFromRow, eventFromRow, incomingFromRow, packageFromRow } from './rows.js'
import type { Store } from './store.js'
import type {
  AppendEventInput,
  Delivery,
  DiscardDeliveryInput,
  WebhookAttemptInput,
  WebhookQueueInput,
  IdempotencyInput,
  IncomingTransitionResult,
  LogAnchor,
  LogEvent,
  PurgeCount,
  PurgeOptions,
  PurgeResult,
  RecordIncomingInput,
  RecordIncomingResult,
  RecordOutgoingInput,
  RecordOutgoingResult,
  RecordSignatureInput,
  RecordSignatureResult,
  TransitionOptions,
  TransitionResult,
} from './types.js'

/** A new outgoing package as one write: the package row, its bytes, its deliveries and their chained events. */
export interface OutgoingWrite {
  row: PackageRow
  bytes: Buffer
  signature: Buffer
  deliveries: { id: string; recipient: string }[]
  events: ChainedRow[]
  /** The idempotency key this write owns (see `claimIdempotency`). */
  idempotency?: IdempotencyInput
  /** As IncomingWrite.staged. */
  staged?: StagedBytes
}

export interface IncomingWrite {
  row: IncomingRow
  bytes: Buffer
  signature: Buffer | null
  /** The bytes were written before this write, in parts under this key (SQLite, large packages): store the reference. */
  staged?: StagedBytes
}

/** Package bytes written ahead of the write that stores their package (`CoreStore.stageBytes`). */
export interface StagedBytes {
  key: string
  parts: number
}

/**
 * The SQL of the write path, per dialect. Every call may answer at once (SQLite) or with a promise (pg). Calls run
 * only inside a write batch, which holds the write lock (SQLite `BEGIN IMMEDIATE`; PostgreSQL the `log_head` row).
 */
export interface WriteOps {
  /**
   * The stored key (`request_hash`, `package_id`) if the idempotency key is used already; otherwise undefined and
   * the key belongs to this write (PostgreSQL claims it here, concurrent requests wait for this commit; SQLite,
   * whose write lock already serialises writers, inserts it with the package in `insertOutgoing`).
   */
  claimIdempotency(idem: IdempotencyInput, packageId: string, at: string): Maybe<Row | undefined>
  /** The package row and its delivery rows (for an idempotent replay). */
  outgoingOf(packageId: string): Maybe<{ pkg: Row; deliveries: Row[] }>
  /** Insert a new package with everything that goes with it; false when a package with that id is stored. */
  insertOutgoing(w: OutgoingWrite): Maybe<boolean>
  /** A delivery row with its package's `document_id` and `sender`, locked for the move; undefined if unknown. */
  deliveryForUpdate(deliveryId: string): Maybe<Row | undefined>
  /** Lock deliveries in a fixed order before moving several (PostgreSQL; SQLite needs nothing). */
  lockDeliveries(ids: readonly string[]): Maybe<void>
  updateDelivery(id: string, to: DeliveryState, o: TransitionOptions, at: string): Maybe<void>
  /** One more publish of the delivery (`attempts + 1`). */
  countAttempt(id: string): Maybe<void>
  /**
   * Every stored incoming row under (sender, DocumentId), OrganIds compared upper-cased, in seq order; PostgreSQL
   * first takes an advisory transaction lock on the canonical identity (held until the batch commits).
   */
  incomingByDocument(sender: string, documentId: string): Maybe<Row[]>
  /** Insert an incoming package and its bytes: its row, or `duplicate` (the row stored under the same dedupe key). */
  insertIncoming(w: IncomingWrite): Maybe<{ row: Row } | { duplicate: Row }>
  /** An incoming row locked for the move; undefined if unknown. */
  incomingForUpdate(id: string): Maybe<Row | undefined>
  updateIncoming(id: string, to: IncomingState, o: TransitionOptions, at: string): Maybe<void>
  insertEvents(rows: ChainedRow[]): Maybe<void>
  /** Set (or clear, null) a delivery's `discarded_at`. */
  setDiscarded(id: string, at: string | null): Maybe<void>
  insertWebhooks(rows: WebhookRow[]): Maybe<void>
  webhookForUpdate(id: string): Maybe<Row | undefined>
  updateWebhook(id: string, u: WebhookUpdate): Maybe<void>
  /** Packages we sent, stored before `q.before`, bytes not purged, every delivery in `q.done` (by kind), oldest first. */
  outgoingToPurge(q: OutgoingPurgeQuery): Maybe<PurgeCandidate[]>
  /** Received packages, stored before `q.before`, bytes not purged, in one of `q.done` (by kind), oldest first. */
  incomingToPurge(q: IncomingPurgeQuery): Maybe<PurgeCandidate[]>
  /** Record the purge in `purged_bytes`, then empty the bytes (and signature) of those packages. */
  purgeBytes(direction: 'out' | 'in', rows: readonly PurgeCandidate[], at: string, reason: string): Maybe<void>
  /** How many idempotency keys were created before `before`; with `remove`, delete them. */
  idempotencyKeysBefore(before: string, remove: boolean): Maybe<number>
  /** The `unfinished` count of a delivery_attempts row (010), undefined when there is none. */
  deliveryAttempts(key: string): Maybe<number | undefined>
  /** Insert or update a delivery_attempts row (`first_at` kept); `unfinished` null deletes it. */
  setDeliveryAttempts(key: string, unfinished: number | null, at: string): Maybe<void>
  /** Delete delivery_attempts rows not updated since `before`. */
  pruneDeliveryAttempts(before: string): Maybe<void>
  /** Insert a log anchor; false when that seq is anchored already. */
  insertLogAnchor(a: LogAnchor): Maybe<boolean>
  /** Mark a package just inserted as awaiting its signature (013). */
  insertAwaitingSignature(r: AwaitingRow): Maybe<void>
  /** The awaiting_signature row of a package, locked for the write (PostgreSQL); undefined when it does not wait. */
  awaitingForUpdate(packageId: string): Maybe<Row | undefined>
  /** Store the signature of a waiting package and delete its awaiting_signature row. */
  storeSignature(packageId: string, signature: Buffer): Maybe<void>
  /** One more failed signing attempt of a waiting package (attempts + 1, last_error, last_attempt_at). */
  noteSignatureAttempt(packageId: string, error: string, at: string): Maybe<void>
}

/** An `awaiting_signature` row (migration 013). */
export interface AwaitingRow {
  package_id: string
  signer: string
  since: string
  reason: string | null
}

export interface PurgeCandidate {
  id: string
  /** Size of the package bytes (packages.size / incoming.size). */
  size: number
}

export interface OutgoingPurgeQuery {
  before: string
  /** States every delivery of an edoc (resp. a status package) must be in. */
  done: { edoc: readonly string[]; status: readonly string[] }
  /** At least one delivery `failed` (dead letters). */
  needsFailed: boolean
  limit: number
}

export interface IncomingPurgeQuery {
  before: string
  /** States a received edoc (resp. a status or unreadable package) must be in. */
  done: { edoc: readonly string[]; other: readonly string[] }
  limit: number
}

/** What a transaction body runs against. */
export interface Tx {
  ops: WriteOps
  head: ChainHead
}

function* append(x: Tx, fs: EventFields[]): Steps<LogEvent[]> {
  if (!fs.length) return []
  const rows = x.head.chain(fs)
  yield* $(x.ops.insertEvents(rows))
  return rows.map((r) => eventFromRow(r as unknown as Row))
}

export function* appendTx(x: Tx, e: AppendEventInput): Steps<LogEvent> {
  return (yield* append(x, [noteEvent(e)]))[0]!
}

/** recordOutgoing: idempotent replay, or the package with one `accepted` delivery and event per recipient. */
export function* outgoingTx(x: Tx, input: RecordOutgoingInput, staged?: StagedBytes): Steps<RecordOutgoingResult> {
  const pkg = input.package
  const idem = input.idempotency
  const at = iso(input.at)
  if (idem) {
    const ex = yield* $(x.ops.claimIdempotency(idem, pkg.id, at))
    if (ex) {
      if (ex.request_hash !== idem.requestHash) throw gwError('GW_ERR_API_IDEMPOTENCY_CONFLICT', { key: idem.key })
      const stored = yield* $(x.ops.outgoingOf(String(ex.package_id)))
      // a replay writes nothing: no package, and no incoming move either (it went with the first request)
      return { package: packageFromRow(stored.pkg), deliveries: stored.deliveries.map(deliveryFromRow), replayed: true }
    }
  }
  const row = packageRow(pkg, at)
  const deliveries: Delivery[] = []
  const events: EventFields[] = []
  const waits = input.awaitingSignature
  for (const recipient of new Set(input.recipients)) {
    const id = newId()
    const ev = acceptedEvent(row, id, recipient, input.actor)
    // stored unsigned: its token was unavailable; the relay publishes it once signed (`signatureTx`)
    events.push(waits ? { ...ev, cause: 'stored, awaiting its signature: the signing token is unavailable', detail: { ...ev.detail, awaitingSignature: true, reason: waits.reason } } : ev)
    deliveries.push({ id, packageId: pkg.id, recipient, state: 'accepted', attempts: 0, createdAt: at, updatedAt: at })
  }
  const w: OutgoingWrite = {
    row,
    bytes: buf(pkg.bytes),
    signature: buf(pkg.signature),
    deliveries: deliveries.map((d) => ({ id: d.id, recipient: d.recipient })),
    events: x.head.chain(events),
    ...(idem ? { idempotency: idem } : {}),
    ...(staged ? { staged } : {}),
  }
  if (!(yield* $(x.ops.insertOutgoing(w)))) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `package ${pkg.id} is already stored` })
  if (waits) yield* $(x.ops.insertAwaitingSignature({ package_id: pkg.id, signer: waits.signer, since: at, reason: orNull(waits.reason) }))
  const result: RecordOutgoingResult = { package: packageFromRow(row), deliveries, replayed: false, ...(waits ? { awaitingSignature: true } : {}) }
  const it = input.incomingTransition
  if (it) result.incomingTransition = yield* incomingMoveTx(x, it.incomingId, it.toState, it.options)
  return result
}

/**
 * recordSignature: a package that waited for its signature gets it; its awaiting_signature row goes and every
 * delivery gets a `signed` event, in one transaction (then the relay may publish it). Not waiting: nothing written.
 */
export function* signatureTx(x: Tx, i: RecordSignatureInput): Steps<RecordSignatureResult> {
  const w = yield* $(x.ops.awaitingForUpdate(i.packageId))
  if (!w) return { signed: false }
  const stored = yield* $(x.ops.outgoingOf(i.packageId))
  yield* $(x.ops.storeSignature(i.packageId, buf(i.signature)))
  const at = i.at ?? new Date()
  const p = stored.pkg
  yield* append(
    x,
    stored.deliveries.map((d) =>
      noteEvent({
        direction: 'out',
        type: 'signed',
        packageId: i.packageId,
        deliveryId: String(d.id),
        documentId: String(p.document_id),
        sender: String(p.sender),
        recipient: String(d.recipient),
        actor: i.actor,
        state: String(d.state),
        cause: 'signed after waiting for the signing token',
        detail: { waitingSince: String(w.since), failedAttempts: Number(w.attempts ?? 0), signatureSize: i.signature.byteLength, ...(i.detail ?? {}) },
        at,
      }),
    ),
  )
  return { signed: true, package: packageFromRow(p), deliveries: stored.deliveries.map(deliveryFromRow) }
}

/** A delivery's move along the state machine; its event is recorded either way. */
export function* moveTx(x: Tx, deliveryId: string, to: DeliveryState, o: TransitionOptions): Steps<TransitionResult> {
  const d = yield* $(x.ops.deliveryForUpdate(deliveryId))
  if (!d) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: deliveryId })
  const from = d.state as DeliveryState
  const changed = outgoingMoves(from, to)
  // a re-send publishes the stored bytes again: there are none once retention purged them
  if (changed && to === 'accepted' && d.purged_at) throw purgedError('package', String(d.package_id), d)
  const at = iso(o.at)
  if (changed) yield* $(x.ops.updateDelivery(deliveryId, to, o, at))
  let opts = o
  if (o.countsAttempt) {
    yield* $(x.ops.countAttempt(deliveryId))
    opts = { ...o, detail: { ...(o.detail ?? {}), attempt: Number(d.attempts ?? 0) + 1 } }
  }
  const [ev] = yield* append(x, [moveEvent('out', d, deliveryId, from, to, changed, opts, at)])
  return { changed, from, state: changed ? to : from, seq: ev!.seq }
}

export function* queuedManyTx(x: Tx, ids: readonly string[], at?: Date): Steps<number> {
  // row locks first, in a fixed order, then the moves: concurrent batches cannot deadlock
  yield* $(x.ops.lockDeliveries(ids))
  let n = 0
  for (const id of ids) if ((yield* moveTx(x, id, 'queued', queuedOpts(at))).changed) n++
  return n
}

/** An incoming package's move along its state machine; its event is recorded either way. */
export function* incomingMoveTx(x: Tx, id: string, to: IncomingState, o: TransitionOptions): Steps<IncomingTransitionResult> {
  const r = yield* $(x.ops.incomingForUpdate(id))
  if (!r) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'incoming package', id })
  const from = r.state as IncomingState
  const changed = incomingMoves(from, to)
  const at = iso(o.at)
  if (changed) yield* $(x.ops.updateIncoming(id, to, o, at))
  const [ev] = yield* append(x, [moveEvent('in', r, null, from, to, changed, o, at)])
  return { changed, from, state: changed ? to : from, seq: ev!.seq }
}

/**
 * recordIncoming: the package, its bytes and its event, then its reply (the 01/02 to send back) and the delivery
 * move it applies, all in the caller's one transaction (savepoint): if any part fails, nothing of it is stored. An
 * accepted package already stored and accepted under the same (sender, DocumentId, sha256, recipient; OrganIds in
 * any case) is a duplicate: nothing is written, no reply and no move. A refused (`rejected`) package is always
 * written as its own row, and a refused row is never the duplicate of an accepted one (migration 007).
 */
export function* incomingTx(x: Tx, input: RecordIncomingInput, staged?: StagedBytes): Steps<RecordIncomingResult> {
  const p = input.package
  const row = incomingRow(input, iso(input.at))
  // the history rule, in the transaction that writes: what it reads stays true until this commits (guard)
  if (input.guard && input.state !== 'rejected') input.guard.check((yield* $(x.ops.incomingByDocument(input.guard.sender, input.guard.documentId))).map(incomingFromRow))
  const ins = yield* $(x.ops.insertIncoming({ row, bytes: buf(p.bytes), signature: p.signature ? buf(p.signature) : null, ...(staged ? { staged } : {}) }))
  if ('duplicate' in ins) return { incoming: incomingFromRow(ins.duplicate), duplicate: true }
  yield* append(x, [incomingStoredEvent(input, row)])
  const reply = input.reply ? yield* outgoingTx(x, input.reply) : undefined
  const applied = input.apply ? yield* moveTx(x, input.apply.deliveryId, input.apply.toState, input.apply.options) : undefined
  return { incoming: incomingFromRow(ins.row), duplicate: false, ...(reply ? { reply } : {}), ...(applied ? { applied } : {}) }
}

/** An operator discards a failed delivery: the dead letter's state and its event, together. */
export function* discardTx(x: Tx, deliveryId: string, o: DiscardDeliveryInput): Steps<LogEvent> {
  const d = yield* $(x.ops.deliveryForUpdate(deliveryId))
  if (!d) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: deliveryId })
  if (d.state !== 'failed') throw gwError('GW_ERR_STORE_CONFLICT', { reason: `delivery ${deliveryId} is ${String(d.state)}: only failed deliveries can be discarded` })
  if (d.discarded_at !== null && d.discarded_at !== undefined) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `delivery ${deliveryId} was already discarded` })
  const at = o.at ?? new Date()
  yield* $(x.ops.setDiscarded(deliveryId, iso(at)))
  const [ev] = yield* append(x, [
    noteEvent({
      direction: 'out',
      type: 'discarded',
      packageId: String(d.package_id),
      deliveryId,
      documentId: String(d.document_id),
      sender: String(d.sender),
      recipient: String(d.recipient),
      actor: o.actor,
      state: 'failed',
      cause: o.cause ?? 'discarded by operator',
      ...(o.detail ? { detail: o.detail } : {}),
      at,
    }),
  ])
  return ev!
}

export function* queueWebhooksTx(x: Tx, items: readonly WebhookQueueInput[]): Steps<void> {
  if (items.length) yield* $(x.ops.insertWebhooks(items.map(webhookRow)))
}

/** One webhook attempt: still pending (next attempt time), or ended with its log event. A row already ended stays. */
export function* webhookAttemptTx(x: Tx, id: string, a: WebhookAttemptInput): Steps<void> {
  const r = yield* $(x.ops.webhookForUpdate(id))
  if (!r) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'webhook delivery', id })
  if (r.state !== 'pending') return
  const at = iso(a.at)
  yield* $(
    x.ops.updateWebhook(id, {
      state: a.state ?? 'pending',
      attempts: a.attempts,
      next_attempt_at: a.nextAttemptAt ? a.nextAttemptAt.toISOString() : String(r.next_attempt_at),
      last_status: orNull(a.status),
      last_error: orNull(a.error),
      updated_at: at,
    }),
  )
  if (a.state && a.event) yield* append(x, [noteEvent({ ...a.event, at: a.event.at ?? a.at ?? new Date(at) })])
}

// ---- deliveries that came to no end (010) ------------------------------------------------------------------

/** How long a delivery_attempts row of a message never seen again is kept. */
const DELIVERY_ATTEMPTS_KEEP_MS = 30 * 86_400_000

/**
 * A delivery starts: the stored count of earlier unfinished deliveries is returned, and max(that, `atLeast`) + 1
 * is stored (this delivery counts until it ends), before the message is handled.
 */
export function* beginDeliveryTx(x: Tx, key: string, atLeast: number, at: Date): Steps<number> {
  const stored = (yield* $(x.ops.deliveryAttempts(key))) ?? 0
  yield* $(x.ops.pruneDeliveryAttempts(new Date(at.getTime() - DELIVERY_ATTEMPTS_KEEP_MS).toISOString()))
  yield* $(x.ops.setDeliveryAttempts(key, Math.max(stored, atLeast) + 1, at.toISOString()))
  return stored
}

// ---- retention --------------------------------------------------------------------------------------------

/** Outgoing edoc delivery states after which the bytes are not needed: the recipient answered for good, or recalled. */
export const PURGEABLE_DELIVERY_STATES: readonly DeliveryState[] = ['refused', 'completed', 'recalled', 'recall-refused']
/** A status package we sent is done once the broker took it (peers do not answer statuses). */
export const PURGEABLE_STATUS_DELIVERY_STATES: readonly DeliveryState[] = DELIVERY_STATES.filter((s) => s !== 'accepted' && s !== 'failed')
/** A received document the DMS has taken (fetched or later), or an operator discarded; never one still `received`. */
export const PURGEABLE_INCOMING_STATES: readonly IncomingState[] = INCOMING_STATES.filter((s) => s !== 'arrived' && s !== 'rejected')
/** A received status (its delivery move was made when it was stored) or unreadable package, unless rejected. */
export const PURGEABLE_INCOMING_OTHER_STATES: readonly IncomingState[] = INCOMING_STATES.filter((s) => s !== 'rejected')

const DAY_MS = 86_400_000

/** GW_ERR_STORE_PURGED for a row carrying `purged_at` and `purge_reason`. */
export function purgedError(what: string, id: string, r: Row): Error {
  return gwError('GW_ERR_STORE_PURGED', { what, id, purgedAt: String(r.purged_at), reason: String(r.purge_reason) })
}

interface PurgeBatch {
  result: Omit<PurgeResult, 'dryRun' | 'at'>
  more: boolean
}

const zero = (): PurgeCount => ({ packages: 0, bytes: 0 })
const countOf = (rows: readonly PurgeCandidate[]): PurgeCount => ({ packages: rows.length, bytes: rows.reduce((a, r) => a + r.size, 0) })

/**
 * One transaction of a purge run: up to `limit` packages per window and direction, chosen by the rules above,
 * their bytes emptied with a `purged_bytes` row each, expired idempotency keys deleted, and one `purged` event per
 * direction that purged anything (its detail: the windows, counts, bytes and package ids). Dry run: counts only.
 */
export function* purgeTx(x: Tx, o: PurgeOptions, at: Date, limit: number): Steps<PurgeBatch> {
  const now = iso(at)
  const before = (days: number): string => iso(new Date(at.getTime() - days * DAY_MS))
  const windows = {
    ...(o.packageBytesDays !== undefined ? { packageBytesDays: o.packageBytesDays } : {}),
    ...(o.deadLettersDays !== undefined ? { deadLettersDays: o.deadLettersDays } : {}),
    ...(o.idempotencyKeysDays !== undefined ? { idempotencyKeysDays: o.idempotencyKeysDays } : {}),
  }
  const none = { out: [] as PurgeCandidate[], in: [] as PurgeCandidate[] }
  let finals = none
  let dead = none
  if (o.packageBytesDays !== undefined) {
    const b = before(o.packageBytesDays)
    finals = {
      out: yield* $(x.ops.outgoingToPurge({ before: b, done: { edoc: PURGEABLE_DELIVERY_STATES, status: PURGEABLE_STATUS_DELIVERY_STATES }, needsFailed: false, limit })),
      in: yield* $(x.ops.incomingToPurge({ before: b, done: { edoc: PURGEABLE_INCOMING_STATES, other: PURGEABLE_INCOMING_OTHER_STATES }, limit })),
    }
  }
  if (o.deadLettersDays !== undefined) {
    const b = before(o.deadLettersDays)
    dead = {
      out: yield* $(
        x.ops.outgoingToPurge({
          before: b,
          done: { edoc: [...PURGEABLE_DELIVERY_STATES, 'failed'], status: [...PURGEABLE_STATUS_DELIVERY_STATES, 'failed'] },
          needsFailed: true,
          limit,
        }),
      ),
      in: yield* $(x.ops.incomingToPurge({ before: b, done: { edoc: ['rejected'], other: ['rejected'] }, limit })),
    }
  }
  const keys = o.idempotencyKeysDays !== undefined ? yield* $(x.ops.idempotencyKeysBefore(before(o.idempotencyKeysDays), !o.dryRun)) : 0
  const result: PurgeBatch['result'] = {
    packageBytes: { outgoing: countOf(finals.out), incoming: countOf(finals.in) },
    deadLetters: { outgoing: countOf(dead.out), incoming: countOf(dead.in) },
    idempotencyKeys: keys,
    events: [],
  }
  const more = [finals.out, finals.in, dead.out, dead.in].some((r) => r.length >= limit)
  if (o.dryRun) return { result, more }
  const why = {
    finals: `retention.packageBytesDays = ${o.packageBytesDays}: stored more than ${o.packageBytesDays} days before ${now}, in a final state`,
    dead: `retention.deadLettersDays = ${o.deadLettersDays}: a dead letter stored more than ${o.deadLettersDays} days before ${now}`,
  }
  for (const dir of ['out', 'in'] as const) {
    if (finals[dir].length) yield* $(x.ops.purgeBytes(dir, finals[dir], now, why.finals))
    if (dead[dir].length) yield* $(x.ops.purgeBytes(dir, dead[dir], now, why.dead))
    const k = dir === 'out' ? keys : 0
    if (!finals[dir].length && !dead[dir].length && !k) continue
    const n = finals[dir].length + dead[dir].length
    const group = (rows: PurgeCandidate[]) => ({ ...countOf(rows), ids: rows.map((r) => r.id) })
    const [ev] = yield* append(x, [
      noteEvent({
        direction: dir,
        type: 'purged',
        actor: o.actor,
        cause: `retention: bytes of ${n} ${dir === 'out' ? 'sent' : 'received'} package(s) purged, ${k} idempotency key(s) removed`,
        detail: {
          windows,
          packageBytes: group(finals[dir]),
          deadLetters: group(dead[dir]),
          ...(dir === 'out' ? { idempotencyKeys: k } : {}),
        },
        at,
      }),
    ])
    result.events.push(ev!)
  }
  return { result, more }
}

type WriteMethods =
  | 'recordOutgoing'
  | 'markQueued'
  | 'markQueuedMany'
  | 'markFailed'
  | 'transition'
  | 'appendEvent'
  | 'recordIncoming'
  | 'transitionIncoming'
  | 'discardDelivery'
  | 'queueWebhooks'
  | 'recordWebhookAttempt'
  | 'recordLogAnchor'
  | 'purge'
  | 'beginDelivery'
  | 'endDelivery'
  | 'recordSignature'
  | 'noteSignatureAttempt'

/** Bytes a write carries (the batch size limit counts them). */
const outgoingBytes = (i: RecordOutgoingInput | undefined): number => (i ? i.package.bytes.byteLength : 0)

/**
 * The write methods of the Store, once: each queues its transaction body in the dialect's group commit. A dialect
 * store extends this with its reads, `writes` (its WriteQueue) and lifecycle.
 */
/** How long a storage write failure keeps Store.writeHealth (and so /readyz) failing without another one. */
export const WRITE_FAILURE_HOLD_MS = 30_000

export abstract class CoreStore implements Pick<Store, WriteMethods> {
  protected abstract readonly writes: WriteQueue<Tx>

  /** Told after a write that adds searchable rows (SQLite schedules its bulk index). */
  protected searchableWrite(): void {}

  /**
   * Whether package bytes of this size are written ahead, in parts (`stageBytes`), instead of inline in the write
   * that stores the package. No by default (PostgreSQL); SQLite from a size on (its commits run on the event loop).
   */
  protected stagesBytes(_size: number): boolean {
    return false
  }

  /** Write package bytes ahead of their package's write; called only when `stagesBytes` says so. */
  protected stageBytes(_bytes: Uint8Array): Promise<StagedBytes> {
    return Promise.reject(new Error('this store does not stage bytes'))
  }

  /** Remove staged bytes that no write came to hold (a duplicate, a replay, a failed write). Never throws. */
  protected unstageBytes(_s: StagedBytes): void {}

  /** Stage the bytes, run the write with them, and remove them again when the write did not keep them. */
  private async staged<T>(bytes: Uint8Array, write: (s: StagedBytes) => Promise<T>, kept: (r: T) => boolean): Promise<T> {
    const s = await this.stageBytes(bytes)
    let r: T
    try {
      r = await write(s)
    } catch (e) {
      this.unstageBytes(s)
      throw e
    }
    if (!kept(r)) this.unstageBytes(s)
    return r
  }

  /**
   * Whether writes go through (Store.writeHealth): not while the last batch failed for a reason of the storage and
   * none committed since, for at most WRITE_FAILURE_HOLD_MS after that failure (then traffic may try again; the
   * next failing write says so again).
   */
  writeHealth(now = Date.now()): { ok: boolean; detail?: string; since?: string } {
    const f = this.writes.lastFailure()
    if (!f || now - f.at > WRITE_FAILURE_HOLD_MS) return { ok: true }
    return { ok: false, detail: `writes fail: ${f.reason}`, since: new Date(f.at).toISOString() }
  }

  recordOutgoing(input: RecordOutgoingInput): Promise<RecordOutgoingResult> {
    this.searchableWrite()
    if (this.stagesBytes(input.package.bytes.byteLength)) {
      return this.staged(input.package.bytes, (s) => this.writes.push('recordOutgoing', (x) => outgoingTx(x, input, s)), (r) => !r.replayed)
    }
    return this.writes.push('recordOutgoing', (x) => outgoingTx(x, input), outgoingBytes(input))
  }

  transition(deliveryId: string, toState: DeliveryState, opts: TransitionOptions): Promise<TransitionResult> {
    return this.writes.push('transition', (x) => moveTx(x, deliveryId, toState, opts))
  }

  async markQueued(deliveryId: string, at?: Date): Promise<boolean> {
    return (await this.writes.push('markQueued', (x) => moveTx(x, deliveryId, 'queued', queuedOpts(at)))).changed
  }

  markQueuedMany(deliveryIds: readonly string[], at?: Date): Promise<number> {
    return this.writes.push('markQueuedMany', (x) => queuedManyTx(x, deliveryIds, at))
  }

  async markFailed(deliveryId: string, reason: string, actor: string, at?: Date): Promise<boolean> {
    return (await this.writes.push('markFailed', (x) => moveTx(x, deliveryId, 'failed', failedOpts(reason, actor, at)))).changed
  }

  appendEvent(e: AppendEventInput): Promise<LogEvent> {
    return this.writes.push('appendEvent', (x) => appendTx(x, e))
  }

  recordIncoming(input: RecordIncomingInput): Promise<RecordIncomingResult> {
    this.searchableWrite()
    if (this.stagesBytes(input.package.bytes.byteLength)) {
      return this.staged(input.package.bytes, (s) => this.writes.push('recordIncoming', (x) => incomingTx(x, input, s), outgoingBytes(input.reply)), (r) => !r.duplicate)
    }
    return this.writes.push('recordIncoming', (x) => incomingTx(x, input), input.package.bytes.byteLength + outgoingBytes(input.reply))
  }

  transitionIncoming(id: string, toState: IncomingState, opts: TransitionOptions): Promise<IncomingTransitionResult> {
    return this.writes.push('transitionIncoming', (x) => incomingMoveTx(x, id, toState, opts))
  }

  discardDelivery(deliveryId: string, opts: DiscardDeliveryInput): Promise<LogEvent> {
    return this.writes.push('discardDelivery', (x) => discardTx(x, deliveryId, opts))
  }

  queueWebhooks(items: readonly WebhookQueueInput[]): Promise<void> {
    return this.writes.push('queueWebhooks', (x) => queueWebhooksTx(x, items))
  }

  recordWebhookAttempt(id: string, attempt: WebhookAttemptInput): Promise<void> {
    return this.writes.push('recordWebhookAttempt', (x) => webhookAttemptTx(x, id, attempt))
  }

  beginDelivery(key: string, atLeast: number, at: Date = new Date()): Promise<number> {
    return this.writes.push('beginDelivery', (x) => beginDeliveryTx(x, key, atLeast, at))
  }

  endDelivery(key: string, unfinished?: number, at: Date = new Date()): Promise<void> {
    return this.writes.push('endDelivery', (x) => $(x.ops.setDeliveryAttempts(key, unfinished && unfinished > 0 ? unfinished : null, at.toISOString())))
  }

  recordSignature(input: RecordSignatureInput): Promise<RecordSignatureResult> {
    return this.writes.push('recordSignature', (x) => signatureTx(x, input))
  }

  noteSignatureAttempt(packageId: string, error: string, at: Date = new Date()): Promise<void> {
    return this.writes.push('noteSignatureAttempt', (x) => $(x.ops.noteSignatureAttempt(packageId, error.slice(0, 2000), at.toISOString())))
  }

  recordLogAnchor(anchor: LogAnchor): Promise<void> {
    return this.writes.push('recordLogAnchor', function* (x) {
      if (!(yield* $(x.ops.insertLogAnchor(anchor)))) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `log seq ${anchor.seq} is anchored already` })
    })
  }

  /** Transactions of up to `batchSize` packages per window and direction, until nothing is left (dry run: one count). */
  async purge(o: PurgeOptions): Promise<PurgeResult> {
    const at = o.at ?? new Date()
    const limit = o.dryRun ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.trunc(o.batchSize ?? 500))
    const total: PurgeResult = {
      dryRun: o.dryRun === true,
      at: iso(at),
      packageBytes: { outgoing: zero(), incoming: zero() },
      deadLetters: { outgoing: zero(), incoming: zero() },
      idempotencyKeys: 0,
      events: [],
    }
    const add = (a: PurgeCount, b: PurgeCount) => {
      a.packages += b.packages
      a.bytes += b.bytes
    }
    for (;;) {
      const { result: r, more } = await this.writes.push('purge', (x) => purgeTx(x, o, at, limit))
      add(total.packageBytes.outgoing, r.packageBytes.outgoing)
      add(total.packageBytes.incoming, r.packageBytes.incoming)
      add(total.deadLetters.outgoing, r.deadLetters.outgoing)
      add(total.deadLetters.incoming, r.deadLetters.incoming)
      total.idempotencyKeys += r.idempotencyKeys
      total.events.push(...r.events)
      if (o.dryRun || !more) return total
    }
  }
}
