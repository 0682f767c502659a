/**
 * The console's HTTP side without a browser: the static files and ES modules (content types, ETag/304, CSP, nothing
 * outside the folder, every module reachable from main.js), and the generated /console/labels.js.
 * (GET /v1/operator/health: test/api/operator-health.test.ts.)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { consoleRoutes, loadConsoleFiles } from '../../src/api/routes/console.js'
import { installErrorHandling } from '../../src/api/error-handler.js'
import { addApiSchemas } from '../../src/api/schemas.js'
import { packageRoot } from '../../src/paths.js'
import { consoleLabels } from '../../src/api/console-labels.js'
import { buildTestApp, ROOT } from '../helper.js'

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
  t.same(refs.sort(), ['/console/console.css', '/console/favicon.svg', '/console/main.js'])
  t.match(html, /<script type="module" src="\/console\/main\.js"><\/script>/, 'the entry point is a module script')
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script')
  const types: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' }
  const check = async (url: string) => {
    const r = await app.inject({ url })
    t.equal(r.statusCode, 200, url)
    t.equal(r.headers['content-type'], types[url.split('.').pop()!], `${url} type`)
    t.equal(r.headers['x-content-type-options'], 'nosniff', `${url} nosniff (module scripts need the right type)`)
    const etag = r.headers.etag as string
    t.match(etag, /^"[A-Za-z0-9_-]{27}"$/, 'strong ETag')
    const again = await app.inject({ url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304, `${url} revalidated`)
    t.equal(again.body, '')
    return r.body
  }
  for (const url of refs) await check(url)

  // the module graph from main.js, as the browser follows it: every import is served, every module file is imported
  const seen = new Set<string>()
  const follow = async (url: string): Promise<void> => {
    if (seen.has(url)) return
    seen.add(url)
    const body = await check(url)
    for (const m of body.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
      const spec = (m[1] ?? m[2])!
      t.match(spec, /^\.\.?\//, `${url}: relative import ${spec} (no bare specifiers without a build step)`)
      await follow(new URL(spec, `http://x${url}`).pathname)
    }
  }
  await follow('/console/main.js')
  const onDisk = (dir: string, prefix = '/console/'): string[] =>
    readdirSync(dir).flatMap((n) => (statSync(path.join(dir, n)).isDirectory() ? onDisk(path.join(dir, n), `${prefix}${n}/`) : n.endsWith('.js') ? [prefix + n] : []))
  t.same([...seen].filter((u) => u !== '/console/labels.js').sort(), onDisk(CONSOLE_DIR).sort(), 'every module file is reached from main.js')
  t.ok(seen.has('/console/labels.js'), 'the generated labels are imported')
  t.notOk(existsSync(path.join(CONSOLE_DIR, 'labels.js')), 'labels.js is generated, not a file')
  t.ok(seen.has('/console/views/log.js'), 'views are served from their subfolder')

  for (const url of ['/console/missing.js', '/console/..%2Fpackage.json', '/console/%2E%2E%2Fsrc%2Fapp.ts', '/console/README', '/console/views%2F..%2F..%2Fpackage.json', '/console/views', '/console/views/', '/console/console.js']) {
    const r = await app.inject({ url })
    t.equal(r.statusCode, 404, url)
    t.equal(r.json().code, 'GW_ERR_API_NOT_FOUND')
  }
  // the page carries no data: no key needed for it, but its API calls need one
  t.equal((await app.inject({ url: '/v1/operator/health' })).statusCode, 401)
})

t.test('loadConsoleFiles: only known types; a folder without index.html is a configuration error', async (t) => {
  const files = loadConsoleFiles(CONSOLE_DIR)
  t.ok(files.has('index.html') && files.has('main.js') && files.has('views/log.js') && files.has('console.css'))
  const dir = t.testdir({ 'index.html': '<!doctype html>', 'notes.txt': 'x', 'app.js': '1', '.hidden.js': 'no', views: { 'a.js': '2', 'b.txt': 'x', '.git': { 'c.js': 'no' }, deep: { deeper: { 'd.js': 'too deep' }, 'e.js': '3' } } })
  t.same([...loadConsoleFiles(dir).keys()].sort(), ['app.js', 'index.html', 'views/a.js', 'views/deep/e.js'])
  t.throws(() => loadConsoleFiles(t.testdir({ 'a.js': '' })), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => loadConsoleFiles(path.join(ROOT, 'no-such-folder')), { code: 'GW_ERR_CONFIG_INVALID' })
})

t.test('without the console folder the gateway still starts: /console is a 404 that says why', async (t) => {
  const Fastify = (await import('fastify')).default
  const bare = Fastify()
  t.teardown(() => bare.close())
  installErrorHandling(bare as any, 1_000_000)
  addApiSchemas(bare as any)
  const missing = path.join(ROOT, 'no-such-console')
  await bare.register(consoleRoutes, { dir: missing })
  const r = await bare.inject({ url: '/console' })
  t.equal(r.statusCode, 404)
  t.match(r.json(), { code: 'GW_ERR_API_NOT_FOUND', message: /no-such-console/ })
})

t.test('/console/labels.js: generated from the catalogue and the delivery states, an ES module the page imports', async (t) => {
  const { app } = await buildTestApp(t)
  const r = await app.inject({ url: '/console/labels.js' })
  t.equal(r.statusCode, 200)
  t.equal(r.headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal(r.headers['cache-control'], 'no-cache')
  const mod = await import(`data:text/javascript;base64,${Buffer.from(r.body).toString('base64')}`)
  t.same(mod.default, consoleLabels(), 'the module is consoleLabels() as served')
  t.ok(Object.isFrozen(mod.default))
  t.equal((await app.inject({ url: '/console/labels.js', headers: { 'if-none-match': r.headers.etag as string } })).statusCode, 304)
  // a folder with its own labels.js: the generated module wins
  const dir = t.testdir({ 'index.html': '<!doctype html>', 'labels.js': 'export default {}' })
  const Fastify = (await import('fastify')).default
  const bare = Fastify()
  t.teardown(() => bare.close())
  installErrorHandling(bare as any, 1_000_000)
  await bare.register(consoleRoutes, { dir })
  const own = (await bare.inject({ url: '/console/labels.js' })).body
  t.match(own, /^\/\/ Generated by the gateway/)
  t.not(own, 'export default {}')
})

t.test('the console holds no label tables of its own: codes and states come from /console/labels.js', async (t) => {
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => (statSync(path.join(dir, n)).isDirectory() ? sources(path.join(dir, n)) : n.endsWith('.js') ? [path.join(dir, n)] : []))
  for (const file of sources(CONSOLE_DIR)) {
    const text = readFileSync(file, 'utf8')
    const rel = path.relative(ROOT, file)
    t.notMatch(text, /['"]?GW_ERR_[A-Z_]+['"]?\s*:\s*[[{'"]/, `${rel}: no table of catalogue codes`)
    t.notMatch(text, /\b(UNTRUSTED_CHAIN|DIGEST_MISMATCH|CERT_EXPIRED)['"]?\s*:/, `${rel}: no table of verdict codes`)
    t.notMatch(text, /'recall-refused'|'recall-requested'|Đã chuyển lên trục|Đã nhận về, chữ ký hợp lệ/, `${rel}: no state table`)
  }
})
