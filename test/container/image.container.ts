/**
 * The production image, built and run as an operator would. The test builds it (Dockerfile) with podman on the local
 * base image .ci/container-base makes (debootstrap + Node.js from the npm registry; kept between runs and made again
 * only when what it is made of changes), or on LIENTHONG_BASE_IMAGE (e.g. node:20-bookworm-slim where a registry is
 * reachable); LIENTHONG_TEST_IMAGE names an image already built instead. Then podman starts it on the host network
 * with a configuration made from config/production.example.json, a fresh PKI made by the image's own
 * `lienthong pki init`, the machine's RabbitMQ, and its SQLite store on a named volume (then once more on
 * PostgreSQL, as compose.yaml runs it). A document goes through the API to the second agency the container hosts
 * and arrives intact; /readyz, the healthcheck and the console (page, stylesheet, scripts and the modules they
 * import; a personal operator account logs in and reads the delivery log) answer; and the image holds no private
 * key, no sample PKI and no tests. The base image, build and start times are printed.
 *
 * Not part of `tap` (the file name does not end in .test.ts): `npm run test:container` runs it. Without podman
 * every test here is skipped, saying so.
 */
import t, { type Test } from 'tap'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { loadConfig, type Config } from '../../src/config.js'
import { AMQP_URL, amqpNames, deleteAmqpNames, eventually, freshPgDatabase, H29, PG_ADMIN_URL, ROOT, sampleDocument } from '../helper.js'

const run = promisify(execFile)
/** How podman runs containers on these machines (crun fails on the hybrid cgroups; limits given explicitly). */
const PODMAN = ['--runtime', 'runc', '--cgroup-manager=cgroupfs']
const LIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1000:1000']
const P12_ENV = 'LIENTHONG_P12_PASSWORD_UBND_HCM'
const BUILT_TAG = 'localhost/lienthong:test'
const LOCAL_BASE = 'localhost/lienthong-base:20'

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1)

function podmanMissing(): string | undefined {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' })
  if (r.error) return `podman cannot be run (${r.error.message}): apt-get install podman buildah runc debootstrap (.ci/run does it)`
  return undefined
}

