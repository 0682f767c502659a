/**
 * Incoming status packages (RECEIVE.md "Status packages, In"), the receive step between checkHistory and record:
 * match the status to what it answers and move it.
 *
 * - 01–06, 15, 16: the outgoing delivery from the hosted recipient to the status author, found with
 *   `store.findDelivery` (DocumentId, else Code + PromulgationDate: docs/edxml.md §c), and moved (never backwards;
 *   every status is a timeline event, `changed: false` when late). For 01–06 the move is not made here: it is
 *   returned as `apply`, and the record step stores the status package and the move in one transaction
 *   (`store.recordIncoming({ apply })`); a redelivered status is a duplicate there and moves nothing again.
 *   15/16 move at once (`store.transition`), and also the author's other `edoc` deliveries of the same DocumentId
 *   (the original when the recall was a type-1 revoke package).
 * - 13 from the sender of a document we received: that incoming package → `recall-requested` at once.
 * Moves made at once are idempotent: a crash before the status package is stored redelivers it, and the same
 * moves come out `changed: false`.
 *
 * Nothing matches: ORPHAN_STATUS, a refusal that is stored and acknowledged (retrying cannot help).
 */
import { STATUS_CODE_STATE, type StatusCode } from '../document/delivery.js'
import type { Envelope } from '../envelope/index.js'
import { outgoingMoves, type Delivery, type JsonObject, type RecordIncomingInput } from '../store/index.js'
import { splitCode } from './document-request.js'
import { findOriginal } from './receive-business.js'
import { refuse, upper, type ReceiveDeps } from './receive-steps.js'

/** The status package being applied. */
export interface StatusArrival {
  /** Our id of the status package. */
  id: string
  env: Envelope
  /** The status author (From/OrganId), verified. */
  author: string
  /** The hosted recipient (the sender of what it answers, or the recipient of a document it recalls). */
  recipient: string
}

export interface StatusOutcome {
  statusCode: StatusCode
  /** The outgoing package (01..16) or the incoming package (13) it answers. */
  relatedId: string
  /** The outgoing delivery moved (not for 13). */
  deliveryId?: string
  /** Whether the move changed the state, and the state after it (for `apply`: known once recorded). */
  changed: boolean
  state: string
  /** The move for the record step to make in its transaction (01–06). */
  apply?: NonNullable<RecordIncomingInput['apply']>
  /** Stored as the status package's metadata. */
  metadata: JsonObject
}

/** Match the status and move what it answers (see the header); throws ORPHAN_STATUS (acknowledged) when nothing matches. */
export async function applyStatus(deps: Pick<ReceiveDeps, 'store'>, st: StatusArrival): Promise<StatusOutcome> {
  const { store } = deps
  const s = st.env.status!.messageHeader
  const code = s.statusCode as StatusCode
  const { author, recipient } = st
  const rf = s.responseFor
  const q = { documentId: rf.documentId || undefined, ...splitCode(rf.code), promulgationDate: rf.promulgationDate.value || undefined }
  const detail = { statusPackageId: st.id, description: s.description, staffInfo: { ...s.staffInfo }, timestamp: s.timestamp.value }
  const actor = `peer:${author}` as const
  let outcome: Omit<StatusOutcome, 'metadata' | 'statusCode'>
  if (code === '13') {
    // the sender of a document we received asks to take it back
    const orig = await findOriginal(deps, author, recipient, q)
    if (!orig) throw refuse('ORPHAN_STATUS', `status 13 for DocumentId ${rf.documentId} (${rf.code}): no such document received from ${author}`, { ack: true })
    const r = await store.transitionIncoming(orig.id, 'recall-requested', { cause: `status 13 from ${author}`, actor, statusCode: '13', detail })
    outcome = { relatedId: orig.id, changed: r.changed, state: r.state }
  } else {
    const target = STATUS_CODE_STATE[code]
    const delivery = (code === '01' && q.documentId ? await awaiting01(deps, recipient, author, q.documentId) : undefined) ?? (await store.findDelivery({ senderOrganId: recipient, recipient: upper(author), ...q }))
    if (!delivery || !target) {
      throw refuse('ORPHAN_STATUS', `status ${code} for DocumentId ${rf.documentId} (${rf.code}): no document sent by ${recipient} to ${author} matches`, { ack: true })
    }
    const opts = {
      cause: `status ${code} from ${author}`,
      actor,
      statusCode: code,
      ...(code === '02' || code === '16' ? { reason: s.description || `status ${code}` } : {}),
      detail,
    }
    if (code !== '15' && code !== '16') {
      outcome = { relatedId: delivery.packageId, deliveryId: delivery.id, changed: false, state: delivery.state, apply: { deliveryId: delivery.id, toState: target, options: opts } }
    } else {
      const r = await store.transition(delivery.id, target, opts)
      outcome = { relatedId: delivery.packageId, deliveryId: delivery.id, changed: r.changed, state: r.state }
      // a recall answer concerns the document itself, also when the recall was a revoke package (type 1) sharing its DocumentId
      const original = await store.getPackage(delivery.packageId)
      // (the author compared canonically below, not by the store's exact recipient filter)
      const pkgs = await store.listPackages({ senderOrganId: recipient, documentId: original?.documentId ?? rf.documentId, kind: 'edoc', limit: 50 }).catch(() => ({ items: [] }))
      for (const p of pkgs.items) {
        for (const d of p.deliveries) if (d.id !== delivery.id && upper(d.recipient) === upper(author)) await store.transition(d.id, target, opts)
      }
    }
  }
  const metadata: JsonObject = {
    statusCode: code,
    description: s.description,
    staffInfo: { ...s.staffInfo },
    responseFor: { ...rf, promulgationDate: rf.promulgationDate.value },
    from: { organId: author, name: s.from.organName },
    deliveryId: outcome.deliveryId,
    ...(outcome.apply ? {} : { changed: outcome.changed, state: outcome.state }),
  }
  return { statusCode: code, ...outcome, metadata }
}

/**
 * The delivery a 01 answers when several packages share the DocumentId (a document and its update or replacement
 * keeping it, as the public SDK sends them): the oldest one to the author still waiting for its 01. ResponseFor
 * cannot tell them apart, and each package gets exactly one 01, so the first 01 is the oldest package's. Else
 * (none waiting) the usual match, the latest package.
 */
async function awaiting01(deps: Pick<ReceiveDeps, 'store'>, sender: string, author: string, documentId: string): Promise<Delivery | undefined> {
  const pkgs = await deps.store.listPackages({ senderOrganId: sender, documentId, kind: 'edoc', limit: 50 })
  if (pkgs.items.length < 2) return undefined
  const waiting = pkgs.items.flatMap((p) => p.deliveries.filter((d) => upper(d.recipient) === upper(author) && outgoingMoves(d.state, 'delivered')))
  return waiting[waiting.length - 1]
}

/** The outcome once recorded: a move made in the record's transaction reports what it did. */
export function recordedStatus(st: StatusOutcome, applied: { changed: boolean; state: string } | undefined): StatusOutcome {
  return applied ? { ...st, changed: applied.changed, state: applied.state } : st
}
