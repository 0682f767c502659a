/**
 * Detached CMS SignedData (RFC 5652) in a CAdES-BES shape over the exact content bytes.
 *
 * The structure is modelled with PKI.js/asn1js once, at `loadSigner` time: the certificates, the
 * SignerIdentifier, the algorithm identifiers and the signing-certificate-v2 attribute are encoded then and kept as
 * bytes. Per document only the SHA-256 of the content (node:crypto), the signing-time and message-digest attributes,
 * the DER SET of signed attributes and the signature (node:crypto) are computed, and the final DER is spliced from
 * the pieces. A test checks the result is byte-identical to PKI.js's own `toSchema().toBER()` of the same structure.
 */
import { createHash, sign as nodeSign, type KeyObject } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { gwError } from '../errors.js'
import { parseCertificate, parseCertificates, type CertInfo } from './certs.js'
import { compareDer, encodeOid, encodeTime, encodeTlv, TAG } from './der.js'
import { keyMatches, keyType, privateKeyFromPem, type SigningKeyType } from './keys.js'
import { readPkcs12 } from './pkcs12.js'
import { OID } from './oids.js'
import { openPkcs11Key, type Pkcs11KeyOptions, type TokenStatus } from './pkcs11.js'
import type { CertSummary } from './verdict.js'

export interface SignerSource {
  /** PEM private key: PKCS#8 (plain or encrypted with `password`), PKCS#1 or SEC1. */
  keyPem?: string
  /** PEM signer certificate (the first CERTIFICATE block is the signer's; others are treated as chain). */
  certPem?: string
  /** PEM intermediates to include in every signature (the root may be included; it is harmless). */
  chainPem?: string
  /** PKCS#12 file holding the key, the certificate and optionally the chain. */
  p12?: Uint8Array
  /** PKCS#12 password, or the passphrase of an encrypted PKCS#8 PEM key. */
  password?: string
}

export interface SignOptions {
  /** Defaults to now; encoded to the second. */
  signingTime?: Date
}

export interface Signer {
  readonly certificate: CertSummary
  /** DER of the signer certificate (for trust.binding's checks at start). */
  readonly certificateDer?: Uint8Array
  readonly organId?: string
  /** Certificates included in every signature, signer first. */
  readonly chain: readonly CertSummary[]
  readonly keyType: SigningKeyType
  /**
   * Problems a verifier will report about signatures from this signer, found at load time: certificate expired or
   * not yet valid (now), no digitalSignature/nonRepudiation key usage, no OrganId (subject UID). Loading still
   * succeeds; the caller decides (the gateway refuses to start, a test may want such a signer).
   */
  readonly warnings: readonly string[]
  /** DER detached CMS SignedData over `content`. */
  sign(content: Uint8Array, opts?: SignOptions): Promise<Uint8Array>
  /**
   * Same as `sign`, synchronously: only for keys in memory (node:crypto signs synchronously anyway). A key in a
   * PKCS#11 token has none: its signatures are made off the event loop and may wait for the token.
   */
  signSync?(content: Uint8Array, opts?: SignOptions): Buffer
  /** For a key in a PKCS#11 token: whether the token is usable now, a probe of it (see pkcs11.ts). */
  readonly token?: { status(): TokenStatus; probe(): Promise<void>; close(): void }
}

/** A signer whose key is in memory (PEM or PKCS#12): it can sign synchronously. */
export interface FileSigner extends Signer {
  signSync(content: Uint8Array, opts?: SignOptions): Buffer
}

/** Pre-encoded constant pieces of every signature made by one signer (exported for the encoding test). */
export interface SignerPieces {
  readonly version1: Buffer
  readonly digestAlgorithm: Buffer
  readonly digestAlgorithms: Buffer
  readonly encapContentInfo: Buffer
  /** `[0] IMPLICIT CertificateSet`, DER-sorted. */
  readonly certificates: Buffer
  readonly sid: Buffer
  readonly signatureAlgorithm: Buffer
  readonly contentTypeAttr: Buffer
  readonly signingCertificateV2Attr: Buffer
  readonly signedDataOid: Buffer
  readonly messageDigestOid: Buffer
  readonly signingTimeOid: Buffer
}

