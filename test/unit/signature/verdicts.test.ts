// One test per verdict code, with certificates and CRLs minted by openssl in a temporary directory.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createVerifier, loadSigner, VERDICT_CODES, type Verdict, type VerdictCode } from '../../../src/signature/index.js'
import { parseCertificate } from '../../../src/signature/certs.js'
import { assemble, buildPieces, signedAttributes } from '../../../src/signature/signer.js'
import { createHash, createPrivateKey, sign as nodeSign, X509Certificate } from 'node:crypto'
import { crl, days, issue, makeIntermediate, makeRoot, openssl, osslTime, revoke } from './openssl-pki.js'

const dir = t.testdir()
const root = makeRoot(join(dir, 'root'), '/C=VN/O=Verdict Gov/CN=Verdict Root CA', 'p256')
const int = makeIntermediate(root, join(dir, 'int'), '/C=VN/O=Verdict Gov/CN=Verdict Signing CA', { alg: 'p256' })
const leafSubject = (uid: string, cn: string) => `/C=VN/O=${cn}/UID=${uid}/CN=${cn}`
const good = issue(int, join(dir, 'good'), leafSubject('000.00.00.H26', 'Sở Tư pháp Hà Nội'), { alg: 'p256' })
const expired = issue(int, join(dir, 'expired'), leafSubject('000.00.00.H27', 'Expired'), { alg: 'p256', startdate: osslTime(days(-400)), enddate: osslTime(days(-30)) })
const future = issue(int, join(dir, 'future'), leafSubject('000.00.00.H28', 'Future'), { alg: 'p256', startdate: osslTime(days(30)), enddate: osslTime(days(400)) })
const revoked = issue(int, join(dir, 'revoked'), leafSubject('000.00.00.H29', 'Revoked'), { alg: 'p256' })
const nosig = issue(int, join(dir, 'nosig'), leafSubject('000.00.00.H30', 'No signature usage'), { alg: 'p256', extensions: 'v3_leaf_nosig' })
const notCa = makeIntermediate(root, join(dir, 'notca'), '/C=VN/CN=Not a CA', { alg: 'p256', extensions: 'v3_not_ca' })
const underNotCa = issue(notCa, join(dir, 'undernotca'), leafSubject('000.00.00.H31', 'Under not-CA'), { alg: 'p256' })
const unknownCritical = issue(int, join(dir, 'unknowncrit'), leafSubject('000.00.00.H33', 'Unknown critical'), { alg: 'p256', extensions: 'v3_leaf_unknown_critical' })
const subCa = makeIntermediate(int, join(dir, 'subca'), '/C=VN/CN=Sub CA beyond pathlen 0', { alg: 'p256' })
const underSubCa = issue(subCa, join(dir, 'undersub'), leafSubject('000.00.00.H34', 'Under sub CA'), { alg: 'p256' })
const otherRoot = makeRoot(join(dir, 'other'), '/C=VN/CN=Untrusted Root', 'p256')
const untrusted = issue(otherRoot, join(dir, 'untrusted'), leafSubject('000.00.00.H32', 'Untrusted'), { alg: 'p256' })
revoke(int, revoked.certPath)
const intCrl = crl(int)
const rootCrl = crl(root)
const staleIntCrl = crl(int, { lastupdate: osslTime(days(-60)), nextupdate: osslTime(days(-1)) })

const content = Buffer.from('<edXML>văn bản</edXML>'.repeat(300))
const tampered = Buffer.from(content)
tampered[10] = tampered[10]! ^ 0x20
const contentPath = join(dir, 'content.xml')
writeFileSync(contentPath, content)

const verifier = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl })
const sign = async (who: { keyPem: string; certPem: string }, chain = int.certPem, signingTime?: Date) =>
  (await loadSigner({ keyPem: who.keyPem, certPem: who.certPem, chainPem: chain })).sign(content, signingTime ? { signingTime } : {})
const opensslSign = (extra: string[], who = good): Buffer => {
  const out = join(dir, `o-${Math.random().toString(36).slice(2)}.p7s`)
  openssl(['cms', '-sign', '-binary', '-outform', 'DER', '-in', contentPath, '-signer', who.certPath, '-inkey', who.keyPath, '-certfile', int.certPath, '-out', out, ...extra])
  return openssl(['cms', '-cmsout', '-inform', 'DER', '-outform', 'DER', '-in', out])
}

