// The verifier's cache: the warm path gives the same verdicts as the cold path and never skips a time-dependent
// check; entries are bounded and expire; a CRL change or a CRL's nextUpdate triggers a new revocation check.
import { join } from 'node:path'
import t from 'tap'
import { createVerifier, loadSigner, type Verdict } from '../../../src/signature/index.js'
import { crl, days, issue, makeIntermediate, makeRoot, osslTime, revoke } from './openssl-pki.js'

const dir = t.testdir()
const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Cache Root', 'p256')
const int = makeIntermediate(root, join(dir, 'int'), '/C=VN/CN=Cache CA', { alg: 'p256' })
const a = issue(int, join(dir, 'a'), '/C=VN/UID=000.00.00.A01/CN=Agency A', { alg: 'p256' })
const b = issue(int, join(dir, 'b'), '/C=VN/UID=000.00.00.B01/CN=Agency B', { alg: 'p256' })
const c = issue(int, join(dir, 'c'), '/C=VN/UID=000.00.00.C01/CN=Agency C', { alg: 'p256' })
const future = issue(int, join(dir, 'future'), '/C=VN/UID=000.00.00.D01/CN=Agency D', { alg: 'p256', startdate: osslTime(days(1)), enddate: osslTime(days(30)) })
const cleanCrl = crl(int, { lastupdate: osslTime(days(-1)), nextupdate: osslTime(days(2)) })
revoke(int, b.certPath)
const revokedCrl = crl(int)
const content = Buffer.from('x'.repeat(10_240))

const signerOf = (who: typeof a, chain = int.certPem) => loadSigner({ keyPem: who.keyPem, certPem: who.certPem, chainPem: chain })
const strip = (v: Verdict) => ({ ...v, revocation: v.revocation && { ...v.revocation, checkedAt: 'x' } })

t.test('warm verdicts equal cold verdicts, for good and bad inputs', async (t) => {
  const fixed = new Date()
  const warm = createVerifier({ trustAnchors: root.certPem, crls: revokedCrl, now: () => fixed })
  const cold = createVerifier({ trustAnchors: root.certPem, crls: revokedCrl, cache: { max: 0 }, now: () => fixed })
  const sa = await signerOf(a)
  const inputs: [Buffer, Uint8Array, string | undefined][] = [
    [content, await sa.sign(content), '000.00.00.A01'],
    [content, await sa.sign(content), '000.00.00.B01'],
    [Buffer.from('other'), await sa.sign(content), undefined],
    [content, await (await signerOf(b)).sign(content), undefined],
    [content, await (await signerOf(a, '')).sign(content), undefined],
    [content, await sa.sign(content, { signingTime: days(1) }), undefined],
    [content, await sa.sign(content, { signingTime: days(-2) }), undefined],
    [content, await sa.sign(content, { signingTime: days(-0.5) }), undefined],
    [content, await (await signerOf(future)).sign(content), undefined],
  ]
  for (let round = 0; round < 3; round++) {
    for (const [data, sig, organ] of inputs) {
      const o = organ ? { expectedOrganId: organ } : {}
      t.same(strip(await warm.verify(data, sig, o)), strip(await cold.verify(data, sig, o)), `round ${round}`)
    }
  }
  const codes = await Promise.all(inputs.map(([d, s, o]) => warm.verify(d, s, o ? { expectedOrganId: o } : {}).then((v) => v.code)))
  t.same(codes, ['VALID', 'SENDER_MISMATCH', 'DIGEST_MISMATCH', 'REVOKED', 'UNTRUSTED_CHAIN', 'SIGNING_TIME_IN_FUTURE', 'SIGNING_TIME_OUT_OF_RANGE', 'VALID', 'CERT_NOT_YET_VALID'])
  t.ok(warm.stats().hits > 10, `warm path used (${JSON.stringify(warm.stats())})`)
  t.equal(cold.stats().hits, 0, 'disabled cache never hits')
  t.equal(cold.stats().entries, 0)
})

t.test('a CRL change is seen by cached entries', async (t) => {
  const v = createVerifier({ trustAnchors: root.certPem })
  const sig = await (await signerOf(b)).sign(content)
  const first = await v.verify(content, sig)
  t.equal(first.code, 'VALID')
  t.equal(first.revocation?.status, 'unknown')
  v.setCrls(revokedCrl)
  const hitsBefore = v.stats().hits
  t.equal((await v.verify(content, sig)).code, 'REVOKED')
  t.equal(v.stats().hits, hitsBefore + 1, 'served from the cache entry')
  v.setCrls(undefined)
  t.equal((await v.verify(content, sig)).code, 'VALID')
})

t.test('revocation is re-checked after the CRL nextUpdate; entries expire after ttlMs', async (t) => {
  let clock = Date.now()
  const v = createVerifier({ trustAnchors: root.certPem, crls: cleanCrl, cache: { ttlMs: 10 * 86_400_000 }, now: () => new Date(clock) })
  const sa = await signerOf(a)
  const r1 = await v.verify(content, await sa.sign(content, { signingTime: new Date(clock) }))
  t.equal(r1.revocation?.status, 'unknown', 'no CRL for the root, so overall unknown')
  t.match(r1.revocation?.source, /CRL of CN=Cache CA/)
  t.notMatch(r1.revocation?.source, /expired/)
  clock += 3 * 86_400_000 // past the CRL's nextUpdate, within the TTL
  const r2 = await v.verify(content, await sa.sign(content, { signingTime: new Date(clock) }))
  t.equal(r2.code, 'VALID')
  t.match(r2.revocation?.source, /expired/, 'stale CRL noticed on the warm path')
  t.equal(v.stats().misses, 1, 'still the same cache entry')
  clock += 8 * 86_400_000 // past the TTL
  await v.verify(content, await sa.sign(content, { signingTime: new Date(clock) }))
  t.equal(v.stats().misses, 2, 'entry expired and was rebuilt')
})

t.test('the cache is bounded', async (t) => {
  const v = createVerifier({ trustAnchors: root.certPem, cache: { max: 2 } })
  for (const who of [a, b, c, a, b, c]) {
    const s = await signerOf(who)
    t.equal((await v.verify(content, await s.sign(content))).code, 'VALID')
    t.ok(v.stats().entries <= 2)
  }
  t.equal(v.stats().hits, 0, 'LRU of 2 cycling over 3 signers always misses')
  v.clearCache()
  t.equal(v.stats().entries, 0)
})
