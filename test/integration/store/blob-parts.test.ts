// SQLite: package bytes from PART_THRESHOLD on are written ahead in parts of PART_BYTES (migration 014), each its
// own commit, and read back part by part. What a reader gets is exactly what was stored, through every read path
// (package bytes, received bytes, the relay's pending rows, a backup); parts that no write came to hold (a
// duplicate, an idempotent replay, an interrupted write) are removed; a purge removes them with the bytes; the
// store refuses to change or delete the parts of a package it holds.
import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { newId } from '../../../src/store/ids.js'
import { openSqliteStore, type SqliteStore } from '../../../src/store/index.js'
import { PART_BYTES } from '../../../src/store/sqlite-store.js'
import { incomingInput, outgoing, sha256 } from './helpers.js'

const MiB = 1048576
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

async function opened(t: Test, threshold = 2 * MiB) {
  const dir = t.testdir()
  const path = join(dir, 'store.db')
  let store: SqliteStore = await openSqliteStore(path, { partThreshold: threshold })
  t.teardown(() => store.close())
  const raw = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(path)
    try {
      return fn(db)
    } finally {
      db.close()
    }
  }
  const parts = () => raw((db) => db.prepare('SELECT key, count(*) AS n, sum(length(data)) AS size FROM blob_parts GROUP BY key ORDER BY key').all() as { key: string; n: number; size: number }[])
  return {
    dir,
    path,
    get store() {
      return store
    },
    raw,
    parts,
    async reopen(): Promise<SqliteStore> {
      await store.close()
      store = await openSqliteStore(path, { partThreshold: threshold })
      return store
    },
  }
}

