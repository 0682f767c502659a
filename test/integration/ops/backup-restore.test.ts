// `lienthong backup` and `lienthong restore` on SQLite stores, the way an operator runs them: the backup is taken
// by another process while the gateway's store is open and writing, restored to a new path, and checked.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { openSqliteStore, type SqliteStore } from '../../../src/store/index.js'
import { ROOT } from '../../helper.js'
import { incomingInput, outgoing } from '../store/helpers.js'

const CLI = path.join(ROOT, 'src/cli.ts')
const cliSync = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', cwd: ROOT })
const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (status) => resolve({ status, stdout, stderr }))
  })
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')

/** A store with documents sent and moved on, a dead letter, received packages (one rejected) and their events. */
async function filled(store: SqliteStore) {
  const sent = []
  for (let i = 0; i < 40; i++) sent.push(await store.recordOutgoing(outgoing()))
  for (const r of sent.slice(0, 30)) await store.markQueuedMany(r.deliveries.map((d) => d.id))
  for (const r of sent.slice(0, 10)) await store.transition(r.deliveries[0]!.id, 'delivered', { statusCode: '01', cause: 'status 01', actor: 'peer:000.00.02.H26' })
  await store.markFailed(sent[35]!.deliveries[0]!.id, 'unroutable', 'system:relay')
  const received = []
  for (let i = 0; i < 20; i++) received.push(await store.recordIncoming(incomingInput({}, i % 7 === 0 ? 'rejected' : 'arrived')))
  await store.transitionIncoming(received[1]!.incoming.id, 'fetched', { cause: 'fetched by the DMS', actor: 'client:dms-hcm' })
  return { sent, received }
}

const counts = (db: Database.Database) =>
  Object.fromEntries(
    ['packages', 'package_bytes', 'deliveries', 'incoming', 'incoming_bytes', 'events', 'idempotency_keys'].map((tb) => [tb, (db.prepare(`SELECT count(*) AS n FROM ${tb}`).get() as { n: number }).n]),
  )

