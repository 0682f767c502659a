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
import { GatewayError, gwError } from '../errors.js'
import { CoreStore, purgedError, type Tx, type WriteOps } from './core.js'
import { decodeCursor, pageLimit } from './cursor.js'
import { eventConditions, eventsSql, listDeliveriesQuery, listIncomingQuery, listPackagesQuery, pageFrom, Params, type Dialect } from './filters.js'
import { ChainHead, eachWrite, runAsync, WriteQueue, type ChainedRow, type Outcome, type QueuedWrite } from './group-commit.js'
import { CHAIN_COLUMNS, ChainVerifier, GENESIS_HASH } from './hash-chain.js'
import { LATEST_VERSION, migrationMessage, MIGRATIONS } from './migrations/index.js'
import { idempotencyFromRow, INCOMING_COLS, iso, orNull, PACKAGE_COLS, statsOf, type Row } from './records.js'
import { anchorFromRow, awaitingFromRow, deliveryFromRow, deliveryWithPackageFromRow, eventFromRow, incomingFromRow, packageFromRow, pendingFromRow, timelineFromRow, webhookFromRow, withDeliveries } from './rows.js'
import { likePattern, TEXT_SCAN_WINDOW } from './search.js'
import type { StoreLogger } from './sqlite-store.js'
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
  PendingLease,
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

type Client = pg.PoolClient

/** Upper bound of writes per group commit. */
const MAX_BATCH = 256

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
      // every migration whose version is not recorded (not only those above the highest): branches merge in any order
      const recorded = new Set((await c.query('SELECT version FROM schema_version')).rows.map((r) => Number(r.version)))
      for (const m of MIGRATIONS) {
        if (recorded.has(m.version)) continue
        await c.query('BEGIN')
        await c.query("SELECT pg_advisory_xact_lock(hashtext('lienthong-migrate'))")
        if ((await c.query('SELECT 1 FROM schema_version WHERE version = $1', [m.version])).rowCount) {
          await c.query('COMMIT')
          continue
        }
        await c.query(m.pg)
        await c.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, iso()])
        await c.query('COMMIT')
        opts.logger?.info({ store: 'pg', version: m.version, migration: m.name, description: m.description ?? m.name }, migrationMessage(m))
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

/** From this size a bytes row is read a slice at a time (`byteaOf`). */
const LARGE_BYTEA = 4 * 1024 * 1024
/** A bytes row's bytes when under LARGE_BYTEA, else NULL and its size. */
const BYTES_OR_SIZE = `octet_length(b.bytes) AS size, CASE WHEN octet_length(b.bytes) < ${LARGE_BYTEA} THEN b.bytes END AS bytes`
/** Bytes per query when a large bytea is read. */
const BYTEA_SLICE = 1024 * 1024

// the bytes of a large package are not read with the page (PENDING_INLINE_BYTES; not detoasted either)
const PENDING_SELECT = `SELECT d.id, d.seq, d.package_id, d.recipient, d.priority, d.attempts, d.created_at, p.kind, p.document_id, p.sender, p.sha256, p.size,
    CASE WHEN p.size < ${PENDING_INLINE_BYTES} THEN b.bytes END AS bytes, b.signature
  FROM deliveries d JOIN packages p ON p.id = d.package_id JOIN package_bytes b ON b.package_id = d.package_id`

/** pg's placeholders and spellings for the shared filters (filters.ts). */
const PG: Dialect = {
  placeholder: (n) => `$${n}`,
  oneOf: (col, x) => `${col} = ANY(${x}::text[])`,
  list: (values) => [...values],
  noIndex: (col) => col,
}

/** `INSERT INTO events ... SELECT FROM unnest(...)` for chained rows, parameters collected in `ps`. */
function eventsInsert(ps: Params, rows: ChainedRow[], where = ''): string {
  const col = <K extends keyof ChainedRow>(k: K, type: string): string => `${ps.p(rows.map((r) => r[k]))}::${type}[]`
  return `INSERT INTO events (${CHAIN_COLUMNS})
    SELECT * FROM unnest(${col('seq', 'bigint')}, ${col('time', 'text')}, ${col('direction', 'text')}, ${col('type', 'text')}, ${col('package_id', 'text')},
      ${col('delivery_id', 'text')}, ${col('document_id', 'text')}, ${col('sender', 'text')}, ${col('recipient', 'text')}, ${col('actor', 'text')},
      ${col('from_state', 'text')}, ${col('state', 'text')}, ${col('changed', 'int')}, ${col('status_code', 'text')}, ${col('cause', 'text')},
      ${col('detail', 'text')}, ${col('prev_hash', 'text')}, ${col('hash', 'text')}) ${where}`
}

