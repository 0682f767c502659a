/**
 * Test helpers for the service: a configuration over certs-sample/ with random AMQP names and a temporary SQLite
 * file, `buildTestApp(t)` (inject-ready app, no broker: createGateway with a wake-up counter as the relay, then
 * buildApp), `startTestGateway(t)` (startGateway: real RabbitMQ, relay running), sample documents, and AMQP helpers
 * that read and clean up the random queues.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import amqp from 'amqplib'
import pg from 'pg'
import type { Test } from 'tap'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { createGateway, type Gateway, type GatewayOverrides } from '../src/gateway.js'
import { loadSigners } from '../src/pipeline/signers.js'
import type { DocumentRequest } from '../src/pipeline/document-request.js'
import { startGateway, type RunningGateway } from '../src/server.js'
import { openSqliteStore, type Store } from '../src/store/index.js'
import type { Signer } from '../src/signature/index.js'

export const AMQP_URL = process.env.LIENTHONG_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CERTS = path.join(ROOT, 'certs-sample')

export const G22 = '000.00.00.G22'
export const H29 = '000.00.00.H29'
export const STC = '000.00.11.H29'
/** Not hosted by the test gateway: no queue is bound for it. */
export const H26 = '000.00.00.H26'

/** Bearer keys of the test configuration. */
export const KEYS = { g22: 'test-key-vpcp', h29: 'test-key-ubnd-hcm', stc: 'test-key-stc-hcm', ops: 'test-key-operator' } as const

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
export const auth = (key: string) => ({ authorization: `Bearer ${key}` })

interface Tap {
  testdir(fixture?: any): string
  teardown(fn: () => unknown): void
}

export const silentLogger = () => pino({ level: 'silent' })

/** A random, test-only AMQP namespace. */
export function amqpNames() {
  const r = randomBytes(4).toString('hex')
  return {
    exchange: `lt-test-${r}.edoc`,
    deadLetterExchange: `lt-test-${r}.dead`,
    queuePrefix: `lt-test-${r}.inbox.`,
    deadLetterQueuePrefix: `lt-test-${r}.dlq.`,
  }
}

/** The raw configuration object (before loadConfig) of a test gateway hosting G22, H29 and STC. */
export function rawTestConfig(dir: string, over: Record<string, any> = {}): Record<string, any> {
  const agency = (organId: string, slug: string, name: string, key: string, p12 = false) => ({
    organId,
    name,
    organizationInCharge: name,
    signing: p12
      ? { p12Path: path.join(CERTS, 'agencies', slug, 'bundle.p12'), password: 'lienthong-sample' }
      : {
          keyPath: path.join(CERTS, 'agencies', slug, 'key.pem'),
          certPath: path.join(CERTS, 'agencies', slug, 'cert.pem'),
          chainPath: path.join(CERTS, 'agencies', slug, 'chain.pem'),
        },
    clients: [{ id: `dms-${slug}`, keySha256: sha(key) }],
  })
  return {
    http: { host: '127.0.0.1', port: 0, ...(over.http ?? {}) },
    log: { level: 'silent' },
    amqp: { url: AMQP_URL, ...amqpNames(), reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, ...(over.amqp ?? {}) },
    store: { path: path.join(dir, 'gateway.sqlite') },
    agencies: [
      agency(G22, 'vpcp', 'Văn phòng Chính phủ', KEYS.g22),
      agency(H29, 'ubnd-hcm', 'Ủy ban nhân dân Thành phố Hồ Chí Minh', KEYS.h29, true),
      agency(STC, 'stc-hcm', 'Sở Tài chính Thành phố Hồ Chí Minh', KEYS.stc),
    ],
    operators: over.operators ?? [{ id: 'ops', keySha256: sha(KEYS.ops) }],
    ...(over.peers ? { peers: over.peers } : {}),
    ...(over.operatorLogin ? { operatorLogin: over.operatorLogin } : {}),
    trust: { anchorsPaths: [path.join(CERTS, 'trust-anchors.pem')], crlPaths: [path.join(CERTS, 'crls.pem')], ...(over.trust ?? {}) },
    limits: { ...(over.limits ?? {}) },
    relay: { pollIntervalMs: 200, retryDelayMs: 200, ...(over.relay ?? {}) },
    ...(over.retention ? { retention: over.retention } : {}),
    ...(over.pipeline ? { pipeline: over.pipeline } : {}),
  }
}