t.test('backup while the store is open and being written, restore to a new path: same rows, chain intact, bytes identical', async (t) => {
  const dir = t.testdir()
  const live = path.join(dir, 'gateway.sqlite')
  const store = await openSqliteStore(live)
  t.teardown(() => store.close())
  const { sent, received } = await filled(store)
  const before = (await store.stats()).events

  // 1. a writer keeps going (as the gateway would) while another process takes the backup
  let writing = true
  let duringBackup = 0
  const writer = (async () => {
    while (writing) {
      await store.recordOutgoing(outgoing())
      await store.recordIncoming(incomingInput())
      duringBackup++
    }
  })()
  const backupFile = path.join(dir, 'backups', 'gw-1.sqlite')
  const missingDir = await cli('backup', '--store', live, '--out', backupFile)
  t.equal(missingDir.status, 2, 'no such directory: usage error')
  t.match(missingDir.stderr, /directory .* does not exist/)
  const out = path.join(dir, 'gw-1.sqlite')
  const writesAtStart = duringBackup
  const b = await cli('backup', '--store', live, '--out', out)
  const writesDuring = duringBackup - writesAtStart
  writing = false
  await writer
  t.equal(b.status, 0, b.stderr)
  t.match(b.stdout, /BACKUP WRITTEN: .*gw-1\.sqlite \(\d+ bytes, sha256 [0-9a-f]{64}/)
  t.match(b.stdout, /log intact: last row seq \d+, hash [0-9a-f]{64}/)
  t.ok(writesDuring > 0, `the store was written while the backup ran (${writesDuring} pairs of writes)`)
  t.same(readdirSync(dir).filter((f) => f.includes('partial') || f.startsWith('gw-1.sqlite-')), [], 'one self-contained file: no temporary, -wal or -shm file left')

  // 2. the backup is a consistent snapshot: at least what was there before, every row of its log equal to the live one
  const bk = new Database(out, { readonly: true })
  t.teardown(() => bk.close())
  const bkCounts = counts(bk)
  t.ok(bkCounts.events! >= before, `backup has the ${before} events written before it (${bkCounts.events})`)
  const liveDb = new Database(live, { readonly: true })
  t.teardown(() => liveDb.close())
  const hashes = (db: Database.Database, n: number) => db.prepare('SELECT hash FROM events WHERE seq <= ? ORDER BY seq').pluck().all(n)
  t.same(hashes(bk, bkCounts.events!), hashes(liveDb, bkCounts.events!), 'its log is a prefix of the live log')
  t.equal(bkCounts.package_bytes, bkCounts.packages, 'every package with its bytes (no torn write)')
  t.equal(bkCounts.incoming_bytes, bkCounts.incoming)
  t.equal(bkCounts.deliveries, bkCounts.packages! * 2, 'every package with its two deliveries')

  // 3. restore to a new path
  const restored = path.join(dir, 'restored', 'gateway.sqlite')
  mkdirSync(path.dirname(restored))
  const r = await cli('restore', '--from', out, '--store', restored)
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /RESTORED: .* identical to the backup/)
  t.equal(sha(restored), sha(out), 'restored file is byte-identical to the backup')
  const rs = await openSqliteStore(restored, { readonly: true })
  t.teardown(() => rs.close())
  t.same(counts(rs.raw), bkCounts, 'same counts as the backup')
  const v = await rs.verifyLog()
  t.match(v, { ok: true, checked: bkCounts.events })
  for (const p of [sent[0]!, sent[39]!]) {
    const got = await rs.getPackageBytes(p.package.id)
    const want = await store.getPackageBytes(p.package.id)
    t.ok(Buffer.from(got!.bytes).equals(Buffer.from(want!.bytes)) && Buffer.from(got!.signature).equals(Buffer.from(want!.signature)), 'exact package bytes and signature')
  }
  const inc = await rs.getIncomingBytes(received[0]!.incoming.id)
  t.ok(Buffer.from(inc!.bytes).equals(Buffer.from((await store.getIncomingBytes(received[0]!.incoming.id))!.bytes)), 'exact incoming bytes')
  t.same(await rs.timeline(sent[0]!.deliveries[0]!.id), await store.timeline(sent[0]!.deliveries[0]!.id), 'a delivery timeline as it was')
  await rs.close()

  // 4. the restored store opens read-write with the current code (the gateway's next start) and keeps chaining
  const again = await openSqliteStore(restored)
  await again.recordOutgoing(outgoing())
  t.ok((await again.verifyLog()).ok)
  await again.close()
})