const ber = (o: { toSchema(): asn1js.AsnType } | asn1js.AsnType): Buffer =>
  Buffer.from('toSchema' in o ? o.toSchema().toBER(false) : o.toBER(false))

/** Encodes the constant parts with PKI.js/asn1js. */
export function buildPieces(leaf: CertInfo, chain: readonly CertInfo[], kind: SigningKeyType['kind']): SignerPieces {
  const cert = pkijs.Certificate.fromBER(leaf.der)
  const sid = ber(new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }))
  if (!sid.equals(encodeTlv(TAG.SEQUENCE, leaf.issuerDer, leaf.serialDer))) {
    throw gwError('GW_ERR_SIGNATURE_KEY', { reason: 'cannot re-encode the certificate issuer and serial exactly' })
  }
  // RFC 5754: SHA-256 AlgorithmIdentifier without parameters.
  const digestAlgorithm = ber(new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }))
  // sha256WithRSAEncryption with NULL parameters (RFC 4055); ecdsa-with-SHA256 without parameters (RFC 5758).
  const signatureAlgorithm = ber(
    kind === 'rsa'
      ? new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256WithRSA, algorithmParams: new asn1js.Null() })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 }),
  )
  const contentTypeAttr = ber(
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
  )
  // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }; ESSCertIDv2 with the default hash
  // algorithm (SHA-256) omitted as DER requires, the certificate hash and IssuerSerial (RFC 5035).
  const essCertIdV2 = new asn1js.Sequence({
    value: [
      new asn1js.OctetString({ valueHex: createHash('sha256').update(leaf.der).digest() }),
      new asn1js.Sequence({
        value: [
          new pkijs.GeneralNames({ names: [new pkijs.GeneralName({ type: 4, value: cert.issuer })] }).toSchema(),
          cert.serialNumber,
        ],
      }),
    ],
  })
  const signingCertificateV2Attr = ber(
    new pkijs.Attribute({
      type: OID.signingCertificateV2,
      values: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] })],
    }),
  )
  const certDers = [leaf, ...chain].map((c) => c.der).sort(compareDer)
  return {
    version1: ber(new asn1js.Integer({ value: 1 })),
    digestAlgorithm,
    digestAlgorithms: encodeTlv(TAG.SET, digestAlgorithm),
    encapContentInfo: ber(new pkijs.EncapsulatedContentInfo({ eContentType: OID.data })),
    certificates: encodeTlv(TAG.CTX0, ...certDers),
    sid,
    signatureAlgorithm,
    contentTypeAttr,
    signingCertificateV2Attr,
    signedDataOid: encodeOid(OID.signedData),
    messageDigestOid: encodeOid(OID.messageDigest),
    signingTimeOid: encodeOid(OID.signingTime),
  }
}

/** The DER SET OF signed attributes for one document (tag 0x31, the form that is signed). */
export function signedAttributes(p: SignerPieces, digest: Uint8Array, signingTime: Date): Buffer {
  const attrs = [
    p.contentTypeAttr,
    encodeTlv(TAG.SEQUENCE, p.signingTimeOid, encodeTlv(TAG.SET, encodeTime(signingTime))),
    encodeTlv(TAG.SEQUENCE, p.messageDigestOid, encodeTlv(TAG.SET, encodeTlv(TAG.OCTET_STRING, digest))),
    p.signingCertificateV2Attr,
  ].sort(compareDer)
  return encodeTlv(TAG.SET, ...attrs)
}

