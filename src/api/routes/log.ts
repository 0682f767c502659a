/**
 * The delivery log for operators and auditors (operator keys only; client keys get 403):
 *
 * - `GET /v1/log`: events newest first, filters (since/until, agency as sender or recipient, direction, state, type,
 *   text `q` in subject or number/notation — case and accent insensitive —, DocumentId, package id), cursor pages.
 * - `GET /v1/log/export.csv`: the same filters, every matching row, streamed page by page (never the whole log in
 *   memory): UTF-8 with a BOM (Excel opens Vietnamese text correctly), a header row, CRLF line ends, every field
 *   quoted per RFC 4180. The columns are the chained columns exactly as stored, `detail` as its canonical JSON text,
 *   plus `prev_hash` and `hash`, so an auditor can recompute every row's hash from the file alone (src/store/README.md,
 *   "Hash chain"). Values are written unchanged (no spreadsheet-formula escaping, which would alter the evidence).
 * - `GET /v1/log/verify`: recompute the chain over the whole log or `fromSeq`..`toSeq` and report the first broken row.
 *   With trust.tsa, the log anchors are checked too (`anchors`; truncation or re-chaining up to an anchored head).
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { resolveStateFilter } from '../../document/delivery.js'
import { stateFilter } from '../state-filter.js'
import { gwError } from '../../errors.js'
import { canonicalJson, type ListEventsFilter, type LogEvent, type Store, type VerifyLogResult } from '../../store/index.js'
import { apiSchemas, ref } from '../schemas.js'

export interface LogRoutesOptions {
  store: Store
  /** Time source for the export file name. */
  clock?: () => Date
  /** With log anchors (trust.tsa): checks the stored anchors after the chain (src/pipeline/log-anchors.ts). */
  anchors?: (chain: VerifyLogResult) => Promise<{ ok: boolean; problems: { seq: number; reason: string }[] }>
}

export interface LogQuery {
  since?: string
  until?: string
  agency?: string
  direction?: 'out' | 'in'
  state?: string
  type?: string
  q?: string
  documentId?: string
  packageId?: string
  cursor?: string
  limit?: number
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 429: ref('Error') }

/** `state=` of the log: the state per direction (an old name: what it meant there, with a Deprecation header). */
function logStateFilter(value: string, direction: 'out' | 'in' | undefined, reply: FastifyReply | undefined): { out?: string; in?: string } {
  const f = reply ? stateFilter(reply, value, direction) : resolveStateFilter(value, direction)
  if (!f) return { out: value, in: value }
  return { ...(f.out ? { out: f.out } : {}), ...(f.in ? { in: f.in } : {}) }
}

