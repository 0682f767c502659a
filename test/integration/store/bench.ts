// Store throughput on the send path: recordOutgoing (10 KB package, one recipient) then markQueued, per
// synchronous setting (and on PostgreSQL when reachable), one request at a time and with many in flight (group commit). Not a test (tap only runs
// *.test.ts): `npx tsx test/integration/store/bench.ts [count] [inFlight]`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { openPgStore, openSqliteStore, type Store } from '../../../src/store/index.js'
import { outgoing, PG_URL, pgAvailable, pgRaw } from './helpers.js'

const n = Number(process.argv[2] ?? 4000)
const inFlight = Number(process.argv[3] ?? 64)
const body = randomBytes(10 * 1024)
const rate = (count: number, t0: number): number => Math.round(count / ((performance.now() - t0) / 1000))

/** Run `fn` over `items` with at most `k` in flight. */
async function pool<T>(items: T[], k: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (i < items.length) await fn(items[i++]!)
    }),
  )
}

const results: Record<string, number> = {}
const kinds = ['FULL', 'NORMAL', ...(pgAvailable ? ['pg'] : [])] as const
for (const synchronous of kinds) {
  for (const k of [1, inFlight]) {
    const dir = mkdtempSync(join(tmpdir(), 'store-bench-'))
    const schema = `lt_bench_${randomBytes(4).toString('hex')}`
    const store: Store =
      synchronous === 'pg'
        ? await openPgStore(PG_URL, { schema, max: Math.min(k, 16) })
        : await openSqliteStore(join(dir, 's.db'), { synchronous: synchronous as 'FULL' | 'NORMAL' })
    const count = k === 1 ? Math.min(n, 1000) : n
    const inputs = Array.from({ length: count }, () => outgoing({ package: { bytes: body }, recipients: ['000.00.02.H26'] }))
    const ids: string[] = []
    let t0 = performance.now()
    await pool(inputs, k, async (i) => ids.push((await store.recordOutgoing(i)).deliveries[0]!.id))
    results[`${synchronous} recordOutgoing/s inFlight=${k}`] = rate(count, t0)
    t0 = performance.now()
    await pool(ids, k, (id) => store.markQueued(id))
    results[`${synchronous} markQueued/s inFlight=${k}`] = rate(count, t0)
    if (k > 1) {
      t0 = performance.now()
      const v = await store.verifyLog()
      results[`${synchronous} verifyLog rows/s`] = rate(v.checked, t0)
    }
    await store.close()
    rmSync(dir, { recursive: true, force: true })
    if (synchronous === 'pg') await pgRaw('public', async (c) => void (await c.query(`DROP SCHEMA ${schema} CASCADE`)))
  }
}
console.log(JSON.stringify({ count: n, inFlight, ...results }))
