/**
 * RFC 3161 time-stamp tokens: requests, responses and token verification, modelled with PKI.js/asn1js (TimeStampReq,
 * TimeStampResp, TSTInfo) and checked with node:crypto; no I/O (tsa-client.ts sends the requests).
 *
 * A token is a CMS SignedData whose content is a TSTInfo (id-ct-TSTInfo). `verifyTimestampToken` checks, in order:
 *   1. structure: one SignerInfo, eContentType id-ct-TSTInfo, content-type and message-digest signed attributes,
 *      the digest equal to the hash of the TSTInfo bytes, a SigningCertificate(-V2) attribute (RFC 3161 §2.4.2,
 *      RFC 5816) naming the signer certificate;                                              → TIMESTAMP_INVALID
 *   2. the signature over the signed attributes with the TSA certificate's key (carried in the token, or given in
 *      the TSA trust as an intermediate or anchor);                                          → TIMESTAMP_INVALID
 *   3. the message imprint: the hash (by the token's algorithm: SHA-256/384/512) of the data it must cover — for a
 *      signature timestamp the SignerInfo's signature value (RFC 5652 §11.4 / CAdES), for a log anchor the chain
 *      head hash; the nonce and the policy when the caller sent them;                        → TIMESTAMP_MISMATCH
 *   4. the TSA: its certificate chains to a configured TSA trust anchor (each issuer's signature, CA and keyCertSign),
 *      every certificate of the path valid at genTime (± skew), and the TSA certificate's extendedKeyUsage is
 *      critical and exactly id-kp-timeStamping (RFC 3161 §2.3).                                → TIMESTAMP_UNTRUSTED
 * The TSA certificate's own revocation status is not checked.
 */
import { createHash, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { gwError, isGatewayError } from '../errors.js'
import { parseCertificate, parseCertificates, type CertInfo } from './certs.js'
import { parseCms, parseSignedAttributes } from './cms.js'
import { bytesEqual, children, encodeOid, encodeTlv, oidBytes, readTlv, TAG, value, whole } from './der.js'
import { LruCache } from './lru.js'
import { DIGEST_BY_OID, OID, SIGNATURE_BY_OID } from './oids.js'

export const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4'
/** id-aa-signatureTimeStampToken: the unsigned attribute of a CAdES-T signature. */
export const OID_SIGNATURE_TIMESTAMP = '1.2.840.113549.1.9.16.2.14'
export const OID_KP_TIMESTAMPING = '1.3.6.1.5.5.7.3.8'
const OID_EKU = '2.5.29.37'
const SIGNATURE_TIMESTAMP_BYTES = oidBytes(OID_SIGNATURE_TIMESTAMP)
const MAX_PATH = 6
const MAX_TOKEN_CERTS = 8

export type TimestampFailure = 'TIMESTAMP_INVALID' | 'TIMESTAMP_MISMATCH' | 'TIMESTAMP_UNTRUSTED'

/** What a verified (or refused) token says. */
export interface TimestampCheck {
  readonly ok: boolean
  readonly code?: TimestampFailure
  readonly reason?: string
  /** TSTInfo.genTime, ISO 8601 (when the token could be read). */
  readonly genTime?: string
  readonly genTimeMs?: number
  /** The TSA certificate's subject (when found). */
  readonly tsa?: string
  readonly serial?: string
  readonly policy?: string
  readonly hashAlgorithm?: string
}

export interface TimestampRequest {
  readonly der: Buffer
  readonly nonce: Buffer
  readonly digest: Buffer
  readonly policy?: string
}

/** TSA trust anchors and intermediates, parsed once. */
export interface TsaTrust {
  readonly anchors: readonly CertInfo[]
  readonly intermediates: readonly CertInfo[]
  /** Clock-skew allowance on certificate validity at genTime. */
  readonly skewMs: number
  /** Parsed token certificates by their hash (bounded). */
  readonly certCache: LruCache<CertInfo>
  /** Per TSA certificate (and the certificates offered with it): its EKU verdict and path, time-independent facts. */
  readonly pathCache: LruCache<{ eku: boolean; path: CertInfo[] | string }>
  /**
   * Results by (token, what it must cover, nonce, policy): every check depends only on those bytes and this trust
   * (validity is judged at the genTime inside the token), so a result is reused as it is.
   */
  readonly resultCache: LruCache<TimestampCheck>
}

type Bundle = string | Uint8Array | readonly Uint8Array[]

export function createTsaTrust(o: { anchors: Bundle; intermediates?: Bundle; skewMs?: number }): TsaTrust {
  const anchors = parseCertificates(o.anchors, 'TSA trust anchor')
  if (anchors.length === 0) throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what: 'TSA trust anchors', reason: 'no certificate given' })
  return {
    anchors,
    intermediates: parseCertificates(o.intermediates, 'TSA intermediate'),
    skewMs: o.skewMs ?? 5 * 60_000,
    certCache: new LruCache<CertInfo>(256, 60 * 60_000, () => Date.now()),
    pathCache: new LruCache<{ eku: boolean; path: CertInfo[] | string }>(256, 60 * 60_000, () => Date.now()),
    resultCache: new LruCache<TimestampCheck>(4096, 10 * 60_000, () => Date.now()),
  }
}

