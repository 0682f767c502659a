/**
 * End-to-end benchmark: two gateways, each its own process (`node dist/cli.js serve --config FILE`, built by
 * `npm run build`), on the local RabbitMQ with random exchange and queue names and SQLite stores in a temporary
 * folder. Gateway A hosts Văn phòng Chính phủ (000.00.00.G22) and the benchmark is its DMS; gateway B hosts UBND
 * TP. Hồ Chí Minh (000.00.00.H29). Each document goes the whole way: A's API (202) → build and sign → store →
 * relay (confirmed publish) → B receives, verifies, stores, acks → B signs and sends status 01 → A verifies it and
 * moves the delivery to `delivered`.
 *
 *   npm run bench -- [--count N] [--size 10kb,1mb] [--skip-large] [--concurrency N] [--paced-seconds S]
 *                    [--workers N] [--sync FULL|NORMAL] [--cpu-prof DIR] [--amqp URL]
 *
 * Per size: a closed-loop run at the highest rate (`--concurrency` requests in flight) gives documents/s; a paced,
 * open-loop run at 50% of that rate gives the latency that the p99 target is about. Latency is from the API's 202
 * to the 01 arriving at A, read through A's API: each delivery's `updatedAt` is the moment A recorded the 01 (no 03
 * follows here), so the figure does not depend on how often the benchmark polls; the benchmark polls only
 * `GET /v1/documents?state=accepted|queued&limit=1` (a few requests a second) to know when everything arrived,
 * then reads the run's documents page by page (GET /v1/documents?since=...). A webhook receiver would have
 * added two hash-chained log events per document on A (webhook-queued, webhook-delivered), a cost of its own.
 *
 * The raw limits are measured in the same run, before the gateways start: one core's node:crypto RSA-2048 sign
 * and verify rates over a payload of the document's size (per CPU second of this single-threaded process, best of
 * 3 rounds, as bench/crypto.ts does), and the broker's confirmed persistent publish rate (amqplib confirm channel,
 * persistent messages of the same size into a random durable queue, drained by a consumer, many in flight).
 *
 * Large file (unless --skip-large): a fresh pair of gateways (limits raised for it) sends one 50 MiB attachment
 * as multipart/form-data; the peak RSS growth of A and B (VmHWM of /proc/<pid>/status, reset through clear_refs
 * just before, against VmRSS then) is printed per 50 MiB of file.
 *
 * CPU time of each gateway process (all its threads, /proc/<pid>/stat) is printed per document: on a shared
 * machine it says what the documents cost, whatever else runs. --cpu-prof DIR runs the gateways under
 * `node --cpu-prof` (one profile per thread, written when they stop) and prints the top functions by self time.
 *
 * The last line is one JSON object: docsPerSecond, p50Ms, p95Ms, p99Ms (paced run, 10 KB when measured),
 * rawSignPerSecond, ratioToLimit (docsPerSecond / rawSignPerSecond), peakRssGrowthPer50MB, and per size details.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import amqp from 'amqplib'
import { printSummary, summarise } from './profile.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = path.join(ROOT, 'dist', 'cli.js')
const SAMPLE = path.join(ROOT, 'config', 'sample.json')
const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const MiB = 1024 * 1024
const LARGE = 50 * MiB

// ---- options ------------------------------------------------------------------------------------------------

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(kb|mb|b)?$/i.exec(s.trim())
  if (!m) throw new Error(`size ${s}: use e.g. 10kb or 1mb`)
  const unit = (m[2] ?? 'b').toLowerCase()
  return Math.round(Number(m[1]) * (unit === 'mb' ? MiB : unit === 'kb' ? 1024 : 1))
}

function options() {
  const a = process.argv.slice(2)
  const get = (name: string): string | undefined => {
    const i = a.indexOf(`--${name}`)
    if (i >= 0 && a[i + 1] !== undefined) return a[i + 1]
    const eq = a.find((x) => x.startsWith(`--${name}=`))
    return eq?.slice(name.length + 3)
  }
  const sizes = (get('size') ?? '10kb,1mb').split(',').map((s) => ({ label: s.trim().toLowerCase(), bytes: parseSize(s) }))
  const count = get('count')
  const conc = get('concurrency')
  const workers = get('workers')
  const sync = get('sync')?.toUpperCase()
  return {
    sizes,
    count: count === undefined ? undefined : Number(count),
    concurrency: conc === undefined ? undefined : Number(conc),
    pacedSeconds: Number(get('paced-seconds') ?? 10),
    skipLarge: a.includes('--skip-large'),
    workers: workers === undefined ? undefined : Number(workers),
    sync: sync === 'FULL' || sync === 'NORMAL' ? sync : undefined,
    cpuProf: get('cpu-prof'),
    amqpUrl: get('amqp') ?? 'amqp://guest:guest@127.0.0.1:5672',
  }
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const load = () => os.loadavg().map((x) => round(x, 2))

// ---- raw limits -----------------------------------------------------------------------------------------------

interface Sample {
  agencies: Record<string, unknown>[]
  trust: { anchorsPaths: string[]; intermediatesPaths?: string[]; crlPaths?: string[] }
}
const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as Sample
const fromConfig = (p: string) => path.resolve(path.dirname(SAMPLE), p)

/** Operations per CPU second of this process (one core), best of 3 rounds of `seconds`/3 each. */
function cpuRate(fn: () => void, seconds = 1.5): number {
  let best = 0
  const w0 = performance.now()
  while (performance.now() - w0 < 150) fn()
  for (let r = 0; r < 3; r++) {
    let n = 0
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    while (performance.now() - t0 < (seconds * 1000) / 3) {
      for (let i = 0; i < 10; i++) fn()
      n += 10
    }
    const c = process.cpuUsage(c0)
    best = Math.max(best, (n * 1e6) / (c.user + c.system))
  }
  return best
}

