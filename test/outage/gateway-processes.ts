/**
 * Gateways as child processes for the suites under load (under-load.outage.ts, federation.outage.ts): each one is
 * `lienthong serve --config FILE` in a process of its own, so it can be SIGKILLed and started again on the same
 * store, and a DMS client that sends documents to one of them the way a real one would (HTTP, an Idempotency-Key
 * per document, the same request again after a 503 or a connection that failed) — then the checks that every
 * document accepted arrived exactly once, and the counts the suites print.
 *
 * The command: `node dist/cli.js serve` when dist/ was built after the last change under src/ (dist/.tsbuildinfo
 * is newer than every source file; `npm run build`), else `node --import tsx src/cli.ts serve` (slower to start,
 * never stale). Each process logs at `info` as JSON lines into its own file (appended across restarts): the
 * counts of duplicates dropped and of redelivered messages are read from there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { promisify } from 'node:util'
import amqp from 'amqplib'
import { CERTS, G22, H29, KEYS, ROOT, STC } from '../helper.js'
import type { Test } from 'tap'
import { freePorts, onProcessExit, sleep, tail, type TeardownTarget } from '../services/common.js'

const run = promisify(execFile)

export { G22, H29, STC, KEYS }

/** How to run the CLI: built dist/ if it is up to date, else the sources through tsx. */
export function cliCommand(): { argv: string[]; how: string } {
  const dist = path.join(ROOT, 'dist', 'cli.js')
  const info = path.join(ROOT, 'dist', '.tsbuildinfo')
  if (existsSync(dist) && existsSync(info)) {
    const built = statSync(info).mtimeMs
    let newest = 0
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
      }
    }
    walk(path.join(ROOT, 'src'))
    if (newest <= built) return { argv: [dist], how: 'node dist/cli.js' }
  }
  return { argv: ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts')], how: 'node --import tsx src/cli.ts (dist/ missing or older than src/: npm run build starts faster)' }
}

export interface AmqpNames {
  exchange: string
  deadLetterExchange: string
  queuePrefix: string
  deadLetterQueuePrefix: string
}

