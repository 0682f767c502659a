/**
 * The inbox of the receiving DMS: packages received for a hosted agency, verified and stored by the receive
 * pipeline.
 *
 * - `GET /v1/inbox`: newest first, filters (state, sender, since, until, documentId), cursor pagination.
 * - `GET /v1/inbox/:id`: metadata, the verification verdict, the edXML header in friendly names, the attachments
 *   with declared and real content type and size, parse warnings, the package's timeline.
 * - `GET /v1/inbox/:id/edxml`: the exact stored bytes; `GET /v1/inbox/:id/signature`: the detached CMS (DER).
 * - `GET /v1/inbox/:id/attachments/:cid`: one file, unzipped per the ZIP convention (docs/edxml.md §a.4) when it applies.
 * - `POST /v1/inbox/:id/ack`: the DMS has taken it (`fetched`); idempotent.
 * - `POST /v1/inbox/:id/status`: 03/02/04/05/06/15/16; the gateway signs a status package, sends it to the original
 *   sender through the outbox, and moves the package's state in the same transaction. Impossible moves are
 *   GW_ERR_API_CONFLICT. Both are src/pipeline/inbox.ts; this file parses, authorises (canSeeIncoming) and answers.
 *
 * A client key sees its own agency's documents only, and never a `rejected` (failed verification) package: another
 * agency's or a rejected package is 404. Operator keys read everything (rejected ones with `state=rejected`) and
 * cannot post statuses.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Config } from '../../config.js'
import { stateFilterValues, type IncomingState, type StatusCode } from '../../document/delivery.js'
import { stateFilter } from '../state-filter.js'
import { normaliseContentId, parseEnvelope, type AttachmentReport, type Envelope, type Organ } from '../../envelope/index.js'
import { gwError, isGatewayError } from '../../errors.js'
import type { Inbox } from '../../pipeline/inbox.js'
import { createInspector, type Inspector } from '../../pipeline/inspect.js'
import type { StatusStaff } from '../../pipeline/statuses.js'
import type { Store, StoredIncoming } from '../../store/index.js'
import type { Principal } from '../plugins/auth.js'
import { ref } from '../schemas.js'
import { timelineView } from '../views.js'

export interface InboxRoutesOptions {
  config: Config
  store: Store
  /** Acknowledgements and statuses (src/pipeline/inbox.ts). */
  inbox: Inbox
  /**
   * Where attachments are decoded and unzipped (streamed, within limits.unzippedBytes per package), off the event
   * loop. Default: an in-process one (one reading at a time).
   */
  inspector?: Inspector
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 409: ref('Error'), 410: ref('Error'), 429: ref('Error') }
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } }

/** States a client never sees: failed verification, and what an operator discarded of those. */
const HIDDEN: ReadonlySet<IncomingState> = new Set(['rejected', 'discarded'])

const up = (s: string | undefined): string => (s ?? '').trim().toUpperCase()

export function canSeeIncoming(p: Principal, inc: StoredIncoming): boolean {
  if (p.kind === 'operator') return true
  return inc.kind === 'edoc' && !HIDDEN.has(inc.state) && up(inc.recipient) === up(p.organId)
}

export function inboxItemView(i: StoredIncoming) {
  const v = i.verdict as { ok?: unknown; code?: unknown }
  return {
    id: i.id,
    kind: i.kind,
    ...(i.documentId ? { documentId: i.documentId } : {}),
    ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
    ...(i.recipient ? { recipient: i.recipient } : {}),
    state: i.state,
    ...(i.statusCode ? { statusCode: i.statusCode } : {}),
    ...(i.reason ? { reason: i.reason } : {}),
    ...(i.subject ? { subject: i.subject } : {}),
    ...(i.codeNumber || i.codeNotation ? { code: `${i.codeNumber ?? ''}/${i.codeNotation ?? ''}` } : {}),
    ...(i.promulgationDate ? { promulgationDate: i.promulgationDate } : {}),
    priority: i.priority,
    sha256: i.sha256,
    size: i.size,
    verdict: { ...(typeof v.ok === 'boolean' ? { ok: v.ok } : {}), ...(typeof v.code === 'string' ? { code: v.code } : {}) },
    ...(i.relatedId ? { relatedId: i.relatedId } : {}),
    receivedAt: i.receivedAt,
    updatedAt: i.updatedAt,
    ...(i.fetchedAt ? { fetchedAt: i.fetchedAt } : {}),
  }
}

