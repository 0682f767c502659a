/**
 * The Store on PostgreSQL (15 or later), for several gateway processes sharing one database.
 *
 * - One `pg` pool. Writes are group-committed (see `tx`): one READ COMMITTED transaction per batch, a savepoint
 *   per write, one commit (one WAL flush) for the batch.
 * - The event log's order is decided by a single-row `log_head` table that every write transaction locks FOR
 *   UPDATE first: writers (several gateway processes included) chain one after the other with no gaps in seq,
 *   and since the head is always the first lock taken there is no lock cycle.
 * - Idempotency keys are claimed first with INSERT ... ON CONFLICT DO NOTHING: a concurrent request with the same
 *   key waits for the first to commit and then replays its result (the foreign key to the package is deferred).
 * - Optionally confined to one schema (`schema`), created if missing; migrations run under an advisory lock.
 */
import pg from 'pg'
import { newId } from './ids.js'
import type { DeliveryState, IncomingState } from '../document/delivery.js'
import { GatewayError, gwError } from '../errors.js'
import { decodeCursor, pageLimit } from './cursor.js'
import { CHAIN_COLUMNS, ChainVerifier, GENESIS_HASH, canonicalJson, chainRow, type ChainRow, type EventFields } from './hash-chain.js'
import { LATEST_VERSION, MIGRATIONS } from './migrations/index.js'
import {
  deliveryFromRow,
  deliveryWithPackageFromRow,
  eventFromRow,
  incomingFromRow,
  iso,
  packageFromRow,
  pageOf,
  pendingFromRow,
  timelineFromRow,
} from './rows.js'
import { likePattern, searchText, TEXT_SCAN_WINDOW } from './search.js'
import type { StoreLogger } from './sqlite-store.js'
import { incomingMoves, outgoingMoves } from './state-machine.js'
import type { Store } from './store.js'
import type {
  AppendEventInput,
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
  RecordIncomingInput,
  RecordIncomingResult,
  RecordOutgoingInput,
  RecordOutgoingResult,
  StoreStats,
  StoredIncoming,
  StoredPackage,
  TimelineEntry,
  TransitionOptions,
  TransitionResult,
  VerifyLogOptions,
  VerifyLogResult,
} from './types.js'

export interface PgStoreOptions {
  /** Schema to use (created if missing); default: the connection's search_path (usually `public`). */
  schema?: string
  logger?: StoreLogger
  /** Pool size (default 10). */
  max?: number
  /** Connection timeout in ms (default 5000). */
  connectTimeoutMs?: number
  /** Tuning: newest events a text search checks one by one before scanning the packages (default 5,000). */
  textScanWindow?: number
}

type Row = Record<string, unknown>
type Client = pg.PoolClient

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v)
const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))

/** SQLSTATE classes and codes that mean "try again later". */
const TRANSIENT_SQLSTATE = /^(08|53|57P|58|40001|40P01|55P03)/
const TRANSIENT_NODE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/

/** Map a pg error to the catalogue; GatewayErrors pass through. */
export function mapPgError(e: unknown, op: string): unknown {
  if (e instanceof GatewayError) return e
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : ''
  const message = e instanceof Error ? e.message : String(e)
  if (code.startsWith('23')) return gwError('GW_ERR_STORE_CONFLICT', { reason: `${op}: ${message}` }, e)
  if (code === 'XX001' || code === 'XX002') return gwError('GW_ERR_STORE_CORRUPT', { reason: `${op}: ${message}` }, e)
  if (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE.test(code)) {
    return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: ${code} ${message}` }, e)
  }
  if (/Connection terminated|after calling end on the pool|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: ${message}` }, e)
  }
  return e
}