/** Splices a ContentInfo from the pieces, the signed attributes SET and the signature value. */
export function assemble(p: SignerPieces, signedAttrsSet: Buffer, signature: Uint8Array): Buffer {
  const implicitAttrs = Buffer.from(signedAttrsSet)
  implicitAttrs[0] = TAG.CTX0 // [0] IMPLICIT SET OF Attribute
  const signerInfo = encodeTlv(
    TAG.SEQUENCE,
    p.version1,
    p.sid,
    p.digestAlgorithm,
    implicitAttrs,
    p.signatureAlgorithm,
    encodeTlv(TAG.OCTET_STRING, signature),
  )
  const signedData = encodeTlv(
    TAG.SEQUENCE,
    p.version1,
    p.digestAlgorithms,
    p.encapContentInfo,
    p.certificates,
    encodeTlv(TAG.SET, signerInfo),
  )
  return encodeTlv(TAG.SEQUENCE, p.signedDataOid, encodeTlv(TAG.CTX0, signedData))
}

/** Where the signature value over the DER signed attributes comes from. */
interface KeyBackend {
  /** node:crypto key in memory. */
  signSync?(attrs: Buffer): Buffer
  sign(attrs: Buffer): Promise<Buffer>
}

function memoryBackend(key: KeyObject, type: SigningKeyType): Required<KeyBackend> {
  const k: KeyObject | { key: KeyObject; dsaEncoding: 'der' } = type.kind === 'ec' ? { key, dsaEncoding: 'der' } : key
  const signSync = (attrs: Buffer): Buffer => nodeSign('sha256', attrs, k)
  return { signSync, sign: async (attrs) => signSync(attrs) }
}

class CmsSigner implements Signer {
  readonly certificate: CertSummary
  readonly certificateDer: Uint8Array
  readonly organId?: string
  readonly chain: readonly CertSummary[]
  readonly keyType: SigningKeyType
  readonly warnings: readonly string[]
  readonly #pieces: SignerPieces
  readonly #backend: KeyBackend

  constructor(backend: KeyBackend, type: SigningKeyType, leaf: CertInfo, chain: readonly CertInfo[]) {
    this.certificate = leaf.summary
    this.certificateDer = leaf.der
    if (leaf.summary.organId !== undefined) this.organId = leaf.summary.organId
    this.chain = Object.freeze([leaf, ...chain].map((c) => c.summary))
    this.keyType = type
    this.warnings = Object.freeze(signerWarnings(leaf, Date.now()))
    this.#pieces = buildPieces(leaf, chain, type.kind)
    this.#backend = backend
  }

  #attrs(content: Uint8Array, opts: SignOptions): Buffer {
    const t = opts.signingTime ?? new Date()
    const digest = createHash('sha256').update(content).digest()
    return signedAttributes(this.#pieces, digest, t)
  }

