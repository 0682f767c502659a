/** Row ↔ record mapping shared by the SQLite and PostgreSQL stores (same column names in both). */
import { currentStateName, type DeliveryState, type Direction, type IncomingState, type StatusCode } from '../document/delivery.js'
import { encodeCursor } from './cursor.js'
import type { AwaitingSignature, Delivery, DeliveryWithPackage, JsonObject, LogAnchor, LogEvent, PackageKind, PackageWithDeliveries, PendingDelivery, StoredIncoming, StoredPackage, TimelineEntry, WebhookDelivery, WebhookDeliveryState } from './types.js'

type Row = Record<string, unknown>

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v))
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))
const json = (v: unknown): JsonObject => {
  if (v === null || v === undefined || v === '') return {}
  if (typeof v === 'object') return v as JsonObject
  return JSON.parse(String(v)) as JsonObject
}
/** Spread helper: `{ ...opt('subject', row.subject) }` adds the key only when the value is present. */
function opt<K extends string>(k: K, v: unknown): { [P in K]?: string } {
  const s = str(v)
  return (s === undefined ? {} : { [k]: s }) as { [P in K]?: string }
}

export function packageFromRow(r: Row): StoredPackage {
  return {
    id: String(r.id),
    kind: r.kind as PackageKind,
    documentId: String(r.document_id),
    senderOrganId: String(r.sender),
    ...opt('clientId', r.client_id),
    sha256: String(r.sha256),
    size: num(r.size),
    priority: num(r.priority),
    ...opt('subject', r.subject),
    ...opt('codeNumber', r.code_number),
    ...opt('codeNotation', r.code_notation),
    ...opt('promulgationDate', r.promulgation_date),
    ...(opt('statusCode', r.status_code) as { statusCode?: StatusCode }),
    metadata: json(r.metadata),
    createdAt: String(r.created_at),
  }
}

/** An `awaiting_signature` row joined with its package (`p.seq, p.kind, p.document_id, p.sender, p.priority, p.created_at`). */
export function awaitingFromRow(r: Row): AwaitingSignature {
  return {
    packageId: String(r.package_id),
    seq: num(r.seq),
    kind: r.kind as PackageKind,
    documentId: String(r.document_id),
    senderOrganId: String(r.sender),
    signer: String(r.signer),
    priority: num(r.priority),
    since: String(r.since),
    ...opt('reason', r.reason),
    attempts: num(r.attempts),
    ...opt('lastError', r.last_error),
    ...opt('lastAttemptAt', r.last_attempt_at),
    createdAt: String(r.created_at),
  }
}


export function deliveryFromRow(r: Row): Delivery {
  return {
    id: String(r.id),
    packageId: String(r.package_id),
    recipient: String(r.recipient),
    state: r.state as DeliveryState,
    ...(opt('statusCode', r.status_code) as { statusCode?: StatusCode }),
    ...opt('reason', r.reason),
    attempts: num(r.attempts),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    ...opt('queuedAt', r.queued_at),
    ...opt('discardedAt', r.discarded_at),
  }
}

/**
 * A chained row's state names as they read now: rows written before schema 009 keep the old names in the chain
 * (a chained row is never rewritten), so they are mapped here (src/document/delivery.ts LEGACY_STATE_NAMES), and the
 * names as stored, which the row's hash covers, are kept beside them when they differ.
 */
function stateNames(r: Row): { fromState?: string; state?: string; storedFromState?: string; storedState?: string } {
  const dir = r.direction as Direction
  const o: { fromState?: string; state?: string; storedFromState?: string; storedState?: string } = {}
  for (const [col, key, stored] of [['from_state', 'fromState', 'storedFromState'], ['state', 'state', 'storedState']] as const) {
    const v = r[col]
    if (v === null || v === undefined) continue
    const now = currentStateName(dir, String(v))
    o[key] = now
    if (now !== String(v)) o[stored] = String(v)
  }
  return o
}

export function eventFromRow(r: Row): LogEvent {
  const names = stateNames(r)
  return {
    seq: num(r.seq),
    time: String(r.time),
    direction: r.direction as Direction,
    type: String(r.type),
    ...opt('packageId', r.package_id),
    ...opt('deliveryId', r.delivery_id),
    ...opt('documentId', r.document_id),
    ...opt('sender', r.sender),
    ...opt('recipient', r.recipient),
    actor: String(r.actor),
    ...names,
    changed: num(r.changed) === 1,
    ...(opt('statusCode', r.status_code) as { statusCode?: StatusCode }),
    ...opt('cause', r.cause),
    detail: json(r.detail),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  }
}

