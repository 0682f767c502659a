// Rollover into a token: the current identity is a key file, the next one a key generated in a SoftHSM2 token
// (certified by the sample CA). The agency then signs on the main thread only (no synchronous signing, no
// worker), the token reports its status, and signatures before and after the switch verify, the token's also with
// `openssl cms -verify`.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { loadSigners, usesToken } from '../../../src/pipeline/signers.js'
import { createVerifier, type RolloverSigner } from '../../../src/signature/index.js'
import { CERTS, crlsPem, G22, rawTestConfig, trustAnchorsPem } from '../../helper.js'
import { opensslStatus } from '../signature/openssl-pki.js'
import { generateKey, initToken, issueSampleCertificate, SAMPLE, softhsmDir, storeCertificate } from '../signature/softhsm.js'

const dir = t.testdir()
softhsmDir(dir)
const token = initToken(dir, 'vpcp-next', '271828')
const pub = generateKey(token, { label: 'vpcp-2027', id: 'b2', type: 'rsa:2048' })
storeCertificate(token, issueSampleCertificate(path.join(dir, 'certs'), pub, G22, 'VPCP 2027'), { label: 'vpcp-2027', id: 'b2' })

t.test('a key file now, a token from the switch on', async (t) => {
  const switchAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000)
  const raw = rawTestConfig(dir)
  raw.agencies[0].nextSigning = { pkcs11: { module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'vpcp-2027', pinEnv: 'VPCP_NEXT_PIN', chainPath: path.join(SAMPLE, 'intermediate-ca.pem') } }
  raw.agencies[0].switchAt = switchAt.toISOString()
  const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: { VPCP_NEXT_PIN: token.pin } })
  t.ok(usesToken(config.agencies[0]!), 'an agency with a token identity signs on the main thread')
  const signers = await loadSigners(config)
  t.teardown(() => {
    for (const s of signers.values()) s.token?.close()
  })
  const s = signers.get(G22) as RolloverSigner
  t.equal(s.signSync, undefined, 'no synchronous signing: the token signs off the event loop')
  t.equal(s.token?.status().ok, true, 'the token reports its status (for /readyz)')
  t.match(s.identities[0]!.certificate.subject, /CN=Văn phòng Chính phủ/)
  t.match(s.identities[1]!.certificate.subject, /CN=VPCP 2027/)

  const v = createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem() })
  const content = Buffer.from('<edXML>rollover into a token</edXML>')
  const before = new Date(switchAt.getTime() - 1000)
  const cmsBefore = await s.sign(content, { signingTime: before })
  const cmsAfter = await s.sign(content, { signingTime: switchAt })
  const vb = await v.verify(content, cmsBefore, { validationTime: before, expectedOrganId: G22 })
  const va = await v.verify(content, cmsAfter, { validationTime: switchAt, expectedOrganId: G22 })
  t.equal(vb.code, 'VALID', vb.message)
  t.equal(va.code, 'VALID', va.message)
  t.equal(vb.signer?.sha256, s.identities[0]!.certificate.sha256, 'before: the key file')
  t.equal(va.signer?.sha256, s.identities[1]!.certificate.sha256, 'from the switch: the token')
  writeFileSync(path.join(dir, 'c.xml'), content)
  writeFileSync(path.join(dir, 'c.p7s'), cmsAfter)
  const o = opensslStatus(['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'c.p7s'), '-content', path.join(dir, 'c.xml'), '-CAfile', path.join(CERTS, 'trust-anchors.pem'), '-purpose', 'any', '-out', '/dev/null'])
  t.equal(o.status, 0, `openssl cms -verify accepts the token's signature ${o.stderr}`)
})
