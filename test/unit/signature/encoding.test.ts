// The spliced DER is byte-identical to PKI.js's own encoding of the same structure, uses the encodings other
// implementations expect, and PKI.js (on WebCrypto) verifies it.
import { createHash, webcrypto } from 'node:crypto'
import { join } from 'node:path'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import t from 'tap'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'
import { usePkijsEngine } from '../../../src/signature/engine.js'
import { compareDer } from '../../../src/signature/der.js'
import { issue, makeIntermediate, makeRoot, type KeyAlg } from './openssl-pki.js'

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
}
const pemDer = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
const content = Buffer.from('nội dung văn bản '.repeat(600))
const signingTime = new Date('2026-03-15T02:30:45Z')

for (const alg of ['rsa2048', 'p256'] as KeyAlg[]) {
  t.test(`${alg}: spliced DER equals PKI.js toSchema().toBER()`, async (t) => {
    const dir = t.testdir()
    const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Encoding Root', alg)
    const int = makeIntermediate(root, join(dir, 'int'), '/C=VN/CN=Encoding CA', { alg })
    const leaf = issue(int, join(dir, 'leaf'), '/C=VN/O=Văn phòng Chính phủ/UID=000.00.00.G22/CN=Văn phòng Chính phủ', { alg })
    const signer = await loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem, chainPem: int.certPem })
    const ours = Buffer.from(await signer.sign(content, { signingTime }))

    // Parse ours with PKI.js to take the signature value, then build the same structure with PKI.js from scratch.
    const parsed = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(ours).content })
    const signature = parsed.signerInfos[0]!.signature
    const leafCert = pkijs.Certificate.fromBER(pemDer(leaf.certPem))
    const intCert = pkijs.Certificate.fromBER(pemDer(int.certPem))
    const certs = [leafCert, intCert].sort((a, b) => compareDer(new Uint8Array(a.toSchema().toBER()), new Uint8Array(b.toSchema().toBER())))
    const ess = new asn1js.Sequence({
      value: [
        new asn1js.Sequence({
          value: [
            new asn1js.Sequence({
              value: [
                new asn1js.OctetString({ valueHex: createHash('sha256').update(pemDer(leaf.certPem)).digest() }),
                new asn1js.Sequence({
                  value: [
                    new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [leafCert.issuer.toSchema()] })] }),
                    new asn1js.Integer({ valueHex: leafCert.serialNumber.valueBlock.valueHexView }),
                  ],
                }),
              ],
            }),
          ],
        }),
      ],
    })
    const attributes = [
      new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
      new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: signingTime })] }),
      new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: createHash('sha256').update(content).digest() })] }),
      new pkijs.Attribute({ type: OID.signingCertificateV2, values: [ess] }),
    ].sort((a, b) => compareDer(new Uint8Array(a.toSchema().toBER()), new Uint8Array(b.toSchema().toBER())))
    const sd = new pkijs.SignedData({
      version: 1,
      digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
      certificates: certs,
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: leafCert.issuer, serialNumber: leafCert.serialNumber }),
          digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
          signatureAlgorithm:
            alg === 'p256'
              ? new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' })
              : new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11', algorithmParams: new asn1js.Null() }),
          signature,
        }),
      ],
    })
    const reference = Buffer.from(new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) }).toSchema().toBER())
    t.equal(ours.toString('hex'), reference.toString('hex'), 'byte-identical to PKI.js')

    // Encodings peers expect.
    const si = parsed.signerInfos[0]!
    t.equal(si.digestAlgorithm.algorithmParams, undefined, 'SHA-256 without parameters')
    if (alg === 'p256') {
      t.equal(si.signatureAlgorithm.algorithmId, '1.2.840.10045.4.3.2')
      t.equal(si.signatureAlgorithm.algorithmParams, undefined, 'ecdsa-with-SHA256 without parameters')
    } else {
      t.equal(si.signatureAlgorithm.algorithmId, '1.2.840.113549.1.1.11')
      t.ok(si.signatureAlgorithm.algorithmParams instanceof asn1js.Null, 'sha256WithRSAEncryption with NULL')
    }
    const attrDers = si.signedAttrs!.attributes.map((a) => new Uint8Array(a.toSchema().toBER()))
    t.same(attrDers.map((_, i) => i), [0, 1, 2, 3])
    for (let i = 1; i < attrDers.length; i++) t.ok(compareDer(attrDers[i - 1]!, attrDers[i]!) < 0, `attribute ${i} in DER SET OF order`)
    t.equal(parsed.encapContentInfo.eContent, undefined, 'detached')
    t.equal(parsed.certificates?.length, 2, 'signer certificate and chain included')

    // PKI.js on WebCrypto verifies our signature independently.
    usePkijsEngine()
    const ok = await parsed.verify({ signer: 0, data: new Uint8Array(content).buffer, checkChain: false })
    t.equal(ok, true, 'PKI.js SignedData.verify accepts it')

    // The other way: a detached CMS made by PKI.js's generic signing path verifies with ours.
    const keyDer = Buffer.from(leaf.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    const cryptoKey = await webcrypto.subtle.importKey('pkcs8', keyDer, alg === 'p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
    const generic = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
      certificates: [leafCert, intCert],
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: leafCert.issuer, serialNumber: leafCert.serialNumber }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
              new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
              new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: createHash('sha256').update(content).digest() })] }),
            ],
          }),
        }),
      ],
    })
    await generic.sign(cryptoKey as unknown as Parameters<typeof generic.sign>[0], 0, 'SHA-256')
    const pkijsCms = new pkijs.ContentInfo({ contentType: OID.signedData, content: generic.toSchema(true) }).toSchema().toBER()
    const verifier = createVerifier({ trustAnchors: root.certPem })
    const v = await verifier.verify(content, new Uint8Array(pkijsCms), { expectedOrganId: '000.00.00.G22' })
    t.equal(v.code, 'VALID', `PKI.js-made CMS: ${v.message}`)
    t.equal((await verifier.verify(Buffer.concat([content, Buffer.of(0x20)]), new Uint8Array(pkijsCms))).code, 'DIGEST_MISMATCH')
  })
}

t.test('signing-time after 2049 uses GeneralizedTime', async (t) => {
  const { encodeTime, decodeTime, readTlv } = await import('../../../src/signature/der.js')
  const d = new Date('2051-01-02T03:04:05Z')
  const enc = encodeTime(d)
  t.equal(enc[0], 0x18)
  t.equal(decodeTime(enc, readTlv(enc, 0)).toISOString(), d.toISOString())
  const u = encodeTime(signingTime)
  t.equal(u[0], 0x17)
  t.equal(u.subarray(2).toString('latin1'), '260315023045Z')
})