export function timelineFromRow(r: Row): TimelineEntry {
  return {
    seq: num(r.seq),
    time: String(r.time),
    type: String(r.type),
    ...(({ fromState, state }) => ({ ...(fromState !== undefined ? { fromState } : {}), ...(state !== undefined ? { state } : {}) }))(stateNames(r)),
    changed: num(r.changed) === 1,
    ...opt('cause', r.cause),
    actor: String(r.actor),
    ...(opt('statusCode', r.status_code) as { statusCode?: StatusCode }),
    detail: json(r.detail),
  }
}

export function incomingFromRow(r: Row): StoredIncoming {
  return {
    id: String(r.id),
    kind: r.kind as PackageKind | 'unknown',
    ...opt('documentId', r.document_id),
    ...opt('senderOrganId', r.sender),
    ...opt('recipient', r.recipient),
    ...opt('messageId', r.message_id),
    sha256: String(r.sha256),
    size: num(r.size),
    priority: num(r.priority),
    ...opt('subject', r.subject),
    ...opt('codeNumber', r.code_number),
    ...opt('codeNotation', r.code_notation),
    ...opt('promulgationDate', r.promulgation_date),
    ...(opt('statusCode', r.status_code) as { statusCode?: StatusCode }),
    metadata: json(r.metadata),
    verdict: json(r.verdict),
    state: r.state as IncomingState,
    ...opt('reason', r.reason),
    ...opt('relatedId', r.related_id),
    receivedAt: String(r.received_at),
    updatedAt: String(r.updated_at),
    ...opt('fetchedAt', r.fetched_at),
  }
}

/** Rows fetched with LIMIT n+1 → the page of n and the cursor of the next page if there is one. */
export function pageOf(rows: Row[], limitPlusOne: number, kind: string): { rows: Row[]; next?: string } {
  if (rows.length < limitPlusOne) return { rows }
  const page = rows.slice(0, limitPlusOne - 1)
  return { rows: page, next: encodeCursor(kind, Number(page[page.length - 1]!.seq)) }
}

export function pendingFromRow(r: Row): PendingDelivery {
  return {
    deliveryId: String(r.id),
    packageId: String(r.package_id),
    recipient: String(r.recipient),
    kind: r.kind as PendingDelivery['kind'],
    documentId: String(r.document_id),
    senderOrganId: String(r.sender),
    priority: Number(r.priority),
    sha256: String(r.sha256),
    ...(r.bytes != null && !r.parts_key ? { bytes: r.bytes as Buffer } : {}),
    size: Number(r.size),
    signature: r.signature as Buffer,
    attempts: Number(r.attempts),
    createdAt: String(r.created_at),
  }
}

export function deliveryWithPackageFromRow(r: Row): DeliveryWithPackage {
  return {
    ...deliveryFromRow(r),
    kind: r.kind as PackageKind,
    documentId: String(r.document_id),
    senderOrganId: String(r.sender),
    ...opt('subject', r.subject),
    ...opt('codeNumber', r.code_number),
    ...opt('codeNotation', r.code_notation),
  }
}

/** Page rows of packages → packages with their deliveries (`ds`: the deliveries of those packages, by seq). */
export function withDeliveries(ds: Row[]): (r: Row) => PackageWithDeliveries {
  const byPkg = new Map<string, Delivery[]>()
  for (const r of ds) {
    const d = deliveryFromRow(r)
    const list = byPkg.get(d.packageId)
    if (list) list.push(d)
    else byPkg.set(d.packageId, [d])
  }
  return (r) => ({ ...packageFromRow(r), deliveries: byPkg.get(String(r.id)) ?? [] })
}

export function webhookFromRow(r: Row): WebhookDelivery {
  return {
    seq: num(r.seq),
    id: String(r.id),
    clientId: String(r.client_id),
    organId: String(r.organ_id),
    event: String(r.event),
    url: String(r.url),
    data: json(r.data),
    occurredAt: String(r.occurred_at),
    state: r.state as WebhookDeliveryState,
    attempts: num(r.attempts),
    nextAttemptAt: String(r.next_attempt_at),
    ...(r.last_status === null || r.last_status === undefined ? {} : { lastStatus: num(r.last_status) }),
    ...opt('lastError', r.last_error),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  }
}

export function anchorFromRow(r: Row): LogAnchor {
  return { seq: Number(r.seq), hash: String(r.hash), anchoredAt: String(r.anchored_at), tsa: String(r.tsa), genTime: String(r.gen_time), token: new Uint8Array(r.token as Buffer) }
}
