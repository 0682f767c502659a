/**
 * Locates the parts of a DER CMS SignedData (RFC 5652) without decoding them: certificate byte ranges, the one
 * SignerInfo's identifier, algorithms, signed attributes (exact bytes) and signature value; then decodes only the
 * signed attributes. Throws GW_ERR_SIGNATURE_MALFORMED on anything that is not DER SignedData.
 */
import { gwError } from '../errors.js'
import { bytesEqual, children, decodeTime, definiteLengths, expectTlv, oidString, oidStringCached, readTlv, TAG, value, whole, type Tlv } from './der.js'
import { OID_BYTES } from './oids.js'

export interface ParsedCms {
  readonly eContentType: Uint8Array
  readonly hasEContent: boolean
  /** Value octets of the `[0] certificates` field (empty when absent): the cache key material. */
  readonly certificatesBlock: Uint8Array
  /** Each X.509 certificate's exact DER (subarrays of the input). */
  readonly certificates: Uint8Array[]
  readonly signerCount: number
  readonly sid: { kind: 'issuerSerial' | 'ski'; bytes: Uint8Array /* value octets */ }
  readonly digestAlgorithm: string
  readonly signatureAlgorithm: string
  /** Signed attributes re-tagged as SET (0x31): the bytes the signature covers; undefined when absent. */
  readonly signedAttrs?: Buffer
  readonly signature: Uint8Array
  /** The encapsulated content's octets (a timestamp token's TSTInfo DER), when present and primitive. */
  readonly eContent?: Uint8Array
  /** Value octets of the SignerInfo's `[1] IMPLICIT` unsigned attributes (the Attribute TLVs), when present. */
  readonly unsignedAttrs?: Uint8Array
}

export interface SignedAttributes {
  readonly contentType?: Uint8Array
  readonly messageDigest?: Uint8Array
  readonly signingTime?: Date
  /** First ESSCertIDv2: hash algorithm OID (default SHA-256) and certificate hash. */
  readonly essV2?: { hashAlg: string; hash: Uint8Array }
  /** First ESSCertID (v1, SHA-1). */
  readonly essV1?: { hash: Uint8Array }
}

function malformed(reason: string): never {
  throw gwError('GW_ERR_SIGNATURE_MALFORMED', { reason })
}

function oidOf(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== TAG.OID) malformed('expected an OBJECT IDENTIFIER')
  return oidStringCached(value(buf, t))
}

function algorithmOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== TAG.SEQUENCE) malformed('expected an AlgorithmIdentifier')
  const first = readTlv(buf, t.valueStart, t.end)
  return oidOf(buf, first)
}

/**
 * Parses a DER CMS; a BER one with indefinite lengths (streaming encoders) is first re-encoded with definite
 * lengths (its certificates and signed attributes keep their bytes).
 */
/** A small non-negative INTEGER's value (-1 when it is not one). */
function smallInt(buf: Uint8Array, t: Tlv): number {
  const n = t.end - t.valueStart
  if (n < 1 || n > 2) return -1
  const v = n === 1 ? buf[t.valueStart]! : (buf[t.valueStart]! << 8) | buf[t.valueStart + 1]!
  return buf[t.valueStart]! & 0x80 ? -1 : v
}

export function parseCms(buf: Uint8Array): ParsedCms {
  if (buf.length >= 2 && buf[1] === 0x80) return parseDer(definiteLengths(buf))
  return parseDer(buf)
}

