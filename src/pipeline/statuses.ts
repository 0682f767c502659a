/**
 * Sending status packages (docs/edxml.md §b) and revoke documents (docs/edxml.md §c, business type 1) over the same outgoing
 * path as documents, as named steps:
 *
 *   1. build   buildStatus: From = the hosted agency that authors the status, ResponseFor = the original document
 *              (its DocumentId, full Code, PromulgationDate; ResponseFor/OrganId = the organisation the status is
 *              addressed to), StaffInfo, StatusCode, Description, Timestamp
 *   2. sign    detached CMS over the exact bytes with the agency's key
 *   3. store   an outgoing package of kind `status` with one `accepted` delivery to `to` (the outbox), with the
 *              incoming package's state change it reports (`incomingTransition`) in the same transaction
 *   4. wake    the relay publishes it with confirms like any document; the caller does not wait for the broker
 * Steps 2 to 4 are the outbox (`outbox.ts`), shared with the documents of `outgoing.ts`.
 *
 * Used by the receive path (automatic 01 on a valid document, 02 with the reason on a rejected one), by the
 * operator replay (01), by the inbox API (03/02/04/05/06/15/16 posted by the receiving DMS) and by the recall API
 * (13 to each recipient, or a revoke document).
 *
 * `key` makes a send idempotent: the same key again returns the package stored the first time and sends nothing
 * (the receive path uses `01:<incoming id>`, so a redelivered document never produces a second 01, even when the
 * process died between storing the document and acknowledging it).
 */
import { randomUUID } from 'node:crypto'
import type { AgencyConfig, Config } from '../config.js'
import type { StatusCode } from '../document/delivery.js'
import type { MessageHeader } from '../document/edxml.js'
import { buildEdoc, buildStatus, parseEnvelope } from '../envelope/index.js'
import type { IncomingState } from '../document/delivery.js'
import { sha256Hex } from '../encoding.js'
import { gwError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Actor, Delivery, IncomingTransitionResult, JsonObject, RecordOutgoingInput, RecordOutgoingResult, Store, StoredPackage, TransitionOptions } from '../store/index.js'
import { edxmlDate, fromOrgan, splitCode } from './document-request.js'
import { createOutbox, type Outbox, type OutboxEntry, type RelayWake, type SignerLike } from './outbox.js'

/** The original document a status answers (docs/edxml.md §b ResponseFor). */
export interface StatusResponseFor {
  /** The agency the status is addressed to (in recipient-to-sender statuses: the original sender). Default: `to`. */
  organId?: string
  /** Full "số/ký hiệu" of the original (`7816/VPCP-TTĐT`). */
  code: string
  /** The original's PromulgationDate, yyyy/MM/dd (yyyy-MM-dd is accepted). */
  promulgationDate?: string
  documentId: string
}

/** StaffInfo in the API's friendly names. */
export interface StatusStaff {
  department?: string
  /** Full name (StaffInfo/Staff). */
  name?: string
  mobile?: string
  email?: string
}

/** ResponseFor answering a received document: its full code and promulgation date from the header, addressed to `organId`. */
export function responseForHeader(h: Pick<MessageHeader, 'code' | 'promulgationInfo'>, organId: string, documentId: string): StatusResponseFor {
  return {
    organId,
    code: `${h.code.codeNumber}/${h.code.codeNotation}`,
    ...(h.promulgationInfo.promulgationDate.value ? { promulgationDate: h.promulgationInfo.promulgationDate.value } : {}),
    documentId,
  }
}

export interface SendStatusInput {
  /** The hosted agency that authors and signs the status (From). */
  from: string
  /** The agency that receives it (the AMQP recipient): the original sender for 01..06/15/16, the recipient for 13. */
  to: string
  statusCode: StatusCode
  responseFor: StatusResponseFor
  /** Free text; the reason for 02 and 13. */
  description?: string
  staff?: StatusStaff
  /** Who causes it: `system` (automatic 01/02), `client:<id>` (a DMS). Default `system`. */
  actor?: Actor
  /** API client that asked for it, kept on the package. */
  clientId?: string
  /** Idempotency: the same key again returns the first result and sends nothing. */
  key?: string
  /** Extra metadata stored with the package (e.g. the incoming package it answers). */
  metadata?: JsonObject
  /** Default: the sender's clock. */
  at?: Date
  /**
   * The incoming package's state change this status reports, committed together with the status package (only
   * when the package is new). Its event's detail gets `statusPackageId`.
   */
  incomingTransition?: { incomingId: string; toState: IncomingState; options: TransitionOptions }
  /**
   * The status package as the DMS built it (a VXP sendEdoc with messagetype=status): sent with these exact bytes
   * instead of a package built here. The caller has parsed it and checked that its From, ResponseFor and StatusCode
   * are the ones given above.
   */
  prebuilt?: { bytes: Uint8Array; sha256: string }
}

