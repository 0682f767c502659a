/**
 * Recall: the sender's DMS takes back a document it sent (docs/edxml.md §b code 13, §c type 1).
 *
 * - `status13` (default): one signed status-13 package per recipient, ResponseFor = the original document with
 *   ResponseFor/OrganId = that recipient (as in the SDK sample); Description = the reason.
 * - `revoke`: one business document of type 1 to the recipients, re-sending the original identification (same
 *   DocumentId, Code, PromulgationInfo, From) with BussinessDocReason = the reason.
 *
 * Each recipient answers 15 (the delivery becomes `recalled`) or 16 (`recall-refused`); the receive pipeline moves
 * the states. Here the request is recorded in each delivery's timeline (`recall-requested`, with the package sent).
 * Another agency's document is not found; a recipient that already agreed to a recall is a conflict, and so is a
 * second recall of the same document while the first is being sent (within this process).
 */
import type { Config } from '../config.js'
import { parseEnvelope } from '../envelope/index.js'
import { gwError } from '../errors.js'
import type { Delivery, Store, StoredPackage } from '../store/index.js'
import type { StatusSender } from './statuses.js'

export type RecallMethod = 'status13' | 'revoke'

export interface RecallInput {
  /** Our package id of the original document. */
  id: string
  /** The hosted agency asking (only the sender of the document may recall it). */
  organId: string
  /** The API client asking. */
  clientId: string
  /** Non-blank. */
  reason: string
  /** Default: every recipient not yet `recalled`. */
  recipients?: string[]
  method?: RecallMethod
}

export interface RecallResult {
  package: StoredPackage
  method: RecallMethod
  reason: string
  /** The deliveries the recall went to (their state before it) and the package sent to each. */
  targets: { delivery: Delivery; requestPackageId: string }[]
}

export interface RecallDeps {
  store: Store
  statuses: StatusSender
  limits: Pick<Config['limits'], 'packageBytes' | 'xmlDepth'>
}

export interface Recall {
  recall(input: RecallInput): Promise<RecallResult>
}

export function createRecall(deps: RecallDeps): Recall {
  const { store, statuses, limits } = deps
  const inFlight = new Set<string>()

  /** The deliveries to recall: the listed recipients (each must be one, none already recalled) or every one not recalled. */
  function targetsOf(id: string, deliveries: Delivery[], recipients: string[] | undefined): Delivery[] {
    if (!recipients) {
      const targets = deliveries.filter((d) => d.state !== 'recalled')
      if (targets.length === 0) throw gwError('GW_ERR_API_CONFLICT', { reason: `document ${id} is already recalled from every recipient` })
      return targets
    }
    const byRecipient = new Map(deliveries.map((d) => [d.recipient.toUpperCase(), d]))
    const problems: { field: string; problem: string }[] = []
    const seen = new Set<string>()
    const targets: Delivery[] = []
    recipients.forEach((r, i) => {
      const k = r.trim().toUpperCase()
      const d = byRecipient.get(k)
      if (!d) problems.push({ field: `body.recipients.${i}`, problem: `${r} is not a recipient of document ${id}` })
      else if (!seen.has(k)) targets.push(d)
      seen.add(k)
    })
    if (problems.length) throw gwError('GW_ERR_API_VALIDATION', { problems: problems.map((x) => `${x.field} ${x.problem}`).join('; '), details: problems })
    const done = targets.filter((d) => d.state === 'recalled')
    if (done.length) throw gwError('GW_ERR_API_CONFLICT', { reason: `document ${id} is already recalled from ${done.map((d) => d.recipient).join(', ')}` })
    return targets
  }

  async function send(pkg: StoredPackage, bytes: Uint8Array, targets: Delivery[], input: RecallInput & { method: RecallMethod }, actor: string): Promise<Map<string, string>> {
    const sentBy = new Map<string, string>()
    if (input.method === 'revoke') {
      const sent = await statuses.sendRevoke({ original: pkg, originalBytes: bytes, recipients: targets.map((d) => d.recipient), reason: input.reason, actor, clientId: input.clientId })
      for (const d of targets) sentBy.set(d.recipient, sent.id)
      return sentBy
    }
    const h = parseEnvelope(bytes, { maxBytes: Math.max(limits.packageBytes, bytes.byteLength), maxDepth: limits.xmlDepth }).edoc?.messageHeader
    const code = h ? `${h.code.codeNumber}/${h.code.codeNotation}` : `${pkg.codeNumber ?? ''}/${pkg.codeNotation ?? ''}`
    const promulgationDate = h?.promulgationInfo.promulgationDate.value || pkg.promulgationDate
    for (const d of targets) {
      const sent = await statuses.send({
        from: pkg.senderOrganId,
        to: d.recipient,
        statusCode: '13',
        description: input.reason,
        responseFor: { organId: d.recipient, code, ...(promulgationDate ? { promulgationDate } : {}), documentId: pkg.documentId },
        actor,
        clientId: input.clientId,
        metadata: { originalPackageId: pkg.id, recall: true },
      })
      sentBy.set(d.recipient, sent.id)
    }
    return sentBy
  }

  return {
    async recall(raw) {
      const input = { ...raw, method: raw.method ?? 'status13' }
      const { id } = input
      const pkg = await store.getPackage(id)
      if (!pkg || pkg.kind !== 'edoc' || pkg.senderOrganId.toUpperCase() !== input.organId.toUpperCase()) {
        throw gwError('GW_ERR_API_NOT_FOUND', { what: `document ${id}` })
      }
      if (inFlight.has(pkg.id)) throw gwError('GW_ERR_API_CONFLICT', { reason: `a recall of document ${id} is being sent; read it again in a moment` })
      inFlight.add(pkg.id)
      try {
        const targets = targetsOf(id, await store.getDeliveries(pkg.id), input.recipients)
        const stored = await store.getPackageBytes(pkg.id)
        if (!stored) throw gwError('GW_ERR_API_NOT_FOUND', { what: `bytes of document ${id}` })
        const actor = `client:${input.clientId}`
        const sentBy = await send(pkg, stored.bytes, targets, input, actor)
        // the request in each delivery's timeline; the state moves when the recipient answers (15/16)
        for (const d of targets) {
          await store.appendEvent({
            direction: 'out',
            type: 'recall-requested',
            packageId: pkg.id,
            deliveryId: d.id,
            documentId: pkg.documentId,
            sender: pkg.senderOrganId,
            recipient: d.recipient,
            actor,
            ...(input.method === 'status13' ? { statusCode: '13' as const } : {}),
            cause: input.reason,
            detail: { method: input.method, reason: input.reason, requestPackageId: sentBy.get(d.recipient) as string },
          })
        }
        return { package: pkg, method: input.method, reason: input.reason, targets: targets.map((d) => ({ delivery: d, requestPackageId: sentBy.get(d.recipient) as string })) }
      } finally {
        inFlight.delete(pkg.id)
      }
    },
  }
}