const first = async (c: Client | pg.Pool, sql: string, values: unknown[]): Promise<Row | undefined> => (await c.query(sql, values)).rows[0] as Row | undefined

/** The write path's SQL on one batch's connection (core.ts WriteOps). */
function pgOps(c: Client): WriteOps {
  return {
    async claimIdempotency(idem, packageId, at) {
      const claimed = await c.query(
        'INSERT INTO idempotency_keys (client_id, key, request_hash, package_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING key',
        [idem.clientId, idem.key, idem.requestHash, packageId, at],
      )
      if (claimed.rowCount !== 0) return undefined
      return first(c, 'SELECT request_hash, package_id FROM idempotency_keys WHERE client_id = $1 AND key = $2', [idem.clientId, idem.key])
    },
    async outgoingOf(id) {
      const pkg = (await first(c, `SELECT ${PACKAGE_COLS} FROM packages WHERE id = $1`, [id]))!
      return { pkg, deliveries: (await c.query('SELECT * FROM deliveries WHERE package_id = $1 ORDER BY seq', [id])).rows as Row[] }
    },
    async insertOutgoing(w) {
      // one round trip: package, bytes, deliveries and their events (nothing if the package id exists)
      const ps = new Params(PG)
      const v = (x: unknown): string => ps.p(x)
      const r = w.row
      const sql = `WITH p AS (
          INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, search, created_at)
          VALUES (${[r.id, r.kind, r.document_id, r.sender, r.client_id, r.sha256, r.size, r.priority, r.subject, r.code_number, r.code_notation, r.promulgation_date, r.status_code, r.metadata, r.search, r.created_at].map(v).join(', ')})
          ON CONFLICT (id) DO NOTHING RETURNING id),
        b AS (INSERT INTO package_bytes (package_id, bytes, signature) SELECT id, ${v(w.bytes)}::bytea, ${v(w.signature)}::bytea FROM p),
        d AS (INSERT INTO deliveries (id, package_id, recipient, priority, state, attempts, created_at, updated_at)
          SELECT u.id, p.id, u.recipient, ${v(r.priority)}::int, 'accepted', 0, ${v(r.created_at)}::text, ${v(r.created_at)}::text
          FROM p, unnest(${v(w.deliveries.map((d) => d.id))}::text[], ${v(w.deliveries.map((d) => d.recipient))}::text[]) AS u (id, recipient)),
        e AS (${eventsInsert(ps, w.events, 'WHERE EXISTS (SELECT 1 FROM p)')})
        SELECT count(*)::int AS n FROM p`
      // the idempotency key was claimed first (claimIdempotency); its foreign key is checked at commit
      return (await c.query(sql, ps.values)).rows[0].n !== 0
    },
    deliveryForUpdate: (id) =>
      first(
        c,
        `SELECT d.*, p.document_id, p.sender, x.purged_at, x.reason AS purge_reason FROM deliveries d JOIN packages p ON p.id = d.package_id
         LEFT JOIN purged_bytes x ON x.direction = 'out' AND x.id = d.package_id WHERE d.id = $1 FOR UPDATE OF d`,
        [id],
      ),
    async countAttempt(id) {
      await c.query('UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1', [id])
    },
    async lockDeliveries(ids) {
      await c.query('SELECT id FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[...ids]])
    },
    async updateDelivery(id, state, o, at) {
      await c.query(
        `UPDATE deliveries SET state = $2, status_code = coalesce($3, status_code), reason = $4, updated_at = $5, discarded_at = NULL,
           queued_at = CASE WHEN $2 = 'queued' THEN coalesce(queued_at, $5) ELSE queued_at END
         WHERE id = $1`,
        [id, state, orNull(o.statusCode), orNull(o.reason), at],
      )
    },
    async incomingByDocument(sender, documentId) {
      // the canonical identity, locked for the rest of the transaction (then read: the read sees every commit)
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended(upper($1::text) || chr(31) || $2::text, 12))', [sender, documentId])
      return (await c.query(`SELECT ${INCOMING_COLS} FROM incoming WHERE upper(sender) = upper($1::text) AND document_id = $2 ORDER BY seq`, [sender, documentId])).rows as Row[]
    },
    async insertIncoming({ row: r, bytes, signature }) {
      const ins = await c.query(
        `INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, verdict, search, state, reason, related_id, received_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
         ON CONFLICT (upper(sender), document_id, sha256, upper(recipient)) WHERE state NOT IN ('rejected', 'discarded') DO NOTHING RETURNING ${INCOMING_COLS}`,
        [
          r.id, r.kind, r.document_id, r.sender, r.recipient, r.message_id, r.sha256, r.size, r.priority, r.subject, r.code_number, r.code_notation,
          r.promulgation_date, r.status_code, r.metadata, r.verdict, r.search, r.state, r.reason, r.related_id, r.at,
        ],
      )
      if (ins.rowCount === 0) {
        const duplicate = await first(
          c,
          `SELECT ${INCOMING_COLS} FROM incoming WHERE sha256 = $1 AND upper(sender) IS NOT DISTINCT FROM upper($2::text) AND document_id IS NOT DISTINCT FROM $3::text
             AND upper(recipient) IS NOT DISTINCT FROM upper($4::text) AND state NOT IN ('rejected', 'discarded')`,
          [r.sha256, r.sender, r.document_id, r.recipient],
        )
        return { duplicate: duplicate! }
      }
      await c.query('INSERT INTO incoming_bytes (incoming_id, bytes, signature) VALUES ($1, $2, $3)', [r.id, bytes, signature])
      return { row: ins.rows[0] as Row }
    },
    incomingForUpdate: (id) => first(c, `SELECT ${INCOMING_COLS} FROM incoming WHERE id = $1 FOR UPDATE`, [id]),
    async updateIncoming(id, state, o, at) {
      await c.query(
        `UPDATE incoming SET state = $2, status_code = coalesce($3, status_code), reason = coalesce($4, reason), updated_at = $5,
           fetched_at = CASE WHEN $2 = 'fetched' THEN coalesce(fetched_at, $5) ELSE fetched_at END
         WHERE id = $1`,
        [id, state, orNull(o.statusCode), orNull(o.reason), at],
      )
    },
    async insertEvents(rows) {
      if (!rows.length) return
      const ps = new Params(PG)
      await c.query(eventsInsert(ps, rows), ps.values)
    },
    async setDiscarded(id, at) {
      await c.query('UPDATE deliveries SET discarded_at = $2 WHERE id = $1', [id, at])
    },
    async insertWebhooks(rows) {
      const a = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k])
      await c.query(
        `INSERT INTO webhook_deliveries (id, client_id, organ_id, event, url, data, occurred_at, state, attempts, next_attempt_at, created_at, updated_at)
         SELECT u.*, u.created_at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[])
           AS u (id, client_id, organ_id, event, url, data, occurred_at, state, attempts, next_attempt_at, created_at)`,
        [a('id'), a('client_id'), a('organ_id'), a('event'), a('url'), a('data'), a('occurred_at'), a('state'), a('attempts'), a('next_attempt_at'), a('created_at')],
      )
    },
    webhookForUpdate: (id) => first(c, 'SELECT * FROM webhook_deliveries WHERE id = $1 FOR UPDATE', [id]),
    async insertAwaitingSignature(r) {
      await c.query('INSERT INTO awaiting_signature (package_id, signer, since, reason, attempts) VALUES ($1, $2, $3, $4, 0)', [r.package_id, r.signer, r.since, r.reason])
    },
    awaitingForUpdate: (id) => first(c, 'SELECT * FROM awaiting_signature WHERE package_id = $1 FOR UPDATE', [id]),
    async storeSignature(id, signature) {
      await c.query('UPDATE package_bytes SET signature = $2 WHERE package_id = $1', [id, signature])
      await c.query('DELETE FROM awaiting_signature WHERE package_id = $1', [id])
    },
    async noteSignatureAttempt(id, error, at) {
      await c.query('UPDATE awaiting_signature SET attempts = attempts + 1, last_error = $2, last_attempt_at = $3 WHERE package_id = $1', [id, error, at])
    },
    async insertLogAnchor(a) {
      const r = await c.query('INSERT INTO log_anchors (seq, hash, anchored_at, tsa, gen_time, token) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING', [
        a.seq, a.hash, a.anchoredAt, a.tsa, a.genTime, Buffer.from(a.token),
      ])
      return r.rowCount === 1
    },
    async outgoingToPurge(q) {
      const r = await c.query(
        `SELECT p.id, p.size FROM packages p
         WHERE p.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = p.id)
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id
             AND d.state <> ALL (CASE WHEN p.kind = 'edoc' THEN $2::text[] ELSE $3::text[] END))
           AND (NOT $4::boolean OR EXISTS (SELECT 1 FROM deliveries d WHERE d.package_id = p.id AND d.state = 'failed'))
         ORDER BY p.created_at, p.seq LIMIT $5`,
        [q.before, [...q.done.edoc], [...q.done.status], q.needsFailed, q.limit],
      )
      return r.rows.map((x) => ({ id: String(x.id), size: Number(x.size) }))
    },
    async incomingToPurge(q) {
      const r = await c.query(
        `SELECT i.id, i.size FROM incoming i
         WHERE i.received_at < $1
           AND i.state = ANY (CASE WHEN i.kind = 'edoc' THEN $2::text[] ELSE $3::text[] END)
           AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = i.id)
         ORDER BY i.received_at, i.seq LIMIT $4`,
        [q.before, [...q.done.edoc], [...q.done.other], q.limit],
      )
      return r.rows.map((x) => ({ id: String(x.id), size: Number(x.size) }))
    },
    async purgeBytes(direction, rows, at, reason) {
      const ids = rows.map((r) => r.id)
      await c.query('INSERT INTO purged_bytes (direction, id, purged_at, reason, size) SELECT $1, u.id, $3, $4, u.size FROM unnest($2::text[], $5::bigint[]) AS u (id, size)', [
        direction,
        ids,
        at,
        reason,
        rows.map((r) => r.size),
      ])
      await c.query(
        direction === 'out'
          ? "UPDATE package_bytes SET bytes = ''::bytea, signature = ''::bytea WHERE package_id = ANY($1::text[])"
          : "UPDATE incoming_bytes SET bytes = ''::bytea, signature = NULL WHERE incoming_id = ANY($1::text[])",
        [ids],
      )
    },
    async idempotencyKeysBefore(before, remove) {
      if (remove) return (await c.query('DELETE FROM idempotency_keys WHERE created_at < $1', [before])).rowCount ?? 0
      return Number((await c.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE created_at < $1', [before])).rows[0].n)
    },
    async deliveryAttempts(key) {
      const r = await c.query('SELECT unfinished FROM delivery_attempts WHERE key = $1 FOR UPDATE', [key])
      return r.rows[0] ? Number(r.rows[0].unfinished) : undefined
    },
    async setDeliveryAttempts(key, unfinished, at) {
      if (unfinished === null) await c.query('DELETE FROM delivery_attempts WHERE key = $1', [key])
      else {
        await c.query(
          `INSERT INTO delivery_attempts (key, unfinished, first_at, updated_at) VALUES ($1, $2, $3, $3)
           ON CONFLICT (key) DO UPDATE SET unfinished = EXCLUDED.unfinished, updated_at = EXCLUDED.updated_at`,
          [key, unfinished, at],
        )
      }
    },
    async pruneDeliveryAttempts(before) {
      await c.query('DELETE FROM delivery_attempts WHERE updated_at < $1', [before])
    },
    async updateWebhook(id, u) {
      await c.query('UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, last_status = $5, last_error = $6, updated_at = $7 WHERE id = $1', [
        id, u.state, u.attempts, u.next_attempt_at, u.last_status, u.last_error, u.updated_at,
      ])
    },
  }
}