export interface SendStatusResult {
  /** Our package id of the status package. */
  id: string
  documentId: string
  statusCode: StatusCode
  sha256: string
  recipient: string
  deliveryId: string
  package: StoredPackage
  delivery: Delivery
  /** True when `key` had been used before: nothing new was sent. */
  replayed: boolean
  /** The applied `incomingTransition` (absent when none was asked for or nothing was sent). */
  incomingTransition?: IncomingTransitionResult
}

export interface SendRevokeInput {
  /** The stored original document (an outgoing edoc of ours). */
  original: StoredPackage
  /** Its exact bytes, as stored. */
  originalBytes: Uint8Array
  /** Recipients the revoke goes to (a subset of the original's). */
  recipients: string[]
  reason: string
  actor: Actor
  clientId?: string
  at?: Date
}

export interface SentRevoke {
  id: string
  documentId: string
  sha256: string
  deliveries: Delivery[]
  package: StoredPackage
}

export interface StatusSender {
  send(input: SendStatusInput): Promise<SendStatusResult>
  /**
   * Recall by a business document of type 1 (docs/edxml.md §c "revoke"): the original identification re-sent (same
   * DocumentId, Code, PromulgationInfo, From, header fields) with BussinessDocType 1 and the reason, no attachments,
   * one delivery per recipient.
   */
  sendRevoke(input: SendRevokeInput): Promise<SentRevoke>
  /**
   * Build and sign a status without storing it, for a caller that stores it in its own transaction (the receive
   * path: a document and its 01 are one `store.recordIncoming({ reply })`). Call `stored` with what the store
   * returned once committed: it wakes the relay. `incomingTransition` is not supported here.
   */
  prepare(input: SendStatusInput): Promise<PreparedStatus>
}

/** A signed status package not yet stored (see {@link StatusSender.prepare}). */
export interface PreparedStatus {
  record: RecordOutgoingInput
  stored(recorded: Pick<RecordOutgoingResult, 'replayed' | 'package' | 'awaitingSignature'>): void
}

export interface StatusSenderDeps {
  store: Store
  agencies: readonly AgencyConfig[]
  signers: ReadonlyMap<string, SignerLike>
  relay: RelayWake
  /** Sign → store → wake; default: one over store and relay (signing on the calling thread). */
  outbox?: Outbox
  /** Parse limits for the stored original of a revoke. Default: the envelope's defaults. */
  limits?: Pick<Config['limits'], 'packageBytes' | 'xmlDepth'>
  clock?: () => Date
  newId?: () => string
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>
}

/** The idempotency client id under which the gateway's own status packages are recorded. */
export const STATUS_CLIENT_ID = 'system:statuses'