/** A TimeStampReq (RFC 3161 §2.4.1) over a SHA-256 digest, with a 64-bit nonce and certReq. */
export function buildTimestampRequest(digest: Uint8Array, opts: { policy?: string; certReq?: boolean } = {}): TimestampRequest {
  if (digest.length !== 32) throw gwError('GW_ERR_SIGNATURE_TSA', { reason: 'the message imprint must be a SHA-256 digest' })
  const nonce = randomBytes(8)
  nonce[0] = (nonce[0]! & 0x7f) | 0x01 // positive, minimal INTEGER
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: digest }),
    }),
    nonce: new asn1js.Integer({ valueHex: nonce }),
    certReq: opts.certReq ?? true,
    ...(opts.policy !== undefined ? { reqPolicy: opts.policy } : {}),
  })
  return { der: Buffer.from(req.toSchema().toBER(false)), nonce, digest: Buffer.from(digest), ...(opts.policy !== undefined ? { policy: opts.policy } : {}) }
}

const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification']
const FAIL_INFO: Record<number, string> = { 0: 'badAlg', 2: 'badRequest', 5: 'badDataFormat', 14: 'timeNotAvailable', 15: 'unacceptedPolicy', 16: 'unacceptedExtension', 17: 'addInfoNotAvailable', 25: 'systemFailure' }

/**
 * The token of a TimeStampResp, its exact bytes; GW_ERR_SIGNATURE_TSA when the TSA did not grant one.
 * The token itself is checked by `verifyTimestampToken`.
 */
export function timestampTokenOf(respDer: Uint8Array): Buffer {
  let resp: pkijs.TimeStampResp
  try {
    resp = pkijs.TimeStampResp.fromBER(respDer)
  } catch (e) {
    throw gwError('GW_ERR_SIGNATURE_TSA', { reason: `the answer is not a TimeStampResp (${(e as Error).message})` })
  }
  const st = resp.status.status
  if (st !== 0 && st !== 1) {
    const texts = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ')
    const bits = resp.status.failInfo ? Buffer.from(resp.status.failInfo.valueBlock.valueHexView) : Buffer.alloc(0)
    const fails = Object.entries(FAIL_INFO).filter(([bit]) => (bits[Number(bit) >> 3] ?? 0) & (0x80 >> (Number(bit) & 7))).map(([, n]) => n)
    throw gwError('GW_ERR_SIGNATURE_TSA', { reason: `the TSA answered ${PKI_STATUS[st] ?? st}${fails.length ? ` (${fails.join(', ')})` : ''}${texts ? `: ${texts}` : ''}` })
  }
  const top = readTlv(respDer, 0, respDer.length)
  const parts = children(respDer, top)
  if (parts.length < 2) throw gwError('GW_ERR_SIGNATURE_TSA', { reason: 'the TSA granted the request but sent no token' })
  return Buffer.from(whole(respDer, parts[1]!))
}

/** Options of one token check. */
export interface TokenExpectations {
  /** The bytes the token must cover (its imprint is their hash by the token's own algorithm). */
  data?: Uint8Array
  /** Or the SHA-256 digest it must carry (data already hashed, as a log head hash). */
  sha256?: Uint8Array
  /** The nonce of our request (outgoing only). */
  nonce?: Uint8Array
  /** The policy OID we asked for (outgoing only). */
  policy?: string
}

const fail = (code: TimestampFailure, reason: string, facts: Omit<Partial<TimestampCheck>, 'ok'> = {}): TimestampCheck => ({ ...facts, ok: false, code, reason })

function certInfo(trust: TsaTrust, der: Uint8Array): CertInfo {
  const k = createHash('sha256').update(der).digest('base64')
  let c = trust.certCache.get(k)
  if (!c) {
    c = parseCertificate(der, 'timestamp token certificate')
    trust.certCache.set(k, c)
  }
  return c
}

