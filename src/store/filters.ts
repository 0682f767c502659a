/**
 * The list filters, defined once: which condition each filter field adds, in SQL both dialects read. A dialect
 * gives its placeholder style and the few spellings that differ (`Dialect`); the list queries of
 * packages, deliveries and incoming packages are then the same text. The event log's text search stays per dialect
 * (FTS5 trigram index on SQLite, a scan window on PostgreSQL); its other conditions are here.
 */
import { resolveStateFilter, storedStateNames } from '../document/delivery.js'
import { decodeCursor, pageLimit } from './cursor.js'
import { PACKAGE_COLS, INCOMING_COLS, cols, type Row } from './records.js'
import { pageOf } from './rows.js'
import type { ListDeliveriesFilter, ListEventsFilter, ListIncomingFilter, ListPackagesFilter, Page } from './types.js'

export interface Dialect {
  /** Placeholder of the n-th parameter (1-based): `@p1` (better-sqlite3, named) or `$1` (pg). */
  placeholder(n: number): string
  /** `col` matches one of the strings bound at `x` (bound as `list(values)`). */
  oneOf(col: string, x: string): string
  list(values: readonly string[]): unknown
  /** A column the planner should not pick an index for (SQLite: `+col`). */
  noIndex(col: string): string
}

/** Collects the parameters of one query: `p(v)` returns its placeholder; `add` keeps a condition when v is given. */
export class Params {
  readonly values: unknown[] = []
  readonly where: string[] = []
  constructor(private readonly d: Dialect) {}
  p(v: unknown): string {
    this.values.push(v)
    return this.d.placeholder(this.values.length)
  }
  add(v: unknown, cond: (x: string) => string): void {
    if (v !== undefined) this.where.push(cond(this.p(v)))
  }
  /** `WHERE a AND b` of the kept conditions (and `more`), or ''. */
  whereSql(more: readonly string[] = []): string {
    const w = [...more, ...this.where]
    return w.length ? 'WHERE ' + w.join(' AND ') : ''
  }
  /** The values as better-sqlite3 binds named parameters (`{ p1: ..., p2: ... }`). */
  named(): Record<string, unknown> {
    const o: Record<string, unknown> = {}
    this.values.forEach((v, i) => (o[`p${i + 1}`] = v))
    return o
  }
}

/** A list query: SQL, its parameters and the LIMIT (page size + 1) that tells whether there is a next page. */
export interface ListQuery {
  sql: string
  ps: Params
  limit: number
}

const cursorOf = (kind: string, cursor: string | undefined): number | undefined => (cursor === undefined ? undefined : decodeCursor(kind, cursor))

export function listPackagesQuery(d: Dialect, f: ListPackagesFilter): ListQuery {
  const ps = new Params(d)
  ps.add(f.senderOrganId, (x) => `p.sender = ${x}`)
  ps.add(f.clientId, (x) => `p.client_id = ${x}`)
  ps.add(f.kind, (x) => `p.kind = ${x}`)
  ps.add(f.documentId, (x) => `p.document_id = ${x}`)
  ps.add(f.since?.toISOString(), (x) => `p.created_at >= ${x}`)
  ps.add(f.until?.toISOString(), (x) => `p.created_at < ${x}`)
  ps.add(f.state, (x) => `EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND ${d.noIndex('d.state')} = ${x})`)
  ps.add(f.recipient, (x) => `EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.recipient = ${x})`)
  ps.add(cursorOf('p', f.cursor), (x) => `p.seq < ${x}`)
  const limit = pageLimit(f.limit) + 1
  return { sql: `SELECT ${cols(PACKAGE_COLS, 'p')} FROM packages p ${ps.whereSql()} ORDER BY p.seq DESC LIMIT ${ps.p(limit)}`, ps, limit }
}

export function listDeliveriesQuery(d: Dialect, f: ListDeliveriesFilter): ListQuery {
  const ps = new Params(d)
  const states = f.state === undefined ? undefined : Array.isArray(f.state) ? f.state : [f.state]
  ps.add(states && d.list(states), (x) => d.oneOf('d.state', x))
  ps.add(f.recipient, (x) => `d.recipient = ${x}`)
  ps.add(f.senderOrganId, (x) => `p.sender = ${x}`)
  ps.add(f.kind, (x) => `p.kind = ${x}`)
  ps.add(f.queuedBefore?.toISOString(), (x) => `d.queued_at < ${x}`)
  ps.add(f.updatedBefore?.toISOString(), (x) => `d.updated_at < ${x}`)
  if (f.discarded !== undefined) ps.where.push(f.discarded ? 'd.discarded_at IS NOT NULL' : 'd.discarded_at IS NULL')
  ps.add(cursorOf('d', f.cursor), (x) => `d.seq < ${x}`)
  const limit = pageLimit(f.limit) + 1
  const sql = `SELECT d.*, p.kind, p.document_id, p.sender, p.subject, p.code_number, p.code_notation
    FROM deliveries d JOIN packages p ON p.id = d.package_id ${ps.whereSql()} ORDER BY d.seq DESC LIMIT ${ps.p(limit)}`
  return { sql, ps, limit }
}