/** A command's output, streamed to a log file; rejects with the log's last lines. */
function logged(cmd: string, args: string[], log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(log)
    // without the test runner's NODE_OPTIONS (its --import names files of this machine, not of an image being made)
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(out, { end: false })
    child.stderr.pipe(out, { end: false })
    child.on('error', reject)
    child.on('close', (code) => {
      out.end(() => {
        if (code === 0) return resolve()
        const tail = readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code} (log ${log}):\n${tail}`))
      })
    })
  })
}

const timings: string[] = []

const LOGS = path.join(ROOT, 'tmp', 'container')

/** LIENTHONG_BASE_IMAGE, or the local base image .ci/container-base makes (at once when it is up to date). */
let baseImage: Promise<string> | undefined
function ensureBase(): Promise<string> {
  baseImage ??= (async () => {
    if (process.env.LIENTHONG_BASE_IMAGE) return process.env.LIENTHONG_BASE_IMAGE
    mkdirSync(LOGS, { recursive: true })
    const t0 = performance.now()
    await logged('bash', [path.join(ROOT, '.ci', 'container-base'), LOCAL_BASE], path.join(LOGS, 'base.log'))
    const said = readFileSync(path.join(LOGS, 'base.log'), 'utf8').trim().split('\n').pop()
    timings.push(`base image ${seconds(t0)} s (${said})`)
    return LOCAL_BASE
  })()
  return baseImage
}

/** podman build with this machine's flags; the host network for the build's own downloads (apt, npm). */
function build(base: string, tag: string, log: string, ...args: string[]): Promise<void> {
  mkdirSync(LOGS, { recursive: true })
  return logged('podman', [...PODMAN, 'build', '--network', 'host', ...LIMITS, '--format', 'docker', '--build-arg', `BASE_IMAGE=${base}`, '-t', tag, ...args], path.join(LOGS, log))
}

/** The image under test: LIENTHONG_TEST_IMAGE, or built here from the Dockerfile (the base image made first). */
async function imageUnderTest(): Promise<string> {
  if (process.env.LIENTHONG_TEST_IMAGE) return process.env.LIENTHONG_TEST_IMAGE
  const base = await ensureBase()
  const old = spawnSync('podman', [...PODMAN, 'image', 'inspect', '--format', '{{.Id}}', BUILT_TAG], { encoding: 'utf8' }).stdout.trim()
  const t1 = performance.now()
  // layers are cached between runs: a change of src/ rebuilds from the `npm run build` step on
  await build(base, BUILT_TAG, 'build.log', '.')
  const id = spawnSync('podman', [...PODMAN, 'image', 'inspect', '--format', '{{.Id}} {{.Size}}', BUILT_TAG], { encoding: 'utf8' }).stdout.trim().split(' ')
  timings.push(`image build ${seconds(t1)} s (${BUILT_TAG} on ${base}, ${Math.round(Number(id[1]) / 1e6)} MB, log tmp/container/build.log)`)
  // the image this tag named before, unless something still uses it
  if (old && old !== id[0]) spawnSync('podman', [...PODMAN, 'rmi', old], { encoding: 'utf8' })
  return BUILT_TAG
}

const tStart = performance.now()
let IMAGE = ''
let skip: string | undefined = podmanMissing()
if (!skip) {
  try {
    IMAGE = await imageUnderTest()
  } catch (e) {
    t.fail(`the image builds: ${(e as Error).message}`)
    skip = 'the image did not build'
  }
}
while (timings.length) t.comment(`container: ${timings.shift()}`)
const imageReady = seconds(tStart)
t.teardown(() => t.comment(`container: image ready after ${imageReady} s, whole file ${seconds(tStart)} s`))

const podman = async (...args: string[]): Promise<string> => (await run('podman', [...PODMAN, ...args], { maxBuffer: 64 << 20 })).stdout

/** podman with `input` on its standard input. */
function podmanStdin(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('podman', [...PODMAN, ...args], (err, stdout) => (err ? reject(err) : resolve(stdout)))
    child.stdin!.end(input)
  })
}

const sha = (key: string) => createHash('sha256').update(key).digest('hex')

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise((resolve) => srv.close(resolve))
  return port
}

interface Deployment {
  /** Host folder mounted read-only at /etc/lienthong: config.json, keys/, trust/. */
  etc: string
  keys: { g22: string; h29: string; ops: string }
  p12Password: string
  /** The personal operator account of the example (its password hash made by the image's own CLI). */
  operator: { id: string; password: string }
  /** The configuration as the gateway will load it (checked on the host with the same relative paths). */
  config: Config
}

/** A deployment folder laid out like the one compose.yaml mounts, with a fresh PKI and fresh API keys. */
async function makeDeployment(t: Tap): Promise<Deployment> {
  const etc = mkdtempSync(path.join(tmpdir(), 'lienthong-etc-'))
  t.teardown(() => rmSync(etc, { recursive: true, force: true }))
  chmodSync(etc, 0o777) // the image's `node` user writes the PKI here
  await podman('run', '--rm', ...LIMITS, '--network', 'none', '-v', `${etc}:/out`, IMAGE, 'pki', 'init', '/out/pki')
  const manifest = JSON.parse(readFileSync(path.join(etc, 'pki', 'manifest.json'), 'utf8')) as { p12Password: string }
  // the layout of the production example: keys/<agency>/..., trust/...
  const pki = (...p: string[]) => path.join(etc, 'pki', ...p)
  const put = (from: string, to: string) => {
    const dest = path.join(etc, to)
    spawnSync('mkdir', ['-p', path.dirname(dest)])
    writeFileSync(dest, readFileSync(from), { mode: 0o644 })
  }
  for (const f of ['key.pem', 'cert.pem', 'chain.pem']) put(pki('agencies', 'vpcp', f), `keys/vpcp/${f}`)
  put(pki('agencies', 'ubnd-hcm', 'bundle.p12'), 'keys/ubnd-hcm/bundle.p12')
  put(pki('trust-anchors.pem'), 'trust/anchors.pem')
  put(pki('intermediate-ca.pem'), 'trust/intermediates.pem')
  put(pki('crls.pem'), 'trust/crls.pem')
  rmSync(pki(), { recursive: true, force: true })

  const keys = { g22: randomBytes(24).toString('base64url'), h29: randomBytes(24).toString('base64url'), ops: randomBytes(24).toString('base64url') }
  const raw = JSON.parse(readFileSync(path.join(ROOT, 'config', 'production.example.json'), 'utf8'))
  delete raw.$schema
  raw.amqp = { ...raw.amqp, ...amqpNames() }
  raw.agencies[0].clients[0].keySha256 = sha(keys.g22)
  raw.agencies[1].clients[0].keySha256 = sha(keys.h29)
  raw.operators[0].keySha256 = sha(keys.ops)
  const operator = { id: raw.operators[1].id as string, password: randomBytes(18).toString('base64url') }
  raw.operators[1].passwordHash = (await podmanStdin(operator.password, 'run', '--rm', '-i', ...LIMITS, '--network', 'none', IMAGE, 'operator', 'hash', '--password-stdin')).trim()
  raw.relay = { pollIntervalMs: 200, retryDelayMs: 500 }
  writeFileSync(path.join(etc, 'config.json'), JSON.stringify(raw, null, 2), { mode: 0o644 })
  const env = { LIENTHONG_AMQP_URL: AMQP_URL, [P12_ENV]: manifest.p12Password }
  const config = loadConfig({ file: path.join(etc, 'config.json'), env })
  t.teardown(() => deleteAmqpNames(config))
  return { etc, keys, p12Password: manifest.p12Password, operator, config }
}

interface Running {
  name: string
  base: string
}

/** Starts the image as compose.yaml does, but on the host network (the machine's RabbitMQ is at 127.0.0.1). */
async function startGateway(t: Tap, dep: Deployment, env: Record<string, string>, volume: string): Promise<Running> {
  const name = `lienthong-test-${randomBytes(4).toString('hex')}`
  const port = await freePort()
  const envArgs = Object.entries({ LIENTHONG_HTTP_PORT: String(port), LIENTHONG_AMQP_URL: AMQP_URL, [P12_ENV]: dep.p12Password, ...env }).flatMap(
    ([k, v]) => ['-e', `${k}=${v}`],
  )
  await podman('run', '-d', '--name', name, ...LIMITS, '--network', 'host', ...envArgs, '-v', `${dep.etc}:/etc/lienthong:ro`, '-v', `${volume}:/var/lib/lienthong`, IMAGE)
  t.teardown(async () => {
    if (t.passing()) return void (await podman('rm', '-f', '-t', '5', name).catch(() => {}))
    const logs = await podman('logs', '--tail', '60', name).catch((e) => String(e))
    t.comment(`container ${name} logs:\n${logs}`)
    await podman('rm', '-f', '-t', '5', name).catch(() => {})
  })
  const base = `http://127.0.0.1:${port}`
  const t0 = performance.now()
  const ready = await eventually(
    async () => {
      const state = (await podman('inspect', '--format', '{{.State.Status}}', name)).trim()
      if (state !== 'running') throw new Error(`container ${name} is ${state}: ${await podman('logs', '--tail', '40', name)}`)
      const r = await fetch(`${base}/readyz`).catch(() => undefined)
      return r?.status === 200 ? r : undefined
    },
    60_000,
    500,
  )
  t.equal(ready?.status, 200, '/readyz answers 200: the store and the broker are up')
  const body = (await ready?.json().catch(() => undefined)) as { checks?: Record<string, unknown> } | undefined
  t.comment(`container: ${name} ready in ${seconds(t0)} s after podman run (${env.LIENTHONG_STORE_DRIVER ?? 'sqlite'} store); /readyz checks ${JSON.stringify(body?.checks ?? body)}`)
  return { name, base }
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** A document from G22 to H29 (both hosted in the container) through the API; returns its DocumentId. */
async function sendAndDeliver(t: Tap, gw: Running, dep: Deployment): Promise<string> {
  const doc = sampleDocument({ recipients: [{ organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', organizationInCharge: 'Ủy ban nhân dân Thành phố Hồ Chí Minh' }] })
  const t0 = performance.now()
  const res = await fetch(`${gw.base}/v1/documents`, {
    method: 'POST',
    headers: { ...bearer(dep.keys.g22), 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  })
  const body = (await res.json()) as { id: string; documentId: string }
  t.equal(res.status, 202, `POST /v1/documents is accepted: ${JSON.stringify(body)}`)
  const sent = await eventually(async () => {
    const d = (await (await fetch(`${gw.base}/v1/documents/${body.id}`, { headers: bearer(dep.keys.g22) })).json()) as {
      deliveries: { recipient: string; state: string }[]
    }
    return d.deliveries?.[0]?.state === 'delivered' ? d : undefined
  }, 30_000, 250)
  t.equal(sent?.deliveries[0]?.recipient, H29, 'signed, relayed through RabbitMQ, received by the hosted H29, which answered 01')
  t.comment(`container: accepted to 01 back in ${seconds(t0)} s`)

  type Item = { id: string; documentId?: string }
  const inbox = (await (await fetch(`${gw.base}/v1/inbox`, { headers: bearer(dep.keys.h29) })).json()) as { items: Item[] }
  const item = inbox.items.find((i) => i.documentId === body.documentId)
  t.ok(item, `the document is in H29's inbox: ${JSON.stringify(inbox.items.map((i) => i.documentId))}`)
  if (!item) return body.documentId
  const detail = (await (await fetch(`${gw.base}/v1/inbox/${item.id}`, { headers: bearer(dep.keys.h29) })).json()) as {
    subject?: string
    verdict: { ok?: boolean; code?: string }
    attachments: { contentId: string; name: string }[]
  }
  t.equal(detail.subject, doc.subject, 'with its subject')
  t.same([detail.verdict.ok, detail.verdict.code], [true, 'VALID'], "its signature verified against the mounted trust anchors")
  const att = detail.attachments[0]
  t.equal(att?.name, doc.attachments![0]!.name, 'and its attachment')
  const bytes = Buffer.from(await (await fetch(`${gw.base}/v1/inbox/${item.id}/attachments/${att?.contentId}`, { headers: bearer(dep.keys.h29) })).arrayBuffer())
  t.equal(bytes.toString('base64'), doc.attachments![0]!.data, 'byte for byte')
  const notG22 = await fetch(`${gw.base}/v1/inbox/${item.id}`, { headers: bearer(dep.keys.g22) })
  t.equal(notG22.status, 404, "another agency's key does not see it")
  const forbidden = await fetch(`${gw.base}/v1/documents`, { method: 'POST', headers: { ...bearer('not-a-key'), 'content-type': 'application/json' }, body: '{}' })
  t.equal(forbidden.status, 401, 'an unknown API key is refused')
  return body.documentId
}

/** What the console does after its page loaded: a personal account logs in and reads the delivery log. */
async function consoleLogin(t: Tap, gw: Running, dep: Deployment, documentId: string): Promise<void> {
  const wrong = await fetch(`${gw.base}/v1/operator/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: dep.operator.id, password: dep.operator.password + 'x' }),
  })
  t.equal(wrong.status, 401, 'a wrong password is refused')
  const login = await fetch(`${gw.base}/v1/operator/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: dep.operator.id, password: dep.operator.password }),
  })
  const session = (await login.json()) as { token?: string }
  t.equal(login.status, 200, `the operator ${dep.operator.id} logs in with the password whose hash the image's CLI made`)
  const me = (await (await fetch(`${gw.base}/v1/operator/me`, { headers: bearer(session.token ?? '') })).json()) as { id?: string; role?: string; via?: string }
  t.match(me, { id: dep.operator.id, role: 'admin', via: 'session' }, 'GET /v1/operator/me with the session')
  const log = (await (await fetch(`${gw.base}/v1/log?documentId=${encodeURIComponent(documentId)}`, { headers: bearer(session.token ?? '') })).json()) as {
    items?: { documentId?: string; type: string }[]
  }
  const mine = (log.items ?? []).filter((e) => e.documentId === documentId)
  t.ok(mine.length >= 2, `the delivery log shows the document's events: ${mine.map((e) => e.type).join(', ')}`)
  const verify = await fetch(`${gw.base}/v1/log/verify`, { headers: bearer(session.token ?? '') })
  const verified = (await verify.json()) as { ok?: boolean }
  t.equal(verify.status, 200, 'the hash chain check answers')
  t.equal(verified.ok, true, `the delivery log verifies: ${JSON.stringify(verified)}`)
}

/** The console page, and every file it names, and every module those scripts import. */
async function checkConsole(t: Tap, gw: Running): Promise<void> {
  const page = await fetch(`${gw.base}/console`)
  t.equal(page.status, 200, 'GET /console')
  t.match(page.headers.get('content-type') ?? '', /^text\/html/, 'the console page is HTML')
  const html = await page.text()
  t.match(html, /<html[\s>]/i)
  const refs = [...html.matchAll(/(?:src|href)="(\/console\/[^"#?]+)"/g)].map((m) => m[1]!)
  t.ok(refs.some((r) => r.endsWith('.js')), 'the page names a script')
  t.ok(refs.some((r) => r.endsWith('.css')), 'the page names a stylesheet')
  const seen = new Set<string>()
  const queue = [...refs]
  while (queue.length > 0) {
    const ref = queue.shift()!
    if (seen.has(ref)) continue
    seen.add(ref)
    const r = await fetch(`${gw.base}${ref}`)
    t.equal(r.status, 200, `GET ${ref}`)
    const type = r.headers.get('content-type') ?? ''
    const text = await r.text()
    if (ref.endsWith('.js')) {
      t.match(type, /javascript/, `${ref} is served as JavaScript`)
      // ES modules of the console import each other by relative path
      for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        queue.push(new URL(m[1] ?? m[2]!, `http://x${ref}`).pathname)
      }
    }
    if (ref.endsWith('.css')) t.match(type, /text\/css/, `${ref} is served as CSS`)
  }
}

t.test('the image runs the gateway on a SQLite store on its data volume', { skip }, async (t) => {
  const dep = await makeDeployment(t)
  const volume = `lienthong-test-${randomBytes(4).toString('hex')}`
  await podman('volume', 'create', volume)
  t.teardown(() => podman('volume', 'rm', '-f', volume).catch(() => {}))
  const gw = await startGateway(t, dep, {}, volume)

  const health = await fetch(`${gw.base}/healthz`)
  t.equal(health.status, 200, '/healthz')
  const check = spawnSync('podman', [...PODMAN, 'healthcheck', 'run', gw.name], { encoding: 'utf8' })
  t.equal(check.status, 0, `the image's HEALTHCHECK passes: ${check.stdout}${check.stderr}`)
  const metrics = await fetch(`${gw.base}/metrics`, { headers: bearer(dep.keys.ops) })
  t.equal(metrics.status, 200, "the example's monitoring key reads /metrics")
  t.match(await metrics.text(), /^lienthong_/m)
  t.equal((await fetch(`${gw.base}/metrics`)).status, 401, 'and /metrics is not public')
  const openapi = await fetch(`${gw.base}/docs/json`)
  t.equal(openapi.status, 200, 'the OpenAPI document (/docs/json)')
  t.match(((await openapi.json()) as { paths?: object }).paths, { '/v1/documents': {} }, 'names the API routes')
  const ui = await fetch(`${gw.base}/docs/`)
  t.equal(ui.status, 200, 'and its UI (/docs/), served from the image\'s dependencies')

  const documentId = await sendAndDeliver(t, gw, dep)
  await checkConsole(t, gw)
  await consoleLogin(t, gw, dep, documentId)

  const files = await podman('exec', gw.name, 'ls', '-ln', '/var/lib/lienthong')
  t.match(files, /lienthong\.sqlite/, `the store is on the volume:\n${files}`)
  t.match(files, / 1000 +1000 /, 'owned by the unprivileged user the gateway runs as')
  const user = (await podman('exec', gw.name, 'id', '-u')).trim()
  t.equal(user, '1000', 'the gateway does not run as root')
})

t.test('the image runs the gateway on PostgreSQL, as compose.yaml does', { skip: skip || (PG_ADMIN_URL === 'off' && 'LIENTHONG_TEST_PG_URL=off') }, async (t) => {
  const dep = await makeDeployment(t)
  const url = new URL(await freshPgDatabase(t, 'lt_ctr'))
  const volume = `lienthong-test-${randomBytes(4).toString('hex')}`
  t.teardown(() => podman('volume', 'rm', '-f', volume).catch(() => {}))
  const gw = await startGateway(t, dep, { LIENTHONG_STORE_DRIVER: 'postgres', LIENTHONG_STORE_URL: url.href }, volume)
  await sendAndDeliver(t, gw, dep)
  const check = new pg.Client({ connectionString: url.href })
  await check.connect()
  t.teardown(() => check.end())
  const tables = await check.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`)
  t.ok(tables.rows[0].n > 0, 'the gateway made its tables in the database')
})

t.test('the image holds what the gateway serves and no private key', { skip }, async (t) => {
  const root = (await podman('image', 'mount', IMAGE)).trim()
  t.teardown(() => podman('image', 'unmount', IMAGE).catch(() => {}))
  t.ok(root, `image mounted at ${root}`)

  // every file mentioning "PRIVATE KEY": code that parses keys may, a PEM block with key material may not. The one
  // exception is a file of a Debian package of the base image (libgnutls carries known-answer self-test keys):
  // named here, never anything the gateway's layers add.
  const grep = spawnSync('grep', ['-rlIa', 'PRIVATE KEY', root], { encoding: 'utf8', maxBuffer: 16 << 20 })
  const mentions = grep.stdout.split('\n').filter(Boolean).map((f) => f.slice(root.length))
  const pemBlock = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n(?:[A-Za-z-]+:.*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40,}/
  const withKeys = mentions.filter((f) => pemBlock.test(readFileSync(path.join(root, f), 'latin1')))
  const dpkgOwned = new Set(
    spawnSync('sh', ['-c', `cat "${root}"/var/lib/dpkg/info/*.list 2>/dev/null`], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n'),
  )
  const ofPackages = withKeys.filter((f) => dpkgOwned.has(f) || dpkgOwned.has(f.replace(/^\/usr\/lib\//, '/lib/')))
  t.comment(`files that mention "PRIVATE KEY" without holding one: ${mentions.filter((f) => !withKeys.includes(f)).join(', ') || 'none'}`)
  t.comment(`self-test keys in files of the base image's Debian packages: ${ofPackages.join(', ') || 'none'}`)
  t.same(withKeys.filter((f) => !ofPackages.includes(f)), [], 'no PEM private key in the image')
  t.notOk(withKeys.some((f) => f.startsWith('/app/') || f.startsWith('/etc/lienthong')), 'none in the gateway')
  const binaryKeys = spawnSync('find', [root, '-xdev', '-type', 'f', '(', '-iname', '*.p12', '-o', '-iname', '*.pfx', '-o', '-iname', '*.key', '-o', '-iname', '*key.pem', ')'], { encoding: 'utf8' })
  t.equal(binaryKeys.stdout.trim(), '', 'no PKCS#12 bundle or key file')

  const app = path.join(root, 'app')
  const ls = (p: string) => spawnSync('ls', ['-A', path.join(app, p)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
  t.same(ls('').sort(), ['README.md', 'config', 'dist', 'node_modules', 'package.json', 'schemas', 'src'].sort(), '/app holds the gateway only (no certs-sample, tests, benchmarks, tmp)')
  t.same(ls('src'), ['console'], 'from src/, only the console folder')
  const consoleHere = spawnSync('ls', ['-A', path.join(ROOT, 'src', 'console')], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort()
  t.same(ls('src/console').sort(), consoleHere, 'the whole console folder')
  t.same(ls('config'), ['production.example.json'], 'the production example, not the development sample')
  t.notOk(ls('node_modules').includes('tap'), 'no development dependency')
  type Health = { Test: string[] }
  const inspect = JSON.parse(await podman('image', 'inspect', IMAGE))[0] as { Healthcheck?: Health; Config: { Healthcheck?: Health; User: string; Volumes?: object } }
  t.match((inspect.Healthcheck ?? inspect.Config.Healthcheck)?.Test?.join(' ') ?? '', /healthz/, 'the image declares a HEALTHCHECK on /healthz')
  t.equal(inspect.Config.User, 'node')
  t.ok(inspect.Config.Volumes && '/var/lib/lienthong' in inspect.Config.Volumes, 'the data volume is declared')
})

/** RabbitMQ and PostgreSQL for compose.yaml: RABBITMQ_IMAGE and POSTGRES_IMAGE, else stand-ins built from Debian's packages. */
async function brokerAndDatabaseImages(): Promise<{ rabbitmq: string; postgres: string }> {
  const made: { rabbitmq: string; postgres: string } = {
    rabbitmq: process.env.RABBITMQ_IMAGE ?? 'localhost/lienthong-rabbitmq:ci',
    postgres: process.env.POSTGRES_IMAGE ?? 'localhost/lienthong-postgres:ci',
  }
  const base = await ensureBase()
  for (const which of ['rabbitmq', 'postgres'] as const) {
    if (process.env[which === 'rabbitmq' ? 'RABBITMQ_IMAGE' : 'POSTGRES_IMAGE']) continue
    const t0 = performance.now()
    const dir = path.join(ROOT, '.ci', 'compose')
    await build(base, made[which], `${which}.log`, '-f', path.join(dir, `${which}.Dockerfile`), dir)
    timings.push(`${which} stand-in image ${seconds(t0)} s (${made[which]})`)
  }
  return made
}

const composeMissing = (): string | undefined => {
  const r = spawnSync('podman-compose', ['version'], { encoding: 'utf8' })
  return r.error ? `podman-compose cannot be run (${r.error.message}): apt-get install podman-compose (.ci/run does it)` : undefined
}

t.test('compose.yaml starts a working gateway with its RabbitMQ and PostgreSQL', { skip: skip || composeMissing() }, async (t) => {
  const images = await brokerAndDatabaseImages()
  while (timings.length) t.comment(`container: ${timings.shift()}`)
  const dep = await makeDeployment(t)
  const project = `lt-compose-${randomBytes(4).toString('hex')}`
  const port = await freePort()
  const env = {
    ...process.env,
    LIENTHONG_AMQP_PASSWORD: randomBytes(16).toString('hex'),
    LIENTHONG_PG_PASSWORD: randomBytes(16).toString('hex'),
    [P12_ENV]: dep.p12Password,
    LIENTHONG_ETC: dep.etc,
    LIENTHONG_IMAGE: IMAGE,
    RABBITMQ_IMAGE: images.rabbitmq,
    POSTGRES_IMAGE: images.postgres,
    LIENTHONG_PUBLISH: `127.0.0.1:${port}`,
  }
  const compose = (...args: string[]) =>
    run(
      'podman-compose',
      [`--podman-args=${PODMAN.join(' ')}`, `--podman-run-args=${LIMITS.join(' ')}`, '-p', project, '-f', path.join(ROOT, 'compose.yaml'), ...args],
      { env, cwd: ROOT, maxBuffer: 64 << 20 },
    )
  t.teardown(async () => {
    if (!t.passing()) t.comment(`gateway logs:\n${await podman('logs', '--tail', '60', `${project}_gateway_1`).catch((e) => String(e))}`)
    await compose('down').catch((e) => t.comment(`compose down: ${e}`))
    for (const v of ['rabbitmq-data', 'postgres-data', 'lienthong-data']) await podman('volume', 'rm', '-f', `${project}_${v}`).catch(() => {})
    await podman('network', 'rm', '-f', `${project}_default`).catch(() => {})
  })
  const t0 = performance.now()
  await compose('up', '-d')
  const base = `http://127.0.0.1:${port}`
  // the gateway restarts (restart: unless-stopped) until the broker and the database accept it
  const ready = await eventually(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 180_000, 1000)
  t.ok(ready, '/readyz answers 200 through the published port')
  t.comment(`container: compose up to /readyz ${seconds(t0)} s`)
  if (!ready) return
  const gw = { name: `${project}_gateway_1`, base }
  const documentId = await sendAndDeliver(t, gw, dep)
  await checkConsole(t, gw)
  await consoleLogin(t, gw, dep, documentId)
  const rows = await podman('exec', `${project}_postgres_1`, 'psql', '-U', 'lienthong', '-d', 'lienthong', '-tAc', `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`)
  t.ok(Number(rows.trim()) > 0, `the gateway keeps its store in the compose PostgreSQL (${rows.trim()} tables)`)
  const plain = await fetch(`${base}/v1/documents`).catch(() => undefined)
  t.equal(plain?.status, 401, 'the API asks for a key')
})

type Tap = Test