/** Extended key usage of a certificate: its purposes and whether the extension is critical. */
function extendedKeyUsage(c: CertInfo): { critical: boolean; purposes: string[] } | undefined {
  const cert = pkijs.Certificate.fromBER(c.der)
  const ext = cert.extensions?.find((e) => e.extnID === OID_EKU)
  if (!ext) return undefined
  const eku = ext.parsedValue as pkijs.ExtKeyUsage | undefined
  return { critical: ext.critical, purposes: eku?.keyPurposes ?? [] }
}

function pathToAnchor(leaf: CertInfo, pool: readonly CertInfo[], trust: TsaTrust): CertInfo[] | string {
  const isAnchor = (c: CertInfo) => trust.anchors.some((a) => a.sha256 === c.sha256)
  const chain = [leaf]
  let cur = leaf
  for (;;) {
    if (isAnchor(cur)) return chain
    if (chain.length > MAX_PATH) return `path longer than ${MAX_PATH} certificates`
    const named = (c: CertInfo) => bytesEqual(c.subjectDer, cur.issuerDer) && !chain.some((x) => x.sha256 === c.sha256)
    const candidates = [...trust.anchors.filter(named), ...pool.filter(named)]
    const issuer = candidates.find((c) => {
      try {
        return cur.x509.verify(c.publicKey)
      } catch {
        return false
      }
    })
    if (!issuer) return `${cur.summary.subject} is not issued by a TSA trust anchor (issuer ${cur.summary.issuer})`
    if (!issuer.isCA) return `issuer ${issuer.summary.subject} is not a CA`
    if (issuer.keyUsage && !issuer.keyUsage.has('keyCertSign')) return `issuer ${issuer.summary.subject} lacks keyCertSign`
    chain.push(issuer)
    cur = issuer
  }
}

function signatureOk(hash: string, alg: string, signed: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  const a = SIGNATURE_BY_OID[alg]
  if (!a || (a.hash && a.hash !== hash) || a.key !== key.asymmetricKeyType) return false
  try {
    return nodeVerify(hash, signed, a.key === 'ec' ? { key, dsaEncoding: 'der' } : key, sig)
  } catch {
    return false
  }
}

/** Checks a time-stamp token (the exact DER of its ContentInfo); never throws. */
export function verifyTimestampToken(token: Uint8Array, expect: TokenExpectations, trust: TsaTrust): TimestampCheck {
  const h = createHash('sha256').update(token)
  for (const part of [expect.data, expect.sha256, expect.nonce]) h.update(part ? createHash('sha256').update(part).digest() : Buffer.alloc(32))
  const key = h.update(expect.policy ?? '').digest('base64')
  const hit = trust.resultCache.get(key)
  if (hit) return hit
  let r: TimestampCheck
  try {
    r = check(token, expect, trust)
  } catch (e) {
    r = fail('TIMESTAMP_INVALID', `the timestamp token cannot be read: ${isGatewayError(e) ? e.message : (e as Error).message}`)
  }
  trust.resultCache.set(key, Object.freeze(r))
  return r
}