export function listIncomingQuery(d: Dialect, f: ListIncomingFilter): ListQuery {
  const ps = new Params(d)
  ps.add(f.recipient, (x) => `i.recipient = ${x}`)
  // OrganIds compare canonically: a sender as written (any case) is found by any spelling
  ps.add(f.senderOrganId, (x) => `upper(i.sender) = upper(CAST(${x} AS TEXT))`)
  ps.add(f.kind, (x) => `i.kind = ${x}`)
  ps.add(f.state, (x) => `i.state = ${x}`)
  ps.add(f.documentId, (x) => `i.document_id = ${x}`)
  ps.add(f.since?.toISOString(), (x) => `i.received_at >= ${x}`)
  ps.add(f.until?.toISOString(), (x) => `i.received_at < ${x}`)
  ps.add(cursorOf('i', f.cursor), (x) => `i.seq < ${x}`)
  const limit = pageLimit(f.limit) + 1
  return { sql: `SELECT ${cols(INCOMING_COLS, 'i')} FROM incoming i ${ps.whereSql()} ORDER BY i.seq DESC LIMIT ${ps.p(limit)}`, ps, limit }
}

/**
 * The event-log conditions other than agency and text. With an agency filter, `hinted` keeps the planner on the
 * agency's own indexes (SQLite; see listEvents there).
 */
export function eventConditions(d: Dialect, f: ListEventsFilter, ps: Params, before: number | undefined, hinted: boolean): void {
  const h = (c: string): string => (hinted ? d.noIndex(c) : c)
  ps.add(f.since?.toISOString(), (x) => `${h('e.time')} >= ${x}`)
  ps.add(f.until?.toISOString(), (x) => `${h('e.time')} < ${x}`)
  ps.add(f.direction, (x) => `e.direction = ${x}`)
  if (f.state !== undefined) ps.where.push(eventStateCondition(d, f, ps, h))
  ps.add(f.type, (x) => `${h('e.type')} = ${x}`)
  ps.add(f.documentId, (x) => `e.document_id = ${x}`)
  ps.add(f.packageId, (x) => `e.package_id = ${x}`)
  ps.add(before, (x) => `e.seq < ${x}`)
}

/**
 * The `state` filter of the log: per direction, every name the state may be stored under (rows before schema 009
 * keep the old names), e.g. `registered` → `(out: registered, received) OR (in: registered, accepted)`. The state
 * list comes first so that the state index stays usable.
 */
function eventStateCondition(d: Dialect, f: ListEventsFilter, ps: Params, h: (c: string) => string): string {
  const byDir: { out?: string; in?: string } =
    typeof f.state === 'string' ? (resolveStateFilter(f.state) ?? { out: f.state, in: f.state }) : (f.state ?? {})
  const parts: string[] = []
  const all = new Set<string>()
  for (const dir of ['out', 'in'] as const) {
    const state = byDir[dir]
    if (state === undefined || (f.direction !== undefined && f.direction !== dir)) continue
    const names = storedStateNames(dir, state)
    names.forEach((n) => all.add(n))
    parts.push(`(e.direction = ${ps.p(dir)} AND ${d.oneOf(h('e.state'), ps.p(d.list(names)))})`)
  }
  if (!parts.length) return '1 = 0'
  return `${d.oneOf(h('e.state'), ps.p(d.list([...all])))} AND (${parts.join(' OR ')})`
}

/**
 * Events newest first: one scan, or with an agency the union of the agency-as-sender and agency-as-recipient scans
 * (each reads its own index newest first). `extra`: conditions added by the caller (text).
 */
export function eventsSql(f: ListEventsFilter, ps: Params, limit: number, extra: readonly string[] = []): string {
  const l = ps.p(limit)
  const branch = (more?: string): string => `SELECT * FROM events e ${ps.whereSql([...(more ? [more] : []), ...extra])} ORDER BY e.seq DESC LIMIT ${l}`
  if (f.organId === undefined) return branch()
  const o = ps.p(f.organId)
  return `SELECT * FROM (SELECT * FROM (${branch(`e.sender = ${o}`)}) s UNION SELECT * FROM (${branch(`e.recipient = ${o}`)}) r) u ORDER BY seq DESC LIMIT ${l}`
}

/** Rows fetched with LIMIT page+1 → the page, mapped, with the next cursor. */
export function pageFrom<T>(rows: Row[], limit: number, kind: string, map: (r: Row) => T): Page<T> {
  const page = pageOf(rows, limit, kind)
  const items = page.rows.map(map)
  return page.next ? { items, next: page.next } : { items }
}
