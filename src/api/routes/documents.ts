/**
 * Documents a DMS sends, and their delivery:
 *
 * - `POST /v1/documents`: JSON (schemas/api/document-request.json), multipart/form-data (a `metadata` part with the
 *   same JSON, then one file part per attachment, streamed), or a prebuilt edXML package (application/xml). 202 with
 *   the package id, the DocumentId and one delivery per recipient. `Idempotency-Key` makes retries safe.
 * - `GET /v1/documents/:id`: metadata, and per recipient its state and timeline.
 * - `GET /v1/documents`: the agency's sent packages, newest first, filters and cursor pagination.
 *
 * A client key acts for its agency only: it sends as that agency (403 otherwise) and sees that agency's packages
 * (404 for anyone else's). Operator keys read every package and cannot send.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { decodeBase64Strict } from '../../encoding.js'
import { gwError } from '../../errors.js'
import type { AttachmentData, DocumentRequest } from '../../pipeline/document-request.js'
import type { OutgoingPipeline, SendSource } from '../../pipeline/outgoing.js'
import type { Delivery, PackageWithDeliveries, Store, StoredPackage } from '../../store/index.js'
import { stateFilterValues } from '../../document/delivery.js'
import { stateFilter } from '../state-filter.js'
import { parseEnvelope, type AttachmentReport, type Envelope } from '../../envelope/index.js'
import type { Principal } from '../plugins/auth.js'
import { mediaType, multipartCounter } from '../plugins/body-parsers.js'
import { ref } from '../schemas.js'
import { timelineView } from '../views.js'
import { fileName, sendBytes, servedContentType } from './inbox.js'

export interface DocumentRoutesOptions {
  config: Config
  store: Store
  outgoing: OutgoingPipeline
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 409: ref('Error'), 413: ref('Error'), 415: ref('Error'), 429: ref('Error') }

const SEND_TYPES = ['application/json', 'multipart/form-data', 'application/xml', 'text/xml']


function idempotencyKey(req: FastifyRequest): string | undefined {
  const v = req.headers['idempotency-key']
  if (v === undefined) return undefined
  const key = Array.isArray(v) ? v[0] : v
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw gwError('GW_ERR_API_VALIDATION', {
      problems: 'Idempotency-Key must be 1 to 255 visible ASCII characters',
      details: [{ field: 'headers.idempotency-key', problem: 'must be 1 to 255 visible ASCII characters' }],
    })
  }
  return key
}

/** Strict base64 (src/encoding.ts) decoded, or a validation error naming the field. */
export function decodeBase64(s: string, field: string): Buffer {
  const data = decodeBase64Strict(s)
  if (!data) {
    throw gwError('GW_ERR_API_VALIDATION', {
      problems: `${field} is not strict base64`,
      details: [{ field, problem: 'is not strict base64 (standard alphabet, padded with =, no line breaks or spaces)' }],
    })
  }
  return data
}

function fromJson(doc: DocumentRequest): SendSource {
  const attachments: AttachmentData[] = (doc.attachments ?? []).map((a, i) => ({
    name: a.name,
    contentType: a.contentType,
    ...(a.description !== undefined ? { description: a.description } : {}),
    data: decodeBase64(a.data, `body.attachments.${i}.data`),
  }))
  const { attachments: _dropped, ...document } = doc
  return { form: 'json', document: document as DocumentRequest, attachments }
}

/**
 * multipart/form-data: a `metadata` field (DocumentRequest JSON; its own `attachments`, if any, come first) and
 * file parts, read as streams one after the other. Each file is held once, in the buffer that the package is built
 * from. The request hash covers every part in order, for Idempotency-Key.
 */
/** The metadata part's text as JSON. */
function metadataJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw gwError('GW_ERR_API_VALIDATION', { problems: `metadata is not JSON: ${(e as Error).message}`, details: [{ field: 'metadata', problem: 'is not valid JSON' }] })
  }
}

