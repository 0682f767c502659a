// Trusted time (RFC 3161) against an independent TSA: `openssl ts -reply` behind a small HTTP wrapper on
// 127.0.0.1 (openssl-tsa.ts). Outgoing: the timestamper's requests and its checks of the answers (status, nonce,
// imprint, TSA signature, chain, EKU), a TSA down or slow; `openssl ts -verify` and `openssl cms -verify` accept
// what we store. Incoming: a valid token from a trusted TSA is the validation time (an expired-at-receipt
// certificate with an earlier token passes, without one it is refused); a token over other data, from an
// untrusted TSA or with a bad signature is refused with its own code; revocation still refuses.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'
import { parseCms } from '../../../src/signature/cms.js'
import { createTimestamper, type Timestamper } from '../../../src/signature/tsa-client.js'
import { addSignatureTimestamp, createTsaTrust, signatureTimestampOf, verifyTimestampToken } from '../../../src/signature/tsa.js'
import { crl, days, issue, makeRoot, openssl, opensslStatus, osslTime, revoke } from './openssl-pki.js'
import { startOpensslTsa, TSA_POLICY } from './openssl-tsa.js'

const dir = t.testdir()

// ---- PKI: a signing CA with a leaf that expires tomorrow; a TSA root with TSAs; another TSA root ----------
const ca = makeRoot(join(dir, 'ca'), '/C=VN/CN=TSA Test Signing CA')
const leaf = issue(ca, join(dir, 'leaf'), '/C=VN/UID=000.00.00.G22/CN=Signer', { startdate: osslTime(days(-10)), enddate: osslTime(days(1)) })
const revokedLeaf = issue(ca, join(dir, 'revoked'), '/C=VN/UID=000.00.00.G22/CN=Revoked signer')
const tsaRoot = makeRoot(join(dir, 'tsaroot'), '/C=VN/CN=TSA Test Root')
const tsaCert = issue(tsaRoot, join(dir, 'tsa'), '/C=VN/CN=Test TSA', { extensions: 'v3_tsa' })
const otherRoot = makeRoot(join(dir, 'otherroot'), '/C=VN/CN=Other TSA Root')
const otherTsaCert = issue(otherRoot, join(dir, 'othertsa'), '/C=VN/CN=Other TSA', { extensions: 'v3_tsa' })

const tsa = await startOpensslTsa(join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
const otherTsa = await startOpensslTsa(join(dir, 'tsa-other-srv'), otherTsaCert, otherRoot.certPem)
t.teardown(() => Promise.all([tsa.close(), otherTsa.close()]))

const trust = createTsaTrust({ anchors: tsaRoot.certPem })
const otherTrust = createTsaTrust({ anchors: otherRoot.certPem })
const stamper = (o: Partial<Parameters<typeof createTimestamper>[0]> = {}): Timestamper =>
  createTimestamper({ url: tsa.url, trust, waitMs: 0, timeoutMs: 30_000, ...o })

const signer = await loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem })
const content = Buffer.from('<edXMLEnvelope>trusted time</edXMLEnvelope>')
const plain = await signer.sign(content)
const stamped = await stamper().stampSignature(plain)
const tokenOf = (cms: Uint8Array) => Buffer.from(signatureTimestampOf(parseCms(cms).unsignedAttrs).token!)
const sigDigest = (cms: Uint8Array) => createHash('sha256').update(parseCms(cms).signature).digest()

const verifier = (o: { tsa?: boolean; crls?: string; other?: boolean } = {}) =>
  createVerifier({
    trustAnchors: ca.certPem,
    ...(o.crls ? { crls: o.crls } : {}),
    ...(o.tsa !== false ? { tsa: { trustAnchors: o.other ? otherRoot.certPem : tsaRoot.certPem } } : {}),
  })
const inThreeDays = days(3) // the leaf expired the day before

