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
import { existsSync } from 'node:fs'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { GatewayError, gwError } from '../errors.js'
import { CoreStore, purgedError, type StagedBytes, type Tx, type WriteOps } from './core.js'
import { newId } from './ids.js'
import { decodeCursor, pageLimit } from './cursor.js'
import { eventConditions, eventsSql, listDeliveriesQuery, listIncomingQuery, listPackagesQuery, pageFrom, Params, type Dialect, type ListQuery } from './filters.js'
import { call, ChainHead, eachWrite, runSync, WriteQueue, type Outcome, type QueuedWrite } from './group-commit.js'
import { CHAIN_COLUMNS, ChainVerifier, GENESIS_HASH } from './hash-chain.js'
import { LATEST_VERSION, migrationMessage, MIGRATIONS } from './migrations/index.js'
import { buf, idempotencyFromRow, INCOMING_COLS, iso, orNull, PACKAGE_COLS, statsOf, type Row } from './records.js'
import { anchorFromRow, awaitingFromRow, deliveryFromRow, deliveryWithPackageFromRow, eventFromRow, incomingFromRow, packageFromRow, pendingFromRow, timelineFromRow, webhookFromRow, withDeliveries } from './rows.js'
import { globPattern, TEXT_DENSE_MATCHES } from './search.js'
import type { Store } from './store.js'
import type {
  AwaitingSignature,
  Delivery,
  DeliveryWithPackage,
  FindDeliveryQuery,
  IdempotencyRecord,
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
  StoreStats,
  StoredIncoming,
  StoredPackage,
  TimelineEntry,
  VerifyLogOptions,
  VerifyLogResult,
  LogAnchor,
  WebhookDelivery,
} from './types.js'
import { PENDING_INLINE_BYTES } from './types.js'

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
  /** Tuning: from which size package bytes are written ahead in parts of PART_BYTES (default PART_THRESHOLD). */
  partThreshold?: number
}

/**
 * Package bytes from this size on are written ahead of their package, in parts of PART_BYTES, each part its own
 * group-commit write (migration 014): a COMMIT of a whole 50 MB blob held the event loop for 0.5-1.3 s on the
 * shared 2-core machine, one of a 1 MiB part a few ms. Below it, the bytes go inline with the package's write.
 */
export const PART_THRESHOLD = 4 * 1024 * 1024
export const PART_BYTES = 1024 * 1024
/** Parts no bytes row holds are swept when the store opens once their key (a time-ordered id) is this old. */
const UNHELD_PARTS_AGE_MS = 3_600_000

type Stmt = Database.Statement<unknown[], Row>

/** SQLite result codes that mean "try again later" rather than "this request is wrong". */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM|INTERRUPT|NOLFS)/