// ---- content types and file names --------------------------------------------------------------------------

const EXT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  rtf: 'application/rtf',
  zip: 'application/zip',
  xml: 'application/xml',
  txt: 'text/plain',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
}

const extType = (name: string): string => EXT_TYPES[/\.([A-Za-z0-9]+)$/.exec(name.trim())?.[1]?.toLowerCase() ?? ''] ?? ''
const GENERIC = new Set(['', 'application/octet-stream', 'application/zip', 'application/x-zip-compressed'])
const SAFE_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/

/** The file name the DMS gets: the AttachmentName, or the ZIP entry's name when the AttachmentName has no extension. */
export function fileName(r: AttachmentReport): string {
  const name = r.attachmentName.trim()
  if (r.content.zipEntryName && !/\.[A-Za-z0-9]{1,8}$/.test(name)) return r.content.zipEntryName.split('/').pop() || name
  return name || r.contentId
}

/**
 * The Content-Type a download is served with. When the content is what its name promises, the name's precise type
 * (a .docx is a ZIP container by nature); when it is not (a "PDF" that is not one), the type of the content itself,
 * so a browser never treats the bytes as something they are not; without a telling name, the declared type unless it
 * only describes the transport ZIP.
 */
export function servedContentType(r: AttachmentReport): string {
  const name = fileName(r)
  const byName = extType(name)
  const real = r.content.contentType
  let t: string
  if (byName && !r.mismatch) t = byName
  else if (r.mismatch) t = real || 'application/octet-stream'
  else {
    const declared = [r.declared.manifest, r.declared.attachment].map((x) => x.trim().toLowerCase()).find((x) => !GENERIC.has(x))
    t = declared ?? (real || 'application/octet-stream')
  }
  return SAFE_TYPE.test(t) ? t : 'application/octet-stream'
}

