/**
 * Step 6 for a package that came from the national axis (source `axis`) without a detached CMS: the axis carries
 * none (it vouches for the sender itself), so what can be verified is the package's PDF attachments: their
 * embedded signatures and chains (pdf-attachments.ts). The verdict records that:
 *
 *   { ok: true, code: 'AXIS_UNSIGNED', message, axis: true, pdf: [{ name, ok, signers, signedBySender, error }] }
 *
 * Policy `vxp.axis.unsigned`: `accept` (default) stores it with that flag; `reject` refuses it as NO_SIGNATURE.
 * A PDF whose signature is bad refuses the package whatever the policy (it was altered or forged). A status package
 * has no attachments: accepted with the flag. A package from the axis that does carry a CMS is verified as usual.
 */
import type { Envelope } from '../envelope/index.js'
import type { Verdict, Verifier } from '../signature/index.js'
import { verifyPdfAttachments } from './pdf-attachments.js'
import { refuse, type ReceiveDeps } from './receive-steps.js'

export type UnsignedPolicy = 'accept' | 'reject'

export async function verifyFromAxis(deps: Pick<ReceiveDeps, 'verifier'>, env: Envelope, from: string, o: { policy: UnsignedPolicy; maxBytes: number }): Promise<Verdict> {
  if (o.policy === 'reject') throw refuse('NO_SIGNATURE', 'the package came from the national axis without a detached CMS, and vxp.axis.unsigned is reject')
  const report = env.edoc ? await verifyPdfAttachments(env, deps.verifier as Verifier, { maxBytes: o.maxBytes, from }) : { attachments: [], warnings: [] }
  const pdf = report.attachments.map((a) => ({
    name: a.name,
    ok: a.ok,
    ...(a.verification ? { signers: a.verification.signatures.map((s) => ({ code: s.verdict.code, ...(s.verdict.signer?.organId ? { organId: s.verdict.signer.organId } : {}) })) } : {}),
    ...(a.signedBySender !== undefined ? { signedBySender: a.signedBySender } : {}),
    ...(a.error ? { error: a.error } : {}),
  }))
  const bad = report.attachments.find((a) => !a.ok)
  if (bad) {
    const why = bad.error ? `${bad.error.code}: ${bad.error.message}` : (bad.verification?.signatures.find((s) => !s.verdict.ok)?.verdict.code ?? 'invalid')
    throw refuse('BAD_SIGNATURE', `PDF attachment ${bad.name} of a package from the national axis: ${why}`)
  }
  const verdict = {
    ok: true,
    code: 'AXIS_UNSIGNED',
    message: `received from the national axis, which carries no detached CMS; ${pdf.length} PDF attachment(s) checked`,
    chain: [],
    axis: true,
    pdf,
    warnings: report.warnings,
  }
  return verdict as unknown as Verdict
}
