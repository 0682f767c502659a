/**
 * Rows and events as the store writes them, the same in both dialects (column names, JSON forms, the facts each
 * event carries). Only the SQL that writes them differs (sqlite-store.ts, pg-store.ts).
 */
import type { DeliveryState, Direction, IncomingState } from '../document/delivery.js'
import { canonicalJson, type EventFields } from './hash-chain.js'
import { searchText } from './search.js'
import type { AppendEventInput, IdempotencyRecord, OutgoingPackageInput, RecordIncomingInput, StoreStats, TransitionOptions, WebhookDeliveryState, WebhookQueueInput } from './types.js'

export type Row = Record<string, unknown>

export const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v)
export const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
export const iso = (at?: Date): string => (at ?? new Date()).toISOString()

export const PACKAGE_COLS =
  'seq, id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, created_at'
export const INCOMING_COLS =
  'seq, id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, state, reason, related_id, received_at, updated_at, fetched_at'
/** The columns with a table alias: `cols(INCOMING_COLS, 'i')` → `i.seq, i.id, ...`. */
export const cols = (list: string, alias: string): string => list.replace(/(^|, )/g, `$1${alias}.`)

/** A `packages` row (with its folded search text). */
export function packageRow(pkg: OutgoingPackageInput, at: string) {
  return {
    id: pkg.id,
    kind: pkg.kind,
    document_id: pkg.documentId,
    sender: pkg.senderOrganId,
    client_id: orNull(pkg.clientId),
    sha256: pkg.sha256,
    size: pkg.bytes.byteLength,
    priority: Math.trunc(pkg.priority) || 0,
    subject: orNull(pkg.subject),
    code_number: orNull(pkg.codeNumber),
    code_notation: orNull(pkg.codeNotation),
    promulgation_date: orNull(pkg.promulgationDate),
    status_code: orNull(pkg.statusCode),
    metadata: JSON.stringify(pkg.metadata ?? {}),
    search: searchText(pkg),
    created_at: at,
  }
}
export type PackageRow = ReturnType<typeof packageRow>

/** The `accepted` event of a new delivery. */
export function acceptedEvent(row: PackageRow, deliveryId: string, recipient: string, actor: string): EventFields {
  return {
    time: row.created_at,
    direction: 'out',
    type: 'state',
    package_id: row.id,
    delivery_id: deliveryId,
    document_id: row.document_id,
    sender: row.sender,
    recipient,
    actor,
    state: 'accepted',
    changed: true,
    status_code: row.status_code,
    cause: 'signed and stored',
    detail: { kind: row.kind, sha256: row.sha256, size: row.size, priority: row.priority },
  }
}

/** An `incoming` row; `sha256, sender, document_id, recipient` are its dedupe key. */
export function incomingRow(input: RecordIncomingInput, at: string) {
  const p = input.package
  return {
    id: p.id,
    kind: p.kind,
    sha256: p.sha256,
    sender: orNull(p.senderOrganId),
    document_id: orNull(p.documentId),
    recipient: orNull(p.recipient),
    message_id: orNull(p.messageId),
    size: p.size ?? p.bytes.byteLength,
    priority: Math.trunc(p.priority ?? 0) || 0,
    subject: orNull(p.subject),
    code_number: orNull(p.codeNumber),
    code_notation: orNull(p.codeNotation),
    promulgation_date: orNull(p.promulgationDate),
    status_code: orNull(p.statusCode),
    metadata: JSON.stringify(p.metadata ?? {}),
    verdict: canonicalJson(p.verdict ?? {}),
    search: searchText(p),
    state: input.state,
    reason: orNull(input.reason),
    related_id: orNull(p.relatedId),
    at,
  }
}
export type IncomingRow = ReturnType<typeof incomingRow>

