/**
 * OCSP (RFC 6960) requests and responses, modelled with PKI.js/asn1js; no I/O (revocation.ts sends them).
 *
 * - Request: one CertID (SHA-1 hashes of the issuer's name and key, as RFC 5019 responders expect, and the serial),
 *   with a nonce extension (RFC 8954: 32 random bytes) unless told not to.
 * - Response: `successful`, `id-pkix-ocsp-basic`; the signature over the exact tbsResponseData bytes checked with
 *   node:crypto against the responder's key; the responder authorised: the issuing CA itself, or a certificate
 *   carried in the response, issued (signature checked) by that CA, with extendedKeyUsage id-kp-OCSPSigning, valid
 *   now, and named by the responderID (by name or by key hash); the SingleResponse for our CertID found; the nonce
 *   equal to ours when the response has one (a response with another nonce is a replay).
 * Time checks (thisUpdate, nextUpdate, a response without nonce) are the caller's (revocation.ts), which knows the
 * clock; `parseOcspResponse` reports the times.
 */
import { createHash, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { gwError } from '../errors.js'
import type { CertInfo } from './certs.js'
import { parseCertificate } from './certs.js'
import { CERT_SIGNATURE_BY_OID } from './oids.js'

const OID_SHA1 = '1.3.14.3.2.26'
const OID_NONCE = '1.3.6.1.5.5.7.48.1.2'
const OID_BASIC = '1.3.6.1.5.5.7.48.1.1'
const OID_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9'
const OID_EKU = '2.5.29.37'
/** id-pkix-ocsp-nocheck: the responder certificate is not itself checked for revocation (RFC 6960 §4.2.2.2.1). */
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5'

export interface OcspRequest {
  readonly der: Buffer
  /** The nonce sent, if any. */
  readonly nonce?: Buffer
  /** DER of the CertID, to find our SingleResponse. */
  readonly certIdKey: string
}

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest()

/** The subjectPublicKey BIT STRING contents (without the unused-bits octet) of a certificate. */
function publicKeyBits(c: CertInfo): Buffer {
  const spki = c.publicKey.export({ type: 'spki', format: 'der' })
  const parsed = pkijs.PublicKeyInfo.fromBER(spki)
  return Buffer.from(parsed.subjectPublicKey.valueBlock.valueHexView)
}

const keyHashCache = new WeakMap<CertInfo, Buffer>()
/** SHA-1 of the issuer's public key bits (CertID.issuerKeyHash, ResponderID byKey). */
export function keyHash(c: CertInfo): Buffer {
  let h = keyHashCache.get(c)
  if (!h) {
    h = sha1(publicKeyBits(c))
    keyHashCache.set(c, h)
  }
  return h
}

function serialContent(c: CertInfo): Buffer {
  const d = c.serialDer
  const lenOctets = d[1]! & 0x80 ? (d[1]! & 0x7f) + 2 : 2
  return d.subarray(lenOctets)
}

function certIdKey(nameHash: Uint8Array, keyHashBytes: Uint8Array, serial: Uint8Array): string {
  return `${Buffer.from(nameHash).toString('hex')}:${Buffer.from(keyHashBytes).toString('hex')}:${Buffer.from(serial).toString('hex').toUpperCase()}`
}

/** An OCSP request for `cert` issued by `issuer`. */
export function buildOcspRequest(cert: CertInfo, issuer: CertInfo, opts: { nonce?: boolean } = {}): OcspRequest {
  const nameHash = sha1(cert.issuerDer)
  const kh = keyHash(issuer)
  const serial = serialContent(cert)
  const reqCert = new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA1, algorithmParams: new asn1js.Null() }),
    issuerNameHash: new asn1js.OctetString({ valueHex: nameHash }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: kh }),
    serialNumber: new asn1js.Integer({ valueHex: serial }),
  })
  const req = new pkijs.OCSPRequest()
  req.tbsRequest.requestList = [new pkijs.Request({ reqCert })]
  let nonce: Buffer | undefined
  if (opts.nonce !== false) {
    nonce = randomBytes(32)
    req.tbsRequest.requestExtensions = [
      new pkijs.Extension({ extnID: OID_NONCE, critical: false, extnValue: new asn1js.OctetString({ valueHex: nonce }).toBER(false) }),
    ]
  }
  const der = Buffer.from(req.toSchema(true).toBER(false))
  return { der, ...(nonce ? { nonce } : {}), certIdKey: certIdKey(nameHash, kh, serial) }
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown'

export interface OcspAnswer {
  readonly status: OcspCertStatus
  readonly revokedAtMs?: number
  readonly thisUpdateMs: number
  readonly nextUpdateMs?: number
  readonly producedAtMs: number
  /** `match`: our nonce came back; `absent`: the response has none (pre-produced or a responder without nonces). */
  readonly nonce: 'match' | 'absent' | 'not-sent'
  /** Who signed: the CA itself or a delegated responder (its subject). */
  readonly responder: string
}

const ocspError = (reason: string): never => {
  throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason })
}

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(4)', 'sigRequired', 'unauthorized']

function ekuHasOcspSigning(cert: pkijs.Certificate): boolean {
  const ext = cert.extensions?.find((e) => e.extnID === OID_EKU)
  const eku = ext?.parsedValue as pkijs.ExtKeyUsage | undefined
  return eku?.keyPurposes?.includes(OID_OCSP_SIGNING) ?? false
}

function signedBy(tbs: Uint8Array, sigAlg: string, signature: Uint8Array, key: KeyObject): boolean {
  const alg = CERT_SIGNATURE_BY_OID[sigAlg]
  if (!alg || alg.key !== key.asymmetricKeyType) return false
  try {
    return nodeVerify(alg.hash, tbs, alg.key === 'ec' ? { key, dsaEncoding: 'der' } : key, signature)
  } catch {
    return false
  }
}

