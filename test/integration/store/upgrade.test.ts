// Upgrades: a store made by the previous schema (every migration but the last, applied on a raw connection, with
// rows written as that schema holds them) is opened by the current code: the missing migration is applied and
// logged with what it does, every row survives, the log chain verifies and the store keeps working.
// Migration 009 renamed states (outgoing received → registered; incoming received → arrived, accepted → registered):
// the old rows carry the old names, the chained log rows keep them and are read with the new ones.
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { canonicalJson, GENESIS_HASH, openPgStore, openSqliteStore, rowHash, type ChainRow, type Store } from '../../../src/store/index.js'
import { MIGRATIONS } from '../../../src/store/migrations/index.js'
import { run as logCli } from '../../../src/cli/log.js'
import { outgoing, PG_URL, pgAvailable, pgRaw } from './helpers.js'

// the schema of the last release: every migration up to 008 (the unreleased ones since then are applied on top)
const PREVIOUS = MIGRATIONS.filter((m) => m.version <= 8)
const NEW = MIGRATIONS.filter((m) => m.version > 8)
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('every migration says what it does', async (t) => {
  for (const m of MIGRATIONS) t.ok(m.description && m.description.length > 10, `${m.version} ${m.name}: ${m.description}`)
  t.same(MIGRATIONS.map((m) => m.version), [...MIGRATIONS.map((m) => m.version)].sort((a, b) => a - b), 'numbered in order')
})

/** A dialect's raw connection: run SQL, and spell a blob literal. */
interface Raw {
  exec(sql: string): Promise<void>
  blob(b: Buffer): string
  /** SQLite: the store file. */
  path?: string
}