/** Random exchange and queue names shared by the gateways of one run. */
export function amqpNames(tag: string): AmqpNames {
  const r = `lt-${tag}-${randomBytes(3).toString('hex')}`
  return { exchange: `${r}.edoc`, deadLetterExchange: `${r}.dead`, queuePrefix: `${r}.inbox.`, deadLetterQueuePrefix: `${r}.dlq.` }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

const AGENCIES: Record<string, { slug: string; name: string; key: string; p12?: boolean }> = {
  [G22]: { slug: 'vpcp', name: 'Văn phòng Chính phủ', key: KEYS.g22 },
  [H29]: { slug: 'ubnd-hcm', name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', key: KEYS.h29, p12: true },
  [STC]: { slug: 'stc-hcm', name: 'Sở Tài chính Thành phố Hồ Chí Minh', key: KEYS.stc },
}

export interface GatewayOptions {
  name: string
  dir: string
  amqpUrl: string
  names: AmqpNames
  /** Hosted OrganIds (G22, H29, STC). */
  organIds: string[]
  /** Default: SQLite file `<dir>/<name>.sqlite`. */
  store?: { driver: 'postgres'; url: string }
  /** Merged into the amqp settings. */
  amqp?: Record<string, unknown>
}

export interface GatewayProcess {
  readonly name: string
  readonly port: number
  readonly configFile: string
  readonly logFile: string
  /** What `lienthong log verify --store` is given. */
  readonly storeRef: string
  /** Times the process was started. */
  readonly starts: number
  readonly pid: number | undefined
  /** Start the process and wait until /readyz answers 200. */
  start(opts?: { timeoutMs?: number }): Promise<void>
  /** SIGKILL: nothing runs in the process any more, whatever it was doing. */
  kill(): Promise<void>
  /** SIGTERM (graceful: in-flight requests, confirms), SIGKILL after 30 s. */
  stop(): Promise<void>
  request(method: string, url: string, opts?: { body?: Buffer; headers?: Record<string, string>; key?: string }): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }>
  /** GET with the operator key, parsed JSON (throws on a status other than 200). */
  getJson<T = any>(url: string, key?: string): Promise<T>
  /** A gauge or counter of /metrics (operator key), summed over its labels matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>
  /** The process's JSON log lines so far (every start). */
  logLines(): Record<string, unknown>[]
}

/** Write the configuration of a gateway process and return its handle (not started). Stopped in `t`'s teardown. */
export async function gatewayProcess(t: TeardownTarget, o: GatewayOptions): Promise<GatewayProcess> {
  const [port] = (await freePorts(1)) as [number]
  const agencies = o.organIds.map((organId) => {
    const a = AGENCIES[organId]
    if (!a) throw new TypeError(`no sample agency ${organId}`)
    const dir = path.join(CERTS, 'agencies', a.slug)
    return {
      organId,
      name: a.name,
      organizationInCharge: a.name,
      signing: a.p12
        ? { p12Path: path.join(dir, 'bundle.p12'), password: 'lienthong-sample' }
        : { keyPath: path.join(dir, 'key.pem'), certPath: path.join(dir, 'cert.pem'), chainPath: path.join(dir, 'chain.pem') },
      clients: [{ id: `dms-${a.slug}`, keySha256: sha(a.key) }],
    }
  })
  const storeFile = path.join(o.dir, `${o.name}.sqlite`)
  const config = {
    http: { host: '127.0.0.1', port, docs: false },
    log: { level: 'info' },
    amqp: { url: o.amqpUrl, ...o.names, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, ...(o.amqp ?? {}) },
    store: o.store ?? { path: storeFile },
    agencies,
    operators: [{ id: 'ops', keySha256: sha(KEYS.ops) }],
    trust: { anchorsPaths: [path.join(CERTS, 'trust-anchors.pem')], crlPaths: [path.join(CERTS, 'crls.pem')] },
    limits: { requestsPerMinute: 10_000_000 },
    relay: { pollIntervalMs: 200, retryDelayMs: 200 },
  }
  const configFile = path.join(o.dir, `${o.name}.json`)
  writeFileSync(configFile, JSON.stringify(config, null, 2))
  const logFile = path.join(o.dir, `${o.name}.log`)
  const cli = cliCommand()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let starts = 0
  const killNow = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const unregister = onProcessExit(killNow)

  const request: GatewayProcess['request'] = (method, url, ro = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...(ro.headers ?? {}) }
      if (ro.key) headers.authorization = `Bearer ${ro.key}`
      if (ro.body) headers['content-length'] = ro.body.length
      const req = http.request({ agent, host: '127.0.0.1', port, path: url, method, headers, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }))
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error('request timed out after 60 s')))
      req.on('error', reject)
      req.end(ro.body)
    })

  const getJson = async (url: string, key: string = KEYS.ops) => {
    const r = await request('GET', url, { key })
    if (r.status !== 200) throw new Error(`${o.name} GET ${url}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`)
    return JSON.parse(r.body.toString('utf8'))
  }

  const g: GatewayProcess = {
    name: o.name,
    port,
    configFile,
    logFile,
    storeRef: o.store?.url ?? storeFile,
    get starts() {
      return starts
    },
    get pid() {
      return child?.pid
    },
    async start(so = {}) {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error(`${o.name} is running already`)
      const fd = openSync(logFile, 'a')
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIENTHONG_')))
      const c = spawn(process.execPath, [...cli.argv, 'serve', '--config', configFile], { cwd: ROOT, env, stdio: ['ignore', fd, fd] })
      closeSync(fd)
      child = c
      starts++
      exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
      const deadline = Date.now() + (so.timeoutMs ?? 120_000)
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${o.name} exited while starting (${c.exitCode ?? c.signalCode}):\n${tail(logFile, 15)}`)
        const r = await request('GET', '/readyz').catch(() => undefined)
        if (r?.status === 200) return
        if (Date.now() > deadline) throw new Error(`${o.name} not ready after ${so.timeoutMs ?? 120_000} ms:\n${tail(logFile, 15)}`)
        await sleep(100)
      }
    },
    async kill() {
      agent.destroy()
      killNow()
      await exited
    },
    async stop() {
      agent.destroy()
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(killNow, 30_000)
      await exited
      clearTimeout(timer)
    },
    request,
    getJson,
    async metric(name, labels = {}) {
      const r = await request('GET', '/metrics', { key: KEYS.ops })
      if (r.status !== 200) throw new Error(`${o.name} /metrics: ${r.status}`)
      let sum = 0
      for (const line of r.body.toString('utf8').split('\n')) {
        const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
        if (!m || m[1] !== name) continue
        const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3])
      }
      return sum
    },
    logLines() {
      if (!existsSync(logFile)) return []
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>]
          } catch {
            return []
          }
        })
    },
  }
  t.teardown(async () => {
    await g.stop()
    unregister()
  })
  return g
}

// ---- the DMS client ------------------------------------------------------------------------------------------

const RECIPIENT_NAMES: Record<string, string> = { [H29]: AGENCIES[H29]!.name, [STC]: AGENCIES[STC]!.name, [G22]: AGENCIES[G22]!.name }

/** A document request of about `sizeBytes` (one PDF attachment) to `recipients`, numbered `n`. */
export function documentBody(n: number, recipients: string[], attachmentB64: string, tag: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      recipients: recipients.map((organId) => ({ organId, name: RECIPIENT_NAMES[organId] ?? organId, organizationInCharge: RECIPIENT_NAMES[organId] ?? organId })),
      code: { number: String(n), notation: `VPCP-${tag}` },
      promulgation: { place: 'Hà Nội', date: '2026/11/25' },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: `Văn bản thử tải số ${n}`,
      signer: { position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
      pageAmount: 1,
      attachments: [{ name: 'van-ban.pdf', contentType: 'application/pdf', data: attachmentB64 }],
    }),
  )
}

/** A PDF-looking attachment of `bytes`, base64. */
export function attachment(bytes: number): string {
  return Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(Math.max(0, bytes - 9))]).toString('base64')
}

export interface Accepted {
  id: string
  documentId: string
  recipients: string[]
}

export interface SendProgress {
  /** Document number → what A answered with 202. */
  readonly accepted: Map<number, Accepted>
  /** Requests made (first tries and retries). */
  requests: number
  /** Requests repeated after a 503 or a failed connection. */
  retries: number
  /** 202 answers that were a replay of an earlier acceptance (`idempotent-replayed: true`). */
  replayed: number
  /** Answers by status (0: no answer: connection refused or reset). */
  readonly statuses: Map<number, number>
  /** Answers that were neither 202 nor 503 (each a failure of the run). */
  readonly refused: { n: number; status: number; body: string }[]
  /** Date.now() of the last 202. */
  lastAcceptedAt: number
  done: Promise<void>
}

/**
 * Send documents 1..count to `gw` (G22's client), `concurrency` at a time (those from `gate.from` on once
 * `gate.open` resolves), each with Idempotency-Key `<tag>-<n>`:
 * a 503 or a connection that fails (the process killed, the port closed) is retried with the same key and bytes
 * every 200 ms until a 202 (or `giveUpMs` for that document).
 */
export function sendDocuments(
  gw: GatewayProcess,
  o: {
    count: number
    concurrency: number
    recipients: string[]
    sizeBytes: number
    tag: string
    giveUpMs?: number
    key?: string
    /** Documents from number `from` on wait for `open` (so that some are still to come when a fault begins). */
    gate?: { from: number; open: Promise<unknown> }
  },
): SendProgress {
  const file = attachment(o.sizeBytes)
  const p: SendProgress = { accepted: new Map(), requests: 0, retries: 0, replayed: 0, statuses: new Map(), refused: [], lastAcceptedAt: 0, done: Promise.resolve() }
  let next = 1
  const sendOne = async (n: number) => {
    if (o.gate && n >= o.gate.from) await o.gate.open
    const body = documentBody(n, o.recipients, file, o.tag)
    const headers = { 'content-type': 'application/json', 'idempotency-key': `${o.tag}-${n}` }
    const giveUp = Date.now() + (o.giveUpMs ?? 180_000)
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) p.retries++
      p.requests++
      const r = await gw.request('POST', '/v1/documents', { body, headers, key: o.key ?? KEYS.g22 }).catch(() => undefined)
      const status = r?.status ?? 0
      p.statuses.set(status, (p.statuses.get(status) ?? 0) + 1)
      if (r && status === 202) {
        const j = JSON.parse(r.body.toString('utf8')) as { id: string; documentId: string; deliveries: { recipient: string }[] }
        if (r.headers['idempotent-replayed'] === 'true') p.replayed++
        p.accepted.set(n, { id: j.id, documentId: j.documentId, recipients: j.deliveries.map((d) => d.recipient) })
        p.lastAcceptedAt = Date.now()
        return
      }
      if (r && status !== 503) {
        p.refused.push({ n, status, body: r.body.toString('utf8').slice(0, 300) })
        return
      }
      if (Date.now() > giveUp) throw new Error(`document ${n} not accepted after ${o.giveUpMs ?? 180_000} ms (last answer ${status})`)
      await sleep(200)
    }
  }
  p.done = Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next <= o.count) await sendOne(next++)
    }),
  ).then(() => {})
  return p
}

export async function waitFor(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await Promise.resolve(fn()).catch(() => false)) return
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(stepMs)
  }
}

// ---- what arrived --------------------------------------------------------------------------------------------

/** Every page of a list endpoint (`items`, `next`). */
export async function listAll<T>(gw: GatewayProcess, url: string, key: string = KEYS.ops): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const sep = url.includes('?') ? '&' : '?'
    const page = (await gw.getJson(`${url}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key)) as { items: T[]; next?: string }
    out.push(...page.items)
    cursor = page.next
  } while (cursor)
  return out
}

