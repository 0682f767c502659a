/**
 * The gateway's one verifier over config.trust (trust anchors, intermediates, CRLs), shared by the receive
 * pipeline, POST /v1/verify and the operator's replays: one certificate cache, one CRL set.
 *
 * The files are read on first use (a gateway without trust anchors still starts; what needs a verifier answers
 * GW_ERR_CONFIG_INVALID). They are checked for changes (modification time and size) at most once a minute, or at
 * once with `refresh(now, { force: true })` (an operator replay uses the files as they are now): changed CRL files
 * replace the CRL set; changed anchor or intermediate files give a new verifier (and an empty cache). A file that
 * cannot be read at a refresh keeps what is in use; the next check tries again.
 */
import { readFileSync, statSync } from 'node:fs'
import type { Config } from '../config.js'
import { gwError, isGatewayError } from '../errors.js'
import { createRevocationChecker, createTimestamper, createTsaTrust, createVerifier, type RevocationChecker, type Timestamper, type TsaTrust, type Verifier, type VerifierOptions } from '../signature/index.js'

/** How often the files of config.trust are checked for a newer version. */
export const TRUST_CHECK_MS = 60_000

type TimeRuleKeys = 'clockSkewMs' | 'signingTimeMaxPastMs' | 'signingTimeMaxFutureMs'
/** config.trust; the time rules may be left out (the verifier's defaults apply), as by callers that build it by hand. */
type TrustConfig = { trust: Omit<Config['trust'], TimeRuleKeys> & Partial<Pick<Config['trust'], TimeRuleKeys>>; readonly clock?: Config['clock'] }

export interface TrustVerifier {
  /** Verifies with the current trust files (checked for changes at most every `checkMs`). */
  readonly verifier: Verifier
  /** The verifier in use now, built on first call: throws GW_ERR_CONFIG_INVALID / GW_ERR_CONFIG_KEY_FILE. */
  current(): Verifier
  /** Re-reads changed trust files, at most every `checkMs` unless `force`. */
  refresh(now: number, opts?: { force?: boolean }): void
}

const readTrustFile = (p: string): Buffer => {
  try {
    return readFileSync(p)
  } catch (e) {
    throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: p, reason: (e as Error).message }, e)
  }
}

const stamp = (paths: readonly string[]): string =>
  paths
    .map((p) => {
      try {
        const st = statSync(p)
        return `${st.mtimeMs}:${st.size}`
      } catch {
        return 'missing'
      }
    })
    .join('|')

/**
 * One revocation checker per process and settings: every verifier built from the same trust.revocation shares its
 * OCSP and CRL caches (bounded), also across rebuilds when the trust files change.
 */
const checkers = new Map<string, RevocationChecker>()
export function revocationCheckerFor(r: NonNullable<Config['trust']['revocation']>, clockSkewMs?: number): RevocationChecker {
  const key = JSON.stringify([r, clockSkewMs])
  let c = checkers.get(key)
  if (!c) {
    c = createRevocationChecker({
      timeoutMs: r.timeoutMs,
      nonce: r.nonce,
      requireNonce: r.requireNonce,
      cacheMax: r.cacheEntries,
      ...(r.ocspResponder !== undefined ? { ocspResponder: r.ocspResponder } : {}),
      ...(clockSkewMs !== undefined ? { clockSkewMs } : {}),
    })
    checkers.set(key, c)
  }
  return c
}

/** The verifier's revocation option for config.trust.revocation (hold and refuse both fail the verdict). */
function onlineRevocation(t: TrustConfig['trust']): Pick<VerifierOptions, 'revocation'> {
  const r = t.revocation
  if (!r) return {}
  return { revocation: { checker: revocationCheckerFor(r, t.clockSkewMs), order: r.order, onUnavailable: r.onUnavailable === 'accept-with-flag' ? 'accept' : 'fail' } }
}

/** A verifier over the files of config.trust, read now (no change detection). */
export function verifierFromTrust(config: TrustConfig): Verifier {
  if (config.trust.anchorsPaths.length === 0) {
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: 'trust.anchorsPaths is empty: signatures cannot be verified without trust anchors' })
  }
  try {
    return createVerifier({
      trustAnchors: config.trust.anchorsPaths.map(readTrustFile),
      intermediates: config.trust.intermediatesPaths.map(readTrustFile),
      crls: config.trust.crlPaths.map(readTrustFile),
      ...timeRules(config.trust),
      // clock.offsetMs: the validation time at receipt is the gateway's clock
      ...(config.clock?.offsetMs ? { now: offsetClock(config.clock.offsetMs) } : {}),
      ...onlineRevocation(config.trust),
      ...(config.trust.binding ? { binding: config.trust.binding } : {}),
      ...tsaTrust(config.trust),
    })
  } catch (e) {
    if (isGatewayError(e, 'GW_ERR_CONFIG_KEY_FILE')) throw e
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: `trust: ${(e as Error).message}` }, e)
  }
}

