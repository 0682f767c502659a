/**
 * The PDF attachments of a package, verified (POST /v1/verify of an edXML package reports them).
 *
 * The legally signed artefact of a document is its PDF (docs/edxml.md §e.1: the person's and the agency's embedded
 * signatures): every PDF attachment of the package is checked like a PDF on its own (src/signature/pdf.ts). An
 * unsigned PDF is a warning, not a failure (it may be a reference copy); an unreadable one is reported with its
 * error. The agency's signature on the document should be the sending agency's (its certificate UID =
 * From/OrganId): when none is, a warning says so.
 */
import type { Envelope } from '../envelope/index.js'
import { isGatewayError } from '../errors.js'
import type { Verifier, VerifyOptions } from '../signature/index.js'
import { verifyPdf, type PdfVerification } from '../signature/pdf.js'

export interface PdfAttachmentCheck {
  contentId: string
  name: string
  /** False when a signature is bad or the PDF cannot be read; an unsigned PDF is ok (with a warning). */
  ok: boolean
  /** The verification of a signed PDF. */
  verification?: PdfVerification
  /** A valid signature of the sending agency is among them (signed PDFs only). */
  signedBySender?: boolean
  /** Why the PDF could not be checked (not for an unsigned PDF). */
  error?: { code: string; message: string }
}

export interface PdfAttachmentsReport {
  attachments: PdfAttachmentCheck[]
  /** Per attachment, prefixed with its name. */
  warnings: string[]
}

export async function verifyPdfAttachments(env: Envelope, verifier: Verifier, opts: { maxBytes: number; from: string; verifyOptions?: VerifyOptions }): Promise<PdfAttachmentsReport> {
  const { from } = opts
  const attachments: PdfAttachmentCheck[] = []
  const warnings: string[] = []
  // one unzip budget for the whole package (limits.unzippedBytes), however many PDFs come zipped
  const budget = env.unzipBudget()
  for (const info of env.edoc?.attachments ?? []) {
    if (info.realContentType !== 'application/pdf' && info.payloadContentType !== 'application/pdf') continue
    const base = { contentId: info.contentId, name: info.attachmentName }
    try {
      const r = await verifyPdf(env.attachment(info.contentId, budget), verifier, { maxBytes: opts.maxBytes, ...(opts.verifyOptions ? { verifyOptions: opts.verifyOptions } : {}) })
      warnings.push(...r.warnings.map((w) => `${info.attachmentName}: ${w}`))
      const signedBySender = from !== '' && r.signatures.some((s) => s.verdict.ok && s.verdict.signer?.organId?.toUpperCase() === from.toUpperCase())
      if (!signedBySender && from !== '') warnings.push(`${info.attachmentName}: no valid signature of the sending agency (${from}) on the PDF`)
      attachments.push({ ...base, ok: r.ok, verification: r, signedBySender })
    } catch (e) {
      if (!isGatewayError(e)) throw e
      if (e.code === 'GW_ERR_SIGNATURE_PDF' && /no signature/.test(e.message)) {
        warnings.push(`${info.attachmentName}: the PDF has no embedded signature (NĐ 30/2020 art. 5 gives legal value to a document signed by the competent person and the agency)`)
        attachments.push({ ...base, ok: true })
      } else {
        attachments.push({ ...base, ok: false, error: { code: e.code, message: e.message } })
      }
    }
  }
  return { attachments, warnings }
}