/** Map a better-sqlite3 error to the catalogue; GatewayErrors pass through. */
export function mapSqliteError(e: unknown, op: string): unknown {
  if (e instanceof GatewayError) return e
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : ''
  const message = e instanceof Error ? e.message : String(e)
  if (TRANSIENT.test(code)) return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: ${code} ${message}` }, e)
  // SQLite rolls the whole transaction back by itself on SQLITE_FULL / IOERR / NOMEM in a statement; the batch's
  // COMMIT then finds none: the storage failed, not the request (a disk full must not read as an internal error)
  if (code === 'SQLITE_ERROR' && /no transaction is active/.test(message)) {
    return gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `${op}: the transaction was rolled back by SQLite (disk full or I/O error): ${message}` }, e)
  }
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
    const store = new SqliteStore(db, path, opts.textDenseMatches ?? TEXT_DENSE_MATCHES, opts.partThreshold)
    store.catchUpIndex()
    if (!opts.readonly) store.sweepParts()
    return store
  } catch (e) {
    db.close()
    throw mapSqliteError(e, `open ${path}`)
  }
}

/**
 * Before a store file is replaced (`lienthong restore`): fold its WAL into the file and close it, so that the file
 * alone holds the store, and tell whether another connection (the gateway's) still has it open: the last
 * connection to close a WAL-mode database removes its `-wal` file, so a `-wal` still there after closing means
 * someone else holds the store. Returns why not (in use, not openable); undefined when done.
 */
export function quiesceSqliteFile(path: string): string | undefined {
  let db: Database.Database
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 })
  } catch (e) {
    return `cannot open ${path}: ${(e as Error).message}`
  }
  let wal: boolean
  try {
    wal = db.pragma('journal_mode', { simple: true }) === 'wal'
    if (wal) db.pragma('wal_checkpoint(TRUNCATE)')
  } catch (e) {
    const code = (e as { code?: string }).code ?? ''
    return /BUSY|LOCKED/.test(code) ? `${path} is in use by another process (stop the gateway first)` : `${path}: ${(e as Error).message}`
  } finally {
    db.close()
  }
  if (wal && existsSync(`${path}-wal`)) return `${path} is in use by another process (stop the gateway first)`
  return undefined
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

/**
 * Apply the migrations this file lacks (every version not recorded in schema_version), each in its own immediate
 * transaction (safe with concurrent openers), logging each with what it does.
 */
function migrate(db: Database.Database, logger?: StoreLogger): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
  const has = db.prepare('SELECT 1 FROM schema_version WHERE version = ?')
  for (const m of MIGRATIONS) {
    const applied = db
      .transaction(() => {
        checkVersion(db)
        if (has.get(m.version)) return false
        db.exec(m.sqlite)
        db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, iso())
        return true
      })
      .immediate()
    if (applied) logger?.info({ store: 'sqlite', version: m.version, migration: m.name, description: m.description ?? m.name }, migrationMessage(m))
  }
}

/** better-sqlite3's placeholders and spellings for the shared filters (filters.ts). */
const SQLITE: Dialect = {
  placeholder: (n) => `@p${n}`,
  oneOf: (col, x) => `${col} IN (SELECT value FROM json_each(${x}))`,
  list: (values) => JSON.stringify(values),
  noIndex: (col) => `+${col}`,
}

export class SqliteStore extends CoreStore implements Store {
  /** SQL of the fixed statements, prepared on first use and kept (a read-only tool only prepares what it runs). */
  private readonly sql: Record<string, string>
  private readonly st = new Map<string, Stmt>()
  private readonly dynamic = new Map<string, Stmt>()
  protected readonly writes: WriteQueue<Tx>
  /** The write path's SQL: hand-prepared statements, run inside the batch transaction. */
  private readonly ops: WriteOps

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly textDenseMatches: number = TEXT_DENSE_MATCHES,
    private readonly partThreshold: number = PART_THRESHOLD,
  ) {
    super()
    this.sql = {
      head: 'SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1',
      getPackage: `SELECT ${PACKAGE_COLS} FROM packages WHERE id = ?`,
      getBytes: `SELECT b.bytes, b.signature, b.parts_key, b.parts, x.purged_at, x.reason AS purge_reason FROM package_bytes b
         LEFT JOIN purged_bytes x ON x.direction = 'out' AND x.id = b.package_id WHERE b.package_id = ?`,
      getDeliveries: 'SELECT * FROM deliveries WHERE package_id = ? ORDER BY seq',
      getDelivery: 'SELECT * FROM deliveries WHERE id = ?',
      deliveryCtx: `SELECT d.*, p.document_id, p.sender, x.purged_at, x.reason AS purge_reason FROM deliveries d JOIN packages p ON p.id = d.package_id
         LEFT JOIN purged_bytes x ON x.direction = 'out' AND x.id = d.package_id WHERE d.id = ?`,
      deliveriesOf: 'SELECT * FROM deliveries WHERE package_id IN (SELECT value FROM json_each(?)) ORDER BY seq',
      anyByDocument: 'SELECT 1 AS ok FROM packages INDEXED BY packages_document WHERE sender = ? AND document_id = ? LIMIT 1',
      getIdem: 'SELECT client_id, key, request_hash, package_id, created_at FROM idempotency_keys WHERE client_id = ? AND key = ?',
      // never a package awaiting its signature (013)
      pending: `${PENDING_SELECT} WHERE d.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = d.package_id) ORDER BY d.priority DESC, d.seq LIMIT ?`,
      takeLease: "UPDATE deliveries SET lease_owner = @owner, lease_until = @until WHERE id = @id AND state = 'accepted' AND (lease_until IS NULL OR lease_until < @now OR lease_owner = @owner)",
      pendingAfter: `${PENDING_SELECT} WHERE d.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = d.package_id) AND (d.priority < @priority OR (d.priority = @priority AND d.seq > @seq)) ORDER BY d.priority DESC, d.seq LIMIT @limit`,
      findByDocument: `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
         WHERE upper(p.sender) = upper(@sender) AND p.document_id = @document_id AND p.kind = 'edoc' AND upper(d.recipient) = upper(@recipient)
         ORDER BY p.seq DESC LIMIT 1`,
      findByCode: `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
         WHERE upper(p.sender) = upper(@sender) AND p.code_number = @code_number AND p.code_notation IS @code_notation AND p.kind = 'edoc'
           AND (@promulgation_date IS NULL OR p.promulgation_date = @promulgation_date) AND upper(d.recipient) = upper(@recipient)
         ORDER BY p.seq DESC LIMIT 1`,
      timeline: 'SELECT * FROM events WHERE delivery_id = ? ORDER BY seq',
      anchor: 'SELECT seq, hash FROM events WHERE seq < ? ORDER BY seq DESC LIMIT 1',
      logHead: 'SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1',
      logHashAt: 'SELECT hash FROM events WHERE seq = ?',
      insertLogAnchor: 'INSERT OR IGNORE INTO log_anchors (seq, hash, anchored_at, tsa, gen_time, token) VALUES (@seq, @hash, @anchored_at, @tsa, @gen_time, @token)',
      listLogAnchors: 'SELECT seq, hash, anchored_at, tsa, gen_time, token FROM log_anchors ORDER BY seq',
      hasLogAnchors: "SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = 'log_anchors'",
      chainPage: `SELECT ${CHAIN_COLUMNS} FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
      getIncoming: `SELECT ${INCOMING_COLS} FROM incoming WHERE id = ?`,
      getIncomingBytes: `SELECT b.bytes, b.signature, b.parts_key, b.parts, x.purged_at, x.reason AS purge_reason FROM incoming_bytes b
         LEFT JOIN purged_bytes x ON x.direction = 'in' AND x.id = b.incoming_id WHERE b.incoming_id = ?`,
      // the accepted copy under the dedupe key (migration 007: rejected and discarded copies are never one)
      incomingDedupe: `SELECT ${INCOMING_COLS} FROM incoming WHERE sha256 = @sha256 AND upper(sender) IS upper(@sender) AND document_id IS @document_id
           AND upper(recipient) IS upper(@recipient) AND state NOT IN ('rejected', 'discarded')`,
      incomingByDocument: `SELECT ${INCOMING_COLS} FROM incoming WHERE upper(sender) = upper(?) AND document_id = ? ORDER BY seq`,
      countDeliveries: 'SELECT state, count(*) AS n FROM deliveries GROUP BY state',
      countIncoming: 'SELECT state, count(*) AS n FROM incoming GROUP BY state',
      countEvents: 'SELECT coalesce(max(seq), 0) AS n FROM events', // gapless chain: the last seq is the count
      countAwaiting: 'SELECT count(*) AS n FROM awaiting_signature',
      countAwaitingOf: 'SELECT count(*) AS n FROM awaiting_signature WHERE upper(signer) = upper(?)',
      // ---- packages awaiting their signature (013)
      awaitingOf: `SELECT w.*, p.seq, p.kind, p.document_id, p.sender, p.priority, p.created_at FROM awaiting_signature w JOIN packages p ON p.id = w.package_id WHERE w.package_id = ?`,
      awaitingList: `SELECT w.*, p.seq, p.kind, p.document_id, p.sender, p.priority, p.created_at FROM awaiting_signature w
         JOIN packages p ON p.id = w.package_id
         WHERE p.seq > @after AND (@signer IS NULL OR upper(w.signer) = upper(@signer)) ORDER BY p.seq LIMIT @limit`,
      insertAwaiting: 'INSERT INTO awaiting_signature (package_id, signer, since, reason, attempts) VALUES (@package_id, @signer, @since, @reason, 0)',
      getAwaiting: 'SELECT * FROM awaiting_signature WHERE package_id = ?',
      setSignature: 'UPDATE package_bytes SET signature = ? WHERE package_id = ?',
      deleteAwaiting: 'DELETE FROM awaiting_signature WHERE package_id = ?',
      noteSignatureAttempt: 'UPDATE awaiting_signature SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? WHERE package_id = ?',
      ping: 'SELECT 1 AS ok',
      textProbe: `SELECT (SELECT count(*) FROM (SELECT 1 FROM packages_fts WHERE search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM incoming_fts WHERE search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM packages WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'packages') AND search GLOB @glob LIMIT @cap))
              + (SELECT count(*) FROM (SELECT 1 FROM incoming WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'incoming') AND search GLOB @glob LIMIT @cap)) AS n`,
      indexedUpTo: 'SELECT seq FROM search_indexed WHERE name = ?',
      // for listEvents with `until`: see untilBound()
      newestBefore: 'SELECT seq FROM events INDEXED BY events_time WHERE time < ? ORDER BY time DESC LIMIT 1',
      maxSeqBefore: 'SELECT max(seq) AS m FROM events INDEXED BY events_time WHERE time < ?',
      // ---- write path
      insertEvent: `INSERT INTO events (${CHAIN_COLUMNS})
         VALUES (@seq, @time, @direction, @type, @package_id, @delivery_id, @document_id, @sender, @recipient, @actor, @from_state, @state, @changed, @status_code, @cause, @detail, @prev_hash, @hash)`,
      insertPackage: `INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, search, created_at)
         VALUES (@id, @kind, @document_id, @sender, @client_id, @sha256, @size, @priority, @subject, @code_number, @code_notation, @promulgation_date, @status_code, @metadata, @search, @created_at)`,
      insertBytes: 'INSERT INTO package_bytes (package_id, bytes, signature, parts_key, parts) VALUES (?, ?, ?, ?, ?)',
      // ---- bytes in parts (014)
      insertPart: 'INSERT INTO blob_parts (key, seq, data) VALUES (?, ?, ?)',
      getPart: 'SELECT data FROM blob_parts WHERE key = ? AND seq = ?',
      partsOf: 'SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS size FROM blob_parts WHERE key = ?',
      deletePart: 'DELETE FROM blob_parts WHERE key = ? AND seq = ?',
      deleteParts: 'DELETE FROM blob_parts WHERE key = ?',
      unheldParts: `SELECT p.key, max(p.seq) + 1 AS parts FROM blob_parts p WHERE p.key < @before
         AND NOT EXISTS (SELECT 1 FROM package_bytes b WHERE b.parts_key = p.key) AND NOT EXISTS (SELECT 1 FROM incoming_bytes b WHERE b.parts_key = p.key)
         GROUP BY p.key`,
      packagePartsKey: 'SELECT parts_key FROM package_bytes WHERE package_id = ?',
      incomingPartsKey: 'SELECT parts_key FROM incoming_bytes WHERE incoming_id = ?',
      insertDelivery: `INSERT INTO deliveries (id, package_id, recipient, priority, state, attempts, created_at, updated_at)
         VALUES (@id, @package_id, @recipient, @priority, 'accepted', 0, @at, @at)`,
      insertIdem: 'INSERT INTO idempotency_keys (client_id, key, request_hash, package_id, created_at) VALUES (?, ?, ?, ?, ?)',
      updateDelivery: `UPDATE deliveries SET state = @state, status_code = coalesce(@status_code, status_code), reason = @reason, updated_at = @at, discarded_at = NULL,
           queued_at = CASE WHEN @state = 'queued' THEN coalesce(queued_at, @at) ELSE queued_at END
         WHERE id = @id`,
      countAttempt: 'UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?',
      indexPackages: 'INSERT INTO packages_fts (rowid, search) SELECT seq, search FROM packages WHERE seq > ? AND seq <= ? ORDER BY seq',
      indexIncoming: 'INSERT INTO incoming_fts (rowid, search) SELECT seq, search FROM incoming WHERE seq > ? AND seq <= ? ORDER BY seq',
      lastPackageSeq: 'SELECT coalesce(max(seq), 0) AS n FROM packages',
      lastIncomingSeq: 'SELECT coalesce(max(seq), 0) AS n FROM incoming',
      setIndexed: 'UPDATE search_indexed SET seq = ? WHERE name = ?',
      insertIncoming: `INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, search, state, reason, related_id, received_at, updated_at)
         VALUES (@id, @kind, @document_id, @sender, @recipient, @message_id, @sha256, @size, @priority, @subject, @code_number, @code_notation, @promulgation_date, @status_code, @metadata, @verdict, @search, @state, @reason, @related_id, @at, @at)`,
      setDiscarded: 'UPDATE deliveries SET discarded_at = ? WHERE id = ?',
      insertWebhook: `INSERT INTO webhook_deliveries (id, client_id, organ_id, event, url, data, occurred_at, state, attempts, next_attempt_at, created_at, updated_at)
         VALUES (@id, @client_id, @organ_id, @event, @url, @data, @occurred_at, @state, @attempts, @next_attempt_at, @created_at, @created_at)`,
      getWebhook: 'SELECT * FROM webhook_deliveries WHERE id = ?',
      updateWebhook: `UPDATE webhook_deliveries SET state = @state, attempts = @attempts, next_attempt_at = @next_attempt_at, last_status = @last_status,
           last_error = @last_error, updated_at = @updated_at WHERE id = @id`,
      pendingWebhooks: "SELECT * FROM webhook_deliveries WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
      insertIncomingBytes: 'INSERT INTO incoming_bytes (incoming_id, bytes, signature, parts_key, parts) VALUES (?, ?, ?, ?, ?)',
      getDeliveryAttempts: 'SELECT unfinished FROM delivery_attempts WHERE key = ?',
      upsertDeliveryAttempts: `INSERT INTO delivery_attempts (key, unfinished, first_at, updated_at) VALUES (@key, @unfinished, @at, @at)
        ON CONFLICT (key) DO UPDATE SET unfinished = excluded.unfinished, updated_at = excluded.updated_at`,
      deleteDeliveryAttempts: 'DELETE FROM delivery_attempts WHERE key = ?',
      pruneDeliveryAttempts: 'DELETE FROM delivery_attempts WHERE updated_at < ?',
      // ---- retention (core.ts purgeTx)
      outgoingToPurge: `SELECT p.id, p.size FROM packages p INDEXED BY packages_created
         WHERE p.created_at < @before
           AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = p.id)
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id
             AND d.state NOT IN (SELECT value FROM json_each(CASE WHEN p.kind = 'edoc' THEN @edoc ELSE @status END)))
           AND (@needs_failed = 0 OR EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.state = 'failed'))
         ORDER BY p.created_at, p.seq LIMIT @limit`,
      incomingToPurge: `SELECT i.id, i.size FROM incoming i INDEXED BY incoming_received
         WHERE i.received_at < @before
           AND i.state IN (SELECT value FROM json_each(CASE WHEN i.kind = 'edoc' THEN @edoc ELSE @other END))
           AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = i.id)
         ORDER BY i.received_at, i.seq LIMIT @limit`,
      insertPurged: 'INSERT INTO purged_bytes (direction, id, purged_at, reason, size) VALUES (?, ?, ?, ?, ?)',
      emptyPackageBytes: "UPDATE package_bytes SET bytes = X'', signature = X'' WHERE package_id = ?",
      emptyIncomingBytes: "UPDATE incoming_bytes SET bytes = X'', signature = NULL WHERE incoming_id = ?",
      countIdemBefore: 'SELECT count(*) AS n FROM idempotency_keys WHERE created_at < ?',
      deleteIdemBefore: 'DELETE FROM idempotency_keys WHERE created_at < ?',
      updateIncoming: `UPDATE incoming SET state = @state, status_code = coalesce(@status_code, status_code), reason = coalesce(@reason, reason), updated_at = @at,
           fetched_at = CASE WHEN @state = 'fetched' THEN coalesce(fetched_at, @at) ELSE fetched_at END
         WHERE id = @id`,
    }
    const s = (name: string): Stmt => this.s(name)
    this.ops = {
      // the batch holds the write lock: no other writer can take the key meanwhile; it is inserted with the package
      claimIdempotency: (idem) => s('getIdem').get(idem.clientId, idem.key) as Row | undefined,
      outgoingOf: (id) => ({ pkg: s('getPackage').get(id) as Row, deliveries: s('getDeliveries').all(id) as Row[] }),
      insertOutgoing: (w) => {
        if (s('getPackage').get(w.row.id)) return false
        s('insertPackage').run(w.row)
        this.insertBytesRow('insertBytes', w.row.id, w.bytes, w.signature, w.staged)
        w.deliveries.forEach((d) => s('insertDelivery').run({ id: d.id, package_id: w.row.id, recipient: d.recipient, priority: w.row.priority, at: w.row.created_at }))
        for (const e of w.events) s('insertEvent').run(e)
        if (w.idempotency) s('insertIdem').run(w.idempotency.clientId, w.idempotency.key, w.idempotency.requestHash, w.row.id, w.row.created_at)
        return true
      },
      deliveryForUpdate: (id) => s('deliveryCtx').get(id) as Row | undefined,
      lockDeliveries: () => {},
      countAttempt: (id) => {
        s('countAttempt').run(id)
      },
      updateDelivery: (id, state, o, at) => {
        s('updateDelivery').run({ id, state, status_code: orNull(o.statusCode), reason: orNull(o.reason), at })
      },
      incomingByDocument: (sender, documentId) => s('incomingByDocument').all(sender, documentId) as Row[],
      insertIncoming: (w) => {
        const { row, bytes, signature } = w
        // a refused copy is always its own row; an accepted one is a duplicate of the accepted copy under its key
        const ex = row.state === 'rejected' ? undefined : (s('incomingDedupe').get({ sha256: row.sha256, sender: row.sender, document_id: row.document_id, recipient: row.recipient }) as Row | undefined)
        if (ex) return { duplicate: ex }
        if (s('getIncoming').get(row.id)) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `incoming package ${row.id} is already stored` })
        s('insertIncoming').run(row)
        this.insertBytesRow('insertIncomingBytes', row.id, bytes, signature, w.staged)
        return { row: s('getIncoming').get(row.id) as Row }
      },
      incomingForUpdate: (id) => s('getIncoming').get(id) as Row | undefined,
      updateIncoming: (id, state, o, at) => {
        s('updateIncoming').run({ id, state, status_code: orNull(o.statusCode), reason: orNull(o.reason), at })
      },
      insertEvents: (rows) => {
        for (const r of rows) s('insertEvent').run(r)
      },
      setDiscarded: (id, at) => {
        s('setDiscarded').run(at, id)
      },
      insertWebhooks: (rows) => {
        for (const r of rows) s('insertWebhook').run(r)
      },
      webhookForUpdate: (id) => s('getWebhook').get(id) as Row | undefined,
      updateWebhook: (id, u) => {
        s('updateWebhook').run({ id, ...u })
      },
      deliveryAttempts: (key) => (s('getDeliveryAttempts').get(key) as { unfinished: number } | undefined)?.unfinished,
      setDeliveryAttempts: (key, unfinished, at) => {
        if (unfinished === null) s('deleteDeliveryAttempts').run(key)
        else s('upsertDeliveryAttempts').run({ key, unfinished, at })
      },
      pruneDeliveryAttempts: (before) => {
        s('pruneDeliveryAttempts').run(before)
      },
      outgoingToPurge: (q) =>
        (
          s('outgoingToPurge').all({
            before: q.before,
            edoc: JSON.stringify(q.done.edoc),
            status: JSON.stringify(q.done.status),
            needs_failed: q.needsFailed ? 1 : 0,
            limit: q.limit,
          }) as Row[]
        ).map((r) => ({ id: String(r.id), size: Number(r.size) })),
      incomingToPurge: (q) =>
        (s('incomingToPurge').all({ before: q.before, edoc: JSON.stringify(q.done.edoc), other: JSON.stringify(q.done.other), limit: q.limit }) as Row[]).map((r) => ({
          id: String(r.id),
          size: Number(r.size),
        })),
      purgeBytes: (direction, rows, at, reason) => {
        const empty = s(direction === 'out' ? 'emptyPackageBytes' : 'emptyIncomingBytes')
        const partsKey = s(direction === 'out' ? 'packagePartsKey' : 'incomingPartsKey')
        for (const r of rows) {
          s('insertPurged').run(direction, r.id, at, reason, r.size)
          empty.run(r.id)
          // bytes in parts (014): the parts go with them (their trigger allows it once purged_bytes has the row)
          const key = (partsKey.get(r.id) as { parts_key: string | null } | undefined)?.parts_key
          if (key) s('deleteParts').run(key)
        }
      },
      idempotencyKeysBefore: (before, remove) =>
        remove ? s('deleteIdemBefore').run(before).changes : (s('countIdemBefore').get(before) as { n: number }).n,
      insertLogAnchor: (a) =>
        s('insertLogAnchor').run({ seq: a.seq, hash: a.hash, anchored_at: a.anchoredAt, tsa: a.tsa, gen_time: a.genTime, token: Buffer.from(a.token) }).changes === 1,
      insertAwaitingSignature: (r) => {
        s('insertAwaiting').run(r)
      },
      awaitingForUpdate: (id) => s('getAwaiting').get(id) as Row | undefined,
      storeSignature: (id, signature) => {
        s('setSignature').run(signature, id)
        s('deleteAwaiting').run(id)
      },
      noteSignatureAttempt: (id, error, at) => {
        s('noteSignatureAttempt').run(error, at, id)
      },
    }
    this.writes = new WriteQueue<Tx>((batch) => this.commit(batch), mapSqliteError, { maxWrites: MAX_BATCH, maxBytes: MAX_BATCH_BYTES })
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

  private all(l: ListQuery): Row[] {
    return this.q(l.sql).all(l.ps.named()) as Row[]
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
   * One group-commit batch (group-commit.ts): ONE `BEGIN IMMEDIATE` transaction (the write lock up front, so two
   * connections never deadlock upgrading a read lock), each write in its own savepoint, one COMMIT, i.e. with
   * synchronous=FULL one fsync for the batch. Everything runs synchronously in this tick.
   */
  private commit(batch: QueuedWrite<Tx>[]): Outcome[] {
    return this.db
      .transaction(() => {
        const h = this.s('head').get() as { seq: number; hash: string } | undefined
        const x: Tx = { ops: this.ops, head: new ChainHead(h?.seq, h?.hash) }
        return runSync(eachWrite(batch, x.head, (w) => this.db.transaction(() => runSync(w.body(x)))(), mapSqliteError))
      })
      .immediate()
  }

  // ---- bytes in parts (migration 014) -------------------------------------------------------------------

  protected override stagesBytes(size: number): boolean {
    return size >= this.partThreshold
  }

  /** Write `bytes` as parts under a fresh key, one group-commit write per part (other writes go on in between). */
  protected override async stageBytes(bytes: Uint8Array): Promise<StagedBytes> {
    const key = newId()
    const b = buf(bytes)
    const parts = Math.max(1, Math.ceil(b.length / PART_BYTES))
    const staged = { key, parts }
    try {
      for (let i = 0; i < parts; i++) {
        const part = b.subarray(i * PART_BYTES, Math.min(b.length, (i + 1) * PART_BYTES))
        await this.writes.push('stageBytes', () => call(() => void this.s('insertPart').run(key, i, part)), part.length)
      }
    } catch (e) {
      this.unstageBytes(staged)
      throw e
    }
    return staged
  }

  /** Delete parts no bytes row holds, one part per write, in the background; what fails is swept at the next open. */
  protected override unstageBytes(s: StagedBytes): void {
    void (async () => {
      for (let i = 0; i < s.parts; i++) await this.writes.push('unstageBytes', () => call(() => void this.s('deletePart').run(s.key, i)))
    })().catch(() => undefined)
  }

  /** After opening: remove parts that an interrupted write left (held by no bytes row, their key over an hour old). */
  sweepParts(now = Date.now()): void {
    let unheld: StagedBytes[]
    try {
      unheld = this.s('unheldParts').all({ before: newId(now - UNHELD_PARTS_AGE_MS) }) as unknown as StagedBytes[]
    } catch {
      return // a store that cannot be read now says so at its first real operation
    }
    for (const s of unheld) this.unstageBytes(s)
  }

  /** A bytes row in the write that stores its package: inline, or empty with the key of its staged parts. */
  private insertBytesRow(stmt: 'insertBytes' | 'insertIncomingBytes', id: string, bytes: Buffer, signature: Buffer | null, staged?: StagedBytes): void {
    if (!staged) return void this.s(stmt).run(id, bytes, signature, null, null)
    // every part must be there (an interrupted write's parts are swept only once their key is an hour old)
    const have = this.s('partsOf').get(staged.key) as { n: number; size: number }
    if (have.n !== staged.parts || have.size !== bytes.length) {
      throw gwError('GW_ERR_STORE_UNAVAILABLE', { reason: `the parts of package ${id} are incomplete (${have.n} of ${staged.parts}, ${have.size} of ${bytes.length} bytes): write it again` })
    }
    this.s(stmt).run(id, Buffer.alloc(0), signature, staged.key, staged.parts)
  }

  /**
   * The bytes of a bytes row: inline, or read part by part, one part per event-loop turn, into one buffer. A part
   * missing is a purge that happened meanwhile (the purged error) or a damaged store.
   */
  private async bytesOf(r: Row, op: string): Promise<Buffer> {
    if (!r.parts_key) return r.bytes as Buffer
    const key = String(r.parts_key)
    const parts = Number(r.parts)
    try {
      const have = this.s('partsOf').get(key) as { n: number; size: number }
      if (have.n !== parts) throw gwError('GW_ERR_STORE_CORRUPT', { reason: `${op}: ${have.n} of the ${parts} parts of ${key} are stored` })
      const out = Buffer.allocUnsafeSlow(have.size)
      let at = 0
      for (let i = 0; i < parts; i++) {
        if (i > 0) await yieldToLoop()
        const p = this.s('getPart').get(key, i) as { data: Buffer } | undefined
        if (!p || at + p.data.length > out.length) throw gwError('GW_ERR_STORE_CORRUPT', { reason: `${op}: part ${i} of ${key} is missing or changed while read` })
        at += p.data.copy(out, at)
      }
      return out
    } catch (e) {
      throw mapSqliteError(e, op)
    }
  }

  // ---- search index, filled in bulk after writes ---------------------------------------------------------

  private indexTimer: NodeJS.Timeout | undefined

  /** After opening: index what an earlier process left unindexed. */
  catchUpIndex(): void {
    this.scheduleIndex()
  }

  protected override searchableWrite(): void {
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
    return this.writes.push('indexSearch', () =>
      call(() => {
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
      }),
    )
  }

  // ---- send path (writes: core.ts) ----------------------------------------------------------------------

  findIdempotent(clientId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.run('findIdempotent', () => {
      const r = this.s('getIdem').get(clientId, key) as Row | undefined
      return r ? idempotencyFromRow(r) : undefined
    })
  }

  pendingDeliveries(opts: PendingQuery): Promise<PendingDelivery[]> {
    return this.run('pendingDeliveries', () => {
      const limit = Math.max(1, Math.trunc(opts.limit) || 1)
      const read = (): Row[] => {
        if (opts.afterId !== undefined) {
          const ref = this.s('getDelivery').get(opts.afterId) as Row | undefined
          if (!ref) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: opts.afterId })
          return this.s('pendingAfter').all({ priority: ref.priority, seq: ref.seq, limit }) as Row[]
        }
        return this.s('pending').all(limit) as Row[]
      }
      const lease = opts.lease
      if (!lease) return read().map(pendingFromRow)
      // one immediate transaction: another process on the file waits for it, and takes what is left
      const now = lease.at ?? new Date()
      const until = new Date(now.getTime() + lease.ms).toISOString()
      return this.db
        .transaction(() => read().filter((r) => this.s('takeLease').run({ id: r.id, owner: lease.owner, now: now.toISOString(), until }).changes === 1))
        .immediate()
        .map(pendingFromRow)
    })
  }

  listAwaitingSignature(opts: { limit: number; signer?: string; afterSeq?: number }): Promise<AwaitingSignature[]> {
    return this.run('listAwaitingSignature', () =>
      (this.s('awaitingList').all({ after: opts.afterSeq ?? 0, signer: orNull(opts.signer), limit: Math.max(1, Math.trunc(opts.limit) || 1) }) as Row[]).map(awaitingFromRow),
    )
  }

  countAwaitingSignature(signer?: string): Promise<number> {
    return this.run('countAwaitingSignature', () => ((signer === undefined ? this.s('countAwaiting').get() : this.s('countAwaitingOf').get(signer)) as { n: number }).n)
  }

  getAwaitingSignature(packageId: string): Promise<AwaitingSignature | undefined> {
    return this.run('getAwaitingSignature', () => {
      const r = this.s('awaitingOf').get(packageId) as Row | undefined
      return r ? awaitingFromRow(r) : undefined
    })
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

  async getPackageBytes(id: string): Promise<PackageBytes | undefined> {
    const r = await this.run('getPackageBytes', () => {
      const r = this.s('getBytes').get(id) as Row | undefined
      if (r?.purged_at) throw purgedError('package', id, r)
      return r
    })
    return r ? { bytes: await this.bytesOf(r, 'getPackageBytes'), signature: r.signature as Buffer } : undefined
  }

  listPackages(f: ListPackagesFilter): Promise<Page<PackageWithDeliveries>> {
    return this.run('listPackages', () => {
      // by sender and DocumentId (the send path's DocumentId check, every status received): usually none, and
      // asking the index alone (covering) whether there is one costs a fraction of the full query
      if (f.senderOrganId !== undefined && f.documentId !== undefined && f.cursor === undefined && !this.s('anyByDocument').get(f.senderOrganId, f.documentId)) return { items: [] }
      const l = listPackagesQuery(SQLITE, f)
      const rows = this.all(l)
      const ds = rows.length ? (this.s('deliveriesOf').all(JSON.stringify(rows.slice(0, l.limit - 1).map((r) => r.id))) as Row[]) : []
      return pageFrom(rows, l.limit, 'p', withDeliveries(ds))
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
      const l = listDeliveriesQuery(SQLITE, f)
      return pageFrom(this.all(l), l.limit, 'd', deliveryWithPackageFromRow)
    })
  }

  // ---- event log ----------------------------------------------------------------------------------------

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
      const ps = new Params(SQLITE)
      const before = f.cursor === undefined ? undefined : decodeCursor('e', f.cursor)
      // with an agency, each branch reads the agency's own index (sender|recipient [, direction], seq) newest first:
      // `+` keeps the planner off the time/state/type indexes, which it picks on sampled statistics and which
      // then read every row of that state or period across all agencies (0.2-0.3 s at 1M events, bench:log)
      eventConditions(SQLITE, f, ps, before, f.organId !== undefined)
      if (f.until !== undefined && f.since === undefined && f.organId === undefined && f.text === undefined && f.documentId === undefined && f.packageId === undefined) {
        const bound = this.untilBound(f.until.toISOString(), before)
        ps.add(bound, (x) => `e.seq <= ${x}`)
      }
      const extra: string[] = []
      if (f.text !== undefined) {
        const glob = globPattern(f.text)
        const matches = (this.s('textProbe').get({ glob, cap: this.textDenseMatches }) as { n: number }).n
        const g = ps.p(glob)
        extra.push(matches >= this.textDenseMatches ? textEach(g) : textIndexed(g))
      }
      const rows = this.q(eventsSql(f, ps, limit, extra)).all(ps.named()) as Row[]
      return pageFrom(rows, limit, 'e', eventFromRow)
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

  logHead(): Promise<{ seq: number; hash: string }> {
    return this.run('logHead', () => {
      const r = this.s('logHead').get() as { seq: number; hash: string } | undefined
      return r ? { seq: Number(r.seq), hash: String(r.hash) } : { seq: 0, hash: GENESIS_HASH }
    })
  }

  logHashAt(seq: number): Promise<string | undefined> {
    return this.run('logHashAt', () => (this.s('logHashAt').get(seq) as { hash: string } | undefined)?.hash)
  }

  listLogAnchors(): Promise<LogAnchor[]> {
    return this.run('listLogAnchors', () => {
      // a store file older than migration 009 opened read-only has no anchors
      if (!this.s('hasLogAnchors').get()) return []
      return (this.s('listLogAnchors').all() as Row[]).map(anchorFromRow)
    })
  }

  // ---- receive path (writes: core.ts) -------------------------------------------------------------------

  getIncoming(id: string): Promise<StoredIncoming | undefined> {
    return this.run('getIncoming', () => {
      const r = this.s('getIncoming').get(id) as Row | undefined
      return r ? incomingFromRow(r) : undefined
    })
  }

  async getIncomingBytes(id: string): Promise<{ bytes: Uint8Array; signature?: Uint8Array } | undefined> {
    const r = await this.run('getIncomingBytes', () => {
      const r = this.s('getIncomingBytes').get(id) as Row | undefined
      if (r?.purged_at) throw purgedError('incoming package', id, r)
      return r
    })
    if (!r) return undefined
    const bytes = await this.bytesOf(r, 'getIncomingBytes')
    return r.signature ? { bytes, signature: r.signature as Buffer } : { bytes }
  }

  findIncomingByDocument(senderOrganId: string, documentId: string): Promise<StoredIncoming[]> {
    return this.run('findIncomingByDocument', () => (this.s('incomingByDocument').all(senderOrganId, documentId) as Row[]).map(incomingFromRow))
  }

  listIncoming(f: ListIncomingFilter): Promise<Page<StoredIncoming>> {
    return this.run('listIncoming', () => {
      const l = listIncomingQuery(SQLITE, f)
      return pageFrom(this.all(l), l.limit, 'i', incomingFromRow)
    })
  }

  // ---- operational queues (writes: core.ts) ------------------------------------------------------------

  pendingWebhooks(opts: { limit: number; afterSeq?: number }): Promise<WebhookDelivery[]> {
    return this.run('pendingWebhooks', () =>
      (this.s('pendingWebhooks').all(opts.afterSeq ?? 0, Math.max(1, Math.trunc(opts.limit) || 1)) as Row[]).map(webhookFromRow),
    )
  }

  // ---- health, metrics, lifecycle -----------------------------------------------------------------------

  ping(): Promise<void> {
    return this.run('ping', () => {
      this.s('ping').get()
    })
  }

  stats(): Promise<StoreStats> {
    return this.run('stats', () =>
      statsOf(
        this.s('countDeliveries').all() as Row[],
        this.s('countIncoming').all() as Row[],
        (this.s('countEvents').get() as { n: number }).n,
        (this.s('countAwaiting').get() as { n: number }).n,
      ),
    )
  }

  async close(): Promise<void> {
    if (!this.db.open) return
    clearTimeout(this.indexTimer)
    this.indexTimer = undefined
    // writes already requested are committed (or rejected) before the connection goes away
    await this.writes.flushed()
    return this.run('close', () => {
      if (!this.db.open) return
      clearTimeout(this.indexTimer)
      if (!this.db.readonly) this.db.pragma('optimize')
      this.db.close()
    })
  }

  /**
   * An online copy of the whole store into the new file `dest` (SQLite's backup API): consistent with the WAL (the
   * copy is the database as of one read transaction, committed WAL frames included), while this or another process
   * keeps writing. All pages are copied in one step, so a write by another connection cannot restart the copy;
   * readers never block writers in WAL mode, so the gateway keeps running meanwhile.
   */
  async backup(dest: string): Promise<{ pages: number }> {
    try {
      const r = await this.db.backup(dest, { progress: () => 0x7fffffff })
      // the copy is one self-contained file (rollback journal): opened read-only it needs no -wal/-shm beside it;
      // the gateway puts it back in WAL mode when it opens it
      const copy = new Database(dest)
      try {
        copy.pragma('journal_mode = DELETE')
      } finally {
        copy.close()
      }
      return { pages: r.totalPages }
    } catch (e) {
      throw mapSqliteError(e, `backup to ${dest}`)
    }
  }

  /** SQLite's `quick_check`: 'ok', or the problems it lists (a file damaged below the store's own checks). */
  quickCheck(): Promise<string> {
    return this.run('quickCheck', () => (this.db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; '))
  }

  /** The schema version recorded in the file (0: not a store). */
  schemaVersion(): Promise<number> {
    return this.run('schemaVersion', () => currentVersion(this.db))
  }

  /** The underlying connection, for the store's own tests and tools (never for the pipeline). */
  get raw(): Database.Database {
    return this.db
  }
}

// the bytes of a large package are not read with the page (PENDING_INLINE_BYTES; from PART_THRESHOLD they are in parts)
const PENDING_SELECT = `SELECT d.id, d.package_id, d.recipient, d.priority, d.attempts, d.created_at, p.kind, p.document_id, p.sender, p.sha256, p.size,
    CASE WHEN p.size < ${PENDING_INLINE_BYTES} AND b.parts_key IS NULL THEN b.bytes END AS bytes, b.signature, b.parts_key
  FROM deliveries d INDEXED BY deliveries_outbox JOIN packages p ON p.id = d.package_id JOIN package_bytes b ON b.package_id = d.package_id`

/** Text filter, event by event: the package's folded search text matches. */
const textEach = (g: string): string =>
  `(EXISTS (SELECT 1 FROM packages tp WHERE tp.id = e.package_id AND tp.search GLOB ${g}) OR EXISTS (SELECT 1 FROM incoming ti WHERE ti.id = e.package_id AND ti.search GLOB ${g}))`
/** Text filter through the trigram index (migrations 002, 003) plus the rows not indexed yet. */
const textIndexed = (g: string): string => `e.package_id IN (
  SELECT id FROM packages WHERE seq IN (SELECT rowid FROM packages_fts WHERE search GLOB ${g})
  UNION ALL SELECT id FROM packages WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'packages') AND search GLOB ${g}
  UNION ALL SELECT id FROM incoming WHERE seq IN (SELECT rowid FROM incoming_fts WHERE search GLOB ${g})
  UNION ALL SELECT id FROM incoming WHERE seq > (SELECT seq FROM search_indexed WHERE name = 'incoming') AND search GLOB ${g})`

/** How long after a write the search index catches up (ms); rows not indexed yet are still found. */
const SEARCH_INDEX_DELAY_MS = 1000

/** Upper bounds of one group commit (keep one batch's event-loop block short). */
const MAX_BATCH = 256
const MAX_BATCH_BYTES = 8 * 1024 * 1024
