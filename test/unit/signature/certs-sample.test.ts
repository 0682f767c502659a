// The committed sample PKI (certs-sample/, see its README): every agency signs and verifies (PEM and PKCS#12),
// openssl accepts our signatures made with them, and each test certificate gets the verdict its README promises.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { packageRoot } from '../../../src/paths.js'
import { createVerifier, loadSigner, type VerdictCode } from '../../../src/signature/index.js'

const base = join(packageRoot, 'certs-sample')
const file = (p: string) => readFileSync(join(base, p))
const text = (p: string) => readFileSync(join(base, p), 'utf8')
const manifest = JSON.parse(text('manifest.json')) as { p12Password: string }
const verifier = createVerifier({ trustAnchors: text('trust-anchors.pem'), crls: text('crls.pem') })
const content = Buffer.from('<edXML>Công văn</edXML>'.repeat(400))

const agencies: [string, string][] = [
  ['vpcp', '000.00.00.G22'],
  ['ubnd-hcm', '000.00.00.H29'],
  ['stc-hcm', '000.00.11.H29'],
  ['ubnd-hanoi', '000.00.00.H26'],
  ['snv-hanoi', '000.00.12.H26'],
  ['stp-hcm', '000.00.20.H29'],
]

t.test('every sample agency signs (PEM and PKCS#12) and verifies, ours and openssl', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'content.xml'), content)
  for (const [slug, organId] of agencies) {
    const a = `agencies/${slug}`
    const pem = await loadSigner({ keyPem: text(`${a}/key.pem`), certPem: text(`${a}/cert.pem`), chainPem: text(`${a}/chain.pem`) })
    const p12 = await loadSigner({ p12: file(`${a}/bundle.p12`), password: manifest.p12Password })
    t.equal(p12.certificate.sha256, pem.certificate.sha256, `${slug}: same certificate from PKCS#12`)
    t.equal(pem.organId, organId)
    t.same(pem.warnings, [], `${slug}: no warnings`)
    for (const signer of [pem, p12]) {
      const sig = await signer.sign(content)
      const v = await verifier.verify(content, sig, { expectedOrganId: organId })
      t.equal(v.code, 'VALID', `${slug}: ${v.message}`)
      t.equal(v.revocation?.status, 'good', `${slug}: both CRLs checked`)
      t.equal(v.chain.length, 3)
      writeFileSync(join(dir, 'sig.p7s'), sig)
      t.doesNotThrow(() =>
        execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'sig.p7s'), '-content', join(dir, 'content.xml'),
          '-CAfile', join(base, 'trust-anchors.pem'), '-purpose', 'any', '-out', '/dev/null'], { stdio: 'pipe' }),
      `${slug}: openssl cms -verify accepts our signature`)
    }
  }
})

t.test('test certificates get the verdicts the sample README lists', async (t) => {
  const cases: [string, VerdictCode, string | undefined][] = [
    ['expired', 'CERT_EXPIRED', '000.00.00.G22'],
    ['not-yet-valid', 'CERT_NOT_YET_VALID', '000.00.00.H29'],
    ['revoked', 'REVOKED', '000.00.11.H29'],
    ['untrusted', 'UNTRUSTED_CHAIN', '000.00.00.H29'],
    ['no-digital-signature', 'KEY_USAGE', '000.00.00.H26'],
    ['uid-mismatch', 'SENDER_MISMATCH', '000.00.00.G22'],
    ['no-uid', 'SENDER_MISMATCH', '000.00.12.H26'],
  ]
  for (const [name, code, organId] of cases) {
    const d = `test/${name}`
    const signer = await loadSigner({ keyPem: text(`${d}/key.pem`), certPem: text(`${d}/cert.pem`), chainPem: text(`${d}/chain.pem`) })
    const v = await verifier.verify(content, await signer.sign(content), organId ? { expectedOrganId: organId } : {})
    t.equal(v.code, code, `${name}: ${v.message}`)
    const warning = { expired: /expired on/, 'not-yet-valid': /valid only from/, 'no-digital-signature': /key usage/, 'no-uid': /no OrganId/ }[name]
    if (warning) t.match(signer.warnings.join('; '), warning, `${name}: signer warns`)
    else t.same(signer.warnings, [], `${name}: no load-time warning`)
    t.equal(v.ok, false)
  }
  // The expired certificate with a signing time back-dated into its validity: the claim is not believed...
  const exp = await loadSigner({ keyPem: text('test/expired/key.pem'), certPem: text('test/expired/cert.pem'), chainPem: text('test/expired/chain.pem') })
  const mid = new Date((Date.parse(exp.certificate.notBefore) + Date.parse(exp.certificate.notAfter)) / 2)
  const backDated = await exp.sign(content, { signingTime: mid })
  t.equal((await verifier.verify(content, backDated, { expectedOrganId: '000.00.00.G22' })).code, 'SIGNING_TIME_OUT_OF_RANGE')
  // ... but validity at that time can be asked for explicitly (the CAs were valid then too).
  const v = await verifier.verify(content, backDated, { expectedOrganId: '000.00.00.G22', validationTime: mid })
  t.equal(v.code, 'VALID', v.message)
  t.equal(v.timeSource, 'explicit')
  // Without the CRLs the revoked certificate is not known to be revoked: valid, revocation unknown.
  const noCrl = createVerifier({ trustAnchors: text('trust-anchors.pem') })
  const rev = await loadSigner({ p12: file('test/revoked/bundle.p12'), password: manifest.p12Password })
  const r = await noCrl.verify(content, await rev.sign(content))
  t.equal(r.code, 'VALID')
  t.equal(r.revocation?.status, 'unknown')
})
