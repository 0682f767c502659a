/**
 * Business types of received documents (docs/edxml.md §c), the receive step between checkHistory and record:
 *
 *   1 revoke    the received original (same sender and recipient; DocumentId, else Code + PromulgationDate) →
 *               `recall-requested`; the revoke links to it (`relatedId`)
 *   2 update    `Bussiness/DocumentId` names the target: event `updated` on it, `relatedId` = target
 *   3 replace   each `ReplacementInfoList/DocumentId`: event `superseded` on it; `relatedId` = the first found
 *
 * A target not found is no refusal: the document is stored anyway and its `effects` say `found: false`.
 */
import type { Envelope } from '../envelope/index.js'
import type { JsonObject, StoredIncoming } from '../store/index.js'
import { splitCode } from './document-request.js'
import { upper, type ReceiveDeps } from './receive-steps.js'

/** BussinessDocType: 0 new, 1 revoke, 2 update, 3 replace (anything unreadable is 0). */
export function businessType(env: Envelope): number {
  return Number(env.edoc?.traceHeaderList.bussiness?.bussinessDocType ?? 0) || 0
}

export interface OriginalQuery {
  documentId?: string | undefined
  codeNumber?: string | undefined
  codeNotation?: string | undefined
  promulgationDate?: string | undefined
}

/**
 * The received document a revoke / update / replace / 13 refers to (docs/edxml.md §c: DocumentId, then Code +
 * PromulgationDate): a document from `sender` to `recipient` that counts as received and is no revoke itself.
 */
export async function findOriginal(deps: Pick<ReceiveDeps, 'store'>, sender: string, recipient: string, q: OriginalQuery, excludeId?: string): Promise<StoredIncoming | undefined> {
  const usable = (s: StoredIncoming) => s.kind === 'edoc' && s.state !== 'rejected' && s.state !== 'discarded' && upper(s.recipient) === upper(recipient) && s.id !== excludeId && s.metadata.businessType !== 1
  if (q.documentId) {
    const found = (await deps.store.findIncomingByDocument(sender, q.documentId)).filter(usable)
    if (found[0]) return found[0]
  }
  if (q.codeNumber) {
    const page = await deps.store.listIncoming({ recipient, senderOrganId: sender, kind: 'edoc', limit: 500 })
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

/** The document whose business type is applied. */
export interface BusinessDocument {
  /** Our id of the package (the revoke / update / replace itself). */
  id: string
  env: Envelope
  /** From/OrganId. */
  sender: string
  /** The hosted recipient. */
  recipient: string
  documentId: string | undefined
}

export interface BusinessOutcome {
  /** The incoming package it changes (the first found). */
  relatedId?: string
  /** What was done, stored in the document's metadata (`effects`) when not empty. */
  effects: JsonObject[]
}

/** Apply the document's business type to the documents it changes (see the header). */
export async function applyBusiness(deps: Pick<ReceiveDeps, 'store'>, doc: BusinessDocument): Promise<BusinessOutcome> {
  const type = businessType(doc.env)
  const b = doc.env.edoc?.traceHeaderList.bussiness
  const h = doc.env.edoc!.messageHeader
  const { sender, recipient } = doc
  const actor = `peer:${sender}` as const
  if (type === 1) {
    const q = { documentId: doc.documentId, ...splitCode(`${h.code.codeNumber}/${h.code.codeNotation}`), promulgationDate: h.promulgationInfo.promulgationDate.value }
    const orig = await findOriginal(deps, sender, recipient, q, doc.id)
    if (!orig) return { effects: [{ type: 'revoke', found: false }] }
    await deps.store.transitionIncoming(orig.id, 'recall-requested', {
      cause: 'revoke (BussinessDocType 1) from the sender',
      actor,
      statusCode: '13',
      detail: { revokePackageId: doc.id, reason: b?.bussinessDocReason ?? '' },
    })
    return { relatedId: orig.id, effects: [{ type: 'revoke', target: orig.id }] }
  }
  if (type !== 2 && type !== 3) return { effects: [] }
  const effect = type === 2 ? 'update' : 'replace'
  // an update names its target in Bussiness/DocumentId, or keeps the target's DocumentId (the public SDK's way, also
  // with an empty Bussiness/DocumentId); a replacement lists the replaced, its own DocumentId among them when kept.
  // findOriginal never returns the package itself.
  const targets = type === 2 ? [b?.documentId?.trim() || (doc.documentId ?? '')] : (b?.replacementInfoList ?? []).map((r) => r.documentId)
  const effects: JsonObject[] = []
  let relatedId: string | undefined
  for (const documentId of targets.filter((x) => x !== '')) {
    const orig = await findOriginal(deps, sender, recipient, { documentId }, doc.id)
    if (!orig) {
      effects.push({ type: effect, documentId, found: false })
      continue
    }
    relatedId ??= orig.id
    await deps.store.appendEvent({
      direction: 'in',
      type: type === 2 ? 'updated' : 'superseded',
      packageId: orig.id,
      documentId: orig.documentId ?? documentId,
      sender,
      recipient,
      actor,
      cause: `${type === 2 ? 'updated' : 'replaced'} by package ${doc.id} (DocumentId ${doc.documentId})`,
      detail: { by: doc.id, byDocumentId: doc.documentId ?? '', reason: b?.bussinessDocReason ?? '' },
    })
    effects.push({ type: effect, documentId, target: orig.id })
  }
  return { ...(relatedId ? { relatedId } : {}), effects }
}
