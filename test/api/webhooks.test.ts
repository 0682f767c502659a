import { createHmac, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { attachWebhooks, createWebhookDispatcher, documentReceivedEvent, statusChangedEvent, type WebhookDispatcher } from '../../src/pipeline/webhooks.js'
import { openSqliteStore, type Store } from '../../src/store/index.js'
import { G22, H26, H29, rawTestConfig, silentLogger } from '../helper.js'
import { seedIncoming } from './inbox-fixtures.js'

const SECRET = 'a-webhook-secret-of-vpcp-0123456789'

interface Received {
  headers: IncomingMessage['headers']
  raw: Buffer
  body: any
  at: number
}

/** A DMS endpoint on 127.0.0.1:0 that answers with `answer(n)` (n = 1, 2, ... per request). */
async function dmsServer(t: Tap, answer: (n: number, req: IncomingMessage) => number | Promise<number> = () => 200) {
  const received: Received[] = []
  let n = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const raw = Buffer.concat(chunks)
      received.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')), at: Date.now() })
      const status = await answer(++n, req)
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lienthong`, received }
}

type Tap = { testdir(f?: any): string; teardown(fn: () => unknown): void }

/** Config whose G22 client has a webhook to `url`; a real SQLite store. */
async function setup(t: Tap, url: string, storePath?: string) {
  const dir = storePath ? path.dirname(storePath) : t.testdir({})
  const raw = rawTestConfig(dir)
  raw.agencies[0].clients[0].webhook = { url, secretEnv: 'VPCP_WEBHOOK_SECRET' }
  if (storePath) raw.store.path = storePath
  const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: { VPCP_WEBHOOK_SECRET: SECRET } })
  const store = await openSqliteStore(config.store.path)
  t.teardown(() => store.close())
  return { config, store }
}

function dispatcher(t: Tap, config: Parameters<typeof createWebhookDispatcher>[0]['config'], store: Store, over: Partial<Parameters<typeof createWebhookDispatcher>[0]> = {}) {
  const d = createWebhookDispatcher({ config, store, logger: silentLogger(), initialDelayMs: 40, maxDelayMs: 200, timeoutMs: 2000, ...over })
  t.teardown(() => d.stop())
  return d
}

const validSignature = (r: Received): boolean => {
  const sig = String(r.headers['x-lienthong-signature'])
  const expected = `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected))
}

