// PostgreSQL-specific behaviour: triggers, migrations, the log head, two gateway processes on one database.
import t from 'tap'
import { openPgStore } from '../../../src/store/index.js'
import { MIGRATIONS } from '../../../src/store/migrations/index.js'
import { outgoing, PG_URL, pgAvailable, pgKind, pgRaw } from './helpers.js'

if (!pgAvailable) {
  t.comment(`PostgreSQL not reachable at ${PG_URL}: set LIENTHONG_TEST_PG_URL to run these tests`)
  t.pass('skipped without PostgreSQL')
} else {
  t.test('triggers refuse to change or delete events and to change packages', async (t) => {
    const s = await pgKind.open(t)
    const r = await s.store.recordOutgoing(outgoing())
    await pgRaw(s.schema!, async (c) => {
      await t.rejects(c.query("UPDATE events SET cause = 'x' WHERE seq = 1"), /forbidden/)
      await t.rejects(c.query('DELETE FROM events WHERE seq = 1'), /forbidden/)
      await t.rejects(c.query("UPDATE packages SET subject = 'x' WHERE id = $1", [r.package.id]), /forbidden/)
      await t.rejects(c.query("UPDATE package_bytes SET bytes = '\\x00' WHERE package_id = $1", [r.package.id]), /forbidden/)
    })
    t.ok((await s.store.verifyLog()).ok)
  })

  t.test('migrations are applied once; a newer schema is refused', async (t) => {
    const s = await pgKind.open(t)
    const logged: object[] = []
    const logger = { info: (o: object) => logged.push(o), warn: () => {}, error: () => {} }
    const again = await openPgStore(PG_URL, { schema: s.schema!, logger })
    await again.close()
    t.equal(logged.length, 0, 'nothing applied the second time')
    await pgRaw(s.schema!, async (c) => {
      t.equal((await c.query('SELECT count(*)::int AS n FROM schema_version')).rows[0].n, MIGRATIONS.length)
      await c.query("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01T00:00:00.000Z')")
    })
    await t.rejects(openPgStore(PG_URL, { schema: s.schema! }), { code: 'GW_ERR_STORE_SCHEMA' })
  })

  t.test('rows removed at the end of the log are reported (log head)', async (t) => {
    const s = await pgKind.open(t)
    for (let i = 0; i < 3; i++) await s.store.recordOutgoing(outgoing())
    t.match(await s.store.verifyLog(), { ok: true, checked: 6 })
    await s.tamperDeleteEvent(6)
    await s.tamperDeleteEvent(5)
    t.match(await s.store.verifyLog(), { ok: false, checked: 4, firstBroken: { seq: 5, reason: /5\.\.6 missing/ } })
  })

  t.test('two gateway processes writing at once: one chain, no gaps, nothing lost', async (t) => {
    const s = await pgKind.open(t)
    const other = await openPgStore(PG_URL, { schema: s.schema!, max: 4 })
    t.teardown(() => other.close())
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? other : s.store).recordOutgoing(outgoing({ recipients: ['A', 'B'] }))),
    )
    // both confirm deliveries of each other's packages concurrently
    await Promise.all([
      s.store.markQueuedMany(results.map((r) => r.deliveries[0]!.id)),
      other.markQueuedMany([...results].reverse().map((r) => r.deliveries[0]!.id)),
      ...results.map((r, i) => (i % 2 ? s.store : other).markQueued(r.deliveries[1]!.id)),
    ])
    const v = await s.store.verifyLog()
    t.match(v, { ok: true, lastSeq: v.checked })
    t.equal(v.checked, 60 * 2 + 60 * 2 + 60 + 0, 'accepted x120, queued x120 (changed), duplicate confirms x60')
    t.same((await s.store.stats()).deliveriesByState, { queued: 120 })
  })

  t.test('connections killed by the server: reads and writes fail as unavailable, then work again', async (t) => {
    const s = await pgKind.open(t)
    // a pool of our own, named, so that only its connections are killed (other tests share the server)
    const app = `lt_kill_${process.pid}_${Date.now()}`
    const store = await openPgStore(`${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=${app}`, { schema: s.schema!, max: 3 })
    t.teardown(() => store.close())
    await Promise.all([store.recordOutgoing(outgoing()), store.ping(), store.ping()])
    // 1. writes and reads in flight; 2. the server kills every connection of the pool meanwhile
    const inputs = Array.from({ length: 300 }, () => outgoing({ recipients: ['A'] }))
    const ops = inputs.map((i, k) => (k % 3 ? store.recordOutgoing(i) : store.ping()))
    const all = Promise.allSettled(ops)
    await new Promise((r) => setTimeout(r, 20))
    let killed = 0
    await pgRaw('public', async (c) => {
      killed = (await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])).rowCount ?? 0
    })
    t.ok(killed >= 1, `${killed} connections killed`)
    const settled = await all
    const failed = settled.filter((x) => x.status === 'rejected') as PromiseRejectedResult[]
    t.comment(`${failed.length} of ${ops.length} operations failed on killed connections`)
    for (const f of failed) t.match(f.reason, { code: 'GW_ERR_STORE_UNAVAILABLE', retryable: true }, 'each failure is the retryable code')
    // 3. nothing reported as stored is missing
    let missing = 0
    for (const [k, x] of settled.entries()) if (k % 3 && x.status === 'fulfilled' && !(await s.store.getPackage(inputs[k]!.package.id))) missing++
    t.equal(missing, 0, 'every acknowledged write is stored')
    // 4. as a caller does with a retryable error: try again; dead idle connections are dropped on first use
    let attempts = 0
    for (;;) {
      attempts++
      try {
        await store.ping()
        break
      } catch (e) {
        t.match(e, { code: 'GW_ERR_STORE_UNAVAILABLE' })
        if (attempts > 5) throw e
      }
    }
    const ok = await store.recordOutgoing(outgoing())
    t.equal(ok.replayed, false, 'writes work again')
    t.match(await store.verifyLog(), { ok: true })
  })

  t.test('an unreachable server is GW_ERR_STORE_UNAVAILABLE', async (t) => {
    await t.rejects(openPgStore('postgres://postgres@127.0.0.1:1/test', { connectTimeoutMs: 1000 }), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  })
}