/** Deliveries of `sender` not yet answered with a 01 (accepted or queued). */
export async function pendingDeliveries(sender: GatewayProcess, key: string = KEYS.g22): Promise<number> {
  let n = 0
  for (const state of ['accepted', 'queued']) n += ((await sender.getJson(`/v1/documents?state=${state}&limit=1`, key)) as { items: unknown[] }).items.length
  return n
}

/** Messages ready or unacknowledged in each queue (checkQueue counts ready ones; the gateways are stopped first). */
export async function queueDepths(url: string, queues: string[]): Promise<Record<string, number>> {
  const conn = await amqp.connect(url)
  try {
    conn.on('error', () => {})
    const out: Record<string, number> = {}
    for (const q of queues) {
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      out[q] = await ch.checkQueue(q).then(
        (r) => r.messageCount,
        () => -1,
      )
      await ch.close().catch(() => {})
    }
    return out
  } finally {
    await conn.close().catch(() => {})
  }
}

export interface ExchangeCheck {
  accepted: number
  /** Packages A holds (documents sent), to compare with `accepted`. */
  packagesAtSender: number
  /** Deliveries A holds and how many of them have their 01 (state delivered). */
  deliveries: number
  delivered01: number
  notDelivered: { id: string; recipient: string; state: string }[]
  /** Relay publishes beyond the first, over every delivery (attempts - 1). */
  publishedAgain: number
  /** Incoming documents at the recipients' gateway, and the (DocumentId, recipient) pairs there more than once or never. */
  inbox: number
  inboxTwice: string[]
  inboxMissing: string[]
  inboxUnexpected: string[]
  rejected: { sender: number; recipient: number }
}