const ident = (s: string): string => '"' + s.replace(/"/g, '""') + '"'

/** Open (creating the schema and migrating if needed) the PostgreSQL store at `url`. */
export async function openPgStore(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    ...(opts.schema ? { options: `-c search_path=${ident(opts.schema)}` } : {}),
  })
  // an idle client losing its connection must not crash the process; the next query reports it
  pool.on('error', (e) => opts.logger?.warn({ store: 'pg', err: e.message }, 'idle PostgreSQL connection lost'))
  try {
    const c = await pool.connect()
    c.on('error', () => {}) // a connection lost here fails the next query, which is reported below
    try {
      await c.query('BEGIN')
      await c.query("SELECT pg_advisory_xact_lock(hashtext('lienthong-migrate'))")
      if (opts.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(opts.schema)}`)
      await c.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
      const cur = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_version')).rows[0].v)
      if (cur > LATEST_VERSION) throw gwError('GW_ERR_STORE_SCHEMA', { found: cur, supported: LATEST_VERSION })
      await c.query('COMMIT')
      for (const m of MIGRATIONS) {
        if (m.version <= cur) continue
        await c.query('BEGIN')
        await c.query("SELECT pg_advisory_xact_lock(hashtext('lienthong-migrate'))")
        const v = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_version')).rows[0].v)
        if (v >= m.version) {
          await c.query('COMMIT')
          continue
        }
        await c.query(m.pg)
        await c.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, iso()])
        await c.query('COMMIT')
        opts.logger?.info({ store: 'pg', version: m.version, migration: m.name }, 'store migration applied')
      }
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      c.release()
    }
  } catch (e) {
    await pool.end().catch(() => {})
    throw mapPgError(e, 'open PostgreSQL store')
  }
  return new PgStore(pool, opts.textScanWindow ?? TEXT_SCAN_WINDOW)
}

const PACKAGE_COLS =
  'seq, id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, created_at'
const INCOMING_COLS =
  'seq, id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, state, reason, related_id, received_at, updated_at, fetched_at'
const PENDING_SELECT = `SELECT d.id, d.seq, d.package_id, d.recipient, d.priority, d.attempts, d.created_at, p.kind, p.document_id, p.sender, p.sha256, b.bytes, b.signature
  FROM deliveries d JOIN packages p ON p.id = d.package_id JOIN package_bytes b ON b.package_id = d.package_id`

interface QueuedWrite {
  op: string
  fn: (c: Client) => Promise<unknown>
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

/** Upper bound of writes per group commit. */
const MAX_BATCH = 256

/** Collects parameters for a dynamic query: `p(v)` returns its `$n`. */
class Params {
  readonly values: unknown[] = []
  /** Conditions collected by `add`, to be joined with AND. */
  readonly where: string[] = []
  p(v: unknown): string {
    this.values.push(v)
    return `$${this.values.length}`
  }
  /** Keeps the condition (built around the value's placeholder) only when the value is given. */
  add(v: unknown, cond: (x: string) => string): void {
    if (v !== undefined) this.where.push(cond(this.p(v)))
  }
}

/** `INSERT INTO events ... SELECT FROM unnest(...)` for chained rows, parameters collected in `ps`. */
function eventsInsert(ps: Params, rows: (ChainRow & { hash: string })[], where = ''): string {
  const col = <K extends keyof ChainRow | 'hash'>(k: K, type: string): string => `${ps.p(rows.map((r) => r[k]))}::${type}[]`
  return `INSERT INTO events (seq, time, direction, type, package_id, delivery_id, document_id, sender, recipient, actor, from_state, state, changed, status_code, cause, detail, prev_hash, hash)
    SELECT * FROM unnest(${col('seq', 'bigint')}, ${col('time', 'text')}, ${col('direction', 'text')}, ${col('type', 'text')}, ${col('package_id', 'text')},
      ${col('delivery_id', 'text')}, ${col('document_id', 'text')}, ${col('sender', 'text')}, ${col('recipient', 'text')}, ${col('actor', 'text')},
      ${col('from_state', 'text')}, ${col('state', 'text')}, ${col('changed', 'int')}, ${col('status_code', 'text')}, ${col('cause', 'text')},
      ${col('detail', 'text')}, ${col('prev_hash', 'text')}, ${col('hash', 'text')}) ${where}`
}

export class PgStore implements Store {
  private closed = false
  private readonly queue: QueuedWrite[] = []
  private flushing = false
  /** The chain head while a write batch holds the log_head lock. */
  private head: { seq: number; hash: string } | undefined

  constructor(
    private readonly pool: pg.Pool,
    private readonly textScanWindow: number = TEXT_SCAN_WINDOW,
  ) {}

  private async run<T>(op: string, fn: (q: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool)
    } catch (e) {
      throw mapPgError(e, op)
    }
  }

  /**
   * Group commit, as in the SQLite store: writes queue up and run in batches, one transaction per batch, each
   * write inside its own savepoint (a failing write rolls back only itself), every promise settled after the
   * COMMIT. The transaction takes the chain-head lock first, before any row lock, so batches of several gateway
   * processes serialise on it and can never deadlock; the head is then kept in memory for the batch and written
   * back once. One batch at a time per store; writes that arrive meanwhile form the next batch.
   */
  private tx<T>(op: string, fn: (c: Client) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, fn, resolve: resolve as (v: unknown) => void, reject })
      if (!this.flushing) void this.flushAll()
    })
  }

  private async flushAll(): Promise<void> {
    this.flushing = true
    try {
      // let the writes requested in this turn of the event loop join the first batch
      await new Promise<void>((r) => setImmediate(r))
      while (this.queue.length) await this.flushBatch(this.queue.splice(0, MAX_BATCH))
    } finally {
      this.flushing = false
    }
  }

  private async flushBatch(batch: QueuedWrite[]): Promise<void> {
    let c: Client
    try {
      c = await this.pool.connect()
    } catch (e) {
      for (const w of batch) w.reject(mapPgError(e, w.op))
      return
    }
    const outcomes: { ok: boolean; value: unknown }[] = []
    let broken: unknown
    // a checked-out client whose connection dies between queries emits 'error': without a listener that would be
    // an uncaught exception (a PostgreSQL restart must not crash the gateway); the next query fails anyway
    const onError = (e: Error): void => {
      broken ??= e
    }
    c.on('error', onError)
    try {
      await c.query('BEGIN')
      const h = (await c.query('SELECT seq, hash FROM log_head WHERE id = 1 FOR UPDATE')).rows[0] as { seq: string; hash: string }
      const start = { seq: Number(h.seq), hash: h.hash }
      const head = { ...start }
      this.head = head
      for (const w of batch) {
        const saved = { ...head }
        await c.query('SAVEPOINT w')
        try {
          const value = await w.fn(c)
          await c.query('RELEASE SAVEPOINT w')
          outcomes.push({ ok: true, value })
        } catch (e) {
          await c.query('ROLLBACK TO SAVEPOINT w')
          await c.query('RELEASE SAVEPOINT w')
          head.seq = saved.seq
          head.hash = saved.hash
          outcomes.push({ ok: false, value: mapPgError(e, w.op) })
        }
      }
      if (head.seq !== start.seq) await c.query('UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1', [head.seq, head.hash])
      await c.query('COMMIT')
    } catch (e) {
      broken = e
      await c.query('ROLLBACK').catch(() => {})
    } finally {
      this.head = undefined
      c.off('error', onError)
      // a connection that failed is discarded, not returned to the pool
      c.release(broken instanceof Error ? broken : undefined)
    }
    if (broken !== undefined) {
      for (const w of batch) w.reject(mapPgError(broken, w.op))
      return
    }
    batch.forEach((w, i) => {
      const o = outcomes[i]!
      if (o.ok) w.resolve(o.value)
      else w.reject(o.value)
    })
  }

  /** Give events their place after the batch's chain head (only inside flushBatch; a failed write restores it). */
  private chain(fs: EventFields[]): (ChainRow & { hash: string })[] {
    const head = this.head
    if (!head) throw gwError('GW_ERR_STORE_UNAVAILABLE', { reason: 'event appended outside a write batch' })
    return fs.map((f) => {
      const r = chainRow(head.seq + 1, head.hash, f)
      head.seq = r.seq
      head.hash = r.hash
      return r
    })
  }

  /** Append events in order after the batch's chain head. */
  private async append(c: Client, fs: EventFields[]): Promise<LogEvent[]> {
    if (!fs.length) return []
    const rows = this.chain(fs)
    const ps = new Params()
    await c.query(eventsInsert(ps, rows), ps.values)
    return rows.map((r) => eventFromRow(r as unknown as Row))
  }

  // ---- send path ----------------------------------------------------------------------------------------

  recordOutgoing(input: RecordOutgoingInput): Promise<RecordOutgoingResult> {
    return this.tx('recordOutgoing', async (c) => this.outgoingTx(c, input))
  }

  private async outgoingTx(c: Client, input: RecordOutgoingInput): Promise<RecordOutgoingResult> {
    const pkg = input.package
    const idem = input.idempotency
    const at = iso(input.at)
    if (idem) {
      const claimed = await c.query(
        'INSERT INTO idempotency_keys (client_id, key, request_hash, package_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING key',
        [idem.clientId, idem.key, idem.requestHash, pkg.id, at],
      )
      if (claimed.rowCount === 0) {
        const ex = (await c.query('SELECT request_hash, package_id FROM idempotency_keys WHERE client_id = $1 AND key = $2', [idem.clientId, idem.key])).rows[0] as Row
        if (ex.request_hash !== idem.requestHash) throw gwError('GW_ERR_API_IDEMPOTENCY_CONFLICT', { key: idem.key })
        const p = (await c.query(`SELECT ${PACKAGE_COLS} FROM packages WHERE id = $1`, [ex.package_id])).rows[0] as Row
        const ds = (await c.query('SELECT * FROM deliveries WHERE package_id = $1 ORDER BY seq', [ex.package_id])).rows as Row[]
        return { package: packageFromRow(p), deliveries: ds.map(deliveryFromRow), replayed: true }
      }
    }
    const row = {
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
      created_at: at,
    }
    const deliveries: Delivery[] = []
    const events: EventFields[] = []
    for (const recipient of new Set(input.recipients)) {
      const id = newId()
      events.push({
        time: at,
        direction: 'out',
        type: 'state',
        package_id: pkg.id,
        delivery_id: id,
        document_id: pkg.documentId,
        sender: pkg.senderOrganId,
        recipient,
        actor: input.actor,
        state: 'accepted',
        changed: true,
        status_code: orNull(pkg.statusCode),
        cause: 'signed and stored',
        detail: { kind: pkg.kind, sha256: pkg.sha256, size: row.size, priority: row.priority },
      })
      deliveries.push({ id, packageId: pkg.id, recipient, state: 'accepted', attempts: 0, createdAt: at, updatedAt: at })
    }
    // one round trip: package, bytes, deliveries and their events (nothing if the package id exists)
    const ps = new Params()
    const v = (x: unknown): string => ps.p(x)
    const sql = `WITH p AS (
        INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, search, created_at)
        VALUES (${[row.id, row.kind, row.document_id, row.sender, row.client_id, row.sha256, row.size, row.priority, row.subject, row.code_number, row.code_notation, row.promulgation_date, row.status_code, row.metadata, searchText(pkg), at].map(v).join(', ')})
        ON CONFLICT (id) DO NOTHING RETURNING id),
      b AS (INSERT INTO package_bytes (package_id, bytes, signature) SELECT id, ${v(buf(pkg.bytes))}::bytea, ${v(buf(pkg.signature))}::bytea FROM p),
      d AS (INSERT INTO deliveries (id, package_id, recipient, priority, state, attempts, created_at, updated_at)
        SELECT u.id, p.id, u.recipient, ${v(row.priority)}::int, 'accepted', 0, ${v(at)}::text, ${v(at)}::text
        FROM p, unnest(${v(deliveries.map((d) => d.id))}::text[], ${v(deliveries.map((d) => d.recipient))}::text[]) AS u (id, recipient)),
      e AS (${eventsInsert(ps, this.chain(events), 'WHERE EXISTS (SELECT 1 FROM p)')})
      SELECT count(*)::int AS n FROM p`
    const ins = await c.query(sql, ps.values)
    if (ins.rows[0].n === 0) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `package ${pkg.id} is already stored` })
    const it = input.incomingTransition
    if (it) return { package: packageFromRow(row), deliveries, replayed: false, incomingTransition: await this.incomingMove(c, it.incomingId, it.toState, it.options) }
    return { package: packageFromRow(row), deliveries, replayed: false }
  }

  findIdempotent(clientId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.run('findIdempotent', async (q) => {
      const r = (await q.query('SELECT client_id, key, request_hash, package_id, created_at FROM idempotency_keys WHERE client_id = $1 AND key = $2', [clientId, key])).rows[0] as Row | undefined
      if (!r) return undefined
      return { clientId: String(r.client_id), key: String(r.key), requestHash: String(r.request_hash), packageId: String(r.package_id), createdAt: String(r.created_at) }
    })
  }

  pendingDeliveries(opts: { limit: number; afterId?: string }): Promise<PendingDelivery[]> {
    return this.run('pendingDeliveries', async (q) => {
      const limit = Math.max(1, Math.trunc(opts.limit) || 1)
      let rows: Row[]
      if (opts.afterId !== undefined) {
        const ref = (await q.query('SELECT priority, seq FROM deliveries WHERE id = $1', [opts.afterId])).rows[0] as Row | undefined
        if (!ref) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: opts.afterId })
        rows = (
          await q.query(
            `${PENDING_SELECT} WHERE d.state = 'accepted' AND (d.priority < $1 OR (d.priority = $1 AND d.seq > $2)) ORDER BY d.priority DESC, d.seq LIMIT $3`,
            [ref.priority, ref.seq, limit],
          )
        ).rows
      } else {
        rows = (await q.query(`${PENDING_SELECT} WHERE d.state = 'accepted' ORDER BY d.priority DESC, d.seq LIMIT $1`, [limit])).rows
      }
      return rows.map(pendingFromRow)
    })
  }

  private async move(c: Client, deliveryId: string, to: DeliveryState, o: TransitionOptions): Promise<TransitionResult> {
    const d = (
      await c.query(
        'SELECT d.state, d.package_id, d.recipient, p.document_id, p.sender FROM deliveries d JOIN packages p ON p.id = d.package_id WHERE d.id = $1 FOR UPDATE OF d',
        [deliveryId],
      )
    ).rows[0] as Row | undefined
    if (!d) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: deliveryId })
    const from = d.state as DeliveryState
    const changed = outgoingMoves(from, to)
    const at = iso(o.at)
    if (changed) {
      await c.query(
        `UPDATE deliveries SET state = $2, status_code = coalesce($3, status_code), reason = $4, updated_at = $5,
           queued_at = CASE WHEN $2 = 'queued' THEN coalesce(queued_at, $5) ELSE queued_at END
         WHERE id = $1`,
        [deliveryId, to, orNull(o.statusCode), orNull(o.reason), at],
      )
    }
    const [ev] = await this.append(c, [
      {
        time: at,
        direction: 'out',
        type: o.type ?? (o.statusCode ? 'status' : 'state'),
        package_id: String(d.package_id),
        delivery_id: deliveryId,
        document_id: String(d.document_id),
        sender: String(d.sender),
        recipient: String(d.recipient),
        actor: o.actor,
        from_state: from,
        state: to,
        changed,
        status_code: orNull(o.statusCode),
        cause: o.cause,
        detail: { ...(o.detail ?? {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) },
      },
    ])
    return { changed, from, state: changed ? to : from, seq: ev!.seq }
  }

  transition(deliveryId: string, toState: DeliveryState, opts: TransitionOptions): Promise<TransitionResult> {
    return this.tx('transition', (c) => this.move(c, deliveryId, toState, opts))
  }

  markQueued(deliveryId: string, at?: Date): Promise<boolean> {
    return this.tx('markQueued', async (c) => (await this.move(c, deliveryId, 'queued', queuedOpts(at))).changed)
  }

  markQueuedMany(deliveryIds: readonly string[], at?: Date): Promise<number> {
    return this.tx('markQueuedMany', async (c) => {
      // row locks first, in a fixed order, and only then the chain head (as every other write): no deadlock
      await c.query('SELECT id FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[...deliveryIds]])
      let n = 0
      for (const id of deliveryIds) if ((await this.move(c, id, 'queued', queuedOpts(at))).changed) n++
      return n
    })
  }

  markFailed(deliveryId: string, reason: string, actor: string, at?: Date): Promise<boolean> {
    return this.tx('markFailed', async (c) => (await this.move(c, deliveryId, 'failed', { cause: 'publish failed', reason, actor, ...(at ? { at } : {}) })).changed)
  }

  countAttempt(deliveryId: string): Promise<void> {
    return this.run('countAttempt', async (q) => {
      await q.query('UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1', [deliveryId])
    })
  }

  // ---- reads --------------------------------------------------------------------------------------------

  getPackage(id: string): Promise<StoredPackage | undefined> {
    return this.run('getPackage', async (q) => {
      const r = (await q.query(`SELECT ${PACKAGE_COLS} FROM packages WHERE id = $1`, [id])).rows[0] as Row | undefined
      return r ? packageFromRow(r) : undefined
    })
  }

  getPackageBytes(id: string): Promise<PackageBytes | undefined> {
    return this.run('getPackageBytes', async (q) => {
      const r = (await q.query('SELECT bytes, signature FROM package_bytes WHERE package_id = $1', [id])).rows[0] as { bytes: Buffer; signature: Buffer } | undefined
      return r ? { bytes: r.bytes, signature: r.signature } : undefined
    })
  }

  listPackages(f: ListPackagesFilter): Promise<Page<PackageWithDeliveries>> {
    return this.run('listPackages', async (q) => {
      const ps = new Params()
      const { where } = ps
      const add = ps.add.bind(ps)
      add(f.senderOrganId, (x) => `p.sender = ${x}`)
      add(f.clientId, (x) => `p.client_id = ${x}`)
      add(f.kind, (x) => `p.kind = ${x}`)
      add(f.documentId, (x) => `p.document_id = ${x}`)
      add(f.since?.toISOString(), (x) => `p.created_at >= ${x}`)
      add(f.until?.toISOString(), (x) => `p.created_at < ${x}`)
      add(f.state, (x) => `EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.state = ${x})`)
      add(f.recipient, (x) => `EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.recipient = ${x})`)
      add(f.cursor === undefined ? undefined : decodeCursor('p', f.cursor), (x) => `p.seq < ${x}`)
      const limit = pageLimit(f.limit) + 1
      const sql = `SELECT ${PACKAGE_COLS} FROM packages p ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY p.seq DESC LIMIT ${ps.p(limit)}`
      const page = pageOf((await q.query(sql, ps.values)).rows, limit, 'p')
      const byPkg = new Map<string, Delivery[]>()
      if (page.rows.length) {
        const ds = (await q.query('SELECT * FROM deliveries WHERE package_id = ANY($1::text[]) ORDER BY seq', [page.rows.map((r) => String(r.id))])).rows as Row[]
        for (const r of ds) {
          const d = deliveryFromRow(r)
          const list = byPkg.get(d.packageId)
          if (list) list.push(d)
          else byPkg.set(d.packageId, [d])
        }
      }
      const items = page.rows.map((r) => ({ ...packageFromRow(r), deliveries: byPkg.get(String(r.id)) ?? [] }))
      return page.next ? { items, next: page.next } : { items }
    })
  }

  getDeliveries(packageId: string): Promise<Delivery[]> {
    return this.run('getDeliveries', async (q) => (await q.query('SELECT * FROM deliveries WHERE package_id = $1 ORDER BY seq', [packageId])).rows.map(deliveryFromRow))
  }

  getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    return this.run('getDelivery', async (q) => {
      const r = (await q.query('SELECT * FROM deliveries WHERE id = $1', [deliveryId])).rows[0] as Row | undefined
      return r ? deliveryFromRow(r) : undefined
    })
  }

  findDelivery(qry: FindDeliveryQuery): Promise<Delivery | undefined> {
    return this.run('findDelivery', async (q) => {
      let r: Row | undefined
      if (qry.documentId) {
        r = (
          await q.query(
            `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
             WHERE p.sender = $1 AND p.document_id = $2 AND p.kind = 'edoc' AND d.recipient = $3 ORDER BY p.seq DESC LIMIT 1`,
            [qry.senderOrganId, qry.documentId, qry.recipient],
          )
        ).rows[0]
      }
      if (!r && qry.codeNumber) {
        r = (
          await q.query(
            `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
             WHERE p.sender = $1 AND p.code_number = $2 AND p.code_notation IS NOT DISTINCT FROM $3::text AND p.kind = 'edoc'
               AND ($4::text IS NULL OR p.promulgation_date = $4::text) AND d.recipient = $5
             ORDER BY p.seq DESC LIMIT 1`,
            [qry.senderOrganId, qry.codeNumber, orNull(qry.codeNotation), orNull(qry.promulgationDate), qry.recipient],
          )
        ).rows[0]
      }
      return r ? deliveryFromRow(r) : undefined
    })
  }

  timeline(deliveryId: string): Promise<TimelineEntry[]> {
    return this.run('timeline', async (q) => (await q.query('SELECT * FROM events WHERE delivery_id = $1 ORDER BY seq', [deliveryId])).rows.map(timelineFromRow))
  }

  listDeliveries(f: ListDeliveriesFilter): Promise<Page<DeliveryWithPackage>> {
    return this.run('listDeliveries', async (q) => {
      const ps = new Params()
      const { where } = ps
      const add = ps.add.bind(ps)
      add(f.state === undefined ? undefined : Array.isArray(f.state) ? f.state : [f.state], (x) => `d.state = ANY(${x}::text[])`)
      add(f.recipient, (x) => `d.recipient = ${x}`)
      add(f.senderOrganId, (x) => `p.sender = ${x}`)
      add(f.kind, (x) => `p.kind = ${x}`)
      add(f.queuedBefore?.toISOString(), (x) => `d.queued_at < ${x}`)
      add(f.updatedBefore?.toISOString(), (x) => `d.updated_at < ${x}`)
      add(f.cursor === undefined ? undefined : decodeCursor('d', f.cursor), (x) => `d.seq < ${x}`)
      const limit = pageLimit(f.limit) + 1
      const sql = `SELECT d.*, p.kind, p.document_id, p.sender, p.subject, p.code_number, p.code_notation
        FROM deliveries d JOIN packages p ON p.id = d.package_id ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY d.seq DESC LIMIT ${ps.p(limit)}`
      const page = pageOf((await q.query(sql, ps.values)).rows, limit, 'd')
      const items = page.rows.map(deliveryWithPackageFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  // ---- event log ----------------------------------------------------------------------------------------

  appendEvent(e: AppendEventInput): Promise<LogEvent> {
    return this.tx('appendEvent', async (c) => {
      const [ev] = await this.append(c, [
        {
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
        },
      ])
      return ev!
    })
  }

  /** Log pages, newest first; agency and text filters as in the SQLite store (two phases for text). */
  listEvents(f: ListEventsFilter): Promise<Page<LogEvent>> {
    return this.run('listEvents', async (q) => {
      const limit = pageLimit(f.limit) + 1
      const before = f.cursor === undefined ? undefined : decodeCursor('e', f.cursor)
      const query = (lim: number, extra: (ps: Params) => string[]): { sql: string; values: unknown[] } => {
        const ps = new Params()
        const { where } = ps
        const add = ps.add.bind(ps)
        add(f.since?.toISOString(), (x) => `e.time >= ${x}`)
        add(f.until?.toISOString(), (x) => `e.time < ${x}`)
        add(f.direction, (x) => `e.direction = ${x}`)
        add(f.state, (x) => `e.state = ${x}`)
        add(f.type, (x) => `e.type = ${x}`)
        add(f.documentId, (x) => `e.document_id = ${x}`)
        add(f.packageId, (x) => `e.package_id = ${x}`)
        add(before, (x) => `e.seq < ${x}`)
        where.push(...extra(ps))
        const l = ps.p(lim)
        const branch = (more?: string): string => {
          const w = [...(more ? [more] : []), ...where]
          return `SELECT * FROM events e ${w.length ? 'WHERE ' + w.join(' AND ') : ''} ORDER BY e.seq DESC LIMIT ${l}`
        }
        if (f.organId === undefined) return { sql: branch(), values: ps.values }
        const o = ps.p(f.organId)
        return { sql: `SELECT * FROM ((${branch(`e.sender = ${o}`)}) UNION (${branch(`e.recipient = ${o}`)})) u ORDER BY seq DESC LIMIT ${l}`, values: ps.values }
      }
      let rows: Row[]
      if (f.text === undefined) {
        const { sql, values } = query(limit, () => [])
        rows = (await q.query(sql, values)).rows
      } else {
        const like = likePattern(f.text)
        const top = before ?? Number((await q.query('SELECT seq FROM log_head WHERE id = 1')).rows[0].seq) + 1
        const low = Math.max(0, top - this.textScanWindow)
        const first = query(limit, (ps) => {
          const x = ps.p(like)
          return [
            `e.seq >= ${ps.p(low)}`,
            `(EXISTS (SELECT 1 FROM packages tp WHERE tp.id = e.package_id AND tp.search LIKE ${x}) OR EXISTS (SELECT 1 FROM incoming ti WHERE ti.id = e.package_id AND ti.search LIKE ${x}))`,
          ]
        })
        rows = (await q.query(first.sql, first.values)).rows
        if (rows.length < limit && low > 0) {
          const rest = query(limit - rows.length, (ps) => {
            const x = ps.p(like)
            return [`e.seq < ${ps.p(low)}`, `e.package_id IN (SELECT id FROM packages WHERE search LIKE ${x} UNION ALL SELECT id FROM incoming WHERE search LIKE ${x})`]
          })
          rows = rows.concat((await q.query(rest.sql, rest.values)).rows)
        }
      }
      const page = pageOf(rows, limit, 'e')
      const items = page.rows.map(eventFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  async verifyLog(opts: VerifyLogOptions = {}): Promise<VerifyLogResult> {
    const from = Math.max(1, Math.trunc(opts.fromSeq ?? 1))
    const to = Math.trunc(opts.toSeq ?? Number.MAX_SAFE_INTEGER)
    return this.run('verifyLog', async (q) => {
      const anchor = (await q.query('SELECT seq, hash FROM events WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [from])).rows[0] as Row | undefined
      const v = new ChainVerifier(anchor ? { seq: Number(anchor.seq), hash: String(anchor.hash) } : undefined)
      let next = from
      for (;;) {
        const rows = (await q.query({ text: `SELECT ${CHAIN_COLUMNS} FROM events WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 2000`, values: [next, to], rowMode: 'array' })).rows as unknown[][]
        for (const r of rows) if (!v.pushRaw(r)) return v.result()
        if (rows.length < 2000) break
        next = Number(rows[rows.length - 1]![0]) + 1
      }
      const res = v.result()
      // PostgreSQL keeps the head apart from the rows, so rows removed at the end of the log show too
      if (opts.toSeq === undefined) {
        const head = (await q.query('SELECT seq, hash FROM log_head WHERE id = 1')).rows[0] as Row
        const headSeq = Number(head.seq)
        if (headSeq > (res.lastSeq ?? 0)) {
          return { ...res, ok: false, firstBroken: { seq: (res.lastSeq ?? 0) + 1, reason: `row ${(res.lastSeq ?? 0) + 1}..${headSeq} missing (deleted): the log head is seq ${headSeq}` } }
        }
        if (headSeq === (res.lastSeq ?? 0) && String(head.hash) !== (res.lastHash ?? GENESIS_HASH)) {
          return { ...res, ok: false, firstBroken: { seq: headSeq, reason: 'the last row does not match the log head hash' } }
        }
      }
      return res
    })
  }

  // ---- receive path -------------------------------------------------------------------------------------

  recordIncoming(input: RecordIncomingInput): Promise<RecordIncomingResult> {
    return this.tx('recordIncoming', async (c) => this.incomingTx(c, input))
  }

  private async incomingTx(c: Client, input: RecordIncomingInput): Promise<RecordIncomingResult> {
    const p = input.package
    const at = iso(input.at)
    const sender = orNull(p.senderOrganId)
    const documentId = orNull(p.documentId)
    const recipient = orNull(p.recipient)
    const size = p.bytes.byteLength
    const statusCode = orNull(p.statusCode)
    const ins = await c.query(
      `INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, search, state, reason, related_id, received_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
       ON CONFLICT (sender, document_id, sha256, recipient) DO NOTHING RETURNING ${INCOMING_COLS}`,
      [
        p.id, p.kind, documentId, sender, recipient, orNull(p.messageId), p.sha256, size, Math.trunc(p.priority ?? 0) || 0,
        orNull(p.subject), orNull(p.codeNumber), orNull(p.codeNotation), orNull(p.promulgationDate), statusCode,
        JSON.stringify(p.metadata ?? {}), canonicalJson(p.verdict ?? {}), searchText(p), input.state, orNull(input.reason), orNull(p.relatedId), at,
      ],
    )
    if (ins.rowCount === 0) {
      const ex = (
        await c.query(
          `SELECT ${INCOMING_COLS} FROM incoming WHERE sha256 = $1 AND sender IS NOT DISTINCT FROM $2::text AND document_id IS NOT DISTINCT FROM $3::text AND recipient IS NOT DISTINCT FROM $4::text`,
          [p.sha256, sender, documentId, recipient],
        )
      ).rows[0] as Row
      return { incoming: incomingFromRow(ex), duplicate: true }
    }
    await c.query('INSERT INTO incoming_bytes (incoming_id, bytes, signature) VALUES ($1, $2, $3)', [p.id, buf(p.bytes), p.signature ? buf(p.signature) : null])
    await this.append(c, [
      {
        time: at,
        direction: 'in',
        type: 'state',
        package_id: p.id,
        document_id: documentId,
        sender,
        recipient,
        actor: input.actor,
        state: input.state,
        changed: true,
        status_code: statusCode,
        cause: input.state === 'received' ? 'verified and stored' : (input.reason ?? 'rejected'),
        detail: {
          kind: p.kind,
          sha256: p.sha256,
          size,
          ...(p.messageId ? { messageId: p.messageId } : {}),
          ...(typeof p.verdict?.code === 'string' ? { verdict: p.verdict.code } : {}),
        },
      },
    ])
    const reply = input.reply ? await this.outgoingTx(c, input.reply) : undefined
    const applied = input.apply ? await this.move(c, input.apply.deliveryId, input.apply.toState, input.apply.options) : undefined
    return { incoming: incomingFromRow(ins.rows[0] as Row), duplicate: false, ...(reply ? { reply } : {}), ...(applied ? { applied } : {}) }
  }

  getIncoming(id: string): Promise<StoredIncoming | undefined> {
    return this.run('getIncoming', async (q) => {
      const r = (await q.query(`SELECT ${INCOMING_COLS} FROM incoming WHERE id = $1`, [id])).rows[0] as Row | undefined
      return r ? incomingFromRow(r) : undefined
    })
  }

  getIncomingBytes(id: string): Promise<{ bytes: Uint8Array; signature?: Uint8Array } | undefined> {
    return this.run('getIncomingBytes', async (q) => {
      const r = (await q.query('SELECT bytes, signature FROM incoming_bytes WHERE incoming_id = $1', [id])).rows[0] as { bytes: Buffer; signature: Buffer | null } | undefined
      if (!r) return undefined
      return r.signature ? { bytes: r.bytes, signature: r.signature } : { bytes: r.bytes }
    })
  }

  findIncomingByDocument(senderOrganId: string, documentId: string): Promise<StoredIncoming[]> {
    return this.run('findIncomingByDocument', async (q) =>
      (await q.query(`SELECT ${INCOMING_COLS} FROM incoming WHERE sender = $1 AND document_id = $2 ORDER BY seq`, [senderOrganId, documentId])).rows.map(incomingFromRow),
    )
  }

  listIncoming(f: ListIncomingFilter): Promise<Page<StoredIncoming>> {
    return this.run('listIncoming', async (q) => {
      const ps = new Params()
      const { where } = ps
      const add = ps.add.bind(ps)
      add(f.recipient, (x) => `recipient = ${x}`)
      add(f.senderOrganId, (x) => `sender = ${x}`)
      add(f.kind, (x) => `kind = ${x}`)
      add(f.state, (x) => `state = ${x}`)
      add(f.documentId, (x) => `document_id = ${x}`)
      add(f.since?.toISOString(), (x) => `received_at >= ${x}`)
      add(f.until?.toISOString(), (x) => `received_at < ${x}`)
      add(f.cursor === undefined ? undefined : decodeCursor('i', f.cursor), (x) => `seq < ${x}`)
      const limit = pageLimit(f.limit) + 1
      const sql = `SELECT ${INCOMING_COLS} FROM incoming ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ${ps.p(limit)}`
      const page = pageOf((await q.query(sql, ps.values)).rows, limit, 'i')
      const items = page.rows.map(incomingFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  transitionIncoming(id: string, to: IncomingState, o: TransitionOptions): Promise<IncomingTransitionResult> {
    return this.tx('transitionIncoming', (c) => this.incomingMove(c, id, to, o))
  }

  /** Move an incoming package (recorded as an event either way). Call only inside a write batch. */
  private async incomingMove(c: Client, id: string, to: IncomingState, o: TransitionOptions): Promise<IncomingTransitionResult> {
    {
      const r = (await c.query(`SELECT ${INCOMING_COLS} FROM incoming WHERE id = $1 FOR UPDATE`, [id])).rows[0] as Row | undefined
      if (!r) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'incoming package', id })
      const from = r.state as IncomingState
      const changed = incomingMoves(from, to)
      const at = iso(o.at)
      if (changed) {
        await c.query(
          `UPDATE incoming SET state = $2, status_code = coalesce($3, status_code), reason = coalesce($4, reason), updated_at = $5,
             fetched_at = CASE WHEN $2 = 'fetched' THEN coalesce(fetched_at, $5) ELSE fetched_at END
           WHERE id = $1`,
          [id, to, orNull(o.statusCode), orNull(o.reason), at],
        )
      }
      const [ev] = await this.append(c, [
        {
          time: at,
          direction: 'in',
          type: o.type ?? (o.statusCode ? 'status' : 'state'),
          package_id: id,
          document_id: (r.document_id as string | null) ?? null,
          sender: (r.sender as string | null) ?? null,
          recipient: (r.recipient as string | null) ?? null,
          actor: o.actor,
          from_state: from,
          state: to,
          changed,
          status_code: orNull(o.statusCode),
          cause: o.cause,
          detail: { ...(o.detail ?? {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) },
        },
      ])
      return { changed, from, state: changed ? to : from, seq: ev!.seq }
    }
  }

  // ---- health, metrics, lifecycle -----------------------------------------------------------------------

  ping(): Promise<void> {
    return this.run('ping', async (q) => {
      await q.query('SELECT 1')
    })
  }

  stats(): Promise<StoreStats> {
    return this.run('stats', async (q) => {
      const deliveriesByState: StoreStats['deliveriesByState'] = {}
      for (const r of (await q.query('SELECT state, count(*) AS n FROM deliveries GROUP BY state')).rows as Row[]) deliveriesByState[r.state as DeliveryState] = Number(r.n)
      const incomingByState: StoreStats['incomingByState'] = {}
      for (const r of (await q.query('SELECT state, count(*) AS n FROM incoming GROUP BY state')).rows as Row[]) incomingByState[r.state as IncomingState] = Number(r.n)
      const events = Number((await q.query('SELECT seq AS n FROM log_head WHERE id = 1')).rows[0].n) // gapless chain
      return { deliveriesByState, incomingByState, outboxBacklog: deliveriesByState.accepted ?? 0, events }
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // writes already requested are committed (or rejected) before the pool goes away
    while (this.flushing || this.queue.length) {
      if (!this.flushing) void this.flushAll()
      await new Promise<void>((r) => setTimeout(r, 5))
    }
    await this.pool.end()
  }
}

const queuedOpts = (at?: Date): TransitionOptions => ({ cause: 'broker confirmed', actor: 'system', ...(at ? { at } : {}) })
