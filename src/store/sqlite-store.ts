/**
 * The embedded Store: one SQLite file through better-sqlite3 (12.x; 13 needs Node 22).
 *
 * - WAL, synchronous=FULL by default: a 202 means the package survives a power cut, not only a process crash.
 *   FULL costs one fsync per commit, so writes are group-committed (see `tx`): measured on the shared 2-core
 *   machine under load, 10 KB recordOutgoing went from ~230/s (one at a time) to ~1,900/s with 64 in flight,
 *   the same as NORMAL (~1,950/s), so FULL is kept. `synchronous: 'NORMAL'` remains an option (README.md).
 * - Every write that belongs together is one unit (a savepoint inside a `BEGIN IMMEDIATE` batch transaction: the
 *   write lock is taken up front, so two connections never deadlock upgrading a read lock); statements are
 *   prepared once per connection.
 * - better-sqlite3 is synchronous: reads run in the calling tick and return a settled promise; writes settle after
 *   the batch they joined was committed (next event-loop turn). Callers treat this and the PostgreSQL store alike.
 */
import Database from 'better-sqlite3'
import { newId } from './ids.js'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { DeliveryState, IncomingState } from '../document/delivery.js'
import { GatewayError, gwError } from '../errors.js'
import { decodeCursor, pageLimit } from './cursor.js'
import { CHAIN_COLUMNS, ChainVerifier, chainRow, canonicalJson, type EventFields } from './hash-chain.js'
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
import { globPattern, searchText, TEXT_DENSE_MATCHES } from './search.js'
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

/** The few pino methods the store uses (pino's logger fits). */
export interface StoreLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface SqliteStoreOptions {
  logger?: StoreLogger
  /** FULL (default): durable across power loss. NORMAL: durable across process crashes only, ~2x faster commits. */
  synchronous?: 'FULL' | 'NORMAL'
  /** How long a writer waits for another connection's lock before GW_ERR_STORE_UNAVAILABLE (ms, default 5000). */
  busyTimeoutMs?: number
  /** Open an existing store read-only (offline `log verify`); no migrations are applied. */
  readonly?: boolean
  /** Tuning: from how many matching packages a text search checks events one by one instead of using the
   * index's set of matches (default 2,000). */
  textDenseMatches?: number
}

type Row = Record<string, unknown>
type Stmt = Database.Statement<unknown[], Row>

const buf = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v)

/** SQLite result codes that mean "try again later" rather than "this request is wrong". */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM|INTERRUPT|NOLFS)/

/** Map a better-sqlite3 error to the catalogue; GatewayErrors pass through. */
export function mapSqliteError(e: unknown, op: string): unknown {
  if (e instanceof GatewayError) return e
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : ''
  const message = e instanceof Error ? e.message : String(e)
  if (TRANSIENT.test(code)) return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: ${code} ${message}` }, e)
  if (code.startsWith('SQLITE_CONSTRAINT')) return gwError('GW_ERR_STORE_CONFLICT', { reason: `${op}: ${message}` }, e)
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return gwError('GW_ERR_STORE_CORRUPT', { reason: `${op}: ${message}` }, e)
  if (e instanceof TypeError && /database connection is not open/.test(message)) {
    return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: store is closed` }, e)
  }
  return e
}