const seen = new Set<VerdictCode>()
async function expectCode(t: Test, code: VerdictCode, p: Promise<Verdict>): Promise<Verdict> {
  const v = await p
  seen.add(v.code)
  t.equal(v.code, code, v.message)
  t.equal(v.ok, code === 'VALID')
  t.type(v.message, 'string')
  t.ok(Array.isArray(v.chain))
  return v
}

t.test('VALID: full facts in the verdict', async (t) => {
  const v = await expectCode(t, 'VALID', verifier.verify(content, await sign(good), { expectedOrganId: '000.00.00.H26' }))
  t.match(v.signer, { subject: 'CN=Sở Tư pháp Hà Nội,UID=000.00.00.H26,O=Sở Tư pháp Hà Nội,C=VN', issuer: 'CN=Verdict Signing CA,O=Verdict Gov,C=VN', organId: '000.00.00.H26' })
  t.match(v.signer?.serial, /^[0-9A-F]+$/)
  t.ok(Date.parse(v.signer!.notBefore) < Date.now() && Date.parse(v.signer!.notAfter) > Date.now())
  t.same(v.chain.map((c) => c.subject.split(',')[0]), ['CN=Sở Tư pháp Hà Nội', 'CN=Verdict Signing CA', 'CN=Verdict Root CA'])
  t.equal(v.revocation?.status, 'good', v.revocation?.source ?? '')
  t.ok(v.revocation?.checkedAt)
  t.match(v.revocation?.source, /CRL of .*Verdict Signing CA.*CRL of .*Verdict Root CA/)
  t.ok(v.signingTime)
})

t.test('MALFORMED', async (t) => {
  await expectCode(t, 'MALFORMED', verifier.verify(content, Buffer.from('not a signature')))
  const sig = Buffer.from(await sign(good))
  await expectCode(t, 'MALFORMED', verifier.verify(content, sig.subarray(0, sig.length - 10)))
  await expectCode(t, 'MALFORMED', verifier.verify(content, Buffer.concat([sig, Buffer.of(0)])))
  await expectCode(t, 'MALFORMED', verifier.verify(content, opensslSign(['-md', 'sha256', '-nodetach'])))
  // A CMS stuffed with certificates is refused before any of them is parsed.
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  const pieces = buildPieces(parseCertificate(der(good.certPem)), Array<ReturnType<typeof parseCertificate>>(16).fill(parseCertificate(der(int.certPem))), 'ec')
  const attrs = signedAttributes(pieces, createHash('sha256').update(content).digest(), new Date())
  const stuffed = assemble(pieces, attrs, nodeSign('sha256', attrs, { key: createPrivateKey(good.keyPem), dsaEncoding: 'der' }))
  const v = await expectCode(t, 'MALFORMED', verifier.verify(content, stuffed))
  t.match(v.message, /17 certificates/)
})

t.test('UNSUPPORTED_ALGORITHM: SHA-1 digest', async (t) => {
  await expectCode(t, 'UNSUPPORTED_ALGORITHM', verifier.verify(content, opensslSign(['-md', 'sha1'])))
})

t.test('MISSING_SIGNED_ATTRIBUTES: openssl -noattr', async (t) => {
  await expectCode(t, 'MISSING_SIGNED_ATTRIBUTES', verifier.verify(content, opensslSign(['-md', 'sha256', '-noattr'])))
})

t.test('NO_SIGNER_CERTIFICATE: openssl -nocerts', async (t) => {
  await expectCode(t, 'NO_SIGNER_CERTIFICATE', verifier.verify(content, opensslSign(['-md', 'sha256', '-nocerts'])))
  // With the signer certificate among the configured intermediates it is found again.
  const withLeaf = createVerifier({ trustAnchors: root.certPem, intermediates: good.certPem + int.certPem })
  await expectCode(t, 'VALID', withLeaf.verify(content, opensslSign(['-md', 'sha256', '-nocerts'])))
})

t.test('a signer identified by subjectKeyIdentifier (openssl -keyid) is found', async (t) => {
  const v = await expectCode(t, 'VALID', verifier.verify(content, opensslSign(['-md', 'sha256', '-keyid']), { expectedOrganId: '000.00.00.H26' }))
  t.equal(v.signer?.organId, '000.00.00.H26')
})