const until = (d: WebhookDispatcher, event: 'delivered' | 'abandoned', ms = 15_000) =>
  new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${ms} ms`)), ms)
    d.on(event, (e) => {
      clearTimeout(timer)
      resolve(e)
    })
  })

t.test('document.received: POSTed to the client URL as JSON with event, delivery id and a valid HMAC over the raw body', async (t) => {
  const dms = await dmsServer(t)
  const real = await setup(t, dms.url)
  const { incoming } = await seedIncoming(real.store, real.config, { from: H26, to: G22 })
  const d = dispatcher(t, real.config, real.store)
  await d.start()
  const delivered = until(d, 'delivered')
  d.notify(G22, documentReceivedEvent(incoming))
  d.notify(H29, documentReceivedEvent(incoming)) // H29's client has no webhook: nothing sent
  const info = await delivered
  t.match(info, { type: 'document.received', attempts: 1, status: 200, clientId: 'dms-vpcp' })
  t.ok(await d.idle(5000))
  t.equal(dms.received.length, 1, 'one request, for the client with a webhook')
  const r = dms.received[0]!
  t.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(r.headers['x-lienthong-event'], 'document.received')
  t.equal(r.headers['x-lienthong-delivery'], r.body.id)
  t.ok(validSignature(r), 'X-Lienthong-Signature is sha256=<HMAC-SHA256 of the raw body with the secret>')
  t.match(r.body, {
    id: info.id,
    type: 'document.received',
    organId: G22,
    attempt: 1,
    data: { inboxId: incoming.id, documentId: incoming.documentId, sender: H26, recipient: G22, url: `/v1/inbox/${incoming.id}` },
  })
  t.ok(Math.abs(Date.parse(r.body.timestamp) - Date.now()) < 10_000, 'timestamp (signed) is the time of the attempt')
  const tampered = { ...r, raw: Buffer.from(r.raw.toString('utf8').replace(G22, H29)) }
  t.notOk(validSignature(tampered), 'a changed body no longer matches the signature')
  const log = (await real.store.listEvents({ type: 'webhook-delivered', limit: 10 })).items
  t.equal(log.length, 1, 'delivery recorded in the event log')
  t.match(log[0]!.detail, { webhookId: info.id, attempts: 1, status: 200 })
})

t.test('a failing endpoint (500, 500, then 200) is retried with backoff and delivered; notify never waits', async (t) => {
  // each delivery fails twice (500), then succeeds; every answer takes 100 ms
  const seen = new Map<string, number>()
  const dms = await dmsServer(t, (_n, req) => {
    const id = String(req.headers['x-lienthong-delivery'])
    const k = (seen.get(id) ?? 0) + 1
    seen.set(id, k)
    return new Promise((r) => setTimeout(() => r(k <= 2 ? 500 : 200), 100))
  })
  const { config, store } = await setup(t, dms.url)
  const { incoming } = await seedIncoming(store, config, { from: H26, to: G22 })
  const d = dispatcher(t, config, store)
  const failures: any[] = []
  d.on('failed', (f) => failures.push(f))
  await d.start()
  const delivered = until(d, 'delivered')
  const t0 = performance.now()
  d.notify(G22, documentReceivedEvent(incoming))
  const notifyMs = performance.now() - t0
  t.ok(notifyMs < 20, `notify returned at once (${notifyMs.toFixed(2)} ms) while the endpoint takes 100 ms per answer`)
  // the pipeline keeps working meanwhile: the store answers and another notification is queued at once
  const other = await seedIncoming(store, config, { from: H26, to: G22 })
  d.notify(G22, documentReceivedEvent(other.incoming))
  t.equal(d.pending(), 2, 'both pending while the endpoint fails')
  const info = await delivered
  t.ok(await d.idle(10_000), 'everything delivered in the end')
  const first = dms.received.filter((r) => r.body.data.inboxId === incoming.id)
  t.equal(info.type, 'document.received')
  t.same(first.map((r) => r.body.attempt), [1, 2, 3], 'three attempts')
  t.equal(new Set(first.map((r) => r.headers['x-lienthong-delivery'])).size, 1, 'the same delivery id on every retry')
  t.ok(first.every(validSignature), 'every attempt is signed')
  t.equal(new Set(first.map((r) => r.body.timestamp)).size, 3, 'each attempt has its own signed timestamp')
  const gaps = [first[1]!.at - first[0]!.at, first[2]!.at - first[1]!.at]
  t.ok(gaps[0]! >= 100 + 40 * 0.8 - 5 && gaps[1]! >= 100 + 80 * 0.8 - 5, `backoff between attempts (${gaps.join(', ')} ms)`)
  t.equal(failures.filter((f) => f.status === 500).length, 4, 'two failed attempts per event reported with the status')
  t.equal(dms.received.length, 6)
})

t.test('pending deliveries survive a restart (kept in the store); endpoint down → delivered by the next process', async (t) => {
  const storePath = path.join(t.testdir({}), 'gw.sqlite')
  // 1. first process: the endpoint refuses connections
  const deadUrl = await (async () => {
    const s = createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/gone`
    await new Promise<void>((r) => s.close(() => r()))
    return url
  })()
  const a = await setup(t, deadUrl, storePath)
  const { incoming } = await seedIncoming(a.store, a.config, { from: H26, to: G22 })
  const d1 = createWebhookDispatcher({ config: a.config, store: a.store, logger: silentLogger(), initialDelayMs: 10_000 })
  const failed = new Promise<any>((r) => d1.on('failed', r))
  await d1.start()
  d1.notify(G22, documentReceivedEvent(incoming))
  const f = await failed
  t.ok(f.error, `connection refused reported (${f.error})`)
  await d1.stop()
  await a.store.close()
  // 2. next process, same store, endpoint back
  const dms = await dmsServer(t)
  const b = await setup(t, dms.url, storePath)
  const d2 = dispatcher(t, b.config, b.store)
  const delivered = until(d2, 'delivered')
  await d2.start()
  const info = await delivered
  t.equal(info.id, f.id, 'the same delivery, recovered from the store')
  t.equal(dms.received[0]?.body.data.inboxId, incoming.id)
  t.ok(validSignature(dms.received[0]!))
  await d2.idle(5000)
  // 3. a third start finds nothing pending
  const d3 = dispatcher(t, b.config, b.store)
  await d3.start()
  t.equal(d3.pending(), 0, 'delivered events are not sent again')
})