/** Open (creating and migrating if needed) the SQLite store at `path`. */
export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  let db: Database.Database
  try {
    db = new Database(path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true })
  } catch (e) {
    const mapped = mapSqliteError(e, `open ${path}`)
    // better-sqlite3 reports a missing directory as a plain TypeError
    throw mapped instanceof GatewayError ? mapped : gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `open ${path}: ${(e as Error).message}` }, e)
  }
  try {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL')
      db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
    }
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`)
    db.pragma('foreign_keys = ON')
    db.pragma('cache_size = -32000')
    if (opts.readonly) checkVersion(db)
    else {
      migrate(db, opts.logger)
      // refresh planner statistics where they are missing or stale, bounded so that opening stays quick
      db.pragma('analysis_limit = 1000')
      db.pragma('optimize = 0x10002')
    }
    const store = new SqliteStore(db, path, opts.textDenseMatches ?? TEXT_DENSE_MATCHES)
    store.catchUpIndex()
    return store
  } catch (e) {
    db.close()
    throw mapSqliteError(e, `open ${path}`)
  }
}

function currentVersion(db: Database.Database): number {
  const t = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get()
  if (!t) return 0
  const r = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null }
  return r.v ?? 0
}

function checkVersion(db: Database.Database): number {
  const v = currentVersion(db)
  if (v > LATEST_VERSION) throw gwError('GW_ERR_STORE_SCHEMA', { found: v, supported: LATEST_VERSION })
  return v
}

/** Apply the migrations this file lacks, each in its own immediate transaction (safe with concurrent openers). */
function migrate(db: Database.Database, logger?: StoreLogger): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
  for (const m of MIGRATIONS) {
    const applied = db
      .transaction(() => {
        if (checkVersion(db) >= m.version) return false
        db.exec(m.sqlite)
        db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, iso())
        return true
      })
      .immediate()
    if (applied) logger?.info({ store: 'sqlite', version: m.version, migration: m.name }, 'store migration applied')
  }
}

const PACKAGE_COLS =
  'seq, id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, created_at'
const INCOMING_COLS =
  'seq, id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, state, reason, related_id, received_at, updated_at, fetched_at'


/**
 * A WHERE clause built from optional filters: `add(cond, name, value)` keeps `cond` (which names `@name`) and binds
 * the value only when the value is given.
 */
function sqlFilter(params: Record<string, unknown>): {
  where: string[]
  params: Record<string, unknown>
  add: (cond: string, name: string, v: unknown) => void
} {
  const where: string[] = []
  return {
    where,
    params,
    add: (cond, name, v) => {
      if (v === undefined) return
      where.push(cond)
      params[name] = v
    },
  }
}

export class SqliteStore implements Store {
  /** SQL of the fixed statements, prepared on first use and kept (a read-only tool only prepares what it runs). */
  private readonly sql: Record<string, string>
  private readonly st = new Map<string, Stmt>()
  private readonly dynamic = new Map<string, Stmt>()
  private readonly queue: { op: string; fn: () => unknown; bytes: number; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = []
  private flushScheduled = false

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly textDenseMatches: number = TEXT_DENSE_MATCHES,
  ) {
    const p = (sql: string): string => sql
    this.sql = {
      head: p('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1'),
      getPackage: p(`SELECT ${PACKAGE_COLS} FROM packages WHERE id = ?`),
      getBytes: p('SELECT bytes, signature FROM package_bytes WHERE package_id = ?'),
      getDeliveries: p('SELECT * FROM deliveries WHERE package_id = ? ORDER BY seq'),
      getDelivery: p('SELECT * FROM deliveries WHERE id = ?'),
      deliveryCtx: p(
        'SELECT d.id, d.state, d.package_id, d.recipient, d.priority, d.seq, p.document_id, p.sender FROM deliveries d JOIN packages p ON p.id = d.package_id WHERE d.id = ?',
      ),
      deliveriesOf: p('SELECT * FROM deliveries WHERE package_id IN (SELECT value FROM json_each(?)) ORDER BY seq'),
      getIdem: p('SELECT client_id, key, request_hash, package_id, created_at FROM idempotency_keys WHERE client_id = ? AND key = ?'),
      pending: p(
        `SELECT d.id, d.package_id, d.recipient, d.priority, d.attempts, d.created_at, p.kind, p.document_id, p.sender, p.sha256, b.bytes, b.signature
         FROM deliveries d INDEXED BY deliveries_outbox JOIN packages p ON p.id = d.package_id JOIN package_bytes b ON b.package_id = d.package_id
         WHERE d.state = 'accepted' ORDER BY d.priority DESC, d.seq LIMIT ?`,
      ),
      pendingAfter: p(
        `SELECT d.id, d.package_id, d.recipient, d.priority, d.attempts, d.created_at, p.kind, p.document_id, p.sender, p.sha256, b.bytes, b.signature
         FROM deliveries d INDEXED BY deliveries_outbox JOIN packages p ON p.id = d.package_id JOIN package_bytes b ON b.package_id = d.package_id
         WHERE d.state = 'accepted' AND (d.priority < @priority OR (d.priority = @priority AND d.seq > @seq))
         ORDER BY d.priority DESC, d.seq LIMIT @limit`,
      ),
      findByDocument: p(
        `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
         WHERE p.sender = @sender AND p.document_id = @document_id AND p.kind = 'edoc' AND d.recipient = @recipient
         ORDER BY p.seq DESC LIMIT 1`,
      ),
      findByCode: p(
        `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
         WHERE p.sender = @sender AND p.code_number = @code_number AND p.code_notation IS @code_notation AND p.kind = 'edoc'
           AND (@promulgation_date IS NULL OR p.promulgation_date = @promulgation_date) AND d.recipient = @recipient
         ORDER BY p.seq DESC LIMIT 1`,
      ),
      timeline: p('SELECT * FROM events WHERE delivery_id = ? ORDER BY seq'),
      anchor: p('SELECT seq, hash FROM events WHERE seq < ? ORDER BY seq DESC LIMIT 1'),
      chainPage: p(`SELECT ${CHAIN_COLUMNS} FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`),
      getIncoming: p(`SELECT ${INCOMING_COLS} FROM incoming WHERE id = ?`),
      getIncomingBytes: p('SELECT bytes, signature FROM incoming_bytes WHERE incoming_id = ?'),
      incomingDedupe: p(
        `SELECT ${INCOMING_COLS} FROM incoming WHERE sha256 = @sha256 AND sender IS @sender AND document_id IS @document_id AND recipient IS @recipient`,
      ),
      incomingByDocument: p(`SELECT ${INCOMING_COLS} FROM incoming WHERE sender = ? AND document_id = ? ORDER BY seq`),
      countDeliveries: p('SELECT state, count(*) AS n FROM deliveries GROUP BY state'),
      countIncoming: p('SELECT state, count(*) AS n FROM incoming GROUP BY state'),
      countEvents: p('SELECT coalesce(max(seq), 0) AS n FROM events'), // gapless chain: the last seq is the count
      ping: p('SELECT 1 AS ok'),
      textProbe: p(
        `SELECT (SELECT count(*) FROM (SELECT 1 FROM packages_fts WHERE search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM incoming_fts WHERE search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM packages WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'packages') AND search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM incoming WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'incoming') AND search GLOB @glob LIMIT @cap)) AS n`,
      ),
      indexedUpTo: p('SELECT seq FROM search_indexed WHERE name = ?'),
      // for listEvents with `until`: see untilBound()
      newestBefore: p('SELECT seq FROM events INDEXED BY events_time WHERE time < ? ORDER BY time DESC LIMIT 1'),
      maxSeqBefore: p('SELECT max(seq) AS m FROM events INDEXED BY events_time WHERE time < ?'),
    }
    Object.assign(this.sql, {
      insertEvent: p(
        `INSERT INTO events (seq, time, direction, type, package_id, delivery_id, document_id, sender, recipient, actor, from_state, state, changed, status_code, cause, detail, prev_hash, hash)
         VALUES (@seq, @time, @direction, @type, @package_id, @delivery_id, @document_id, @sender, @recipient, @actor, @from_state, @state, @changed, @status_code, @cause, @detail, @prev_hash, @hash)`,
      ),
      insertPackage: p(
        `INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, search, created_at)
         VALUES (@id, @kind, @document_id, @sender, @client_id, @sha256, @size, @priority, @subject, @code_number, @code_notation, @promulgation_date, @status_code, @metadata, @search, @created_at)`,
      ),
      insertBytes: p('INSERT INTO package_bytes (package_id, bytes, signature) VALUES (?, ?, ?)'),
      insertDelivery: p(
        `INSERT INTO deliveries (id, package_id, recipient, priority, state, attempts, created_at, updated_at)
         VALUES (@id, @package_id, @recipient, @priority, 'accepted', 0, @at, @at)`,
      ),
      insertIdem: p('INSERT INTO idempotency_keys (client_id, key, request_hash, package_id, created_at) VALUES (?, ?, ?, ?, ?)'),
      updateDelivery: p(
        `UPDATE deliveries SET state = @state, status_code = coalesce(@status_code, status_code), reason = @reason, updated_at = @at,
           queued_at = CASE WHEN @state = 'queued' THEN coalesce(queued_at, @at) ELSE queued_at END
         WHERE id = @id`,
      ),
      countAttempt: p('UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?'),
      indexPackages: p('INSERT INTO packages_fts (rowid, search) SELECT seq, search FROM packages WHERE seq > ? AND seq <= ? ORDER BY seq'),
      indexIncoming: p('INSERT INTO incoming_fts (rowid, search) SELECT seq, search FROM incoming WHERE seq > ? AND seq <= ? ORDER BY seq'),
      lastPackageSeq: p('SELECT coalesce(max(seq), 0) AS n FROM packages'),
      lastIncomingSeq: p('SELECT coalesce(max(seq), 0) AS n FROM incoming'),
      setIndexed: p('UPDATE search_indexed SET seq = ? WHERE name = ?'),
      insertIncoming: p(
        `INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, search, state, reason, related_id, received_at, updated_at)
         VALUES (@id, @kind, @document_id, @sender, @recipient, @message_id, @sha256, @size, @priority, @subject, @code_number, @code_notation, @promulgation_date, @status_code, @metadata, @verdict, @search, @state, @reason, @related_id, @at, @at)`,
      ),
      insertIncomingBytes: p('INSERT INTO incoming_bytes (incoming_id, bytes, signature) VALUES (?, ?, ?)'),
      updateIncoming: p(
        `UPDATE incoming SET state = @state, status_code = coalesce(@status_code, status_code), reason = coalesce(@reason, reason), updated_at = @at,
           fetched_at = CASE WHEN @state = 'fetched' THEN coalesce(fetched_at, @at) ELSE fetched_at END
         WHERE id = @id`,
      ),
    })
  }

  private s(name: string): Stmt {
    let st = this.st.get(name)
    if (!st) {
      const sql = this.sql[name]
      if (sql === undefined) throw gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `no statement ${name}` })
      st = this.db.prepare(sql) as Stmt
      if (name === 'chainPage') st.raw(true) // arrays in canonical order for verifyLog
      this.st.set(name, st)
    }
    return st
  }

  /** Prepared statements for dynamic filters, cached by their SQL text (a bounded set of shapes). */
  private q(sql: string): Stmt {
    let st = this.dynamic.get(sql)
    if (!st) {
      st = this.db.prepare(sql) as Stmt
      this.dynamic.set(sql, st)
    }
    return st
  }

  /** Run `fn` and map what it throws; the synchronous body keeps the transaction inside one tick. */
  private run<T>(op: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn())
    } catch (e) {
      return Promise.reject(mapSqliteError(e, op))
    }
  }

  /**
   * Group commit: writes requested in the same event-loop turn run in ONE immediate transaction, each inside its
   * own savepoint (a failing write rolls back only itself and rejects only its own promise), and every promise
   * settles after the single COMMIT. With synchronous=FULL that is one fsync per batch instead of one per write,
   * which is what makes FULL affordable when many requests are in flight. A write is never reported done before
   * its commit; if the commit fails, every write of the batch is rejected.
   */
  private tx<T>(op: string, fn: () => T, bytes = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, fn, bytes, resolve: resolve as (v: unknown) => void, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.flushScheduled = false
    // up to MAX_BATCH writes and MAX_BATCH_BYTES of package bytes (at least one write): a batch of 1 MB packages
    // must not hold the event loop for the time it takes to write hundreds of megabytes
    let n = 0
    let bytes = 0
    while (n < this.queue.length && n < MAX_BATCH && (n === 0 || bytes + this.queue[n]!.bytes <= MAX_BATCH_BYTES)) bytes += this.queue[n++]!.bytes
    const batch = this.queue.splice(0, n)
    if (this.queue.length && !this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
    if (!batch.length) return
    const outcomes: { ok: boolean; value: unknown }[] = []
    try {
      this.db
        .transaction(() => {
          for (const w of batch) {
            try {
              outcomes.push({ ok: true, value: this.db.transaction(w.fn)() })
            } catch (e) {
              outcomes.push({ ok: false, value: mapSqliteError(e, w.op) })
            }
          }
        })
        .immediate()
    } catch (e) {
      for (const w of batch) w.reject(mapSqliteError(e, w.op))
      return
    }
    batch.forEach((w, i) => {
      const o = outcomes[i]!
      if (o.ok) w.resolve(o.value)
      else w.reject(o.value)
    })
  }

  /** Append one event to the chain. Call only inside a write transaction. */
  private append(f: EventFields): LogEvent {
    const head = this.s('head').get() as { seq: number; hash: string } | undefined
    const row = chainRow((head?.seq ?? 0) + 1, head?.hash ?? '0'.repeat(64), f)
    this.s('insertEvent').run(row)
    return eventFromRow(row as unknown as Row)
  }

  // ---- search index, filled in bulk after writes ---------------------------------------------------------

  private indexTimer: NodeJS.Timeout | undefined

  /** After opening: index what an earlier process left unindexed. */
  catchUpIndex(): void {
    this.scheduleIndex()
  }

  /** Schedule a bulk index run shortly (once; rows written meanwhile join it). */
  private scheduleIndex(delayMs = SEARCH_INDEX_DELAY_MS): void {
    if (this.indexTimer || this.db.readonly || !this.db.open) return
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined
      this.indexSearchNow().then(
        (more) => more && this.scheduleIndex(0),
        () => this.scheduleIndex(),
      )
    }, delayMs)
    this.indexTimer.unref()
  }

  /**
   * Index up to `max` packages and incoming packages written since the last run, in one write; returns whether
   * more remain. Runs by itself a moment after writes; exposed for tools and tests.
   */
  indexSearchNow(max = 20_000): Promise<boolean> {
    return this.tx('indexSearch', () => {
      let more = false
      for (const [name, insert, last] of [
        ['packages', 'indexPackages', 'lastPackageSeq'],
        ['incoming', 'indexIncoming', 'lastIncomingSeq'],
      ] as const) {
        const from = (this.s('indexedUpTo').get(name) as { seq: number }).seq
        const top = (this.s(last).get() as { n: number }).n
        if (top <= from) continue
        const to = Math.min(top, from + max)
        this.s(insert).run(from, to)
        this.s('setIndexed').run(to, name)
        if (to < top) more = true
      }
      return more
    })
  }

  // ---- send path ----------------------------------------------------------------------------------------

  recordOutgoing(input: RecordOutgoingInput): Promise<RecordOutgoingResult> {
    this.scheduleIndex()
    return this.tx('recordOutgoing', () => this.outgoingTx(input), input.package.bytes.byteLength)
  }

  private outgoingTx(input: RecordOutgoingInput): RecordOutgoingResult {
    const pkg = input.package
    const idem = input.idempotency
    if (idem) {
      const ex = this.s('getIdem').get(idem.clientId, idem.key) as Row | undefined
      if (ex) {
        if (ex.request_hash !== idem.requestHash) throw gwError('GW_ERR_API_IDEMPOTENCY_CONFLICT', { key: idem.key })
        const p = this.s('getPackage').get(ex.package_id) as Row
        const deliveries = (this.s('getDeliveries').all(ex.package_id) as Row[]).map(deliveryFromRow)
        return { package: packageFromRow(p), deliveries, replayed: true }
      }
    }
    if (this.s('getPackage').get(pkg.id)) {
      throw gwError('GW_ERR_STORE_CONFLICT', { reason: `package ${pkg.id} is already stored` })
    }
    const at = iso(input.at)
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
      search: searchText(pkg),
      created_at: at,
    }
    this.s('insertPackage').run(row)
    this.s('insertBytes').run(pkg.id, buf(pkg.bytes), buf(pkg.signature))
    const deliveries: Delivery[] = []
    for (const recipient of new Set(input.recipients)) {
      const id = newId()
      this.s('insertDelivery').run({ id, package_id: pkg.id, recipient, priority: row.priority, at })
      this.append({
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
    if (idem) this.s('insertIdem').run(idem.clientId, idem.key, idem.requestHash, pkg.id, at)
    const it = input.incomingTransition
    if (it) return { package: packageFromRow(row), deliveries, replayed: false, incomingTransition: this.incomingMove(it.incomingId, it.toState, it.options) }
    return { package: packageFromRow(row), deliveries, replayed: false }
  }

  findIdempotent(clientId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.run('findIdempotent', () => {
      const r = this.s('getIdem').get(clientId, key) as Row | undefined
      if (!r) return undefined
      return {
        clientId: String(r.client_id),
        key: String(r.key),
        requestHash: String(r.request_hash),
        packageId: String(r.package_id),
        createdAt: String(r.created_at),
      }
    })
  }

  pendingDeliveries(opts: { limit: number; afterId?: string }): Promise<PendingDelivery[]> {
    return this.run('pendingDeliveries', () => {
      const limit = Math.max(1, Math.trunc(opts.limit) || 1)
      let rows: Row[]
      if (opts.afterId !== undefined) {
        const ref = this.s('getDelivery').get(opts.afterId) as Row | undefined
        if (!ref) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: opts.afterId })
        rows = this.s('pendingAfter').all({ priority: ref.priority, seq: ref.seq, limit }) as Row[]
      } else {
        rows = this.s('pending').all(limit) as Row[]
      }
      return rows.map(pendingFromRow)
    })
  }

  /** The state change and its event; inside a write transaction. */
  private move(deliveryId: string, to: DeliveryState, o: TransitionOptions): TransitionResult {
    const d = this.s('deliveryCtx').get(deliveryId) as Row | undefined
    if (!d) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: deliveryId })
    const from = d.state as DeliveryState
    const changed = outgoingMoves(from, to)
    const at = iso(o.at)
    if (changed) {
      this.s('updateDelivery').run({ id: deliveryId, state: to, status_code: orNull(o.statusCode), reason: orNull(o.reason), at })
    }
    const ev = this.append({
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
    })
    return { changed, from, state: changed ? to : from, seq: ev.seq }
  }

  transition(deliveryId: string, toState: DeliveryState, opts: TransitionOptions): Promise<TransitionResult> {
    return this.tx('transition', () => this.move(deliveryId, toState, opts))
  }

  markQueued(deliveryId: string, at?: Date): Promise<boolean> {
    return this.tx('markQueued', () => this.move(deliveryId, 'queued', queuedOpts(at)).changed)
  }

  markQueuedMany(deliveryIds: readonly string[], at?: Date): Promise<number> {
    return this.tx('markQueuedMany', () => {
      let n = 0
      for (const id of deliveryIds) if (this.move(id, 'queued', queuedOpts(at)).changed) n++
      return n
    })
  }

  markFailed(deliveryId: string, reason: string, actor: string, at?: Date): Promise<boolean> {
    return this.tx('markFailed', () => this.move(deliveryId, 'failed', { cause: 'publish failed', reason, actor, ...(at ? { at } : {}) }).changed)
  }

  countAttempt(deliveryId: string): Promise<void> {
    return this.run('countAttempt', () => {
      this.s('countAttempt').run(deliveryId)
    })
  }

  // ---- reads --------------------------------------------------------------------------------------------

  getPackage(id: string): Promise<StoredPackage | undefined> {
    return this.run('getPackage', () => {
      const r = this.s('getPackage').get(id) as Row | undefined
      return r ? packageFromRow(r) : undefined
    })
  }

  getPackageBytes(id: string): Promise<PackageBytes | undefined> {
    return this.run('getPackageBytes', () => {
      const r = this.s('getBytes').get(id) as { bytes: Buffer; signature: Buffer } | undefined
      return r ? { bytes: r.bytes, signature: r.signature } : undefined
    })
  }

  listPackages(f: ListPackagesFilter): Promise<Page<PackageWithDeliveries>> {
    return this.run('listPackages', () => {
      const { where, params, add } = sqlFilter({ limit: pageLimit(f.limit) + 1 })
      add('p.sender = @sender', 'sender', f.senderOrganId)
      add('p.client_id = @client_id', 'client_id', f.clientId)
      add('p.kind = @kind', 'kind', f.kind)
      add('p.document_id = @document_id', 'document_id', f.documentId)
      add('p.created_at >= @since', 'since', f.since?.toISOString())
      add('p.created_at < @until', 'until', f.until?.toISOString())
      add('EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND +d.state = @state)', 'state', f.state)
      add('EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.recipient = @recipient)', 'recipient', f.recipient)
      add('p.seq < @before', 'before', f.cursor === undefined ? undefined : decodeCursor('p', f.cursor))
      const sql = `SELECT ${PACKAGE_COLS} FROM packages p ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY p.seq DESC LIMIT @limit`
      const rows = this.q(sql).all(params) as Row[]
      const page = pageOf(rows, params.limit as number, 'p')
      const byPkg = new Map<string, Delivery[]>()
      if (page.rows.length) {
        const ds = this.s('deliveriesOf').all(JSON.stringify(page.rows.map((r) => r.id))) as Row[]
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
    return this.run('getDeliveries', () => (this.s('getDeliveries').all(packageId) as Row[]).map(deliveryFromRow))
  }

  getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    return this.run('getDelivery', () => {
      const r = this.s('getDelivery').get(deliveryId) as Row | undefined
      return r ? deliveryFromRow(r) : undefined
    })
  }

  findDelivery(qry: FindDeliveryQuery): Promise<Delivery | undefined> {
    return this.run('findDelivery', () => {
      let r: Row | undefined
      if (qry.documentId) {
        r = this.s('findByDocument').get({ sender: qry.senderOrganId, document_id: qry.documentId, recipient: qry.recipient }) as Row | undefined
      }
      if (!r && qry.codeNumber) {
        r = this.s('findByCode').get({
          sender: qry.senderOrganId,
          code_number: qry.codeNumber,
          code_notation: orNull(qry.codeNotation),
          promulgation_date: orNull(qry.promulgationDate),
          recipient: qry.recipient,
        }) as Row | undefined
      }
      return r ? deliveryFromRow(r) : undefined
    })
  }

  timeline(deliveryId: string): Promise<TimelineEntry[]> {
    return this.run('timeline', () => (this.s('timeline').all(deliveryId) as Row[]).map(timelineFromRow))
  }

  listDeliveries(f: ListDeliveriesFilter): Promise<Page<DeliveryWithPackage>> {
    return this.run('listDeliveries', () => {
      const { where, params, add } = sqlFilter({ limit: pageLimit(f.limit) + 1 })
      const states = f.state === undefined ? undefined : Array.isArray(f.state) ? f.state : [f.state]
      add('d.state IN (SELECT value FROM json_each(@states))', 'states', states && JSON.stringify(states))
      add('d.recipient = @recipient', 'recipient', f.recipient)
      add('p.sender = @sender', 'sender', f.senderOrganId)
      add('p.kind = @kind', 'kind', f.kind)
      add('d.queued_at < @queued_before', 'queued_before', f.queuedBefore?.toISOString())
      add('d.updated_at < @updated_before', 'updated_before', f.updatedBefore?.toISOString())
      add('d.seq < @before', 'before', f.cursor === undefined ? undefined : decodeCursor('d', f.cursor))
      const sql = `SELECT d.*, p.kind, p.document_id, p.sender, p.subject, p.code_number, p.code_notation
        FROM deliveries d JOIN packages p ON p.id = d.package_id ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY d.seq DESC LIMIT @limit`
      const page = pageOf(this.q(sql).all(params) as Row[], params.limit as number, 'd')
      const items = page.rows.map(deliveryWithPackageFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  // ---- event log ----------------------------------------------------------------------------------------

  appendEvent(e: AppendEventInput): Promise<LogEvent> {
    return this.tx('appendEvent', () =>
      this.append({
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
      }),
    )
  }

  /**
   * Log pages, newest first. An agency filter is two index scans (as sender, as recipient) merged. A text filter
   * first asks the trigram index (migration 002) whether the words are common (at least `textDenseMatches`
   * packages): then events are checked one by one, newest first, against their package's search text, and the
   * page fills after a few hundred rows; otherwise the few matching packages are taken from the index and only
   * their events are read.
   */
  listEvents(f: ListEventsFilter): Promise<Page<LogEvent>> {
    return this.run('listEvents', () => {
      const limit = pageLimit(f.limit) + 1
      const { where, params, add } = sqlFilter({ limit })
      // with an agency, each branch reads the agency's own index (sender|recipient [, direction], seq) newest first:
      // `+` keeps the planner off the time/state/type indexes, which it picks on sampled statistics and which
      // then read every row of that state or period across all agencies (0.2-0.3 s at 1M events, bench:log)
      const h = f.organId === undefined ? '' : '+'
      add(`${h}e.time >= @since`, 'since', f.since?.toISOString())
      add(`${h}e.time < @until`, 'until', f.until?.toISOString())
      add('e.direction = @direction', 'direction', f.direction)
      add(`${h}e.state = @state`, 'state', f.state)
      add(`${h}e.type = @type`, 'type', f.type)
      add('e.document_id = @document_id', 'document_id', f.documentId)
      add('e.package_id = @package_id', 'package_id', f.packageId)
      const before = f.cursor === undefined ? undefined : decodeCursor('e', f.cursor)
      add('e.seq < @before', 'before', before)
      if (f.until !== undefined && f.since === undefined && f.organId === undefined && f.text === undefined && f.documentId === undefined && f.packageId === undefined) {
        const bound = this.untilBound(f.until.toISOString(), before)
        if (bound !== undefined) add('e.seq <= @until_seq', 'until_seq', bound)
      }
      const query = (extra: string[]): string => {
        const branch = (more?: string): string => {
          const w = [...(more ? [more] : []), ...extra, ...where]
          return `SELECT * FROM events e ${w.length ? 'WHERE ' + w.join(' AND ') : ''} ORDER BY e.seq DESC LIMIT @limit`
        }
        if (f.organId === undefined) return branch()
        return `SELECT * FROM (SELECT * FROM (${branch('e.sender = @organ')}) UNION SELECT * FROM (${branch('e.recipient = @organ')})) ORDER BY seq DESC LIMIT @limit`
      }
      if (f.organId !== undefined) params.organ = f.organId
      let rows: Row[]
      if (f.text === undefined) {
        rows = this.q(query([])).all(params) as Row[]
      } else {
        params.glob = globPattern(f.text)
        const matches = (this.s('textProbe').get({ glob: params.glob, cap: this.textDenseMatches }) as { n: number }).n
        rows = this.q(query([matches >= this.textDenseMatches ? TEXT_EACH : TEXT_INDEXED])).all(params) as Row[]
      }
      const page = pageOf(rows, limit, 'e')
      const items = page.rows.map(eventFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  /**
   * An exact, redundant upper bound on the seq of events with `time < until`, so that a page filtered by an `until`
   * far in the past starts where the matching rows are instead of scanning every newer row (0.1 µs each: 70-100 ms
   * at 1M events, bench:log). Log times follow seq only roughly (clocks, callers' `at`), so the bound is max(seq)
   * over the time index, whose cost grows with the rows before `until`; it is computed only when that is cheaper
   * than the scan it saves (about 3.5x cheaper per row), estimated from the newest row before `until`. With `since`
   * as well, the time index already bounds the scan and no bound is needed.
   */
  private untilBound(until: string, before: number | undefined): number | undefined {
    const top = before === undefined ? (this.s('countEvents').get() as { n: number }).n : before - 1
    const s0 = (this.s('newestBefore').get(until) as { seq: number } | undefined)?.seq
    if (s0 === undefined) return 0 // no event before `until`: nothing matches
    if (s0 >= 3.5 * Math.max(0, top - s0)) return undefined // few newer rows: the plain scan is cheaper
    return (this.s('maxSeqBefore').get(until) as { m: number | null }).m ?? 0
  }

  async verifyLog(opts: VerifyLogOptions = {}): Promise<VerifyLogResult> {
    const from = Math.max(1, Math.trunc(opts.fromSeq ?? 1))
    const to = Math.trunc(opts.toSeq ?? Number.MAX_SAFE_INTEGER)
    const anchor = await this.run('verifyLog', () => this.s('anchor').get(from) as { seq: number; hash: string } | undefined)
    const v = new ChainVerifier(anchor)
    let next = from
    // pages of rows, yielding to the event loop between pages so a long check does not stall the gateway
    for (;;) {
      const rows = await this.run('verifyLog', () => this.s('chainPage').all(next, to, 2000) as unknown as unknown[][])
      for (const r of rows) if (!v.pushRaw(r)) return v.result()
      if (rows.length < 2000) break
      next = Number(rows[rows.length - 1]![0]) + 1
      await yieldToLoop()
    }
    return v.result()
  }

  // ---- receive path -------------------------------------------------------------------------------------

  recordIncoming(input: RecordIncomingInput): Promise<RecordIncomingResult> {
    this.scheduleIndex()
    return this.tx('recordIncoming', () => this.incomingTx(input), input.package.bytes.byteLength)
  }

  private incomingTx(input: RecordIncomingInput): RecordIncomingResult {
    const p = input.package
    const key = { sha256: p.sha256, sender: orNull(p.senderOrganId), document_id: orNull(p.documentId), recipient: orNull(p.recipient) }
    const ex = this.s('incomingDedupe').get(key) as Row | undefined
    if (ex) return { incoming: incomingFromRow(ex), duplicate: true }
    if (this.s('getIncoming').get(p.id)) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `incoming package ${p.id} is already stored` })
    const at = iso(input.at)
    const row = {
      id: p.id,
      kind: p.kind,
      ...key,
      message_id: orNull(p.messageId),
      size: p.bytes.byteLength,
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
    this.s('insertIncoming').run(row)
    this.s('insertIncomingBytes').run(p.id, buf(p.bytes), p.signature ? buf(p.signature) : null)
    this.append({
      time: at,
      direction: 'in',
      type: 'state',
      package_id: p.id,
      document_id: key.document_id,
      sender: key.sender,
      recipient: key.recipient,
      actor: input.actor,
      state: input.state,
      changed: true,
      status_code: row.status_code,
      cause: input.state === 'received' ? 'verified and stored' : (input.reason ?? 'rejected'),
      detail: {
        kind: p.kind,
        sha256: p.sha256,
        size: row.size,
        ...(p.messageId ? { messageId: p.messageId } : {}),
        ...(typeof p.verdict?.code === 'string' ? { verdict: p.verdict.code } : {}),
      },
    })
    const stored = this.s('getIncoming').get(p.id) as Row
    const reply = input.reply ? this.outgoingTx(input.reply) : undefined
    const applied = input.apply ? this.move(input.apply.deliveryId, input.apply.toState, input.apply.options) : undefined
    return { incoming: incomingFromRow(stored), duplicate: false, ...(reply ? { reply } : {}), ...(applied ? { applied } : {}) }
  }

  getIncoming(id: string): Promise<StoredIncoming | undefined> {
    return this.run('getIncoming', () => {
      const r = this.s('getIncoming').get(id) as Row | undefined
      return r ? incomingFromRow(r) : undefined
    })
  }

  getIncomingBytes(id: string): Promise<{ bytes: Uint8Array; signature?: Uint8Array } | undefined> {
    return this.run('getIncomingBytes', () => {
      const r = this.s('getIncomingBytes').get(id) as { bytes: Buffer; signature: Buffer | null } | undefined
      if (!r) return undefined
      return r.signature ? { bytes: r.bytes, signature: r.signature } : { bytes: r.bytes }
    })
  }

  findIncomingByDocument(senderOrganId: string, documentId: string): Promise<StoredIncoming[]> {
    return this.run('findIncomingByDocument', () =>
      (this.s('incomingByDocument').all(senderOrganId, documentId) as Row[]).map(incomingFromRow),
    )
  }

  listIncoming(f: ListIncomingFilter): Promise<Page<StoredIncoming>> {
    return this.run('listIncoming', () => {
      const { where, params, add } = sqlFilter({ limit: pageLimit(f.limit) + 1 })
      add('i.recipient = @recipient', 'recipient', f.recipient)
      add('i.sender = @sender', 'sender', f.senderOrganId)
      add('i.kind = @kind', 'kind', f.kind)
      add('i.state = @state', 'state', f.state)
      add('i.document_id = @document_id', 'document_id', f.documentId)
      add('i.received_at >= @since', 'since', f.since?.toISOString())
      add('i.received_at < @until', 'until', f.until?.toISOString())
      add('i.seq < @before', 'before', f.cursor === undefined ? undefined : decodeCursor('i', f.cursor))
      const sql = `SELECT ${INCOMING_COLS.replace(/(^|, )/g, '$1i.')} FROM incoming i ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY i.seq DESC LIMIT @limit`
      const page = pageOf(this.q(sql).all(params) as Row[], params.limit as number, 'i')
      const items = page.rows.map(incomingFromRow)
      return page.next ? { items, next: page.next } : { items }
    })
  }

  transitionIncoming(id: string, to: IncomingState, o: TransitionOptions): Promise<IncomingTransitionResult> {
    return this.tx('transitionIncoming', () => this.incomingMove(id, to, o))
  }

  /** Move an incoming package (recorded as an event either way). Call only inside a write transaction. */
  private incomingMove(id: string, to: IncomingState, o: TransitionOptions): IncomingTransitionResult {
    {
      const r = this.s('getIncoming').get(id) as Row | undefined
      if (!r) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'incoming package', id })
      const from = r.state as IncomingState
      const changed = incomingMoves(from, to)
      const at = iso(o.at)
      if (changed) this.s('updateIncoming').run({ id, state: to, status_code: orNull(o.statusCode), reason: orNull(o.reason), at })
      const ev = this.append({
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
      })
      return { changed, from, state: changed ? to : from, seq: ev.seq }
    }
  }

  // ---- health, metrics, lifecycle -----------------------------------------------------------------------

  ping(): Promise<void> {
    return this.run('ping', () => {
      this.s('ping').get()
    })
  }

  stats(): Promise<StoreStats> {
    return this.run('stats', () => {
      const deliveriesByState: StoreStats['deliveriesByState'] = {}
      for (const r of this.s('countDeliveries').all() as { state: DeliveryState; n: number }[]) deliveriesByState[r.state] = r.n
      const incomingByState: StoreStats['incomingByState'] = {}
      for (const r of this.s('countIncoming').all() as { state: IncomingState; n: number }[]) incomingByState[r.state] = r.n
      const events = (this.s('countEvents').get() as { n: number }).n
      return { deliveriesByState, incomingByState, outboxBacklog: deliveriesByState.accepted ?? 0, events }
    })
  }

  close(): Promise<void> {
    return this.run('close', () => {
      if (!this.db.open) return
      clearTimeout(this.indexTimer)
      this.indexTimer = undefined
      // writes already requested are committed (or rejected) before the connection goes away
      while (this.queue.length) this.flush()
      if (!this.db.readonly) this.db.pragma('optimize')
      this.db.close()
    })
  }

  /** The underlying connection, for the store's own tests and tools (never for the pipeline). */
  get raw(): Database.Database {
    return this.db
  }
}

/** Text filter, event by event: the package's folded search text matches. */
const TEXT_EACH =
  '(EXISTS (SELECT 1 FROM packages tp WHERE tp.id = e.package_id AND tp.search GLOB @glob) OR EXISTS (SELECT 1 FROM incoming ti WHERE ti.id = e.package_id AND ti.search GLOB @glob))'
/** Text filter through the trigram index (migrations 002, 003) plus the rows not indexed yet. */
const TEXT_INDEXED = `e.package_id IN (
  SELECT id FROM packages WHERE seq IN (SELECT rowid FROM packages_fts WHERE search GLOB @glob)
  UNION ALL SELECT id FROM packages WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'packages') AND search GLOB @glob
  UNION ALL SELECT id FROM incoming WHERE seq IN (SELECT rowid FROM incoming_fts WHERE search GLOB @glob)
  UNION ALL SELECT id FROM incoming WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'incoming') AND search GLOB @glob)`

/** How long after a write the search index catches up (ms); rows not indexed yet are still found. */
const SEARCH_INDEX_DELAY_MS = 1000

/** Upper bounds of one group commit (keep one batch's event-loop block short). */
const MAX_BATCH = 256
const MAX_BATCH_BYTES = 8 * 1024 * 1024

const queuedOpts = (at?: Date): TransitionOptions => ({ cause: 'broker confirmed', actor: 'system', ...(at ? { at } : {}) })