/** Query string → store filter (dates checked: `format: date-time` lets through offsets Date cannot hold). */
export function logFilter(q: LogQuery, reply?: FastifyReply): ListEventsFilter {
  const date = (field: string, v: string | undefined): Date | undefined => {
    if (v === undefined) return undefined
    const d = new Date(v)
    if (Number.isNaN(d.getTime())) {
      throw gwError('GW_ERR_API_VALIDATION', { problems: `querystring.${field} is not a date-time`, details: [{ field: `querystring.${field}`, problem: 'is not an ISO-8601 date-time' }] })
    }
    return d
  }
  const since = date('since', q.since)
  const until = date('until', q.until)
  return {
    limit: q.limit ?? 50,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(q.agency !== undefined ? { organId: q.agency.trim().toUpperCase() } : {}),
    ...(q.direction !== undefined ? { direction: q.direction } : {}),
    ...(q.state !== undefined ? { state: logStateFilter(q.state, q.direction, reply) } : {}),
    ...(q.type !== undefined ? { type: q.type } : {}),
    ...(q.q !== undefined && q.q.trim() !== '' ? { text: q.q.trim() } : {}),
    ...(q.documentId !== undefined ? { documentId: q.documentId } : {}),
    ...(q.packageId !== undefined ? { packageId: q.packageId } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  }
}

/** The CSV columns: the chained columns as stored (README "Hash chain" order), then the hashes. */
export const CSV_COLUMNS = [
  'seq',
  'time',
  'direction',
  'type',
  'package_id',
  'delivery_id',
  'document_id',
  'sender',
  'recipient',
  'actor',
  'from_state',
  'state',
  'changed',
  'status_code',
  'cause',
  'detail',
  'prev_hash',
  'hash',
] as const

/**
 * RFC 4180 field: always quoted, `"` doubled; CR/LF kept inside the quotes. A text that a spreadsheet would take
 * for a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return: OWASP "CSV injection") gets a
 * leading `'`, so Excel and LibreOffice show it as text; to re-hash such a row, drop that one `'` (README,
 * "Security"). Numbers are written as they are.
 */
export const csvField = (v: string | number | undefined): string => {
  const text = v === undefined ? '' : typeof v === 'number' ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
  return `"${text.replace(/"/g, '""')}"`
}

export function csvRow(e: LogEvent): string {
  const cells: (string | number | undefined)[] = [
    e.seq,
    e.time,
    e.direction,
    e.type,
    e.packageId,
    e.deliveryId,
    e.documentId,
    e.sender,
    e.recipient,
    e.actor,
    // the names as stored and hashed (a row written before schema 009 keeps its old state names)
    e.storedFromState ?? e.fromState,
    e.storedState ?? e.state,
    e.changed ? 1 : 0,
    e.statusCode,
    e.cause,
    canonicalJson(e.detail),
    e.prevHash,
    e.hash,
  ]
  return cells.map(csvField).join(',') + '\r\n'
}

/** Every event matching `filter`, newest first, as CSV text chunks (one chunk per store page). */
export async function* csvChunks(store: Store, filter: ListEventsFilter, max = Number.POSITIVE_INFINITY): AsyncGenerator<string> {
  yield '\ufeff' + CSV_COLUMNS.map(csvField).join(',') + '\r\n'
  let cursor = filter.cursor
  let left = max
  while (left > 0) {
    const page = await store.listEvents({ ...filter, limit: Math.min(1000, left), ...(cursor !== undefined ? { cursor } : {}) })
    if (page.items.length === 0) break
    left -= page.items.length
    yield page.items.map(csvRow).join('')
    if (!page.next) break
    cursor = page.next
  }
}

/** LogQuery plus `max` (a JSON Schema cannot extend an object with additionalProperties: false). */
function exportQuery(): object {
  const base = apiSchemas().find((s) => s.$id === 'LogQuery') as { properties: Record<string, unknown> } | undefined
  return {
    type: 'object',
    additionalProperties: false,
    properties: { ...(base?.properties ?? {}), max: { type: 'integer', minimum: 1, description: 'At most this many rows.' } },
  }
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')

export async function logRoutes(app: FastifyInstance, opts: LogRoutesOptions): Promise<void> {
  const { store } = opts
  const clock = opts.clock ?? (() => new Date())

  app.get<{ Querystring: LogQuery }>(
    '/v1/log',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'The delivery log, newest first (operator keys)',
        description:
          'Every event of every package and recipient: accepted, queued, delivered, each status, failed with the reason, rejected with the verdict, recalled, replayed or discarded by an operator. Filters combine with AND; `q` is case and accent insensitive.',
        querystring: ref('LogQuery'),
        response: { 200: ref('LogPage'), ...errors },
      },
    },
    async (req, reply) => {
      const page = await store.listEvents(logFilter(req.query, reply))
      return page.next ? { items: page.items, next: page.next } : { items: page.items }
    },
  )

  app.get<{ Querystring: LogQuery & { max?: number } }>(
    '/v1/log/export.csv',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'The delivery log as CSV, streamed (operator keys)',
        description:
          'Same filters as GET /v1/log (`limit` is the page size read from the store; `max` caps the rows). UTF-8 with BOM, RFC 4180 quoting, newest first; columns are the chained columns as stored plus prev_hash and hash, so each row can be re-hashed by an auditor.',
        querystring: exportQuery(),
        produces: ['text/csv'],
        response: { 200: { type: 'string', description: 'CSV (text/csv; charset=utf-8)' }, ...errors },
      },
    },
    async (req, reply) => {
      const { max, ...query } = req.query
      const filter = logFilter(query, reply)
      // fail before the 200 goes out when the cursor or a filter is wrong
      const first = await store.listEvents({ ...filter, limit: 1 })
      void first
      const stream = Readable.from(csvChunks(store, { ...filter, limit: 1000 }, max ?? Number.POSITIVE_INFINITY), { objectMode: false })
      stream.on('error', (e) => req.log.error({ err: e }, 'log export stopped'))
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="lienthong-log-${stamp(clock())}.csv"`)
        .header('cache-control', 'no-store')
        .send(stream)
    },
  )

  app.get<{ Querystring: { fromSeq?: number; toSeq?: number } }>(
    '/v1/log/verify',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Check the log hash chain (operator keys)',
        description:
          'Recomputes every row hash over the whole log, or `fromSeq`..`toSeq`, and reports the first broken row (changed, deleted or re-linked). 200 either way; `ok` tells.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { fromSeq: { type: 'integer', minimum: 1 }, toSeq: { type: 'integer', minimum: 1 } },
        },
        response: { 200: ref('LogVerify'), ...errors },
      },
    },
    async (req) => {
      const { fromSeq, toSeq } = req.query
      if (fromSeq !== undefined && toSeq !== undefined && toSeq < fromSeq) {
        throw gwError('GW_ERR_API_VALIDATION', { problems: 'toSeq must not be below fromSeq', details: [{ field: 'querystring.toSeq', problem: 'must not be below fromSeq' }] })
      }
      const t0 = Date.now()
      const chain = await store.verifyLog({ ...(fromSeq !== undefined ? { fromSeq } : {}), ...(toSeq !== undefined ? { toSeq } : {}) })
      // anchors speak where the chain itself is intact: truncation or re-chaining up to an anchored head
      const anchors = opts.anchors ? await opts.anchors(chain) : undefined
      const r = chain.ok && anchors && !anchors.ok && anchors.problems[0] ? { ...chain, ok: false, firstBroken: anchors.problems[0] } : chain
      const out = { ...r, ...(fromSeq !== undefined ? { fromSeq } : {}), ...(toSeq !== undefined ? { toSeq } : {}), ...(anchors ? { anchors } : {}), durationMs: Date.now() - t0 }
      if (!r.ok) req.log.warn({ firstBroken: r.firstBroken }, 'delivery log hash chain is broken')
      return out
    },
  )
}