t.test('DIGEST_MISMATCH: one byte of content changed', async (t) => {
  await expectCode(t, 'DIGEST_MISMATCH', verifier.verify(tampered, await sign(good)))
})

t.test('BAD_SIGNATURE: signature value or a signed attribute changed', async (t) => {
  const sig = Buffer.from(await sign(good, int.certPem, new Date(Date.now() - 60_000)))
  const flipped = Buffer.from(sig)
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x01
  await expectCode(t, 'BAD_SIGNATURE', verifier.verify(content, flipped))
  // Change the signing-time (a UTCTime inside the signed attributes) by one second.
  const st = sig.indexOf(Buffer.from('2a864886f70d010905', 'hex')) // signingTime OID
  t.ok(st > 0)
  const timeAt = st + 9 + 2 + 2 + 11 // OID bytes, SET header, UTCTime header, 'YYMMDDHHMMS' -> the last seconds digit
  const edited = Buffer.from(sig)
  edited[timeAt] = edited[timeAt] === 0x30 ? 0x31 : 0x30
  await expectCode(t, 'BAD_SIGNATURE', verifier.verify(content, edited))
})

t.test('SIGNING_CERTIFICATE_MISMATCH: signing-certificate-v2 names another certificate', async (t) => {
  const goodInfo = parseCertificate(Buffer.from(good.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
  const otherInfo = parseCertificate(Buffer.from(revoked.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
  const intInfo = parseCertificate(Buffer.from(int.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
  const pieces = buildPieces(goodInfo, [intInfo], 'ec')
  const wrongEss = buildPieces(otherInfo, [intInfo], 'ec').signingCertificateV2Attr
  const mixed = { ...pieces, signingCertificateV2Attr: wrongEss }
  const attrs = signedAttributes(mixed, createHash('sha256').update(content).digest(), new Date())
  const sig = nodeSign('sha256', attrs, { key: createPrivateKey(good.keyPem), dsaEncoding: 'der' })
  await expectCode(t, 'SIGNING_CERTIFICATE_MISMATCH', verifier.verify(content, assemble(mixed, attrs, sig)))
})

t.test('SIGNING_TIME_IN_FUTURE', async (t) => {
  await expectCode(t, 'SIGNING_TIME_IN_FUTURE', verifier.verify(content, await sign(good, int.certPem, new Date(Date.now() + 3600_000))))
  await expectCode(t, 'VALID', verifier.verify(content, await sign(good, int.certPem, new Date(Date.now() + 60_000))))
})

t.test('UNTRUSTED_CHAIN', async (t) => {
  await expectCode(t, 'UNTRUSTED_CHAIN', verifier.verify(content, await sign(untrusted, otherRoot.certPem)))
  const v = await expectCode(t, 'UNTRUSTED_CHAIN', verifier.verify(content, await sign(good, '')))
  t.match(v.message, /no issuer certificate found/)
  const withChain = createVerifier({ trustAnchors: root.certPem, intermediates: int.certPem })
  await expectCode(t, 'VALID', withChain.verify(content, await sign(good, '')))
  const n = await expectCode(t, 'UNTRUSTED_CHAIN', verifier.verify(content, await sign(underNotCa, notCa.certPem)))
  t.match(n.message, /not a CA/)
  const pl = await expectCode(t, 'UNTRUSTED_CHAIN', verifier.verify(content, await sign(underSubCa, subCa.certPem + int.certPem)))
  t.match(pl.message, /path length constraint of CN=Verdict Signing CA/)
  const c = await expectCode(t, 'UNTRUSTED_CHAIN', verifier.verify(content, await sign(unknownCritical)))
  t.match(c.message, /unsupported critical extension.*1\.3\.6\.1\.4\.1\.99999\.1/)
})

t.test('CERT_EXPIRED and CERT_NOT_YET_VALID are judged at the time of receipt, not at the claimed signing time', async (t) => {
  await expectCode(t, 'CERT_EXPIRED', verifier.verify(content, await sign(expired)))
  // The attack: an expired certificate and a signing time back-dated into its validity. Refused either way.
  const backIntoValidity = await sign(expired, int.certPem, days(-31))
  await expectCode(t, 'SIGNING_TIME_OUT_OF_RANGE', verifier.verify(content, backIntoValidity))
  const lax = createVerifier({ trustAnchors: root.certPem, signingTimeMaxPastMs: 60 * 86_400_000 })
  const v = await expectCode(t, 'CERT_EXPIRED', lax.verify(content, backIntoValidity))
  t.match(v.message, /validation time is receipt/)
  t.equal(v.timeSource, 'receipt')
  // Verified 400 days from now, after the signer and the intermediate expired: the claim alone is too old.
  const later = createVerifier({ trustAnchors: root.certPem, now: () => days(400) })
  const sig = await sign(good)
  const old = await expectCode(t, 'SIGNING_TIME_OUT_OF_RANGE', later.verify(content, sig))
  t.ok(old.signingTime && old.validationTime, 'both times reported')
  // ... a recorded receipt time or an explicit validation time inside the validity is the caller's to give.
  await expectCode(t, 'VALID', later.verify(content, sig, { receivedAt: new Date() }))
  const asked = await expectCode(t, 'VALID', later.verify(content, sig, { validationTime: new Date() }))
  t.equal(asked.timeSource, 'explicit')
  await expectCode(t, 'CERT_EXPIRED', later.verify(content, await sign(good, int.certPem, days(399.99))))
  await expectCode(t, 'CERT_EXPIRED', later.verify(content, await sign(good, int.certPem, days(399.99)), { validationTime: days(399.995) }))
  await expectCode(t, 'CERT_NOT_YET_VALID', verifier.verify(content, await sign(future)))
  await expectCode(t, 'CERT_NOT_YET_VALID', verifier.verify(content, await sign(future, int.certPem, days(29.9)), { validationTime: days(29.9) }))
  await expectCode(t, 'VALID', verifier.verify(content, await sign(future, int.certPem, days(31)), { validationTime: days(31) }))
})

t.test('SIGNING_TIME_OUT_OF_RANGE and SIGNING_TIME_IN_FUTURE: the configured window around the validation time', async (t) => {
  const at = new Date()
  const v = createVerifier({ trustAnchors: root.certPem, now: () => at, signingTimeMaxPastMs: 3_600_000, signingTimeMaxFutureMs: 60_000 })
  const ago = (ms: number) => new Date(at.getTime() - ms)
  await expectCode(t, 'VALID', v.verify(content, await sign(good, int.certPem, ago(3_500_000))))
  const o = await expectCode(t, 'SIGNING_TIME_OUT_OF_RANGE', v.verify(content, await sign(good, int.certPem, ago(3_700_000))))
  t.match(o.message, /more than 1 h before receipt/)
  await expectCode(t, 'VALID', v.verify(content, await sign(good, int.certPem, ago(-50_000))))
  await expectCode(t, 'SIGNING_TIME_IN_FUTURE', v.verify(content, await sign(good, int.certPem, ago(-70_000))))
  // The same window around an explicit validation time.
  const sig = await sign(good, int.certPem, days(2))
  await expectCode(t, 'SIGNING_TIME_IN_FUTURE', v.verify(content, sig))
  await expectCode(t, 'VALID', v.verify(content, sig, { validationTime: days(2) }))
  await expectCode(t, 'SIGNING_TIME_OUT_OF_RANGE', v.verify(content, sig, { validationTime: days(3) }))
  // The clock-skew allowance applies to certificate validity bounds.
  const nb = Date.parse(new X509Certificate(future.certPem).validFrom)
  const early = await sign(future, int.certPem, new Date(nb - 30_000))
  const skew = (ms: number) => createVerifier({ trustAnchors: root.certPem, clockSkewMs: ms })
  await expectCode(t, 'VALID', skew(60_000).verify(content, early, { validationTime: new Date(nb - 30_000) }))
  await expectCode(t, 'CERT_NOT_YET_VALID', skew(10_000).verify(content, early, { validationTime: new Date(nb - 30_000) }))
  const bad = await v.verify(content, sig, { validationTime: new Date('nonsense') })
  t.equal(bad.code, 'MALFORMED')
})

t.test('the cache never carries a judgement from one validation time to another', async (t) => {
  // Same certificates, so the same cache entry: alternate explicit and receipt times in both orders.
  for (const order of [['explicit', 'receipt'], ['receipt', 'explicit']] as const) {
    const v = createVerifier({ trustAnchors: root.certPem, now: () => days(400), signingTimeMaxPastMs: 500 * 86_400_000 })
    const sig = await sign(good)
    for (let round = 0; round < 2; round++) {
      for (const which of order) {
        if (which === 'explicit') await expectCode(t, 'VALID', v.verify(content, sig, { validationTime: new Date() }))
        else await expectCode(t, 'CERT_EXPIRED', v.verify(content, sig))
      }
    }
    t.ok(v.stats().hits >= 3, 'served from one cache entry')
  }
  // Revocation: a CRL current now is stale at a later validation time; one issued later says nothing about now.
  const soonStale = crl(int, { lastupdate: osslTime(days(-1)), nextupdate: osslTime(days(2)) })
  const v = createVerifier({ trustAnchors: root.certPem, crls: soonStale + rootCrl, staleCrl: 'fail' })
  const late = await sign(good, int.certPem, days(5))
  for (let round = 0; round < 2; round++) {
    await expectCode(t, 'CRL_EXPIRED', v.verify(content, late, { validationTime: days(5) }))
    const now = await expectCode(t, 'VALID', v.verify(content, await sign(good)))
    t.equal(now.revocation?.status, 'good')
  }
  const issuedLater = crl(int, { lastupdate: osslTime(days(1)), nextupdate: osslTime(days(10)) })
  const w = createVerifier({ trustAnchors: root.certPem, crls: issuedLater + rootCrl })
  for (let round = 0; round < 2; round++) {
    const now = await expectCode(t, 'VALID', w.verify(content, await sign(good)))
    t.equal(now.revocation?.status, 'unknown')
    t.match(now.revocation?.source, /issued after the validation time/, 'a CRL from after the validation time is no good status then')
    const then = await expectCode(t, 'VALID', w.verify(content, await sign(good, int.certPem, days(2)), { validationTime: days(2) }))
    t.equal(then.revocation?.status, 'good')
  }
})

t.test('KEY_USAGE: neither digitalSignature nor nonRepudiation', async (t) => {
  await expectCode(t, 'KEY_USAGE', verifier.verify(content, await sign(nosig)))
})

t.test('REVOKED', async (t) => {
  const v = await expectCode(t, 'REVOKED', verifier.verify(content, await sign(revoked)))
  t.equal(v.revocation?.status, 'revoked')
  t.match(v.message, /revoked on/)
})

t.test('an expired CRL: unknown by default, CRL_EXPIRED with staleCrl: fail; revoked stays revoked', async (t) => {
  const lenient = createVerifier({ trustAnchors: root.certPem, crls: [Buffer.from(staleIntCrl), Buffer.from(rootCrl)] })
  const v = await expectCode(t, 'VALID', lenient.verify(content, await sign(good)))
  t.equal(v.revocation?.status, 'unknown')
  t.match(v.revocation?.source, /expired/)
  const strict = createVerifier({ trustAnchors: root.certPem, crls: staleIntCrl + rootCrl, staleCrl: 'fail' })
  await expectCode(t, 'CRL_EXPIRED', strict.verify(content, await sign(good)))
  await expectCode(t, 'REVOKED', strict.verify(content, await sign(revoked)))
  const none = createVerifier({ trustAnchors: root.certPem })
  const u = await expectCode(t, 'VALID', none.verify(content, await sign(good)))
  t.equal(u.revocation?.status, 'unknown')
})

t.test('a CRL signed by another key is not used', async (t) => {
  // The other root's CRL relabelled: same issuer name as ours is impossible with openssl, so use the other root's
  // CRL for our verifier: it matches no issuer and leaves the status unknown.
  const v = createVerifier({ trustAnchors: root.certPem, crls: crl(otherRoot) })
  const r = await expectCode(t, 'VALID', v.verify(content, await sign(good)))
  t.equal(r.revocation?.status, 'unknown')
})

t.test('SENDER_MISMATCH: the certificate UID names another agency', async (t) => {
  const sig = await sign(good)
  const v = await expectCode(t, 'SENDER_MISMATCH', verifier.verify(content, sig, { expectedOrganId: '000.00.00.H99' }))
  t.equal(v.signer?.organId, '000.00.00.H26')
  await expectCode(t, 'VALID', verifier.verify(content, sig, { expectedOrganId: '000.00.00.h26' }))
})

t.test('a CMS with BER indefinite outer lengths (streaming encoders) is read', async (t) => {
  const { readTlv, children } = await import('../../../src/signature/der.js')
  const sig = Buffer.from(await sign(good))
  const ci = readTlv(sig, 0)
  const [oid, wrap] = children(sig, ci)
  const sd = readTlv(sig, wrap!.valueStart)
  const ber = Buffer.concat([
    Buffer.of(0x30, 0x80), sig.subarray(oid!.start, oid!.end), Buffer.of(0xa0, 0x80, 0x30, 0x80),
    sig.subarray(sd.valueStart, sd.end), Buffer.alloc(6),
  ])
  await expectCode(t, 'VALID', verifier.verify(content, ber))
  await expectCode(t, 'MALFORMED', verifier.verify(content, ber.subarray(0, ber.length - 2)))
})

t.test('online revocation without any answer: REVOCATION_UNAVAILABLE (accepted with the flag when told so)', async (t) => {
  const { createRevocationChecker } = await import('../../../src/signature/index.js')
  const { createServer } = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const checker = createRevocationChecker({ ocspResponder: `http://127.0.0.1:${port}/`, timeoutMs: 2000 })
  const sig = await sign(good)
  const strict = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl, revocation: { checker, order: ['ocsp'] } })
  const v = await expectCode(t, 'REVOCATION_UNAVAILABLE', strict.verify(content, sig))
  t.match(v.message, new RegExp(`OCSP http://127\\.0\\.0\\.1:${port}/`))
  t.equal(v.revocation?.status, 'unknown')
  t.equal(strict.verifySync(content, sig).code, 'VALID', 'verifySync: the CRL files only, no I/O')
  const lax = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl, revocation: { checker, order: ['ocsp'], onUnavailable: 'accept' } })
  const a = await expectCode(t, 'VALID', lax.verify(content, sig))
  t.equal(a.revocation?.unavailable, true)
  // the CRL files answer when they are in the order
  const withCrl = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl, revocation: { checker, order: ['ocsp', 'crl'] } })
  t.equal((await withCrl.verify(content, sig)).revocation?.status, 'good')
})