async function fromMultipart(req: FastifyRequest, fileLimit: number, totalLimit: number): Promise<{ source: SendSource; requestHash: string }> {
  const hash = createHash('sha256')
  const count = multipartCounter(totalLimit)
  let metadata: unknown
  const files: AttachmentData[] = []
  for await (const part of req.parts()) {
    hash.update(`\n--${part.fieldname}\n`)
    if (part.type === 'file') {
      const chunks: Buffer[] = []
      for await (const chunk of part.file) {
        count((chunk as Buffer).length, part.fieldname)
        hash.update(chunk as Buffer)
        chunks.push(chunk as Buffer)
      }
      if (part.file.truncated) throw gwError('GW_ERR_API_BODY_TOO_LARGE', { what: `file part ${part.filename || part.fieldname}`, limit: fileLimit, setting: 'limits.attachmentBytes' })
      // `curl -F metadata=@meta.json` and many HTTP client libraries send the metadata as a file part
      if (part.fieldname === 'metadata') metadata = metadataJson(Buffer.concat(chunks).toString('utf8'))
      else files.push({ name: part.filename || part.fieldname, contentType: part.mimetype || 'application/octet-stream', data: Buffer.concat(chunks) })
    } else if (part.fieldname === 'metadata') {
      // a field part, with or without `Content-Type: application/json` (@fastify/multipart has parsed the latter)
      const value: unknown = part.value
      if (typeof value === 'string') {
        count(value.length, part.fieldname)
        hash.update(value)
        metadata = metadataJson(value)
      } else {
        count(JSON.stringify(value).length, part.fieldname)
        hash.update(JSON.stringify(value))
        metadata = value
      }
    } else {
      count(String(part.value).length, part.fieldname)
      hash.update(typeof part.value === 'string' ? part.value : JSON.stringify(part.value))
    }
  }
  if (metadata === undefined) {
    throw gwError('GW_ERR_API_VALIDATION', { problems: 'multipart body needs a metadata part', details: [{ field: 'metadata', problem: 'is required' }] })
  }
  const validate = req.compileValidationSchema(ref('DocumentRequest'))
  if (!validate(metadata)) {
    const err = Object.assign(new Error('metadata is invalid'), { validation: validate.errors ?? [], validationContext: 'metadata' })
    throw err
  }
  const src = fromJson(metadata as DocumentRequest) as Extract<SendSource, { form: 'json' }>
  return { source: { ...src, attachments: [...src.attachments, ...files] }, requestHash: hash.digest('hex') }
}

function canSee(p: Principal, pkg: StoredPackage): boolean {
  return p.kind === 'operator' || pkg.senderOrganId.toUpperCase() === p.organId.toUpperCase()
}

