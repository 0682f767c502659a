/**
 * A time-stamping authority over HTTP (RFC 3161 §3.4: POST application/timestamp-query, answer
 * application/timestamp-reply), through `fetch` (injectable). Every answer is checked before use (tsa.ts): status
 * granted, a token whose imprint is our digest, our nonce, the policy asked for, the TSA's signature, its chain to
 * a TSA trust anchor and its id-kp-timeStamping EKU.
 *
 * A TSA that does not answer, answers an HTTP error, refuses or gives an unusable token is retried every
 * `retryIntervalMs` until `waitMs` has passed since the first attempt; then the call fails, retryably:
 * GW_ERR_SIGNATURE_TSA_UNAVAILABLE (no answer) or GW_ERR_SIGNATURE_TSA (an answer we cannot use). `status()` says
 * whether the last attempt succeeded (for /readyz and the metrics).
 */
import { createHash } from 'node:crypto'
import { gwError, isGatewayError } from '../errors.js'
import { addSignatureTimestamp, buildTimestampRequest, signatureValueOf, timestampTokenOf, verifyTimestampToken, type TimestampCheck, type TsaTrust } from './tsa.js'

export interface TimestamperOptions {
  url: string
  trust: TsaTrust
  /** TSA policy OID to ask for (reqPolicy); the token must carry it. */
  policy?: string
  /** Per HTTP request. Default 5000 ms. */
  timeoutMs?: number
  /** How long one stamp keeps retrying a failing TSA. Default 10 s (0: one attempt). */
  waitMs?: number
  /** Pause between attempts. Default 1000 ms. */
  retryIntervalMs?: number
  /** Largest answer read. Default 256 KiB. */
  maxBytes?: number
  fetch?: typeof fetch
}

export interface TimestamperStatus {
  ok: boolean
  detail?: string
  since: string
}

export interface Stamp {
  /** The token's exact DER (a ContentInfo), as stored. */
  token: Buffer
  check: TimestampCheck
}

export interface Timestamper {
  readonly url: string
  /** A checked token over the SHA-256 digest `digest`. */
  stampDigest(digest: Uint8Array): Promise<Stamp>
  /** The CMS with a signature timestamp over its signature value (CAdES-T). */
  stampSignature(cms: Uint8Array): Promise<Uint8Array>
  status(): TimestamperStatus
  stats(): { requests: number; failures: number }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A request that failed on a connection closed by the other side before any answer (not a timeout). */
function isStaleConnection(e: Error): boolean {
  const cause = e.cause as { code?: string } | undefined
  return e.name !== 'TimeoutError' && ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(cause?.code ?? '')
}

export function createTimestamper(o: TimestamperOptions): Timestamper {
  const doFetch = o.fetch ?? fetch
  const timeoutMs = o.timeoutMs ?? 5000
  const waitMs = o.waitMs ?? 10_000
  const interval = o.retryIntervalMs ?? 1000
  const maxBytes = o.maxBytes ?? 256 * 1024
  let state: TimestamperStatus = { ok: true, since: new Date().toISOString() }
  const counters = { requests: 0, failures: 0 }
  const setState = (ok: boolean, detail?: string) => {
    if (ok !== state.ok || detail !== state.detail) state = { ok, ...(detail !== undefined ? { detail } : {}), since: new Date().toISOString() }
  }

  async function once(digest: Uint8Array): Promise<Stamp> {
    const req = buildTimestampRequest(digest, o.policy !== undefined ? { policy: o.policy } : {})
    counters.requests++
    const post = () =>
      doFetch(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
        body: req.der,
        signal: AbortSignal.timeout(timeoutMs),
      })
    let res: Response
    try {
      // a kept-alive connection the TSA closed meanwhile fails at once (reset, "other side closed"): asked again
      // at once on a new connection; a TSA that is really down fails the second time too
      res = await post().catch((e: Error) => (isStaleConnection(e) ? post() : Promise.reject(e)))
    } catch (e) {
      const err = e as Error
      const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err.cause as Error | undefined)?.message ?? err.message)
      throw gwError('GW_ERR_SIGNATURE_TSA_UNAVAILABLE', { url: o.url, reason }, e)
    }
    if (!res.ok) throw gwError('GW_ERR_SIGNATURE_TSA_UNAVAILABLE', { url: o.url, reason: `HTTP ${res.status}` })
    const body = Buffer.from(await res.arrayBuffer())
    if (body.length > maxBytes) throw gwError('GW_ERR_SIGNATURE_TSA', { reason: `${o.url}: answer of ${body.length} bytes, over ${maxBytes}` })
    const token = timestampTokenOf(body)
    const check = verifyTimestampToken(token, { sha256: digest, nonce: req.nonce, ...(o.policy !== undefined ? { policy: o.policy } : {}) }, o.trust)
    if (!check.ok) throw gwError('GW_ERR_SIGNATURE_TSA', { reason: `${o.url}: ${check.code}: ${check.reason}` })
    return { token, check }
  }

  async function stampDigest(digest: Uint8Array): Promise<Stamp> {
    const start = Date.now()
    for (;;) {
      try {
        const s = await once(digest)
        setState(true)
        return s
      } catch (e) {
        counters.failures++
        const err = isGatewayError(e) ? e : gwError('GW_ERR_SIGNATURE_TSA', { reason: (e as Error).message }, e)
        setState(false, err.message)
        if (Date.now() - start + interval > waitMs) throw err
        await sleep(interval)
      }
    }
  }

  return {
    url: o.url,
    stampDigest,
    async stampSignature(cms) {
      const digest = createHash('sha256').update(signatureValueOf(cms)).digest()
      const { token } = await stampDigest(digest)
      return addSignatureTimestamp(cms, token)
    },
    status: () => state,
    stats: () => ({ ...counters }),
  }
}