/** The system clock moved by `offsetMs` (config clock.offsetMs). */
export const offsetClock =
  (offsetMs: number): (() => Date) =>
  () =>
    new Date(Date.now() + offsetMs)

/** TSA roots and intermediates of config.trust.tsa (incoming signature timestamps); absent: tokens not relied on. */
function tsaTrust(t: TrustConfig['trust']): Pick<VerifierOptions, 'tsa'> {
  const tsa = t.tsa
  if (!tsa) return {}
  const intermediates = [...tsa.intermediatesPaths, ...(tsa.certPath !== undefined ? [tsa.certPath] : [])].map(readTrustFile)
  return { tsa: { trustAnchors: tsa.anchorsPaths.map(readTrustFile), intermediates } }
}

/** The signature time rules of config.trust (absent keys: the verifier's defaults, which are the schema's). */
function timeRules(t: TrustConfig['trust']): Pick<VerifierOptions, 'clockSkewMs' | 'signingTimeMaxPastMs' | 'signingTimeMaxFutureMs'> {
  return {
    ...(t.clockSkewMs !== undefined ? { clockSkewMs: t.clockSkewMs } : {}),
    ...(t.signingTimeMaxPastMs !== undefined ? { signingTimeMaxPastMs: t.signingTimeMaxPastMs } : {}),
    ...(t.signingTimeMaxFutureMs !== undefined ? { signingTimeMaxFutureMs: t.signingTimeMaxFutureMs } : {}),
  }
}

export function trustVerifier(config: TrustConfig, checkMs = TRUST_CHECK_MS): TrustVerifier {
  const tsa = config.trust.tsa
  const certPaths = [...config.trust.anchorsPaths, ...config.trust.intermediatesPaths, ...(tsa ? [...tsa.anchorsPaths, ...tsa.intermediatesPaths, ...(tsa.certPath !== undefined ? [tsa.certPath] : [])] : [])]
  let inUse: Verifier | undefined
  let certsSeen = ''
  let crlsSeen = ''
  let checkedAt = 0

  function build(): Verifier {
    const certs = stamp(certPaths)
    const crls = stamp(config.trust.crlPaths)
    inUse = verifierFromTrust(config)
    certsSeen = certs
    crlsSeen = crls
    checkedAt = Date.now()
    return inUse
  }

  function refresh(now: number, opts: { force?: boolean } = {}): void {
    if (!inUse) return
    if (!opts.force && now - checkedAt < checkMs) return
    checkedAt = now
    const certs = stamp(certPaths)
    const crls = stamp(config.trust.crlPaths)
    try {
      if (certs !== certsSeen) {
        inUse = verifierFromTrust(config)
        certsSeen = certs
        crlsSeen = crls
      } else if (crls !== crlsSeen) {
        inUse.setCrls(config.trust.crlPaths.map(readTrustFile))
        crlsSeen = crls
      }
    } catch {
      // keep the trust in use; the next check tries again
    }
  }

  function current(): Verifier {
    if (!inUse) return build()
    refresh(Date.now())
    return inUse
  }

  const verifier: Verifier = {
    verify: async (content, cms, opts) => await current().verify(content, cms, opts),
    verifySync: (content, cms, opts) => current().verifySync(content, cms, opts),
    setCrls: (crls) => current().setCrls(crls),
    stats: () => current().stats(),
    clearCache: () => current().clearCache(),
  }
  return { verifier, current, refresh }
}

/**
 * The TSA of config.trust.tsa.url for outgoing signatures and log anchors (its answers checked against
 * trust.tsa.anchorsPaths); undefined without a url. Unreadable TSA trust files stop the start.
 */
export function timestamperFor(config: Pick<Config, 'trust'>): Timestamper | undefined {
  const tsa = config.trust.tsa
  if (!tsa?.url) return undefined
  return createTimestamper({ url: tsa.url, trust: tsaTrustFor(config)!, timeoutMs: tsa.timeoutMs, waitMs: tsa.waitMs, ...(tsa.policy !== undefined ? { policy: tsa.policy } : {}) })
}

/** The TSA roots of config.trust.tsa, read now; undefined without trust.tsa. */
export function tsaTrustFor(config: Pick<Config, 'trust'>): TsaTrust | undefined {
  const tsa = config.trust.tsa
  if (!tsa) return undefined
  try {
    return createTsaTrust({
      anchors: tsa.anchorsPaths.map(readTrustFile),
      intermediates: [...tsa.intermediatesPaths, ...(tsa.certPath !== undefined ? [tsa.certPath] : [])].map(readTrustFile),
      skewMs: config.trust.clockSkewMs,
    })
  } catch (e) {
    if (isGatewayError(e, 'GW_ERR_CONFIG_KEY_FILE')) throw e
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: `trust.tsa: ${(e as Error).message}` }, e)
  }
}