function rawCrypto(sizeBytes: number): { sign: number; verify: number } {
  const g22 = sample.agencies.find((x) => x.organId === G22) as { signing: { keyPath: string; certPath: string } }
  const key = createPrivateKey(readFileSync(fromConfig(g22.signing.keyPath)))
  const pub = createPublicKey(new X509Certificate(readFileSync(fromConfig(g22.signing.certPath))).publicKey.export({ type: 'spki', format: 'pem' }))
  const data = randomBytes(sizeBytes)
  const sig = nodeSign('sha256', data, key)
  if (!nodeVerify('sha256', data, pub, sig)) throw new Error('bench setup: the sample key and certificate do not match')
  return { sign: cpuRate(() => nodeSign('sha256', data, key)), verify: cpuRate(() => nodeVerify('sha256', data, pub, sig)) }
}

/** Confirmed persistent publishes per second (wall clock) into a random durable queue, `window` in flight. */
async function rawPublish(url: string, sizeBytes: number): Promise<number> {
  const big = sizeBytes >= 256 * 1024
  const count = big ? 200 : 5000
  const window = big ? 16 : 500
  const queue = `lt-bench-raw-${randomBytes(4).toString('hex')}`
  const conn = await amqp.connect(url)
  const drain = await amqp.connect(url)
  try {
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue(queue, { durable: true })
    const dch = await drain.createChannel()
    await dch.consume(queue, () => {}, { noAck: true })
    const body = randomBytes(sizeBytes)
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < count) {
          const i = next++
          await new Promise<void>((resolve, reject) =>
            ch.publish('', queue, body, { persistent: true, messageId: `raw-${i}`, contentType: 'application/xml' }, (err) => (err ? reject(err) : resolve())),
          )
        }
      }),
    )
    const rate = count / ((performance.now() - t0) / 1000)
    await ch.deleteQueue(queue)
    return rate
  } finally {
    await conn.close().catch(() => {})
    await drain.close().catch(() => {})
  }
}

// ---- gateways as processes ------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

interface Gateway {
  name: string
  child: ChildProcess
  pid: number
  port: number
  logFile: string
  exited: Promise<number | null>
}

interface Names {
  exchange: string
  deadLetterExchange: string
  queuePrefix: string
  deadLetterQueuePrefix: string
}

/** What an interrupted run must still stop and delete. */
const live = new Set<Gateway>()
const liveNames = new Set<Names>()