function deliveryView(d: Delivery) {
  return {
    recipient: d.recipient,
    state: d.state,
    ...(d.statusCode ? { statusCode: d.statusCode } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    attempts: d.attempts,
    updatedAt: d.updatedAt,
    ...(d.queuedAt ? { queuedAt: d.queuedAt } : {}),
  }
}

function packageView(p: StoredPackage) {
  return {
    id: p.id,
    kind: p.kind,
    documentId: p.documentId,
    sender: p.senderOrganId,
    ...(p.clientId ? { clientId: p.clientId } : {}),
    sha256: p.sha256,
    size: p.size,
    priority: p.priority,
    ...(p.subject ? { subject: p.subject } : {}),
    ...(p.codeNumber || p.codeNotation ? { code: `${p.codeNumber ?? ''}/${p.codeNotation ?? ''}` } : {}),
    ...(p.promulgationDate ? { promulgationDate: p.promulgationDate } : {}),
    createdAt: p.createdAt,
    metadata: p.metadata,
  }
}

/** What the sent package says about itself: its type and signer, and its attachments with their download URL. */
function contentView(pkgId: string, env: Envelope) {
  const h = env.edoc?.messageHeader
  return {
    ...(h
      ? {
          header: {
            documentType: { type: h.documentType.type, ...(h.documentType.typeDetail ? { typeDetail: h.documentType.typeDetail } : {}), typeName: h.documentType.typeName },
            signer: { competence: h.signerInfo.competence, position: h.signerInfo.position, fullName: h.signerInfo.fullName },
            to: h.to.map((o) => ({ organId: o.organId, name: o.organName })),
          },
        }
      : {}),
    attachments: env.describeAttachments().map((r: AttachmentReport) => {
      const cid = r.contentId.replace(/^cid:/i, '')
      return {
        contentId: cid,
        name: fileName(r),
        contentType: servedContentType(r),
        size: r.content.size,
        url: `/v1/documents/${encodeURIComponent(pkgId)}/attachments/${encodeURIComponent(cid)}`,
      }
    }),
  }
}

export async function documentRoutes(app: FastifyInstance, opts: DocumentRoutesOptions): Promise<void> {
  const { store, outgoing, config } = opts

  /** The stored package parsed again (the exact bytes that were signed and sent). */
  /** `{ awaitingSignature }` while the package waits for its signature (the signing token was out), else `{}`. */
  async function awaitingOf(id: string): Promise<{ awaitingSignature?: Record<string, unknown> }> {
    const w = await store.getAwaitingSignature(id)
    if (!w) return {}
    return { awaitingSignature: { since: w.since, ...(w.reason ? { reason: w.reason } : {}), attempts: w.attempts, ...(w.lastError ? { lastError: w.lastError } : {}), ...(w.lastAttemptAt ? { lastAttemptAt: w.lastAttemptAt } : {}) } }
  }

  async function envelopeOf(id: string): Promise<Envelope> {
    const stored = await store.getPackageBytes(id)
    if (!stored) throw gwError('GW_ERR_API_NOT_FOUND', { what: `bytes of document ${id}` })
    return parseEnvelope(stored.bytes, { maxBytes: Math.max(config.limits.packageBytes, stored.bytes.byteLength), maxDepth: config.limits.xmlDepth })
  }

  app.post(
    '/v1/documents',
    {
      config: { auth: 'client' },
      schema: {
        tags: ['documents'],
        summary: 'Send a document',
        description:
          'Send a document as JSON (attachments base64), as multipart/form-data (a `metadata` part holding the same JSON, then one file part per attachment) or as a prebuilt edXML package (application/xml, relayed with its exact bytes; From/OrganId must be your agency). The sender is the agency of the API key. Answer 202: the package is signed and stored; follow its delivery with GET /v1/documents/{id}.',
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', description: 'Retry-safe key: the same key and body return the original answer; a different body gives 409.' } },
        },
        body: {
          content: {
            'application/json': { schema: ref('DocumentRequest') },
            'multipart/form-data': { schema: { description: 'Part `metadata`: DocumentRequest JSON; further parts: files.' } },
            'application/xml': { schema: { description: 'A complete edXML document package (QCVN 102:2016), sent as its exact bytes.' } },
          },
        },
        response: { 202: ref('DocumentAccepted'), ...errors },
      },
      preValidation: async (req) => {
        const type = mediaType(req)
        if (!SEND_TYPES.includes(type)) throw gwError('GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', { contentType: type || '(none)' })
      },
    },
    async (req, reply) => {
      const principal = req.principal as Extract<Principal, { kind: 'client' }>
      const key = idempotencyKey(req)
      const type = mediaType(req)
      let source: SendSource
      let requestHash: string
      if (type === 'multipart/form-data') {
        const mp = await fromMultipart(req, opts.config.limits.attachmentBytes, opts.config.limits.multipartBytes)
        source = mp.source
        requestHash = mp.requestHash
      } else if (type === 'application/json') {
        source = fromJson(req.body as DocumentRequest)
        requestHash = req.bodySha256 as string
      } else {
        const body = req.body
        if (!Buffer.isBuffer(body) || body.length === 0) {
          throw gwError('GW_ERR_API_VALIDATION', { problems: 'the edXML body is empty', details: [{ field: 'body', problem: 'is empty' }] })
        }
        source = { form: 'edxml', bytes: body }
        requestHash = req.bodySha256 as string
      }
      const result = await outgoing.send({
        clientId: principal.id,
        organId: principal.organId,
        ...(key !== undefined ? { idempotency: { key, requestHash: `${type === 'text/xml' ? 'application/xml' : type}:${requestHash}` } } : {}),
        requestHash: `${type === 'text/xml' ? 'application/xml' : type}:${requestHash}`,
        source,
      })
      if (result.replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(202).send(result)
    },
  )

  app.get(
    '/v1/documents/:id',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['documents'],
        summary: 'A sent document: metadata, per-recipient state and timeline',
        description: 'With `content=true`, also what the package itself says (document type, signer, recipients by name) and its attachments with their download URL (the stored bytes are parsed again).',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { content: { type: 'boolean', default: false } } },
        response: { 200: ref('Document'), ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string }
      const { content } = req.query as { content?: boolean }
      const pkg = await store.getPackage(id)
      if (!pkg || !canSee(req.principal as Principal, pkg)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `document ${id}` })
      const deliveries = await store.getDeliveries(id)
      const withTimeline = await Promise.all(
        deliveries.map(async (d) => ({
          ...deliveryView(d),
          timeline: (await store.timeline(d.id)).map(timelineView),
        })),
      )
      return { ...packageView(pkg), ...(await awaitingOf(id)), ...(content ? contentView(id, await envelopeOf(id)) : {}), deliveries: withTimeline }
    },
  )

  app.get(
    '/v1/documents/:id/attachments/:cid',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['documents'],
        summary: 'One attachment of a sent document, as it was sent',
        description: 'The `cid:` prefix of the ContentId is optional; served like the inbox\'s attachments (content type of the content, original name in Content-Disposition).',
        params: {
          type: 'object',
          required: ['id', 'cid'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 100 }, cid: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: { 200: { description: 'The file.', type: 'string', format: 'binary' }, ...errors },
      },
    },
    async (req, reply) => {
      const { id, cid } = req.params as { id: string; cid: string }
      const pkg = await store.getPackage(id)
      if (!pkg || !canSee(req.principal as Principal, pkg)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `document ${id}` })
      const env = await envelopeOf(id)
      let report: AttachmentReport
      let bytes: Uint8Array
      try {
        report = env.describeAttachment(cid)
        bytes = env.attachment(cid)
      } catch (e) {
        if ((e as { code?: string }).code === 'GW_ERR_ENVELOPE_REFERENCE_MISSING') throw gwError('GW_ERR_API_NOT_FOUND', { what: `attachment ${cid} of document ${id}` }, e)
        throw e
      }
      return sendBytes(reply, bytes, servedContentType(report), { filename: fileName(report) })
    },
  )

  app.get(
    '/v1/documents',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['documents'],
        summary: "The agency's sent documents, newest first",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: stateFilterValues('out'), description: 'At least one delivery in this state (docs/design.md, the state table). `received` is the old name of `registered`, accepted until the next release (answered with a Deprecation header).' },
            recipient: { type: 'string', maxLength: 35, description: 'At least one delivery to this OrganId.' },
            documentId: { type: 'string', maxLength: 100 },
            since: { type: 'string', format: 'date-time', description: 'Created at or after (ISO 8601).' },
            until: { type: 'string', format: 'date-time', description: 'Created before (ISO 8601).' },
            cursor: { type: 'string', maxLength: 500, description: '`next` of the previous page.' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: { 200: ref('DocumentList'), ...errors },
      },
    },
    async (req, reply) => {
      const p = req.principal as Principal
      const q = req.query as { state?: string; recipient?: string; documentId?: string; since?: string; until?: string; cursor?: string; limit: number }
      const state = q.state ? stateFilter(reply, q.state, 'out').out : undefined
      const page = await store.listPackages({
        ...(p.kind === 'client' ? { senderOrganId: p.organId } : {}),
        kind: 'edoc',
        ...(state ? { state } : {}),
        ...(q.recipient ? { recipient: q.recipient.trim().toUpperCase() } : {}),
        ...(q.documentId ? { documentId: q.documentId } : {}),
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: q.limit,
      })
      // a package awaiting its signature has every delivery accepted: only those are looked up
      const waits = (pkg: PackageWithDeliveries) => (pkg.deliveries.every((d) => d.state === 'accepted') ? awaitingOf(pkg.id) : {})
      return {
        items: await Promise.all(page.items.map(async (pkg: PackageWithDeliveries) => ({ ...packageView(pkg), ...(await waits(pkg)), deliveries: pkg.deliveries.map(deliveryView) }))),
        ...(page.next ? { next: page.next } : {}),
      }
    },
  )
}