t.test('restore refuses: an existing store without --force, one in use, a backup that is not a store or whose chain is broken', async (t) => {
  const dir = t.testdir()
  const live = path.join(dir, 'gateway.sqlite')
  const store = await openSqliteStore(live)
  await filled(store)
  const out = path.join(dir, 'backup.sqlite')
  t.equal(cliSync('backup', '--store', live, '--out', out).status, 0)
  const exists = cliSync('backup', '--store', live, '--out', out)
  t.equal(exists.status, 2, 'an existing backup is not replaced without --force')
  t.match(exists.stderr, /exists; pass --force/)

  // the target exists: refused without --force, and with --force while the gateway holds it open
  const noForce = cliSync('restore', '--from', out, '--store', live)
  t.equal(noForce.status, 2)
  t.match(noForce.stderr, /exists; pass --force to replace it/)
  const inUse = cliSync('restore', '--from', out, '--store', live, '--force')
  t.equal(inUse.status, 2)
  t.match(inUse.stderr, /in use by another process \(stop the gateway first\)/)
  t.same(readdirSync(dir).filter((f) => f.includes('replaced')), [], 'nothing moved aside')
  await store.recordOutgoing(outgoing())
  const lastLive = (await store.stats()).events
  await store.close()

  // a tampered backup: changed through a raw connection, the chain shows it; nothing is replaced
  const bad = path.join(dir, 'tampered.sqlite')
  writeFileSync(bad, readFileSync(out))
  const db = new Database(bad)
  db.exec('DROP TRIGGER events_no_update')
  db.prepare("UPDATE events SET cause = 'edited' WHERE seq = 5").run()
  db.close()
  const tampered = cliSync('restore', '--from', bad, '--store', live, '--force')
  t.equal(tampered.status, 1)
  t.match(tampered.stderr, /log chain broken at seq 5: .*nothing was changed/)
  const notStore = path.join(dir, 'notes.txt')
  writeFileSync(notStore, 'not a database')
  const junk = cliSync('restore', '--from', notStore, '--store', live, '--force')
  t.equal(junk.status, 1)
  t.match(junk.stderr, /does not open as a store: GW_ERR_STORE_CORRUPT/)
  const emptyDb = path.join(dir, 'empty.sqlite')
  new Database(emptyDb).exec('CREATE TABLE x (y)')
  t.match(cliSync('restore', '--from', emptyDb, '--store', live, '--force').stderr, /not a lienthong store/)
  const still = await openSqliteStore(live, { readonly: true })
  t.equal((await still.stats()).events, lastLive, 'with every row written after the backup')
  await still.close()

  // --force with the gateway stopped: replaced, the old store kept beside it (its WAL folded in)
  const ok = cliSync('restore', '--from', out, '--store', live, '--force')
  t.equal(ok.status, 0, ok.stderr)
  const kept = readdirSync(dir).filter((f) => f.startsWith('gateway.sqlite.replaced-') && !f.endsWith('-wal') && !f.endsWith('-shm'))
  t.equal(kept.length, 1, 'the replaced store is kept')
  t.match(ok.stdout, /the store it replaced is kept as .*gateway\.sqlite\.replaced-/)
  t.equal(sha(live), sha(out))
  t.notOk(existsSync(live + '-wal') && readFileSync(live + '-wal').length > 0, 'no stale WAL of the old store next to the restored one')
  const old = await openSqliteStore(path.join(dir, kept[0]!), { readonly: true })
  t.equal((await old.stats()).events, lastLive, 'the kept store has all its rows')
  await old.close()
  const back = await openSqliteStore(live, { readonly: true })
  t.ok((await back.verifyLog()).ok)
  t.ok((await back.stats()).events < lastLive, 'the restored store is the backup')
  await back.close()
})

t.test('PostgreSQL: backup and restore print the pg_dump / pg_restore commands, without the password', async (t) => {
  const b = cliSync('backup', '--store', 'postgres://gw:s3cret@db.example:5432/lienthong', '--out', '/var/backups/lt.pgdump')
  t.equal(b.status, 0)
  t.match(b.stdout, "pg_dump --format=custom --no-owner --file='/var/backups/lt.pgdump' 'postgres://gw@db.example:5432/lienthong'")
  t.match(b.stdout, /pg_restore --no-owner --exit-on-error --dbname='postgres:\/\/gw@db\.example:5432\/lienthong'/)
  t.match(b.stdout, /lienthong log verify --store/)
  t.notMatch(b.stdout, /s3cret/)
  const r = cliSync('restore', '--from', 'lt.pgdump', '--store', 'postgres://gw@db/lienthong')
  t.equal(r.status, 0)
  t.match(r.stdout, /pg_restore .*'lt\.pgdump'/)
})

t.test('usage errors exit 2', async (t) => {
  t.equal(cliSync('backup').status, 2)
  t.equal(cliSync('backup', '--store', '/nonexistent.sqlite', '--out', '/tmp/x').status, 2)
  t.equal(cliSync('restore', '--store', '/tmp/x.sqlite').status, 2)
  t.equal(cliSync('restore', '--from', '/nonexistent', '--store', '/tmp/x.sqlite').status, 2)
})