export class PgStore extends CoreStore implements Store {
  private closed = false
  protected readonly writes = new WriteQueue<Tx>((batch) => this.commit(batch), mapPgError, { maxWrites: MAX_BATCH })

  constructor(
    private readonly pool: pg.Pool,
    private readonly textScanWindow: number = TEXT_SCAN_WINDOW,
  ) {
    super()
  }

  /**
   * The bytes of a bytes row read with BYTES_OR_SIZE: as read when small; from LARGE_BYTEA on, a slice of
   * BYTEA_SLICE per query, into one buffer: node-postgres parses a result row (bytea as hex text) on the event loop,
   * and one 67 MB bytea held it for 356 ms in one read on the development machine. The bytes never change
   * (triggers); a purge that empties them meanwhile shows as a short read.
   */
  private async byteaOf(q: pg.Pool, r: Row, table: 'package_bytes' | 'incoming_bytes', idCol: 'package_id' | 'incoming_id', id: string): Promise<Buffer> {
    if (r.bytes != null) return r.bytes as Buffer
    const size = Number(r.size)
    const out = Buffer.allocUnsafeSlow(size)
    for (let at = 0; at < size; at += BYTEA_SLICE) {
      const s = await q.query(`SELECT substring(bytes FROM $2 FOR $3) AS s FROM ${table} WHERE ${idCol} = $1`, [id, at + 1, BYTEA_SLICE])
      const part = s.rows[0]?.s as Buffer | undefined
      if (!part || part.length !== Math.min(BYTEA_SLICE, size - at)) throw gwError('GW_ERR_STORE_CONFLICT', { reason: `the bytes of ${id} changed while read (purged?): read them again` })
      part.copy(out, at)
    }
    return out
  }

