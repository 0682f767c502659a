/**
 * The CPU-heavy readings of documents the API does on request: verifying signatures (PDF byte ranges hashed at
 * length, CMS, certificate paths) and unzipping attachments (the ZIP convention, streamed within
 * limits.unzippedBytes). One function per job, the same in a worker thread (inspect-worker.ts) and in-process
 * (inspect.ts, when the worker pool is off or a test injects its own verifier), so both give the same answers.
 * Every input and result is plain data (structured-clone safe): bytes, strings, numbers, verdict objects.
 */
import { createHash } from 'node:crypto'
import { parseEnvelope, unzipBudget, type AttachmentReport, type EnvelopeTransfer } from '../envelope/index.js'
import { decodeBase64Strict } from '../encoding.js'
import { gwError, isGatewayError } from '../errors.js'
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
  | { op: 'verify-pdf'; pdf: Uint8Array; maxBytes: number; validAt?: number }
  | { op: 'verify-edxml'; edxml: Uint8Array; cms: Uint8Array; maxBytes: number; limits: ReadLimits; validAt?: number }
  | { op: 'verify-cms'; content: Uint8Array; cms: Uint8Array; validAt?: number }
  | { op: 'describe-attachments'; bytes: Uint8Array; limits: ReadLimits }
  | { op: 'attachment'; bytes: Uint8Array; contentId: string; limits: ReadLimits }
  | { op: 'read-json'; json: Uint8Array; base64: string[]; strings: string[] }
  | { op: 'read-package'; bytes: Uint8Array; signature?: Uint8Array; sender?: string; limits: Pick<ReadLimits, 'packageBytes' | 'xmlDepth'> }

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

/**
 * What `read-package` (the receive path's heavy part, src/pipeline/incoming.ts) learns of an incoming package: its
 * SHA-256, then either the parsed Envelope as plain data or the GatewayError parsing threw (as code and
 * parameters: the receive steps turn it into the same refusal), and the CMS verdict when a signature came and the
 * transport's sender is From/OrganId (the checks the main thread runs before step 6 need nothing more).
 */
export interface PackageReading {
  /** The package bytes, handed back (a job sent with `transfer` moved them to the worker and gets them back here). */
  bytes: Uint8Array
  sha256: string
  envelope?: EnvelopeTransfer
  refused?: { code: string; params: Record<string, unknown> }
  verdict?: Verdict
}

/** What `read-json` (a big JSON body of POST /v1/verify) holds: its base64 fields decoded, its other fields. */
export interface JsonReading {
  bytes: Record<string, Uint8Array>
  strings: Record<string, string>
}

const invalid = (problems: string, details: { field: string; problem: string }[]): never => {
  throw gwError('GW_ERR_API_VALIDATION', { problems, details })
}

/**
 * A JSON object of string fields: `base64` ones decoded (strict base64, src/encoding.ts), `strings` kept; any
 * other field, a value that is not a string or a body that is not an object is GW_ERR_API_VALIDATION naming the
 * field, as the route's schema would. JSON.parse makes `__proto__` an own key, so it is only ever an unknown field.
 */
function readJson(job: Extract<InspectJob, { op: 'read-json' }>): JsonReading {
  let body: unknown
  try {
    body = JSON.parse(Buffer.from(job.json.buffer, job.json.byteOffset, job.json.byteLength).toString('utf8'))
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e)
    invalid(`body is not valid JSON: ${m}`, [{ field: 'body', problem: m }])
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('body must be an object', [{ field: 'body', problem: 'must be an object' }])
  const out: JsonReading = { bytes: {}, strings: {} }
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const known = job.base64.includes(k) || job.strings.includes(k)
    if (!known) invalid(`body.${k} is not a known field`, [{ field: `body.${k}`, problem: 'is not a known field' }])
    if (typeof v !== 'string') invalid(`body.${k} must be a string`, [{ field: `body.${k}`, problem: 'must be a string' }])
    if (job.strings.includes(k)) {
      out.strings[k] = v as string
      continue
    }
    const decoded = decodeBase64Strict(v as string)
    if (!decoded) invalid(`${k} is not standard padded base64`, [{ field: `body.${k}`, problem: 'is not standard padded base64 (A-Z a-z 0-9 + /, = padding, no line breaks)' }])
    out.bytes[k] = decoded!
  }
  return out
}

