/**
 * OCSP and CRL cache hit rates under a stream of incoming packages. On 127.0.0.1: an `openssl ocsp` responder
 * (a delegated responder certificate, answers valid 1 day) over the index of a test CA, and an HTTP server serving
 * that CA's CRL (made by `openssl ca -gencrl`). SIGNERS sending agencies (default 50, P-256 certificates with their
 * OrganId as subject UID, one revoked) whose certificates name both in their AIA and CRL distribution points send
 * PACKAGES edXML documents (default 3000, a small PDF each, a random sender each) to 000.00.00.H29, hosted by the
 * gateway. They go, CONCURRENCY (default 16) at a time, through the receive pipeline as the consumer hands it AMQP
 * messages (src/pipeline/incoming.ts `handle`: parse, sender, verify, store in SQLite, a signed 01 stored with it,
 * or refused with a 02), verified by the gateway's verifier over config.trust (src/pipeline/trust.ts
 * `trustVerifier`; the root's CRL is a file), once per policy:
 *   - `ocsp-crl`: trust.revocation.order ["ocsp", "crl"] (the default);
 *   - `crl`:      trust.revocation.order ["crl"].
 * Each policy starts cold (its own revocation checker: one per settings in the process). The figures are read from
 * the gateway's counters lienthong_revocation_cache_{hits,misses}_total{source} (a registry with the trust
 * watch's metrics) and checked against the checker's own stats; the HTTP requests the servers saw are counted too.
 * Run `npm run bench:revocation`; the last line is one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../src/config.js'
import { loadConfig } from '../src/config.js'
import { createMetrics } from '../src/metrics.js'
import { createIncomingPipeline } from '../src/pipeline/incoming.js'
import { loadSigners } from '../src/pipeline/signers.js'
import { createStatusSender } from '../src/pipeline/statuses.js'
import { createTrustWatch } from '../src/pipeline/trust-watch.js'
import { revocationCheckerFor, trustVerifier } from '../src/pipeline/trust.js'
import { loadSigner } from '../src/signature/index.js'
import { openSqliteStore } from '../src/store/index.js'
import { rawTestConfig } from '../test/helper.js'
import { inbound, sampleEdoc } from '../test/integration/receive/helpers.js'
import { crl, freePort, makeIntermediate, makeRoot, openssl, revoke } from '../test/unit/signature/openssl-pki.js'

const H29 = '000.00.00.H29'
const organIdOf = (i: number) => `000.00.${String(Math.floor(i / 100)).padStart(2, '0')}.B${String(i % 100).padStart(2, '0')}`

const SIGNERS = Number(process.env.SIGNERS ?? 50)
const PACKAGES = Number(process.env.PACKAGES ?? 3000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)

const dir = mkdtempSync(join(tmpdir(), 'lt-bench-revocation-'))

// ---- the CRL server -------------------------------------------------------------------------------------------
let crlRequests = 0
let crlDer: Buffer = Buffer.alloc(0)
const http = createServer((req, res) => {
  if (req.url !== '/crl/signing-ca.crl') return void res.writeHead(404).end()
  crlRequests++
  res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(crlDer)
})
await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
const crlUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/crl/signing-ca.crl`
const ocspPort = await freePort()

// ---- the PKI --------------------------------------------------------------------------------------------------
const t0 = performance.now()
const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Revocation Bench Root')
const ca = makeIntermediate(root, join(dir, 'ca'), '/C=VN/CN=Revocation Bench Signing CA')
const ext = join(dir, 'ext.cnf')
writeFileSync(ext, `[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:${ocspPort}/
crlDistributionPoints = URI:${crlUrl}
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
`)
function issue(name: string, subject: string, section: string): { keyPath: string; certPath: string } {
  const keyPath = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const certPath = join(dir, `${name}.pem`)
  openssl(['req', '-config', ca.cnfPath, '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', subject])
  openssl(['ca', '-batch', '-config', ca.cnfPath, '-extfile', ext, '-extensions', section, '-notext', '-in', csr, '-out', certPath, '-days', '30'])
  return { keyPath, certPath }
}
const leaves = Array.from({ length: SIGNERS }, (_, i) => issue(`agency-${i}`, `/C=VN/UID=${organIdOf(i)}/CN=Bench agency ${i}`, 'leaf'))
const responder = issue('responder', '/C=VN/CN=Revocation Bench OCSP Responder', 'ocsp')
revoke(ca, leaves[0]!.certPath)
crlDer = openssl(['crl', '-outform', 'DER'], { input: crl(ca) })
const rootCrlPath = join(dir, 'root.crl.pem')
writeFileSync(rootCrlPath, crl(root))
const anchorsPath = join(dir, 'anchors.pem')
writeFileSync(anchorsPath, readFileSync(root.certPath))
const pkiSeconds = (performance.now() - t0) / 1000

// ---- openssl ocsp ---------------------------------------------------------------------------------------------
let ocspProcess: ChildProcess | undefined
await new Promise<void>((resolve, reject) => {
  const p = spawn('openssl', ['ocsp', '-index', join(ca.dir, 'index.txt'), '-port', String(ocspPort), '-rsigner', responder.certPath, '-rkey', responder.keyPath, '-CA', ca.certPath, '-ndays', '1'], { stdio: ['ignore', 'ignore', 'pipe'] })
  ocspProcess = p
  let err = ''
  p.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
    if (err.includes('waiting for OCSP client connections')) resolve()
  })
  p.on('exit', (code) => reject(new Error(`openssl ocsp exited ${code}: ${err}`)))
})

// ---- the packages ---------------------------------------------------------------------------------------------
const signers = await Promise.all(leaves.map(async (l) => loadSigner({ keyPem: readFileSync(l.keyPath, 'utf8'), certPem: readFileSync(l.certPath, 'utf8'), chainPem: readFileSync(ca.certPath, 'utf8') })))
const packages = await Promise.all(
  Array.from({ length: PACKAGES }, async () => {
    const who = Math.floor(Math.random() * SIGNERS)
    const doc = sampleEdoc(organIdOf(who), [H29])
    return inbound({ body: doc.bytes, recipient: H29, sender: organIdOf(who), signature: await signers[who]!.sign(doc.bytes) })
  }),
)

type Policy = 'ocsp-crl' | 'crl'
async function run(policy: Policy) {
  const revocation: NonNullable<Config['trust']['revocation']> = {
    order: policy === 'crl' ? ['crl'] : ['ocsp', 'crl'],
    onUnavailable: 'refuse',
    holdMaxMs: 600_000,
    nonce: true,
    requireNonce: false,
    timeoutMs: 5000,
    cacheEntries: 10_000,
  }
  const runDir = join(dir, policy)
  mkdirSync(runDir)
  const raw = rawTestConfig(runDir)
  const config = loadConfig({ object: { ...raw, trust: { anchorsPaths: [anchorsPath], crlPaths: [rootCrlPath], revocation } }, file: join(runDir, 'config.json'), env: {} })
  const store = await openSqliteStore(config.store.path)
  const statuses = createStatusSender({ store, agencies: config.agencies, limits: config.limits, signers: await loadSigners(config), relay: { wake() {} } })
  const trust = trustVerifier(config)
  const pipeline = createIncomingPipeline({ config, store, verifier: trust.verifier, statuses })
  // the checker the verifier uses: one per settings in the process (as the gateway finds it for its metrics)
  const checker = revocationCheckerFor(config.trust.revocation!, config.trust.clockSkewMs)
  const metrics = createMetrics({ defaultMetrics: false })
  createTrustWatch({ config, signers: new Map(), revocation: () => checker }).register(metrics)
  const crlBefore = crlRequests
  const verdicts: Record<string, number> = {}
  let next = 0
  const start = performance.now()
  const worker = async () => {
    while (next < packages.length) {
      const outcome = await pipeline.handle(packages[next++]!)
      verdicts[outcome] = (verdicts[outcome] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - start) / 1000
  const stored = (await store.stats()).incomingByState
  await store.close()
  const text = await metrics.registry.metrics()
  const counter = (name: string, source: string) => Number(new RegExp(`^${name}\\{source="${source}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
  const st = checker.stats()
  const figures = (source: 'ocsp' | 'crl') => {
    const hits = counter('lienthong_revocation_cache_hits_total', source)
    const misses = counter('lienthong_revocation_cache_misses_total', source)
    if (hits !== st[source].hits || misses !== st[source].misses) throw new Error(`${policy} ${source}: the counters (${hits}/${misses}) are not the checker's (${st[source].hits}/${st[source].misses})`)
    return { hits, misses, hitRate: hits + misses ? Math.round((hits / (hits + misses)) * 10_000) / 10_000 : null }
  }
  return {
    policy,
    packagesPerSecond: Math.round(packages.length / seconds),
    seconds: Math.round(seconds * 100) / 100,
    ocsp: { ...figures('ocsp'), requests: st.ocsp.requests, failures: st.ocsp.failures },
    crl: { ...figures('crl'), fetches: st.crl.fetches, failures: st.crl.failures, httpRequests: crlRequests - crlBefore },
    outcomes: verdicts,
    stored,
  }
}

try {
  const results = []
  for (const policy of ['ocsp-crl', 'crl'] as const) {
    const r = await run(policy)
    results.push(r)
    const rate = (x: { hitRate: number | null }) => (x.hitRate === null ? '—' : `${(x.hitRate * 100).toFixed(2)} %`)
    console.log(
      `${policy.padEnd(8)} ${PACKAGES} packages from ${SIGNERS} signers, ${CONCURRENCY} in flight: ${r.packagesPerSecond} packages/s; ` +
        `OCSP hits ${r.ocsp.hits} misses ${r.ocsp.misses} (${rate(r.ocsp)}, ${r.ocsp.requests} requests); ` +
        `CRL hits ${r.crl.hits} misses ${r.crl.misses} (${rate(r.crl)}, ${r.crl.fetches} fetches); outcomes ${JSON.stringify(r.outcomes)}, stored ${JSON.stringify(r.stored)}`,
    )
  }
  console.log(`PKI made in ${pkiSeconds.toFixed(1)} s; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`)
  console.log(JSON.stringify({ signers: SIGNERS, packages: PACKAGES, concurrency: CONCURRENCY, policies: results, loadAverage: loadavg().map((x) => Math.round(x * 10) / 10) }))
} finally {
  ocspProcess?.kill()
  http.close()
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
}
