// Signing keys from every accepted form: PKCS#8 (plain and encrypted), PKCS#1, SEC1 and PKCS#12 made by openssl.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { isGatewayError } from '../../../src/errors.js'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'
import { issue, makeRoot, openssl } from './openssl-pki.js'

const dir = t.testdir()
const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Keys Root', 'p256')
const rsa = issue(root, join(dir, 'rsa'), '/C=VN/UID=000.00.00.G01/CN=RSA agency', { alg: 'rsa2048' })
const ec = issue(root, join(dir, 'ec'), '/C=VN/UID=000.00.00.G02/CN=EC agency', { alg: 'p256' })
const verifier = createVerifier({ trustAnchors: root.certPem })
const content = Buffer.from('package bytes '.repeat(100))

const ossl = (args: string[]): string => openssl(args).toString('utf8')
const pkcs1 = ossl(['rsa', '-in', rsa.keyPath, '-traditional'])
const sec1 = ossl(['ec', '-in', ec.keyPath])
const encrypted = ossl(['pkcs8', '-topk8', '-in', rsa.keyPath, '-passout', 'pass:bí mật', '-v2', 'aes-256-cbc'])
const p12 = (who: typeof rsa, name: string) => {
  const out = join(dir, `${name}.p12`)
  openssl(['pkcs12', '-export', '-inkey', who.keyPath, '-in', who.certPath, '-certfile', root.certPath, '-passout', 'pass:Matkhau#1', '-out', out])
  return readFileSync(out)
}

async function signsAndVerifies(t: Test, src: Parameters<typeof loadSigner>[0], organId: string) {
  const signer = await loadSigner(src)
  t.equal(signer.organId, organId)
  const v = await verifier.verify(content, await signer.sign(content), { expectedOrganId: organId })
  t.equal(v.code, 'VALID', v.message)
  return signer
}

t.test('PEM forms', async (t) => {
  t.match(pkcs1, /BEGIN RSA PRIVATE KEY/)
  t.match(sec1, /BEGIN EC PRIVATE KEY/)
  t.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/)
  t.match(rsa.keyPem, /BEGIN PRIVATE KEY/)
  await signsAndVerifies(t, { keyPem: rsa.keyPem, certPem: rsa.certPem }, '000.00.00.G01')
  await signsAndVerifies(t, { keyPem: pkcs1, certPem: rsa.certPem }, '000.00.00.G01')
  await signsAndVerifies(t, { keyPem: sec1, certPem: ec.certPem }, '000.00.00.G02')
  const s = await signsAndVerifies(t, { keyPem: encrypted, certPem: rsa.certPem, password: 'bí mật' }, '000.00.00.G01')
  t.same(s.keyType, { kind: 'rsa', bits: 2048 })
  t.notMatch(JSON.stringify(s), /PRIVATE|BEGIN/, 'no key material in JSON')
})

t.test('PKCS#12 made by openssl (AES-256, PBKDF2, SHA-256 MAC), RSA and EC', async (t) => {
  for (const [who, id] of [[rsa, '000.00.00.G01'], [ec, '000.00.00.G02']] as const) {
    const signer = await signsAndVerifies(t, { p12: p12(who, id), password: 'Matkhau#1' }, id)
    const fromPem = await loadSigner({ keyPem: who.keyPem, certPem: who.certPem })
    t.equal(signer.certificate.sha256, fromPem.certificate.sha256, 'certificate DER unchanged by the PKCS#12 reader')
    t.equal(signer.chain.length, 2, 'chain from the PKCS#12 included')
    t.equal(signer.chain[1]?.subject, 'CN=Keys Root,C=VN')
  }
})

t.test('refusals are GW_ERR_SIGNATURE_KEY without key material', async (t) => {
  const cases: [string, Parameters<typeof loadSigner>[0]][] = [
    ['wrong PKCS#12 password', { p12: p12(rsa, 'wrongpw'), password: 'nope' }],
    ['key does not match certificate', { keyPem: rsa.keyPem, certPem: ec.certPem }],
    ['encrypted key without passphrase', { keyPem: encrypted, certPem: rsa.certPem }],
    ['RSA 1024', { keyPem: ossl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']), certPem: rsa.certPem }],
    ['P-384', { keyPem: ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']), certPem: ec.certPem }],
    ['no key', { certPem: rsa.certPem }],
  ]
  for (const [name, src] of cases) {
    const e = await loadSigner(src).then(() => undefined, (err: unknown) => err)
    t.ok(isGatewayError(e, 'GW_ERR_SIGNATURE_KEY'), `${name}: ${String(e)}`)
    t.notMatch(String((e as Error)?.message), /MII|PRIVATE KEY-----/, `${name}: message has no key material`)
  }
})