function check(token: Uint8Array, expect: TokenExpectations, trust: TsaTrust): TimestampCheck {
  // 1. Structure and the TSTInfo.
  const p = parseCms(token)
  if (p.signerCount !== 1) return fail('TIMESTAMP_INVALID', `the token has ${p.signerCount} SignerInfos; one is expected`)
  if (!bytesEqual(p.eContentType, oidBytes(OID_TST_INFO)) || !p.eContent) return fail('TIMESTAMP_INVALID', 'the token does not encapsulate a TSTInfo')
  if (p.certificates.length > MAX_TOKEN_CERTS) return fail('TIMESTAMP_INVALID', `the token carries ${p.certificates.length} certificates`)
  const tst = pkijs.TSTInfo.fromBER(p.eContent)
  const genTimeMs = tst.genTime.getTime()
  if (!Number.isFinite(genTimeMs)) return fail('TIMESTAMP_INVALID', 'the token has no valid genTime')
  const imprintAlg = tst.messageImprint.hashAlgorithm.algorithmId
  const facts: { -readonly [K in keyof Omit<TimestampCheck, 'ok'>]: TimestampCheck[K] } = {
    genTime: new Date(genTimeMs).toISOString(),
    genTimeMs,
    serial: Buffer.from(tst.serialNumber.valueBlock.valueHexView).toString('hex').toUpperCase(),
    policy: tst.policy,
    hashAlgorithm: DIGEST_BY_OID[imprintAlg] ?? imprintAlg,
  }
  const hash = DIGEST_BY_OID[p.digestAlgorithm]
  if (!hash) return fail('TIMESTAMP_INVALID', `the token's digest algorithm ${p.digestAlgorithm} is not supported`, facts)
  if (!p.signedAttrs) return fail('TIMESTAMP_INVALID', 'the token has no signed attributes', facts)
  const attrs = parseSignedAttributes(p.signedAttrs)
  if (!attrs.contentType || !bytesEqual(attrs.contentType, p.eContentType)) return fail('TIMESTAMP_INVALID', 'the token\'s signed content-type is not id-ct-TSTInfo', facts)
  if (!attrs.messageDigest || !bytesEqual(attrs.messageDigest, createHash(hash).update(p.eContent).digest())) {
    return fail('TIMESTAMP_INVALID', 'the token\'s message-digest does not match its TSTInfo (the token was altered)', facts)
  }

  // 2. The TSA certificate and the signature.
  const carried = p.certificates.map((d) => certInfo(trust, d))
  const pool = [...carried, ...trust.intermediates, ...trust.anchors]
  const signer = pool.find((c) =>
    p.sid.kind === 'ski'
      ? c.ski !== undefined && bytesEqual(c.ski, p.sid.bytes)
      : p.sid.bytes.length === c.issuerDer.length + c.serialDer.length && bytesEqual(p.sid.bytes.subarray(0, c.issuerDer.length), c.issuerDer) && bytesEqual(p.sid.bytes.subarray(c.issuerDer.length), c.serialDer),
  )
  if (!signer) return fail('TIMESTAMP_UNTRUSTED', 'the TSA certificate is neither in the token nor configured (trust.tsa.anchorsPaths / intermediatesPaths)', facts)
  facts.tsa = signer.summary.subject
  if (!signatureOk(hash, p.signatureAlgorithm, p.signedAttrs, p.signature, signer.publicKey)) {
    return fail('TIMESTAMP_INVALID', `the token's signature does not verify with the key of ${signer.summary.subject}`, facts)
  }
  const ess = attrs.essV2
    ? DIGEST_BY_OID[attrs.essV2.hashAlg] && bytesEqual(createHash(DIGEST_BY_OID[attrs.essV2.hashAlg]!).update(signer.der).digest(), attrs.essV2.hash)
    : attrs.essV1
      ? bytesEqual(createHash('sha1').update(signer.der).digest(), attrs.essV1.hash)
      : undefined
  if (ess === undefined) return fail('TIMESTAMP_INVALID', 'the token has no signing-certificate attribute (RFC 3161 §2.4.2)', facts)
  if (!ess) return fail('TIMESTAMP_INVALID', 'the token\'s signing-certificate attribute names another certificate than its signer', facts)

  // 3. What it covers.
  const imprintHash = DIGEST_BY_OID[imprintAlg]
  if (!imprintHash) return fail('TIMESTAMP_INVALID', `the token's message imprint algorithm ${imprintAlg} is not supported`, facts)
  const hashed = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView)
  if (expect.data !== undefined) {
    if (!hashed.equals(createHash(imprintHash).update(expect.data).digest())) return fail('TIMESTAMP_MISMATCH', 'the timestamp token covers other data than this signature', facts)
  } else if (expect.sha256 !== undefined) {
    if (imprintHash !== 'sha256' || !hashed.equals(Buffer.from(expect.sha256))) return fail('TIMESTAMP_MISMATCH', 'the timestamp token covers another hash', facts)
  } else return fail('TIMESTAMP_MISMATCH', 'nothing to compare the token\'s imprint with', facts)
  if (expect.nonce !== undefined) {
    const got = tst.nonce ? Buffer.from(tst.nonce.valueBlock.valueHexView) : undefined
    if (!got || !got.equals(Buffer.from(expect.nonce))) return fail('TIMESTAMP_MISMATCH', got ? 'the token carries another nonce than the request (a replayed answer)' : 'the token carries no nonce', facts)
  }
  if (expect.policy !== undefined && tst.policy !== expect.policy) return fail('TIMESTAMP_MISMATCH', `the token's policy ${tst.policy} is not the policy asked for (${expect.policy})`, facts)

  // 4. The TSA is trusted at genTime and may stamp.
  const key = [signer.sha256, ...carried.map((c) => c.sha256)].join(':')
  let known = trust.pathCache.get(key)
  if (!known) {
    const eku = extendedKeyUsage(signer)
    known = {
      eku: eku !== undefined && eku.critical && eku.purposes.length === 1 && eku.purposes[0] === OID_KP_TIMESTAMPING,
      path: pathToAnchor(signer, [...carried, ...trust.intermediates], trust),
    }
    trust.pathCache.set(key, known)
  }
  if (!known.eku) {
    return fail('TIMESTAMP_UNTRUSTED', `the certificate of ${signer.summary.subject} is not a TSA certificate (extendedKeyUsage must be critical and only id-kp-timeStamping)`, facts)
  }
  const path = known.path
  if (typeof path === 'string') return fail('TIMESTAMP_UNTRUSTED', path, facts)
  for (const c of path) {
    if (genTimeMs < c.notBeforeMs - trust.skewMs || genTimeMs > c.notAfterMs + trust.skewMs) {
      return fail('TIMESTAMP_UNTRUSTED', `certificate ${c.summary.subject} (valid ${c.summary.notBefore} to ${c.summary.notAfter}) was not valid at the token's time ${facts.genTime}`, facts)
    }
  }
  return { ok: true, ...facts }
}

