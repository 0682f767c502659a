/**
 * The incoming pipeline: what happens to every AMQP message consumed from a hosted agency's inbox queue, as named
 * steps in this order (one translating catch at the end, in the style of X-Road's ServerMessageProcessor):
 *
 *   1. readHeaders      the AMQP signature header must be there (else NO_SIGNATURE); sha256 of the exact body
 *   2. checkSize        limits.packageBytes (GW_ERR_ENVELOPE_TOO_LARGE)
 *   3. parse            envelope.parseEnvelope: DOCTYPE, entities, depth, base64... (GW_ERR_ENVELOPE_* codes)
 *   4. checkRecipient   the routing recipient is hosted here (RECIPIENT_NOT_HOSTED) and, for a document, listed
 *                       in its To (RECIPIENT_NOT_ADDRESSED)
 *   5. checkSender      the AMQP sender header equals From/OrganId (SENDER_MISMATCH)
 *   6. verify           detached CMS over the exact bytes, chain, validity at signing time, key usage, CRL, and
 *                       certificate UID == From/OrganId (verdict codes of src/signature)
 *   7. checkHistory     the same bytes already stored for this recipient: a redelivery (ack, no second 01); the
 *                       same DocumentId from the same sender with other bytes: REPLAY (a revoke, type 1, keeps
 *                       the original DocumentId by design and is not a replay)
 *   8. accept           document: business type (revoke / update / replace linked to the document they change),
 *                       store `received` with the verdict, send 01; status: match the delivery it answers, move
 *                       its state (never backwards; every status is kept in the timeline), store it
 *
 * Only after the package is durably stored is the message acknowledged ('ack'). A package that fails is stored as
 * `rejected` with its verdict (code + message), answered with a 02 when its sender can be identified (and never
 * a status with a status), and dead-lettered ('reject'). Retryable failures (store unavailable) give 'retry': the
 * message goes back to the queue, never to the dead-letter queue. A status for a document we never sent is stored
 * as rejected (ORPHAN_STATUS) and acknowledged: retrying cannot help.
 */
import { createHash, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Config } from '../config.js'
import { isGatewayError } from '../errors.js'
import { parseEnvelope, type Envelope } from '../envelope/index.js'
import { STATUS_CODE_LABELS, STATUS_CODE_STATE, isStatusCode, type StatusCode } from '../document/delivery.js'
import type { Logger } from '../logger.js'
import type { Verdict, Verifier } from '../signature/index.js'
import type { Store, StoredIncoming } from '../store/index.js'
import type { HandlerResult, InboundMessage } from '../transport/index.js'
import { splitCode } from './document-request.js'
import { keyedSerial } from './serial.js'
import { responseForHeader, type StatusSender } from './statuses.js'

/** Codes the pipeline itself gives (besides the signature verdict codes and GW_ERR_ENVELOPE_* codes). */
export const INCOMING_CODES = {
  NO_SIGNATURE: 'the AMQP message has no x-lienthong-signature header (or it is not base64)',
  RECIPIENT_NOT_HOSTED: 'the recipient is not hosted by this gateway',
  RECIPIENT_NOT_ADDRESSED: 'the recipient is not among the document\'s To',
  SENDER_MISMATCH: 'the sender header, From/OrganId and the certificate UID do not name the same agency',
  REPLAY: 'this DocumentId was already received from this sender with different content',
  ORPHAN_STATUS: 'the status answers no document known here',
  INTERNAL: 'unexpected error while processing the package',
} as const
export type IncomingCode = keyof typeof INCOMING_CODES

export interface IncomingDeps {
  config: Pick<Config, 'agencies' | 'limits'>
  store: Store
  verifier: Pick<Verifier, 'verify'>
  /** Sends 01/02 (src/pipeline/statuses.ts). */
  statuses: StatusSender
  clock?: () => Date
  newId?: () => string
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
}

