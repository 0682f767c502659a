/**
 * `POST /v1/documents/:id/recall`: the sender's DMS takes back a document it sent (EDXML.md §b code 13, §c type 1).
 *
 * - `method: 'status13'` (default): one signed status-13 package per recipient, ResponseFor = the original document
 *   with ResponseFor/OrganId = that recipient (as in the SDK sample); Description = the reason.
 * - `method: 'revoke'`: one business document of type 1 to the recipients, re-sending the original identification
 *   (same DocumentId, Code, PromulgationInfo, From) with BussinessDocReason = the reason.
 *
 * Each recipient answers 15 (the delivery becomes `recalled`) or 16 (`recall-refused`); the receive pipeline moves
 * the states. Here the request is recorded in each delivery's timeline (`recall-requested`, with the package sent).
 * Another agency's document is 404; a recipient that already agreed to a recall is 409.
 */
import type { FastifyInstance } from 'fastify'
import { gwError } from '../../errors.js'
import type { StatusSender } from '../../pipeline/statuses.js'
import type { Delivery, Store } from '../../store/index.js'
import type { Principal } from '../plugins/auth.js'
import { ref } from '../schemas.js'
import { parseEnvelope } from '../../envelope/index.js'
import type { Config } from '../../config.js'

export interface RecallRoutesOptions {
  config: Config
  store: Store
  statuses: StatusSender
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 409: ref('Error'), 429: ref('Error') }

export async function recallRoutes(app: FastifyInstance, opts: RecallRoutesOptions): Promise<void> {
  const { store, statuses, config } = opts
  const inFlight = new Set<string>()

  app.post(
    '/v1/documents/:id/recall',
    {
      config: { auth: 'client' },
      schema: {
        tags: ['documents'],
        summary: 'Recall a sent document (status 13 per recipient, or a type-1 revoke document)',
        description:
          'Sends the recall to every recipient not yet recalled (or to `recipients`). Follow the answers with GET /v1/documents/{id}: each delivery becomes `recalled` (15) or `recall-refused` (16). 404 for a document of another agency; 409 when the document (or a listed recipient) is already recalled.',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } },
        body: ref('RecallRequest'),
        response: { 202: ref('RecallAccepted'), ...errors },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const p = req.principal as Extract<Principal, { kind: 'client' }>
      const body = req.body as { reason: string; recipients?: string[]; method?: 'status13' | 'revoke' }
      const method = body.method ?? 'status13'
      const reason = body.reason.trim()
      if (!reason) {
        throw gwError('GW_ERR_API_VALIDATION', { problems: 'body.reason must not be blank', details: [{ field: 'body.reason', problem: 'must not be blank' }] })
      }
      const pkg = await store.getPackage(id)
      if (!pkg || pkg.kind !== 'edoc' || pkg.senderOrganId.toUpperCase() !== p.organId.toUpperCase()) {
        throw gwError('GW_ERR_API_NOT_FOUND', { what: `document ${id}` })
      }
      if (inFlight.has(pkg.id)) throw gwError('GW_ERR_API_CONFLICT', { reason: `a recall of document ${id} is being sent; read it again in a moment` })
      inFlight.add(pkg.id)
      try {
        const deliveries = await store.getDeliveries(pkg.id)
        const byRecipient = new Map(deliveries.map((d) => [d.recipient.toUpperCase(), d]))
        let targets: Delivery[]
        if (body.recipients) {
          const problems: { field: string; problem: string }[] = []
          const seen = new Set<string>()
          targets = []
          body.recipients.forEach((r, i) => {
            const k = r.trim().toUpperCase()
            const d = byRecipient.get(k)
            if (!d) problems.push({ field: `body.recipients.${i}`, problem: `${r} is not a recipient of document ${id}` })
            else if (!seen.has(k)) targets.push(d)
            seen.add(k)
          })
          if (problems.length) throw gwError('GW_ERR_API_VALIDATION', { problems: problems.map((x) => `${x.field} ${x.problem}`).join('; '), details: problems })
          const done = targets.filter((d) => d.state === 'recalled')
          if (done.length) {
            throw gwError('GW_ERR_API_CONFLICT', { reason: `document ${id} is already recalled from ${done.map((d) => d.recipient).join(', ')}` })
          }
        } else {
          targets = deliveries.filter((d) => d.state !== 'recalled')
          if (targets.length === 0) throw gwError('GW_ERR_API_CONFLICT', { reason: `document ${id} is already recalled from every recipient` })
        }

        const stored = await store.getPackageBytes(pkg.id)
        if (!stored) throw gwError('GW_ERR_API_NOT_FOUND', { what: `bytes of document ${id}` })
        const actor = `client:${p.id}`
        const sentBy = new Map<string, string>()
        if (method === 'revoke') {
          const sent = await statuses.sendRevoke({
            original: pkg,
            originalBytes: stored.bytes,
            recipients: targets.map((d) => d.recipient),
            reason,
            actor,
            clientId: p.id,
          })
          for (const d of targets) sentBy.set(d.recipient, sent.id)
        } else {
          const h = parseEnvelope(stored.bytes, { maxBytes: Math.max(config.limits.packageBytes, stored.bytes.byteLength), maxDepth: config.limits.xmlDepth }).edoc
            ?.messageHeader
          const code = h ? `${h.code.codeNumber}/${h.code.codeNotation}` : `${pkg.codeNumber ?? ''}/${pkg.codeNotation ?? ''}`
          const promulgationDate = h?.promulgationInfo.promulgationDate.value || pkg.promulgationDate
          for (const d of targets) {
            const sent = await statuses.send({
              from: pkg.senderOrganId,
              to: d.recipient,
              statusCode: '13',
              description: reason,
              responseFor: { organId: d.recipient, code, ...(promulgationDate ? { promulgationDate } : {}), documentId: pkg.documentId },
              actor,
              clientId: p.id,
              metadata: { originalPackageId: pkg.id, recall: true },
            })
            sentBy.set(d.recipient, sent.id)
          }
        }
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
            ...(method === 'status13' ? { statusCode: '13' as const } : {}),
            cause: reason,
            detail: { method, reason, requestPackageId: sentBy.get(d.recipient) as string },
          })
        }
        return reply.code(202).send({
          id: pkg.id,
          documentId: pkg.documentId,
          method,
          reason,
          recipients: targets.map((d) => ({ recipient: d.recipient, deliveryId: d.id, state: d.state, requestPackageId: sentBy.get(d.recipient) as string })),
        })
      } finally {
        inFlight.delete(pkg.id)
      }
    },
  )
}
