/**
 * An agency's signing identities over time: the current one, and the next one from its switch time on (a renewed
 * certificate, a new key, a new token). The signing time of each signature picks the identity, so one signature
 * is made by one identity, the time in its signed attributes (to the second) is the time that chose it, so a
 * signature whose signing time is before the switch is always the current identity's, and a package built and
 * signed in a worker thread is signed by the same identity as on the main thread. Verifiers need nothing special:
 * both certificates name the agency (trust.binding) and chain to a trusted anchor.
 */
import type { TokenStatus } from './pkcs11.js'
import type { SigningKeyType } from './keys.js'
import type { Signer, SignOptions } from './signer.js'
import type { CertSummary } from './verdict.js'

/** One identity and when it signs: from `from` (inclusive) until `until` (exclusive); absent = unbounded. */
export interface SigningIdentity {
  readonly certificate: CertSummary
  readonly from?: string
  readonly until?: string
}

export interface RolloverSigner extends Signer {
  /** The identity that signs at `t` (default now). */
  signerAt(t?: Date): Signer
  /** The switch time, ISO 8601. */
  readonly switchAt: string
  /** Every identity with its period, current first. */
  readonly identities: readonly SigningIdentity[]
}

/**
 * A signer that is `current` before `switchAt` and `next` from then on. `certificate`, `organId`, `chain` and
 * `keyType` describe the identity signing now. It signs synchronously only when both identities can; it has a
 * token when either is in one (`status()` is the worse of the two, so a next token that is missing before the
 * switch shows in /readyz before it matters).
 */
export function rolloverSigner(current: Signer, next: Signer, switchAt: Date, now: () => number = Date.now): RolloverSigner {
  const switchMs = switchAt.getTime()
  if (!Number.isFinite(switchMs)) throw new RangeError('switchAt is not a valid time')
  // the signing time as it is signed (to the second): the time in a signature always agrees with its identity
  const at = (t?: Date): Signer => (Math.floor((t ? t.getTime() : now()) / 1000) * 1000 >= switchMs ? next : current)
  const iso = switchAt.toISOString()
  const withTime = (opts: SignOptions = {}): SignOptions => ({ ...opts, signingTime: opts.signingTime ?? new Date(now()) })
  const tokens = [current.token, next.token].filter((x): x is NonNullable<Signer['token']> => x !== undefined)
  const token =
    tokens.length === 0
      ? undefined
      : {
          status(): TokenStatus {
            const all = [current, next].flatMap((s, i) => (s.token ? [{ s: s.token.status(), which: i === 0 ? 'current' : 'next' }] : []))
            const bad = all.find((x) => !x.s.ok)
            if (!bad) return all[0]!.s
            return { ...bad.s, ...(bad.s.detail !== undefined ? { detail: `${bad.which} identity: ${bad.s.detail}` } : { detail: `${bad.which} identity` }) }
          },
          async probe(): Promise<void> {
            await Promise.all(tokens.map((t) => t.probe()))
          },
          close(): void {
            for (const t of tokens) t.close()
          },
        }
  const signer: RolloverSigner = {
    get certificate(): CertSummary {
      return at().certificate
    },
    get organId(): string | undefined {
      return at().organId
    },
    get chain(): readonly CertSummary[] {
      return at().chain
    },
    get keyType(): SigningKeyType {
      return at().keyType
    },
    get warnings(): readonly string[] {
      return [...current.warnings.map((w) => `current identity: ${w}`), ...next.warnings.map((w) => `next identity (from ${iso}): ${w}`)]
    },
    switchAt: iso,
    identities: Object.freeze([
      { certificate: current.certificate, until: iso },
      { certificate: next.certificate, from: iso },
    ]),
    signerAt: at,
    sign(content: Uint8Array, opts?: SignOptions): Promise<Uint8Array> {
      const o = withTime(opts)
      return at(o.signingTime).sign(content, o)
    },
    ...(current.signSync && next.signSync
      ? {
          signSync(content: Uint8Array, opts?: SignOptions): Buffer {
            const o = withTime(opts)
            return at(o.signingTime).signSync!(content, o)
          },
        }
      : {}),
    ...(token ? { token } : {}),
  }
  // keys never show up in logs or JSON
  Object.defineProperty(signer, 'toJSON', { value: () => ({ switchAt: iso, identities: signer.identities }), enumerable: false })
  return signer
}

export const isRolloverSigner = (s: unknown): s is RolloverSigner => typeof s === 'object' && s !== null && 'signerAt' in s && 'identities' in s