/** Events for observers (the demo, webhooks): fired after the package is stored. */
export interface IncomingEvents {
  received: [e: { incoming: StoredIncoming; duplicate: boolean }]
  rejected: [e: { incoming?: StoredIncoming; code: string; message: string }]
  status: [e: { incoming: StoredIncoming; statusCode: StatusCode; deliveryId?: string; changed: boolean; state?: string }]
}

export interface IncomingPipeline {
  handle(msg: InboundMessage): Promise<HandlerResult>
  on<K extends keyof IncomingEvents>(event: K, listener: (...args: IncomingEvents[K]) => void): this
  off<K extends keyof IncomingEvents>(event: K, listener: (...args: IncomingEvents[K]) => void): this
}

/** A package refused for a reason that retrying cannot change. */
class Rejection {
  constructor(
    readonly code: string,
    readonly message: string,
    readonly verdict?: Verdict,
    /** Acknowledge instead of dead-lettering (orphan statuses). */
    readonly ack = false,
  ) {}
}

const reject = (code: IncomingCode, detail?: string): Rejection => new Rejection(code, detail ? `${INCOMING_CODES[code]}: ${detail}` : INCOMING_CODES[code])

interface Ctx {
  msg: InboundMessage
  id: string
  sha256: string
  /** Hosted recipient in the configured spelling (or the routing key as received when not hosted). */
  recipient: string
  hosted: boolean
  signature?: Uint8Array
  env?: Envelope
  /** From/OrganId as written. */
  sender?: string
  documentId?: string
  verdict?: Verdict
}

const upper = (s: string | undefined): string => (s ?? '').trim().toUpperCase()

function businessType(env: Envelope): number {
  return Number(env.edoc?.traceHeaderList.bussiness?.bussinessDocType ?? 0) || 0
}