/**
 * Checks an OCSP response to `req` about a certificate issued by `issuer` and returns what it says.
 * @throws GW_ERR_SIGNATURE_REVOCATION when it is not a usable answer (status not successful, bad signature, responder
 *   not authorised, another nonce, no answer for our certificate).
 */
export function parseOcspResponse(der: Uint8Array, req: OcspRequest, issuer: CertInfo, nowMs: number, skewMs: number): OcspAnswer {
  let resp: pkijs.OCSPResponse
  try {
    resp = pkijs.OCSPResponse.fromBER(der)
  } catch (e) {
    return ocspError(`not an OCSP response (${(e as Error).message})`)
  }
  const st = resp.responseStatus.valueBlock.valueDec
  if (st !== 0) ocspError(`the responder answered ${RESPONSE_STATUS[st] ?? st}`)
  if (!resp.responseBytes || resp.responseBytes.responseType !== OID_BASIC) ocspError('not a basic OCSP response')
  let basic: pkijs.BasicOCSPResponse
  try {
    basic = pkijs.BasicOCSPResponse.fromBER(resp.responseBytes!.response.valueBlock.valueHexView)
  } catch (e) {
    return ocspError(`cannot read the basic OCSP response (${(e as Error).message})`)
  }
  const data = basic.tbsResponseData
  const tbs = data.tbsView
  const sigAlg = basic.signatureAlgorithm.algorithmId
  const signature = basic.signature.valueBlock.valueHexView

  // The responder: named by the responderID, the CA itself or a delegated certificate issued by it.
  const rid = data.responderID
  const names = (c: CertInfo): boolean =>
    rid instanceof pkijs.RelativeDistinguishedNames
      ? Buffer.from(rid.toSchema().toBER(false)).equals(c.subjectDer)
      : rid instanceof asn1js.OctetString && Buffer.from(rid.valueBlock.valueHexView).equals(keyHash(c))
  let responder: string | undefined
  if (names(issuer) && signedBy(tbs, sigAlg, signature, issuer.publicKey)) responder = `the CA ${issuer.summary.subject}`
  else {
    for (const c of basic.certs ?? []) {
      let info: CertInfo
      try {
        info = parseCertificate(Buffer.from(c.toSchema().toBER(false)), 'OCSP responder certificate')
      } catch {
        continue
      }
      if (!names(info)) continue
      if (!info.issuerDer.equals(issuer.subjectDer)) ocspError(`the responder certificate ${info.summary.subject} is not issued by ${issuer.summary.subject}`)
      let issued: boolean
      try {
        issued = info.x509.verify(issuer.publicKey)
      } catch {
        issued = false
      }
      if (!issued) ocspError(`the responder certificate ${info.summary.subject} is not signed by ${issuer.summary.subject}`)
      if (!ekuHasOcspSigning(c)) ocspError(`the responder certificate ${info.summary.subject} lacks extendedKeyUsage id-kp-OCSPSigning`)
      if (nowMs < info.notBeforeMs - skewMs || nowMs > info.notAfterMs + skewMs) ocspError(`the responder certificate ${info.summary.subject} is not valid now`)
      if (!signedBy(tbs, sigAlg, signature, info.publicKey)) ocspError('the OCSP response signature does not verify with the responder certificate')
      responder = `delegated responder ${info.summary.subject}`
      break
    }
  }
  if (!responder) ocspError(`the OCSP response is not signed by ${issuer.summary.subject} nor by a responder it authorised`)

  // Nonce: ours back, none, or another (a replay).
  const nonceExt = data.responseExtensions?.find((e) => e.extnID === OID_NONCE)
  let nonce: OcspAnswer['nonce'] = req.nonce ? 'absent' : 'not-sent'
  if (nonceExt && req.nonce) {
    const raw = Buffer.from(nonceExt.extnValue.valueBlock.valueHexView)
    // RFC 8954: extnValue holds an OCTET STRING; some responders put the bytes bare
    let got = raw
    try {
      const inner = asn1js.fromBER(raw)
      if (inner.offset !== -1 && inner.result instanceof asn1js.OctetString) got = Buffer.from(inner.result.valueBlock.valueHexView)
    } catch {
      // bare bytes
    }
    if (!got.equals(req.nonce) && !raw.equals(req.nonce)) ocspError('the OCSP response carries another nonce than the request (a replayed response)')
    nonce = 'match'
  }

  const single = data.responses.find((r) =>
    certIdKey(r.certID.issuerNameHash.valueBlock.valueHexView, r.certID.issuerKeyHash.valueBlock.valueHexView, r.certID.serialNumber.valueBlock.valueHexView) === req.certIdKey
    && r.certID.hashAlgorithm.algorithmId === OID_SHA1,
  )
  if (!single) return ocspError('the OCSP response has no answer for the certificate asked about')
  const cs = single.certStatus as asn1js.Primitive | asn1js.Constructed
  const tag = cs.idBlock.tagNumber
  let status: OcspCertStatus
  let revokedAtMs: number | undefined
  if (tag === 0) status = 'good'
  else if (tag === 1) {
    status = 'revoked'
    const first = (cs as asn1js.Constructed).valueBlock.value?.[0]
    if (first instanceof asn1js.GeneralizedTime) revokedAtMs = first.toDate().getTime()
  } else status = 'unknown'
  return {
    status,
    ...(revokedAtMs !== undefined ? { revokedAtMs } : {}),
    thisUpdateMs: single.thisUpdate.getTime(),
    ...(single.nextUpdate ? { nextUpdateMs: single.nextUpdate.getTime() } : {}),
    producedAtMs: data.producedAt.getTime(),
    nonce,
    responder: responder!,
  }
}