function parseDer(buf: Uint8Array): ParsedCms {
  const ci = expectTlv(buf, 0, buf.length, TAG.SEQUENCE, 'ContentInfo')
  if (ci.end !== buf.length) malformed('trailing bytes after ContentInfo')
  const ct = expectTlv(buf, ci.valueStart, ci.end, TAG.OID, 'ContentInfo.contentType')
  if (!bytesEqual(value(buf, ct), OID_BYTES.signedData)) malformed(`content type ${oidString(value(buf, ct))} is not signedData`)
  const wrap = expectTlv(buf, ct.end, ci.end, TAG.CTX0, 'ContentInfo.content')
  const sd = expectTlv(buf, wrap.valueStart, wrap.end, TAG.SEQUENCE, 'SignedData')
  let p = sd.valueStart
  const version = expectTlv(buf, p, sd.end, TAG.INTEGER, 'SignedData.version')
  const sdVersion = smallInt(buf, version)
  p = version.end
  const digestAlgs = expectTlv(buf, p, sd.end, TAG.SET, 'SignedData.digestAlgorithms')
  const declaredDigests = children(buf, digestAlgs).map((a) => algorithmOid(buf, a))
  p = digestAlgs.end
  const encap = expectTlv(buf, p, sd.end, TAG.SEQUENCE, 'SignedData.encapContentInfo')
  p = encap.end
  const eType = expectTlv(buf, encap.valueStart, encap.end, TAG.OID, 'eContentType')
  const hasEContent = eType.end < encap.end
  let eContent: Uint8Array | undefined
  if (hasEContent) {
    const wrapE = expectTlv(buf, eType.end, encap.end, TAG.CTX0, 'eContent')
    const oct = readTlv(buf, wrapE.valueStart, wrapE.end)
    if (oct.tag === TAG.OCTET_STRING) eContent = value(buf, oct)
  }
  let certificatesBlock: Uint8Array = new Uint8Array(0)
  const certificates: Uint8Array[] = []
  // The SignedData version RFC 5652 §5.1 requires for what is present.
  let expectedVersion = bytesEqual(value(buf, eType), OID_BYTES.data) ? 1 : 3
  let next = readTlv(buf, p, sd.end)
  if (next.tag === TAG.CTX0) {
    certificatesBlock = value(buf, next)
    for (const c of children(buf, next)) {
      if (c.tag === TAG.SEQUENCE) certificates.push(whole(buf, c)) // other choices (attribute certs) are skipped
      else if (c.tag === 0xa3) expectedVersion = 5
      else if (c.tag === 0xa2) expectedVersion = Math.max(expectedVersion, 4)
      else if (c.tag === 0xa1) expectedVersion = Math.max(expectedVersion, 3)
    }
    p = next.end
    next = readTlv(buf, p, sd.end)
  }
  if (next.tag === TAG.CTX1) {
    // CRLs inside the CMS are not used: revocation comes from configured CRLs.
    if (children(buf, next).some((c) => c.tag === TAG.CTX1)) expectedVersion = 5
    p = next.end
    next = readTlv(buf, p, sd.end)
  }
  if (next.tag !== TAG.SET) malformed('SignedData.signerInfos missing')
  if (next.end !== sd.end) malformed('trailing fields after signerInfos')
  const infos = children(buf, next)
  const si = infos[0]
  if (!si) malformed('no SignerInfo')
  if (si.tag !== TAG.SEQUENCE) malformed('SignerInfo is not a SEQUENCE')
  const f = children(buf, si)
  let i = 0
  const siVersion = f[i++]
  const sidT = f[i++]
  const digT = f[i++]
  if (!siVersion || siVersion.tag !== TAG.INTEGER || !sidT || !digT) malformed('truncated SignerInfo')
  let sid: ParsedCms['sid']
  if (sidT.tag === TAG.SEQUENCE) sid = { kind: 'issuerSerial', bytes: value(buf, sidT) }
  else if (sidT.tag === 0x80) sid = { kind: 'ski', bytes: value(buf, sidT) }
  else malformed('unknown SignerIdentifier')
  // RFC 5652 §5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  if (smallInt(buf, siVersion) !== (sid.kind === 'ski' ? 3 : 1)) malformed(`SignerInfo version ${smallInt(buf, siVersion)} does not fit its SignerIdentifier`)
  if (sid.kind === 'ski') expectedVersion = Math.max(expectedVersion, 3)
  if (sdVersion !== expectedVersion) malformed(`SignedData version ${sdVersion}; ${expectedVersion} expected for its content`)
  const digestAlgorithm = algorithmOid(buf, digT)
  if (!declaredDigests.includes(digestAlgorithm)) malformed(`digest algorithm ${digestAlgorithm} is not listed in SignedData.digestAlgorithms`)
  let signedAttrs: Buffer | undefined
  if (f[i]?.tag === TAG.CTX0) {
    const a = f[i++]!
    signedAttrs = Buffer.from(whole(buf, a))
    signedAttrs[0] = TAG.SET // signed as an explicit SET OF (RFC 5652 §5.4)
  }
  const sigAlgT = f[i]
  const sigT = f[i + 1]
  if (!sigAlgT || !sigT || sigT.tag !== TAG.OCTET_STRING) malformed('truncated SignerInfo')
  const unsignedT = f[i + 2]
  if (unsignedT && unsignedT.tag !== TAG.CTX1) malformed('unexpected field after the SignerInfo signature')
  if (f[i + 3]) malformed('trailing fields in SignerInfo')
  return {
    eContentType: value(buf, eType),
    hasEContent,
    certificatesBlock,
    certificates,
    signerCount: infos.length,
    sid,
    digestAlgorithm,
    signatureAlgorithm: algorithmOid(buf, sigAlgT),
    ...(signedAttrs ? { signedAttrs } : {}),
    signature: value(buf, sigT),
    ...(eContent ? { eContent } : {}),
    ...(unsignedT ? { unsignedAttrs: value(buf, unsignedT) } : {}),
  }
}

