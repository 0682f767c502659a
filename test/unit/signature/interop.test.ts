// Interoperability with an independent implementation (the openssl command line), both ways, for RSA-2048,
// RSA-3072 and ECDSA P-256 chains minted by openssl itself.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'
import { issue, makeIntermediate, makeRoot, openssl, opensslStatus, type KeyAlg } from './openssl-pki.js'

const content = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">' +
    'Công văn số 123/STC-VP về việc báo cáo tài chính'.repeat(150) +
    '</edXML:edXMLEnvelope>\n',
)
const tampered = Buffer.from(content)
tampered[200] = tampered[200]! ^ 0x01

for (const alg of ['rsa2048', 'rsa3072', 'p256'] as KeyAlg[]) {
  t.test(`${alg}: openssl chain`, async (t) => {
    const dir = t.testdir()
    // The CAs use the signer's algorithm, except RSA-3072 signers get RSA-2048 CAs (key generation time).
    const caAlg = alg === 'rsa3072' ? 'rsa2048' : alg
    const root = makeRoot(join(dir, 'root'), `/C=VN/O=Interop ${alg}/CN=Interop Root ${alg}`, caAlg)
    const int = makeIntermediate(root, join(dir, 'int'), `/C=VN/O=Interop ${alg}/CN=Interop Signing CA ${alg}`, { alg: caAlg })
    const leaf = issue(int, join(dir, 'leaf'), '/C=VN/O=Sở Tài chính tỉnh Bắc Ninh/UID=000.00.00.H09/CN=Sở Tài chính tỉnh Bắc Ninh', { alg })
    const contentPath = join(dir, 'content.xml')
    const tamperedPath = join(dir, 'tampered.xml')
    writeFileSync(contentPath, content)
    writeFileSync(tamperedPath, tampered)
    const verifier = createVerifier({ trustAnchors: root.certPem })

    t.test('a signature we make verifies with openssl cms -verify; a changed byte fails', async (t) => {
      const signer = await loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem, chainPem: int.certPem })
      const sigPath = join(dir, 'ours.p7s')
      writeFileSync(sigPath, await signer.sign(content))
      const args = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sigPath, '-CAfile', root.certPath, '-purpose', 'any', '-out', join(dir, 'out.bin')]
      const good = opensslStatus([...args, '-content', contentPath])
      t.equal(good.status, 0, `openssl accepts: ${good.stderr}`)
      t.same(readFileSync(join(dir, 'out.bin')), content, 'openssl verified the same bytes')
      const bad = opensslStatus([...args, '-content', tamperedPath])
      t.not(bad.status, 0, 'openssl rejects the changed content')
      t.match(bad.stderr, /verification failure|digest failure/i)
      const mine = await verifier.verify(content, readFileSync(sigPath), { expectedOrganId: '000.00.00.H09' })
      t.equal(mine.code, 'VALID', mine.message)
      t.equal((await verifier.verify(tampered, readFileSync(sigPath))).code, 'DIGEST_MISMATCH')
    })

    t.test('a detached CMS made by openssl cms -sign verifies with ours; a changed byte fails', async (t) => {
      for (const cades of [false, true]) {
        const sigPath = join(dir, `openssl${cades ? '-cades' : ''}.p7s`)
        openssl(['cms', '-sign', '-binary', '-md', 'sha256', '-outform', 'DER', '-in', contentPath, '-signer', leaf.certPath,
          '-inkey', leaf.keyPath, '-certfile', int.certPath, '-out', sigPath, ...(cades ? ['-cades'] : [])])
        const sig = readFileSync(sigPath)
        const v = await verifier.verify(content, sig, { expectedOrganId: '000.00.00.h09' })
        t.equal(v.code, 'VALID', `${cades ? 'CAdES ' : ''}${v.message}`)
        t.ok(v.ok)
        t.equal(v.signer?.organId, '000.00.00.H09')
        t.equal(v.signer?.subject, 'CN=Sở Tài chính tỉnh Bắc Ninh,UID=000.00.00.H09,O=Sở Tài chính tỉnh Bắc Ninh,C=VN')
        t.equal(v.chain.length, 3, 'leaf, intermediate, root')
        t.equal(v.chain[2]?.subject, `CN=Interop Root ${alg},O=Interop ${alg},C=VN`)
        t.ok(v.signingTime && Math.abs(Date.parse(v.signingTime) - Date.now()) < 120_000, 'signing time read')
        const bad = await verifier.verify(tampered, sig)
        t.equal(bad.code, 'DIGEST_MISMATCH')
        t.equal(bad.ok, false)
      }
    })
  })
}