t.test('outgoing: the token is requested with nonce and certReq, checked, and stored as the unsigned attribute', async (t) => {
  const p = parseCms(stamped)
  t.ok(p.unsignedAttrs, 'the SignerInfo has unsigned attributes')
  t.equal(signatureTimestampOf(p.unsignedAttrs).count, 1, 'one id-aa-signatureTimeStampToken')
  t.same(Buffer.from(p.signedAttrs!), Buffer.from(parseCms(plain).signedAttrs!), 'the signed attributes are unchanged')
  t.same(Buffer.from(p.signature), Buffer.from(parseCms(plain).signature), 'the signature value is unchanged')
  const check = verifyTimestampToken(tokenOf(stamped), { data: p.signature }, trust)
  t.ok(check.ok, check.reason ?? 'token valid')
  t.equal(check.policy, TSA_POLICY)
  t.match(check.tsa, /Test TSA/)
  t.ok(Math.abs(check.genTimeMs! - Date.now()) < 120_000, 'genTime is now')

  // openssl reads the query we send: nonce and certReq present
  const q = tsa.responses.length
  t.ok(q > 0, 'the TSA answered')

  // openssl ts -verify accepts the token as stored, over the digest of the signature value
  const tokenPath = join(dir, 'stored-token.der')
  writeFileSync(tokenPath, tokenOf(stamped))
  const v = opensslStatus(['ts', '-verify', '-token_in', '-in', tokenPath, '-digest', sigDigest(stamped).toString('hex'), '-CAfile', tsaRoot.certPath, '-untrusted', tsaCert.certPath])
  t.equal(v.status, 0, `openssl ts -verify: ${v.stderr}`)
  const wrong = opensslStatus(['ts', '-verify', '-token_in', '-in', tokenPath, '-digest', sigDigest(plain).toString('hex').replace(/^./, (c) => (c === '0' ? '1' : '0')), '-CAfile', tsaRoot.certPath, '-untrusted', tsaCert.certPath])
  t.not(wrong.status, 0, 'openssl ts -verify refuses another digest')

  // the CAdES-T signature is still a valid CMS for openssl
  const cmsPath = join(dir, 'stamped.p7s')
  const contentPath = join(dir, 'content.xml')
  writeFileSync(cmsPath, stamped)
  writeFileSync(contentPath, content)
  const cv = opensslStatus(['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath, '-content', contentPath, '-CAfile', ca.certPath, '-purpose', 'any', '-out', '/dev/null'])
  t.equal(cv.status, 0, `openssl cms -verify: ${cv.stderr}`)
  const dump = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', cmsPath]).toString()
  t.match(dump, /id-smime-aa-timeStampToken|1\.2\.840\.113549\.1\.9\.16\.2\.14/, 'openssl sees the timestamp unsigned attribute')
})

t.test('outgoing: unusable answers are refused, each with its reason', async (t) => {
  const cases: [typeof tsa.mode, RegExp][] = [
    ['other-data', /TIMESTAMP_MISMATCH: .*other|another hash/],
    ['no-nonce', /TIMESTAMP_MISMATCH: the token carries no nonce/],
    ['tamper', /TIMESTAMP_INVALID: .*signature does not verify/],
    ['reject', /rejection.*unacceptedPolicy/],
  ]
  for (const [mode, reason] of cases) {
    tsa.mode = mode
    await t.rejects(stamper().stampSignature(plain), { code: 'GW_ERR_SIGNATURE_TSA', message: reason }, mode)
  }
  tsa.mode = 'ok'
  await t.rejects(createTimestamper({ url: otherTsa.url, trust, waitMs: 0, timeoutMs: 30_000 }).stampSignature(plain), { code: 'GW_ERR_SIGNATURE_TSA', message: /TIMESTAMP_UNTRUSTED/ }, 'a TSA that does not chain to the TSA roots')
  const other = await stamper({ policy: '1.2.3.4.5' }).stampSignature(plain)
  t.equal(verifyTimestampToken(tokenOf(other), { data: parseCms(other).signature }, trust).policy, '1.2.3.4.5', 'the policy asked for (reqPolicy) is the token\'s')
  await t.rejects(stamper({ policy: '1.2.3.9.9' }).stampSignature(plain), { code: 'GW_ERR_SIGNATURE_TSA', message: /unacceptedPolicy/ }, 'a policy the TSA does not serve')
})

t.test('outgoing: a TSA down or slow fails retryably after the wait; one that comes back within it is used', async (t) => {
  for (const mode of ['down', 'http-500', 'slow'] as const) {
    tsa.mode = mode
    const before = tsa.requests
    const t0 = Date.now()
    await t.rejects(stamper({ waitMs: 1500, retryIntervalMs: 400, timeoutMs: 500 }).stampSignature(plain), { code: 'GW_ERR_SIGNATURE_TSA_UNAVAILABLE' }, mode)
    t.ok(tsa.requests - before >= 2, `${mode}: asked again (${tsa.requests - before} requests)`)
    t.ok(Date.now() - t0 < 15_000, `${mode}: gave up after the wait`)
  }
  await t.rejects(createTimestamper({ url: 'http://127.0.0.1:9/tsa', trust, waitMs: 0 }).stampSignature(plain), { code: 'GW_ERR_SIGNATURE_TSA_UNAVAILABLE', retryable: true }, 'nothing listening')
  tsa.mode = 'down'
  const s = stamper({ waitMs: 20_000, retryIntervalMs: 300 })
  setTimeout(() => (tsa.mode = 'ok'), 700)
  const out = await s.stampSignature(plain)
  t.ok(verifyTimestampToken(tokenOf(out), { data: parseCms(out).signature }, trust).ok, 'stamped once the TSA answered again')
  t.equal(s.status().ok, true, 'status back to ok')
})

t.test('incoming: a valid token from a trusted TSA is the validation time', async (t) => {
  const at = verifier()
  const now = await at.verify(content, stamped)
  t.equal(now.code, 'VALID', now.message)
  t.equal(now.timeSource, 'timestamp')
  t.equal(now.timestamp?.verdict, 'valid')
  t.equal(now.validationTime, now.timestamp?.genTime)

  const later = await at.verify(content, stamped, { receivedAt: inThreeDays })
  t.equal(later.code, 'VALID', `expired at receipt, valid at the token's time: ${later.message}`)
  t.equal(later.timeSource, 'timestamp')
  const bare = await at.verify(content, plain, { receivedAt: inThreeDays })
  t.equal(bare.ok, false, 'the same signature without a token is refused at receipt')
  t.equal(bare.timeSource, 'receipt')
  t.match(bare.code, /SIGNING_TIME_OUT_OF_RANGE|CERT_EXPIRED/)
  const bareLenient = await createVerifier({ trustAnchors: ca.certPem, tsa: { trustAnchors: tsaRoot.certPem }, signingTimeMaxPastMs: 10 * 86_400_000 }).verify(content, plain, { receivedAt: inThreeDays })
  t.equal(bareLenient.code, 'CERT_EXPIRED', 'without a token: the certificate had expired at receipt')

  const explicit = await at.verify(content, stamped, { validationTime: inThreeDays, receivedAt: inThreeDays })
  t.equal(explicit.timeSource, 'explicit', 'an explicit time is kept; the token is still checked and reported')
  t.equal(explicit.timestamp?.verdict, 'valid')

  const early = await at.verify(content, stamped, { receivedAt: new Date(Date.now() - 3_600_000) })
  t.equal(early.code, 'TIMESTAMP_INVALID', 'a token time after the time of receipt is refused')
})

t.test('incoming: without TSA trust the token is reported, not relied on', async (t) => {
  const v = await verifier({ tsa: false }).verify(content, stamped, { receivedAt: inThreeDays })
  t.equal(v.ok, false)
  t.equal(v.timeSource, 'receipt')
  t.equal(v.timestamp?.verdict, 'not-checked')
})

t.test('incoming: a token over other data, from an untrusted TSA, or with a bad signature is refused', async (t) => {
  const another = await signer.sign(Buffer.from('another document'))
  const anotherStamped = await stamper().stampSignature(another)
  const swapped = addSignatureTimestamp(plain, tokenOf(anotherStamped))
  const r1 = await verifier().verify(content, swapped)
  t.equal(r1.code, 'TIMESTAMP_MISMATCH', r1.message)
  t.equal(r1.timestamp?.verdict, 'TIMESTAMP_MISMATCH')

  const fromOther = await createTimestamper({ url: otherTsa.url, trust: otherTrust, waitMs: 0, timeoutMs: 30_000 }).stampSignature(plain)
  t.ok((await verifier({ other: true }).verify(content, fromOther)).ok, 'valid for a verifier that trusts that TSA')
  const r2 = await verifier().verify(content, fromOther)
  t.equal(r2.code, 'TIMESTAMP_UNTRUSTED', r2.message)

  const token = tokenOf(stamped)
  const bad = Buffer.from(token)
  bad[bad.length - 3]! ^= 0x01
  const r3 = await verifier().verify(content, addSignatureTimestamp(plain, bad))
  t.equal(r3.code, 'TIMESTAMP_INVALID', r3.message)
  t.match(r3.message, /signature does not verify/)

  const garbage = addSignatureTimestamp(plain, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))
  t.equal((await verifier().verify(content, garbage)).code, 'TIMESTAMP_INVALID', 'not a token')
  t.equal(verifier().verifySync(content, swapped).code, 'TIMESTAMP_MISMATCH', 'verifySync judges the token the same way')
})

t.test('incoming: revocation still refuses a timestamped signature', async (t) => {
  const rs = await loadSigner({ keyPem: revokedLeaf.keyPem, certPem: revokedLeaf.certPem })
  const sig = await stamper().stampSignature(await rs.sign(content))
  revoke(ca, revokedLeaf.certPath)
  const v = await verifier({ crls: crl(ca) }).verify(content, sig)
  t.equal(v.code, 'REVOKED', v.message)
  t.equal(v.timeSource, 'timestamp')
})

t.test('lienthong verify --tsa-trust: the token is the validation time; without it the time of receipt', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const { ROOT } = await import('../../helper.js')
  const sigPath = join(dir, 'cli-stamped.p7s')
  const contentPath = join(dir, 'cli-content.xml')
  writeFileSync(sigPath, stamped)
  writeFileSync(contentPath, content)
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'verify', contentPath, '--signature', sigPath, '--trust', ca.certPath, '--no-sender-check', ...args], { encoding: 'utf8', cwd: ROOT })
  const withTsa = cli('--tsa-trust', tsaRoot.certPath)
  t.equal(withTsa.status, 0, withTsa.stdout + withTsa.stderr)
  t.match(withTsa.stdout, /timestamp: {3}valid .* by CN=Test TSA/)
  t.match(withTsa.stdout, /judged at: {3}.* \(timestamp\)/)
  const json = cli('--tsa-trust', tsaRoot.certPath, '--json')
  t.match(JSON.parse(json.stdout), { code: 'VALID', timeSource: 'timestamp', timestamp: { verdict: 'valid' } })
  const without = cli('--json')
  t.match(JSON.parse(without.stdout), { code: 'VALID', timeSource: 'receipt', timestamp: { verdict: 'not-checked' } })
})
