/**
 * The console's HTTP side without a browser: the static files (content types, ETag/304, CSP, nothing outside the
 * folder), and GET /v1/operator/health (operator only; store, broker, queue depths on the real broker, certificate
 * expiry of the hosted agencies).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { consoleRoutes, loadConsoleFiles } from '../../src/api/routes/console.js'
import { installErrorHandling } from '../../src/api/error-handler.js'
import { addApiSchemas } from '../../src/api/schemas.js'
import { packageRoot } from '../../src/paths.js'
import { auth, buildTestApp, G22, H29, KEYS, ROOT, startTestGateway, STC } from '../helper.js'

const CONSOLE_DIR = path.join(ROOT, 'src', 'console')

t.test('static files: types, caching, CSP, only the console folder', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal(path.resolve(packageRoot), path.resolve(ROOT), 'files are found from the package root (src/ under tsx, dist/ after the build)')

  for (const url of ['/console', '/console/']) {
    const r = await app.inject({ url })
    t.equal(r.statusCode, 200, url)
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8')
    t.match(r.headers['content-security-policy'], /script-src 'self'/)
    t.notMatch(r.headers['content-security-policy'], /unsafe-inline/)
    t.equal(r.headers['cache-control'], 'no-cache')
    t.equal(r.headers['x-content-type-options'], 'nosniff')
    t.equal(r.body, readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8'))
  }

  // every file the page references is served with its type
  const html = readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8')
  const refs = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!)
  t.same(refs.sort(), ['/console/console.css', '/console/console.js', '/console/favicon.svg'])
  const types: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' }
  for (const url of refs) {
    const r = await app.inject({ url })
    t.equal(r.statusCode, 200, url)
    t.equal(r.headers['content-type'], types[url.split('.').pop()!], `${url} type`)
    const etag = r.headers.etag as string
    t.match(etag, /^"[A-Za-z0-9_-]{27}"$/, 'strong ETag')
    const again = await app.inject({ url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304, `${url} revalidated`)
    t.equal(again.body, '')
  }

  for (const url of ['/console/missing.js', '/console/..%2Fpackage.json', '/console/%2E%2E%2Fsrc%2Fapp.ts', '/console/README']) {
    const r = await app.inject({ url })
    t.equal(r.statusCode, 404, url)
    t.equal(r.json().code, 'GW_ERR_API_NOT_FOUND')
  }
  // the page carries no data: no key needed for it, but its API calls need one
  t.equal((await app.inject({ url: '/v1/operator/health' })).statusCode, 401)
})

t.test('loadConsoleFiles: only known types; a folder without index.html is a configuration error', async (t) => {
  const files = loadConsoleFiles(CONSOLE_DIR)
  t.ok(files.has('index.html') && files.has('console.js') && files.has('console.css'))
  const dir = t.testdir({ 'index.html': '<!doctype html>', 'notes.txt': 'x', 'app.js': '1', '.hidden.js': 'no' })
  t.same([...loadConsoleFiles(dir).keys()].sort(), ['app.js', 'index.html'])
  t.throws(() => loadConsoleFiles(t.testdir({ 'a.js': '' })), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => loadConsoleFiles(path.join(ROOT, 'no-such-folder')), { code: 'GW_ERR_CONFIG_INVALID' })
})

t.test('without the console folder the gateway still starts: /console is a 404 that says why', async (t) => {
  const { store, config } = await buildTestApp(t)
  const Fastify = (await import('fastify')).default
  const bare = Fastify()
  t.teardown(() => bare.close())
  installErrorHandling(bare as any, 1_000_000)
  addApiSchemas(bare as any)
  const missing = path.join(ROOT, 'no-such-console')
  await bare.register(consoleRoutes, { config, store, broker: { state: 'connected' }, dir: missing })
  const r = await bare.inject({ url: '/console' })
  t.equal(r.statusCode, 404)
  t.match(r.json(), { code: 'GW_ERR_API_NOT_FOUND', message: /no-such-console/ })
})

t.test('GET /v1/operator/health: operator keys; store counters, certificate expiry; degraded without the broker', async (t) => {
  const now = new Date('2026-11-26T00:00:00Z')
  const { app } = await buildTestApp(t, { brokerState: 'reconnecting', deps: { clock: () => now } })
  t.equal((await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.g22) })).statusCode, 403, 'DMS key refused')
  const r = await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json()
  t.match(body, { status: 'degraded', time: now.toISOString(), store: { ok: true, outboxBacklog: 0, events: 0 }, broker: { ok: false, state: 'reconnecting', url: 'amqp://test' } })
  t.same(body.queues.map((q: any) => q.organId), [G22, H29, STC])
  for (const q of body.queues) {
    t.match(q.error, /reconnecting/, 'no queue depth while the broker is down')
    t.notOk('inboxMessages' in q)
  }
  t.same(body.certificates.map((c: any) => c.organId), [G22, H29, STC])
  for (const c of body.certificates) {
    t.match(c.subject, new RegExp(`UID=${c.organId.replace(/\./g, '\\.')}`))
    t.equal(c.daysLeft, Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000))
    t.ok(c.daysLeft > 0, `${c.organId} certificate valid`)
  }
})

t.test('GET /v1/operator/health: depths from the queue inspector the process passes in; a failing queue is named', async (t) => {
  const { app } = await buildTestApp(t, {
    deps: {
      ops: {
        queueInspector: {
          async messageCount(queue: string) {
            if (queue.endsWith(STC) && queue.includes('.dlq.')) throw new RangeError('NOT_FOUND - no queue')
            return queue.includes('.dlq.') ? 2 : 5
          },
        },
      },
    },
  })
  const body = (await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.match(body.queues, [
    { organId: G22, inboxMessages: 5, deadLetterMessages: 2 },
    { organId: H29, inboxMessages: 5, deadLetterMessages: 2 },
    { organId: STC, inboxMessages: 5, error: /NOT_FOUND/ },
  ])
  t.notOk('deadLetterMessages' in body.queues[2])
  t.equal(body.queues[0].error, undefined)
})

t.test('GET /v1/operator/health on the real broker: queue depth of every hosted agency', async (t) => {
  const gw = await startTestGateway(t)
  const r = await gw.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json()
  t.match(body, { status: 'ok', broker: { ok: true, state: 'connected' }, store: { ok: true } })
  for (const q of body.queues) {
    t.equal(q.error, undefined, `${q.organId}: ${q.error}`)
    t.ok(Number.isInteger(q.inboxMessages) && q.inboxMessages >= 0, `${q.organId} inbox depth ${q.inboxMessages}`)
    t.ok(Number.isInteger(q.deadLetterMessages) && q.deadLetterMessages >= 0, `${q.organId} dead-letter depth ${q.deadLetterMessages}`)
    t.equal(q.inbox, gw.config.amqp.queuePrefix + q.organId)
  }
  // an app given only the broker connection (no inspector) reads the depths through it
  const names = { exchange: gw.config.amqp.exchange, deadLetterExchange: gw.config.amqp.deadLetterExchange, queuePrefix: gw.config.amqp.queuePrefix, deadLetterQueuePrefix: gw.config.amqp.deadLetterQueuePrefix }
  const { app } = await buildTestApp(t, { config: { amqp: names }, deps: { broker: gw.connection } })
  const own = (await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.same(
    own.queues.map((q: any) => [q.organId, typeof q.inboxMessages, typeof q.deadLetterMessages, q.error]),
    [G22, H29, STC].map((id) => [id, 'number', 'number', undefined]),
    'depths read through the connection',
  )
  // queues that do not exist on the broker: reported per agency, the rest of the answer intact
  const other = await buildTestApp(t, { deps: { broker: gw.connection } })
  const missing = (await other.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.equal(missing.status, 'ok')
  for (const q of missing.queues) t.match(q.error, /NOT_FOUND|404/, `${q.organId}: missing queue reported`)
})
