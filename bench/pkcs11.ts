/**
 * Signatures per second through a PKCS#11 token (SoftHSM2, Debian's softhsm2 + opensc), beside node:crypto in
 * the same run: a token of its own is made in a temporary folder (SOFTHSM2_CONF), an RSA-2048 key generated in it
 * with pkcs11-tool, a certificate issued by the sample CA (certs-sample/). Cases, each for BENCH_SECONDS (default 3):
 *   - token, one at a time: our CMS signature (`loadPkcs11Signer(...).sign`), awaited one after the other;
 *   - token, concurrent: the same with CONCURRENCY (default 8) signatures outstanding, maxSessions 4;
 *   - node:crypto raw RSA-2048 sign/s (PKCS#1 v1.5, SHA-256 over the same 10 KB) with a key in memory;
 *   - our CMS signature with a key in memory (`loadSigner`), for comparison.
 * Every token signature of the first round is verified by our verifier. Run `npx tsx bench/pkcs11.ts`; the last
 * line is one JSON object.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createVerifier, loadPkcs11Signer, loadSigner } from '../src/signature/index.js'
import { generateKey, initToken, issueSampleCertificate, SAMPLE, softhsmDir, storeCertificate } from '../test/unit/signature/softhsm.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8)
const content = Buffer.alloc(10 * 1024, 'lienthong ')

const dir = mkdtempSync(join(tmpdir(), 'lt-bench-pkcs11-'))
softhsmDir(dir)
const token = initToken(dir, 'bench-token')
const pub = generateKey(token, { label: 'bench', id: '01', type: 'rsa:2048' })
const certPem = issueSampleCertificate(join(dir, 'certs'), pub, '000.00.00.G22', 'Bench token')
storeCertificate(token, certPem, { label: 'bench', id: '01' })
const chainPem = readFileSync(join(SAMPLE, 'intermediate-ca.pem'), 'utf8')

async function rate(fn: () => Promise<unknown> | unknown, concurrency = 1): Promise<{ perSecond: number; n: number }> {
  const end = performance.now() + SECONDS * 1000
  let n = 0
  const worker = async () => {
    while (performance.now() < end) {
      await fn()
      n++
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { perSecond: Math.round(n / ((performance.now() - t0) / 1000)), n }
}

const signer = await loadPkcs11Signer({ module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'bench', pin: token.pin, chainPem, maxSessions: 4 })
const verifier = createVerifier({ trustAnchors: readFileSync(join(SAMPLE, 'trust-anchors.pem'), 'utf8') })
const check = await verifier.verify(content, await signer.sign(content), { expectedOrganId: '000.00.00.G22' })
if (check.code !== 'VALID') throw new Error(`token signature does not verify: ${check.code} ${check.message}`)

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const memory = await loadSigner({
  keyPem: readFileSync(join(SAMPLE, 'agencies/vpcp/key.pem'), 'utf8'),
  certPem: readFileSync(join(SAMPLE, 'agencies/vpcp/cert.pem'), 'utf8'),
  chainPem,
})

const cpu0 = process.cpuUsage()
const tokenSerial = await rate(() => signer.sign(content))
const tokenConcurrent = await rate(() => signer.sign(content), CONCURRENCY)
const raw = await rate(() => nodeSign('sha256', content, privateKey))
const memoryCms = await rate(() => memory.signSync(content))
const cpu = process.cpuUsage(cpu0)
const st = signer.token!.status()
signer.token!.close()
rmSync(dir, { recursive: true, force: true })

const load = loadavg().map((l) => l.toFixed(1)).join(' ')
console.log(`load average ${load}; ${SECONDS} s per case; RSA-2048, 10 KB content`)
console.log(`token (SoftHSM2) CMS sign, one at a time:        ${tokenSerial.perSecond}/s`)
console.log(`token (SoftHSM2) CMS sign, ${CONCURRENCY} outstanding, 4 sessions: ${tokenConcurrent.perSecond}/s`)
console.log(`node:crypto raw RSA-2048 sign, same run:          ${raw.perSecond}/s`)
console.log(`our CMS sign with the key in memory, same run:    ${memoryCms.perSecond}/s`)
console.log(`token status: ${st.signatures} signatures, ${st.errors} errors, ${st.reopens} reopens`)
console.log(JSON.stringify({
  bench: 'pkcs11', at: new Date().toISOString(), loadavg: load, seconds: SECONDS,
  tokenSignPerSecond: tokenSerial.perSecond, tokenConcurrentSignPerSecond: tokenConcurrent.perSecond, concurrency: CONCURRENCY,
  rawNodeSignPerSecond: raw.perSecond, memoryCmsSignPerSecond: memoryCms.perSecond,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
}))