export function createIncomingPipeline(deps: IncomingDeps): IncomingPipeline {
  const { store, verifier, statuses } = deps
  const clock = deps.clock ?? (() => new Date())
  const newId = deps.newId ?? randomUUID
  const log = deps.logger ?? { info() {}, warn() {}, error() {}, debug() {} }
  const hosted = new Map(deps.config.agencies.map((a) => [upper(a.organId), a.organId]))
  const limits = deps.config.limits
  const events = new EventEmitter()

  // ---- steps ------------------------------------------------------------------------------------------

  function readHeaders(ctx: Ctx): void {
    if (!ctx.msg.signature || ctx.msg.signature.length === 0) throw reject('NO_SIGNATURE')
    ctx.signature = ctx.msg.signature
  }

  function checkSize(ctx: Ctx): void {
    if (ctx.msg.body.length > limits.packageBytes) {
      throw new Rejection('GW_ERR_ENVELOPE_TOO_LARGE', `package is ${ctx.msg.body.length} bytes, over the limit of ${limits.packageBytes}`)
    }
  }

  function parse(ctx: Ctx): Envelope {
    const env = parseEnvelope(ctx.msg.body, { maxBytes: limits.packageBytes, maxDepth: limits.xmlDepth })
    ctx.env = env
    if ((ctx.msg.type === 'edoc' || ctx.msg.type === 'status') && ctx.msg.type !== env.kind) {
      // the signed body decides; the AMQP type is only the sender's label
      log.warn({ messageId: ctx.msg.messageId, amqpType: ctx.msg.type, kind: env.kind }, `AMQP type ${ctx.msg.type} but the package is a ${env.kind} package; handled as ${env.kind}`)
    }
    if (env.kind === 'edoc' && env.edoc) {
      const h = env.edoc.messageHeader
      ctx.sender = h.from.organId
      ctx.documentId = h.documentId.trim() !== '' ? h.documentId : `${h.from.organId},${h.promulgationInfo.promulgationDate.value},${h.code.codeNumber}/${h.code.codeNotation}`
    } else if (env.status) {
      ctx.sender = env.status.messageHeader.from.organId
      ctx.documentId = env.status.messageHeader.responseFor.documentId || undefined
    }
    return env
  }

  function checkRecipient(ctx: Ctx, env: Envelope): void {
    if (!ctx.hosted) throw reject('RECIPIENT_NOT_HOSTED', ctx.recipient || '(no recipient)')
    if (env.edoc && !env.edoc.messageHeader.to.some((t) => upper(t.organId) === upper(ctx.recipient))) {
      throw reject('RECIPIENT_NOT_ADDRESSED', `${ctx.recipient} is not in To (${env.edoc.messageHeader.to.map((t) => t.organId).join(', ')})`)
    }
  }

  function checkSender(ctx: Ctx): void {
    if (upper(ctx.msg.sender) !== upper(ctx.sender)) {
      throw reject('SENDER_MISMATCH', `sender header ${ctx.msg.sender ?? '(none)'}, From/OrganId ${ctx.sender ?? '(none)'}`)
    }
  }

  async function verify(ctx: Ctx): Promise<void> {
    const verdict = await verifier.verify(ctx.msg.body, ctx.signature as Uint8Array, { expectedOrganId: ctx.sender as string })
    ctx.verdict = verdict
    if (!verdict.ok) throw new Rejection(verdict.code, verdict.message, verdict)
  }

  /** The stored copy when this is a redelivery; throws REPLAY for the same DocumentId with other bytes. */
  async function checkHistory(ctx: Ctx, env: Envelope): Promise<StoredIncoming | undefined> {
    if (!ctx.sender || !ctx.documentId) return undefined
    const seen = await store.findIncomingByDocument(ctx.sender, ctx.documentId)
    const same = seen.find((s) => s.sha256 === ctx.sha256 && upper(s.recipient) === upper(ctx.recipient) && s.state !== 'rejected')
    if (same) return same
    if (env.kind === 'edoc' && businessType(env) !== 1) {
      const other = seen.find((s) => s.kind === 'edoc' && s.state !== 'rejected' && s.sha256 !== ctx.sha256 && s.metadata.businessType !== 1)
      if (other) throw reject('REPLAY', `DocumentId ${ctx.documentId} from ${ctx.sender} was received at ${other.receivedAt} (package ${other.id}) with sha256 ${other.sha256}`)
    }
    return undefined
  }

  /** The received document a revoke / update / replace / 13 refers to (EDXML.md §c: DocumentId, then code + date). */
  async function findOriginal(sender: string, recipient: string, q: { documentId?: string; codeNumber?: string; codeNotation?: string; promulgationDate?: string }, excludeId?: string): Promise<StoredIncoming | undefined> {
    const usable = (s: StoredIncoming) => s.kind === 'edoc' && s.state !== 'rejected' && upper(s.recipient) === upper(recipient) && s.id !== excludeId && s.metadata.businessType !== 1
    if (q.documentId) {
      const found = (await store.findIncomingByDocument(sender, q.documentId)).filter(usable)
      if (found[0]) return found[0]
    }
    if (q.codeNumber) {
      const page = await store.listIncoming({ recipient, senderOrganId: sender, kind: 'edoc', limit: 500 })
      return page.items.find(
        (s) =>
          usable(s) &&
          s.codeNumber === q.codeNumber &&
          (q.codeNotation === undefined || s.codeNotation === q.codeNotation) &&
          (!q.promulgationDate || !s.promulgationDate || s.promulgationDate === q.promulgationDate),
      )
    }
    return undefined
  }

  function describe(env: Envelope): Record<string, unknown> {
    const e = env.edoc
    if (!e) return {}
    const h = e.messageHeader
    const b = e.traceHeaderList.bussiness
    const attachments = env.attachmentIds().map((cid) => {
      const info = e.attachments.find((a) => a.contentId === cid)
      try {
        const r = env.describeAttachment(cid)
        return { contentId: cid, name: r.attachmentName, declared: r.declared, contentType: r.content.contentType, size: r.content.size, payloadSize: r.payload.size, mismatch: r.mismatch }
      } catch {
        return { contentId: cid, name: info?.attachmentName ?? '', declared: { manifest: info?.manifestContentType ?? '', attachment: info?.contentType ?? '' }, contentType: info?.realContentType ?? '', size: info?.size ?? 0 }
      }
    })
    return {
      subject: h.subject,
      code: `${h.code.codeNumber}/${h.code.codeNotation}`,
      from: { organId: h.from.organId, name: h.from.organName },
      to: h.to.map((t) => ({ organId: t.organId, name: t.organName })),
      promulgation: { place: h.promulgationInfo.place, date: h.promulgationInfo.promulgationDate.value },
      documentType: h.documentType,
      priority: Number(h.otherInfo.priority) || 0,
      signer: h.signerInfo,
      businessType: businessType(env),
      business: b
        ? {
            type: businessType(env),
            reason: b.bussinessDocReason,
            documentId: b.documentId,
            replacementInfo: b.replacementInfoList.map((r) => ({ documentId: r.documentId, organIds: r.organIdList })),
            ...(b.bussinessDocumentInfo ? { documentInfo: b.bussinessDocumentInfo } : {}),
          }
        : { type: 0 },
      attachments,
      warnings: env.warnings.map((w) => ({ code: w.code, message: w.message })),
    }
  }

  const responseForOf = (env: Envelope, sender: string, documentId: string) => responseForHeader(env.edoc!.messageHeader, sender, documentId)

  async function send01(ctx: Ctx, incoming: StoredIncoming): Promise<void> {
    if (!ctx.env?.edoc || !ctx.sender || !ctx.documentId) return
    try {
      await sendStatus01(ctx, incoming)
    } catch (e) {
      // the document is stored; a retryable failure redelivers it and the keyed send tries again
      if (isGatewayError(e) && e.retryable) throw e
      log.error({ err: e, packageId: incoming.id, documentId: ctx.documentId }, 'cannot send status 01 for a received document')
    }
  }

  async function sendStatus01(ctx: Ctx, incoming: StoredIncoming): Promise<void> {
    await statuses.send({
      from: ctx.recipient,
      to: ctx.sender as string,
      statusCode: '01',
      responseFor: responseForOf(ctx.env as Envelope, ctx.sender as string, ctx.documentId as string),
      description: STATUS_CODE_LABELS['01'],
      actor: 'system',
      key: `01:${incoming.id}`,
      metadata: { incomingId: incoming.id },
    })
  }

  /** Revoke / update / replace: link to the document changed and mark it. Returns the related incoming id. */
  async function applyBusiness(ctx: Ctx, env: Envelope): Promise<{ relatedId?: string; effects: Record<string, unknown>[] }> {
    const type = businessType(env)
    const b = env.edoc?.traceHeaderList.bussiness
    const h = env.edoc!.messageHeader
    const sender = ctx.sender as string
    const effects: Record<string, unknown>[] = []
    const actor = `peer:${sender}`
    if (type === 1) {
      const orig = await findOriginal(sender, ctx.recipient, { documentId: ctx.documentId, ...splitCode(`${h.code.codeNumber}/${h.code.codeNotation}`), promulgationDate: h.promulgationInfo.promulgationDate.value })
      if (!orig) return { effects: [{ type: 'revoke', found: false }] }
      await store.transitionIncoming(orig.id, 'recall-requested', {
        cause: 'revoke (BussinessDocType 1) from the sender',
        actor,
        statusCode: '13',
        detail: { revokePackageId: ctx.id, reason: b?.bussinessDocReason ?? '' },
      })
      return { relatedId: orig.id, effects: [{ type: 'revoke', target: orig.id }] }
    }
    if (type === 2 || type === 3) {
      const targets =
        type === 2
          ? [b?.documentId && b.documentId !== ctx.documentId ? b.documentId : '']
          : (b?.replacementInfoList ?? []).map((r) => r.documentId)
      let relatedId: string | undefined
      for (const documentId of targets.filter((x) => x !== '')) {
        const orig = await findOriginal(sender, ctx.recipient, { documentId }, undefined)
        if (!orig) {
          effects.push({ type: type === 2 ? 'update' : 'replace', documentId, found: false })
          continue
        }
        relatedId ??= orig.id
        await store.appendEvent({
          direction: 'in',
          type: type === 2 ? 'updated' : 'superseded',
          packageId: orig.id,
          documentId: orig.documentId ?? documentId,
          sender,
          recipient: ctx.recipient,
          actor,
          cause: type === 2 ? `updated by package ${ctx.id} (DocumentId ${ctx.documentId})` : `replaced by package ${ctx.id} (DocumentId ${ctx.documentId})`,
          detail: { by: ctx.id, byDocumentId: ctx.documentId ?? '', reason: b?.bussinessDocReason ?? '' },
        })
        effects.push({ type: type === 2 ? 'update' : 'replace', documentId, target: orig.id })
      }
      return { ...(relatedId ? { relatedId } : {}), effects }
    }
    return { effects }
  }

  function basePackage(ctx: Ctx) {
    const env = ctx.env
    const h = env?.edoc?.messageHeader
    const s = env?.status?.messageHeader
    const code = h ? { codeNumber: h.code.codeNumber, codeNotation: h.code.codeNotation } : s ? splitCode(s.responseFor.code) : {}
    const date = h ? h.promulgationInfo.promulgationDate.value : s?.responseFor.promulgationDate.value
    return {
      id: ctx.id,
      kind: env?.kind ?? ('unknown' as const),
      ...(ctx.documentId ? { documentId: ctx.documentId } : {}),
      ...(ctx.sender ?? ctx.msg.sender ? { senderOrganId: (ctx.sender ?? ctx.msg.sender) as string } : {}),
      ...(ctx.recipient ? { recipient: ctx.recipient } : {}),
      ...(ctx.msg.messageId ? { messageId: ctx.msg.messageId } : {}),
      bytes: ctx.msg.body,
      ...(ctx.signature ?? ctx.msg.signature ? { signature: (ctx.signature ?? ctx.msg.signature) as Uint8Array } : {}),
      sha256: ctx.sha256,
      priority: ctx.msg.priority,
      ...(h?.subject ? { subject: h.subject } : {}),
      ...(code.codeNumber ? { codeNumber: code.codeNumber } : {}),
      ...(code.codeNotation ? { codeNotation: code.codeNotation } : {}),
      ...(date ? { promulgationDate: date } : {}),
      ...(s && isStatusCode(s.statusCode) ? { statusCode: s.statusCode } : {}),
    }
  }

  async function acceptDocument(ctx: Ctx, env: Envelope): Promise<HandlerResult> {
    const business = await applyBusiness(ctx, env)
    const rec = await store.recordIncoming({
      package: {
        ...basePackage(ctx),
        metadata: { ...describe(env), ...(business.effects.length > 0 ? { effects: business.effects } : {}) },
        verdict: ctx.verdict as unknown as Record<string, unknown>,
        ...(business.relatedId ? { relatedId: business.relatedId } : {}),
      },
      state: 'received',
      actor: `peer:${ctx.sender}`,
      at: clock(),
    })
    await send01(ctx, rec.incoming)
    log.info(
      { packageId: rec.incoming.id, documentId: ctx.documentId, sender: ctx.sender, recipient: ctx.recipient, businessType: businessType(env), duplicate: rec.duplicate },
      `document ${ctx.documentId} from ${ctx.sender} received for ${ctx.recipient}`,
    )
    events.emit('received', { incoming: rec.incoming, duplicate: rec.duplicate })
    return 'ack'
  }

  async function acceptStatus(ctx: Ctx, env: Envelope): Promise<HandlerResult> {
    const s = env.status!.messageHeader
    const code = s.statusCode as StatusCode
    const author = ctx.sender as string
    const rf = s.responseFor
    const q = { documentId: rf.documentId || undefined, ...splitCode(rf.code), promulgationDate: rf.promulgationDate.value || undefined }
    const detail = { statusPackageId: ctx.id, description: s.description, staffInfo: { ...s.staffInfo }, timestamp: s.timestamp.value }
    const actor = `peer:${author}`
    let relatedId: string | undefined
    let deliveryId: string | undefined
    let changed: boolean
    let state: string | undefined
    if (code === '13') {
      // the sender of a document we received asks to take it back
      const orig = await findOriginal(author, ctx.recipient, q)
      if (!orig) throw new Rejection('ORPHAN_STATUS', `status 13 for DocumentId ${rf.documentId} (${rf.code}): no such document received from ${author}`, ctx.verdict, true)
      const r = await store.transitionIncoming(orig.id, 'recall-requested', { cause: `status 13 from ${author}`, actor, statusCode: '13', detail })
      relatedId = orig.id
      changed = r.changed
      state = r.state
    } else {
      const senderOrganId = ctx.recipient
      const target = STATUS_CODE_STATE[code]
      const delivery = await store.findDelivery({ senderOrganId, recipient: upper(author), ...q })
      if (!delivery || !target) {
        throw new Rejection('ORPHAN_STATUS', `status ${code} for DocumentId ${rf.documentId} (${rf.code}): no document sent by ${senderOrganId} to ${author} matches`, ctx.verdict, true)
      }
      const opts = {
        cause: `status ${code} from ${author}`,
        actor,
        statusCode: code,
        ...(code === '02' || code === '16' ? { reason: s.description || `status ${code}` } : {}),
        detail,
      }
      const r = await store.transition(delivery.id, target, opts)
      deliveryId = delivery.id
      relatedId = delivery.packageId
      changed = r.changed
      state = r.state
      if (code === '15' || code === '16') {
        // a recall answer concerns the document itself, also when the recall was a revoke package (type 1) sharing its DocumentId
        const original = await store.getPackage(delivery.packageId)
        const pkgs = await store.listPackages({ senderOrganId, documentId: original?.documentId ?? rf.documentId, kind: 'edoc', recipient: upper(author), limit: 50 }).catch(() => ({ items: [] }))
        for (const p of pkgs.items) {
          for (const d of p.deliveries) if (d.id !== delivery.id && upper(d.recipient) === upper(author)) await store.transition(d.id, target, opts)
        }
      }
    }
    const rec = await store.recordIncoming({
      package: { ...basePackage(ctx), metadata: { statusCode: code, description: s.description, staffInfo: { ...s.staffInfo }, responseFor: { ...rf, promulgationDate: rf.promulgationDate.value }, from: { organId: author, name: s.from.organName }, deliveryId, changed, state }, verdict: ctx.verdict as unknown as Record<string, unknown>, ...(relatedId ? { relatedId } : {}) },
      state: 'received',
      actor,
      at: clock(),
    })
    log.info({ packageId: rec.incoming.id, documentId: rf.documentId, sender: author, recipient: ctx.recipient, statusCode: code, deliveryId, changed, state }, `status ${code} from ${author} for ${rf.documentId}`)
    events.emit('status', { incoming: rec.incoming, statusCode: code, ...(deliveryId ? { deliveryId } : {}), changed, ...(state ? { state } : {}) })
    return 'ack'
  }

  async function redelivered(ctx: Ctx, existing: StoredIncoming): Promise<HandlerResult> {
    // a crash may have come between storing and the 01: the keyed send makes sure there is exactly one
    if (existing.kind === 'edoc') await send01(ctx, existing)
    log.info({ packageId: existing.id, documentId: ctx.documentId, sender: ctx.sender, messageId: ctx.msg.messageId }, 'redelivered package already stored; acknowledged without a duplicate')
    events.emit('received', { incoming: existing, duplicate: true })
    return 'ack'
  }

  // ---- the one translating catch ------------------------------------------------------------------------

  async function rejected(ctx: Ctx, r: Rejection): Promise<HandlerResult> {
    const verdict = {
      ok: false,
      code: r.code,
      message: r.message,
      ...(r.verdict ? { signature: r.verdict } : ctx.verdict ? { signature: ctx.verdict } : {}),
    }
    const rec = await store.recordIncoming({
      package: { ...basePackage(ctx), metadata: ctx.env ? (ctx.env.kind === 'edoc' ? describe(ctx.env) : { statusCode: ctx.env.status?.messageHeader.statusCode }) : {}, verdict },
      state: 'rejected',
      reason: `${r.code}: ${r.message}`,
      actor: `peer:${ctx.sender ?? ctx.msg.sender ?? 'unknown'}`,
      at: clock(),
    })
    log.warn(
      { packageId: rec.incoming.id, documentId: ctx.documentId, sender: ctx.sender ?? ctx.msg.sender, recipient: ctx.recipient, messageId: ctx.msg.messageId, code: r.code },
      `package rejected: ${r.code}: ${r.message}`,
    )
    // 02 back to an identified sender of a document (never a status for a status: no ping-pong between gateways)
    const identified = ctx.env?.kind === 'edoc' && ctx.sender && upper(ctx.sender) === upper(ctx.msg.sender) && ctx.documentId
    if (identified && ctx.hosted && !r.ack) {
      try {
        await statuses.send({
          from: ctx.recipient,
          to: ctx.sender as string,
          statusCode: '02',
          responseFor: responseForOf(ctx.env as Envelope, ctx.sender as string, ctx.documentId as string),
          description: `${STATUS_CODE_LABELS['02']} (${r.code}): ${r.message}`.slice(0, 2000),
          actor: 'system',
          key: `02:${rec.incoming.id}`,
          metadata: { incomingId: rec.incoming.id, code: r.code },
        })
      } catch (e) {
        if (isGatewayError(e) && e.retryable) throw e
        log.error({ err: e, packageId: rec.incoming.id }, 'cannot send status 02 for a rejected package')
      }
    }
    events.emit('rejected', { incoming: rec.incoming, code: r.code, message: r.message })
    return r.ack ? 'ack' : 'reject'
  }

  async function translate(ctx: Ctx, e: unknown): Promise<HandlerResult> {
    try {
      if (e instanceof Rejection) return await rejected(ctx, e)
      if (isGatewayError(e) && !e.retryable && e.code.startsWith('GW_ERR_ENVELOPE_')) return await rejected(ctx, new Rejection(e.code, e.message))
      if (isGatewayError(e) && e.retryable) {
        log.warn({ err: e, documentId: ctx.documentId, messageId: ctx.msg.messageId, code: e.code }, `transient failure, the message goes back to the queue: ${e.message}`)
        return 'retry'
      }
      log.error({ err: e, documentId: ctx.documentId, messageId: ctx.msg.messageId }, 'unexpected error processing an incoming package')
      return await rejected(ctx, new Rejection('INTERNAL', `${INCOMING_CODES.INTERNAL}: ${e instanceof Error ? e.message : String(e)}`))
    } catch (e2) {
      log.warn({ err: e2, messageId: ctx.msg.messageId }, 'cannot store the rejected package; the message goes back to the queue')
      return 'retry'
    }
  }

  const serialised = keyedSerial()

  const pipeline = {
    async handle(msg: InboundMessage): Promise<HandlerResult> {
      const rk = upper(msg.routingKey || msg.recipient)
      const ctx: Ctx = {
        msg,
        id: newId(),
        sha256: createHash('sha256').update(msg.body).digest('hex'),
        recipient: hosted.get(rk) ?? (msg.recipient ?? msg.routingKey ?? ''),
        hosted: hosted.has(rk),
      }
      try {
        checkSize(ctx)
        const env = parse(ctx)
        readHeaders(ctx)
        checkRecipient(ctx, env)
        checkSender(ctx)
        await verify(ctx)
        // one package per (sender, DocumentId) at a time in this process: the replay check and the store stay in step
        return await serialised(`${upper(ctx.sender)}|${ctx.documentId ?? ''}`, async () => {
          const existing = await checkHistory(ctx, env)
          if (existing) return await redelivered(ctx, existing)
          return env.kind === 'edoc' ? await acceptDocument(ctx, env) : await acceptStatus(ctx, env)
        })
      } catch (e) {
        return translate(ctx, e)
      }
    },
    on(event: string, listener: Parameters<EventEmitter['on']>[1]) {
      events.on(event, listener)
      return pipeline
    },
    off(event: string, listener: Parameters<EventEmitter['off']>[1]) {
      events.off(event, listener)
      return pipeline
    },
  }
  return pipeline as unknown as IncomingPipeline
}
