/**
 * ETSI EN 319 102-1 (procedures for the validation of AdES signatures) main indication and sub-indication of a
 * verdict, so a report reads like the EU DSS validator's beside our own codes. The table is by verdict code (every
 * code of verdict.ts and pdf.ts has its row: the Record type does not compile without one, and a test checks the
 * lists); one refinement reads the verdict itself:
 *
 * - VALID whose revocation status is not `good` (no current CRL, a stale CRL accepted by the default policy, no
 *   revocation source answered under `accept-with-flag`) is INDETERMINATE / TRY_LATER: the signature is accepted
 *   by the gateway's policy, but non-revocation is not established, which is what the standard says then.
 *
 * Without a proof of existence before the event (our only one is a CAdES-T signature timestamp, and validity is
 * then judged at its time), a revoked or expired certificate is INDETERMINATE (REVOKED_NO_POE,
 * OUT_OF_BOUNDS_NO_POE), not TOTAL_FAILED: the standard keeps TOTAL_FAILED for what no later evidence can change
 * (a broken signature, changed content, an unreadable format). docs/trust.md has the table with the reasons.
 */
import type { PdfVerdictCode } from './pdf.js'
import type { Verdict } from './verdict.js'

export const ETSI_INDICATIONS = ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'] as const
export type EtsiIndication = (typeof ETSI_INDICATIONS)[number]

/** The sub-indications of EN 319 102-1 §5.1.3 (table 5) that our verdicts use. */
export type EtsiSubIndication =
  | 'FORMAT_FAILURE'
  | 'HASH_FAILURE'
  | 'SIG_CRYPTO_FAILURE'
  | 'SIG_CONSTRAINTS_FAILURE'
  | 'CHAIN_CONSTRAINTS_FAILURE'
  | 'CRYPTO_CONSTRAINTS_FAILURE'
  | 'NO_SIGNING_CERTIFICATE_FOUND'
  | 'NO_CERTIFICATE_CHAIN_FOUND'
  | 'REVOKED_NO_POE'
  | 'OUT_OF_BOUNDS_NO_POE'
  | 'TRY_LATER'

export interface EtsiResult {
  readonly indication: EtsiIndication
  readonly subIndication?: EtsiSubIndication
}

const P = (): EtsiResult => ({ indication: 'TOTAL_PASSED' })
const F = (subIndication: EtsiSubIndication): EtsiResult => ({ indication: 'TOTAL_FAILED', subIndication })
const I = (subIndication: EtsiSubIndication): EtsiResult => ({ indication: 'INDETERMINATE', subIndication })

/** Every verdict code (CMS and PDF) → its indication. */
export const ETSI_BY_CODE: Readonly<Record<PdfVerdictCode, EtsiResult>> = Object.freeze({
  VALID: P(),
  MALFORMED: F('FORMAT_FAILURE'),
  UNSUPPORTED_ALGORITHM: I('CRYPTO_CONSTRAINTS_FAILURE'),
  MISSING_SIGNED_ATTRIBUTES: F('FORMAT_FAILURE'),
  NO_SIGNER_CERTIFICATE: I('NO_SIGNING_CERTIFICATE_FOUND'),
  DIGEST_MISMATCH: F('HASH_FAILURE'),
  BAD_SIGNATURE: F('SIG_CRYPTO_FAILURE'),
  SIGNING_CERTIFICATE_MISMATCH: I('NO_SIGNING_CERTIFICATE_FOUND'),
  TIMESTAMP_INVALID: I('SIG_CONSTRAINTS_FAILURE'),
  TIMESTAMP_MISMATCH: I('SIG_CONSTRAINTS_FAILURE'),
  TIMESTAMP_UNTRUSTED: I('SIG_CONSTRAINTS_FAILURE'),
  SIGNING_TIME_IN_FUTURE: I('SIG_CONSTRAINTS_FAILURE'),
  SIGNING_TIME_OUT_OF_RANGE: I('SIG_CONSTRAINTS_FAILURE'),
  UNTRUSTED_CHAIN: I('NO_CERTIFICATE_CHAIN_FOUND'),
  CERT_NOT_YET_VALID: I('OUT_OF_BOUNDS_NO_POE'),
  CERT_EXPIRED: I('OUT_OF_BOUNDS_NO_POE'),
  KEY_USAGE: I('CHAIN_CONSTRAINTS_FAILURE'),
  REVOKED: I('REVOKED_NO_POE'),
  CRL_EXPIRED: I('TRY_LATER'),
  REVOCATION_UNAVAILABLE: I('TRY_LATER'),
  SENDER_MISMATCH: I('SIG_CONSTRAINTS_FAILURE'),
  UNSUPPORTED_SUBFILTER: I('FORMAT_FAILURE'),
  MODIFIED_AFTER_SIGNING: F('FORMAT_FAILURE'),
  MDP_PERMISSION_VIOLATED: F('FORMAT_FAILURE'),
})

/** The indication of a verdict (by its code, refined by its revocation status); undefined for an unknown code. */
export function etsiOf(v: Pick<Verdict, 'code' | 'revocation'> | { code: string; revocation?: { status?: string } }): EtsiResult | undefined {
  const byCode = (ETSI_BY_CODE as Record<string, EtsiResult | undefined>)[v.code]
  if (!byCode) return undefined
  if (v.code === 'VALID' && v.revocation?.status !== undefined && v.revocation.status !== 'good') return I('TRY_LATER')
  return byCode
}

/** The verdict with its `etsi` indication beside the code (as /v1/verify reports and the store keeps it). */
export function withEtsi<T extends { code: string; revocation?: { status?: string } }>(v: T): T & { etsi?: EtsiResult } {
  const etsi = etsiOf(v)
  return etsi ? { ...v, etsi: { ...etsi } } : v
}
