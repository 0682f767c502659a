/**
 * `POST /v1/verify`: anyone with an API key (client or operator) checks signatures and gets a report.
 *
 * Three kinds of request, as JSON (fields base64, schemas/api/verify-request.json) or multipart/form-data (the same
 * field names as parts; files or text fields):
 * - `pdf`: a PDF with embedded signatures (PAdES, adbe.pkcs7.detached / ETSI.CAdES.detached over /ByteRange);
 * - `edxml` + `signature`: an edXML package and its detached CMS; the report adds the sender binding
 *   (From/OrganId vs the signer certificate's UID);
 * - `signature` + `content`: a detached CMS (DER or PEM) and the bytes it signs.
 * `kind` may be given; otherwise it follows from the fields present.
 *
 * The answer is 200 with a report (schemas/api/verify-report.json) whenever the input could be read: a bad,
 * garbled or truncated CMS is a signature with `code: MALFORMED` (the caller asked for a report, and in a PDF one
 * bad signature must not hide the others). Errors: GW_ERR_API_VALIDATION (fields missing or mixed: the message says
 * which fields each kind needs; bad base64), GW_ERR_SIGNATURE_PDF (not a PDF, no signature, unreadable structure),
 * GW_ERR_ENVELOPE_* (the edXML package cannot be parsed), GW_ERR_API_BODY_TOO_LARGE (over limits.packageBytes,
 * refused from Content-Length before the body is read when the header is there), GW_ERR_CONFIG_INVALID (500: the
 * gateway has no usable trust anchors in config.trust).
 *
 * Trust: the `verifier` dependency, or the gateway's verifier over config.trust (`trust`, src/pipeline/trust.ts: built
 * on first use, shared with the receiver and the operator routes, files re-read when they change on disk).
 *
 * Rate limit: a separate budget per API key, a tenth of limits.requestsPerMinute (at least 1), since each request
 * may hash 50 MB and check certificate paths.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { decodeBase64Strict } from '../../encoding.js'
import { gwError, isGatewayError } from '../../errors.js'
import { etsiOf, signatureDer, type CertSummary, type Verifier } from '../../signature/index.js'
import type { PdfSignature, PdfVerdict } from '../../signature/pdf.js'
import type { PdfAttachmentCheck } from '../../pipeline/pdf-attachments.js'
import { createInspector, type Inspector } from '../../pipeline/inspect.js'
import { trustVerifier, type TrustVerifier } from '../../pipeline/trust.js'
import { collectBody, mediaType, multipartCounter } from '../plugins/body-parsers.js'
import { ref } from '../schemas.js'

export interface VerifyRoutesOptions {
  config: Config
  /** The verifier to use; default: `trust`. */
  verifier?: Verifier
  /** The gateway's verifier over config.trust (shared with the receiver); default: one of its own. */
  trust?: TrustVerifier
  /** Largest PDF, package or content, in bytes. Default: config.limits.packageBytes. */
  maxBytes?: number
  /** Requests per minute per API key. Default: a tenth of config.limits.requestsPerMinute (at least 1). */
  requestsPerMinute?: number
  /**
   * Where the signatures are verified, off the event loop and at most pipeline.inspectWorkers at once (503
   * GW_ERR_API_BUSY past the queue). Default: an in-process one over `verifier` / `trust` (one job at a time).
   */
  inspector?: Inspector
}

type Kind = 'pdf' | 'edxml' | 'cms'
const FIELDS = ['edxml', 'signature', 'content', 'pdf'] as const
type Field = (typeof FIELDS)[number]
type Inputs = Partial<Record<Field, Buffer>>

const NEEDS: Record<Kind, Field[]> = { pdf: ['pdf'], edxml: ['edxml', 'signature'], cms: ['signature', 'content'] }
const EXPECTED =
  'send one of: `pdf` (a PDF with embedded signatures); `edxml` + `signature` (an edXML package and its detached CMS signature); `signature` + `content` (a detached CMS signature and the signed content)'

/** The largest signature accepted beside a package or content. */
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 413: ref('Error'), 415: ref('Error'), 429: ref('Error') }


function invalid(problems: string, details: { field: string; problem: string }[]): never {
  throw gwError('GW_ERR_API_VALIDATION', { problems, details })
}