async function startGatewayProcess(o: {
  name: string
  dir: string
  names: Names
  agencyIds: string[]
  clientKey?: string
  amqpUrl: string
  workers?: number | undefined
  sync?: string | undefined
  large?: boolean
  cpuProf?: string | undefined
}): Promise<Gateway> {
  const port = await freePort()
  const agencies = sample.agencies
    .filter((a) => o.agencyIds.includes(a.organId as string))
    .map((a) => {
      const s = a.signing as Record<string, string>
      const signing = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k.endsWith('Path') ? fromConfig(v) : v]))
      return { ...a, signing, clients: o.clientKey ? [{ id: 'bench-dms', keySha256: createHash('sha256').update(o.clientKey).digest('hex') }] : [] }
    })
  const config = {
    http: { host: '127.0.0.1', port, docs: false },
    log: { level: 'warn' },
    amqp: { url: o.amqpUrl, ...o.names },
    store: { driver: 'sqlite', path: path.join(o.dir, `${o.name}.sqlite`), ...(o.sync ? { synchronous: o.sync } : {}) },
    agencies,
    operators: [],
    trust: {
      anchorsPaths: sample.trust.anchorsPaths.map(fromConfig),
      intermediatesPaths: (sample.trust.intermediatesPaths ?? []).map(fromConfig),
      crlPaths: (sample.trust.crlPaths ?? []).map(fromConfig),
    },
    limits: { requestsPerMinute: 10_000_000, ...(o.large ? { attachmentBytes: LARGE + MiB, packageBytes: 80 * MiB } : {}) },
    ...(o.workers === undefined ? {} : { pipeline: { workers: o.workers } }),
  }
  const file = path.join(o.dir, `${o.name}.json`)
  writeFileSync(file, JSON.stringify(config, null, 2))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIENTHONG_')))
  const prof = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.join(o.cpuProf, o.name)] : []
  const logFile = path.join(o.dir, `${o.name}.log`)
  const out = createWriteStream(logFile)
  const child = spawn(process.execPath, [...prof, CLI, 'serve', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.pipe(out, { end: false })
  child.stderr!.pipe(out, { end: false })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const g: Gateway = { name: o.name, child, pid: child.pid!, port, logFile, exited }
  live.add(g)
  void exited.then(() => live.delete(g))
  const deadline = Date.now() + 60_000
  let gone = false
  void exited.then(() => (gone = true))
  for (;;) {
    if (gone) throw new Error(`gateway ${o.name} exited while starting:\n${readFileSync(logFile, 'utf8').slice(-3000)}`)
    const r = await request(g, 'GET', '/readyz').catch(() => undefined)
    if (r?.status === 200) break
    if (Date.now() > deadline) throw new Error(`gateway ${o.name} not ready after 60 s:\n${readFileSync(logFile, 'utf8').slice(-3000)}`)
    await sleep(100)
  }
  return g
}

async function stopGateway(g: Gateway): Promise<void> {
  if (g.child.exitCode !== null) return
  g.child.kill('SIGTERM')
  const t = setTimeout(() => g.child.kill('SIGKILL'), 30_000)
  await g.exited
  clearTimeout(t)
}

const CLK_TCK = 100 // Linux USER_HZ
/** CPU seconds (user + system, all threads) of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK // utime, stime (fields 14 and 15)
}
function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

function tail(gws: Gateway[]): string {
  return gws.map((g) => `log of ${g.name}:\n${readFileSync(g.logFile, 'utf8').slice(-2000)}`).join('\n')
}

// ---- HTTP client ---------------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 })
function request(g: Gateway, method: string, url: string, body?: Buffer, headers: Record<string, string | number> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port: g.port, path: url, method, headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function documentJson(number: string, attachmentB64: string, tag: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      recipients: [{ organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', organizationInCharge: 'Ủy ban nhân dân Thành phố Hồ Chí Minh' }],
      code: { number, notation: `VPCP-${tag}` },
      promulgation: { place: 'Hà Nội', date: '2026/11/25' },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: `Văn bản thử tải đầu cuối số ${number}`,
      signer: { position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
      pageAmount: 1,
      attachments: [{ name: 'van-ban.pdf', contentType: 'application/pdf', data: attachmentB64 }],
    }),
  )
}

/**
 * Request bodies with a number of their own each (the receiver refuses a DocumentId it already has with other
 * content): the JSON is built once and the number spliced in.
 */
function bodies(attachmentB64: string, tag: string): (i: number) => Buffer {
  const t = documentJson('\u0000N\u0000', attachmentB64, tag)
  const mark = Buffer.from(JSON.stringify('\u0000N\u0000').slice(1, -1))
  const parts: Buffer[] = []
  let from = 0
  for (let at = t.indexOf(mark); at >= 0; at = t.indexOf(mark, from)) {
    parts.push(t.subarray(from, at))
    from = at + mark.length
  }
  parts.push(t.subarray(from))
  return (i) => {
    const n = Buffer.from(String(i + 1))
    return Buffer.concat(parts.flatMap((p, k) => (k === 0 ? [p] : [n, p])))
  }
}

interface Sent {
  id?: string
  startAt: number // Date.now() when the request was sent
  acceptedAt: number // Date.now() when the 202 arrived
}

interface Bench {
  a: Gateway
  key: string
}

async function send(b: Bench, body: Buffer, contentType = 'application/json'): Promise<Sent> {
  const startAt = Date.now()
  const r = await request(b.a, 'POST', '/v1/documents', body, { authorization: `Bearer ${b.key}`, 'content-type': contentType })
  const acceptedAt = Date.now()
  if (r.status !== 202) {
    console.error(`  refused: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`)
    return { startAt, acceptedAt }
  }
  return { id: (JSON.parse(r.body.toString('utf8')) as { id: string }).id, startAt, acceptedAt }
}

async function pendingCount(b: Bench): Promise<number> {
  let n = 0
  for (const state of ['accepted', 'queued']) {
    const r = await request(b.a, 'GET', `/v1/documents?state=${state}&limit=1`, undefined, { authorization: `Bearer ${b.key}` })
    n += (JSON.parse(r.body.toString('utf8')) as { items: unknown[] }).items.length
  }
  return n
}

/** Wait until no delivery of A is accepted or queued any more (all delivered, refused or failed). */
async function drained(b: Bench, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await pendingCount(b)) === 0) return true
    await sleep(200)
  }
  return false
}

