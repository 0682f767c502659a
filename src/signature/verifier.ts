/**
 * Verification of detached CMS signatures, returning a verdict (see verdict.ts and README.md).
 *
 * Per call: walk the CMS DER (cms.ts), decode the signed attributes, hash the content with node:crypto, look up
 * what is known about the embedded certificates by the hash of their bytes, verify the signature with node:crypto
 * and apply every time-dependent check (signing time within range of the validation time, validity of the path and
 * CRL freshness at the validation time, sender).
 *
 * Time (see README.md, "Time"): without a trusted timestamp the signing-time attribute is only the signer's claim, so
 * validity is judged at the validation time: the time of receipt (`receivedAt`, default the verifier's clock) or a
 * time the caller asks for explicitly (`validationTime`). The signing time must lie within `signingTimeMaxPastMs`
 * before and `signingTimeMaxFutureMs` after the validation time.
 * Cold path (certificates not in the cache): parse each certificate with node's X509Certificate and PKI.js, find
 * the signer, build and validate the path to a trust anchor; the result (never a time-dependent judgement) is cached.
 */
import { createHash, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { gwError, isGatewayError } from '../errors.js'
import { derList, parseCertificate, parseCertificates, type CertInfo } from './certs.js'
import { crlSignedBy, parseCrls, type CrlInfo } from './crl.js'
import { parseCms, parseSignedAttributes, type ParsedCms } from './cms.js'
import { bytesEqual } from './der.js'
import { LruCache } from './lru.js'
import type { RevocationChecker, RevocationSourceName, SourceStatus } from './revocation.js'
import { createBinding, type Binding, type BindingRule } from './binding.js'
import { DIGEST_BY_OID, OID, SIGNATURE_BY_OID } from './oids.js'
import { createTsaTrust, signatureTimestampOf, verifyTimestampToken, type TsaTrust } from './tsa.js'
import type { RevocationResult, Verdict, VerdictCode } from './verdict.js'

type Bundle = string | Uint8Array | readonly Uint8Array[]

export interface VerifierOptions {
  /** Trust anchors: a PEM bundle, or DER/PEM byte arrays. */
  trustAnchors: Bundle
  /** Extra intermediates, used besides the certificates carried in the CMS. */
  intermediates?: Bundle
  /** CRLs (PEM bundle or DER/PEM byte arrays); replace them later with `setCrls`. */
  crls?: Bundle
  /** Cache of what was learnt from certificates: `max` entries (default 1000; 0 disables), `ttlMs` (default 10 min). */
  cache?: { max?: number; ttlMs?: number }
  /** Clock (default `() => new Date()`). */
  now?: () => Date
  /**
   * Clock-skew allowance applied to certificate validity bounds and CRL nextUpdate at the validation time
   * (default 5 min; config `trust.clockSkewMs`).
   */
  clockSkewMs?: number
  /** Oldest accepted signing time, before the validation time (default 24 h; config `trust.signingTimeMaxPastMs`). */
  signingTimeMaxPastMs?: number
  /** Latest accepted signing time, after the validation time (default 5 min; config `trust.signingTimeMaxFutureMs`). */
  signingTimeMaxFutureMs?: number
  /**
   * What an expired CRL (nextUpdate passed) means for a certificate it does not list: `unknown` (default:
   * revocation status `unknown`, the verdict stays valid, the message says the CRL is stale) or `fail`
   * (code CRL_EXPIRED). A serial listed in a stale CRL is REVOKED either way.
   */
  staleCrl?: 'unknown' | 'fail'
  /**
   * Revocation fetched online (revocation.ts), tried per certificate in `order` (default OCSP then CRL; `crl` means
   * a current CRL from `crls`, else one fetched from the certificate's distribution points). When no source gives a
   * status: `onUnavailable: 'fail'` (default) is REVOCATION_UNAVAILABLE, `'accept'` a valid verdict with
   * revocation `unknown` and `unavailable: true`. Without this option only the CRL files are used (see `staleCrl`).
   */
  revocation?: { checker: RevocationChecker; order?: readonly RevocationSourceName[]; onUnavailable?: 'fail' | 'accept' }
  /** How a certificate names its agency for `expectedOrganId` (binding.ts); default the subject UID. */
  binding?: BindingRule
  /**
   * Roots (and intermediates) a TSA must chain to for a signature timestamp token (CAdES-T, tsa.ts) to be relied
   * on: a valid token moves the validation time to its genTime (`timeSource: 'timestamp'`); a token that is
   * invalid, over other data or from another TSA is refused (TIMESTAMP_*). Without it tokens are reported as
   * `not-checked` and the time of receipt rules.
   */
  tsa?: { trustAnchors: Bundle; intermediates?: Bundle }
}

export interface VerifyOptions {
  /** The sender's OrganId (edXML From/OrganId): the signer certificate's subject UID must equal it (case-insensitive). */
  expectedOrganId?: string
  /**
   * When the gateway received the content (its own record, e.g. a stored package verified again later): the
   * validation time, `timeSource: 'receipt'`. Default: the verifier's clock.
   */
  receivedAt?: Date
  /** Judge validity at this time instead, as the caller explicitly asked (`timeSource: 'explicit'`). */
  validationTime?: Date
}

export interface Verifier {
  /** With `revocation` configured, fetches what it needs (OCSP, CRLs) before judging revocation. */
  verify(content: Uint8Array, cms: Uint8Array, opts?: VerifyOptions): Promise<Verdict>
  /** Never does I/O: revocation from the CRL files only. */
  verifySync(content: Uint8Array, cms: Uint8Array, opts?: VerifyOptions): Verdict
  /** Replaces the CRL set; cached revocation results are recomputed on next use. */
  setCrls(crls: Bundle | undefined): void
  /** Cache counters (chain entries). */
  stats(): { hits: number; misses: number; entries: number }
  clearCache(): void
}

/** What is cached per (certificate set, signer identifier). Time-independent facts only. */
interface Entry {
  readonly signer?: CertInfo
  /** Signer first, anchor last, when a valid path was found. */
  readonly chain?: readonly CertInfo[]
  readonly chainError?: string
  /** Valid for validation times in (validFromMs, validUntilMs]: the same CRLs are current or stale there. */
  revocation?: { gen: number; validFromMs: number; validUntilMs: number; result: RevocationResult; code?: 'REVOKED' | 'CRL_EXPIRED' | 'REVOCATION_UNAVAILABLE'; message?: string }
}

/** Defaults of the time rules (the config keys under `trust` have the same defaults). */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000
export const DEFAULT_SIGNING_TIME_MAX_PAST_MS = 24 * 3_600_000
export const DEFAULT_SIGNING_TIME_MAX_FUTURE_MS = 5 * 60_000

const DEFAULT_MAX = 1000
const DEFAULT_TTL = 10 * 60_000
const MAX_PATH = 8
/** A sender's CMS holds its certificate and chain; more is refused before any certificate is parsed. */
const MAX_CMS_CERTIFICATES = 16

const iso = (ms: number): string => new Date(ms).toISOString()
/** Verdicts that reached the revocation step: online revocation may change them. */
const ONLINE_AFTER: ReadonlySet<VerdictCode> = new Set(['VALID', 'REVOKED', 'CRL_EXPIRED', 'SENDER_MISMATCH'])
const serialHex = (c: CertInfo): string => {
  // INTEGER content octets, as in the CRL map.
  const d = c.serialDer
  const lenOctets = d[1]! & 0x80 ? (d[1]! & 0x7f) + 2 : 2
  return d.subarray(lenOctets).toString('hex').toUpperCase()
}

class CmsVerifier implements Verifier {
  readonly #anchors: CertInfo[]
  readonly #anchorHashes: Set<string>
  readonly #intermediates: CertInfo[]
  #crls: CrlInfo[] = []
  #crlGen = 0
  readonly #crlOk = new Map<string, boolean>()
  readonly #entries: LruCache<Entry>
  readonly #certs: LruCache<CertInfo>
  readonly #now: () => Date
  readonly #skew: number
  readonly #maxPast: number
  readonly #maxFuture: number
  readonly #staleCrl: 'unknown' | 'fail'
  readonly #binding: Binding
  readonly #tsa: TsaTrust | undefined
  readonly #online: { checker: RevocationChecker; order: readonly RevocationSourceName[]; onUnavailable: 'fail' | 'accept' } | undefined

  constructor(opts: VerifierOptions) {
    this.#anchors = parseCertificates(opts.trustAnchors, 'trust anchor')
    if (this.#anchors.length === 0) throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what: 'trust anchors', reason: 'no certificate given' })
    this.#anchorHashes = new Set(this.#anchors.map((a) => a.sha256))
    this.#intermediates = parseCertificates(opts.intermediates, 'intermediate')
    this.#now = opts.now ?? (() => new Date())
    this.#skew = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS
    this.#maxPast = opts.signingTimeMaxPastMs ?? DEFAULT_SIGNING_TIME_MAX_PAST_MS
    this.#maxFuture = opts.signingTimeMaxFutureMs ?? DEFAULT_SIGNING_TIME_MAX_FUTURE_MS
    this.#staleCrl = opts.staleCrl ?? 'unknown'
    this.#binding = createBinding(opts.binding)
    this.#tsa = opts.tsa ? createTsaTrust({ anchors: opts.tsa.trustAnchors, ...(opts.tsa.intermediates !== undefined ? { intermediates: opts.tsa.intermediates } : {}), skewMs: this.#skew }) : undefined
    this.#online = opts.revocation
      ? { checker: opts.revocation.checker, order: opts.revocation.order ?? ['ocsp', 'crl'], onUnavailable: opts.revocation.onUnavailable ?? 'fail' }
      : undefined
    const max = opts.cache?.max ?? DEFAULT_MAX
    const ttl = opts.cache?.ttlMs ?? DEFAULT_TTL
    const nowMs = () => this.#now().getTime()
    this.#entries = new LruCache<Entry>(max, ttl, nowMs)
    this.#certs = new LruCache<CertInfo>(max, ttl, nowMs)
    this.setCrls(opts.crls)
  }

  setCrls(crls: Bundle | undefined): void {
    this.#crls = parseCrls(crls).filter((c) => !c.isDelta)
    this.#crlGen++
    this.#crlOk.clear()
  }

  stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#entries.hits, misses: this.#entries.misses, entries: this.#entries.size }
  }

  clearCache(): void {
    this.#entries.clear()
    this.#certs.clear()
  }

  async verify(content: Uint8Array, cms: Uint8Array, opts: VerifyOptions = {}): Promise<Verdict> {
    const first = this.#guarded(content, cms, opts)
    // Online revocation only for a signature that passed every check before revocation; a certificate listed in
    // a CRL file stays revoked whatever another source says.
    if (!this.#online || !ONLINE_AFTER.has(first.code) || first.code === 'REVOKED') return first
    try {
      const entry = this.#lookup(parseCms(cms))
      const chain = entry.chain
      if (!chain || chain.length < 2) return first
      const statuses = await Promise.all(chain.slice(0, -1).map((c, i) => this.#onlineStatus(c, chain[i + 1]!)))
      return this.#guarded(content, cms, opts, statuses)
    } catch (e) {
      return verdict(false, 'MALFORMED', `cannot verify: ${isGatewayError(e) ? e.message : String(e)}`)
    }
  }

  /** One certificate's status from the sources in order; the first good or revoked answer wins. */
  async #onlineStatus(cert: CertInfo, issuer: CertInfo): Promise<SourceStatus> {
    const online = this.#online!
    const reasons: string[] = []
    for (const src of online.order) {
      if (src === 'ocsp') {
        const r = await online.checker.ocsp(cert, issuer)
        if (r.status !== 'unavailable') return r
        reasons.push(r.source)
        continue
      }
      const file = this.#crlFor(issuer)
      const nowMs = this.#now().getTime()
      if (file) {
        const label = `CRL file of ${file.issuer} (thisUpdate ${iso(file.thisUpdateMs)})`
        const revokedAt = file.revoked.get(serialHex(cert))
        if (revokedAt !== undefined) return { status: 'revoked', source: label, revokedAtMs: revokedAt }
        if (file.thisUpdateMs <= nowMs + this.#skew && (file.nextUpdateMs === undefined || nowMs <= file.nextUpdateMs + this.#skew)) return { status: 'good', source: label }
        reasons.push(`${label}: not current`)
      }
      const r = await online.checker.crl(cert, issuer)
      if (r.status !== 'unavailable') return r
      reasons.push(r.source)
    }
    return { status: 'unavailable', source: `no revocation status for ${cert.summary.subject}: ${reasons.join('; ') || 'no source configured'}` }
  }

  verifySync(content: Uint8Array, cms: Uint8Array, opts: VerifyOptions = {}): Verdict {
    return this.#guarded(content, cms, opts)
  }

  #guarded(content: Uint8Array, cms: Uint8Array, opts: VerifyOptions, online?: readonly SourceStatus[]): Verdict {
    try {
      return this.#verify(content, cms, opts, online)
    } catch (e) {
      // Hostile input must yield a verdict, never an exception that the pipeline could mistake for a retryable error.
      return verdict(false, 'MALFORMED', `cannot verify: ${isGatewayError(e) ? e.message : String(e)}`)
    }
  }

  #verify(content: Uint8Array, cms: Uint8Array, opts: VerifyOptions, online?: readonly SourceStatus[]): Verdict {
    const explicit = opts.validationTime !== undefined
    let atMs = (opts.validationTime ?? opts.receivedAt ?? this.#now()).getTime()
    if (!Number.isFinite(atMs)) return verdict(false, 'MALFORMED', `the ${explicit ? 'validation' : 'receipt'} time is not a valid date`)
    const receiptMs = explicit ? (opts.receivedAt ?? this.#now()).getTime() : atMs
    let time: Partial<Verdict> = { validationTime: iso(atMs), timeSource: explicit ? 'explicit' : 'receipt' }
    const fail = (code: VerdictCode, message: string, extra: Partial<Verdict> = {}): Verdict => verdict(false, code, message, { ...time, ...extra })

    // 1. Structure.
    let p: ParsedCms
    try {
      p = parseCms(cms)
    } catch (e) {
      return fail('MALFORMED', isGatewayError(e) ? e.message : `cannot read CMS: ${String(e)}`)
    }
    if (p.signerCount !== 1) return fail('MALFORMED', `the CMS has ${p.signerCount} SignerInfos; exactly one is expected`)
    if (p.hasEContent) return fail('MALFORMED', 'the CMS encapsulates its content; a detached signature is expected')
    if (p.certificates.length > MAX_CMS_CERTIFICATES) {
      return fail('MALFORMED', `the CMS carries ${p.certificates.length} certificates; at most ${MAX_CMS_CERTIFICATES} are accepted`)
    }

    // 2. Algorithms.
    const hash = DIGEST_BY_OID[p.digestAlgorithm]
    if (!hash) return fail('UNSUPPORTED_ALGORITHM', `digest algorithm ${p.digestAlgorithm} is not supported (use SHA-256)`)
    const sigAlg = SIGNATURE_BY_OID[p.signatureAlgorithm]
    if (!sigAlg) return fail('UNSUPPORTED_ALGORITHM', `signature algorithm ${p.signatureAlgorithm} is not supported (RSA PKCS#1 v1.5 or ECDSA)`)
    if (sigAlg.hash && sigAlg.hash !== hash) return fail('UNSUPPORTED_ALGORITHM', `signature algorithm hash ${sigAlg.hash} differs from digest algorithm ${hash}`)

    // 3. Signed attributes.
    if (!p.signedAttrs) return fail('MISSING_SIGNED_ATTRIBUTES', 'the SignerInfo has no signed attributes')
    let attrs
    try {
      attrs = parseSignedAttributes(p.signedAttrs)
    } catch (e) {
      return fail('MALFORMED', isGatewayError(e) ? e.message : String(e))
    }
    if (!attrs.contentType || !attrs.messageDigest) {
      return fail('MISSING_SIGNED_ATTRIBUTES', `signed attribute ${attrs.contentType ? 'message-digest' : 'content-type'} is missing`)
    }
    if (!bytesEqual(attrs.contentType, p.eContentType)) return fail('MALFORMED', 'signed content-type differs from eContentType')
    const signingTime = attrs.signingTime
    const base: Partial<Verdict> = signingTime ? { signingTime: signingTime.toISOString(), ...time } : time

    // 4. Certificates: cache lookup by their bytes, cold path otherwise.
    let entry: Entry
    try {
      entry = this.#lookup(p)
    } catch (e) {
      return fail('MALFORMED', isGatewayError(e) ? e.message : String(e), base)
    }
    const signer = entry.signer
    if (!signer) return fail('NO_SIGNER_CERTIFICATE', 'no certificate in the CMS (or the configured intermediates) matches the signer identifier', base)
    let facts: Partial<Verdict> = { ...base, signer: signer.summary, chain: entry.chain ? entry.chain.map((c) => c.summary) : [] }
    if (signer.keyType !== sigAlg.key) return fail('BAD_SIGNATURE', `signature algorithm is ${sigAlg.key} but the signer key is ${signer.keyType}`, facts)
    if (signer.keyType === 'rsa' && (signer.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      return fail('UNSUPPORTED_ALGORITHM', 'RSA keys under 2048 bits are not accepted', facts)
    }

    // 5. Content digest, then the signature over the signed attributes.
    const digest = createHash(hash).update(content).digest()
    if (!bytesEqual(digest, attrs.messageDigest)) return fail('DIGEST_MISMATCH', 'the content does not match the signed message digest', facts)
    let sigOk: boolean
    try {
      const key: KeyObject | { key: KeyObject; dsaEncoding: 'der' } = signer.keyType === 'ec' ? { key: signer.publicKey, dsaEncoding: 'der' } : signer.publicKey
      sigOk = nodeVerify(hash, p.signedAttrs, key, p.signature)
    } catch {
      sigOk = false
    }
    if (!sigOk) return fail('BAD_SIGNATURE', 'the signature over the signed attributes does not verify with the signer certificate key', facts)

    // 6. The signer certificate named in the signed attributes (ESS signing-certificate v2 / v1), when present.
    if (attrs.essV2) {
      const want = attrs.essV2.hashAlg === OID.sha256 ? Buffer.from(signer.sha256, 'hex') : essHash(attrs.essV2.hashAlg, signer.der)
      if (!want || !bytesEqual(want, attrs.essV2.hash)) return fail('SIGNING_CERTIFICATE_MISMATCH', 'signing-certificate-v2 names another certificate than the signer\'s', facts)
    } else if (attrs.essV1 && !bytesEqual(createHash('sha1').update(signer.der).digest(), attrs.essV1.hash)) {
      return fail('SIGNING_CERTIFICATE_MISMATCH', 'signing-certificate names another certificate than the signer\'s', facts)
    }

    // 6b. Signature timestamp (CAdES-T): a valid token from a trusted TSA is the validation time (unless the caller
    // asked for an explicit time); a bad one refuses the signature; without TSA trust it is only reported.
    let stamped = false
    const ts = signatureTimestampOf(p.unsignedAttrs)
    if (ts.token) {
      if (!this.#tsa) facts = { ...facts, timestamp: { verdict: 'not-checked', reason: 'no TSA trust anchors are configured (trust.tsa.anchorsPaths): the time of receipt rules' } }
      else {
        const c = verifyTimestampToken(ts.token, { data: p.signature }, this.#tsa)
        const tsFacts: NonNullable<Verdict['timestamp']> = {
          verdict: c.ok ? 'valid' : c.code!,
          ...(c.genTime !== undefined ? { genTime: c.genTime } : {}),
          ...(c.tsa !== undefined ? { tsa: c.tsa } : {}),
          ...(c.serial !== undefined ? { serial: c.serial } : {}),
          ...(c.policy !== undefined ? { policy: c.policy } : {}),
          ...(c.reason !== undefined ? { reason: c.reason } : {}),
        }
        facts = { ...facts, timestamp: tsFacts }
        if (!c.ok) return fail(c.code!, `signature timestamp token: ${c.reason}`, facts)
        if (c.genTimeMs! > receiptMs + this.#skew) {
          tsFacts.verdict = 'TIMESTAMP_INVALID'
          return fail('TIMESTAMP_INVALID', `the signature timestamp's time ${c.genTime} is after the time of receipt ${iso(receiptMs)}`, facts)
        }
        if (!explicit) {
          atMs = c.genTimeMs!
          stamped = true
          time = { validationTime: iso(atMs), timeSource: 'timestamp' }
          facts = { ...facts, ...time }
        }
      }
    }

    // 7. Signing time: only the signer's claim, so it must lie near the validation time.
    const at = `${explicit ? 'the requested validation time' : stamped ? 'the signature timestamp\'s time' : 'receipt'} ${iso(atMs)}`
    if (signingTime) {
      const stMs = signingTime.getTime()
      if (stMs > atMs + this.#maxFuture) return fail('SIGNING_TIME_IN_FUTURE', `signing time ${iso(stMs)} is after ${at} (by more than ${this.#maxFuture / 1000} s)`, facts)
      if (stMs < atMs - this.#maxPast) {
        return fail('SIGNING_TIME_OUT_OF_RANGE', `signing time ${iso(stMs)} is more than ${this.#maxPast / 3_600_000} h before ${at}${stamped ? '' : '; without a trusted timestamp it cannot be relied on'}`, facts)
      }
    }

    // 8. Path to a trust anchor (structure cached), validity of every certificate at the validation time.
    if (!entry.chain) return fail('UNTRUSTED_CHAIN', entry.chainError ?? 'no path to a trust anchor', facts)
    for (const c of entry.chain) {
      if (atMs < c.notBeforeMs - this.#skew) return fail('CERT_NOT_YET_VALID', `certificate ${c.summary.subject} is valid only from ${c.summary.notBefore}; validation time is ${at}`, facts)
      if (atMs > c.notAfterMs + this.#skew) return fail('CERT_EXPIRED', `certificate ${c.summary.subject} expired on ${c.summary.notAfter}; validation time is ${at}`, facts)
    }

    // 9. Key usage of the signer certificate.
    const ku = signer.keyUsage
    if (!ku || !(ku.has('digitalSignature') || ku.has('nonRepudiation'))) {
      return fail('KEY_USAGE', ku ? 'the signer certificate has neither digitalSignature nor nonRepudiation key usage' : 'the signer certificate has no keyUsage extension', facts)
    }

    // 10. Revocation: fetched online (statuses computed by `verify` before this call), else from the CRL files
    // (cached per CRL set generation and until the earliest nextUpdate).
    const rev = online ? this.#fromOnline(entry.chain, online, atMs) : this.#revocation(entry, entry.chain, atMs)
    const withRev: Partial<Verdict> = { ...facts, revocation: rev.result }
    if (rev.code) return fail(rev.code, rev.message ?? rev.code, withRev)

    // 11. Sender binding (trust.binding: table, subject attribute, pattern).
    if (opts.expectedOrganId !== undefined) {
      const bound = this.#binding.organIdOf(signer)
      const got = bound.organId
      withRev.binding = { ...(got !== undefined ? { organId: got } : {}), rule: bound.rule }
      if (got === undefined || got.toUpperCase() !== opts.expectedOrganId.toUpperCase()) {
        return fail('SENDER_MISMATCH', `the signer certificate names OrganId ${got ?? '(none)'} (${bound.rule}) but the sender is ${opts.expectedOrganId}`, withRev)
      }
    }
    const note = rev.result.status === 'good' ? '' : ` (revocation status ${rev.result.status}: ${rev.result.source ?? ''})`
    return verdict(true, 'VALID', `signature valid at ${at}, signed by ${signer.summary.subject}${note}`, { ...time, ...withRev })
  }

  // ---- cold path ----------------------------------------------------------------------------------------

  #certInfo(der: Uint8Array): CertInfo {
    const key = createHash('sha256').update(der).digest('base64')
    let c = this.#certs.get(key)
    if (!c) {
      c = parseCertificate(der, 'CMS certificate')
      this.#certs.set(key, c)
    }
    return c
  }

  #lookup(p: ParsedCms): Entry {
    const key = createHash('sha256').update(p.certificatesBlock).update(p.sid.kind).update(p.sid.bytes).digest('base64')
    const hit = this.#entries.get(key)
    if (hit) return hit
    const certs = p.certificates.map((d) => this.#certInfo(d))
    const pool = [...certs, ...this.#intermediates]
    const signer = pool.find((c) =>
      p.sid.kind === 'ski'
        ? c.ski !== undefined && bytesEqual(c.ski, p.sid.bytes)
        : p.sid.bytes.length === c.issuerDer.length + c.serialDer.length &&
          bytesEqual(p.sid.bytes.subarray(0, c.issuerDer.length), c.issuerDer) &&
          bytesEqual(p.sid.bytes.subarray(c.issuerDer.length), c.serialDer),
    )
    let entry: Entry
    if (!signer) entry = {}
    else {
      const path = this.#buildPath(signer, pool)
      entry = typeof path === 'string' ? { signer, chainError: path } : { signer, chain: path }
    }
    this.#entries.set(key, entry)
    return entry
  }

  /** Path from `leaf` to a trust anchor, checking signatures and CA constraints; an error message otherwise. */
  #buildPath(leaf: CertInfo, pool: readonly CertInfo[]): CertInfo[] | string {
    const chain = [leaf]
    let cur = leaf
    for (;;) {
      if (cur.unknownCritical.length && !this.#anchorHashes.has(cur.sha256)) {
        return `certificate ${cur.summary.subject} has unsupported critical extension(s) ${cur.unknownCritical.join(', ')}`
      }
      if (this.#anchorHashes.has(cur.sha256)) return chain
      if (chain.length > MAX_PATH) return `path longer than ${MAX_PATH} certificates`
      const named = (c: CertInfo) => bytesEqual(c.subjectDer, cur.issuerDer) || c.x509.subject === cur.x509.issuer
      const candidates = [...this.#anchors.filter(named), ...pool.filter((c) => named(c) && !chain.some((x) => x.sha256 === c.sha256) && !this.#anchorHashes.has(c.sha256))]
      if (candidates.length === 0) {
        return bytesEqual(cur.subjectDer, cur.issuerDer)
          ? `certificate ${cur.summary.subject} is self-issued and not a trust anchor`
          : `no issuer certificate found for ${cur.summary.subject} (issuer ${cur.summary.issuer})`
      }
      const issuer = candidates.find((c) => {
        try {
          return cur.x509.verify(c.publicKey)
        } catch {
          return false
        }
      })
      if (!issuer) return `the signature of ${cur.summary.subject} does not verify with the key of ${candidates[0]!.summary.subject}`
      if (!issuer.isCA) return `issuer ${issuer.summary.subject} is not a CA (basicConstraints)`
      if (issuer.keyUsage && !issuer.keyUsage.has('keyCertSign')) return `issuer ${issuer.summary.subject} lacks keyCertSign key usage`
      // Intermediates between this issuer and the leaf (self-issued ones not counted, RFC 5280 §4.2.1.9).
      const below = chain.slice(1).filter((c) => !bytesEqual(c.subjectDer, c.issuerDer)).length
      if (issuer.pathLen !== undefined && below > issuer.pathLen) return `path length constraint of ${issuer.summary.subject} exceeded`
      chain.push(issuer)
      cur = issuer
    }
  }

  // ---- revocation ---------------------------------------------------------------------------------------

  #fromOnline(chain: readonly CertInfo[], statuses: readonly SourceStatus[], atMs: number): NonNullable<Entry['revocation']> {
    const base = { gen: this.#crlGen, validFromMs: atMs, validUntilMs: atMs }
    const checkedAt = iso(this.#now().getTime())
    const revoked = statuses.findIndex((s) => s.status === 'revoked')
    if (revoked >= 0) {
      const c = chain[revoked]!
      const s = statuses[revoked]!
      return {
        ...base,
        result: { status: 'revoked', checkedAt, source: s.source },
        code: 'REVOKED',
        message: `certificate ${c.summary.subject} (serial ${c.summary.serial}) was revoked${s.revokedAtMs !== undefined ? ` on ${iso(s.revokedAtMs)}` : ''} (${s.source})`,
      }
    }
    const source = statuses.map((s) => s.source).join('; ')
    const missing = statuses.filter((s) => s.status === 'unavailable')
    if (missing.length === 0) return { ...base, result: { status: 'good', checkedAt, source } }
    if (this.#online!.onUnavailable === 'accept') return { ...base, result: { status: 'unknown', checkedAt, source, unavailable: true } }
    return {
      ...base,
      result: { status: 'unknown', checkedAt, source },
      code: 'REVOCATION_UNAVAILABLE',
      message: missing.map((s) => s.source).join('; '),
    }
  }

  /** Revocation at validation time `nowMs` (the receipt time or an explicit one). */
  #revocation(entry: Entry, chain: readonly CertInfo[], nowMs: number): NonNullable<Entry['revocation']> {
    const r = entry.revocation
    // A result is reused only for a validation time at which the same CRLs are current (and the same are stale):
    // an explicit past time and the receipt time never share a judgement they would not both reach.
    if (r && r.gen === this.#crlGen && nowMs > r.validFromMs && nowMs <= r.validUntilMs) return r
    const fresh = this.#computeRevocation(chain, nowMs)
    entry.revocation = fresh
    return fresh
  }

  #computeRevocation(chain: readonly CertInfo[], nowMs: number): NonNullable<Entry['revocation']> {
    let validUntilMs = Number.POSITIVE_INFINITY
    let validFromMs = Number.NEGATIVE_INFINITY
    const sources: string[] = []
    let unknown = false
    let stale: string | undefined
    for (let i = 0; i + 1 < chain.length; i++) {
      const cert = chain[i]!
      const issuer = chain[i + 1]!
      const crl = this.#crlFor(issuer)
      if (!crl) {
        unknown = true
        sources.push(`no CRL from ${issuer.summary.subject}`)
        continue
      }
      const label = `CRL of ${crl.issuer} (thisUpdate ${iso(crl.thisUpdateMs)})`
      const revokedAt = crl.revoked.get(serialHex(cert))
      if (revokedAt !== undefined) {
        return {
          gen: this.#crlGen,
          validFromMs: Number.NEGATIVE_INFINITY,
          validUntilMs: Number.POSITIVE_INFINITY,
          result: { status: 'revoked', checkedAt: iso(nowMs), source: label },
          code: 'REVOKED',
          message: `certificate ${cert.summary.subject} (serial ${cert.summary.serial}) was revoked on ${iso(revokedAt)}`,
        }
      }
      // A CRL from after the validation time says nothing about the status then: not used for a good status.
      if (crl.thisUpdateMs > nowMs + this.#skew) {
        unknown = true
        sources.push(`${label}, issued after the validation time`)
        validUntilMs = Math.min(validUntilMs, crl.thisUpdateMs - this.#skew - 1)
        continue
      }
      validFromMs = Math.max(validFromMs, crl.thisUpdateMs - this.#skew - 1)
      if (crl.nextUpdateMs !== undefined && nowMs > crl.nextUpdateMs + this.#skew) {
        validFromMs = Math.max(validFromMs, crl.nextUpdateMs + this.#skew)
        unknown = true
        stale ??= `${label} expired on ${iso(crl.nextUpdateMs)}`
        sources.push(`${label}, expired`)
        continue
      }
      sources.push(label)
      if (crl.nextUpdateMs !== undefined) validUntilMs = Math.min(validUntilMs, crl.nextUpdateMs + this.#skew)
    }
    const result: RevocationResult = { status: unknown ? 'unknown' : 'good', checkedAt: iso(nowMs), source: sources.join('; ') || 'no certificate to check' }
    if (stale && this.#staleCrl === 'fail') {
      return { gen: this.#crlGen, validFromMs, validUntilMs, result, code: 'CRL_EXPIRED', message: stale }
    }
    return { gen: this.#crlGen, validFromMs, validUntilMs, result }
  }

  /** The newest CRL issued and signed by `issuer`, if any. */
  #crlFor(issuer: CertInfo): CrlInfo | undefined {
    if (issuer.keyUsage && !issuer.keyUsage.has('cRLSign')) return undefined
    let best: CrlInfo | undefined
    this.#crls.forEach((crl, i) => {
      if (!bytesEqual(crl.issuerDer, issuer.subjectDer)) return
      const k = `${i}:${issuer.sha256}`
      let ok = this.#crlOk.get(k)
      if (ok === undefined) {
        ok = crlSignedBy(crl, issuer.publicKey)
        this.#crlOk.set(k, ok)
      }
      if (ok && (!best || crl.thisUpdateMs > best.thisUpdateMs)) best = crl
    })
    return best
  }
}

/** A verdict with its fields in a stable, readable order. */
function verdict(ok: boolean, code: VerdictCode, message: string, f: Partial<Verdict> = {}): Verdict {
  return {
    ok,
    code,
    message,
    ...(f.signer ? { signer: f.signer } : {}),
    chain: f.chain ?? [],
    ...(f.signingTime ? { signingTime: f.signingTime } : {}),
    ...(f.validationTime ? { validationTime: f.validationTime } : {}),
    ...(f.timeSource ? { timeSource: f.timeSource } : {}),
    ...(f.revocation ? { revocation: f.revocation } : {}),
    ...(f.timestamp ? { timestamp: f.timestamp } : {}),
    ...(f.binding ? { binding: f.binding } : {}),
  }
}

function essHash(alg: string, der: Buffer): Buffer | undefined {
  const name = DIGEST_BY_OID[alg]
  return name ? createHash(name).update(der).digest() : undefined
}

/** Creates a verifier for a set of trust anchors, intermediates and CRLs. */
export function createVerifier(opts: VerifierOptions): Verifier {
  return new CmsVerifier(opts)
}

/** Parses a PEM or DER signature file to DER. */
export function signatureDer(input: Uint8Array): Uint8Array {
  const pem = derList(input, ['CMS', 'PKCS7', 'PKCS #7 SIGNED DATA'])
  return pem[0] ?? input
}