/**
 * A folder of one gateway (its store, its config), removed when the test ends. Not `t.testdir()`: that is one
 * folder per test, made again (emptied) on every call, so a second gateway or fixture of the same test would
 * delete the first one's open store files under it.
 */
export function ownDir(t: Pick<Tap, 'teardown'>, label = 'gw'): string {
  const dir = mkdtempSync(path.join(tmpdir(), `lienthong-test-${label}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function testConfig(t: Tap, over: Record<string, any> = {}): Config {
  const dir = ownDir(t)
  return loadConfig({ object: rawTestConfig(dir, over), file: path.join(dir, 'config.json'), env: {} })
}

let signersCache: Promise<Map<string, Signer>> | undefined
/** Signers of the test agencies (loaded once per test file). */
export function testSigners(config: Config): Promise<Map<string, Signer>> {
  signersCache ??= loadSigners(config)
  return signersCache
}

export interface TestApp {
  app: Awaited<ReturnType<typeof buildApp>>
  /** The services the app was built from. */
  gateway: Gateway
  store: Store
  config: Config
  wakes: () => number
}

/**
 * An inject-ready app over a fresh SQLite file, with no broker (the relay is a counter of wake-ups) and no signing
 * workers unless `deps.packager` is given. `deps` are createGateway's overrides.
 */
export async function buildTestApp(
  t: Tap,
  opts: { config?: Record<string, any>; deps?: GatewayOverrides; brokerState?: string } = {},
): Promise<TestApp> {
  const config = testConfig(t, opts.config)
  const own = await openSqliteStore(config.store.path)
  const store = opts.deps?.store ?? own
  let wakes = 0
  const gateway = await createGateway(config, {
    signers: await testSigners(config),
    packager: null,
    relay: { wake: () => void wakes++ },
    broker: { state: opts.brokerState ?? 'connected', redactedUrl: 'amqp://test' },
    logger: silentLogger(),
    ...opts.deps,
    store,
  })
  const app = await buildApp(gateway)
  t.teardown(async () => {
    await app.close()
    await gateway.close()
    await own.close()
  })
  return { app, gateway, store, config, wakes: () => wakes }
}

/** A running gateway (no listener) on the real broker with random names; closed and its AMQP names deleted in teardown. */
export async function startTestGateway(t: Tap, over: Record<string, any> = {}): Promise<RunningGateway & { config: Config }> {
  const config = testConfig(t, over)
  // send path only: the test reads the recipients' queues itself, so the gateway's own consumer stays off
  const gw = await startGateway(config, { logger: silentLogger(), listen: over.listen === true, receive: over.receive === true })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })
  await gw.publisher.whenReady({ timeoutMs: 10_000 })
  t.teardown(async () => {
    await gw.close()
    await deleteAmqpNames(config)
  })
  return Object.assign(gw, { config })
}

/** Delete the exchanges and queues of a test configuration. */
export async function deleteAmqpNames(config: Config): Promise<void> {
  const conn = await amqp.connect(AMQP_URL).catch(() => undefined)
  if (!conn) return
  try {
    const ch = await conn.createChannel()
    ch.on('error', () => {})
    for (const a of config.agencies) {
      const id = a.organId.toUpperCase()
      await ch.deleteQueue(config.amqp.queuePrefix + id).catch(() => {})
      await ch.deleteQueue(config.amqp.deadLetterQueuePrefix + id).catch(() => {})
    }
    await ch.deleteQueue(observerQueueName(config, H26)).catch(() => {})
    await ch.deleteExchange(config.amqp.exchange).catch(() => {})
    await ch.deleteExchange(config.amqp.deadLetterExchange).catch(() => {})
    await ch.close().catch(() => {})
  } finally {
    await conn.close().catch(() => {})
  }
}

export const observerQueueName = (config: Config, organId: string) => `${config.amqp.queuePrefix}observer.${organId.toUpperCase()}`

/** A confirm channel on the shared broker, as a peer gateway publishes (closed with its connection in teardown). */
export async function peerChannel(t: Pick<Tap, 'teardown'>): Promise<amqp.ConfirmChannel> {
  const conn = await amqp.connect(AMQP_URL)
  conn.on('error', () => {})
  const ch = await conn.createConfirmChannel()
  ch.on('error', () => {})
  t.teardown(async () => {
    await ch.close().catch(() => {})
    await conn.close().catch(() => {})
  })
  return ch
}

/**
 * A queue bound for an OrganId the gateway does NOT host (so its own consumer leaves it alone): the test plays the
 * recipient's gateway and reads what arrives. Declares the exchange as the gateway does (durable direct).
 */
export async function observerQueue(config: Config, organId: string = H26): Promise<string> {
  const q = observerQueueName(config, organId)
  const conn = await amqp.connect(AMQP_URL)
  try {
    const ch = await conn.createChannel()
    await ch.assertExchange(config.amqp.exchange, 'direct', { durable: true })
    await ch.assertQueue(q, { durable: true })
    await ch.bindQueue(q, config.amqp.exchange, organId.toUpperCase())
    await ch.close()
  } finally {
    await conn.close().catch(() => {})
  }
  return q
}

export interface QueuedMessage {
  content: Buffer
  properties: amqp.MessageProperties
  fields: amqp.GetMessage['fields']
}

/** Take every message currently in a queue (acked: removed). */
export async function drainQueue(queue: string): Promise<QueuedMessage[]> {
  const conn = await amqp.connect(AMQP_URL)
  try {
    conn.on('error', () => {})
    const ch = await conn.createChannel()
    ch.on('error', () => {})
    const out: QueuedMessage[] = []
    for (;;) {
      const m = await ch.get(queue, { noAck: true })
      if (m === false) break
      out.push({ content: m.content, properties: m.properties, fields: m.fields })
    }
    await ch.close()
    return out
  } finally {
    await conn.close().catch(() => {})
  }
}

/** Messages in a queue (without taking them). */
export async function queueDepth(queue: string): Promise<number> {
  const conn = await amqp.connect(AMQP_URL)
  try {
    conn.on('error', () => {})
    const ch = await conn.createChannel()
    ch.on('error', () => {})
    const q = await ch.checkQueue(queue)
    await ch.close()
    return q.messageCount
  } finally {
    await conn.close().catch(() => {})
  }
}

export const inboxOf = (config: Config, organId: string) => config.amqp.queuePrefix + organId.toUpperCase()

let seq = 0
/** A valid JSON document from G22 (by default) to H29. */
export function sampleDocument(over: Partial<DocumentRequest> = {}): DocumentRequest {
  seq++
  return {
    recipients: [{ organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', organizationInCharge: 'Chính phủ' }],
    code: { number: String(1000 + seq), notation: `VPCP-TEST${randomInt(100_000, 1_000_000)}` },
    promulgation: { place: 'Hà Nội', date: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'V/v thử nghiệm liên thông văn bản',
    signer: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
    priority: 0,
    pageAmount: 1,
    attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n% test document\n%%EOF\n').toString('base64') }],
    ...over,
  }
}

export const trustAnchorsPem = () => readFileSync(path.join(CERTS, 'trust-anchors.pem'), 'utf8')
export const crlsPem = () => readFileSync(path.join(CERTS, 'crls.pem'), 'utf8')

/** Poll until `fn` returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: T
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() > end) return last
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

/** The PostgreSQL server the tests use (LIENTHONG_TEST_PG_URL; `off` skips the tests that need it). */
export const PG_ADMIN_URL = process.env.LIENTHONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A fresh database of a random name on PG_ADMIN_URL's server, dropped in teardown; its URL. */
export async function freshPgDatabase(t: Pick<Test, 'teardown'>, prefix = 'lt_test'): Promise<string> {
  const db = `${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${db}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${db}`
  return url.href
}