/** `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 5987 percent-encoding>` (RFC 6266). */
export function contentDisposition(name: string): string {
  const nfc = name.normalize('NFC').replace(/[\r\n"\\]/g, '_').replace(/[/]/g, '_')
  const ascii =
    nfc
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/đ/g, 'd')
      .replace(/Đ/g, 'D')
      .replace(/[^\x20-\x7e]/g, '_')
      .replace(/[%;]/g, '_') || 'file'
  const encoded = encodeURIComponent(nfc).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

// ---- header views ------------------------------------------------------------------------------------------

const organView = (o: Organ) => ({
  organId: o.organId,
  name: o.organName,
  organizationInCharge: o.organizationInCharge,
  ...(o.organAdd ? { address: o.organAdd } : {}),
  ...(o.email ? { email: o.email } : {}),
  ...(o.telephone ? { phone: o.telephone } : {}),
  ...(o.fax ? { fax: o.fax } : {}),
  ...(o.website ? { website: o.website } : {}),
})

function headerView(env: Envelope): { header?: Record<string, unknown>; business?: Record<string, unknown> } {
  if (env.edoc) {
    const h = env.edoc.messageHeader
    const b = env.edoc.traceHeaderList.bussiness
    return {
      header: {
        from: organView(h.from),
        to: h.to.map(organView),
        code: { number: h.code.codeNumber, notation: h.code.codeNotation, full: `${h.code.codeNumber}/${h.code.codeNotation}` },
        promulgation: { place: h.promulgationInfo.place, date: h.promulgationInfo.promulgationDate.value || h.promulgationInfo.promulgationDate.raw },
        documentType: { type: h.documentType.type, ...(h.documentType.typeDetail ? { typeDetail: h.documentType.typeDetail } : {}), typeName: h.documentType.typeName },
        subject: h.subject,
        content: h.content,
        signer: { competence: h.signerInfo.competence, position: h.signerInfo.position, fullName: h.signerInfo.fullName },
        ...(h.dueDate.value ? { dueDate: h.dueDate.value } : {}),
        toPlaces: h.toPlaces,
        priority: h.otherInfo.priority,
        sphereOfPromulgation: h.otherInfo.sphereOfPromulgation,
        typerNotation: h.otherInfo.typerNotation,
        pageAmount: h.otherInfo.pageAmount,
        appendixes: h.otherInfo.appendixes,
        steeringType: h.steeringType,
        responseFor: h.responseFor.map((r) => ({ organId: r.organId, code: r.code, promulgationDate: r.promulgationDate.value || r.promulgationDate.raw, documentId: r.documentId })),
        documentId: h.documentId,
        traceHeaders: env.edoc.traceHeaderList.traceHeaders.map((t) => ({ organId: t.organId, timestamp: t.timestamp.value || t.timestamp.raw })),
      },
      ...(b
        ? {
            business: {
              type: Number(b.bussinessDocType) || 0,
              reason: b.bussinessDocReason,
              ...(b.documentId ? { documentId: b.documentId } : {}),
              ...(b.bussinessDocumentInfo
                ? {
                    documentInfo: {
                      metadataChanged: b.bussinessDocumentInfo.documentInfo === '1',
                      recipientsChanged: b.bussinessDocumentInfo.documentReceiver === '1',
                      receivers: b.bussinessDocumentInfo.receiverList.map((r) => ({ organId: r.organId, receiverType: r.receiverType })),
                    },
                  }
                : {}),
              ...(b.replacementInfoList.length ? { replacementInfo: b.replacementInfoList.map((r) => ({ documentId: r.documentId, organIds: r.organIdList })) } : {}),
              paper: b.paper === '1',
              staff: b.staffInfo,
            },
          }
        : {}),
    }
  }
  if (env.status) {
    const h = env.status.messageHeader
    return {
      header: {
        from: organView(h.from),
        responseFor: { organId: h.responseFor.organId, code: h.responseFor.code, promulgationDate: h.responseFor.promulgationDate.value, documentId: h.responseFor.documentId },
        statusCode: h.statusCode,
        description: h.description,
        staff: h.staffInfo,
        timestamp: h.timestamp.value || h.timestamp.raw,
      },
    }
  }
  return {}
}

// ---- routes ------------------------------------------------------------------------------------------------

export async function inboxRoutes(app: FastifyInstance, opts: InboxRoutesOptions): Promise<void> {
  const { store, config, inbox } = opts
  const inspector = opts.inspector ?? createInspector({ config })
  if (!opts.inspector) app.addHook('onClose', () => inspector.close())
  const readLimits = { packageBytes: config.limits.packageBytes, xmlDepth: config.limits.xmlDepth, unzippedBytes: config.limits.unzippedBytes }
  /** Attachment reports by inbox id (the bytes never change), the most recent 256. */
  const reports = new Map<string, AttachmentReport[]>()
  async function reportsOf(id: string, env: Envelope): Promise<AttachmentReport[]> {
    const hit = reports.get(id)
    if (hit) return hit
    const r = await inspector.run({ op: 'describe-attachments', bytes: env.bytes, limits: readLimits })
    reports.set(id, r)
    if (reports.size > 256) reports.delete(reports.keys().next().value!)
    return r
  }

  /** Parsed packages by inbox id (the bytes never change), bounded by their total size. */
  const cache = new Map<string, Envelope>()
  let cachedBytes = 0
  const CACHE_BYTES = 64 * 1024 * 1024

  async function envelopeOf(inc: StoredIncoming): Promise<Envelope> {
    const hit = cache.get(inc.id)
    if (hit) {
      cache.delete(inc.id)
      cache.set(inc.id, hit)
      return hit
    }
    const stored = await store.getIncomingBytes(inc.id)
    if (!stored) throw gwError('GW_ERR_API_NOT_FOUND', { what: `inbox item ${inc.id}` })
    const env = parseEnvelope(stored.bytes, { maxBytes: Math.max(config.limits.packageBytes, stored.bytes.byteLength), maxDepth: config.limits.xmlDepth })
    if (env.bytes.byteLength <= CACHE_BYTES / 4) {
      cache.set(inc.id, env)
      cachedBytes += env.bytes.byteLength
      for (const [k, v] of cache) {
        if (cachedBytes <= CACHE_BYTES) break
        cache.delete(k)
        cachedBytes -= v.bytes.byteLength
      }
    }
    return env
  }

  async function load(p: Principal, id: string): Promise<StoredIncoming> {
    const inc = await store.getIncoming(id)
    if (!inc || !canSeeIncoming(p, inc)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `inbox item ${id}` })
    return inc
  }

  app.get(
    '/v1/inbox',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['inbox'],
        summary: 'Documents received for the agency, newest first',
        description:
          'A client key lists its own agency\'s received documents; packages that failed verification are never listed to clients. Operator keys list every hosted agency (filter with `recipient`), and see rejected packages with `state=rejected`.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: stateFilterValues('in'), description: 'Packages in this state (docs/design.md, the state table). Old names accepted until the next release (answered with a Deprecation header): `received` for `arrived`, `accepted` for `registered`.' },
            sender: { type: 'string', maxLength: 35, description: 'From/OrganId.' },
            since: { type: 'string', format: 'date-time', description: 'Received at or after (ISO 8601).' },
            until: { type: 'string', format: 'date-time', description: 'Received before (ISO 8601).' },
            documentId: { type: 'string', maxLength: 200 },
            recipient: { type: 'string', maxLength: 35, description: 'Operators: one hosted agency.' },
            kind: { type: 'string', enum: ['edoc', 'status', 'unknown'], description: 'Operators: package kind (default edoc; any kind with state=rejected).' },
            cursor: { type: 'string', maxLength: 500, description: '`next` of the previous page.' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: { 200: ref('InboxList'), ...errors },
      },
    },
    async (req, reply) => {
      const p = req.principal as Principal
      const raw = req.query as { state?: string }
      const q = {
        ...(req.query as object),
        ...(raw.state !== undefined ? { state: stateFilter(reply, raw.state, 'in').in } : {}),
      } as {
        state?: IncomingState
        sender?: string
        since?: string
        until?: string
        documentId?: string
        recipient?: string
        kind?: 'edoc' | 'status' | 'unknown'
        cursor?: string
        limit: number
      }
      if (p.kind === 'client') {
        if (q.state && HIDDEN.has(q.state)) throw gwError('GW_ERR_API_FORBIDDEN', { reason: `packages in state ${q.state} are shown to operators only` })
        if (q.kind !== undefined && q.kind !== 'edoc') throw gwError('GW_ERR_API_FORBIDDEN', { reason: 'the inbox of a client lists document packages only' })
        if (q.recipient !== undefined && up(q.recipient) !== up(p.organId)) {
          throw gwError('GW_ERR_API_FORBIDDEN', { reason: `this API key reads the inbox of ${p.organId} only` })
        }
      }
      const kind = q.kind ?? (p.kind === 'operator' && q.state && HIDDEN.has(q.state) ? undefined : 'edoc')
      const base = {
        ...(p.kind === 'client' ? { recipient: p.organId } : q.recipient ? { recipient: up(q.recipient) } : {}),
        ...(q.sender ? { senderOrganId: up(q.sender) } : {}),
        ...(kind ? { kind } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.documentId ? { documentId: q.documentId } : {}),
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
      }
      // without a state filter, rejected packages are left out: pages are filled from the following store pages
      // (each read for exactly what is missing, so the store's cursor stays exact)
      const hideRejected = q.state === undefined
      const items: StoredIncoming[] = []
      let cursor = q.cursor
      let next: string | undefined
      for (let round = 0; round < 20; round++) {
        const page = await store.listIncoming({ ...base, ...(cursor ? { cursor } : {}), limit: q.limit - items.length })
        for (const i of page.items) if (!hideRejected || !HIDDEN.has(i.state)) items.push(i)
        next = page.next
        if (!next || items.length >= q.limit) break
        cursor = next
      }
      return { items: items.map(inboxItemView), ...(next ? { next } : {}) }
    },
  )

  app.get(
    '/v1/inbox/:id',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['inbox'],
        summary: 'A received document: metadata, verification verdict, attachments, timeline',
        params: idParams,
        response: { 200: ref('InboxDocument'), ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string }
      const inc = await load(req.principal as Principal, id)
      let env: Envelope | undefined
      let parseError: string | undefined
      let purged: string | undefined
      try {
        env = await envelopeOf(inc)
      } catch (e) {
        // purged by retention: the item, its verdict and timeline stay readable, without header or attachments
        if (isGatewayError(e) && e.code === 'GW_ERR_STORE_PURGED') purged = e.message
        else if (inc.state !== 'rejected') throw e
        else parseError = (e as Error).message
      }
      const attachments = env
        ? (await reportsOf(inc.id, env)).map((r) => {
            // one normalisation for the listing and the download route (`cid:cid:<uuid>`, `<cid:...>`: the same id)
            const cid = normaliseContentId(r.contentId)
            const info = env.edoc?.attachments.find((a) => normaliseContentId(a.contentId) === cid)
            return {
              contentId: cid,
              name: fileName(r),
              ...(info?.description ? { description: info.description } : {}),
              declared: r.declared,
              payload: r.payload,
              contentType: servedContentType(r),
              realContentType: r.content.contentType,
              size: r.content.size,
              zipConvention: r.content.zipEntryName !== undefined,
              ...(r.content.zipEntryName !== undefined ? { zipEntryName: r.content.zipEntryName } : {}),
              mismatch: r.mismatch,
              warnings: r.warnings.map((w) => ({ code: w.code, message: w.message })),
              url: `/v1/inbox/${encodeURIComponent(inc.id)}/attachments/${encodeURIComponent(cid)}`,
            }
          })
        : []
      const events = await store.listEvents({ packageId: inc.id, limit: 500 })
      return {
        ...inboxItemView(inc),
        verdict: inc.verdict,
        metadata: inc.metadata,
        ...(env ? headerView(env) : {}),
        attachments,
        warnings: [
          ...(env?.warnings ?? []).map((w) => ({ code: w.code, message: w.message, ...(w.path ? { path: w.path } : {}) })),
          ...(parseError ? [{ code: 'UNPARSEABLE', message: parseError }] : []),
          ...(purged ? [{ code: 'GW_ERR_STORE_PURGED', message: purged }] : []),
        ],
        timeline: events.items
          .filter((e) => e.direction === 'in')
          .reverse()
          .map(timelineView),
      }
    },
  )

  const binary = (description: string) => ({ description, type: 'string', format: 'binary' })

  app.get(
    '/v1/inbox/:id/edxml',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['inbox'],
        summary: 'The package as received: its exact bytes (application/xml)',
        params: idParams,
        response: { 200: binary('The exact edXML bytes the signature covers.'), ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const inc = await load(req.principal as Principal, id)
      const stored = await store.getIncomingBytes(inc.id)
      if (!stored) throw gwError('GW_ERR_API_NOT_FOUND', { what: `bytes of inbox item ${id}` })
      return sendBytes(reply, stored.bytes, 'application/xml', { etag: inc.sha256, filename: `${inc.id}.edxml` })
    },
  )

  app.get(
    '/v1/inbox/:id/signature',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['inbox'],
        summary: 'The detached CMS signature over the package bytes (DER, application/pkcs7-signature)',
        params: idParams,
        response: { 200: binary('Detached CMS SignedData, DER.'), ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const inc = await load(req.principal as Principal, id)
      const stored = await store.getIncomingBytes(inc.id)
      if (!stored?.signature) throw gwError('GW_ERR_API_NOT_FOUND', { what: `signature of inbox item ${id}` })
      return sendBytes(reply, stored.signature, 'application/pkcs7-signature', { filename: `${inc.id}.p7s` })
    },
  )

  app.get(
    '/v1/inbox/:id/attachments/:cid',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['inbox'],
        summary: 'One attachment, unzipped per the ZIP convention when it applies',
        description:
          'The `cid:` prefix of the ContentId is optional. A payload that is a single-entry ZIP under a name that does not end in .zip is served unzipped (docs/edxml.md §a.4). The Content-Type is that of the content; `X-Lienthong-Declared-Content-Type` repeats what the package declared, and `Content-Disposition` carries the original (Vietnamese) name, RFC 5987 encoded.',
        params: {
          type: 'object',
          required: ['id', 'cid'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 100 }, cid: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: { 200: binary('The file.'), ...errors },
      },
    },
    async (req, reply) => {
      const { id, cid } = req.params as { id: string; cid: string }
      const inc = await load(req.principal as Principal, id)
      const env = await envelopeOf(inc)
      let report: AttachmentReport
      let content: Uint8Array
      try {
        const read = await inspector.run({ op: 'attachment', bytes: env.bytes, contentId: cid, limits: readLimits })
        report = read.report
        content = read.content
      } catch (e) {
        if ((e as { code?: string }).code === 'GW_ERR_ENVELOPE_REFERENCE_MISSING') throw gwError('GW_ERR_API_NOT_FOUND', { what: `attachment ${cid} of inbox item ${id}` }, e)
        throw e
      }
      reply.header('x-lienthong-declared-content-type', report.declared.manifest || report.declared.attachment)
      if (report.content.zipEntryName !== undefined) reply.header('x-lienthong-zip-convention', 'applied')
      return sendBytes(reply, content, servedContentType(report), { filename: fileName(report) })
    },
  )

  app.post(
    '/v1/inbox/:id/ack',
    {
      config: { auth: 'client' },
      schema: {
        tags: ['inbox'],
        summary: 'The DMS has taken the document (state fetched); repeating it changes nothing',
        description: 'Send no body (or `{}` with Content-Type application/json). Answer 200 with the state; `changed: false` when it was already fetched or further along.',
        params: idParams,
        response: { 200: ref('InboxAck'), ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string }
      const p = req.principal as Extract<Principal, { kind: 'client' }>
      const r = await inbox.acknowledge({ id, clientId: p.id, authorise: (inc) => canSeeIncoming(p, inc) })
      return { id: r.incoming.id, state: r.state, changed: r.changed, ...(r.fetchedAt ? { fetchedAt: r.fetchedAt } : {}) }
    },
  )

  app.post(
    '/v1/inbox/:id/status',
    {
      config: { auth: 'client' },
      schema: {
        tags: ['inbox'],
        summary: 'Report a status on a received document; the gateway sends the signed status package to the sender',
        description:
          '03 accepted, 02 refused (description required), 04 assigned, 05 processing, 06 completed; 15/16 answer a recall request (only while the document is recall-requested). States only move forward: received → fetched → accepted|refused → assigned → processing → completed; an impossible move is 409 GW_ERR_API_CONFLICT. Repeating the current status is 200 with `changed: false` and sends nothing. Answer 202 when a status package was put in the outbox.',
        params: idParams,
        body: ref('StatusRequest'),
        response: { 200: ref('InboxAck'), 202: ref('InboxAck'), ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const p = req.principal as Extract<Principal, { kind: 'client' }>
      const body = req.body as { code: StatusCode; description?: string; staff?: StatusStaff }
      const r = await inbox.reportStatus({
        id,
        clientId: p.id,
        authorise: (inc) => canSeeIncoming(p, inc),
        code: body.code,
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.staff ? { staff: body.staff } : {}),
      })
      if (!r.sent) {
        return reply.code(200).send({ id: r.incoming.id, state: r.incoming.state, changed: false, ...(r.incoming.statusCode ? { statusCode: r.incoming.statusCode } : {}) })
      }
      const sent = r.status
      return reply.code(202).send({
        id: r.incoming.id,
        state: r.transition.state,
        changed: r.transition.changed,
        statusCode: body.code,
        statusPackage: { id: sent.id, recipient: sent.recipient, deliveryId: sent.deliveryId, state: sent.delivery.state, sha256: sent.sha256 },
      })
    },
  )
}

/** Send bytes as a stream of 64 KiB chunks with a length, a type and, when named, a Content-Disposition. */
export function sendBytes(reply: FastifyReply, bytes: Uint8Array, type: string, o: { filename?: string; etag?: string } = {}) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  reply.header('content-type', type)
  reply.header('content-length', String(buf.length))
  reply.header('x-content-type-options', 'nosniff')
  reply.header('cache-control', 'private, no-store')
  if (o.etag) reply.header('etag', `"${o.etag}"`)
  if (o.filename) reply.header('content-disposition', contentDisposition(o.filename))
  if (buf.length <= 64 * 1024) return reply.send(buf)
  const CHUNK = 64 * 1024
  function* chunks() {
    for (let off = 0; off < buf.length; off += CHUNK) yield buf.subarray(off, Math.min(buf.length, off + CHUNK))
  }
  return reply.send(Readable.from(chunks(), { objectMode: false }))
}