  async sign(content: Uint8Array, opts: SignOptions = {}): Promise<Uint8Array> {
    const attrs = this.#attrs(content, opts)
    return assemble(this.#pieces, attrs, await this.#backend.sign(attrs))
  }

  /** Keys never show up in logs or JSON. */
  toJSON(): object {
    return { certificate: this.certificate, keyType: this.keyType, warnings: this.warnings }
  }

  protected signSyncImpl(content: Uint8Array, opts: SignOptions = {}): Buffer {
    const sync = this.#backend.signSync
    if (!sync) throw gwError('GW_ERR_SIGNATURE_KEY', { reason: 'this key cannot sign synchronously' })
    const attrs = this.#attrs(content, opts)
    return assemble(this.#pieces, attrs, sync(attrs))
  }
}

class MemorySigner extends CmsSigner implements FileSigner {
  signSync(content: Uint8Array, opts?: SignOptions): Buffer {
    return this.signSyncImpl(content, opts)
  }
}

class TokenSigner extends CmsSigner {
  readonly token: { status(): TokenStatus; probe(): Promise<void>; close(): void }
  constructor(token: { status(): TokenStatus; probe(): Promise<void>; close(): void; sign(attrs: Buffer): Promise<Buffer> }, type: SigningKeyType, leaf: CertInfo, chain: readonly CertInfo[]) {
    super({ sign: (attrs) => token.sign(attrs) }, type, leaf, chain)
    this.token = { status: () => token.status(), probe: () => token.probe(), close: () => token.close() }
  }
}

function signerWarnings(leaf: CertInfo, nowMs: number): string[] {
  const w: string[] = []
  if (nowMs > leaf.notAfterMs) w.push(`the certificate expired on ${leaf.summary.notAfter}`)
  if (nowMs < leaf.notBeforeMs) w.push(`the certificate is valid only from ${leaf.summary.notBefore}`)
  if (!leaf.keyUsage || !(leaf.keyUsage.has('digitalSignature') || leaf.keyUsage.has('nonRepudiation'))) {
    w.push('the certificate has no digitalSignature or nonRepudiation key usage')
  }
  if (leaf.summary.organId === undefined) w.push('the certificate names no OrganId (subject UID)')
  return w
}

/**
 * Loads a signing key and its certificate (PEM or PKCS#12), checks the key is supported and matches the
 * certificate, and pre-encodes everything that does not change between signatures.
 */
export async function loadSigner(src: SignerSource): Promise<FileSigner> {
  let key: KeyObject
  let certs: CertInfo[]
  if (src.p12) {
    const p = readPkcs12(src.p12, src.password ?? '')
    key = p.key
    certs = p.certs.map((d, i) => parseCertificate(d, `PKCS#12 certificate #${i + 1}`))
  } else {
    if (!src.keyPem || !src.certPem) {
      throw gwError('GW_ERR_SIGNATURE_KEY', { reason: 'give keyPem and certPem, or p12 (with password)' })
    }
    key = privateKeyFromPem(src.keyPem, src.password)
    certs = parseCertificates(src.certPem, 'signer certificate')
    if (certs.length === 0) throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what: 'signer certificate', reason: 'no CERTIFICATE PEM block' })
  }
  certs.push(...parseCertificates(src.chainPem, 'chain'))
  const type = keyType(key)
  const leaf = certs.find((c) => keyMatches(key, c))
  if (!leaf) throw gwError('GW_ERR_SIGNATURE_KEY', { reason: 'the private key does not match the certificate' })
  const seen = new Set([leaf.sha256])
  const chain = certs.filter((c) => !seen.has(c.sha256) && (seen.add(c.sha256), true))
  return new MemorySigner(memoryBackend(key, type), type, leaf, chain)
}

export interface Pkcs11SignerSource extends Pkcs11KeyOptions {
  /** PEM signer certificate; default: the certificate stored in the token with the key. */
  certPem?: string
  /** PEM intermediates to include in every signature. */
  chainPem?: string
}

/**
 * A signer whose key stays in a PKCS#11 token (pkcs11.ts): the certificate comes from `certPem` or from the token,
 * its key type and size are checked as for a key file, and a first signature made by the token must verify with
 * the certificate's key.
 */
export async function loadPkcs11Signer(src: Pkcs11SignerSource): Promise<Signer> {
  const key = await openPkcs11Key(src)
  try {
    let certs: CertInfo[]
    if (src.certPem !== undefined) certs = parseCertificates(src.certPem, 'signer certificate')
    else if (key.certificateDer) certs = [parseCertificate(key.certificateDer, 'token certificate')]
    else throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what: 'signer certificate', reason: 'the token holds no certificate for the key; give certPath' })
    if (certs.length === 0) throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what: 'signer certificate', reason: 'no CERTIFICATE PEM block' })
    const leaf = certs[0]!
    const type = keyType(leaf.publicKey)
    if (type.kind !== key.keyKind) throw gwError('GW_ERR_SIGNATURE_KEY', { reason: `the token key is ${key.keyKind} but the certificate key is ${type.kind}` })
    await key.checkKey(leaf.publicKey)
    certs.push(...parseCertificates(src.chainPem, 'chain'))
    const seen = new Set([leaf.sha256])
    const chain = certs.filter((c) => !seen.has(c.sha256) && (seen.add(c.sha256), true))
    return new TokenSigner(key, type, leaf, chain)
  } catch (e) {
    key.close()
    throw e
  }
}