const q = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`)

/** Rows as a gateway on the previous schema wrote them: packages, bytes, deliveries, a key, inbox rows, the chained log. */
async function writeOldRows(raw: Raw) {
  const at = (m: number) => new Date(Date.UTC(2026, 10, 20, 8, m)).toISOString()
  const pkgs = [0, 1].map((i) => {
    const bytes = randomBytes(900 + i)
    return { id: randomUUID(), doc: `DOC-${i}`, bytes, sig: randomBytes(200), deliveries: [randomUUID(), randomUUID()], created: at(i) }
  })
  const inc = [0, 1].map((i) => ({ id: randomUUID(), doc: `IN-${i}`, bytes: randomBytes(700), sig: randomBytes(150), received: at(10 + i) }))
  const sql: string[] = []
  const events: (Omit<ChainRow, 'seq' | 'prev_hash'>)[] = []
  const ev = (e: Partial<ChainRow> & Pick<ChainRow, 'time' | 'direction' | 'type' | 'actor'>) =>
    events.push({ package_id: null, delivery_id: null, document_id: null, sender: null, recipient: null, from_state: null, state: null, changed: 0, status_code: null, cause: null, detail: canonicalJson({}), ...e })
  for (const p of pkgs) {
    sql.push(`INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, metadata, search, created_at)
      VALUES (${[p.id, 'edoc', p.doc, '000.00.01.H26', 'dms-hanoi', sha(p.bytes), p.bytes.length, 0, 'Báo cáo chuyển đổi số', '12', 'BC-UBND', '{}', 'bao cao chuyen doi so 12/bc-ubnd', p.created].map(q).join(', ')})`)
    sql.push(`INSERT INTO package_bytes (package_id, bytes, signature) VALUES (${q(p.id)}, ${raw.blob(p.bytes)}, ${raw.blob(p.sig)})`)
    p.deliveries.forEach((d, k) => {
      const recipient = `000.00.0${k + 2}.H26`
      // the first package's second recipient registered it (03): 'received' before 009
      const registered = p === pkgs[0] && k === 1
      sql.push(`INSERT INTO deliveries (id, package_id, recipient, priority, state, attempts, created_at, updated_at) VALUES (${[d, p.id, recipient, 0, k === 0 ? 'completed' : registered ? 'received' : 'queued', 1, p.created, p.created].map(q).join(', ')})`)
      ev({ time: p.created, direction: 'out', type: 'state', package_id: p.id, delivery_id: d, document_id: p.doc, sender: '000.00.01.H26', recipient, actor: 'client:dms-hanoi', state: 'accepted', changed: 1, cause: 'accepted' })
      ev({ time: p.created, direction: 'out', type: 'state', package_id: p.id, delivery_id: d, document_id: p.doc, sender: '000.00.01.H26', recipient, actor: 'system', from_state: 'accepted', state: 'queued', changed: 1, cause: 'broker confirmed' })
      if (registered) ev({ time: p.created, direction: 'out', type: 'status', package_id: p.id, delivery_id: d, document_id: p.doc, sender: '000.00.01.H26', recipient, actor: `peer:${recipient}`, from_state: 'queued', state: 'received', changed: 1, status_code: '03', cause: 'status 03' })
      if (k === 0) ev({ time: p.created, direction: 'out', type: 'status', package_id: p.id, delivery_id: d, document_id: p.doc, sender: '000.00.01.H26', recipient, actor: `peer:${recipient}`, from_state: 'queued', state: 'completed', changed: 1, status_code: '06', cause: 'status 06', detail: canonicalJson({ staff: 'Nguyễn Văn Á' }) })
    })
  }
  sql.push(`INSERT INTO idempotency_keys (client_id, key, request_hash, package_id, created_at) VALUES (${['dms-hanoi', 'key-1', 'h1', pkgs[0]!.id, pkgs[0]!.created].map(q).join(', ')})`)
  for (const i of inc) {
    // the second one was fetched and registered by the DMS (03): 'accepted' before 009
    const registered = i === inc[1]
    sql.push(`INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, metadata, verdict, search, state, received_at, updated_at)
      VALUES (${[i.id, 'edoc', i.doc, '000.00.00.G22', '000.00.01.H26', randomUUID(), sha(i.bytes), i.bytes.length, 0, 'Thông báo', '{}', '{"ok":true,"code":"VALID"}', 'thong bao', registered ? 'accepted' : 'received', i.received, i.received].map(q).join(', ')})`)
    sql.push(`INSERT INTO incoming_bytes (incoming_id, bytes, signature) VALUES (${q(i.id)}, ${raw.blob(i.bytes)}, ${raw.blob(i.sig)})`)
    const base = { time: i.received, direction: 'in', package_id: i.id, document_id: i.doc, sender: '000.00.00.G22', recipient: '000.00.01.H26' } as const
    ev({ ...base, type: 'stored', actor: 'peer:000.00.00.G22', state: 'received', changed: 1, cause: 'received' })
    if (registered) {
      ev({ ...base, type: 'state', actor: 'client:dms-hanoi', from_state: 'received', state: 'fetched', changed: 1, cause: 'fetched by the DMS' })
      ev({ ...base, type: 'status', actor: 'client:dms-hanoi', from_state: 'fetched', state: 'accepted', changed: 1, status_code: '03', cause: 'status 03 sent' })
    }
  }
  let prev = GENESIS_HASH
  events.forEach((e, n) => {
    const row: ChainRow = { ...e, seq: n + 1, prev_hash: prev }
    const hash = rowHash(row)
    sql.push(`INSERT INTO events (seq, time, direction, type, package_id, delivery_id, document_id, sender, recipient, actor, from_state, state, changed, status_code, cause, detail, prev_hash, hash)
      VALUES (${[row.seq, row.time, row.direction, row.type, row.package_id, row.delivery_id, row.document_id, row.sender, row.recipient, row.actor, row.from_state, row.state, row.changed, row.status_code, row.cause, row.detail, row.prev_hash, hash].map(q).join(', ')})`)
    prev = hash
  })
  await raw.exec(sql.join(';\n') + ';')
  return { pkgs, inc, events: events.length, head: prev }
}

interface OldStore {
  raw: Raw
  /** The store at the previous schema, now opened by the current code. */
  open(logger: { info(o: object, m?: string): void; warn(): void; error(): void }): Promise<Store>
  /** After the open: pg only, set the log head the way the previous gateway left it. */
  fixHead?(seq: number, hash: string): Promise<void>
}

const kinds: { name: string; make(t: Test): Promise<OldStore> }[] = [
  {
    name: 'sqlite',
    async make(t) {
      const path = join(t.testdir(), 'old.sqlite')
      const db = new Database(path)
      db.pragma('journal_mode = WAL')
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
      for (const m of PREVIOUS) {
        db.exec(m.sqlite)
        db.prepare('INSERT INTO schema_version VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00.000Z')
      }
      db.close()
      return {
        raw: {
          async exec(sql) {
            const d = new Database(path)
            try {
              d.exec(sql)
            } finally {
              d.close()
            }
          },
          blob: (b) => `X'${b.toString('hex')}'`,
          path,
        },
        async open(logger) {
          const s = await openSqliteStore(path, { logger })
          t.teardown(() => s.close())
          return s
        },
      }
    },
  },
]
if (pgAvailable) {
  kinds.push({
    name: 'pg',
    async make(t) {
      const schema = `lt_test_${randomBytes(6).toString('hex')}`
      await pgRaw('public', async (c) => {
        await c.query(`CREATE SCHEMA ${schema}`)
      })
      t.teardown(() => pgRaw('public', async (c) => void (await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))))
      await pgRaw(schema, async (c) => {
        await c.query('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
        for (const m of PREVIOUS) {
          await c.query(m.pg)
          await c.query('INSERT INTO schema_version VALUES ($1, $2, $3)', [m.version, m.name, '2026-11-01T00:00:00.000Z'])
        }
      })
      return {
        raw: {
          exec: (sql) => pgRaw(schema, async (c) => void (await c.query(sql))),
          blob: (b) => `'\\x${b.toString('hex')}'::bytea`,
        },
        async open(logger) {
          const s = await openPgStore(PG_URL, { schema, max: 4, logger })
          t.teardown(() => s.close())
          return s
        },
        // the previous gateway kept its chain head in log_head as it appended
        fixHead: (seq, hash) => pgRaw(schema, async (c) => void (await c.query('UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1', [seq, hash]))),
      }
    },
  })
}

for (const kind of kinds) {
  t.test(`a store of the previous schema (${PREVIOUS.length} migrations) opened by this version [${kind.name}]`, async (t) => {
    const old = await kind.make(t)
    const rows = await writeOldRows(old.raw)
    await old.fixHead?.(rows.events, rows.head)
    const logged: { o: object; m?: string }[] = []
    const store = await old.open({ info: (o, m) => logged.push({ o, ...(m ? { m } : {}) }), warn: () => {}, error: () => {} })

    // 1. only the missing migration ran, and the log says what it did
    t.equal(logged.length, NEW.length, 'only the missing migrations applied')
    NEW.forEach((m, i) => t.match(logged[i], { o: { version: m.version, migration: m.name, description: m.description }, m: `store migration ${String(m.version).padStart(3, '0')} ${m.name} applied: ${m.description}` }))

    // 2. every row survives, bytes exact
    for (const p of rows.pkgs) {
      t.match(await store.getPackage(p.id), { id: p.id, documentId: p.doc, sha256: sha(p.bytes), size: p.bytes.length, createdAt: p.created })
      const b = await store.getPackageBytes(p.id)
      t.ok(Buffer.from(b!.bytes).equals(p.bytes) && Buffer.from(b!.signature).equals(p.sig), 'package bytes and signature exact')
      t.same((await store.getDeliveries(p.id)).map((d) => [d.id, d.state]), p.deliveries.map((d, k) => [d, k === 0 ? 'completed' : p === rows.pkgs[0] ? 'registered' : 'queued']))
    }
    t.match(await store.timeline(rows.pkgs[0]!.deliveries[0]!), [{ state: 'accepted' }, { state: 'queued' }, { state: 'completed', statusCode: '06' }])
    t.match(await store.findIdempotent('dms-hanoi', 'key-1'), { packageId: rows.pkgs[0]!.id, requestHash: 'h1' })
    for (const i of rows.inc) {
      t.match(await store.getIncoming(i.id), { id: i.id, state: i === rows.inc[1] ? 'registered' : 'arrived', verdict: { ok: true, code: 'VALID' } })
      t.ok(Buffer.from((await store.getIncomingBytes(i.id))!.bytes).equals(i.bytes), 'incoming bytes exact')
    }
    t.equal((await store.listEvents({ limit: 100 })).items.length, rows.events)
    t.equal((await store.listEvents({ text: 'chuyển đổi', limit: 100 })).items.length, 11, 'the log text search finds the old packages')

    // 2b. the renamed states: the chained rows keep their names, read with today's; filters find both
    t.match(await store.timeline(rows.pkgs[0]!.deliveries[1]!), [{ state: 'accepted' }, { state: 'queued' }, { fromState: 'queued', state: 'registered', statusCode: '03' }])
    const states = async (f: Omit<Parameters<Store['listEvents']>[0], 'limit'>) => (await store.listEvents({ ...f, limit: 100 })).items.map((e) => `${e.direction}:${e.fromState ?? ''}>${e.state}`).sort()
    t.same(await states({ state: 'registered' }), ['in:fetched>registered', 'out:queued>registered'], '03 in both directions')
    t.same(await states({ state: 'registered', direction: 'in' }), ['in:fetched>registered'])
    t.same(await states({ state: 'arrived' }), ['in:>arrived', 'in:>arrived'])
    t.same(await states({ state: 'fetched' }), ['in:arrived>fetched'], 'the from-state is read with its new name too')
    t.same(await states({ state: 'received' }), ['in:>arrived', 'in:>arrived', 'out:queued>registered'], 'the old name: what it meant in each direction')
    t.equal((await states({ state: 'accepted' })).length, 4, 'accepted: the outbox events only (no incoming 03)')
    t.ok((await states({ state: 'accepted' })).every((s) => s.startsWith('out:')))
    const legacy = (await store.listEvents({ state: 'registered', direction: 'out', limit: 10 })).items[0]!
    t.match(legacy, { state: 'registered', storedState: 'received', fromState: 'queued' })
    t.notOk('storedFromState' in legacy, 'queued was not renamed')
    const asStored: ChainRow = {
      seq: legacy.seq, time: legacy.time, direction: legacy.direction, type: legacy.type, package_id: legacy.packageId ?? null, delivery_id: legacy.deliveryId ?? null,
      document_id: legacy.documentId ?? null, sender: legacy.sender ?? null, recipient: legacy.recipient ?? null, actor: legacy.actor, from_state: legacy.storedFromState ?? legacy.fromState ?? null,
      state: legacy.storedState ?? legacy.state ?? null, changed: legacy.changed ? 1 : 0, status_code: legacy.statusCode ?? null, cause: legacy.cause ?? null, detail: canonicalJson(legacy.detail), prev_hash: legacy.prevHash,
    }
    t.equal(rowHash(asStored), legacy.hash, 'the stored names are the ones the hash covers')
    // the store keeps working with the new names on the migrated rows
    t.match(await store.transitionIncoming(rows.inc[0]!.id, 'fetched', { actor: 'client:dms-hanoi', cause: 'fetched by the DMS' }), { changed: true, from: 'arrived', state: 'fetched' })
    t.match(await store.transitionIncoming(rows.inc[1]!.id, 'completed', { actor: 'client:dms-hanoi', cause: 'status 06 sent', statusCode: '06' }), { changed: true, from: 'registered' })

    // 3. the chain verifies, and the store keeps working on it: a new package, a move, a purge, all chained on
    t.match(await store.verifyLog(), { ok: true, checked: rows.events + 2, lastSeq: rows.events + 2 })
    const r = await store.recordOutgoing(outgoing())
    await store.transition(rows.pkgs[1]!.deliveries[1]!, 'completed', { cause: 'status 06', actor: 'peer:000.00.03.H26', statusCode: '06' })
    const purged = await store.purge({ packageBytesDays: 1, actor: 'system:retention', at: new Date('2026-12-01T00:00:00.000Z') })
    t.equal(purged.packageBytes.outgoing.packages, 1, 'the old package now final is purged; the one still open is not')
    t.equal(purged.packageBytes.incoming.packages, 2, 'both received documents were taken by the DMS: purged')
    t.ok(await store.getPackageBytes(rows.pkgs[0]!.id), 'still open: kept')
    t.ok(await store.getPackageBytes(r.package.id))
    t.match(await store.verifyLog(), { ok: true, checked: rows.events + 2 + 2 + 1 + 2 })
    if (old.raw.path) {
      // the command an operator runs after an upgrade (CHANGELOG "Upgrading"), on the file itself
      t.equal(await logCli(['verify', '--store', old.raw.path]), 0, '`lienthong log verify` passes on the upgraded store')
    }
  })
}
