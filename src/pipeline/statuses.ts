/**
 * Sending status packages (EDXML.md §b) over the same outgoing path as documents: build (envelope.buildStatus),
 * sign with the hosted agency's signer, store as an outgoing package of kind `status` with one delivery to the
 * agency the status is addressed to, wake the relay. The relay publishes it with confirms like any document.
 *
 * Used by the receive path (automatic 01 on a valid document, 02 with the reason on a rejected one) and by the DMS
 * routes (03, 02, 04, 05, 06, 15, 16 posted by the DMS; 13 for a recall).
 *
 * `key` makes a send idempotent: the same key again returns the package stored the first time and sends nothing
 * (the receive path uses `01:<incoming id>`, so a redelivered document never produces a second 01, even when the
 * process died between storing the document and acknowledging it).
 */
import { createHash, randomUUID } from 'node:crypto'
import type { AgencyConfig } from '../config.js'
import { gwError, isGatewayError } from '../errors.js'
import { buildStatus } from '../envelope/index.js'
import type { StatusCode } from '../document/delivery.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/index.js'
import { fromOrgan } from './document-request.js'
import type { SignerLike } from './outgoing.js'

/** The original document a status answers (EDXML.md §b ResponseFor). */
export interface StatusResponseFor {
  /** The agency the status is addressed to (in recipient-to-sender statuses: the original sender). */
  organId: string
  /** Full "số/ký hiệu" of the original (`7816/VPCP-TTĐT`). */
  code: string
  /** yyyy/MM/dd of the original's PromulgationDate. */
  promulgationDate?: string
  documentId: string
}

export interface SendStatusInput {
  /** The hosted agency that authors and signs the status (From). */
  from: string
  /** The agency that receives it (the AMQP recipient; normally = responseFor.organId). */
  to: string
  statusCode: StatusCode
  responseFor: StatusResponseFor
  description?: string
  staffInfo?: { department?: string; staff?: string; mobile?: string; email?: string }
  /** Who causes it: `system` (automatic 01/02), `client:<id>` (a DMS). */
  actor?: string
  /** Idempotency: the same key again returns the first result and sends nothing. */
  key?: string
  /** Extra metadata stored with the package (e.g. the incoming package it answers). */
  metadata?: Record<string, unknown>
}

export interface SendStatusResult {
  id: string
  deliveryId: string
  /** True when `key` had been used before: nothing new was sent. */
  replayed: boolean
}

export interface StatusSender {
  send(input: SendStatusInput): Promise<SendStatusResult>
}

export interface StatusSenderDeps {
  store: Store
  agencies: readonly AgencyConfig[]
  signers: ReadonlyMap<string, SignerLike>
  relay: { wake(): void }
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

  return {
    async send(input) {
      const from = input.from.toUpperCase()
      const agency = agencies.get(from)
      const signer = signers.get(from)
      if (!agency || !signer) {
        throw gwError('GW_ERR_SIGNATURE_KEY', { reason: `agency ${input.from} is not hosted here or has no signing key; cannot sign a status package` })
      }
      const requestHash = createHash('sha256')
        .update(JSON.stringify([input.statusCode, input.to, input.responseFor.documentId, input.description ?? '']))
        .digest('hex')
      if (input.key !== undefined) {
        const rec = await deps.store.findIdempotent(STATUS_CLIENT_ID, input.key)
        if (rec) {
          const d = (await deps.store.getDeliveries(rec.packageId))[0]
          return { id: rec.packageId, deliveryId: d?.id ?? '', replayed: true }
        }
      }
      const at = clock()
      const envelope = buildStatus({
        from: fromOrgan(agency),
        responseFor: {
          organId: input.responseFor.organId,
          code: input.responseFor.code,
          ...(input.responseFor.promulgationDate ? { promulgationDate: input.responseFor.promulgationDate } : {}),
          documentId: input.responseFor.documentId,
        },
        ...(input.staffInfo ? { staffInfo: input.staffInfo } : {}),
        statusCode: input.statusCode,
        ...(input.description !== undefined ? { description: input.description } : {}),
        timestamp: at,
      })
      let signature: Uint8Array
      try {
        signature = signer.signSync ? signer.signSync(envelope.bytes, { signingTime: at }) : await signer.sign(envelope.bytes, { signingTime: at })
      } catch (e) {
        if (isGatewayError(e)) throw e
        throw gwError('GW_ERR_SIGNATURE_KEY', { reason: (e as Error).message }, e)
      }
      const [codeNumber, ...rest] = input.responseFor.code.split('/')
      const recorded = await deps.store.recordOutgoing({
        package: {
          id: newId(),
          kind: 'status',
          documentId: input.responseFor.documentId,
          senderOrganId: agency.organId,
          bytes: envelope.bytes,
          signature,
          sha256: envelope.sha256(),
          priority: 0,
          ...(codeNumber ? { codeNumber } : {}),
          ...(rest.length > 0 ? { codeNotation: rest.join('/') } : {}),
          ...(input.responseFor.promulgationDate ? { promulgationDate: input.responseFor.promulgationDate } : {}),
          statusCode: input.statusCode,
          metadata: {
            statusCode: input.statusCode,
            responseFor: { ...input.responseFor },
            ...(input.description !== undefined ? { description: input.description } : {}),
            ...(input.staffInfo ? { staffInfo: input.staffInfo } : {}),
            ...(input.metadata ?? {}),
          },
        },
        recipients: [input.to.trim().toUpperCase()],
        actor: input.actor ?? 'system',
        ...(input.key !== undefined ? { idempotency: { clientId: STATUS_CLIENT_ID, key: input.key, requestHash } } : {}),
        at,
      })
      if (!recorded.replayed) deps.relay.wake()
      deps.logger?.debug(
        { packageId: recorded.package.id, documentId: input.responseFor.documentId, statusCode: input.statusCode, to: input.to },
        `status ${input.statusCode} queued for ${input.to}`,
      )
      return { id: recorded.package.id, deliveryId: recorded.deliveries[0]?.id ?? '', replayed: recorded.replayed }
    },
  }
}
