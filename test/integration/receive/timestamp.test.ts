/**
 * Trusted time on the receive path, with tokens from an independent TSA (`openssl ts -reply` on 127.0.0.1): a
 * package signed with a certificate that has expired by the time it is received is accepted when its signature
 * carries a valid earlier token from a trusted TSA (judged at the token's time), and refused without one (judged at
 * receipt); a token over another signature or from an untrusted TSA is refused with its own code; the config's
 * trust.tsa is what the gateway's verifier uses.
 */
import path from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../../src/config.js'
import { createIncomingPipeline } from '../../../src/pipeline/incoming.js'
import { createStatusSender } from '../../../src/pipeline/statuses.js'
import { verifierFromTrust } from '../../../src/pipeline/trust.js'
import { createTimestamper, createTsaTrust, createVerifier, signatureTimestampOf, addSignatureTimestamp } from '../../../src/signature/index.js'
import { parseCms } from '../../../src/signature/cms.js'
import { openSqliteStore } from '../../../src/store/index.js'
import { crlsPem, rawTestConfig, testConfig, testSigners, trustAnchorsPem } from '../../helper.js'
import { issue, makeRoot } from '../../unit/signature/openssl-pki.js'
import { startOpensslTsa } from '../../unit/signature/openssl-tsa.js'
import { inbound, mintSigner, sampleEdoc } from './helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const dir = t.testdir()
const tsaRoot = makeRoot(path.join(dir, 'tsaroot'), '/C=VN/CN=Receive TSA Root')
const tsaCert = issue(tsaRoot, path.join(dir, 'tsa'), '/C=VN/CN=Receive TSA', { extensions: 'v3_tsa' })
const otherRoot = makeRoot(path.join(dir, 'otherroot'), '/C=VN/CN=Unknown TSA Root')
const otherCert = issue(otherRoot, path.join(dir, 'other'), '/C=VN/CN=Unknown TSA', { extensions: 'v3_tsa' })
const tsa = await startOpensslTsa(path.join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
const other = await startOpensslTsa(path.join(dir, 'other-srv'), otherCert, otherRoot.certPem)
t.teardown(() => Promise.all([tsa.close(), other.close()]))
const stamper = createTimestamper({ url: tsa.url, trust: createTsaTrust({ anchors: tsaRoot.certPem }), waitMs: 0, timeoutMs: 30_000 })
const otherStamper = createTimestamper({ url: other.url, trust: createTsaTrust({ anchors: otherRoot.certPem }), waitMs: 0, timeoutMs: 30_000 })

// the sender's certificate is valid for 30 days (mintSigner); the package arrives 31 days after it was signed
const vpcp = await mintSigner(dir, G22)
const signedAt = new Date()
const receivedAt = new Date(signedAt.getTime() + 31 * 86_400_000)

async function setup(t: Test) {
  const config = testConfig(t)
  const store = await openSqliteStore(config.store.path)
  t.teardown(() => store.close())
  const clock = () => receivedAt
  const verifier = createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem(), now: clock, signingTimeMaxPastMs: 60 * 86_400_000, tsa: { trustAnchors: tsaRoot.certPem } })
  const statuses = createStatusSender({ store, agencies: config.agencies, signers: await testSigners(config), relay: { wake() {} }, clock })
  const pipeline = createIncomingPipeline({ config, store, verifier, statuses, clock })
  return { store, pipeline }
}

async function message(subject: string, stamp?: 'ok' | 'other-signature' | 'untrusted') {
  const doc = sampleEdoc(G22, [H29], { subject })
  let signature = await vpcp.sign(doc.bytes, { signingTime: signedAt })
  if (stamp === 'ok') signature = await stamper.stampSignature(signature)
  if (stamp === 'untrusted') signature = await otherStamper.stampSignature(signature)
  if (stamp === 'other-signature') {
    const another = await stamper.stampSignature(await vpcp.sign(Buffer.from('other bytes'), { signingTime: signedAt }))
    signature = addSignatureTimestamp(signature, signatureTimestampOf(parseCms(another).unsignedAttrs).token!)
  }
  return inbound({ body: doc.bytes, recipient: H29, sender: G22, signature })
}

const verdicts = async (store: Awaited<ReturnType<typeof openSqliteStore>>) => (await store.listIncoming({ limit: 10 })).items

t.test('a certificate expired at receipt: accepted with a valid earlier token, refused without one', async (t) => {
  const s = await setup(t)
  t.equal(await s.pipeline.handle(await message('có dấu thời gian', 'ok')), 'ack', 'with a token: received')
  let rows = await verdicts(s.store)
  t.equal(rows[0]?.state, 'arrived')
  t.match(rows[0]?.verdict, { code: 'VALID', timeSource: 'timestamp', timestamp: { verdict: 'valid', tsa: /Receive TSA/ } })
  t.ok(Math.abs(Date.parse((rows[0]?.verdict as { validationTime: string }).validationTime) - signedAt.getTime()) < 120_000, 'judged at the token\'s time')

  t.equal(await s.pipeline.handle(await message('không có dấu thời gian')), 'reject', 'without a token: refused')
  rows = await verdicts(s.store)
  const refused = rows.find((r) => r.state === 'rejected')
  t.match(refused?.verdict, { code: 'CERT_EXPIRED' })
})

t.test('a token over another signature, or from a TSA that is not trusted, is refused with its own code', async (t) => {
  const s = await setup(t)
  t.equal(await s.pipeline.handle(await message('dấu thời gian của chữ ký khác', 'other-signature')), 'reject')
  t.equal(await s.pipeline.handle(await message('TSA không tin cậy', 'untrusted')), 'reject')
  const codes = (await verdicts(s.store)).map((r) => (r.verdict as { code: string }).code).sort()
  t.same(codes, ['TIMESTAMP_MISMATCH', 'TIMESTAMP_UNTRUSTED'])
})

t.test('trust.tsa.anchorsPaths of the configuration is what the gateway\'s verifier relies on', async (t) => {
  const d = t.testdir({})
  const raw = rawTestConfig(d)
  const withTsa = loadConfig({ object: { ...raw, trust: { ...raw.trust, signingTimeMaxPastMs: 60 * 86_400_000, tsa: { anchorsPaths: [tsaRoot.certPath] } } }, file: path.join(d, 'config.json'), env: {} })
  const without = loadConfig({ object: { ...raw, trust: { ...raw.trust, signingTimeMaxPastMs: 60 * 86_400_000 } }, file: path.join(d, 'config.json'), env: {} })
  const doc = sampleEdoc(G22, [H29])
  const sig = await stamper.stampSignature(await vpcp.sign(doc.bytes, { signingTime: signedAt }))
  const a = await verifierFromTrust(withTsa).verify(doc.bytes, sig, { receivedAt })
  t.match(a, { code: 'VALID', timeSource: 'timestamp' })
  const b = await verifierFromTrust(without).verify(doc.bytes, sig, { receivedAt })
  t.match(b, { code: 'CERT_EXPIRED', timeSource: 'receipt', timestamp: { verdict: 'not-checked' } })
})
