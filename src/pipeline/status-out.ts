/**
 * Sending a status package (EDXML.md §b) through the same outgoing path as documents, as named steps:
 *
 *   1. build   buildStatus: From = the hosted agency that authors the status, ResponseFor = the original document
 *              (its DocumentId, full Code, PromulgationDate; ResponseFor/OrganId = the organisation the status is
 *              addressed to), StaffInfo, StatusCode, Description, Timestamp
 *   2. sign    detached CMS over the exact bytes with the agency's key
 *   3. store   an outgoing package of kind `status` with one `accepted` delivery to `to` (the outbox)
 *   4. wake    the relay publishes it; the caller does not wait for the broker
 *
 * Used by the inbox API (03/02/04/05/06/15/16 posted by the receiving DMS), by the recall API (13 to each
 * recipient) and by the receive pipeline (01 on arrival, 02 on a refused package).
 */
import type { AgencyConfig, Config } from '../config.js'
import type { StatusCode } from '../document/delivery.js'
import { buildEdoc, buildStatus, parseEnvelope } from '../envelope/index.js'
import { gwError, isGatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Actor, Delivery, JsonObject, Store, StoredPackage } from '../store/index.js'
import { fromOrgan } from './document-request.js'
import type { SignerLike } from './outgoing.js'

export interface StatusStaff {
  department?: string
  /** Full name (StaffInfo/Staff). */
  name?: string
  mobile?: string
  email?: string
}

export interface SendStatusInput {
  /** The hosted agency that authors the status (From/OrganId); it signs the package. */
  from: string
  /** The organisation the package is sent to: the original sender for 01..06/15/16, the recipient for 13. */
  to: string
  statusCode: StatusCode
  /** Free text; the reason for 02 and 13. */
  description?: string
  staff?: StatusStaff
  /** The original document. `organId` defaults to `to` (EDXML.md §b: the organisation the status is addressed to). */
  responseFor: { organId?: string; code: string; promulgationDate?: string; documentId: string }
  /** Who asked for it: `client:<id>`, `system`... */
  actor: Actor
  /** API client that asked for it, kept on the package. */
  clientId?: string
  /** Extra facts kept in the package metadata (e.g. `incomingId`, `originalPackageId`). */
  metadata?: JsonObject
  /** Default: the clock of the sender. */
  at?: Date
}

export interface SentStatus {
  /** Our package id of the status package. */
  id: string
  documentId: string
  statusCode: StatusCode
  sha256: string
  recipient: string
  deliveryId: string
  package: StoredPackage
  delivery: Delivery
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
  sendStatus(input: SendStatusInput): Promise<SentStatus>
  /**
   * Recall by a business document of type 1 (EDXML.md §c "revoke"): the original identification re-sent (same
   * DocumentId, Code, PromulgationInfo, From, header fields) with BussinessDocType 1 and the reason, no attachments,
   * one delivery per recipient.
   */
  sendRevoke(input: SendRevokeInput): Promise<SentRevoke>
}

export interface StatusSenderDeps {
  config: Config
  store: Store
  signers: ReadonlyMap<string, SignerLike>
  relay: { wake(): void }
  clock?: () => Date
  newId: () => string
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
}

/** yyyy/MM/dd from what a store or package holds (`2026-11-25`, `2026/11/25`); `''` stays empty. */
const edxmlDay = (d: string | undefined): string => (d ?? '').trim().replace(/-/g, '/')

async function signBytes(signer: SignerLike, bytes: Uint8Array, at: Date): Promise<Uint8Array> {
  try {
    return signer.signSync ? signer.signSync(bytes, { signingTime: at }) : await signer.sign(bytes, { signingTime: at })
  } catch (e) {
    if (isGatewayError(e)) throw e
    throw gwError('GW_ERR_SIGNATURE_KEY', { reason: (e as Error).message }, e)
  }
}

