// SQLite-specific behaviour: file settings, migrations, triggers, durability across reopen and SIGKILL, error mapping.
import t from 'tap'
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isGatewayError } from '../../../src/errors.js'
import { openSqliteStore } from '../../../src/store/index.js'
import { MIGRATIONS } from '../../../src/store/migrations/index.js'
import { outgoing } from './helpers.js'

t.test('WAL, synchronous FULL, foreign keys, busy timeout', async (t) => {
  const store = await openSqliteStore(join(t.testdir(), 's.db'))
  t.teardown(() => store.close())
  t.equal(store.raw.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(store.raw.pragma('synchronous', { simple: true }), 2, 'FULL')
  t.equal(store.raw.pragma('foreign_keys', { simple: true }), 1)
  t.equal(store.raw.pragma('busy_timeout', { simple: true }), 5000)
  const normal = await openSqliteStore(join(t.testdir(), 'n.db'), { synchronous: 'NORMAL', busyTimeoutMs: 100 })
  t.teardown(() => normal.close())
  t.equal(normal.raw.pragma('synchronous', { simple: true }), 1, 'NORMAL on request')
})

t.test('migrations are applied once, recorded in schema_version, logged', async (t) => {
  const path = join(t.testdir(), 's.db')
  const logged: object[] = []
  const logger = { info: (o: object) => logged.push(o), warn: () => {}, error: () => {} }
  const s1 = await openSqliteStore(path, { logger })
  const r = await s1.recordOutgoing(outgoing())
  const v1 = s1.raw.prepare('SELECT version, name, applied_at FROM schema_version').all()
  await s1.close()
  t.equal(logged.length, MIGRATIONS.length, 'each migration logged once')
  t.match(logged, MIGRATIONS.map((m) => ({ version: m.version, migration: m.name })))

  const s2 = await openSqliteStore(path, { logger })
  t.teardown(() => s2.close())
  t.same(s2.raw.prepare('SELECT version, name, applied_at FROM schema_version').all(), v1, 'same single row')
  t.same(v1.map((r) => (r as { version: number }).version), MIGRATIONS.map((m) => m.version))
  t.equal(logged.length, MIGRATIONS.length, 'nothing applied the second time')
  t.same(await s2.getPackage(r.package.id), r.package, 'data kept')
})

t.test('a store at an older version gets only the missing migrations', async (t) => {
  const path = join(t.testdir(), 's.db')
  // a store as version 1 left it, with a package in it
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
  db.exec(MIGRATIONS[0]!.sqlite)
  db.prepare("INSERT INTO schema_version VALUES (1, 'initial', '2026-01-01T00:00:00.000Z')").run()
  db.prepare(
    `INSERT INTO packages (id, kind, document_id, sender, sha256, size, priority, metadata, search, created_at)
     VALUES ('p-old', 'edoc', 'DOC-OLD', 'S', 'x', 1, 0, '{}', 'ke hoach chuyen doi so', '2026-01-01T00:00:00.000Z')`,
  ).run()
  db.close()
  const logged: object[] = []
  const store = await openSqliteStore(path, { textDenseMatches: 1000, logger: { info: (o: object) => logged.push(o), warn: () => {}, error: () => {} } })
  t.teardown(() => store.close())
  t.same(logged.map((o) => (o as { version: number }).version), MIGRATIONS.slice(1).map((m) => m.version), 'only the missing ones, in order')
  t.same(store.raw.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all(), MIGRATIONS.map((m) => m.version))
  t.same(store.raw.prepare("SELECT rowid FROM packages_fts WHERE search GLOB '*chuyen doi*'").pluck().all(), [1], 'existing rows indexed')
  await store.appendEvent({ direction: 'out', type: 'note', packageId: 'p-old', actor: 'operator:an', cause: 'migrated' })
  t.same((await store.listEvents({ text: 'Chuyển đổi số', limit: 10 })).items.map((e) => e.cause), ['migrated'])
})

t.test('the search index catches up in bulk; rows not indexed yet are found too', async (t) => {
  const path = join(t.testdir(), 's.db')
  const store = await openSqliteStore(path, { textDenseMatches: 1000 })
  t.teardown(() => store.close())
  const indexed = (): number => store.raw.prepare("SELECT seq FROM search_indexed WHERE name = 'packages'").pluck().get() as number
  const a = await store.recordOutgoing(outgoing({ package: { subject: 'Kế hoạch chuyển đổi số năm 2027' }, recipients: ['R'] }))
  t.equal(indexed(), 0, 'not indexed during the write')
  t.same((await store.listEvents({ text: 'chuyen doi so', limit: 10 })).items.map((e) => e.packageId), [a.package.id], 'found while not indexed')
  t.equal(await store.indexSearchNow(), false, 'all indexed in one run')
  t.equal(indexed(), 1)
  const b = await store.recordOutgoing(outgoing({ package: { subject: 'Chuyển đổi số: báo cáo' }, recipients: ['R'] }))
  t.same(
    (await store.listEvents({ text: 'chuyen doi so', limit: 10 })).items.map((e) => e.packageId),
    [b.package.id, a.package.id],
    'one from the index, one from the rows after it',
  )
  for (let i = 0; i < 5; i++) await store.recordOutgoing(outgoing({ recipients: ['R'] }))
  t.equal(await store.indexSearchNow(2), true, 'more remain after a bounded run')
  t.equal(indexed(), 3)
  await store.indexSearchNow()
  t.equal(indexed(), 7)
  t.same((await store.listEvents({ text: 'chuyen doi so', limit: 10 })).items.map((e) => e.packageId), [b.package.id, a.package.id])
  // and by itself, a moment after writes
  await store.recordOutgoing(outgoing({ recipients: ['R'] }))
  await new Promise((r) => setTimeout(r, 1300))
  t.equal(indexed(), 8, 'indexed about a second after the write')
})

t.test('a store written by a newer gateway is refused', async (t) => {
  const path = join(t.testdir(), 's.db')
  await (await openSqliteStore(path)).close()
  const db = new Database(path)
  db.prepare("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01T00:00:00.000Z')").run()
  db.close()
  await t.rejects(openSqliteStore(path), { code: 'GW_ERR_STORE_SCHEMA' })
})

t.test('triggers refuse to change or delete events and to change packages', async (t) => {
  const path = join(t.testdir(), 's.db')
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  const r = await store.recordOutgoing(outgoing())
  const db = new Database(path)
  t.teardown(() => db.close())
  t.throws(() => db.prepare("UPDATE events SET cause = 'x' WHERE seq = 1").run(), /append-only/)
  t.throws(() => db.prepare('DELETE FROM events WHERE seq = 1').run(), /append-only/)
  t.throws(() => db.prepare("UPDATE packages SET subject = 'x' WHERE id = ?").run(r.package.id), /immutable/)
  t.throws(() => db.prepare('UPDATE package_bytes SET bytes = x\'00\' WHERE package_id = ?').run(r.package.id), /immutable/)
  t.ok((await store.verifyLog()).ok)
})

t.test('reopening the file: everything is there, bytes exact, chain intact', async (t) => {
  const path = join(t.testdir(), 's.db')
  let store = await openSqliteStore(path)
  const rs = []
  for (let i = 0; i < 20; i++) rs.push(await store.recordOutgoing(outgoing({ idempotency: { clientId: 'c', key: `k${i}`, requestHash: 'h' } })))
  await store.markQueuedMany(rs.slice(0, 10).map((r) => r.deliveries[0]!.id))
  await store.close()
  store = await openSqliteStore(path)
  t.teardown(() => store.close())
  for (const [i, r] of rs.entries()) {
    t.same(await store.getPackage(r.package.id), r.package)
    const b = await store.getPackageBytes(r.package.id)
    t.equal(b && (await import('./helpers.js')).sha256(b.bytes), r.package.sha256)
    t.equal((await store.getDeliveries(r.package.id))[0]!.state, i < 10 ? 'queued' : 'accepted')
  }
  t.equal((await store.recordOutgoing(outgoing({ idempotency: { clientId: 'c', key: 'k3', requestHash: 'h' } }))).replayed, true, 'idempotency keys survive')
  t.match(await store.verifyLog(), { ok: true, checked: 50 })
  t.equal((await store.pendingDeliveries({ limit: 100 })).length, 30)
})

t.test('SIGKILL after recordOutgoing resolved: nothing lost', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 's.db')
  const script = join(dir, 'writer.mts')
  const storeUrl = new URL('../../../src/store/index.ts', import.meta.url).href
  const helpersUrl = new URL('./helpers.ts', import.meta.url).href
  writeFileSync(
    script,
    `import { openSqliteStore } from ${JSON.stringify(storeUrl)}
import { outgoing } from ${JSON.stringify(helpersUrl)}
const store = await openSqliteStore(${JSON.stringify(path)})
for (let i = 0; ; i++) {
  const r = await store.recordOutgoing(outgoing({ recipients: ['A'] }))
  process.stdout.write(r.package.id + '\\n')
}
`,
  )
  const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/esm/index.mjs', import.meta.url))
  const child = spawn(process.execPath, ['--import', tsx, script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const acked: string[] = []
  let buf = ''
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop()!
      acked.push(...lines)
      if (acked.length >= 300 && !child.killed) {
        child.kill('SIGKILL')
      }
    })
    child.on('exit', () => resolve())
  })
  t.ok(acked.length >= 300, `${acked.length} packages acknowledged before the kill`)
  const store = await openSqliteStore(path)
  t.teardown(() => store.close())
  let missing = 0
  for (const id of acked) if (!(await store.getPackage(id))) missing++
  t.equal(missing, 0, 'every acknowledged package is in the store')
  const v = await store.verifyLog()
  t.equal(v.ok, true, 'chain intact after the kill')
  t.ok(v.checked >= acked.length)
  t.equal((await store.pendingDeliveries({ limit: 100_000 })).length, v.checked, 'all pending for the relay')
})

