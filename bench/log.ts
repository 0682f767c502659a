/**
 * bench:log — how fast the operators' delivery log answers a filtered page when the store is large.
 *
 *   npm run bench:log -- [--events N] [--store FILE] [--keep] [--runs R] [--api] [--limit L]
 *
 * 1. Fills a fresh SQLite store with N events (default 1,000,000) quickly: the rows a year of traffic leaves
 *    (outgoing packages with their deliveries and accepted → queued → delivered → received → completed events,
 *    failed deliveries, incoming packages received/fetched/rejected), written with raw batched inserts in large
 *    transactions, the hash chain computed exactly as the store does (hash-chain.ts `chainRow`). The store is
 *    then reopened through `openSqliteStore` (migrations, planner statistics) as the gateway would.
 * 2. Measures `Store.listEvents` pages (50 rows, newest first) for the filters operators use: agency (as sender or
 *    recipient), text in subject or number/notation (rare and common words, accent-insensitive), time range (recent,
 *    old, wide), DocumentId, combinations, and deep cursor pages (the 20th page of an agency's log). With `--api`
 *    the same queries also go through `app.inject(GET /v1/log)` with an operator key.
 * 3. Prints a table per query kind and, as the last line, one JSON object with at least `events` and `p95Ms`
 *    (the p95 over every measured page query).
 *
 * The chain of the filled store is verified at the end (`verifyLog`, reported as `verifyMs`), which also proves
 * that the fast fill wrote the same hashes the store would.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { chainRow, GENESIS_HASH, type EventFields } from '../src/store/hash-chain.js'
import { searchText } from '../src/store/search.js'
import { openSqliteStore, type ListEventsFilter, type SqliteStore } from '../src/store/index.js'

interface Args {
  events: number
  store?: string
  keep: boolean
  /** Measure an existing store (made with --store FILE --keep) instead of filling a new one. */
  reuse: boolean
  runs: number
  api: boolean
  limit: number
}

function parseArgs(argv: string[]): Args {
  const a: Args = { events: 1_000_000, keep: false, reuse: false, runs: 40, api: false, limit: 50 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    if (k === '--events' && v) {
      a.events = Number(v.replace(/_/g, ''))
      i++
    } else if (k === '--store' && v) {
      a.store = v
      i++
    } else if (k === '--runs' && v) {
      a.runs = Number(v)
      i++
    } else if (k === '--limit' && v) {
      a.limit = Number(v)
      i++
    } else if (k === '--keep') a.keep = true
    else if (k === '--reuse') {
      a.reuse = true
      a.keep = true
    }
    else if (k === '--api') a.api = true
  }
  if (!Number.isInteger(a.events) || a.events < 1000) throw new Error('--events must be an integer >= 1000')
  return a
}

// ---- deterministic data -------------------------------------------------------------------------------------