/** Decodes the attributes the verifier needs; each of them must occur once with one value. */
export function parseSignedAttributes(set: Uint8Array): SignedAttributes {
  const top = expectTlv(set, 0, set.length, TAG.SET, 'signedAttrs')
  const out: { -readonly [K in keyof SignedAttributes]: SignedAttributes[K] } = {}
  const seen = new Set<string>()
  for (const attr of children(set, top)) {
    if (attr.tag !== TAG.SEQUENCE) malformed('signed attribute is not a SEQUENCE')
    const [typeT, valuesT] = children(set, attr)
    if (!typeT || !valuesT || valuesT.tag !== TAG.SET) malformed('bad signed attribute')
    const type = value(set, typeT)
    const vals = children(set, valuesT)
    const one = (name: string): Tlv => {
      if (seen.has(name)) malformed(`signed attribute ${name} occurs twice`)
      seen.add(name)
      if (vals.length !== 1) malformed(`signed attribute ${name} must have exactly one value`)
      return vals[0]!
    }
    if (bytesEqual(type, OID_BYTES.contentType)) {
      const v = one('content-type')
      if (v.tag !== TAG.OID) malformed('content-type is not an OID')
      out.contentType = value(set, v)
    } else if (bytesEqual(type, OID_BYTES.messageDigest)) {
      const v = one('message-digest')
      if (v.tag !== TAG.OCTET_STRING) malformed('message-digest is not an OCTET STRING')
      out.messageDigest = value(set, v)
    } else if (bytesEqual(type, OID_BYTES.signingTime)) {
      out.signingTime = decodeTime(set, one('signing-time'))
    } else if (bytesEqual(type, OID_BYTES.signingCertificateV2)) {
      const v = one('signing-certificate-v2')
      out.essV2 = firstEssCertId(set, v, true) as { hashAlg: string; hash: Uint8Array }
    } else if (bytesEqual(type, OID_BYTES.signingCertificate)) {
      const v = one('signing-certificate')
      out.essV1 = firstEssCertId(set, v, false)
    }
  }
  return out
}

function firstEssCertId(buf: Uint8Array, v: Tlv, v2: boolean): { hashAlg?: string; hash: Uint8Array } {
  if (v.tag !== TAG.SEQUENCE) malformed('SigningCertificate is not a SEQUENCE')
  const certs = readTlv(buf, v.valueStart, v.end)
  if (certs.tag !== TAG.SEQUENCE) malformed('SigningCertificate.certs is not a SEQUENCE')
  const first = children(buf, certs)[0]
  if (!first || first.tag !== TAG.SEQUENCE) malformed('SigningCertificate has no ESSCertID')
  const parts = children(buf, first)
  let k = 0
  let hashAlg = '2.16.840.1.101.3.4.2.1'
  if (v2 && parts[0]?.tag === TAG.SEQUENCE) hashAlg = algorithmOid(buf, parts[k++]!)
  const h = parts[k]
  if (!h || h.tag !== TAG.OCTET_STRING) malformed('ESSCertID has no certificate hash')
  return v2 ? { hashAlg, hash: value(buf, h) } : { hash: value(buf, h) }
}
