/**
 * The CPU-heavy readings of documents the API does on request: verifying signatures (PDF byte ranges hashed at
 * length, CMS, certificate paths) and unzipping attachments (the ZIP convention, streamed within
 * limits.unzippedBytes). One function per job, the same in a worker thread (inspect-worker.ts) and in-process
 * (inspect.ts, when the worker pool is off or a test injects its own verifier), so both give the same answers.
 * Every input and result is plain data (structured-clone safe): bytes, strings, numbers, verdict objects.
 */
import { createHash } from 'node:crypto'
import { parseEnvelope, unzipBudget, type AttachmentReport } from '../envelope/index.js'
import type { Verdict, Verifier } from '../signature/index.js'
import { verifyPdf, type PdfVerification } from '../signature/pdf.js'
import { verifyPdfAttachments, type PdfAttachmentsReport } from './pdf-attachments.js'

/** Limits of a package reading (config.limits). */
export interface ReadLimits {
  packageBytes: number
  xmlDepth: number
  unzippedBytes: number
}

export type InspectJob =
  | { op: 'verify-pdf'; pdf: Uint8Array; maxBytes: number }
  | { op: 'verify-edxml'; edxml: Uint8Array; cms: Uint8Array; maxBytes: number; limits: ReadLimits }
  | { op: 'verify-cms'; content: Uint8Array; cms: Uint8Array }
  | { op: 'describe-attachments'; bytes: Uint8Array; limits: ReadLimits }
  | { op: 'attachment'; bytes: Uint8Array; contentId: string; limits: ReadLimits }

/** What `verify-edxml` learns: the package's identity, the CMS verdict (sender bound) and its PDF attachments. */
export interface EdxmlVerification {
  packageKind: 'edoc' | 'status'
  documentId?: string
  /** From/OrganId, trimmed ('' when absent). */
  from: string
  verdict: Verdict
  checked: PdfAttachmentsReport
  /** SHA-256 of the package, hex. */
  sha256: string
}

export interface AttachmentRead {
  report: AttachmentReport
  content: Uint8Array
}

export interface InspectResults {
  'verify-pdf': PdfVerification
  'verify-edxml': EdxmlVerification
  'verify-cms': { verdict: Verdict; sha256: string }
  'describe-attachments': AttachmentReport[]
  attachment: AttachmentRead
}

const parseStored = (bytes: Uint8Array, l: ReadLimits) =>
  parseEnvelope(bytes, { maxBytes: Math.max(l.packageBytes, bytes.byteLength), maxDepth: l.xmlDepth, maxUnzippedBytes: l.unzippedBytes })

/** Run one job. `verifier` is asked for only by the verify jobs (a gateway without trust anchors still unzips). */
export async function runInspectJob<J extends InspectJob>(job: J, verifier: () => Verifier): Promise<InspectResults[J['op']]> {
  type R = InspectResults[J['op']]
  switch (job.op) {
    case 'verify-pdf':
      return (await verifyPdf(job.pdf, verifier(), { maxBytes: job.maxBytes })) as R
    case 'verify-edxml': {
      const env = parseEnvelope(job.edxml, { maxBytes: job.maxBytes, maxDepth: job.limits.xmlDepth, maxUnzippedBytes: job.limits.unzippedBytes })
      const from = (env.edoc?.messageHeader.from.organId ?? env.status?.messageHeader.from.organId ?? '').trim()
      const v = verifier()
      const verdict = await v.verify(job.edxml, job.cms, from ? { expectedOrganId: from } : {})
      const checked = await verifyPdfAttachments(env, v, { maxBytes: job.maxBytes, from })
      const documentId = env.edoc?.messageHeader.documentId
      return { packageKind: env.kind, ...(documentId ? { documentId } : {}), from, verdict, checked, sha256: env.sha256() } as R
    }
    case 'verify-cms':
      return { verdict: await verifier().verify(job.content, job.cms), sha256: createHash('sha256').update(job.content).digest('hex') } as R
    case 'describe-attachments':
      return parseStored(job.bytes, job.limits).describeAttachments() as R
    case 'attachment': {
      const r = parseStored(job.bytes, job.limits).readAttachment(job.contentId, unzipBudget(job.limits.unzippedBytes))
      if (r.tooLarge) throw r.tooLarge
      return { report: r.report, content: r.content } as R
    }
  }
}
