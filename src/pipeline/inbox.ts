/**
 * What the receiving DMS does with a package in its inbox, one request at a time per package (within this
 * process):
 *
 * - `acknowledge`: the DMS has taken it (`received` → `fetched`); repeating it changes nothing.
 * - `reportStatus`: 03/02/04/05/06/15/16 on a received document. The status package (signed, addressed to the
 *   original sender, ResponseFor = the document) and the package's state change are stored in ONE transaction
 *   (`statuses.send` with `incomingTransition`), then the relay is woken: either both happened or neither.
 *   Repeating the current status sends nothing; 15/16 only answer a recall request; states only move forward
 *   (received → fetched → accepted|refused → assigned → processing → completed); an impossible move is
 *   GW_ERR_API_CONFLICT; 02 needs the reason of the refusal.
 *
 * Who may act on a package is the caller's decision: `authorise` is asked about the package as read (inside the
 * per-package turn), and a package it refuses is not found.
 */
import type { Config } from '../config.js'
import { STATUS_CODE_INCOMING_STATE, type IncomingState, type StatusCode } from '../document/delivery.js'
import { parseEnvelope } from '../envelope/index.js'
import { gwError, isGatewayError } from '../errors.js'
import { incomingMoves, type IncomingTransitionResult, type Store, type StoredIncoming } from '../store/index.js'
import { keyedSerial } from './serial.js'
import type { SendStatusResult, StatusSender, StatusStaff } from './statuses.js'

export interface InboxDeps {
  store: Store
  statuses: StatusSender
  limits: Pick<Config['limits'], 'packageBytes' | 'xmlDepth'>
}

export interface InboxActor {
  /** The API client acting (recorded as `client:<id>`). */
  clientId: string
  /** May this client act on this package? Refused → GW_ERR_API_NOT_FOUND. */
  authorise(inc: StoredIncoming): boolean
  /** Who is recorded in the log. Default `client:<clientId>` (a VXP system is `vxp:<systemId>`). */
  actor?: string
}

export interface AcknowledgeResult {
  incoming: StoredIncoming
  state: IncomingState
  changed: boolean
  fetchedAt?: string
}

export interface ReportStatusInput extends InboxActor {
  id: string
  code: StatusCode
  description?: string
  staff?: StatusStaff
  /** The status package as the DMS built it (VXP sendEdoc): its exact bytes are sent (statuses.ts `prebuilt`). */
  prebuilt?: { bytes: Uint8Array; sha256: string }
  /** Idempotency key of the status package (statuses.ts `key`). */
  key?: string
}

export type ReportStatusResult =
  /** Already in the state the status reports: nothing sent. */
  | { sent: false; incoming: StoredIncoming }
  | { sent: true; incoming: StoredIncoming; transition: IncomingTransitionResult; status: SendStatusResult }

export interface Inbox {
  acknowledge(input: InboxActor & { id: string }): Promise<AcknowledgeResult>
  reportStatus(input: ReportStatusInput): Promise<ReportStatusResult>
}

export function createInbox(deps: InboxDeps): Inbox {
  const { store, statuses, limits } = deps
  /** check state → send status and move state: one at a time per inbox item */
  const serial = keyedSerial()

  async function load(id: string, actor: InboxActor): Promise<StoredIncoming> {
    const inc = await store.getIncoming(id)
    if (!inc || !actor.authorise(inc)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `inbox item ${id}` })
    return inc
  }

  return {
    acknowledge(input) {
      return serial(input.id, async () => {
        const inc = await load(input.id, input)
        if (inc.state !== 'arrived') return { incoming: inc, state: inc.state, changed: false, ...(inc.fetchedAt ? { fetchedAt: inc.fetchedAt } : {}) }
        const r = await store.transitionIncoming(inc.id, 'fetched', { cause: 'fetched by the DMS', actor: input.actor ?? `client:${input.clientId}` })
        const after = await store.getIncoming(inc.id)
        return { incoming: after ?? inc, state: r.state, changed: r.changed, ...(after?.fetchedAt ? { fetchedAt: after.fetchedAt } : {}) }
      })
    },

    async reportStatus(input) {
      const { id, code } = input
      const description = input.description?.trim()
      if (code === '02' && !description) {
        throw gwError('GW_ERR_API_VALIDATION', {
          problems: 'body.description is required for status 02 (the reason of the refusal)',
          details: [{ field: 'body.description', problem: 'is required for status 02 (the reason of the refusal)' }],
        })
      }
      return serial(id, async () => {
        const inc = await load(id, input)
        const target = STATUS_CODE_INCOMING_STATE[code] as IncomingState
        if (inc.state === target) return { sent: false, incoming: inc }
        if ((code === '15' || code === '16') && inc.state !== 'recall-requested') {
          throw gwError('GW_ERR_API_CONFLICT', { reason: `status ${code} answers a recall request, but inbox item ${id} is ${inc.state} (no recall was requested)` })
        }
        if (!incomingMoves(inc.state, target)) {
          throw gwError('GW_ERR_API_CONFLICT', { reason: `inbox item ${id} is ${inc.state}; status ${code} (${target}) cannot follow it` })
        }
        if (!inc.senderOrganId || !inc.documentId || !inc.recipient) {
          throw gwError('GW_ERR_API_CONFLICT', { reason: `inbox item ${id} has no identifiable sender to answer` })
        }
        // the header names the document being answered; once retention purged the bytes, the stored row does
        const stored = await store.getIncomingBytes(inc.id).catch((e: unknown) => {
          if (isGatewayError(e) && e.code === 'GW_ERR_STORE_PURGED') return null
          throw e
        })
        if (stored === undefined) throw gwError('GW_ERR_API_NOT_FOUND', { what: `inbox item ${inc.id}` })
        const h = stored ? parseEnvelope(stored.bytes, { maxBytes: Math.max(limits.packageBytes, stored.bytes.byteLength), maxDepth: limits.xmlDepth }).edoc?.messageHeader : undefined
        const actor = input.actor ?? `client:${input.clientId}`
        const promulgationDate = h?.promulgationInfo.promulgationDate.value || inc.promulgationDate
        const status = await statuses.send({
          from: inc.recipient,
          to: inc.senderOrganId,
          statusCode: code,
          ...(description ? { description } : {}),
          ...(input.staff ? { staff: input.staff } : {}),
          responseFor: {
            organId: inc.senderOrganId,
            code: h ? `${h.code.codeNumber}/${h.code.codeNotation}` : `${inc.codeNumber ?? ''}/${inc.codeNotation ?? ''}`,
            ...(promulgationDate ? { promulgationDate } : {}),
            documentId: h?.documentId || inc.documentId,
          },
          actor,
          clientId: input.clientId,
          ...(input.prebuilt ? { prebuilt: input.prebuilt } : {}),
          ...(input.key !== undefined ? { key: input.key } : {}),
          metadata: { incomingId: inc.id },
          // the state change commits with the status package (its event gets statusPackageId)
          incomingTransition: {
            incomingId: inc.id,
            toState: target,
            options: {
              cause: `status ${code} from the DMS`,
              actor,
              statusCode: code,
              ...(code === '02' && description ? { reason: description } : {}),
              detail: {
                ...(description ? { description } : {}),
                ...(input.staff ? { staff: { ...input.staff } } : {}),
              },
            },
          },
        })
        if (!status.incomingTransition) throw gwError('GW_ERR_API_INTERNAL', { reason: `the state change of inbox item ${id} was not recorded with status ${code}` })
        return { sent: true, incoming: inc, transition: status.incomingTransition, status }
      })
    },
  }
}
