/**
 * Revocation fetched over HTTP: OCSP (RFC 6960) from the responder a certificate names in its authorityInfoAccess
 * (or a configured responder), and CRLs from its cRLDistributionPoints. The one place in src/signature that does
 * network I/O, through `fetch` (injectable). One checker is shared by every verifier of the process (trust.ts):
 * its caches are bounded LRUs.
 *
 * OCSP: a request with a nonce (unless `nonce: false`), POSTed as application/ocsp-request; the response checked by
 * ocsp.ts (signature, responder authorisation, nonce, our CertID) and here for time: thisUpdate not after now (+
 * skew); nextUpdate not passed (− skew); without nextUpdate, thisUpdate within `maxAgeMs`; a response without our
 * nonce (a pre-produced one, or a replay) only when its thisUpdate is within `noNonceMaxAgeMs`, and never with
 * `requireNonce`. A good or revoked answer is cached until its nextUpdate (or thisUpdate + maxAgeMs); `unknown`
 * is an answer too (cached the same way) but gives no status. Failures are remembered for `failureTtlMs` so a dead
 * responder is not asked for every package.
 *
 * CRLs: fetched (GET, DER or PEM) from each http(s) distribution point, used only when issued and signed by the
 * certificate's issuer (cRLSign when keyUsage is present) and not a delta CRL; cached per URL, fetched again
 * `refreshBeforeMs` before nextUpdate; when a fetch fails the last good CRL is kept (and used while current).
 */
import * as pkijs from 'pkijs'
import { gwError, isGatewayError } from '../errors.js'
import type { CertInfo } from './certs.js'
import { crlSignedBy, parseCrls, type CrlInfo } from './crl.js'
import { LruCache } from './lru.js'
import { buildOcspRequest, parseOcspResponse, type OcspAnswer } from './ocsp.js'

export type RevocationSourceName = 'ocsp' | 'crl'

/** What one source says about one certificate. */
export interface SourceStatus {
  readonly status: 'good' | 'revoked' | 'unavailable'
  /** Human-readable: which responder or CRL answered, or why none did. */
  readonly source: string
  readonly revokedAtMs?: number
}

export interface RevocationCheckerOptions {
  /** Default: the global fetch. */
  fetch?: typeof fetch
  /** Per HTTP request. Default 5000 ms. */
  timeoutMs?: number
  /** Ask this OCSP responder instead of the certificates' AIA. */
  ocspResponder?: string
  /** Send a nonce in OCSP requests. Default true. */
  nonce?: boolean
  /** Refuse OCSP responses without our nonce. Default false. */
  requireNonce?: boolean
  /** Oldest thisUpdate of an OCSP response without our nonce. Default 1 h. */
  noNonceMaxAgeMs?: number
  /** How long an OCSP response without nextUpdate is used. Default 1 h. */
  maxAgeMs?: number
  /** Clock-skew allowance on thisUpdate/nextUpdate. Default 5 min. */
  clockSkewMs?: number
  /** A CRL is fetched again this long before its nextUpdate. Default 5 min. */
  refreshBeforeMs?: number
  /** A failed fetch is not retried for this long (per responder/URL). Default 30 s. */
  failureTtlMs?: number
  /** Entries per cache (OCSP answers, CRLs). Default 10000 / 256. */
  cacheMax?: number
  crlCacheMax?: number
  /** Largest response read. Default 64 KiB for OCSP, 20 MiB for CRLs. */
  maxOcspBytes?: number
  maxCrlBytes?: number
  now?: () => number
}

/**
 * Counters since the checker was made. `hits`: answered from the cache (a cached failure included); `misses`: not
 * in the cache or due again, so the answer waited for the network (`requests`/`fetches`: HTTP exchanges made; two
 * misses for the same certificate at once share one exchange).
 */
export interface RevocationStats {
  ocsp: { requests: number; hits: number; misses: number; failures: number; entries: number }
  crl: { fetches: number; hits: number; misses: number; failures: number; entries: number }
}

/** A CRL the checker fetched and keeps (the last good one of its distribution point). */
export interface CachedCrl {
  readonly url: string
  readonly crl: CrlInfo
  /** The last fetch failed (the CRL kept is older than what the distribution point should serve). */
  readonly failure?: string
}