/** Every delivery of A's documents created since `since`, by package id. */
async function deliveries(b: Bench, since: number): Promise<Map<string, { state: string; updatedAt: number }>> {
  const out = new Map<string, { state: string; updatedAt: number }>()
  let cursor: string | undefined
  const iso = new Date(since - 1000).toISOString()
  do {
    const r = await request(b.a, 'GET', `/v1/documents?since=${encodeURIComponent(iso)}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { authorization: `Bearer ${b.key}` })
    const page = JSON.parse(r.body.toString('utf8')) as { items: { id: string; deliveries: { state: string; updatedAt: string }[] }[]; next?: string }
    for (const p of page.items) {
      const d = p.deliveries[0]
      if (d) out.set(p.id, { state: d.state, updatedAt: Date.parse(d.updatedAt) })
    }
    cursor = page.next
  } while (cursor)
  return out
}

interface RunResult {
  sent: number
  delivered: number
  notDelivered: Record<string, number>
  refusedByApi: number
  docsPerSecond: number
  offeredPerSecond?: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  maxMs: number
  requestP50Ms: number
  requestP99Ms: number
  cpuMsPerDocA: number
  cpuMsPerDocB: number
  cpuMsPerDocBench: number
  seconds: number
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n)
/** The measured window of each run, on CLOCK_MONOTONIC (the clock of V8's CPU profiles), by gateway pair. */
const windows = new Map<string, { fromUs: number; toUs: number }>()

async function measureRun(b: Bench, gws: Gateway[], sents: () => Promise<Sent[]>, offered?: number, windowOf?: string): Promise<RunResult> {
  const from = monoUs()
  const cpu0 = gws.map((g) => cpuSeconds(g.pid))
  const me0 = process.cpuUsage()
  const t0 = Date.now()
  const list = await sents()
  if (!(await drained(b, 300_000))) console.error('  some deliveries still pending after 300 s')
  const cpu1 = gws.map((g) => cpuSeconds(g.pid))
  const me = process.cpuUsage(me0)
  if (windowOf) windows.set(windowOf, { fromUs: from, toUs: monoUs() })
  const ds = await deliveries(b, t0)
  const lat: number[] = []
  const req: number[] = []
  const notDelivered: Record<string, number> = {}
  let last = t0
  let delivered = 0
  for (const s of list) {
    req.push(s.acceptedAt - s.startAt)
    const d = s.id ? ds.get(s.id) : undefined
    if (!d) continue
    if (d.state !== 'delivered') {
      notDelivered[d.state] = (notDelivered[d.state] ?? 0) + 1
      continue
    }
    delivered++
    lat.push(d.updatedAt - s.acceptedAt)
    last = Math.max(last, d.updatedAt)
  }
  lat.sort((x, y) => x - y)
  req.sort((x, y) => x - y)
  const n = list.length
  return {
    sent: n,
    delivered,
    notDelivered,
    refusedByApi: list.filter((s) => !s.id).length,
    docsPerSecond: round(delivered / ((last - t0) / 1000)),
    ...(offered !== undefined ? { offeredPerSecond: round(offered) } : {}),
    p50Ms: round(pct(lat, 50)),
    p95Ms: round(pct(lat, 95)),
    p99Ms: round(pct(lat, 99)),
    maxMs: round(lat[lat.length - 1] ?? NaN),
    requestP50Ms: round(pct(req, 50)),
    requestP99Ms: round(pct(req, 99)),
    cpuMsPerDocA: round(((cpu1[0]! - cpu0[0]!) * 1000) / n, 2),
    cpuMsPerDocB: round(((cpu1[1]! - cpu0[1]!) * 1000) / n, 2),
    cpuMsPerDocBench: round((me.user + me.system) / 1000 / n, 2),
    seconds: round((last - t0) / 1000, 2),
  }
}

/** Closed loop: `count` documents, `concurrency` requests in flight. */
function closedLoop(b: Bench, body: (i: number) => Buffer, seq: { next: number }, count: number, concurrency: number): () => Promise<Sent[]> {
  return async () => {
    const out: Sent[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          const i = next++
          out[i] = await send(b, body(seq.next++))
        }
      }),
    )
    return out
  }
}

/** Open loop: `count` documents at `rate` per second on schedule, whatever the answers take. */
function paced(b: Bench, body: (i: number) => Buffer, seq: { next: number }, count: number, rate: number): () => Promise<Sent[]> {
  return async () => {
    const pending: Promise<Sent>[] = []
    const t0 = performance.now()
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / rate
      const wait = due - performance.now()
      if (wait > 1) await sleep(wait)
      pending.push(send(b, body(seq.next++)))
    }
    return Promise.all(pending)
  }
}

function printRun(label: string, r: RunResult): void {
  const nd = Object.entries(r.notDelivered).map(([k, v]) => `${v} ${k}`).join(', ')
  console.log(
    `  ${label}: ${r.delivered}/${r.sent} delivered in ${r.seconds} s → ${r.docsPerSecond} documents/s${r.offeredPerSecond !== undefined ? ` (offered ${r.offeredPerSecond}/s)` : ''}${nd ? `; not delivered: ${nd}` : ''}${r.refusedByApi ? `; ${r.refusedByApi} refused by the API` : ''}`,
  )
  console.log(`    latency 202 → 01 at the sender: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (request → 202: p50 ${r.requestP50Ms} ms, p99 ${r.requestP99Ms} ms)`)
  console.log(`    CPU per document: gateway A ${r.cpuMsPerDocA} ms, gateway B ${r.cpuMsPerDocB} ms, this client ${r.cpuMsPerDocBench} ms`)
}

// ---- the run -------------------------------------------------------------------------------------------------

async function deleteNames(url: string, names: Names): Promise<void> {
  const c = await amqp.connect(url)
  try {
    const ch = await c.createChannel()
    ch.on('error', () => {})
    for (const id of [G22, H29]) {
      await ch.deleteQueue(names.queuePrefix + id).catch(() => {})
      await ch.deleteQueue(names.deadLetterQueuePrefix + id).catch(() => {})
    }
    await ch.deleteExchange(names.exchange).catch(() => {})
    await ch.deleteExchange(names.deadLetterExchange).catch(() => {})
    await ch.close().catch(() => {})
  } finally {
    await c.close().catch(() => {})
  }
}

async function startPair(o: ReturnType<typeof options>, dir: string, tag: string, large: boolean): Promise<{ b: Bench; gws: Gateway[]; names: Names }> {
  const r = randomBytes(4).toString('hex')
  const names = { exchange: `lt-bench-${r}.edoc`, deadLetterExchange: `lt-bench-${r}.dead`, queuePrefix: `lt-bench-${r}.inbox.`, deadLetterQueuePrefix: `lt-bench-${r}.dlq.` }
  liveNames.add(names)
  const key = randomBytes(16).toString('hex')
  const common = { dir, names, amqpUrl: o.amqpUrl, workers: o.workers, sync: o.sync, large, cpuProf: o.cpuProf ? path.join(o.cpuProf, tag) : undefined }
  const started = await Promise.allSettled([
    startGatewayProcess({ ...common, name: `${tag}-a`, agencyIds: [G22], clientKey: key }),
    startGatewayProcess({ ...common, name: `${tag}-b`, agencyIds: [H29] }),
  ])
  const gws = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    for (const g of gws) await stopGateway(g)
    await deleteNames(o.amqpUrl, names)
    throw (failed as PromiseRejectedResult).reason
  }
  return { b: { a: gws[0]!, key }, gws, names }
}

async function stopPair(o: ReturnType<typeof options>, p: { gws: Gateway[]; names: Names }): Promise<void> {
  for (const g of p.gws) await stopGateway(g)
  await deleteNames(o.amqpUrl, p.names)
  liveNames.delete(p.names)
}

interface SizeResult {
  size: string
  bytes: number
  rawSignPerSecond: number
  rawVerifyPerSecond: number
  rawPublishPerSecond: number
  max: RunResult
  paced: RunResult
  ratioToRawSign: number
  ratioToRawPublish: number
}

const tagOf = (label: string) => label.replace(/[^a-z0-9]/g, '')

async function benchSize(o: ReturnType<typeof options>, dir: string, size: { label: string; bytes: number }): Promise<SizeResult> {
  const big = size.bytes >= 256 * 1024
  console.log(`\n== ${size.label} (${size.bytes} B attachment, JSON with base64; load average ${load().join(' ')})`)
  const raw = rawCrypto(size.bytes)
  const rawPublishPerSecond = await rawPublish(o.amqpUrl, size.bytes)
  console.log(`  raw limits: node:crypto RSA-2048 sign ${round(raw.sign)}/s and verify ${round(raw.verify)}/s per core (CPU second); broker confirmed persistent publish ${round(rawPublishPerSecond)}/s`)

  const pair = await startPair(o, dir, tagOf(size.label), false)
  try {
    const { b, gws } = pair
    const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(Math.max(0, size.bytes - 9))]).toString('base64')
    const body = bodies(file, 'BENCH')
    const seq = { next: 0 }
    const count = o.count ?? (big ? 100 : 1500)
    const concurrency = o.concurrency ?? (big ? 8 : 64)
    // warm-up: JIT, SQLite pages, the keep-alive sockets, the consumer of both sides
    const warm = big ? 10 : Math.min(200, Math.max(concurrency, Math.floor(count / 10)))
    await closedLoop(b, body, seq, warm, concurrency)()
    if (!(await drained(b, 120_000))) throw new Error(`warm-up documents not delivered within 120 s; ${tail(gws)}`)

    const max = await measureRun(b, gws, closedLoop(b, body, seq, count, concurrency), undefined, tagOf(size.label))
    printRun(`highest rate (${count} documents, ${concurrency} in flight)`, max)
    const rate = Math.max(0.5, max.docsPerSecond / 2)
    const pacedCount = Math.max(20, Math.min(count, Math.round(rate * o.pacedSeconds)))
    const pacedRun = await measureRun(b, gws, paced(b, body, seq, pacedCount, rate), rate)
    printRun(`paced at 50% (${pacedCount} documents at ${round(rate)}/s)`, pacedRun)
    const r: SizeResult = {
      size: size.label,
      bytes: size.bytes,
      rawSignPerSecond: round(raw.sign),
      rawVerifyPerSecond: round(raw.verify),
      rawPublishPerSecond: round(rawPublishPerSecond),
      max,
      paced: pacedRun,
      ratioToRawSign: round(max.docsPerSecond / raw.sign, 3),
      ratioToRawPublish: round(max.docsPerSecond / rawPublishPerSecond, 3),
    }
    console.log(`  ratio: ${r.ratioToRawSign} × one core's raw sign rate, ${r.ratioToRawPublish} × the broker's confirmed publish rate`)
    return r
  } finally {
    await stopPair(o, pair)
  }
}

interface LargeResult {
  fileBytes: number
  delivered: boolean
  seconds: number
  senderGrowthMB: number
  receiverGrowthMB: number
  senderPer50MB: number
  receiverPer50MB: number
  baselineRssMB: { sender: number; receiver: number }
}

async function benchLarge(o: ReturnType<typeof options>, dir: string): Promise<LargeResult> {
  console.log(`\n== ${LARGE / MiB} MiB attachment, multipart/form-data (fresh gateways; load average ${load().join(' ')})`)
  const pair = await startPair(o, dir, 'large', true)
  try {
    const { b, gws } = pair
    const boundary = '----lienthong-bench-' + randomBytes(8).toString('hex')
    const multipart = (i: number, file: Buffer): Buffer => {
      const meta = JSON.parse(documentJson(String(i + 1), '', 'LARGE').toString('utf8')) as Record<string, unknown>
      delete meta.attachments
      return Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(meta)}\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ho-so.pdf"\r\nContent-Type: application/pdf\r\n\r\n`),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ])
    }
    const ct = `multipart/form-data; boundary=${boundary}`
    // warm-up with a 1 MiB file the same way, so that the code paths are loaded before the baseline
    const w = await send(b, multipart(0, Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(MiB - 9)])), ct)
    if (!w.id || !(await drained(b, 120_000))) throw new Error('large warm-up not delivered')
    await sleep(500)
    const body = multipart(1, Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(LARGE - 9)]))
    const base = gws.map((g) => {
      try {
        writeFileSync(`/proc/${g.pid}/clear_refs`, '5') // reset VmHWM to the current RSS
      } catch {
        // older kernel: the high-water mark of the warm-up stays, which only makes the growth look smaller
      }
      return statusKb(g.pid, 'VmRSS')
    })
    const t0 = Date.now()
    const from = monoUs()
    const s = await send(b, body, ct)
    const ok = !!s.id && (await drained(b, 600_000))
    windows.set('large', { fromUs: from, toUs: monoUs() })
    const ds = await deliveries(b, t0)
    const d = s.id ? ds.get(s.id) : undefined
    const peak = gws.map((g) => statusKb(g.pid, 'VmHWM'))
    const growth = peak.map((p, i) => (p - base[i]!) * 1024)
    const r: LargeResult = {
      fileBytes: LARGE,
      delivered: ok && d?.state === 'delivered',
      seconds: round(((d?.updatedAt ?? Date.now()) - t0) / 1000, 2),
      senderGrowthMB: round(growth[0]! / MiB),
      receiverGrowthMB: round(growth[1]! / MiB),
      senderPer50MB: round(growth[0]! / LARGE, 2),
      receiverPer50MB: round(growth[1]! / LARGE, 2),
      baselineRssMB: { sender: round(base[0]! / 1024), receiver: round(base[1]! / 1024) },
    }
    console.log(`  ${r.delivered ? 'delivered' : `NOT delivered (${d?.state ?? 'no delivery'})`} in ${r.seconds} s (request → 01 at the sender)`)
    console.log(
      `  peak RSS growth: sender ${r.senderGrowthMB} MiB (${r.senderPer50MB} × the file), receiver ${r.receiverGrowthMB} MiB (${r.receiverPer50MB} × the file); baseline RSS ${r.baselineRssMB.sender} / ${r.baselineRssMB.receiver} MiB`,
    )
    return r
  } finally {
    await stopPair(o, pair)
  }
}