export function createStatusSender(deps: StatusSenderDeps): StatusSender {
  const agencies = new Map<string, AgencyConfig>(deps.config.agencies.map((a) => [a.organId.toUpperCase(), a]))
  const clock = deps.clock ?? (() => new Date())

  function agencyOf(organId: string): { agency: AgencyConfig; signer: SignerLike } {
    const id = organId.trim().toUpperCase()
    const agency = agencies.get(id)
    const signer = agency ? (deps.signers.get(agency.organId) ?? deps.signers.get(id)) : undefined
    if (!agency || !signer) {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: `agency ${organId} is not hosted by this gateway or has no signing key` })
    }
    return { agency, signer }
  }

  return {
    async sendStatus(input) {
      const { agency, signer } = agencyOf(input.from)
      const to = input.to.trim().toUpperCase()
      const at = input.at ?? clock()
      const promulgationDate = edxmlDay(input.responseFor.promulgationDate)
      // 1. build
      const envelope = buildStatus({
        from: fromOrgan(agency),
        responseFor: {
          organId: (input.responseFor.organId ?? to).trim().toUpperCase(),
          code: input.responseFor.code,
          ...(promulgationDate ? { promulgationDate } : {}),
          documentId: input.responseFor.documentId,
        },
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
      // 2. sign
      const signature = await signBytes(signer, envelope.bytes, at)
      // 3. store (outbox)
      const [codeNumber, ...notation] = input.responseFor.code.split('/')
      const recorded = await deps.store.recordOutgoing({
        package: {
          id: deps.newId(),
          kind: 'status',
          documentId: input.responseFor.documentId,
          senderOrganId: agency.organId,
          ...(input.clientId ? { clientId: input.clientId } : {}),
          bytes: envelope.bytes,
          signature,
          sha256: envelope.sha256(),
          // statuses travel ahead of ordinary documents (a recall should not wait behind a backlog)
          priority: input.statusCode === '13' ? 2 : 1,
          ...(codeNumber ? { codeNumber } : {}),
          ...(notation.length ? { codeNotation: notation.join('/') } : {}),
          ...(promulgationDate ? { promulgationDate } : {}),
          statusCode: input.statusCode,
          metadata: {
            form: 'status',
            statusCode: input.statusCode,
            ...(input.description ? { description: input.description } : {}),
            responseFor: { ...input.responseFor, organId: (input.responseFor.organId ?? to).trim().toUpperCase() },
            ...(input.staff ? { staff: { ...input.staff } } : {}),
            ...(input.metadata ?? {}),
          },
        },
        recipients: [to],
        actor: input.actor,
        at,
      })
      // 4. wake the relay
      deps.relay.wake()
      const delivery = recorded.deliveries[0]
      if (!delivery) throw gwError('GW_ERR_API_INTERNAL')
      deps.logger?.debug({ statusCode: input.statusCode, from: agency.organId, to, documentId: input.responseFor.documentId }, 'status package queued')
      return {
        id: recorded.package.id,
        documentId: recorded.package.documentId,
        statusCode: input.statusCode,
        sha256: recorded.package.sha256,
        recipient: delivery.recipient,
        deliveryId: delivery.id,
        package: recorded.package,
        delivery,
      }
    },

    async sendRevoke(input) {
      const { agency, signer } = agencyOf(input.original.senderOrganId)
      const at = input.at ?? clock()
      const orig = parseEnvelope(input.originalBytes, { maxBytes: deps.config.limits.packageBytes, maxDepth: deps.config.limits.xmlDepth })
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
      const signature = await signBytes(signer, envelope.bytes, at)
      const o = input.original
      const recorded = await deps.store.recordOutgoing({
        package: {
          id: deps.newId(),
          kind: 'edoc',
          documentId: h.documentId,
          senderOrganId: agency.organId,
          ...(input.clientId ? { clientId: input.clientId } : {}),
          bytes: envelope.bytes,
          signature,
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
        recipients: [...wanted],
        actor: input.actor,
        at,
      })
      deps.relay.wake()
      return { id: recorded.package.id, documentId: recorded.package.documentId, sha256: recorded.package.sha256, deliveries: recorded.deliveries, package: recorded.package }
    },
  }
}
