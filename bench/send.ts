/**
 * Send benchmark: N documents through the HTTP API of an in-process gateway (real port, real SQLite file, real
 * RabbitMQ) and time each from the request to the broker's confirm (the relay's `queued` event). In the same run,
 * the limits to compare with: raw node:crypto RSA-2048 signing of the same-sized package and raw confirmed
 * persistent publishing through src/transport (many in flight).
 *
 *   npm run bench:send -- --count 5000 --size 10kb [--form json|multipart] [--concurrency 128 (1mb: 8)] [--workers 1] [--amqp URL] [--sync FULL|NORMAL]
 *   BENCH_KEEP=1: keep the temporary folder (config, store)
 *
 * The last line is one JSON object: docsPerSecond, p50Ms, p95Ms, p99Ms, rawSignPerSecond, rawPublishPerSecond, ...
 * and windowUs, the measured window on CLOCK_MONOTONIC: profile it with
 * `node --cpu-prof --cpu-prof-dir DIR --import tsx bench/send.ts ...` (one profile per thread) and summarise the
 * window only with `npx tsx bench/profile.ts DIR/*.cpuprofile --from <windowUs.from> --to <windowUs.to>`.
 */
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto'
import http from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import amqp from 'amqplib'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { startGateway } from '../src/server.js'
import { createAmqpConnection, createPublisher, declareTopology } from '../src/transport/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CERTS = path.join(ROOT, 'certs-sample')
const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const KEY = 'bench-key-vpcp'

function args() {
  const a = process.argv.slice(2)
  const get = (name: string, def: string) => {
    const i = a.indexOf(`--${name}`)
    if (i >= 0 && a[i + 1]) return a[i + 1]!
    const eq = a.find((x) => x.startsWith(`--${name}=`))
    return eq ? eq.slice(name.length + 3) : def
  }
  const size = get('size', '10kb').toLowerCase()
  const bytes = /^(\d+(?:\.\d+)?)\s*(kb|mb|b)?$/.exec(size)
  if (!bytes) throw new Error(`--size ${size}: use e.g. 10kb or 1mb`)
  const n = Number(bytes[1]) * (bytes[2] === 'mb' ? 1024 * 1024 : bytes[2] === 'kb' ? 1024 : 1)
  return {
    count: Number(get('count', size.endsWith('mb') ? '200' : '3000')),
    size,
    sizeBytes: Math.round(n),
    concurrency: Number(get('concurrency', size.endsWith('mb') ? '8' : '128')),
    amqpUrl: get('amqp', process.env.LIENTHONG_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'),
    sync: get('sync', 'FULL').toUpperCase() as 'FULL' | 'NORMAL',
    workers: Number(get('workers', '1')),
    form: get('form', 'json') as 'json' | 'multipart',
  }
}

/** CPU time of this process's main thread (Linux: /proc/self/task/<pid>/stat, clock ticks of 10 ms), in ms. */
function mainThreadCpuMs(): number {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) * 10 // utime, stime (fields 14, 15)
  } catch {
    return NaN
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

function document(number: string, attachment: string) {
  return JSON.stringify({
    recipients: [{ organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', organizationInCharge: 'Chính phủ' }],
    code: { number, notation: 'VPCP-BENCH' },
    promulgation: { place: 'Hà Nội', date: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: `Văn bản thử tải số ${number}`,
    signer: { position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
    pageAmount: 1,
    attachments: [{ name: 'van-ban.pdf', contentType: 'application/pdf', data: attachment }],
  })
}

/** Raw RSA-2048 signatures per second over a package-sized message (SHA-256 + PKCS#1 v1.5), for ~2 s. */
function rawSignRate(sizeBytes: number): number {
  const key = createPrivateKey(readFileSync(path.join(CERTS, 'agencies/vpcp/key.pem')))
  const data = randomBytes(sizeBytes)
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < 2000) {
    for (let i = 0; i < 20; i++) sign('sha256', data, key)
    n += 20
    elapsed = Number(process.hrtime.bigint() - start) / 1e6
  }
  return n / (elapsed / 1000)
}

/** Raw confirmed persistent publishing through src/transport, `window` in flight, into a throw-away queue. */
async function rawPublishRate(url: string, sizeBytes: number, count: number, window: number): Promise<number> {
  const r = randomBytes(4).toString('hex')
  const names = { exchange: `lt-bench-${r}.edoc`, deadLetterExchange: `lt-bench-${r}.dead`, inboxQueuePrefix: `lt-bench-${r}.inbox.`, deadLetterQueuePrefix: `lt-bench-${r}.dlq.` }
  const conn = createAmqpConnection({ url })
  declareTopology(conn, { hostedOrganIds: [H29], ...names })
  const pub = createPublisher(conn, { exchange: names.exchange })
  await pub.whenReady({ timeoutMs: 10_000 })
  const body = randomBytes(sizeBytes)
  const signature = randomBytes(1800)
  const sha256 = createHash('sha256').update(body).digest('hex')
  let next = 0
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < count) {
        const i = next++
        await pub.publish({ messageId: `raw-${i}`, type: 'edoc', body, recipient: H29, sender: G22, signature, sha256 })
      }
    }),
  )
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  await pub.close()
  const c = await amqp.connect(url)
  const ch = await c.createChannel()
  await ch.deleteQueue(names.inboxQueuePrefix + H29)
  await ch.deleteQueue(names.deadLetterQueuePrefix + H29)
  await ch.deleteExchange(names.exchange)
  await ch.deleteExchange(names.deadLetterExchange)
  await c.close()
  await conn.close()
  return count / secs
}