let rnd = 0x2545f491
function random(): number {
  // xorshift32: the same store for the same N
  rnd ^= rnd << 13
  rnd ^= rnd >>> 17
  rnd ^= rnd << 5
  return (rnd >>> 0) / 0x100000000
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!

/** 80 agencies: ministries (G..), provinces (H..) and their departments. */
const AGENCIES = Array.from({ length: 80 }, (_, i) =>
  i < 20 ? `000.00.00.G${String(i + 1).padStart(2, '0')}` : `000.00.${String(i).padStart(2, '0')}.H${String(10 + (i % 50)).padStart(2, '0')}`,
)
/** The agencies this gateway hosts (senders of outgoing, recipients of incoming). */
const HOSTED = AGENCIES.slice(0, 4)
const CERTS = fileURLToPath(new URL('../certs-sample/agencies/', import.meta.url))
const TOPICS = [
  'Báo cáo tình hình kinh tế - xã hội',
  'Kế hoạch triển khai chuyển đổi số',
  'Quyết định phê duyệt dự toán ngân sách',
  'Công văn về việc tăng cường phòng chống thiên tai',
  'Thông báo kết luận của Chủ tịch Ủy ban nhân dân',
  'Tờ trình đề nghị bổ sung kinh phí',
  'Hướng dẫn thực hiện cải cách hành chính',
  'Giấy mời họp giao ban trực tuyến',
  'Chỉ thị về công tác phòng cháy chữa cháy',
  'Báo cáo kết quả thanh tra đất đai',
  'Kế hoạch tổ chức Đại hội thể dục thể thao',
  'Công văn đôn đốc giải ngân vốn đầu tư công',
]
const NOTATIONS = ['BC-UBND', 'KH-UBND', 'QĐ-UBND', 'CV-VPCP', 'TB-UBND', 'TTr-STC', 'HD-SNV', 'GM-VP', 'CT-TTg', 'BC-TTr']

interface Filled {
  events: number
  packages: number
  incoming: number
  firstTime: string
  lastTime: string
  /** Samples for queries. */
  documentIds: string[]
  codes: string[]
  ms: number
}

function fill(store: SqliteStore, target: number): Filled {
  const db = store.raw
  const t0 = performance.now()
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -262144')
  // secondary indexes are dropped during the fill and built again afterwards from their own definitions (building
  // an index over sorted data at the end is several times faster than maintaining it row by row)
  const indexes = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('events', 'packages', 'deliveries', 'incoming')")
    .all() as { name: string; sql: string }[]
  for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`)
  const insPkg = db.prepare(
    `INSERT INTO packages (id, kind, document_id, sender, client_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, status_code, metadata, search, created_at)
     VALUES (@id, 'edoc', @document_id, @sender, @client_id, @sha256, 10240, 0, @subject, @code_number, @code_notation, @promulgation_date, NULL, '{}', @search, @created_at)`,
  )
  const insBytes = db.prepare('INSERT INTO package_bytes (package_id, bytes, signature) VALUES (?, ?, ?)')
  const insDel = db.prepare(
    `INSERT INTO deliveries (id, package_id, recipient, priority, state, status_code, reason, attempts, created_at, updated_at, queued_at)
     VALUES (@id, @package_id, @recipient, 0, @state, @status_code, @reason, 1, @created_at, @updated_at, @queued_at)`,
  )
  const insIn = db.prepare(
    `INSERT INTO incoming (id, kind, document_id, sender, recipient, message_id, sha256, size, priority, subject, code_number, code_notation, promulgation_date, metadata, verdict, search, state, reason, received_at, updated_at)
     VALUES (@id, 'edoc', @document_id, @sender, @recipient, @id, @sha256, 10240, 0, @subject, @code_number, @code_notation, @promulgation_date, '{}', @verdict, @search, @state, @reason, @at, @at)`,
  )
  const insInBytes = db.prepare('INSERT INTO incoming_bytes (incoming_id, bytes, signature) VALUES (?, ?, NULL)')
  const insEv = db.prepare(
    `INSERT INTO events (seq, time, direction, type, package_id, delivery_id, document_id, sender, recipient, actor, from_state, state, changed, status_code, cause, detail, prev_hash, hash)
     VALUES (@seq, @time, @direction, @type, @package_id, @delivery_id, @document_id, @sender, @recipient, @actor, @from_state, @state, @changed, @status_code, @cause, @detail, @prev_hash, @hash)`,
  )
  const blob = Buffer.alloc(16)
  // a year of traffic ending now: mean gap between events
  const end = Date.now()
  const span = 365 * 86_400_000
  let clock = end - span
  const step = span / target
  let seq = 0
  let prev = GENESIS_HASH
  let pkgN = 0
  let inN = 0
  const documentIds: string[] = []
  const codes: string[] = []
  const tick = (): string => {
    clock += step * (0.5 + random())
    return new Date(Math.min(clock, end)).toISOString()
  }
  const ev = (f: EventFields): void => {
    seq++
    const row = chainRow(seq, prev, f)
    insEv.run(row)
    prev = row.hash
  }
  const id = (p: string, n: number): string => `${p}${n.toString(16).padStart(12, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0').slice(-12)}`

  const oneOutgoing = (): void => {
    pkgN++
    const sender = pick(HOSTED)
    const number = String(1 + Math.floor(random() * 9000))
    const notation = pick(NOTATIONS)
    const subject = `${pick(TOPICS)} năm ${2020 + Math.floor(random() * 7)} (đợt ${1 + Math.floor(random() * 40)})`
    const date = new Date(clock).toISOString().slice(0, 10)
    const documentId = `${sender},${date.replace(/-/g, '/')},${number}/${notation}`
    const pid = id('a', pkgN)
    const created = tick()
    insPkg.run({
      id: pid,
      document_id: documentId,
      sender,
      client_id: `dms-${sender}`,
      sha256: pid.replace(/-/g, '').padEnd(64, '0'),
      subject,
      code_number: number,
      code_notation: notation,
      promulgation_date: date,
      search: searchText({ subject, codeNumber: number, codeNotation: notation }),
      created_at: created,
    })
    insBytes.run(pid, blob, blob)
    if (pkgN % 97 === 0) documentIds.push(documentId)
    if (pkgN % 89 === 0) codes.push(`${number}/${notation}`)
    const nRec = 1 + Math.floor(random() * 3)
    const recips = new Set<string>()
    while (recips.size < nRec) recips.add(pick(AGENCIES))
    let k0 = 0
    for (const recipient of recips) {
      const did = id('d', pkgN * 4 + k0++)
      const base = { direction: 'out' as const, package_id: pid, delivery_id: did, document_id: documentId, sender, recipient }
      ev({ ...base, time: created, type: 'state', actor: `client:dms-${sender}`, state: 'accepted', changed: true, cause: 'signed and stored', detail: { kind: 'edoc', priority: 0, size: 10240 } })
      const r = random()
      let state: string
      let code: string | null = null
      let reason: string | null = null
      let queuedAt: string | null = null
      let t: string
      if (r < 0.02) {
        t = tick()
        reason = 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient ' + recipient
        ev({ ...base, time: t, type: 'state', actor: 'system', from_state: 'accepted', state: 'failed', changed: true, cause: 'publish failed', detail: { reason } })
        state = 'failed'
      } else {
        t = queuedAt = tick()
        ev({ ...base, time: t, type: 'state', actor: 'system', from_state: 'accepted', state: 'queued', changed: true, cause: 'broker confirmed' })
        state = 'queued'
        const chain: [string, string][] = [
          ['01', 'delivered'],
          ['03', 'received'],
          ['04', 'assigned'],
          ['06', 'completed'],
        ]
        const stop = r < 0.06 ? 0 : Math.floor(random() * 5)
        for (let k = 0; k < stop; k++) {
          const [c, s] = chain[k]!
          t = tick()
          ev({ ...base, time: t, type: 'status', actor: `peer:${recipient}`, from_state: state, state: s, changed: true, status_code: c, cause: `status ${c} from peer`, detail: { statusPackageId: id('s', seq) } })
          state = s
          code = c
        }
      }
      insDel.run({ id: did, package_id: pid, recipient, state, status_code: code, reason, created_at: created, updated_at: t, queued_at: queuedAt })
    }
  }

  const oneIncoming = (): void => {
    inN++
    const sender = pick(AGENCIES.slice(4))
    const recipient = pick(HOSTED)
    const number = String(1 + Math.floor(random() * 9000))
    const notation = pick(NOTATIONS)
    const subject = `${pick(TOPICS)} của ${sender}`
    const date = new Date(clock).toISOString().slice(0, 10)
    const documentId = `${sender},${date.replace(/-/g, '/')},${number}/${notation}`
    const iid = id('b', inN)
    const at = tick()
    const rejected = random() < 0.01
    const state = rejected ? 'rejected' : random() < 0.9 ? 'fetched' : 'received'
    insIn.run({
      id: iid,
      document_id: documentId,
      sender,
      recipient,
      sha256: iid.replace(/-/g, '').padEnd(64, '1'),
      subject,
      code_number: number,
      code_notation: notation,
      promulgation_date: date,
      verdict: rejected ? '{"code":"UNTRUSTED_CHAIN","ok":false}' : '{"code":"VALID","ok":true}',
      search: searchText({ subject, codeNumber: number, codeNotation: notation }),
      state,
      reason: rejected ? 'GW_ERR_SIGNATURE_INVALID: UNTRUSTED_CHAIN' : null,
      at,
    })
    insInBytes.run(iid, blob)
    const base = { direction: 'in' as const, package_id: iid, document_id: documentId, sender, recipient }
    ev({ ...base, time: at, type: 'state', actor: `peer:${sender}`, state: rejected ? 'rejected' : 'received', changed: true, cause: rejected ? 'GW_ERR_SIGNATURE_INVALID: UNTRUSTED_CHAIN' : 'verified and stored', detail: { kind: 'edoc', verdict: rejected ? 'UNTRUSTED_CHAIN' : 'VALID' } })
    if (state === 'fetched') ev({ ...base, time: tick(), type: 'state', actor: `client:dms-${recipient}`, from_state: 'received', state: 'fetched', changed: true, cause: 'taken by the DMS' })
  }

  const batch = db.transaction((until: number) => {
    while (seq < until) {
      if (random() < 0.8) oneOutgoing()
      else oneIncoming()
    }
  })
  const firstTime = new Date(clock).toISOString()
  let lastReport = performance.now()
  while (seq < target) {
    batch(Math.min(target, seq + 20_000))
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now()
      process.stderr.write(`  filled ${seq.toLocaleString('en')} events (${Math.round((seq / (performance.now() - t0)) * 1000).toLocaleString('en')}/s)\n`)
    }
  }
  const tIdx = performance.now()
  for (const i of indexes) db.exec(i.sql)
  process.stderr.write(`  ${indexes.length} indexes built in ${((performance.now() - tIdx) / 1000).toFixed(1)} s\n`)
  db.pragma('synchronous = FULL')
  return { events: seq, packages: pkgN, incoming: inN, firstTime, lastTime: new Date(Math.min(clock, end)).toISOString(), documentIds, codes, ms: performance.now() - t0 }
}

/** The samples of a store filled earlier (--reuse). */
function samples(store: SqliteStore): Filled {
  return JSON.parse(readFileSync(store.path + '.samples.json', 'utf8')) as Filled
}

// ---- measuring ----------------------------------------------------------------------------------------------

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
const round = (x: number): number => Math.round(x * 100) / 100

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const dir = args.store ? undefined : mkdtempSync(path.join(os.tmpdir(), 'lienthong-bench-log-'))
  const file = args.store ?? path.join(dir!, 'bench.sqlite')
  console.log(`bench:log  ${args.events.toLocaleString('en')} events into ${file}  (node ${process.version}, ${os.cpus().length} CPUs, shared machine)`)
  let store: SqliteStore
  let filled: Filled
  if (args.reuse && existsSync(file)) {
    store = await openSqliteStore(file)
    filled = samples(store)
  } else {
    rmSync(file, { force: true })
    rmSync(file + '-wal', { force: true })
    rmSync(file + '-shm', { force: true })
    store = await openSqliteStore(file)
    filled = fill(store, args.events)
    writeFileSync(file + '.samples.json', JSON.stringify({ ...filled, ms: 0 }))
  }
  await store.close()
  console.log(`filled: ${filled.events.toLocaleString('en')} events, ${filled.packages.toLocaleString('en')} outgoing + ${filled.incoming.toLocaleString('en')} incoming packages in ${(filled.ms / 1000).toFixed(1)} s (${Math.round((filled.events / filled.ms) * 1000).toLocaleString('en')} events/s)`)
  // reopened as the gateway opens it (migrations, planner statistics refreshed by the store itself)
  const tOpen = performance.now()
  store = await openSqliteStore(file)
  const openMs = performance.now() - tOpen
  // the text-search index is filled in bulk shortly after writes (store migration 003); a gateway that has run
  // for a moment has caught up, so catch up before measuring
  const tSearch = performance.now()
  while (await store.indexSearchNow(100_000)) {
    /* more to index */
  }
  console.log(`search index caught up in ${((performance.now() - tSearch) / 1000).toFixed(1)} s`)

  const last = Date.parse(filled.lastTime)
  const day = 86_400_000
  const dayAt = (daysAgo: number): { since: Date; until: Date } => ({ since: new Date(last - daysAgo * day), until: new Date(last - (daysAgo - 1) * day) })
  const L = args.limit
  type Q = { name: string; make: () => ListEventsFilter; pages?: number }
  const queries: Q[] = [
    { name: 'no filter (newest page)', make: () => ({ limit: L }) },
    { name: 'agency (sender or recipient)', make: () => ({ organId: pick(AGENCIES), limit: L }) },
    { name: 'hosted agency + direction in', make: () => ({ organId: pick(HOSTED), direction: 'in', limit: L }) },
    { name: 'state failed', make: () => ({ state: 'failed', limit: L }) },
    { name: 'agency + state failed', make: () => ({ organId: pick(AGENCIES.slice(4)), state: 'failed', limit: L }) },
    { name: 'text: common words (bao cao)', make: () => ({ text: 'bao cao', limit: L }) },
    { name: 'text: accented words (Chuyển đổi số)', make: () => ({ text: 'Chuyển đổi số', limit: L }) },
    { name: 'text: number/notation (rare)', make: () => ({ text: pick(filled.codes), limit: L }) },
    { name: 'text: no match', make: () => ({ text: 'không có văn bản này', limit: L }) },
    { name: 'time: one day, recent', make: () => ({ ...dayAt(1 + Math.floor(random() * 7)), limit: L }) },
    { name: 'time: one day, months ago', make: () => ({ ...dayAt(60 + Math.floor(random() * 250)), limit: L }) },
    { name: 'time: since 6 months ago', make: () => ({ since: new Date(last - 180 * day), limit: L }) },
    { name: 'time: until 6 months ago', make: () => ({ until: new Date(last - 180 * day), limit: L }) },
    { name: 'DocumentId', make: () => ({ documentId: pick(filled.documentIds), limit: L }) },
    { name: 'agency + one day months ago', make: () => ({ organId: pick(AGENCIES), ...dayAt(30 + Math.floor(random() * 300)), limit: L }) },
    { name: 'agency + text', make: () => ({ organId: pick(HOSTED), text: 'ke hoach', limit: L }) },
    { name: 'agency + direction + state + time', make: () => ({ organId: pick(AGENCIES), direction: 'out', state: 'completed', since: new Date(last - 90 * day), limit: L }) },
    { name: 'agency: 20th page via cursor', make: () => ({ organId: pick(AGENCIES), limit: L }), pages: 20 },
    { name: 'no filter: 50th page via cursor', make: () => ({ limit: L }), pages: 50 },
  ]

  const all: number[] = []
  const table: { query: string; n: number; p50Ms: number; p95Ms: number; maxMs: number; rows: number }[] = []
  for (const q of queries) {
    const times: number[] = []
    let rows = 0
    // warm-up
    await store.listEvents(q.make())
    for (let i = 0; i < args.runs; i++) {
      const f = q.make()
      if (q.pages) {
        // walk to the page before the last measured one, then time each page walked (deep pages included)
        let cursor: string | undefined
        for (let p = 0; p < q.pages; p++) {
          const t0 = performance.now()
          const page = await store.listEvents({ ...f, ...(cursor ? { cursor } : {}) })
          const ms = performance.now() - t0
          if (p >= q.pages - 3) times.push(ms)
          rows = page.items.length
          cursor = page.next
          if (!cursor) break
        }
        continue
      }
      const t0 = performance.now()
      const page = await store.listEvents(f)
      times.push(performance.now() - t0)
      rows = page.items.length
    }
    times.sort((a, b) => a - b)
    all.push(...times)
    table.push({ query: q.name, n: times.length, p50Ms: round(quantile(times, 0.5)), p95Ms: round(quantile(times, 0.95)), maxMs: round(times[times.length - 1] ?? 0), rows })
  }
  console.table(table)

  let api: { p50Ms: number; p95Ms: number; n: number } | undefined
  if (args.api) api = await measureApi(store, file, filled, args.runs)

  const tv = performance.now()
  const verdict = await store.verifyLog()
  const verifyMs = performance.now() - tv
  console.log(`verifyLog over ${verdict.checked.toLocaleString('en')} rows: ${verdict.ok ? 'intact' : 'BROKEN ' + JSON.stringify(verdict.firstBroken)} in ${(verifyMs / 1000).toFixed(1)} s`)
  await store.close()
  if (dir && !args.keep) rmSync(dir, { recursive: true, force: true })
  else if (!args.store) console.log(`store kept: ${file}`)

  all.sort((a, b) => a - b)
  const worst = table.reduce((w, r) => (r.p95Ms > w.p95Ms ? r : w), table[0]!)
  console.log(
    JSON.stringify({
      events: filled.events,
      packages: filled.packages + filled.incoming,
      queries: all.length,
      pageSize: L,
      p50Ms: round(quantile(all, 0.5)),
      p95Ms: round(quantile(all, 0.95)),
      p99Ms: round(quantile(all, 0.99)),
      maxMs: round(all[all.length - 1] ?? 0),
      worstQuery: worst.query,
      worstQueryP95Ms: worst.p95Ms,
      ...(api ? { apiP50Ms: api.p50Ms, apiP95Ms: api.p95Ms } : {}),
      fillEventsPerSecond: Math.round((filled.events / filled.ms) * 1000),
      openMs: round(openMs),
      verifyMs: Math.round(verifyMs),
      chainIntact: verdict.ok,
    }),
  )
}

/** The same kinds of queries through GET /v1/log (operator key), answer parsed. */
async function measureApi(store: SqliteStore, file: string, filled: Filled, runs: number): Promise<{ p50Ms: number; p95Ms: number; n: number }> {
  const { createHash } = await import('node:crypto')
  const { pino } = await import('pino')
  const { buildApp } = await import('../src/app.js')
  const { createGateway } = await import('../src/gateway.js')
  const { loadConfig } = await import('../src/config.js')
  const key = 'bench-operator-key'
  const config = loadConfig({
    object: {
      log: { level: 'silent' },
      store: { path: file },
      agencies: [
        {
          organId: HOSTED[0],
          name: 'Bench',
          organizationInCharge: 'Bench',
          signing: { keyPath: path.join(CERTS, 'vpcp', 'key.pem'), certPath: path.join(CERTS, 'vpcp', 'cert.pem') },
        },
      ],
      operators: [{ id: 'bench', keySha256: createHash('sha256').update(key).digest('hex') }],
      limits: { requestsPerMinute: 1_000_000 },
    },
    env: {},
  })
  const app = await buildApp(await createGateway(config, { store, signers: new Map(), packager: null, relay: { wake() {} }, broker: { state: 'connected' }, logger: pino({ level: 'silent' }) }))
  const urls = [
    () => `/v1/log?agency=${encodeURIComponent(pick(AGENCIES))}`,
    () => `/v1/log?q=${encodeURIComponent(pick(filled.codes))}`,
    () => `/v1/log?q=${encodeURIComponent('báo cáo')}`,
    () => `/v1/log?documentId=${encodeURIComponent(pick(filled.documentIds))}`,
    () => `/v1/log?since=${new Date(Date.parse(filled.lastTime) - 86_400_000 * 100).toISOString()}&until=${new Date(Date.parse(filled.lastTime) - 86_400_000 * 99).toISOString()}`,
    () => `/v1/log?agency=${encodeURIComponent(pick(HOSTED))}&direction=out&state=completed`,
  ]
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    for (const u of urls) {
      const url = u()
      const t0 = performance.now()
      const res = await app.inject({ url, headers: { authorization: `Bearer ${key}` } })
      times.push(performance.now() - t0)
      if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    }
  }
  await app.close()
  times.sort((a, b) => a - b)
  const r = { p50Ms: round(quantile(times, 0.5)), p95Ms: round(quantile(times, 0.95)), n: times.length }
  console.log(`GET /v1/log through app.inject: ${r.n} requests, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms`)
  return r
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