t.test('an endpoint that never answers 2xx is abandoned after maxAgeMs, and logged', async (t) => {
  const dms = await dmsServer(t, () => 503)
  const { config, store } = await setup(t, dms.url)
  const d = dispatcher(t, config, store, { maxAgeMs: 150 })
  await d.start()
  const abandoned = until(d, 'abandoned')
  d.notify(G22, statusChangedEvent({ packageId: 'p1', deliveryId: 'd1', statusCode: '03', state: 'registered', changed: true }))
  const a = await abandoned
  t.ok(a.attempts >= 2, `retried (${a.attempts} attempts) before giving up`)
  t.ok(await d.idle(5000))
  t.equal((await store.listEvents({ type: 'webhook-abandoned', limit: 5 })).items.length, 1)
  t.equal(d.pending(), 0)
})

t.test('attachWebhooks maps the incoming pipeline events: document.received, recall.requested, status.changed', async (t) => {
  const dms = await dmsServer(t)
  const { config, store } = await setup(t, dms.url)
  const d = dispatcher(t, config, store)
  await d.start()
  const source = new EventEmitter()
  attachWebhooks(source as any, d)
  const doc = (await seedIncoming(store, config, { from: H26, to: G22 })).incoming
  source.emit('received', { incoming: doc, duplicate: false })
  source.emit('received', { incoming: doc, duplicate: true }) // redelivery: no second event
  source.emit('received', { incoming: { ...doc, id: 'revoke-1', metadata: { businessType: 1, business: { reason: 'Thu hồi' } }, relatedId: doc.id }, duplicate: false })
  const statusPkg = { ...doc, id: 'status-1', kind: 'status' as const, relatedId: 'our-package', metadata: { description: 'Đã tiếp nhận' } }
  source.emit('status', { incoming: statusPkg, statusCode: '03', deliveryId: 'del-1', changed: true, state: 'registered' })
  source.emit('status', { incoming: { ...statusPkg, id: 'status-2', relatedId: doc.id, metadata: { description: 'Ban hành nhầm' } }, statusCode: '13', changed: true, state: 'recall-requested' })
  t.ok(await d.idle(5000))
  const byType = (type: string) => dms.received.filter((r) => r.body.type === type).map((r) => r.body.data)
  t.equal(dms.received.length, 4)
  t.match(byType('document.received'), [{ inboxId: doc.id }])
  t.match(byType('status.changed'), [{ packageId: 'our-package', deliveryId: 'del-1', statusCode: '03', state: 'registered', description: 'Đã tiếp nhận', statusPackageId: 'status-1' }])
  const recalls = byType('recall.requested').sort((x, y) => String(x.method).localeCompare(String(y.method)))
  t.match(recalls, [
    { inboxId: doc.id, method: 'revoke', reason: 'Thu hồi', requestId: 'revoke-1' },
    { inboxId: doc.id, method: 'status13', reason: 'Ban hành nhầm', requestId: 'status-2' },
  ])
})

t.test('configuration: a webhook needs a secret (inline or from the environment), checked at load time', async (t) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.agencies[0].clients[0].webhook = { url: 'https://dms.sample.invalid/hooks' }
  raw.agencies[1].clients[0].webhook = { url: 'https://dms2.sample.invalid/hooks', secretEnv: 'MISSING_SECRET' }
  const err = (() => {
    try {
      loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
    } catch (e) {
      return e as Error & { code?: string }
    }
    return undefined
  })()
  t.equal(err?.code, 'GW_ERR_CONFIG_INVALID')
  t.match(err?.message, /agencies\.0\.clients\.0\.webhook needs secret or secretEnv/)
  t.match(err?.message, /agencies\.1\.clients\.0\.webhook\.secretEnv names MISSING_SECRET/, 'both problems reported at once')
})