async function main() {
  const o = args()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lienthong-bench-'))
  const r = randomBytes(4).toString('hex')
  const config = loadConfig({
    object: {
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
      amqp: { url: o.amqpUrl, exchange: `lt-bench-${r}.edoc`, deadLetterExchange: `lt-bench-${r}.dead`, queuePrefix: `lt-bench-${r}.inbox.`, deadLetterQueuePrefix: `lt-bench-${r}.dlq.` },
      store: { path: path.join(dir, 'bench.sqlite'), synchronous: o.sync },
      agencies: [
        {
          organId: G22,
          name: 'Văn phòng Chính phủ',
          organizationInCharge: 'Chính phủ',
          signing: { keyPath: path.join(CERTS, 'agencies/vpcp/key.pem'), certPath: path.join(CERTS, 'agencies/vpcp/cert.pem'), chainPath: path.join(CERTS, 'agencies/vpcp/chain.pem') },
          clients: [{ id: 'bench', keySha256: createHash('sha256').update(KEY).digest('hex') }],
        },
        {
          organId: H29,
          name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh',
          organizationInCharge: 'Chính phủ',
          signing: { keyPath: path.join(CERTS, 'agencies/ubnd-hcm/key.pem'), certPath: path.join(CERTS, 'agencies/ubnd-hcm/cert.pem') },
        },
      ],
      trust: { anchorsPaths: [path.join(CERTS, 'trust-anchors.pem')], crlPaths: [path.join(CERTS, 'crls.pem')] },
      limits: { requestsPerMinute: 10_000_000 },
      pipeline: { workers: o.workers },
    },
    env: {},
  })
  // the send path only: the recipient side is a plain consumer draining the queue
  const gw = await startGateway(config, { logger: pino({ level: 'warn' }), receive: false })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })
  await gw.publisher.whenReady({ timeoutMs: 10_000 })

  // the recipient's side drains its queue (no-ack consumer) so the broker does not fill up
  const queue = config.amqp.queuePrefix + H29
  const cc = await amqp.connect(o.amqpUrl)
  const cch = await cc.createChannel()
  let consumed = 0
  await cch.consume(queue, () => void consumed++, { noAck: true })

  // a PDF's magic number first: the API checks that an attachment is what its declared content type says
  const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(Math.max(0, o.sizeBytes - 9))])
  const attachment = o.form === 'json' ? file.toString('base64') : ''
  // multipart: the metadata part and the file as raw bytes (no base64), the form DMSs use for large files
  const boundary = '----lienthong-bench-' + randomBytes(8).toString('hex')
  const multipart = (number: string): Buffer => {
    const { attachments: _none, ...meta } = JSON.parse(document(number, '')) as Record<string, unknown>
    return Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(meta)}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="van-ban.pdf"\r\nContent-Type: application/pdf\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
  }
  const contentType = o.form === 'json' ? 'application/json' : `multipart/form-data; boundary=${boundary}`
  // a number of its own in each request (an identical body is answered with the package it already made): the
  // body is built once and the number spliced in
  const template = o.form === 'json' ? Buffer.from(document('NUMBER', attachment)) : multipart('NUMBER')
  const mark = Buffer.from('NUMBER')
  const cut = [template.indexOf(mark), template.indexOf(mark, template.indexOf(mark) + 1)]
  const body = (i: number): Buffer => {
    const n = Buffer.from(String(i + 1))
    return Buffer.concat([template.subarray(0, cut[0]), n, template.subarray(cut[0]! + mark.length, cut[1]), n, template.subarray(cut[1]! + mark.length)])
  }
  const confirmedAt = new Map<string, number>()
  gw.relay.on('queued', (d) => confirmedAt.set(d.packageId, performance.now()))

  // warm-up (JIT, SQLite pages, and every keep-alive connection opened once, so that connection set-up of the
  // first burst is not measured)
  const warm = Math.max(o.concurrency, Math.min(200, Math.floor(o.count / 20)))
  // node:http with keep-alive: a lighter client than fetch, so more of the shared CPU goes to the gateway
  const target = new URL(gw.url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency })
  const post = (body: Buffer) =>
    new Promise<{ status: number; json: () => Promise<unknown>; arrayBuffer: () => Promise<void> }>((resolve, reject) => {
      const payload = body
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: '/v1/documents',
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': contentType, 'content-length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            resolve({ status: res.statusCode ?? 0, json: async () => JSON.parse(text) as unknown, arrayBuffer: async () => {} })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  for (let i = 0; i < warm; i += o.concurrency) {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, warm - i) }, async (_, j) => (await post(body(o.count + i + j))).arrayBuffer()))
  }

  const sentAt: number[] = new Array(o.count)
  const ids: string[] = new Array(o.count)
  let next = 0
  let failures = 0
  const monoUs = () => Number(process.hrtime.bigint() / 1000n)
  const fromUs = monoUs()
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const main0 = mainThreadCpuMs()
  const elu0 = performance.eventLoopUtilization()
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.count) {
        const i = next++
        sentAt[i] = performance.now()
        const res = await post(body(i))
        const json = (await res.json()) as { id?: string }
        if (res.status !== 202 || !json.id) {
          if (failures++ === 0) console.error(`first failure: ${res.status} ${JSON.stringify(json)}`)
          continue
        }
        ids[i] = json.id
      }
    }),
  )
  const accepted = performance.now()
  const deadline = Date.now() + 120_000
  while (ids.some((id) => id !== undefined && !confirmedAt.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  const windowUs = { from: fromUs, to: monoUs() }
  // CPU of the whole process (every thread: gateway main thread, signing worker, the benchmark's client) per
  // document, and the share of the window the main thread's event loop was busy
  const cpu = process.cpuUsage(cpu0)
  const mainCpuMs = mainThreadCpuMs() - main0
  const elu = performance.eventLoopUtilization(elu0)
  const lat: number[] = []
  let lastConfirm = t0
  ids.forEach((id, i) => {
    const c = id === undefined ? undefined : confirmedAt.get(id)
    if (c !== undefined) {
      lat.push(c - sentAt[i]!)
      lastConfirm = Math.max(lastConfirm, c)
    }
  })
  lat.sort((a, b) => a - b)
  const elapsedS = (lastConfirm - t0) / 1000
  const docsPerSecond = lat.length / elapsedS
  const apiAcceptPerSecond = (o.count - failures) / ((accepted - t0) / 1000)

  agent.destroy()
  await cch.close()
  await cc.close()
  await gw.close()

  const rawSignPerSecond = rawSignRate(o.sizeBytes)
  const rawPublishPerSecond = await rawPublishRate(o.amqpUrl, o.sizeBytes, o.sizeBytes >= 512 * 1024 ? 300 : 10_000, o.sizeBytes >= 512 * 1024 ? 16 : 1000)
  // clean up the benchmark's AMQP names and store
  const c = await amqp.connect(o.amqpUrl)
  const ch = await c.createChannel()
  for (const q of [config.amqp.queuePrefix + G22, config.amqp.queuePrefix + H29, config.amqp.deadLetterQueuePrefix + G22, config.amqp.deadLetterQueuePrefix + H29]) await ch.deleteQueue(q)
  await ch.deleteExchange(config.amqp.exchange)
  await ch.deleteExchange(config.amqp.deadLetterExchange)
  await c.close()
  if (process.env.BENCH_KEEP) console.error(`kept ${dir}`)
  else rmSync(dir, { recursive: true, force: true })

  const result = {
    count: o.count,
    size: o.size,
    concurrency: o.concurrency,
    storeSync: o.sync,
    workers: o.workers,
    form: o.form,
    confirmed: lat.length,
    failures,
    warmUp: warm,
    consumedByRecipient: consumed,
    elapsedSeconds: round(elapsedS, 3),
    docsPerSecond: round(docsPerSecond),
    ratioToRawSign: round(docsPerSecond / rawSignPerSecond, 3),
    cpuMsPerDocument: round((cpu.user + cpu.system) / 1000 / Math.max(1, lat.length), 3),
    mainThreadBusy: round(elu.utilization, 3),
    mainThreadCpuMsPerDocument: round(mainCpuMs / Math.max(1, lat.length), 3),
    apiAcceptPerSecond: round(apiAcceptPerSecond),
    p50Ms: round(pct(lat, 50)),
    p95Ms: round(pct(lat, 95)),
    p99Ms: round(pct(lat, 99)),
    maxMs: round(lat[lat.length - 1] ?? NaN),
    rawSignPerSecond: round(rawSignPerSecond),
    rawPublishPerSecond: round(rawPublishPerSecond),
    cpus: os.cpus().length,
    loadAverage1m: round(os.loadavg()[0] ?? NaN, 2),
    node: process.version,
    windowUs,
    note: 'in-process server and client on the same machine; consumedByRecipient includes the warm-up documents',
  }
  console.log(`send (${o.form}): ${result.confirmed}/${o.count} documents of ${o.size} confirmed in ${result.elapsedSeconds} s → ${result.docsPerSecond} documents/s (API accepted ${result.apiAcceptPerSecond}/s)`)
  console.log(`latency request → broker confirm: p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`)
  console.log(`limits: raw RSA-2048 signing ${result.rawSignPerSecond}/s; raw confirmed persistent publishing ${result.rawPublishPerSecond}/s`)
  console.log(`ratio to raw signing ${result.ratioToRawSign}; CPU per document (all threads, client included) ${result.cpuMsPerDocument} ms, main thread ${result.mainThreadCpuMsPerDocument} ms; main thread busy ${Math.round(result.mainThreadBusy * 100)}%; load average ${result.loadAverage1m}`)
  console.log(JSON.stringify(result))
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