/**
 * Compare what the DMS had accepted (`accepted`) with A's deliveries and B's inbox: one package per acceptance,
 * every delivery delivered (01 back at A), every (DocumentId, recipient) in B's inbox exactly once, nothing refused.
 */
export async function checkExchange(a: GatewayProcess, b: GatewayProcess, accepted: Iterable<Accepted>, since: Date): Promise<ExchangeCheck> {
  const acc = [...accepted]
  const iso = encodeURIComponent(new Date(since.getTime() - 60_000).toISOString())
  const docs = await listAll<{ id: string; deliveries: { recipient: string; state: string; attempts: number }[] }>(a, `/v1/documents?since=${iso}`, KEYS.g22)
  const ids = new Set(acc.map((x) => x.id))
  const mine = docs.filter((d) => ids.has(d.id))
  const ds = mine.flatMap((d) => d.deliveries.map((x) => ({ id: d.id, ...x })))
  const inbox = await listAll<{ documentId: string; recipient: string; sender: string }>(b, `/v1/inbox?since=${iso}`)
  const seen = new Map<string, number>()
  for (const i of inbox) seen.set(`${i.documentId}|${i.recipient}`, (seen.get(`${i.documentId}|${i.recipient}`) ?? 0) + 1)
  const expected = new Set(acc.flatMap((x) => x.recipients.map((r) => `${x.documentId}|${r}`)))
  const rejected = async (g: GatewayProcess) => (await listAll(g, `/v1/inbox?state=rejected&since=${iso}`)).length
  return {
    accepted: acc.length,
    packagesAtSender: docs.length,
    deliveries: ds.length,
    delivered01: ds.filter((d) => d.state === 'delivered').length,
    notDelivered: ds.filter((d) => d.state !== 'delivered').map((d) => ({ id: d.id, recipient: d.recipient, state: d.state })),
    publishedAgain: ds.reduce((s, d) => s + Math.max(0, d.attempts - 1), 0),
    inbox: inbox.length,
    inboxTwice: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
    inboxMissing: [...expected].filter((k) => !seen.has(k)),
    inboxUnexpected: [...seen.keys()].filter((k) => !expected.has(k)),
    rejected: { sender: await rejected(a), recipient: await rejected(b) },
  }
}