/** Strict base64 (src/encoding.ts) decoded, or a validation error naming the field. */
function decodeBase64(s: string, field: string): Buffer {
  const out = decodeBase64Strict(s)
  if (!out) invalid(`${field} is not standard padded base64`, [{ field: `body.${field}`, problem: 'is not standard padded base64 (A-Z a-z 0-9 + /, = padding, no line breaks)' }])
  return out
}

/** Which kind of verification the fields ask for; a validation error naming the expected fields otherwise. */
export function chooseKind(inputs: Inputs, kind?: string): Kind {
  const present = FIELDS.filter((f) => inputs[f] !== undefined)
  const fits = (k: Kind) => NEEDS[k].every((f) => present.includes(f)) && present.every((f) => NEEDS[k].includes(f))
  if (kind !== undefined) {
    const k = kind as Kind
    if (!NEEDS[k]) invalid(`kind must be pdf, edxml or cms; ${EXPECTED}`, [{ field: 'body.kind', problem: 'must be pdf, edxml or cms' }])
    if (fits(k)) return k
    const missing = NEEDS[k].filter((f) => !present.includes(f))
    const extra = present.filter((f) => !NEEDS[k].includes(f))
    invalid(`kind ${k} needs ${NEEDS[k].map((f) => '`' + f + '`').join(' + ')}${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; not expected: ${extra.join(', ')}` : ''}`, [
      ...missing.map((f) => ({ field: `body.${f}`, problem: `is required for kind ${k}` })),
      ...extra.map((f) => ({ field: `body.${f}`, problem: `is not used by kind ${k}` })),
    ])
  }
  const k = (['pdf', 'edxml', 'cms'] as const).find(fits)
  if (k) return k
  if (present.length === 0) invalid(`no input; ${EXPECTED}`, [{ field: 'body', problem: EXPECTED }])
  invalid(`fields ${present.join(' + ')} do not make a request; ${EXPECTED}`, [{ field: 'body', problem: `got ${present.join(' + ')}; ${EXPECTED}` }])
}

// ---- the report -------------------------------------------------------------------------------------------

/** RFC 4514 string → first value of an attribute (`CN`, `O`); escapes undone. */
export function dnValue(dn: string, attr: string): string | undefined {
  let i = 0
  while (i < dn.length) {
    // one attribute=value, up to an unescaped ',' or '+'
    let key = ''
    while (i < dn.length && dn[i] !== '=') key += dn[i++]
    i++
    let val = ''
    while (i < dn.length && dn[i] !== ',' && dn[i] !== '+') {
      if (dn[i] === '\\' && i + 1 < dn.length) i++
      val += dn[i++]
    }
    i++
    if (key.trim().toUpperCase() === attr.toUpperCase()) return val
  }
  return undefined
}

function certView(c: CertSummary) {
  const name = dnValue(c.subject, 'CN')
  const organization = dnValue(c.subject, 'O')
  return {
    ...(name !== undefined ? { name } : {}),
    ...(organization !== undefined ? { organization } : {}),
    ...(c.organId !== undefined ? { organId: c.organId } : {}),
    serial: c.serial,
    subject: c.subject,
    issuer: c.issuer,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    sha256: c.sha256,
  }
}

function verdictView(v: PdfVerdict) {
  const etsi = etsiOf(v)
  return {
    ok: v.ok,
    code: v.code,
    ...(etsi ? { etsi: { ...etsi } } : {}),
    message: v.message,
    ...(v.signer ? { signer: certView(v.signer) } : {}),
    chain: v.chain.map(certView),
    ...(v.signingTime !== undefined ? { signingTime: v.signingTime } : {}),
    ...(v.validationTime !== undefined ? { validationTime: v.validationTime } : {}),
    ...(v.timeSource !== undefined ? { timeSource: v.timeSource } : {}),
    ...(v.timestamp ? { timestamp: { ...v.timestamp } } : {}),
    ...(v.revocation ? { revocation: { ...v.revocation } } : {}),
  }
}

function pdfFields(s: PdfSignature) {
  return {
    byteRange: [...s.byteRange],
    ...(s.subFilter !== undefined ? { subFilter: s.subFilter } : {}),
    coversWholeFile: s.coversWholeFile,
    bytesAfter: s.bytesAfter,
    updatesAfter: s.updatesAfter,
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
    ...(s.location !== undefined ? { location: s.location } : {}),
    ...(s.name !== undefined ? { signerNameInPdf: s.name } : {}),
    ...(s.claimedTime !== undefined ? { claimedTime: s.claimedTime } : {}),
  }
}

// ---- inputs -----------------------------------------------------------------------------------------------

async function fromMultipart(req: FastifyRequest, maxBytes: number, totalLimit: number): Promise<{ inputs: Inputs; kind?: string; validAt?: string }> {
  const inputs: Inputs = {}
  const count = multipartCounter(totalLimit)
  let kind: string | undefined
  let validAt: string | undefined
  const tooLarge = (field: string) => gwError('GW_ERR_API_BODY_TOO_LARGE', { what: `part ${field}`, limit: maxBytes, setting: 'limits.packageBytes', field })
  try {
    for await (const part of req.parts({ limits: { fileSize: maxBytes, fieldSize: maxBytes, files: 4, fields: 5, parts: 6 } })) {
      const name = part.fieldname
      if (name !== 'kind' && name !== 'validAt' && !(FIELDS as readonly string[]).includes(name)) {
        invalid(`unknown part ${name}; ${EXPECTED}`, [{ field: name, problem: 'is not a known part (kind, validAt, pdf, edxml, signature, content)' }])
      }
      if (name !== 'kind' && name !== 'validAt' && inputs[name as Field] !== undefined) invalid(`part ${name} given twice`, [{ field: name, problem: 'is given twice' }])
      if (part.type === 'file') {
        const chunks: Buffer[] = []
        for await (const chunk of part.file) {
          count((chunk as Buffer).length, name)
          chunks.push(chunk as Buffer)
        }
        if (part.file.truncated) throw tooLarge(name)
        if (name === 'kind') kind = Buffer.concat(chunks).toString('utf8').trim()
        else if (name === 'validAt') validAt = Buffer.concat(chunks).toString('utf8').trim()
        else inputs[name as Field] = Buffer.concat(chunks)
      } else {
        if (part.valueTruncated) throw tooLarge(name)
        const v = String(part.value)
        count(v.length, name)
        if (name === 'kind') kind = v.trim()
        else if (name === 'validAt') validAt = v.trim()
        else inputs[name as Field] = Buffer.from(v, 'utf8')
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge('file')
    throw e
  }
  return { inputs, ...(kind !== undefined ? { kind } : {}), ...(validAt !== undefined ? { validAt } : {}) }
}

/**
 * JSON bodies of at least this size are parsed and their base64 decoded in an inspect worker (a 67 MB body takes
 * 100–300 ms of JSON parsing and decoding); smaller ones here, where that is a few ms and faster than the round trip.
 */
export const INLINE_JSON_BYTES = 1024 * 1024
/** The raw bytes of a big JSON body, left for a worker to parse (the body the schema sees is then `{}`). */
const RAW_JSON = Symbol('raw JSON body')

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))

async function fromJsonOffLoop(raw: Buffer, inspector: Inspector): Promise<{ inputs: Inputs; kind?: string; validAt?: string }> {
  const r = await inspector.run({ op: 'read-json', json: raw, base64: [...FIELDS], strings: ['kind', 'validAt'] }, { transfer: true })
  const inputs: Inputs = {}
  for (const f of FIELDS) if (r.bytes[f]) inputs[f] = asBuffer(r.bytes[f])
  return { inputs, ...(r.strings.kind !== undefined ? { kind: r.strings.kind } : {}), ...(r.strings.validAt !== undefined ? { validAt: r.strings.validAt } : {}) }
}

function fromJson(body: Record<string, unknown>): { inputs: Inputs; kind?: string; validAt?: string } {
  const inputs: Inputs = {}
  for (const f of FIELDS) {
    const v = body[f]
    if (typeof v === 'string') inputs[f] = decodeBase64(v, f)
  }
  return { inputs, ...(typeof body.kind === 'string' ? { kind: body.kind } : {}), ...(typeof body.validAt === 'string' ? { validAt: body.validAt } : {}) }
}

export async function verifyRoutes(app: FastifyInstance, opts: VerifyRoutesOptions): Promise<void> {
  const { config } = opts
  const maxBytes = opts.maxBytes ?? config.limits.packageBytes
  const perMinute = opts.requestsPerMinute ?? Math.max(1, Math.floor(config.limits.requestsPerMinute / 10))
  let trust = opts.trust
  const getVerifier = (): Verifier => {
    if (opts.verifier) return opts.verifier
    trust ??= trustVerifier(config)
    return trust.current()
  }
  const inspector = opts.inspector ?? createInspector({ config, verifier: getVerifier })
  if (!opts.inspector) app.addHook('onClose', () => inspector.close())
  // JSON in this route's scope: a big body is kept as bytes for a worker (fromJsonOffLoop), a small one parsed here
  // with Fastify's own parser (prototype-poisoning safe); verify needs no body hash (no Idempotency-Key)
  const jsonParser = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  // base64 grows data by 4/3; room for a signature beside the package and for the JSON around it
  const jsonLimit = Math.ceil((maxBytes + MAX_SIGNATURE_BYTES) / 3) * 4 + 64 * 1024
  // read into one buffer of its own as it arrives (collectBody): no concatenation of a big body on the event loop,
  // and the buffer moves to the worker without a copy
  app.addContentTypeParser('application/json', (req, payload, done) => {
    collectBody(req, payload, jsonLimit, 'http.bodyLimit', (err, buf) => {
      if (err || !buf) return done(err ?? null, undefined)
      if (buf.length >= INLINE_JSON_BYTES) return done(null, { [RAW_JSON]: buf })
      jsonParser(req, buf.toString('utf8'), done)
    })
  })
  const multipartLimit = maxBytes + MAX_SIGNATURE_BYTES + 64 * 1024

  app.post(
    '/v1/verify',
    {
      config: { auth: 'any', rateLimit: { max: perMinute, timeWindow: 60_000 } },
      bodyLimit: jsonLimit,
      schema: {
        tags: ['verify'],
        summary: 'Verify signatures: a PDF, an edXML package with its CMS, or a detached CMS with its content',
        description:
          'Send JSON (fields base64) or multipart/form-data (parts with the same names): `pdf` alone; `edxml` + `signature`; or `signature` + `content` (the signature DER or PEM). `kind` (pdf, edxml, cms) is optional. The answer is a report with one entry per signature: `ok`, the verdict `code` and its ETSI EN 319 102-1 indication (`etsi`: TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE with a sub-indication), the signer, the chain up to the trust anchor, signing time, revocation; for PDF also the /ByteRange, SubFilter and whether the signed bytes cover the whole file; for edXML the sender binding. A malformed or truncated CMS is reported as a signature with code MALFORMED (200), not as an error. Limited per API key, separately from other routes.',
        body: {
          content: {
            'application/json': { schema: ref('VerifyRequest') },
            'multipart/form-data': { schema: { description: 'Parts `pdf`; or `edxml` and `signature`; or `signature` and `content` (files or text fields); optional `kind`.' } },
          },
        },
        response: { 200: ref('VerifyReport'), ...errors },
      },
      onRequest: async (req) => {
        const type = mediaType(req)
        if (type !== 'application/json' && type !== 'multipart/form-data') {
          throw gwError('GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', { contentType: type || '(none)' })
        }
        // refuse a body that cannot fit before reading it
        const len = Number(req.headers['content-length'])
        const limit = type === 'application/json' ? jsonLimit : multipartLimit
        if (Number.isFinite(len) && len > limit) throw gwError('GW_ERR_API_BODY_TOO_LARGE', { what: `the request body (${len} bytes)`, limit, setting: type === 'application/json' ? 'http.bodyLimit' : 'limits.packageBytes', size: len })
      },
    },
    async (req) => {
      const raw = (req.body as { [RAW_JSON]?: Buffer } | undefined)?.[RAW_JSON]
      const { inputs, kind: asked, validAt: validAtText } =
        mediaType(req) === 'multipart/form-data'
          ? await fromMultipart(req, maxBytes, Math.min(multipartLimit, config.limits.multipartBytes))
          : raw
            ? await fromJsonOffLoop(raw, inspector)
            : fromJson(req.body as Record<string, unknown>)
      const kind = chooseKind(inputs, asked)
      for (const f of NEEDS[kind]) {
        const b = inputs[f]!
        if (b.length === 0) invalid(`${f} is empty`, [{ field: f, problem: 'is empty' }])
        const limit = f === 'signature' ? MAX_SIGNATURE_BYTES : maxBytes
        if (b.length > limit) throw gwError('GW_ERR_API_BODY_TOO_LARGE', { what: `${f} (${b.length} bytes)`, limit, setting: f === 'signature' ? 'the fixed signature limit' : 'limits.packageBytes', field: f, size: b.length })
      }
      const checkedAt = new Date().toISOString()
      // validity at the time of receipt (now) unless the caller asks for another time explicitly (the report says so:
      // validAt, and every verdict's timeSource `explicit`)
      let validAt: number | undefined
      if (validAtText !== undefined) {
        validAt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(validAtText) ? Date.parse(validAtText) : NaN
        if (!Number.isFinite(validAt)) invalid('validAt must be an ISO 8601 date-time with a time zone', [{ field: 'body.validAt', problem: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-25T09:00:00+07:00' }])
      }
      const at = validAt !== undefined ? { validAt } : {}
      const explicit = validAt !== undefined ? { validAt: new Date(validAt).toISOString() } : {}

      if (kind === 'pdf') {
        // (the uploaded bytes move to the worker: nothing here reads them afterwards)
        const r = await inspector.run({ op: 'verify-pdf', pdf: inputs.pdf!, maxBytes, ...at }, { transfer: true })
        return {
          kind,
          ok: r.ok,
          checkedAt,
          ...explicit,
          file: { size: r.size, sha256: r.sha256 },
          coversWholeFile: r.coversWholeFile,
          warnings: r.warnings,
          signatures: r.signatures.map((s) => ({ index: s.signature.index, ...verdictView(s.verdict), ...pdfFields(s.signature) })),
        }
      }

      const cms = derOf(inputs.signature!)
      if (kind === 'edxml') {
        const limits = { packageBytes: maxBytes, xmlDepth: config.limits.xmlDepth, unzippedBytes: config.limits.unzippedBytes }
        const size = inputs.edxml!.length
        const { packageKind, documentId, from, verdict: v, checked, sha256 } = await inspector.run({ op: 'verify-edxml', edxml: inputs.edxml!, cms, maxBytes, limits, ...at }, { transfer: true })
        const certOrganId = v.signer?.organId
        const binding = {
          fromOrganId: from,
          ...(certOrganId !== undefined ? { certificateOrganId: certOrganId } : {}),
          ok: from !== '' && certOrganId !== undefined && certOrganId.toUpperCase() === from.toUpperCase(),
        }
        const warnings = [...(from === '' ? ['the package has no From/OrganId: the sender binding cannot be checked'] : []), ...checked.warnings]
        const attachments = checked.attachments.map(attachmentView)
        return {
          kind,
          ok: v.ok && attachments.every((a) => a.ok),
          checkedAt,
          ...explicit,
          file: { size, sha256 },
          warnings,
          package: { type: packageKind, ...(documentId ? { documentId } : {}) },
          signatures: [{ index: 1, ...verdictView(v), senderBinding: binding }],
          attachments,
        }
      }

      const size = inputs.content!.length
      const { verdict: v, sha256 } = await inspector.run({ op: 'verify-cms', content: inputs.content!, cms, ...at }, { transfer: true })
      return { kind, ok: v.ok, checkedAt, ...explicit, file: { size, sha256 }, warnings: [], signatures: [{ index: 1, ...verdictView(v) }] }
    },
  )
}

/** The pipeline's check of the PDF attachments, in the report's shape. */
function attachmentView(a: PdfAttachmentCheck) {
  const base = { contentId: a.contentId, name: a.name }
  if (a.error) return { ...base, ok: false, signatures: [], error: a.error }
  const r = a.verification
  if (!r) return { ...base, ok: a.ok, signatures: [] }
  return {
    ...base,
    size: r.size,
    sha256: r.sha256,
    ok: r.ok,
    signedBySender: a.signedBySender ?? false,
    coversWholeFile: r.coversWholeFile,
    signatures: r.signatures.map((s) => ({ index: s.signature.index, ...verdictView(s.verdict), ...pdfFields(s.signature) })),
  }
}

/** DER of a signature given as DER or PEM; unreadable PEM is passed on as is (the verifier then says MALFORMED). */
function derOf(sig: Buffer): Uint8Array {
  try {
    return signatureDer(sig)
  } catch (e) {
    if (isGatewayError(e)) return sig
    throw e
  }
}