t.test('signature timestamp tokens (openssl ts -reply): judged at their time, or TIMESTAMP_MISMATCH / _UNTRUSTED / _INVALID', async (t) => {
  const { createTimestamper, createTsaTrust, addSignatureTimestamp, signatureTimestampOf } = await import('../../../src/signature/index.js')
  const { parseCms } = await import('../../../src/signature/cms.js')
  const { startOpensslTsa } = await import('./openssl-tsa.js')
  const tsaRoot = makeRoot(join(dir, 'tsaroot'), '/C=VN/CN=Verdict TSA Root')
  const tsaCert = issue(tsaRoot, join(dir, 'tsa'), '/C=VN/CN=Verdict TSA', { extensions: 'v3_tsa' })
  const tsa = await startOpensslTsa(join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
  t.teardown(() => tsa.close())
  const stamper = createTimestamper({ url: tsa.url, trust: createTsaTrust({ anchors: tsaRoot.certPem }), waitMs: 0, timeoutMs: 30_000 })
  const withTsa = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl, tsa: { trustAnchors: tsaRoot.certPem } })
  const otherTsaRoots = createVerifier({ trustAnchors: root.certPem, crls: intCrl + rootCrl, tsa: { trustAnchors: otherRoot.certPem } })
  const stamped = await stamper.stampSignature(await sign(good))
  const v = await expectCode(t, 'VALID', withTsa.verify(content, stamped))
  t.equal(v.timeSource, 'timestamp')
  const token = Buffer.from(signatureTimestampOf(parseCms(stamped).unsignedAttrs).token!)
  await expectCode(t, 'TIMESTAMP_MISMATCH', withTsa.verify(content, addSignatureTimestamp(await sign(good, int.certPem, new Date(Date.now() - 5000)), token)))
  await expectCode(t, 'TIMESTAMP_UNTRUSTED', otherTsaRoots.verify(content, stamped))
  const bad = Buffer.from(token)
  bad[bad.length - 3]! ^= 0x01
  await expectCode(t, 'TIMESTAMP_INVALID', withTsa.verify(content, addSignatureTimestamp(await sign(good), bad)))
})

t.test('every verdict code is covered by a test above', async (t) => {
  t.same([...VERDICT_CODES].filter((c) => !seen.has(c)), [])
})
