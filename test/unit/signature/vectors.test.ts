// Fixed vectors (test/fixtures/signature/, made by generate.sh there): openssl-made signatures with an openssl-made
// chain, and our own RSA signature with a fixed signing time, compared byte for byte. Verified at fixed dates.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { packageRoot } from '../../../src/paths.js'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'

const d = join(packageRoot, 'test/fixtures/signature')
const bytes = (f: string) => readFileSync(join(d, f))
const text = (f: string) => readFileSync(join(d, f), 'utf8')
const content = bytes('content.xml')
const generatedAt = Date.parse(text('generated-at.txt').trim())
const at = (iso: string) => createVerifier({ trustAnchors: text('root.pem'), now: () => new Date(iso) })

t.test('our signature is byte-identical to the committed vector', async (t) => {
  const signer = await loadSigner({ keyPem: text('rsa.key.pem'), certPem: text('rsa.cert.pem'), chainPem: text('intermediate.pem') })
  const sig = Buffer.from(await signer.sign(content, { signingTime: new Date('2027-01-02T01:02:03Z') }))
  t.equal(sig.toString('hex'), bytes('ours-rsa.p7s').toString('hex'))
  const v = await at('2027-01-02T03:00:00Z').verify(content, sig, { expectedOrganId: '000.00.00.G22' })
  t.equal(v.code, 'VALID', v.message)
  t.equal(v.signingTime, '2027-01-02T01:02:03.000Z')
  t.equal(v.validationTime, '2027-01-02T03:00:00.000Z')
  t.equal(v.timeSource, 'receipt')
  // A month later the claimed signing time is too old to be relied on, unless the caller asks for that time.
  const late = at('2027-02-01T00:00:00Z')
  t.equal((await late.verify(content, sig)).code, 'SIGNING_TIME_OUT_OF_RANGE')
  const asked = await late.verify(content, sig, { validationTime: new Date('2027-01-02T01:02:03Z') })
  t.equal(asked.code, 'VALID', asked.message)
  t.equal(asked.timeSource, 'explicit')
  t.equal(asked.validationTime, '2027-01-02T01:02:03.000Z')
})

for (const [alg, serial, organId, cn] of [
  ['rsa', '0A0A', '000.00.00.G22', 'Văn phòng Chính phủ'],
  ['ec', '0B0B', '000.00.20.H29', 'Sở Tư pháp Thành phố Hồ Chí Minh'],
] as const) {
  t.test(`openssl-${alg}.p7s verifies at fixed dates`, async (t) => {
    const sig = bytes(`openssl-${alg}.p7s`)
    const receipt = new Date(generatedAt + 3600_000).toISOString()
    const v = await at(receipt).verify(content, sig, { expectedOrganId: organId })
    t.equal(v.code, 'VALID', v.message)
    t.match(v.signer, { serial, organId, subject: `CN=${cn},UID=${organId},O=${cn},C=VN`, issuer: 'CN=Fixture Signing CA,O=Fixture PKI (TEST ONLY),C=VN' })
    const st = Date.parse(v.signingTime!)
    t.ok(st <= generatedAt && st > generatedAt - 600_000, 'signing time from the vector')
    t.same(v.chain.map((c) => c.serial), [serial, '0202', '0101'])
    // Long after every certificate expired, the claimed signing time alone proves nothing: refused at receipt time;
    // validity at the signing time is an explicit question.
    t.equal((await at('2045-01-01T00:00:00Z').verify(content, sig)).code, 'SIGNING_TIME_OUT_OF_RANGE')
    t.equal((await at('2045-01-01T00:00:00Z').verify(content, sig, { validationTime: new Date(st) })).code, 'VALID')
    t.equal((await at('2045-01-01T00:00:00Z').verify(content, sig, { receivedAt: new Date(st + 60_000) })).code, 'VALID', 'a recorded receipt time')
    // A verifier whose clock is behind the signing time sees a signature from the future.
    t.equal((await at(new Date(st - 3600_000).toISOString()).verify(content, sig)).code, 'SIGNING_TIME_IN_FUTURE')
    const bad = Buffer.from(content)
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 1
    t.equal((await at(receipt).verify(bad, sig)).code, 'DIGEST_MISMATCH')
  })
}
