// Log anchoring against an independent TSA (`openssl ts -reply` on 127.0.0.1): the chain head is timestamped
// every N events (and at once when nothing is anchored yet); `openssl ts -verify` accepts the stored tokens over
// the head hash; truncating the log after an anchored head, or rewriting it up to an anchored head and
// recomputing the chain, passes the chain check (as before anchors) and is found by the anchor check, in SQLite
// and PostgreSQL; truncation after the last anchor is not found (the documented limit) unless --max-unanchored;
// `lienthong log verify --tsa-anchors` exits 1 on both and 0 on an intact log.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { checkLogAnchors, createLogAnchorer } from '../../../src/pipeline/log-anchors.js'
import { createTimestamper, createTsaTrust } from '../../../src/signature/index.js'
import { canonicalJson, openSqliteStore, rowHash, type Store } from '../../../src/store/index.js'
import type { LogEvent } from '../../../src/store/types.js'
import { ROOT } from '../../helper.js'
import { issue, makeRoot, opensslStatus } from '../../unit/signature/openssl-pki.js'
import { startOpensslTsa } from '../../unit/signature/openssl-tsa.js'
import { eachStore, outgoing, type OpenedStore } from './helpers.js'

const dir = t.testdir()
const tsaRoot = makeRoot(path.join(dir, 'tsaroot'), '/C=VN/CN=Log TSA Root')
const tsaCert = issue(tsaRoot, path.join(dir, 'tsa'), '/C=VN/CN=Log TSA', { extensions: 'v3_tsa' })
const otherRoot = makeRoot(path.join(dir, 'otherroot'), '/C=VN/CN=Other Log TSA Root')
const tsa = await startOpensslTsa(path.join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
t.teardown(() => tsa.close())
const trust = createTsaTrust({ anchors: tsaRoot.certPem })
const stamper = createTimestamper({ url: tsa.url, trust, waitMs: 0, timeoutMs: 30_000 })

/** 4 events per document: accepted ×2, queued, delivered. */
async function events(store: Store, docs: number): Promise<void> {
  for (let i = 0; i < docs; i++) {
    const r = await store.recordOutgoing(outgoing({ recipients: ['B', 'C'] }))
    await store.markQueued(r.deliveries[0]!.id)
    await store.transition(r.deliveries[0]!.id, 'delivered', { cause: 'status 01', actor: 'peer:B', statusCode: '01' })
  }
}

async function allEvents(store: Store): Promise<LogEvent[]> {
  const out: LogEvent[] = []
  let cursor: string | undefined
  do {
    const page = await store.listEvents({ limit: 100, ...(cursor ? { cursor } : {}) })
    out.push(...page.items)
    cursor = page.next
  } while (cursor)
  return out.sort((a, b) => a.seq - b.seq)
}

const lit = (v: string | null | undefined) => (v === null || v === undefined ? 'NULL' : `'${v.replace(/'/g, "''")}'`)
type Db = Pick<OpenedStore, 'store' | 'rawSql' | 'schema'>
const isPg = (s: Db) => s.schema !== undefined

/** What an attacker with database access does: drop rows from the end, and move the head back (PostgreSQL). */
async function truncate(s: Db, keep: number): Promise<void> {
  const ev = (await allEvents(s.store)).find((e) => e.seq === keep)!
  if (isPg(s)) await s.rawSql(`SET session_replication_role = replica; DELETE FROM events WHERE seq > ${keep}; UPDATE log_head SET seq = ${keep}, hash = '${ev.hash}' WHERE id = 1;`)
  else await s.rawSql(`DROP TRIGGER IF EXISTS events_no_delete; DELETE FROM events WHERE seq > ${keep};`)
}

/** Change row `seq`'s cause and recompute every hash from there to the end, as the README's chain rule says. */
async function rechain(s: Db, seq: number, cause: string): Promise<void> {
  const evs = await allEvents(s.store)
  let prev = evs.find((e) => e.seq === seq - 1)?.hash ?? '0'.repeat(64)
  const updates: string[] = []
  for (const e of evs.filter((x) => x.seq >= seq)) {
    const row = {
      seq: e.seq, time: e.time, direction: e.direction, type: e.type, package_id: e.packageId ?? null, delivery_id: e.deliveryId ?? null,
      document_id: e.documentId ?? null, sender: e.sender ?? null, recipient: e.recipient ?? null, actor: e.actor, from_state: e.fromState ?? null,
      state: e.state ?? null, changed: e.changed ? 1 : 0, status_code: e.statusCode ?? null, cause: e.seq === seq ? cause : (e.cause ?? null),
      detail: canonicalJson(e.detail ?? {}), prev_hash: prev,
    }
    const hash = rowHash(row)
    updates.push(`UPDATE events SET cause = ${lit(row.cause)}, prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${e.seq};`)
    prev = hash
  }
  const last = evs[evs.length - 1]!.seq
  if (isPg(s)) await s.rawSql(`SET session_replication_role = replica; ${updates.join(' ')} UPDATE log_head SET hash = '${prev}' WHERE id = 1 AND seq = ${last};`)
  else await s.rawSql(`DROP TRIGGER IF EXISTS events_no_update; ${updates.join(' ')}`)
}

async function anchored(s: Db) {
  const anchorer = createLogAnchorer({ store: s.store, stamper, everyEvents: 8, everyMinutes: 60 })
  await events(s.store, 1) // 4 events
  const first = await anchorer.tick() // nothing anchored yet: the head is anchored at once
  await events(s.store, 1) // 8 events: 4 since the anchor, not due
  const notDue = await anchorer.tick()
  await events(s.store, 1) // 12: 8 since
  const second = await anchorer.tick()
  await events(s.store, 1) // 16: the last 4 are after the last anchor
  return { first: first!, notDue, second: second! }
}

eachStore(t, 'anchors: every N events, tokens openssl accepts, an intact log verifies', async (t, s) => {
  const a = await anchored(s)
  t.equal(a.first.seq, 4)
  t.equal(a.notDue, undefined, 'not due after 4 events')
  t.equal(a.second.seq, 12, 'due after 8 events')
  const stored = await s.store.listLogAnchors()
  t.same(stored.map((x) => x.seq), [4, 12])
  t.equal(stored[1]!.hash, await s.store.logHashAt(12))
  const file = path.join(t.testdir(), 'anchor.tst')
  writeFileSync(file, stored[1]!.token)
  const v = opensslStatus(['ts', '-verify', '-token_in', '-in', file, '-digest', stored[1]!.hash, '-CAfile', tsaRoot.certPath, '-untrusted', tsaCert.certPath])
  t.equal(v.status, 0, `openssl ts -verify accepts the stored anchor token: ${v.stderr}`)
  const chain = await s.store.verifyLog()
  t.match(chain, { ok: true, lastSeq: 16 })
  t.match(await checkLogAnchors(s.store, chain, trust), { ok: true, anchors: 2, tokensChecked: true, lastAnchor: { seq: 12 }, unanchoredRows: 4, problems: [] })
  const forged = await checkLogAnchors(s.store, chain, createTsaTrust({ anchors: otherRoot.certPem }))
  t.equal(forged.ok, false, 'tokens from a TSA that is not trusted do not count')
  t.match(forged.problems[0]?.reason, /TIMESTAMP_UNTRUSTED/)
  await t.rejects(s.store.recordLogAnchor(stored[0]!), { code: 'GW_ERR_STORE_CONFLICT' }, 'a seq is anchored once')
})

eachStore(t, 'truncation after an anchored head passes the chain check and is found by the anchors', async (t, s) => {
  await anchored(s)
  await truncate(s, 10)
  const chain = await s.store.verifyLog()
  t.match(chain, { ok: true, lastSeq: 10 }, 'the chain alone still looks intact')
  const a = await checkLogAnchors(s.store, chain, trust)
  t.equal(a.ok, false)
  t.match(a.problems, [{ seq: 12, reason: /no row 12: rows were removed from its end \(truncated\)/ }])
})

eachStore(t, 'rewriting up to an anchored head and recomputing the chain is found by the anchors', async (t, s) => {
  await anchored(s)
  await rechain(s, 6, 'rewritten')
  const chain = await s.store.verifyLog()
  t.match(chain, { ok: true, lastSeq: 16 }, 'the re-chained log passes the chain check')
  const a = await checkLogAnchors(s.store, chain, trust)
  t.equal(a.ok, false)
  t.match(a.problems, [{ seq: 12, reason: /rewritten and its chain recomputed/ }])
  t.equal(a.problems.length, 1, 'the anchor before the rewritten row still matches')
})

eachStore(t, 'the limit: rows removed or rewritten after the last anchor are not found by anchors', async (t, s) => {
  await anchored(s)
  await truncate(s, 13)
  const chain = await s.store.verifyLog()
  const a = await checkLogAnchors(s.store, chain, trust)
  t.equal(a.ok, true, 'truncation after the last anchor cannot be detected')
  t.equal(a.unanchoredRows, 1)
})

t.test('lienthong log verify --tsa-anchors: 0 intact, 1 truncated or re-chained', async (t) => {
  const cli = (store: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'log', 'verify', '--store', store, ...args], { encoding: 'utf8', cwd: ROOT })
  // a SQLite store file, opened read-only by the command while the store stays open
  const open = async (t: Test): Promise<Db & { file: string }> => {
    const file = path.join(t.testdir(), 'store.db')
    const store = await openSqliteStore(file)
    t.teardown(() => store.close())
    const rawSql = async (sql: string) => {
      const db = new Database(file)
      try {
        db.exec(sql)
      } finally {
        db.close()
      }
    }
    return { store, file, rawSql }
  }

  t.test('intact', async (t) => {
    const s = await open(t)
    await anchored(s)
    const ok = cli(s.file, '--tsa-anchors', tsaRoot.certPath)
    t.equal(ok.status, 0, ok.stdout + ok.stderr)
    t.match(ok.stdout, /INTACT: 16 rows checked[\s\S]*2 anchors match the log \(tokens verified\); last: seq 12/)
    const strict = cli(s.file, '--tsa-anchors', tsaRoot.certPath, '--max-unanchored', '2')
    t.equal(strict.status, 1, 'more rows after the last anchor than allowed')
    t.match(strict.stdout, /4 rows after the last anchor \(seq 12\), more than --max-unanchored 2/)
    const unchecked = cli(s.file)
    t.equal(unchecked.status, 0)
    t.match(unchecked.stdout, /tokens NOT verified: give --tsa-anchors/)
  })

  t.test('truncated', async (t) => {
    const s = await open(t)
    await anchored(s)
    await truncate(s, 9)
    const r = cli(s.file, '--tsa-anchors', tsaRoot.certPath, '--json')
    t.equal(r.status, 1, r.stdout + r.stderr)
    t.match(JSON.parse(r.stdout), { ok: false, firstBroken: { seq: 12, reason: /truncated/ }, anchors: { anchors: 2, ok: false } })
  })

  t.test('re-chained', async (t) => {
    const s = await open(t)
    await anchored(s)
    await rechain(s, 2, 'rewritten')
    const r = cli(s.file, '--tsa-anchors', tsaRoot.certPath)
    t.equal(r.status, 1, r.stdout + r.stderr)
    t.match(r.stdout, /BROKEN at seq 4: row 4's hash is not the hash timestamped/)
    t.match(r.stdout, /also seq 12/)
  })
})