// ---- CAdES-T: the token as an unsigned attribute ------------------------------------------------------

/** The signature value of the one SignerInfo of a CMS (what a signature timestamp covers). */
export function signatureValueOf(cms: Uint8Array): Uint8Array {
  return parseCms(cms).signature
}

/** The first signature timestamp token among the unsigned attributes of a CMS's SignerInfo, if any. */
export function signatureTimestampOf(unsignedAttrs: Uint8Array | undefined): { token?: Uint8Array; count: number } {
  if (!unsignedAttrs) return { count: 0 }
  let p = 0
  let token: Uint8Array | undefined
  let count = 0
  while (p < unsignedAttrs.length) {
    const attr = readTlv(unsignedAttrs, p, unsignedAttrs.length)
    p = attr.end
    if (attr.tag !== TAG.SEQUENCE) continue
    const [typeT, valuesT] = children(unsignedAttrs, attr)
    if (!typeT || !valuesT || typeT.tag !== TAG.OID || valuesT.tag !== TAG.SET) continue
    if (!bytesEqual(value(unsignedAttrs, typeT), SIGNATURE_TIMESTAMP_BYTES)) continue
    for (const v of children(unsignedAttrs, valuesT)) {
      count++
      token ??= whole(unsignedAttrs, v)
    }
  }
  return { ...(token ? { token } : {}), count }
}

/**
 * The CMS with `token` added to its SignerInfo as an id-aa-signatureTimeStampToken unsigned attribute. Everything
 * else keeps its bytes (the signature covers only the signed attributes, so it stays valid).
 */
export function addSignatureTimestamp(cms: Uint8Array, token: Uint8Array): Buffer {
  const buf = cms
  const ci = readTlv(buf, 0, buf.length)
  const [ctT, wrapT] = children(buf, ci)
  const sdT = readTlv(buf, wrapT!.valueStart, wrapT!.end)
  const sdParts = children(buf, sdT)
  const infosT = sdParts[sdParts.length - 1]!
  if (infosT.tag !== TAG.SET) throw gwError('GW_ERR_SIGNATURE_MALFORMED', { reason: 'SignedData.signerInfos missing' })
  const infos = children(buf, infosT)
  if (infos.length !== 1) throw gwError('GW_ERR_SIGNATURE_MALFORMED', { reason: 'a timestamp is added to a CMS with exactly one SignerInfo' })
  const fields = children(buf, infos[0]!)
  const last = fields[fields.length - 1]!
  const attr = encodeTlv(TAG.SEQUENCE, encodeOid(OID_SIGNATURE_TIMESTAMP), encodeTlv(TAG.SET, token))
  const kept = fields.filter((f) => f !== last || f.tag !== TAG.CTX1).map((f) => whole(buf, f))
  const unsigned = last.tag === TAG.CTX1 ? encodeTlv(TAG.CTX1, value(buf, last), attr) : encodeTlv(TAG.CTX1, attr)
  const signerInfo = encodeTlv(TAG.SEQUENCE, ...kept, unsigned)
  const signedData = encodeTlv(TAG.SEQUENCE, ...sdParts.slice(0, -1).map((f) => whole(buf, f)), encodeTlv(TAG.SET, signerInfo))
  return encodeTlv(TAG.SEQUENCE, whole(buf, ctT!), encodeTlv(TAG.CTX0, signedData))
}