t.test('a busy database is GW_ERR_STORE_UNAVAILABLE, retryable', async (t) => {
  const path = join(t.testdir(), 's.db')
  const store = await openSqliteStore(path, { busyTimeoutMs: 50 })
  t.teardown(() => store.close())
  const other = new Database(path)
  t.teardown(() => other.open && other.close())
  other.exec('BEGIN IMMEDIATE')
  const err = await store.recordOutgoing(outgoing()).catch((e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_STORE_UNAVAILABLE'), 'unavailable')
  t.equal((err as { retryable: boolean }).retryable, true)
  t.match((err as Error).message, /SQLITE_BUSY/)
  other.exec('ROLLBACK')
  const ok = await store.recordOutgoing(outgoing())
  t.equal(ok.replayed, false, 'works again once the lock is gone')
  t.ok((await store.verifyLog()).ok)
})

t.test('files that cannot be opened', async (t) => {
  const dir = t.testdir()
  await t.rejects(openSqliteStore(join(dir, 'no-such-dir', 's.db')), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  const junk = join(dir, 'junk.db')
  writeFileSync(junk, Buffer.alloc(8192, 'not a database '))
  await t.rejects(openSqliteStore(junk), { code: 'GW_ERR_STORE_CORRUPT' })
})

t.test('read-only open for offline verification', async (t) => {
  const path = join(t.testdir(), 's.db')
  const w = await openSqliteStore(path)
  await w.recordOutgoing(outgoing())
  await w.close()
  const ro = await openSqliteStore(path, { readonly: true })
  t.teardown(() => ro.close())
  t.match(await ro.verifyLog(), { ok: true, checked: 2 })
  await t.rejects(ro.recordOutgoing(outgoing()), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  await t.rejects(openSqliteStore(join(t.testdir(), 'missing.db'), { readonly: true }), { code: 'GW_ERR_STORE_UNAVAILABLE' })
})

t.test('read-only verification of a store left at an older schema version', async (t) => {
  const path = join(t.testdir(), 's.db')
  const db = new Database(path)
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
  db.exec(MIGRATIONS[0]!.sqlite)
  db.prepare("INSERT INTO schema_version VALUES (1, 'initial', '2026-01-01T00:00:00.000Z')").run()
  db.close()
  const ro = await openSqliteStore(path, { readonly: true })
  t.teardown(() => ro.close())
  t.same(await ro.verifyLog(), { ok: true, checked: 0 })
})

t.test('large packages written at once are split into several commits, all stored exactly', async (t) => {
  const store = await openSqliteStore(join(t.testdir(), 's.db'))
  t.teardown(() => store.close())
  const { randomBytes } = await import('node:crypto')
  const inputs = Array.from({ length: 12 }, () => outgoing({ package: { bytes: randomBytes(1024 * 1024) }, recipients: ['A'] }))
  await Promise.all(inputs.map((i) => store.recordOutgoing(i)))
  for (const i of inputs) t.ok(Buffer.from((await store.getPackageBytes(i.package.id))!.bytes).equals(Buffer.from(i.package.bytes)))
  t.match(await store.verifyLog(), { ok: true, checked: 12 })
})
