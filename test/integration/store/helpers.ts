/**
 * Store test helpers: each test opens its own store on a real database (an SQLite file in t.testdir(), and a
 * PostgreSQL schema created for the test and dropped after it when the PG store is available), through the same
 * `Store` interface, so every behaviour test runs against every implementation.
 */
import type { Test } from 'tap'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Store } from '../../../src/store/index.js'
import { openPgStore, openSqliteStore } from '../../../src/store/index.js'
import type { IncomingPackageInput, OutgoingPackageInput, RecordIncomingInput, RecordOutgoingInput } from '../../../src/store/types.js'

type T = Test

export interface OpenedStore {
  store: Store
  /** Close and open the same database again. */
  reopen(): Promise<Store>
  /** Raw, trigger-bypassing edits, as an attacker with file/database access would make them. */
  tamperUpdateEvent(seq: number, cause: string): Promise<void>
  tamperDeleteEvent(seq: number): Promise<void>
  /** Run SQL on a raw connection (no store code involved), e.g. to put a store back to an older schema. */
  rawSql(sql: string): Promise<void>
  /** PostgreSQL: the test's schema. */
  schema?: string
}

/** Tuning knobs of the text search, to reach every code path with little data. */
export interface TuningOptions {
  textScanWindow?: number
  textDenseMatches?: number
}

export interface StoreKind {
  name: string
  open(t: T, opts?: TuningOptions): Promise<OpenedStore>
}

export const sqliteKind: StoreKind = {
  name: 'sqlite',
  async open(t, opts = {}) {
    const path = join(t.testdir(), 'store.db')
    let store: Store = await openSqliteStore(path, opts)
    t.teardown(() => store.close())
    const raw = (fn: (db: Database.Database) => void): void => {
      const db = new Database(path)
      try {
        fn(db)
      } finally {
        db.close()
      }
    }
    return {
      get store() {
        return store
      },
      async reopen() {
        await store.close()
        store = await openSqliteStore(path, opts)
        return store
      },
      async tamperUpdateEvent(seq, cause) {
        raw((db) => {
          db.exec('DROP TRIGGER IF EXISTS events_no_update')
          db.prepare('UPDATE events SET cause = ? WHERE seq = ?').run(cause, seq)
        })
      },
      async rawSql(sql) {
        raw((db) => db.exec(sql))
      },
      async tamperDeleteEvent(seq) {
        raw((db) => {
          db.exec('DROP TRIGGER IF EXISTS events_no_delete')
          db.prepare('DELETE FROM events WHERE seq = ?').run(seq)
        })
      },
    }
  },
}

/** PostgreSQL for the tests: LIENTHONG_TEST_PG_URL, default the local server; `LIENTHONG_TEST_PG_URL=off` skips it. */
export const PG_URL = process.env.LIENTHONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function pgReachable(): Promise<boolean> {
  if (PG_URL === 'off') return false
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
  try {
    await c.connect()
    await c.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await c.end().catch(() => {})
  }
}

/** Run SQL on a raw connection confined to `schema` (no store code involved). */
export async function pgRaw(schema: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` })
  await c.connect()
  try {
    await fn(c)
  } finally {
    await c.end()
  }
}

export const pgKind: StoreKind = {
  name: 'pg',
  async open(t, opts = {}) {
    // one schema per test, dropped afterwards
    const schema = `lt_test_${randomBytes(6).toString('hex')}`
    let store: Store = await openPgStore(PG_URL, { schema, max: 4, ...opts })
    t.teardown(async () => {
      await store.close()
      await pgRaw('public', async (c) => {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      })
    })
    const tamper = (sql: string, params: unknown[]): Promise<void> =>
      pgRaw(schema, async (c) => {
        // an administrator bypassing the triggers
        await c.query('SET session_replication_role = replica')
        await c.query(sql, params)
      })
    return {
      get store() {
        return store
      },
      schema,
      async reopen() {
        await store.close()
        store = await openPgStore(PG_URL, { schema, max: 4, ...opts })
        return store
      },
      tamperUpdateEvent: (seq, cause) => tamper('UPDATE events SET cause = $1 WHERE seq = $2', [cause, seq]),
      tamperDeleteEvent: (seq) => tamper('DELETE FROM events WHERE seq = $1', [seq]),
      rawSql: (sql) =>
        pgRaw(schema, async (c) => {
          await c.query(sql)
        }),
    }
  },
}

export const pgAvailable = await pgReachable()
if (!pgAvailable && PG_URL !== 'off') {
  console.error(`# store tests: PostgreSQL not reachable at ${PG_URL}; only SQLite is tested (LIENTHONG_TEST_PG_URL)`)
}

/** The store kinds the behaviour tests run against. */
export const storeKinds: StoreKind[] = pgAvailable ? [sqliteKind, pgKind] : [sqliteKind]

/** Run `fn` as a subtest per store kind. */
export function eachStore(t: T, name: string, fn: (t: T, s: OpenedStore) => Promise<void>, opts?: TuningOptions): void {
  for (const kind of storeKinds) {
    t.test(`${name} [${kind.name}]`, async (t) => fn(t, await kind.open(t, opts)))
  }
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

export function pkg(over: Partial<OutgoingPackageInput> = {}): OutgoingPackageInput {
  const bytes = over.bytes ?? randomBytes(1024)
  return {
    id: randomUUID(),
    kind: 'edoc',
    documentId: randomUUID(),
    senderOrganId: '000.00.01.H26',
    clientId: 'dms-hanoi',
    bytes,
    signature: randomBytes(256),
    sha256: sha256(bytes),
    priority: 0,
    subject: 'Về việc triển khai liên thông văn bản điện tử',
    codeNumber: '123',
    codeNotation: 'UBND-VP',
    promulgationDate: '2026-11-20',
    metadata: { documentType: 'Công văn', attachments: [{ name: 'cv.pdf', contentType: 'application/pdf' }] },
    ...over,
  }
}

export function outgoing(over: Omit<Partial<RecordOutgoingInput>, 'package'> & { package?: Partial<OutgoingPackageInput> } = {}): RecordOutgoingInput {
  const { package: p, ...rest } = over
  return {
    recipients: ['000.00.02.H26', '000.00.03.H26'],
    actor: 'client:dms-hanoi',
    ...rest,
    package: pkg(p),
  }
}

/** A received package as the receive pipeline stores it (valid → received, failed → rejected). */
export function incomingInput(over: Partial<IncomingPackageInput> = {}, state: 'arrived' | 'rejected' = 'arrived', at?: Date): RecordIncomingInput {
  const bytes = over.bytes ?? randomBytes(2048)
  return {
    package: {
      id: randomUUID(),
      kind: 'edoc',
      documentId: randomUUID(),
      senderOrganId: '000.00.00.G22',
      recipient: '000.00.01.H26',
      messageId: randomUUID(),
      bytes,
      signature: randomBytes(300),
      sha256: sha256(bytes),
      subject: 'Thông báo kết luận',
      codeNumber: '9',
      codeNotation: 'TB-VPCP',
      metadata: { attachments: [{ contentId: 'a1', name: 'tb.pdf' }] },
      verdict: state === 'arrived' ? { ok: true, code: 'VALID', signer: { organId: '000.00.00.G22' } } : { ok: false, code: 'DIGEST_MISMATCH', message: 'content changed' },
      ...over,
    },
    state,
    ...(state === 'rejected' ? { reason: 'GW_ERR_SIGNATURE_INVALID: DIGEST_MISMATCH' } : {}),
    actor: 'peer:000.00.00.G22',
    ...(at ? { at } : {}),
  }
}