export interface RevocationChecker {
  ocsp(cert: CertInfo, issuer: CertInfo): Promise<SourceStatus>
  crl(cert: CertInfo, issuer: CertInfo): Promise<SourceStatus>
  stats(): RevocationStats
  /** The fetched CRLs kept now (for their nextUpdate: src/pipeline/trust-watch.ts). */
  crls?(): CachedCrl[]
  clear(): void
}

const OID_AIA = '1.3.6.1.5.5.7.1.1'
const OID_CDP = '2.5.29.31'
const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1'

interface Urls {
  ocsp: string[]
  crl: string[]
}
const urlCache = new WeakMap<CertInfo, Urls>()

/** The OCSP responders (AIA) and CRL distribution points (full names, URIs) of a certificate. */
export function revocationUrls(c: CertInfo): Urls {
  let u = urlCache.get(c)
  if (u) return u
  u = { ocsp: [], crl: [] }
  try {
    const cert = pkijs.Certificate.fromBER(c.der)
    for (const e of cert.extensions ?? []) {
      if (e.extnID === OID_AIA && e.parsedValue instanceof pkijs.InfoAccess) {
        for (const ad of e.parsedValue.accessDescriptions) {
          if (ad.accessMethod === OID_AD_OCSP && ad.accessLocation.type === 6) u.ocsp.push(String(ad.accessLocation.value))
        }
      }
      if (e.extnID === OID_CDP && e.parsedValue instanceof pkijs.CRLDistributionPoints) {
        for (const dp of e.parsedValue.distributionPoints) {
          const names = dp.distributionPoint
          if (!Array.isArray(names)) continue
          for (const n of names as pkijs.GeneralName[]) if (n.type === 6) u.crl.push(String(n.value))
        }
      }
    }
  } catch {
    // a certificate whose extensions PKI.js cannot read names no URL
  }
  u.ocsp = u.ocsp.filter((x) => /^https?:\/\//i.test(x))
  u.crl = u.crl.filter((x) => /^https?:\/\//i.test(x))
  urlCache.set(c, u)
  return u
}

const iso = (ms: number): string => new Date(ms).toISOString()
const msg = (e: unknown): string => (isGatewayError(e) ? String(e.params.reason ?? e.message) : e instanceof Error ? e.message : String(e))

interface OcspEntry {
  answer?: OcspAnswer
  validUntilMs: number
  failure?: string
}

interface CrlEntry {
  url: string
  crl?: CrlInfo
  /** Last fetch failure, kept until `retryAtMs`. */
  failure?: string
  retryAtMs: number
}

export function createRevocationChecker(o: RevocationCheckerOptions = {}): RevocationChecker {
  const doFetch = o.fetch ?? fetch
  const timeoutMs = o.timeoutMs ?? 5000
  const skew = o.clockSkewMs ?? 5 * 60_000
  const maxAge = o.maxAgeMs ?? 3_600_000
  const noNonceMaxAge = o.noNonceMaxAgeMs ?? 3_600_000
  const refreshBefore = o.refreshBeforeMs ?? 5 * 60_000
  const failureTtl = o.failureTtlMs ?? 30_000
  const now = o.now ?? Date.now
  // entries carry their own validity; the LRU's TTL only bounds how long anything is kept
  const ocspCache = new LruCache<OcspEntry>(o.cacheMax ?? 10_000, 7 * 86_400_000, now)
  const crlCache = new LruCache<CrlEntry>(o.crlCacheMax ?? 256, 30 * 86_400_000, now)
  const inflight = new Map<string, Promise<unknown>>()
  const stats: RevocationStats = { ocsp: { requests: 0, hits: 0, misses: 0, failures: 0, entries: 0 }, crl: { fetches: 0, hits: 0, misses: 0, failures: 0, entries: 0 } }

  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    const known = inflight.get(key)
    if (known) return known as Promise<T>
    const p = f().finally(() => inflight.delete(key))
    inflight.set(key, p)
    return p
  }

  async function http(url: string, init: RequestInit, limit: number): Promise<Buffer> {
    let res: Response
    try {
      res = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' })
    } catch (e) {
      throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: ${(e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : msg((e as Error).cause ?? e)}` })
    }
    if (!res.ok) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: HTTP ${res.status}` })
    const body = Buffer.from(await res.arrayBuffer())
    if (body.length > limit) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: answer of ${body.length} bytes, over ${limit}` })
    return body
  }

  /** Whether an OCSP answer may be used now; the reason when not. */
  function ocspTimeProblem(a: OcspAnswer, t: number): string | undefined {
    if (a.thisUpdateMs > t + skew) return `thisUpdate ${iso(a.thisUpdateMs)} is in the future`
    if (a.nextUpdateMs !== undefined && t > a.nextUpdateMs + skew) return `stale: nextUpdate ${iso(a.nextUpdateMs)} has passed`
    if (a.nextUpdateMs === undefined && t > a.thisUpdateMs + maxAge) return `stale: thisUpdate ${iso(a.thisUpdateMs)} is older than ${maxAge / 60_000} min and there is no nextUpdate`
    if (a.nonce === 'absent') {
      if (o.requireNonce) return 'the response carries no nonce (a replay cannot be ruled out)'
      if (t > a.thisUpdateMs + noNonceMaxAge) return `the response carries no nonce and its thisUpdate ${iso(a.thisUpdateMs)} is older than ${noNonceMaxAge / 60_000} min (a replayed response)`
    }
    return undefined
  }

  const fromAnswer = (a: OcspAnswer, url: string, cached: boolean): SourceStatus => {
    const label = `OCSP ${url} (${a.responder}, thisUpdate ${iso(a.thisUpdateMs)}${a.nonce === 'match' ? ', nonce checked' : a.nonce === 'absent' ? ', no nonce' : ''}${cached ? ', cached' : ''})`
    if (a.status === 'revoked') return { status: 'revoked', source: label, ...(a.revokedAtMs !== undefined ? { revokedAtMs: a.revokedAtMs } : {}) }
    if (a.status === 'good') return { status: 'good', source: label }
    return { status: 'unavailable', source: `${label}: the responder does not know the certificate (unknown)` }
  }

  async function ocsp(cert: CertInfo, issuer: CertInfo): Promise<SourceStatus> {
    const url = o.ocspResponder ?? revocationUrls(cert).ocsp[0]
    if (!url) return { status: 'unavailable', source: `certificate ${cert.summary.subject} names no OCSP responder` }
    const key = `${url}\u0000${issuer.sha256}\u0000${cert.summary.serial}`
    const t = now()
    const hit = ocspCache.get(key)
    if (hit && t <= hit.validUntilMs) {
      if (hit.answer && !ocspTimeProblem(hit.answer, t)) {
        stats.ocsp.hits++
        return fromAnswer(hit.answer, url, true)
      }
      if (hit.failure) {
        stats.ocsp.hits++
        return { status: 'unavailable', source: `OCSP ${url}: ${hit.failure} (not asked again before ${iso(hit.validUntilMs)})` }
      }
    }
    stats.ocsp.misses++
    return once(`ocsp:${key}`, async () => {
      stats.ocsp.requests++
      const req = buildOcspRequest(cert, issuer, { nonce: o.nonce !== false })
      try {
        const body = await http(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' }, body: req.der }, o.maxOcspBytes ?? 65_536)
        const at = now()
        const answer = parseOcspResponse(body, req, issuer, at, skew)
        const problem = ocspTimeProblem(answer, at)
        if (problem) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: problem })
        const validUntilMs = Math.min(answer.nextUpdateMs ?? answer.thisUpdateMs + maxAge, answer.nonce === 'absent' ? answer.thisUpdateMs + noNonceMaxAge : Number.POSITIVE_INFINITY)
        ocspCache.set(key, { answer, validUntilMs })
        return fromAnswer(answer, url, false)
      } catch (e) {
        stats.ocsp.failures++
        const failure = msg(e)
        ocspCache.set(key, { failure, validUntilMs: now() + failureTtl })
        return { status: 'unavailable', source: `OCSP ${url}: ${failure}` }
      }
    })
  }

  /** Fetches, checks and caches the CRL at `url` for `issuer`; keeps the last good one when the fetch fails. */
  async function fetchCrl(url: string, issuer: CertInfo, old: CrlEntry | undefined): Promise<CrlEntry> {
    stats.crl.fetches++
    try {
      const body = await http(url, { method: 'GET' }, o.maxCrlBytes ?? 20 * 1024 * 1024)
      let crls: CrlInfo[]
      try {
        crls = parseCrls(body)
      } catch (e) {
        throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: not a CRL (${msg(e)})` })
      }
      const crl = crls.find((c) => !c.isDelta)
      if (!crl) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: no (full) CRL in the answer` })
      if (!crl.issuerDer.equals(issuer.subjectDer)) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: the CRL is issued by ${crl.issuer}, not by ${issuer.summary.subject}` })
      if (!crlSignedBy(crl, issuer.publicKey)) throw gwError('GW_ERR_SIGNATURE_REVOCATION', { reason: `${url}: the CRL signature does not verify with the key of ${issuer.summary.subject}` })
      // never go back to an older CRL than the one kept
      const keep = old?.crl && old.crl.thisUpdateMs > crl.thisUpdateMs ? old.crl : crl
      return { url, crl: keep, retryAtMs: 0 }
    } catch (e) {
      stats.crl.failures++
      return { url, ...(old?.crl ? { crl: old.crl } : {}), failure: msg(e), retryAtMs: now() + failureTtl }
    }
  }

  async function crl(cert: CertInfo, issuer: CertInfo): Promise<SourceStatus> {
    const urls = revocationUrls(cert).crl
    if (urls.length === 0) return { status: 'unavailable', source: `certificate ${cert.summary.subject} names no CRL distribution point` }
    if (issuer.keyUsage && !issuer.keyUsage.has('cRLSign')) return { status: 'unavailable', source: `issuer ${issuer.summary.subject} has no cRLSign key usage` }
    const serial = serialHex(cert)
    const reasons: string[] = []
    for (const url of urls) {
      const t = now()
      let e = crlCache.get(`${url}\u0000${issuer.sha256}`)
      const due = !e?.crl || (e.crl.nextUpdateMs !== undefined && t > e.crl.nextUpdateMs - refreshBefore)
      if (due && (!e || t >= e.retryAtMs)) {
        const old = e
        stats.crl.misses++
        e = await once(`crl:${url}:${issuer.sha256}`, () => fetchCrl(url, issuer, old))
        crlCache.set(`${url}\u0000${issuer.sha256}`, e)
      } else stats.crl.hits++
      const c = e?.crl
      if (!c) {
        reasons.push(`CRL ${url}: ${e?.failure ?? 'not fetched'}`)
        continue
      }
      const label = `CRL ${url} (thisUpdate ${iso(c.thisUpdateMs)}${e?.failure ? `; last fetch failed: ${e.failure}, the last good CRL kept` : ''})`
      const revokedAt = c.revoked.get(serial)
      if (revokedAt !== undefined) return { status: 'revoked', source: label, revokedAtMs: revokedAt }
      if (c.nextUpdateMs !== undefined && t > c.nextUpdateMs + skew) {
        reasons.push(`${label}: stale since ${iso(c.nextUpdateMs)}`)
        continue
      }
      return { status: 'good', source: label }
    }
    return { status: 'unavailable', source: reasons.join('; ') }
  }

  return {
    ocsp,
    crl,
    stats: () => ({ ocsp: { ...stats.ocsp, entries: ocspCache.size }, crl: { ...stats.crl, entries: crlCache.size } }),
    crls: () => [...crlCache.values()].flatMap((e) => (e.crl ? [{ url: e.url, crl: e.crl, ...(e.failure !== undefined ? { failure: e.failure } : {}) }] : [])),
    clear: () => {
      ocspCache.clear()
      crlCache.clear()
    },
  }
}

function serialHex(c: CertInfo): string {
  const d = c.serialDer
  const lenOctets = d[1]! & 0x80 ? (d[1]! & 0x7f) + 2 : 2
  return d.subarray(lenOctets).toString('hex').toUpperCase()
}
