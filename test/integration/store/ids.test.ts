// Time-ordered ids for rows the store creates (delivery ids).
import t from 'tap'
import { newId } from '../../../src/store/index.js'
import { eachStore, outgoing } from './helpers.js'

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('newId: UUID version 7 layout, ordered by time, unique', async (t) => {
  const a = newId(Date.parse('2026-01-01T00:00:00Z'))
  const b = newId(Date.parse('2026-01-01T00:00:00.001Z'))
  t.match(a, V7)
  t.ok(a.slice(0, 13) < b.slice(0, 13), 'later millisecond sorts after')
  t.equal(a.slice(0, 13), '019b76da-a800', 'timestamp prefix (2026-01-01T00:00:00Z = 0x019b76daa800 ms)')
  const many = new Set(Array.from({ length: 10_000 }, () => newId(1)))
  t.equal(many.size, 10_000, 'unique within one millisecond')
})

eachStore(t, 'delivery ids are time-ordered UUIDs', async (t, { store }) => {
  const r = await store.recordOutgoing(outgoing({ recipients: ['A', 'B', 'C'] }))
  for (const d of r.deliveries) t.match(d.id, V7)
})

t.test('openStore picks the implementation from the location', async (t) => {
  const { openStore, isPgUrl, SqliteStore, PgStore } = await import('../../../src/store/index.js')
  t.ok(isPgUrl('postgres://u@h/db'))
  t.ok(isPgUrl('postgresql://u@h/db'))
  t.notOk(isPgUrl('/var/lib/lienthong/store.db'))
  const s = await openStore(`${t.testdir()}/s.db`)
  t.ok(s instanceof SqliteStore)
  await s.close()
  const { pgAvailable, PG_URL, pgRaw } = await import('./helpers.js')
  if (pgAvailable) {
    const schema = `lt_test_open_${Date.now()}`
    const p = await openStore(PG_URL, { pg: { schema } })
    t.ok(p instanceof PgStore)
    await p.close()
    await pgRaw('public', async (c) => void (await c.query(`DROP SCHEMA ${schema} CASCADE`)))
  }
})