export function createStatusSender(deps: StatusSenderDeps): StatusSender {
  const agencies = new Map(deps.agencies.map((a) => [a.organId.toUpperCase(), a]))
  const signers = new Map([...deps.signers].map(([k, v]) => [k.toUpperCase(), v]))
  const clock = deps.clock ?? (() => new Date())
  const newId = deps.newId ?? randomUUID
  const outbox = deps.outbox ?? createOutbox({ store: deps.store, relay: deps.relay })

  function agencyOf(organId: string): { agency: AgencyConfig; signer: SignerLike } {
    const id = organId.trim().toUpperCase()
    const agency = agencies.get(id)
    const signer = signers.get(id)
    if (!agency || !signer) {
      throw gwError('GW_ERR_SIGNATURE_KEY', { reason: `agency ${organId} is not hosted here or has no signing key; cannot sign a status package` })
    }
    return { agency, signer }
  }

  function result(pkg: StoredPackage, delivery: Delivery | undefined, replayed: boolean, moved?: IncomingTransitionResult): SendStatusResult {
    if (!delivery) throw gwError('GW_ERR_API_INTERNAL')
    return {
      ...(moved ? { incomingTransition: moved } : {}),
      id: pkg.id,
      documentId: pkg.documentId,
      statusCode: pkg.statusCode as StatusCode,
      sha256: pkg.sha256,
      recipient: delivery.recipient,
      deliveryId: delivery.id,
      package: pkg,
      delivery,
      replayed,
    }
  }

  /**
   * The status Timestamp, in whole seconds on the wire: two statuses with the same code for the same DocumentId to
   * the same agency in one second (a document and its update keeping the DocumentId, each answered 01) would be
   * byte for byte the same package, and the peer would take the second for a redelivery of the first. A later
   * one is written one second after the earlier one instead.
   */
  const lastSecond = new Map<string, number>()
  function uniqueTime(key: string, at: Date): Date {
    const sec = Math.floor(at.getTime() / 1000)
    const last = lastSecond.get(key)
    const use = last !== undefined && sec <= last ? last + 1 : sec
    if (lastSecond.size > 10_000) for (const [k, v] of lastSecond) if (v < sec - 60) lastSecond.delete(k)
    lastSecond.set(key, use)
    return use === sec ? at : new Date(use * 1000)
  }

  /** Steps 1 (build) and the outbox entry for steps 2 to 4. */
  function statusEntry(input: SendStatusInput): OutboxEntry {
    const { agency, signer } = agencyOf(input.from)
    const to = input.to.trim().toUpperCase()
    const at = uniqueTime(`${agency.organId}|${to}|${input.responseFor.documentId}|${input.statusCode}`, input.at ?? clock())
    const promulgationDate = edxmlDate(input.responseFor.promulgationDate?.trim())
    const responseFor = {
      organId: (input.responseFor.organId ?? to).trim().toUpperCase(),
      code: input.responseFor.code,
      ...(promulgationDate ? { promulgationDate } : {}),
      documentId: input.responseFor.documentId,
    }
    // 1. build (or the DMS's own package, kept as it is)
    const prebuilt = input.prebuilt
    const envelope = prebuilt ? { bytes: prebuilt.bytes, sha256: () => prebuilt.sha256 } : buildStatus({
      from: fromOrgan(agency),
      responseFor,
      ...(input.staff
        ? {
            staffInfo: {
              department: input.staff.department ?? '',
              staff: input.staff.name ?? '',
              mobile: input.staff.mobile ?? '',
              email: input.staff.email ?? '',
            },
          }
        : {}),
      statusCode: input.statusCode,
      ...(input.description !== undefined ? { description: input.description } : {}),
      timestamp: at,
    })
    const requestHash = sha256Hex(JSON.stringify([input.statusCode, to, input.responseFor.documentId, input.description ?? '']))
    const { codeNumber, codeNotation } = splitCode(input.responseFor.code)
    const id = newId()
    const move = input.incomingTransition
    return {
      package: {
        id,
        kind: 'status',
        documentId: input.responseFor.documentId,
        senderOrganId: agency.organId,
        ...(input.clientId ? { clientId: input.clientId } : {}),
        bytes: envelope.bytes,
        sha256: envelope.sha256(),
        // statuses travel ahead of ordinary documents (a recall should not wait behind a backlog)
        priority: input.statusCode === '13' ? 2 : 1,
        ...(codeNumber ? { codeNumber } : {}),
        ...(codeNotation ? { codeNotation } : {}),
        ...(promulgationDate ? { promulgationDate } : {}),
        statusCode: input.statusCode,
        metadata: {
          form: 'status',
          statusCode: input.statusCode,
          ...(input.description !== undefined ? { description: input.description } : {}),
          responseFor,
          ...(input.staff ? { staff: { ...input.staff } } : {}),
          ...(input.metadata ?? {}),
        },
      },
      signer,
      recipients: [to],
      actor: input.actor ?? 'system',
      ...(input.key !== undefined ? { idempotency: { clientId: STATUS_CLIENT_ID, key: input.key, requestHash } } : {}),
      ...(move ? { incomingTransition: { ...move, options: { ...move.options, detail: { statusPackageId: id, ...(move.options.detail ?? {}) } } } } : {}),
      at,
    }
  }

  return {
    async send(input) {
      if (input.key !== undefined) {
        agencyOf(input.from)
        const rec = await deps.store.findIdempotent(STATUS_CLIENT_ID, input.key)
        const pkg = rec ? await deps.store.getPackage(rec.packageId) : undefined
        if (pkg) return result(pkg, (await deps.store.getDeliveries(pkg.id))[0], true)
      }
      // 2. sign, 3. store (outbox), 4. wake the relay
      const recorded = await outbox.put(statusEntry(input))
      deps.logger?.debug(
        { packageId: recorded.package.id, from: recorded.package.senderOrganId, to: recorded.deliveries[0]?.recipient, documentId: input.responseFor.documentId, statusCode: input.statusCode },
        `status ${input.statusCode} queued for ${input.to}`,
      )
      return result(recorded.package, recorded.deliveries[0], recorded.replayed, recorded.incomingTransition)
    },

    async prepare(input) {
      if (input.incomingTransition) throw gwError('GW_ERR_API_INTERNAL')
      const record = await outbox.prepare(statusEntry(input))
      return { record, stored: (recorded) => outbox.wake(recorded) }
    },

    async sendRevoke(input) {
      const { agency, signer } = agencyOf(input.original.senderOrganId)
      const at = input.at ?? clock()
      const orig = parseEnvelope(input.originalBytes, deps.limits ? { maxBytes: Math.max(deps.limits.packageBytes, input.originalBytes.byteLength), maxDepth: deps.limits.xmlDepth } : {})
      const h = orig.edoc?.messageHeader
      if (!h) throw gwError('GW_ERR_API_CONFLICT', { reason: `package ${input.original.id} is not a document package` })
      const wanted = new Set(input.recipients.map((r) => r.trim().toUpperCase()))
      const to = h.to.filter((o) => wanted.has(o.organId.trim().toUpperCase()))
      // recipients added by an update may not be in To: address them by OrganId alone
      for (const r of wanted) if (!to.some((o) => o.organId.trim().toUpperCase() === r)) to.push({ ...h.from, organId: r, organName: r })
      const envelope = buildEdoc({
        from: fromOrgan(agency),
        to: to.map((o) => ({ ...o })),
        documentId: h.documentId,
        code: { codeNumber: h.code.codeNumber, codeNotation: h.code.codeNotation },
        promulgationInfo: { place: h.promulgationInfo.place, promulgationDate: h.promulgationInfo.promulgationDate.value || h.promulgationInfo.promulgationDate.raw },
        documentType: {
          type: h.documentType.type,
          ...(h.documentType.typeDetail ? { typeDetail: h.documentType.typeDetail } : {}),
          typeName: h.documentType.typeName,
        },
        subject: h.subject,
        content: h.content,
        signerInfo: { competence: h.signerInfo.competence, position: h.signerInfo.position, fullName: h.signerInfo.fullName },
        ...(h.dueDate.value ? { dueDate: h.dueDate.value } : {}),
        toPlaces: h.toPlaces,
        otherInfo: {
          priority: h.otherInfo.priority || 0,
          sphereOfPromulgation: h.otherInfo.sphereOfPromulgation,
          typerNotation: h.otherInfo.typerNotation,
          ...(h.otherInfo.promulgationAmount ? { promulgationAmount: h.otherInfo.promulgationAmount } : {}),
          pageAmount: h.otherInfo.pageAmount || 1,
          appendixes: h.otherInfo.appendixes,
        },
        responseFor: h.responseFor.map((r) => ({
          organId: r.organId,
          code: r.code,
          ...(r.promulgationDate.value ? { promulgationDate: r.promulgationDate.value } : {}),
          documentId: r.documentId,
        })),
        steeringType: h.steeringType || 0,
        traceHeaders: [{ organId: agency.organId, timestamp: at }],
        bussiness: { bussinessDocType: 1, bussinessDocReason: input.reason, documentId: h.documentId },
        attachments: [],
        now: at,
      })
      const o = input.original
      const recorded = await outbox.put({
        package: {
          id: newId(),
          kind: 'edoc',
          documentId: h.documentId,
          senderOrganId: agency.organId,
          ...(input.clientId ? { clientId: input.clientId } : {}),
          bytes: envelope.bytes,
          sha256: envelope.sha256(),
          priority: Math.max(o.priority, 1),
          ...(o.subject !== undefined ? { subject: o.subject } : {}),
          ...(o.codeNumber !== undefined ? { codeNumber: o.codeNumber } : {}),
          ...(o.codeNotation !== undefined ? { codeNotation: o.codeNotation } : {}),
          ...(o.promulgationDate ? { promulgationDate: o.promulgationDate } : {}),
          metadata: {
            form: 'revoke',
            subject: h.subject,
            code: `${h.code.codeNumber}/${h.code.codeNotation}`,
            business: { type: 1, documentId: h.documentId, reason: input.reason },
            originalPackageId: o.id,
            recipients: [...wanted].map((organId) => ({ organId })),
            attachments: [],
          },
        },
        signer,
        recipients: [...wanted],
        actor: input.actor,
        at,
      })
      return { id: recorded.package.id, documentId: recorded.package.documentId, sha256: recorded.package.sha256, deliveries: recorded.deliveries, package: recorded.package }
    },
  }
}
