/**
 * Trusted time end to end on the real broker: a gateway receiver configured with trust.tsa (and no clock-skew
 * allowance) gets two packages over AMQP, both signed while the sender's certificate was valid and delivered after
 * it expired (a certificate valid for a few seconds, issued by the sample CA with `openssl ca`): the one whose
 * signature carries a token from the TSA (`openssl ts -reply` on 127.0.0.1) made before the expiry is received, the
 * one without a token is refused CERT_EXPIRED and dead-lettered.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { createTimestamper, createTsaTrust, loadSigner } from '../../../src/signature/index.js'
import { CERTS, eventually } from '../../helper.js'
import { issue, makeRoot, osslTime } from '../../unit/signature/openssl-pki.js'
import { startOpensslTsa } from '../../unit/signature/openssl-tsa.js'
import { sampleEdoc, sleep, startTestReceiver } from './helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const dir = t.testdir()

// the sample intermediate CA as an `openssl ca`, to give a certificate an end date to the second
const caDir = path.join(dir, 'sample-ca')
mkdirSync(path.join(caDir, 'newcerts'), { recursive: true })
writeFileSync(path.join(caDir, 'index.txt'), '')
writeFileSync(path.join(caDir, 'serial'), `${Date.now().toString(16).toUpperCase().padStart(12, '0')}\n`)
const cnf = path.join(caDir, 'ca.cnf')
writeFileSync(cnf, `
[ ca ]
default_ca = sample
[ sample ]
dir = ${caDir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
private_key = ${path.join(CERTS, 'intermediate-ca.key.pem')}
certificate = ${path.join(CERTS, 'intermediate-ca.pem')}
default_md = sha256
policy = any
unique_subject = no
[ any ]
countryName = optional
organizationName = optional
commonName = supplied
userId = optional
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
`)
const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
run(['req', '-config', cnf, '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'g22.key'), '-out', path.join(dir, 'g22.csr'), '-subj', `/C=VN/O=Short-lived/CN=${G22}/UID=${G22}`, '-utf8'])
/** G22's certificate, ending `ms` from now (to the second); issued when the test needs it, so a slow setup cannot eat the window. */
async function shortLived(ms: number) {
  const notAfter = new Date(Math.ceil((Date.now() + ms) / 1000) * 1000)
  run(['ca', '-batch', '-config', cnf, '-extensions', 'leaf', '-preserveDN', '-notext', '-in', path.join(dir, 'g22.csr'), '-out', path.join(dir, 'g22.pem'),
    '-startdate', osslTime(new Date(Date.now() - 3_600_000)), '-enddate', osslTime(notAfter)])
  const signer = await loadSigner({
    keyPem: readFileSync(path.join(dir, 'g22.key'), 'utf8'),
    certPem: readFileSync(path.join(dir, 'g22.pem'), 'utf8'),
    chainPem: readFileSync(path.join(CERTS, 'intermediate-ca.pem'), 'utf8'),
  })
  return { notAfter, signer }
}

const tsaRoot = makeRoot(path.join(dir, 'tsaroot'), '/C=VN/CN=Exchange TSA Root')
const tsaCert = issue(tsaRoot, path.join(dir, 'tsa'), '/C=VN/CN=Exchange TSA', { extensions: 'v3_tsa' })
const tsa = await startOpensslTsa(path.join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
t.teardown(() => tsa.close())
const stamper = createTimestamper({ url: tsa.url, trust: createTsaTrust({ anchors: tsaRoot.certPem }), waitMs: 0, timeoutMs: 30_000 })

t.test('expired at receipt: received with an earlier token, refused without', async (t) => {
  // 1. sign both while the certificate is valid; stamp one
  const { notAfter, signer } = await shortLived(6000)
  const stampedDoc = sampleEdoc(G22, [H29], { subject: 'Có dấu thời gian' })
  const plainDoc = sampleEdoc(G22, [H29], { subject: 'Không có dấu thời gian' })
  const stampedSig = await stamper.stampSignature(await signer.sign(stampedDoc.bytes))
  const plainSig = await signer.sign(plainDoc.bytes)
  t.ok(Date.now() < notAfter.getTime(), 'signed and stamped before the certificate expired')
  // 2. wait until it has expired
  while (Date.now() <= notAfter.getTime() + 1500) await sleep(200)
  // 3. the gateway's receiver, with trust.tsa and no skew allowance, gets both over AMQP
  const r = await startTestReceiver(t, { config: { trust: { clockSkewMs: 0, tsa: { anchorsPaths: [tsaRoot.certPath] } } } })
  t.same(r.config.trust.tsa?.anchorsPaths, [tsaRoot.certPath])
  await r.publish({ body: stampedDoc.bytes, recipient: H29, sender: G22, signature: stampedSig })
  await r.publish({ body: plainDoc.bytes, recipient: H29, sender: G22, signature: plainSig })
  const rows = (await eventually(async () => {
    const items = (await r.store.listIncoming({ limit: 10 })).items
    return items.length >= 2 ? items : undefined
  }, 30_000, 200)) ?? (await r.store.listIncoming({ limit: 10 })).items
  t.equal(rows.length, 2, 'both stored')
  const bySha = new Map(rows.map((x) => [x.sha256, x]))
  const stamped = bySha.get(stampedDoc.sha256())
  const plain = bySha.get(plainDoc.sha256())
  t.equal(stamped?.state, 'arrived', 'the stamped package is received')
  t.match(stamped?.verdict, { code: 'VALID', timeSource: 'timestamp', timestamp: { verdict: 'valid', tsa: /Exchange TSA/ } })
  t.equal(plain?.state, 'rejected', 'the package without a token is refused')
  t.match(plain?.verdict, { code: 'CERT_EXPIRED' })
})