/** The event of a newly stored incoming package (`arrived` or `rejected`). */
export function incomingStoredEvent(input: RecordIncomingInput, row: IncomingRow): EventFields {
  const p = input.package
  return {
    time: row.at,
    direction: 'in',
    type: 'state',
    package_id: row.id,
    document_id: row.document_id,
    sender: row.sender,
    recipient: row.recipient,
    actor: input.actor,
    state: input.state,
    changed: true,
    status_code: row.status_code,
    cause: input.state === 'arrived' ? 'verified and stored' : (input.reason ?? 'rejected'),
    detail: {
      kind: p.kind,
      sha256: p.sha256,
      size: row.size,
      ...(p.messageId ? { messageId: p.messageId } : {}),
      ...(typeof p.verdict?.code === 'string' ? { verdict: p.verdict.code } : {}),
    },
  }
}

/**
 * The event of a state move (delivery or incoming package), recorded whether or not the state changed. `r` is the
 * row moved: a delivery with its package's `document_id` and `sender`, or an incoming row.
 */
export function moveEvent(direction: Direction, r: Row, deliveryId: string | null, from: DeliveryState | IncomingState, to: string, changed: boolean, o: TransitionOptions, at: string): EventFields {
  const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))
  return {
    time: at,
    direction,
    type: o.type ?? (o.statusCode ? 'status' : 'state'),
    package_id: deliveryId === null ? String(r.id) : String(r.package_id),
    delivery_id: deliveryId,
    document_id: s(r.document_id),
    sender: s(r.sender),
    recipient: s(r.recipient),
    actor: o.actor,
    from_state: from,
    state: to,
    changed,
    status_code: orNull(o.statusCode),
    cause: o.cause,
    detail: { ...(o.detail ?? {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) },
  }
}

/** An event that is not a state change (appendEvent). */
export function noteEvent(e: AppendEventInput): EventFields {
  return {
    time: iso(e.at),
    direction: e.direction,
    type: e.type,
    package_id: orNull(e.packageId),
    delivery_id: orNull(e.deliveryId),
    document_id: orNull(e.documentId),
    sender: orNull(e.sender),
    recipient: orNull(e.recipient),
    actor: e.actor,
    state: orNull(e.state),
    changed: false,
    status_code: orNull(e.statusCode),
    cause: orNull(e.cause),
    detail: e.detail ?? {},
  }
}

export const queuedOpts = (at?: Date): TransitionOptions => ({ cause: 'broker confirmed', actor: 'system', countsAttempt: true, ...(at ? { at } : {}) })
export const failedOpts = (reason: string, actor: string, at?: Date): TransitionOptions => ({ cause: 'publish failed', reason, actor, countsAttempt: true, ...(at ? { at } : {}) })

export function idempotencyFromRow(r: Row): IdempotencyRecord {
  return { clientId: String(r.client_id), key: String(r.key), requestHash: String(r.request_hash), packageId: String(r.package_id), createdAt: String(r.created_at) }
}

/** stats() from the per-state counts and the head of the (gapless) chain. */
export function statsOf(deliveries: Row[], incoming: Row[], events: number, awaitingSignature = 0): StoreStats {
  const deliveriesByState: StoreStats['deliveriesByState'] = {}
  for (const r of deliveries) deliveriesByState[r.state as DeliveryState] = Number(r.n)
  const incomingByState: StoreStats['incomingByState'] = {}
  for (const r of incoming) incomingByState[r.state as IncomingState] = Number(r.n)
  return { deliveriesByState, incomingByState, outboxBacklog: deliveriesByState.accepted ?? 0, awaitingSignature, events }
}

/** A `webhook_deliveries` row of a newly queued notification. */
export function webhookRow(w: WebhookQueueInput) {
  const at = iso(w.at)
  return {
    id: w.id,
    client_id: w.clientId,
    organ_id: w.organId,
    event: w.event,
    url: w.url,
    data: JSON.stringify(w.data ?? {}),
    occurred_at: w.occurredAt,
    state: 'pending' as WebhookDeliveryState,
    attempts: 0,
    next_attempt_at: w.nextAttemptAt ? w.nextAttemptAt.toISOString() : at,
    created_at: at,
  }
}
export type WebhookRow = ReturnType<typeof webhookRow>

export interface WebhookUpdate {
  state: WebhookDeliveryState
  attempts: number
  next_attempt_at: string
  last_status: number | null
  last_error: string | null
  updated_at: string
}