function printProfiles(dir: string): void {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.cpuprofile') ? [path.join(d, e.name)] : []))
  for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const gw of readdirSync(path.join(dir, sub.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const files = walk(path.join(dir, sub.name, gw.name))
      if (!files.length) continue
      const w = windows.get(sub.name)
      console.log(`\n-- CPU profile of gateway ${gw.name} (${files.length} threads; files in ${path.join(dir, sub.name, gw.name)}), ${w ? 'the measured run at the highest rate only' : 'whole process'}`)
      if (w) console.log(`   (window: npx tsx bench/profile.ts FILES --from ${w.fromUs} --to ${w.toUs})`)
      for (const s of summarise(files, 25, w)) if (s.busyMs > 100) printSummary(s, (l) => console.log('  ' + l))
    }
  }
}

async function main(): Promise<void> {
  const o = options()
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`)
  if (o.cpuProf) mkdirSync(o.cpuProf, { recursive: true })
  const load0 = load()
  console.log(`lienthong end-to-end bench: 2 gateway processes (dist/cli.js serve), SQLite stores, RabbitMQ ${o.amqpUrl.replace(/\/\/[^@]*@/, '//')}`)
  console.log(`  ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${load0.join(' ')} (1, 5, 15 min)`)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lienthong-e2e-'))
  let cleaning = false
  const onSignal = () => {
    if (cleaning) return
    cleaning = true
    console.error('interrupted: stopping the gateways, deleting the exchanges and queues and the temporary folder')
    void (async () => {
      for (const g of [...live]) await stopGateway(g).catch(() => {})
      for (const n of [...liveNames]) await deleteNames(o.amqpUrl, n).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
      process.exit(130)
    })()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const sizes: SizeResult[] = []
    for (const s of o.sizes) sizes.push(await benchSize(o, dir, s))
    const large = o.skipLarge ? undefined : await benchLarge(o, dir)
    if (o.cpuProf) printProfiles(o.cpuProf)

    const head = sizes.find((s) => s.bytes === 10 * 1024) ?? sizes[0]!
    const is10kb = head.bytes === 10 * 1024
    const peakRssGrowthPer50MB = large ? Math.max(large.senderPer50MB, large.receiverPer50MB) : null
    const targets = {
      throughput: { want: '>= 0.4 × one core raw sign (10 KB)', got: head.ratioToRawSign, met: is10kb ? head.ratioToRawSign >= 0.4 : null },
      p99AtHalfRate: { want: '< 250 ms (10 KB, paced at 50%)', got: head.paced.p99Ms, met: is10kb ? head.paced.p99Ms < 250 : null },
      largeFileRss: { want: '< 3 × the file, sender and receiver', got: peakRssGrowthPer50MB, met: large ? large.delivered && peakRssGrowthPer50MB! < 3 : null },
    }
    const load1 = load()
    console.log(`\nsummary (${head.size}): ${head.max.docsPerSecond} documents/s = ${head.ratioToRawSign} × raw sign ${head.rawSignPerSecond}/s (target 0.4: ${targets.throughput.met === null ? 'n/a' : targets.throughput.met ? 'met' : 'NOT met'}); p99 at 50% ${head.paced.p99Ms} ms (target < 250: ${targets.p99AtHalfRate.met === null ? 'n/a' : targets.p99AtHalfRate.met ? 'met' : 'NOT met'})${large ? `; 50 MiB peak RSS growth ${peakRssGrowthPer50MB} × (target < 3: ${targets.largeFileRss.met ? 'met' : 'NOT met'})` : ''}`)
    console.log(`load average at the start ${load0.join(' ')}, at the end ${load1.join(' ')} (a shared machine: the rates are what was left of it)`)
    console.log(
      JSON.stringify({
        size: head.size,
        docsPerSecond: head.max.docsPerSecond,
        p50Ms: head.paced.p50Ms,
        p95Ms: head.paced.p95Ms,
        p99Ms: head.paced.p99Ms,
        p99MsAtMax: head.max.p99Ms,
        rawSignPerSecond: head.rawSignPerSecond,
        rawVerifyPerSecond: head.rawVerifyPerSecond,
        rawPublishPerSecond: head.rawPublishPerSecond,
        ratioToLimit: head.ratioToRawSign,
        ratioToPublish: head.ratioToRawPublish,
        peakRssGrowthPer50MB,
        targets,
        sizes,
        large: large ?? null,
        cpus: os.cpus().length,
        loadAverage: { start: load0, end: load1 },
        node: process.version,
        basis: 'raw sign/verify per CPU second of one thread; documents/s by wall clock, from the first request to the last 01 recorded by the sender',
      }),
    )
  } finally {
    agent.destroy()
    if (process.env.BENCH_KEEP) console.error(`kept ${dir} (BENCH_KEEP)`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
