// trust.binding: which OrganId a certificate speaks for — the subject UID by default, another attribute, a
// pattern over it, or an explicit table (SHA-256 fingerprint, issuer + serial); the verdict names the rule.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createBinding, createVerifier, loadSigner, parseCertificates } from '../../../src/signature/index.js'
import { issue, makeRoot } from './openssl-pki.js'

const dir = t.testdir()
const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Binding Root')
// a certificate as some CAs issue them: no UID, the tax code in serialNumber, the agency code in OU
const real = issue(root, join(dir, 'real'), '/C=VN/O=So Tai chinh/OU=000.00.11.H29/serialNumber=MST:0301234567/CN=So Tai chinh TP HCM')
const uid = issue(root, join(dir, 'uid'), '/C=VN/UID=000.00.00.G22/CN=Van phong Chinh phu')
const content = Buffer.from('<edXML/>')
const sign = async (c: typeof real) => (await loadSigner({ keyPem: c.keyPem, certPem: c.certPem })).sign(content)
const sigReal = await sign(real)
const sigUid = await sign(uid)
const realInfo = parseCertificates(readFileSync(real.certPath, 'utf8'), 'real')[0]!

t.test('default: the subject UID', async (t) => {
  const v = createVerifier({ trustAnchors: root.certPem })
  const ok = await v.verify(content, sigUid, { expectedOrganId: '000.00.00.g22' })
  t.equal(ok.code, 'VALID', ok.message)
  t.same(ok.binding, { organId: '000.00.00.G22', rule: 'subject UID' })
  const none = await v.verify(content, sigReal, { expectedOrganId: '000.00.11.H29' })
  t.equal(none.code, 'SENDER_MISMATCH')
  t.match(none.message, /OrganId \(none\) \(subject UID\)/)
})

t.test('another attribute, and a pattern over it', async (t) => {
  const ou = createVerifier({ trustAnchors: root.certPem, binding: { attribute: 'OU' } })
  const a = await ou.verify(content, sigReal, { expectedOrganId: '000.00.11.H29' })
  t.equal(a.code, 'VALID', a.message)
  t.same(a.binding, { organId: '000.00.11.H29', rule: 'subject OU' })
  const mst = createVerifier({ trustAnchors: root.certPem, binding: { attribute: 'serialNumber', pattern: '^MST:(?<organId>\\d{10})$' } })
  const b = await mst.verify(content, sigReal, { expectedOrganId: '0301234567' })
  t.equal(b.code, 'VALID', b.message)
  t.equal(b.binding?.rule, 'subject serialNumber ~ /^MST:(?<organId>\\d{10})$/')
  const byOid = createVerifier({ trustAnchors: root.certPem, binding: { attribute: '2.5.4.11' } })
  t.equal((await byOid.verify(content, sigReal, { expectedOrganId: '000.00.11.H29' })).code, 'VALID', 'OU by its OID')
  const noMatch = createVerifier({ trustAnchors: root.certPem, binding: { attribute: 'serialNumber', pattern: '^CMND:(\\d+)$' } })
  t.equal((await noMatch.verify(content, sigReal, { expectedOrganId: '0301234567' })).code, 'SENDER_MISMATCH', 'no match, no OrganId')
})

t.test('an explicit table, checked first', async (t) => {
  const bySha = createVerifier({ trustAnchors: root.certPem, binding: { table: [{ organId: '000.00.99.X01', sha256: realInfo.sha256.replace(/(..)(?!$)/g, '$1:').toUpperCase() }] } })
  const a = await bySha.verify(content, sigReal, { expectedOrganId: '000.00.99.X01' })
  t.equal(a.code, 'VALID', a.message)
  t.same(a.binding, { organId: '000.00.99.X01', rule: 'table (sha256)' })
  const byIssuer = createVerifier({ trustAnchors: root.certPem, binding: { attribute: 'OU', table: [{ organId: '000.00.99.X02', issuer: realInfo.summary.issuer, serial: realInfo.summary.serial.toLowerCase() }] } })
  const b = await byIssuer.verify(content, sigReal, { expectedOrganId: '000.00.99.X02' })
  t.equal(b.code, 'VALID', b.message)
  t.equal(b.binding?.rule, 'table (issuer and serial)')
  t.equal((await byIssuer.verify(content, sigReal, { expectedOrganId: '000.00.11.H29' })).code, 'SENDER_MISMATCH', 'the table wins over the attribute')
  t.equal((await byIssuer.verify(content, sigUid, { expectedOrganId: '000.00.00.G22' })).code, 'SENDER_MISMATCH', 'other certificates: the attribute (OU, absent here)')
})

t.test('bad rules are configuration errors', async (t) => {
  t.throws(() => createBinding({ attribute: 'nickname' }), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => createBinding({ pattern: '(' }), { code: 'GW_ERR_CONFIG_INVALID' })
})