/** Until `cond` holds (the removal of unheld parts runs in the background, one part per write). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 20))
  if (!cond()) throw new Error(`timed out: ${what}`)
}

t.test('a large outgoing package: stored in parts, read back exactly by every reader', async (t) => {
  const s = await opened(t)
  const bytes = randomBytes(5 * MiB + 12345)
  const small = randomBytes(64 * 1024)
  const big = await s.store.recordOutgoing(outgoing({ package: { bytes, sha256: sha256(bytes) } }))
  const inline = await s.store.recordOutgoing(outgoing({ package: { bytes: small, sha256: sha256(small) } }))
  t.same(s.parts().map((p) => ({ n: p.n, size: p.size })), [{ n: Math.ceil(bytes.length / PART_BYTES), size: bytes.length }], 'only the large one is in parts (6 of 1 MiB), under one key')
  const row = s.raw((db) => db.prepare('SELECT length(bytes) AS inline, parts_key, parts FROM package_bytes WHERE package_id = ?').get(big.package.id)) as { inline: number; parts_key: string; parts: number }
  t.match(row, { inline: 0, parts_key: s.parts()[0]!.key, parts: 6 }, 'its bytes row holds the key and the number of parts, no bytes')
  t.ok(eq((await s.store.getPackageBytes(big.package.id))!.bytes, bytes), 'getPackageBytes: the exact bytes')
  t.ok(eq((await s.store.getPackageBytes(inline.package.id))!.bytes, small), 'a small package is inline as before')
  const pending = await s.store.pendingDeliveries({ limit: 10 })
  t.equal(pending.length, 4)
  for (const p of pending) {
    if (p.packageId === big.package.id) t.match(p, { bytes: undefined, size: bytes.length }, `pending ${p.deliveryId}: the large package without its bytes, with its size`)
    else t.ok(eq(p.bytes!, small), `pending ${p.deliveryId}: the small package with its exact bytes`)
  }
  t.match(await s.store.verifyLog(), { ok: true })

  // a backup holds the parts: the copy reads the same bytes
  const copy = join(s.dir, 'backup.db')
  await s.store.backup(copy)
  const b = await openSqliteStore(copy, { readonly: true })
  t.teardown(() => b.close())
  t.ok(eq((await b.getPackageBytes(big.package.id))!.bytes, bytes), 'the backup reads the exact bytes')
})

t.test('a large received package, its duplicate and an idempotent replay: the unheld parts are removed', async (t) => {
  const s = await opened(t)
  const bytes = randomBytes(3 * MiB)
  const first = incomingInput({ bytes, sha256: sha256(bytes) })
  const r1 = await s.store.recordIncoming(first)
  t.equal(r1.duplicate, false)
  t.ok(eq((await s.store.getIncomingBytes(r1.incoming.id))!.bytes, bytes), 'getIncomingBytes: the exact bytes')
  const held = s.parts()
  t.equal(held.length, 1)
  // the same package again (broker redelivery): a duplicate; its own parts were written ahead and go again
  const again = await s.store.recordIncoming({ ...first, package: { ...first.package, id: randomBytes(8).toString('hex'), messageId: 'redelivered' } })
  t.equal(again.duplicate, true, 'a duplicate of the first')
  await until(() => s.parts().length === 1, 'the duplicate parts removed')
  t.same(s.parts(), held, 'only the first copy\'s parts remain')

  const out = randomBytes(2 * MiB + 1)
  const idem = { clientId: 'dms-hanoi', key: 'k-1', requestHash: 'h-1' }
  const sent = await s.store.recordOutgoing(outgoing({ package: { bytes: out, sha256: sha256(out) }, idempotency: idem }))
  const replay = await s.store.recordOutgoing(outgoing({ package: { bytes: out, sha256: sha256(out) }, idempotency: idem }))
  t.equal(replay.replayed, true)
  t.equal(replay.package.id, sent.package.id)
  await until(() => s.parts().length === 2, 'the replay\'s parts removed')
  t.ok(eq((await s.store.getPackageBytes(sent.package.id))!.bytes, out), 'the package keeps its bytes')
})

t.test('the parts of a stored package cannot be changed or deleted; a purge removes them with the bytes', async (t) => {
  const s = await opened(t)
  const bytes = randomBytes(3 * MiB)
  const old = new Date('2025-01-01T00:00:00Z')
  const r = await s.store.recordOutgoing(outgoing({ package: { bytes, sha256: sha256(bytes) }, recipients: ['000.00.02.H26'], at: old }))
  const key = s.parts()[0]!.key
  t.throws(() => s.raw((db) => db.prepare('UPDATE blob_parts SET data = ? WHERE key = ? AND seq = 0').run(Buffer.from('x'), key)), /package bytes are immutable/, 'a part cannot be changed')
  t.throws(() => s.raw((db) => db.prepare('DELETE FROM blob_parts WHERE key = ?').run(key)), /package bytes are immutable/, 'nor deleted while its package holds it')
  t.throws(() => s.raw((db) => db.prepare('UPDATE package_bytes SET parts_key = NULL WHERE package_id = ?').run(r.package.id)), /package bytes are immutable/, 'nor let go by its bytes row')
  t.ok(eq((await s.store.getPackageBytes(r.package.id))!.bytes, bytes), 'still the exact bytes')

  await s.store.transition(r.deliveries[0]!.id, 'completed', { cause: 'status 06', actor: 'peer:000.00.02.H26', statusCode: '06', at: old })
  const purge = await s.store.purge({ packageBytesDays: 30, deadLettersDays: 30, idempotencyKeysDays: 30, actor: 'system:retention' })
  t.equal(purge.packageBytes.outgoing.packages, 1)
  t.same(s.parts(), [], 'the parts went with the purge')
  await t.rejects(s.store.getPackageBytes(r.package.id), { code: 'GW_ERR_STORE_PURGED' })
  t.match(await s.store.verifyLog(), { ok: true })
})

t.test('parts an interrupted write left are swept when the store opens, once their key is an hour old', async (t) => {
  const s = await opened(t)
  const kept = randomBytes(3 * MiB)
  const r = await s.store.recordIncoming(incomingInput({ bytes: kept, sha256: sha256(kept) }))
  const heldKey = s.parts()[0]!.key
  const stale = newId(Date.now() - 2 * 3_600_000)
  const recent = newId()
  s.raw((db) => {
    const ins = db.prepare('INSERT INTO blob_parts (key, seq, data) VALUES (?, ?, ?)')
    for (const k of [stale, recent]) for (let i = 0; i < 3; i++) ins.run(k, i, randomBytes(1000))
  })
  t.equal(s.parts().length, 3)
  await s.reopen()
  await until(() => s.parts().length === 2, 'the stale parts swept')
  t.same(s.parts().map((p) => p.key).sort(), [heldKey, recent].sort(), 'the held parts and the recent unheld ones (a write in progress in another process) stay; the stale ones are gone')
  t.ok(eq((await s.store.getIncomingBytes(r.incoming.id))!.bytes, kept), 'the stored package is intact')
})

t.test('a write whose parts are incomplete is refused, nothing stored', async (t) => {
  const s = await opened(t)
  const bytes = randomBytes(3 * MiB)
  // the parts are written, then (as a concurrent sweep of another process could) one of them disappears before
  // the write that would hold them: that write must fail, not store a package with a hole
  const store = s.store as unknown as { stageBytes(b: Uint8Array): Promise<{ key: string; parts: number }> }
  const orig = store.stageBytes.bind(store)
  store.stageBytes = async (b) => {
    const st = await orig(b)
    s.raw((db) => db.prepare('DELETE FROM blob_parts WHERE key = ? AND seq = 1').run(st.key))
    return st
  }
  const input = incomingInput({ bytes, sha256: sha256(bytes) })
  await t.rejects(s.store.recordIncoming(input), { code: 'GW_ERR_STORE_UNAVAILABLE', message: /parts of package .* are incomplete/ })
  t.equal(await s.store.getIncoming(input.package.id), undefined, 'nothing stored')
  await until(() => s.parts().length === 0, 'its parts removed')
})