/** The assertions every run under faults ends with (the counts it prints are the caller's). */
export function assertExchange(
  t: Pick<Test, 'ok' | 'equal' | 'same'>,
  o: { sending: SendProgress; check: ExchangeCheck; documents: number; recipients: number; depths: Record<string, number>; queuesWhat: string; logA: LogCheck; logB: LogCheck },
): void {
  const { sending, check, documents: n } = o
  t.same(sending.refused, [], 'the API answered every request with 202 or 503 (or not at all while down)')
  t.equal(sending.accepted.size, n, `every document accepted (${n})`)
  t.equal(new Set([...sending.accepted.values()].map((x) => x.id)).size, n, 'one package per document')
  t.equal(check.packagesAtSender, n, 'A holds exactly the accepted packages: no retry made a second one')
  t.equal(check.deliveries, n * o.recipients, 'one delivery per recipient')
  t.same(check.notDelivered.slice(0, 10), [], 'every delivery has its 01 at A (state delivered)')
  t.same(check.inboxMissing.slice(0, 10), [], "none missing from B's inbox")
  t.same(check.inboxTwice.slice(0, 10), [], "none twice in B's inbox")
  t.same(check.inboxUnexpected.slice(0, 10), [], "nothing else in B's inbox")
  t.equal(check.inbox, n * o.recipients, "B's inbox: exactly one per document and recipient")
  t.same(check.rejected, { sender: 0, recipient: 0 }, 'nothing refused by either receiver')
  t.same(Object.entries(o.depths).filter(([, d]) => d !== 0), [], `${o.queuesWhat} empty`)
  t.ok(o.logA.ok, `A's delivery log verifies (${o.logA.checked} rows)${o.logA.ok ? '' : `: ${o.logA.output}`}`)
  t.ok(o.logB.ok, `B's delivery log verifies (${o.logB.checked} rows)${o.logB.ok ? '' : `: ${o.logB.output}`}`)
}

/** From a gateway's log: copies dropped as duplicates (documents or statuses already stored) and redelivered messages. */
export function logCounts(g: GatewayProcess): { duplicatesDropped: number; redelivered: number } {
  let duplicatesDropped = 0
  let redelivered = 0
  for (const l of g.logLines()) {
    if (l.msg === 'redelivered package already stored; acknowledged without a duplicate' || (l.duplicate === true && typeof l.msg === 'string' && l.msg.includes(' received for '))) duplicatesDropped++
    if (l.msg === 'redelivered message') redelivered++
  }
  return { duplicatesDropped, redelivered }
}

/** `lienthong log verify --store REF --json` (the gateway stopped or not: it opens the store read-only). */
export interface LogCheck {
  ok: boolean
  checked: number
  output: string
}
export async function verifyLog(storeRef: string): Promise<LogCheck> {
  const cli = cliCommand()
  const r = await run(process.execPath, [...cli.argv, 'log', 'verify', '--store', storeRef, '--json'], { cwd: ROOT, timeout: 300_000 }).then(
    (x) => ({ code: 0, out: x.stdout }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  )
  try {
    const j = JSON.parse(r.out.trim().split('\n').at(-1) ?? '') as { ok: boolean; checked: number }
    return { ok: r.code === 0 && j.ok === true, checked: j.checked, output: r.out.trim() }
  } catch {
    return { ok: false, checked: 0, output: r.out.trim() }
  }
}