export interface InspectResults {
  'verify-pdf': PdfVerification
  'verify-edxml': EdxmlVerification
  'verify-cms': { verdict: Verdict; sha256: string }
  'describe-attachments': AttachmentReport[]
  attachment: AttachmentRead
  'read-package': PackageReading
  'read-json': JsonReading
}

const parseStored = (bytes: Uint8Array, l: ReadLimits) =>
  parseEnvelope(bytes, { maxBytes: Math.max(l.packageBytes, bytes.byteLength), maxDepth: l.xmlDepth, maxUnzippedBytes: l.unzippedBytes })

/** Run one job. `verifier` is asked for only by the verify jobs (a gateway without trust anchors still unzips). */
export async function runInspectJob<J extends InspectJob>(job: J, verifier: () => Verifier): Promise<InspectResults[J['op']]> {
  type R = InspectResults[J['op']]
  // the caller asked for validity at a given time (POST /v1/verify `validAt`): the verdicts say `timeSource: explicit`
  const at = 'validAt' in job && job.validAt !== undefined ? { validationTime: new Date(job.validAt) } : undefined
  switch (job.op) {
    case 'verify-pdf':
      return (await verifyPdf(job.pdf, verifier(), { maxBytes: job.maxBytes, ...(at ? { verifyOptions: at } : {}) })) as R
    case 'verify-edxml': {
      const env = parseEnvelope(job.edxml, { maxBytes: job.maxBytes, maxDepth: job.limits.xmlDepth, maxUnzippedBytes: job.limits.unzippedBytes })
      const from = (env.edoc?.messageHeader.from.organId ?? env.status?.messageHeader.from.organId ?? '').trim()
      const v = verifier()
      const verdict = await v.verify(job.edxml, job.cms, { ...(from ? { expectedOrganId: from } : {}), ...at })
      const checked = await verifyPdfAttachments(env, v, { maxBytes: job.maxBytes, from, ...(at ? { verifyOptions: at } : {}) })
      const documentId = env.edoc?.messageHeader.documentId
      return { packageKind: env.kind, ...(documentId ? { documentId } : {}), from, verdict, checked, sha256: env.sha256() } as R
    }
    case 'verify-cms':
      return { verdict: await verifier().verify(job.content, job.cms, at ?? {}), sha256: createHash('sha256').update(job.content).digest('hex') } as R
    case 'describe-attachments':
      return parseStored(job.bytes, job.limits).describeAttachments() as R
    case 'read-json':
      return readJson(job) as R
    case 'read-package': {
      let env
      try {
        env = parseEnvelope(job.bytes, { maxBytes: job.limits.packageBytes, maxDepth: job.limits.xmlDepth })
      } catch (e) {
        if (!isGatewayError(e)) throw e
        return { bytes: job.bytes, sha256: createHash('sha256').update(job.bytes).digest('hex'), refused: { code: e.code, params: { ...e.params } } } as R
      }
      const sha256 = env.sha256()
      const from = env.edoc?.messageHeader.from.organId ?? env.status?.messageHeader.from.organId ?? ''
      const same = (s: string | undefined) => (s ?? '').trim().toUpperCase()
      const verdict = job.signature?.length && same(job.sender) === same(from) ? await verifier().verify(job.bytes, job.signature, { expectedOrganId: from }) : undefined
      return { bytes: job.bytes, sha256, envelope: env.toTransfer(), ...(verdict ? { verdict } : {}) } as R
    }
    case 'attachment': {
      const r = parseStored(job.bytes, job.limits).readAttachment(job.contentId, unzipBudget(job.limits.unzippedBytes))
      if (r.tooLarge) throw r.tooLarge
      return { report: r.report, content: r.content } as R
    }
  }
}
