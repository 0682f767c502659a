/** The verification result types: a verdict with facts; the pipeline decides what it means. */

/**
 * Every verdict code. `VALID` is the only one with `ok: true`.
 * See src/signature/README.md for when each is produced and in which order checks run.
 */
export const VERDICT_CODES = [
  'VALID',
  'MALFORMED',
  'UNSUPPORTED_ALGORITHM',
  'MISSING_SIGNED_ATTRIBUTES',
  'NO_SIGNER_CERTIFICATE',
  'DIGEST_MISMATCH',
  'BAD_SIGNATURE',
  'SIGNING_CERTIFICATE_MISMATCH',
  'TIMESTAMP_INVALID',
  'TIMESTAMP_MISMATCH',
  'TIMESTAMP_UNTRUSTED',
  'SIGNING_TIME_IN_FUTURE',
  'SIGNING_TIME_OUT_OF_RANGE',
  'UNTRUSTED_CHAIN',
  'CERT_NOT_YET_VALID',
  'CERT_EXPIRED',
  'KEY_USAGE',
  'REVOKED',
  'CRL_EXPIRED',
  'REVOCATION_UNAVAILABLE',
  'SENDER_MISMATCH',
] as const

export type VerdictCode = (typeof VERDICT_CODES)[number]

/** What a certificate says about itself, as reported in verdicts and by `Signer.certificate`. */
export interface CertSummary {
  /** RFC 4514 style, most specific first, e.g. `CN=Sở Tài chính,UID=000.00.00.H53,O=...,C=VN`. */
  subject: string
  issuer: string
  /** Serial number, uppercase hex (as `openssl x509 -serial` prints it). */
  serial: string
  /** Subject UID attribute (0.9.2342.19200300.100.1.1): the agency's OrganId in the sample PKI. */
  organId?: string
  notBefore: string
  notAfter: string
  /** SHA-256 of the certificate DER, lowercase hex. */
  sha256: string
}

export interface RevocationResult {
  /** `good`: every certificate of the chain below the anchor was checked against a valid, current CRL. */
  status: 'good' | 'revoked' | 'unknown'
  checkedAt: string
  /** Which CRLs (or OCSP responders) were used, or why the status is unknown. */
  source?: string
  /**
   * Set when no revocation source answered and the policy (`trust.revocation.onUnavailable: accept-with-flag`)
   * accepted the signature anyway: the status is `unknown` and this says so in one word.
   */
  unavailable?: true
}

/**
 * `receipt`: the time the gateway received the content (its own clock or record); `explicit`: a time the caller
 * asked for; `timestamp`: the genTime of a verified RFC 3161 signature timestamp token from a trusted TSA.
 */
export type TimeSource = 'receipt' | 'explicit' | 'timestamp'

export interface Verdict {
  ok: boolean
  code: VerdictCode
  message: string
  signer?: CertSummary
  /** Signer first, trust anchor last (empty when no path was built). */
  chain: CertSummary[]
  /** The signed signing-time attribute, ISO 8601: the signer's claim (no trusted timestamp is read yet). */
  signingTime?: string
  /** The time certificate validity and CRL freshness were judged at, ISO 8601. */
  validationTime?: string
  /** Where `validationTime` comes from. */
  timeSource?: TimeSource
  revocation?: RevocationResult
  /**
   * The signature timestamp token (CAdES-T unsigned attribute), when the signature carries one: who stamped, when,
   * and whether it was relied on (`valid`: the validation time is its genTime), refused (a TIMESTAMP_* code), or
   * `not-checked` (no TSA trust anchors configured: the time of receipt rules).
   */
  timestamp?: { verdict: 'valid' | 'not-checked' | 'TIMESTAMP_INVALID' | 'TIMESTAMP_MISMATCH' | 'TIMESTAMP_UNTRUSTED'; genTime?: string; tsa?: string; serial?: string; policy?: string; reason?: string }
  /** When a sender was expected: the OrganId the certificate names and the trust.binding rule that gave it. */
  binding?: { organId?: string; rule: string }
}