  private async run<T>(op: string, fn: (q: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool)
    } catch (e) {
      throw mapPgError(e, op)
    }
  }

  /**
   * One group-commit batch (group-commit.ts): one READ COMMITTED transaction, a savepoint per write, one COMMIT.
   * The transaction takes the chain-head lock first, before any row lock, so batches of several gateway processes
   * serialise on it and can never deadlock; the head is then kept in memory for the batch and written back once.
   */
  private async commit(batch: QueuedWrite<Tx>[]): Promise<Outcome[]> {
    const c = await this.pool.connect()
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
      const x: Tx = { ops: pgOps(c), head: new ChainHead(Number(h.seq), h.hash) }
      const start = x.head.seq
      const outcomes = await runAsync(
        eachWrite(
          batch,
          x.head,
          async (w) => {
            await c.query('SAVEPOINT w')
            try {
              const value = await runAsync(w.body(x))
              await c.query('RELEASE SAVEPOINT w')
              return value
            } catch (e) {
              try {
                await c.query('ROLLBACK TO SAVEPOINT w')
                await c.query('RELEASE SAVEPOINT w')
              } catch (re) {
                broken ??= re // the transaction cannot go on: the whole batch fails
              }
              throw e
            }
          },
          mapPgError,
        ),
      )
      if (broken !== undefined) throw broken
      if (x.head.seq !== start) await c.query('UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1', [x.head.seq, x.head.hash])
      await c.query('COMMIT')
      if (broken !== undefined) throw broken
      return outcomes
    } catch (e) {
      broken ??= e
      await c.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      c.off('error', onError)
      // a connection that failed is discarded, not returned to the pool
      c.release(broken instanceof Error ? broken : undefined)
    }
  }

  // ---- send path (writes: core.ts) ----------------------------------------------------------------------

  findIdempotent(clientId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.run('findIdempotent', async (q) => {
      const r = await first(q, 'SELECT client_id, key, request_hash, package_id, created_at FROM idempotency_keys WHERE client_id = $1 AND key = $2', [clientId, key])
      return r ? idempotencyFromRow(r) : undefined
    })
  }

  pendingDeliveries(opts: PendingQuery): Promise<PendingDelivery[]> {
    return this.run('pendingDeliveries', async (q) => {
      const limit = Math.max(1, Math.trunc(opts.limit) || 1)
      let rows: Row[]
      if (opts.lease) return (await this.leasePending(q, limit, opts.lease, opts.afterId)).map(pendingFromRow)
      if (opts.afterId !== undefined) {
        const ref = await first(q, 'SELECT priority, seq FROM deliveries WHERE id = $1', [opts.afterId])
        if (!ref) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: opts.afterId })
        rows = (
          await q.query(
            `${PENDING_SELECT} WHERE d.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = d.package_id) AND (d.priority < $1 OR (d.priority = $1 AND d.seq > $2)) ORDER BY d.priority DESC, d.seq LIMIT $3`,
            [ref.priority, ref.seq, limit],
          )
        ).rows
      } else {
        // never a package awaiting its signature (013)
        rows = (await q.query(`${PENDING_SELECT} WHERE d.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = d.package_id) ORDER BY d.priority DESC, d.seq LIMIT $1`, [limit])).rows
      }
      return rows.map(pendingFromRow)
    })
  }

  /**
   * Pending rows nobody else holds, leased in one statement: the candidates are locked `FOR UPDATE SKIP LOCKED`
   * (rows another relay is leasing right now, or a write batch is moving, are passed over, never waited for), the
   * lease is written, and the leased rows are read with their bytes. One statement, no lock waited for: no deadlock
   * with the write batches (which take the chain head first).
   */
  private async leasePending(q: pg.Pool, limit: number, lease: PendingLease, afterId: string | undefined): Promise<Row[]> {
    const now = lease.at ?? new Date()
    const ps: unknown[] = [now.toISOString(), lease.owner, new Date(now.getTime() + lease.ms).toISOString(), limit]
    let after = ''
    if (afterId !== undefined) {
      const ref = await first(q, 'SELECT priority, seq FROM deliveries WHERE id = $1', [afterId])
      if (!ref) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'delivery', id: afterId })
      ps.push(ref.priority, ref.seq)
      after = 'AND (d.priority < $5 OR (d.priority = $5 AND d.seq > $6))'
    }
    const sql = `WITH c AS (
        SELECT d.id FROM deliveries d
        WHERE d.state = 'accepted' AND (d.lease_until IS NULL OR d.lease_until < $1 OR d.lease_owner = $2) ${after}
          AND NOT EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = d.package_id)
        ORDER BY d.priority DESC, d.seq LIMIT $4 FOR UPDATE SKIP LOCKED),
      u AS (UPDATE deliveries d SET lease_owner = $2, lease_until = $3 FROM c WHERE d.id = c.id RETURNING d.id)
      ${PENDING_SELECT} WHERE d.id IN (SELECT id FROM u) ORDER BY d.priority DESC, d.seq`
    return (await q.query(sql, ps)).rows as Row[]
  }

  listAwaitingSignature(opts: { limit: number; signer?: string; afterSeq?: number }): Promise<AwaitingSignature[]> {
    return this.run('listAwaitingSignature', async (q) => {
      const r = await q.query(
        `SELECT w.*, p.seq, p.kind, p.document_id, p.sender, p.priority, p.created_at FROM awaiting_signature w
         JOIN packages p ON p.id = w.package_id
         WHERE p.seq > $1 AND ($2::text IS NULL OR upper(w.signer) = upper($2::text)) ORDER BY p.seq LIMIT $3`,
        [opts.afterSeq ?? 0, orNull(opts.signer), Math.max(1, Math.trunc(opts.limit) || 1)],
      )
      return (r.rows as Row[]).map(awaitingFromRow)
    })
  }

  countAwaitingSignature(signer?: string): Promise<number> {
    return this.run('countAwaitingSignature', async (q) =>
      Number(
        (signer === undefined
          ? await q.query('SELECT count(*) AS n FROM awaiting_signature')
          : await q.query('SELECT count(*) AS n FROM awaiting_signature WHERE upper(signer) = upper($1::text)', [signer])
        ).rows[0].n,
      ),
    )
  }

  getAwaitingSignature(packageId: string): Promise<AwaitingSignature | undefined> {
    return this.run('getAwaitingSignature', async (q) => {
      const r = await first(
        q,
        'SELECT w.*, p.seq, p.kind, p.document_id, p.sender, p.priority, p.created_at FROM awaiting_signature w JOIN packages p ON p.id = w.package_id WHERE w.package_id = $1',
        [packageId],
      )
      return r ? awaitingFromRow(r) : undefined
    })
  }

  countAttempt(deliveryId: string): Promise<void> {
    return this.run('countAttempt', async (q) => {
      await q.query('UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1', [deliveryId])
    })
  }

  // ---- reads --------------------------------------------------------------------------------------------

  getPackage(id: string): Promise<StoredPackage | undefined> {
    return this.run('getPackage', async (q) => {
      const r = await first(q, `SELECT ${PACKAGE_COLS} FROM packages WHERE id = $1`, [id])
      return r ? packageFromRow(r) : undefined
    })
  }

  getPackageBytes(id: string): Promise<PackageBytes | undefined> {
    return this.run('getPackageBytes', async (q) => {
      const r = await first(
        q,
        `SELECT ${BYTES_OR_SIZE}, b.signature, x.purged_at, x.reason AS purge_reason FROM package_bytes b
         LEFT JOIN purged_bytes x ON x.direction = 'out' AND x.id = b.package_id WHERE b.package_id = $1`,
        [id],
      )
      if (r?.purged_at) throw purgedError('package', id, r)
      return r ? { bytes: await this.byteaOf(q, r, 'package_bytes', 'package_id', id), signature: r.signature as Buffer } : undefined
    })
  }

  listPackages(f: ListPackagesFilter): Promise<Page<PackageWithDeliveries>> {
    return this.run('listPackages', async (q) => {
      const l = listPackagesQuery(PG, f)
      const rows = (await q.query(l.sql, l.ps.values)).rows as Row[]
      const ids = rows.slice(0, l.limit - 1).map((r) => String(r.id))
      const ds = ids.length ? ((await q.query('SELECT * FROM deliveries WHERE package_id = ANY($1::text[]) ORDER BY seq', [ids])).rows as Row[]) : []
      return pageFrom(rows, l.limit, 'p', withDeliveries(ds))
    })
  }

  getDeliveries(packageId: string): Promise<Delivery[]> {
    return this.run('getDeliveries', async (q) => (await q.query('SELECT * FROM deliveries WHERE package_id = $1 ORDER BY seq', [packageId])).rows.map(deliveryFromRow))
  }

  getDelivery(deliveryId: string): Promise<Delivery | undefined> {
    return this.run('getDelivery', async (q) => {
      const r = await first(q, 'SELECT * FROM deliveries WHERE id = $1', [deliveryId])
      return r ? deliveryFromRow(r) : undefined
    })
  }

  findDelivery(qry: FindDeliveryQuery): Promise<Delivery | undefined> {
    return this.run('findDelivery', async (q) => {
      let r: Row | undefined
      if (qry.documentId) {
        r = await first(
          q,
          `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
           WHERE upper(p.sender) = upper($1::text) AND p.document_id = $2 AND p.kind = 'edoc' AND upper(d.recipient) = upper($3::text) ORDER BY p.seq DESC LIMIT 1`,
          [qry.senderOrganId, qry.documentId, qry.recipient],
        )
      }
      if (!r && qry.codeNumber) {
        r = await first(
          q,
          `SELECT d.* FROM deliveries d JOIN packages p ON p.id = d.package_id
           WHERE upper(p.sender) = upper($1::text) AND p.code_number = $2 AND p.code_notation IS NOT DISTINCT FROM $3::text AND p.kind = 'edoc'
             AND ($4::text IS NULL OR p.promulgation_date = $4::text) AND upper(d.recipient) = upper($5::text)
           ORDER BY p.seq DESC LIMIT 1`,
          [qry.senderOrganId, qry.codeNumber, orNull(qry.codeNotation), orNull(qry.promulgationDate), qry.recipient],
        )
      }
      return r ? deliveryFromRow(r) : undefined
    })
  }

  timeline(deliveryId: string): Promise<TimelineEntry[]> {
    return this.run('timeline', async (q) => (await q.query('SELECT * FROM events WHERE delivery_id = $1 ORDER BY seq', [deliveryId])).rows.map(timelineFromRow))
  }

  listDeliveries(f: ListDeliveriesFilter): Promise<Page<DeliveryWithPackage>> {
    return this.run('listDeliveries', async (q) => {
      const l = listDeliveriesQuery(PG, f)
      return pageFrom((await q.query(l.sql, l.ps.values)).rows, l.limit, 'd', deliveryWithPackageFromRow)
    })
  }

  // ---- event log ----------------------------------------------------------------------------------------

  /**
   * Log pages, newest first; agency filter as in the SQLite store. Text: the newest `textScanWindow` events are
   * checked one by one against their package's search text, then, if the page is not full, the older events of
   * the matching packages are read.
   */
  listEvents(f: ListEventsFilter): Promise<Page<LogEvent>> {
    return this.run('listEvents', async (q) => {
      const limit = pageLimit(f.limit) + 1
      const before = f.cursor === undefined ? undefined : decodeCursor('e', f.cursor)
      const query = async (lim: number, extra: (ps: Params) => string[]): Promise<Row[]> => {
        const ps = new Params(PG)
        eventConditions(PG, f, ps, before, false)
        const more = extra(ps)
        return (await q.query(eventsSql(f, ps, lim, more), ps.values)).rows as Row[]
      }
      let rows: Row[]
      if (f.text === undefined) {
        rows = await query(limit, () => [])
      } else {
        const like = likePattern(f.text)
        const top = before ?? Number((await q.query('SELECT seq FROM log_head WHERE id = 1')).rows[0].seq) + 1
        const low = Math.max(0, top - this.textScanWindow)
        rows = await query(limit, (ps) => {
          const x = ps.p(like)
          return [
            `e.seq >= ${ps.p(low)}`,
            `(EXISTS (SELECT 1 FROM packages tp WHERE tp.id = e.package_id AND tp.search LIKE ${x}) OR EXISTS (SELECT 1 FROM incoming ti WHERE ti.id = e.package_id AND ti.search LIKE ${x}))`,
          ]
        })
        if (rows.length < limit && low > 0) {
          const rest = await query(limit - rows.length, (ps) => {
            const x = ps.p(like)
            return [`e.seq < ${ps.p(low)}`, `e.package_id IN (SELECT id FROM packages WHERE search LIKE ${x} UNION ALL SELECT id FROM incoming WHERE search LIKE ${x})`]
          })
          rows = rows.concat(rest)
        }
      }
      return pageFrom(rows, limit, 'e', eventFromRow)
    })
  }

  async verifyLog(opts: VerifyLogOptions = {}): Promise<VerifyLogResult> {
    const from = Math.max(1, Math.trunc(opts.fromSeq ?? 1))
    const to = Math.trunc(opts.toSeq ?? Number.MAX_SAFE_INTEGER)
    return this.run('verifyLog', async (q) => {
      const anchor = await first(q, 'SELECT seq, hash FROM events WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [from])
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
        const head = (await first(q, 'SELECT seq, hash FROM log_head WHERE id = 1', []))!
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

  logHead(): Promise<{ seq: number; hash: string }> {
    return this.run('logHead', async (q) => {
      const h = await first(q, 'SELECT seq, hash FROM log_head WHERE id = 1', [])
      return h ? { seq: Number(h.seq), hash: String(h.hash) } : { seq: 0, hash: GENESIS_HASH }
    })
  }

  logHashAt(seq: number): Promise<string | undefined> {
    return this.run('logHashAt', async (q) => {
      const r = await first(q, 'SELECT hash FROM events WHERE seq = $1', [seq])
      return r ? String(r.hash) : undefined
    })
  }

  listLogAnchors(): Promise<LogAnchor[]> {
    return this.run('listLogAnchors', async (q) => {
      if (!(await first(q, "SELECT to_regclass('log_anchors') IS NOT NULL AS ok", []))?.ok) return []
      return ((await q.query('SELECT seq, hash, anchored_at, tsa, gen_time, token FROM log_anchors ORDER BY seq')).rows as Row[]).map(anchorFromRow)
    })
  }

  // ---- receive path (writes: core.ts) -------------------------------------------------------------------

  getIncoming(id: string): Promise<StoredIncoming | undefined> {
    return this.run('getIncoming', async (q) => {
      const r = await first(q, `SELECT ${INCOMING_COLS} FROM incoming WHERE id = $1`, [id])
      return r ? incomingFromRow(r) : undefined
    })
  }

  getIncomingBytes(id: string): Promise<{ bytes: Uint8Array; signature?: Uint8Array } | undefined> {
    return this.run('getIncomingBytes', async (q) => {
      const r = await first(
        q,
        `SELECT ${BYTES_OR_SIZE}, b.signature, x.purged_at, x.reason AS purge_reason FROM incoming_bytes b
         LEFT JOIN purged_bytes x ON x.direction = 'in' AND x.id = b.incoming_id WHERE b.incoming_id = $1`,
        [id],
      )
      if (!r) return undefined
      if (r.purged_at) throw purgedError('incoming package', id, r)
      const bytes = await this.byteaOf(q, r, 'incoming_bytes', 'incoming_id', id)
      return r.signature ? { bytes, signature: r.signature as Buffer } : { bytes }
    })
  }

  findIncomingByDocument(senderOrganId: string, documentId: string): Promise<StoredIncoming[]> {
    return this.run('findIncomingByDocument', async (q) =>
      (await q.query(`SELECT ${INCOMING_COLS} FROM incoming WHERE upper(sender) = upper($1::text) AND document_id = $2 ORDER BY seq`, [senderOrganId, documentId])).rows.map(incomingFromRow),
    )
  }

  listIncoming(f: ListIncomingFilter): Promise<Page<StoredIncoming>> {
    return this.run('listIncoming', async (q) => {
      const l = listIncomingQuery(PG, f)
      return pageFrom((await q.query(l.sql, l.ps.values)).rows, l.limit, 'i', incomingFromRow)
    })
  }

  // ---- operational queues (writes: core.ts) ------------------------------------------------------------

  pendingWebhooks(opts: { limit: number; afterSeq?: number }): Promise<WebhookDelivery[]> {
    return this.run('pendingWebhooks', async (q) =>
      (await q.query("SELECT * FROM webhook_deliveries WHERE state = 'pending' AND seq > $1 ORDER BY seq LIMIT $2", [opts.afterSeq ?? 0, Math.max(1, Math.trunc(opts.limit) || 1)])).rows.map(webhookFromRow),
    )
  }

  // ---- health, metrics, lifecycle -----------------------------------------------------------------------

  ping(): Promise<void> {
    return this.run('ping', async (q) => {
      await q.query('SELECT 1')
    })
  }

  stats(): Promise<StoreStats> {
    return this.run('stats', async (q) => {
      const deliveries = (await q.query('SELECT state, count(*) AS n FROM deliveries GROUP BY state')).rows as Row[]
      const incoming = (await q.query('SELECT state, count(*) AS n FROM incoming GROUP BY state')).rows as Row[]
      const events = Number((await q.query('SELECT seq AS n FROM log_head WHERE id = 1')).rows[0].n) // gapless chain
      const awaiting = Number((await q.query('SELECT count(*) AS n FROM awaiting_signature')).rows[0].n)
      return statsOf(deliveries, incoming, events, awaiting)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // writes already requested are committed (or rejected) before the pool goes away
    await this.writes.flushed()
    await this.pool.end()
  }
}
