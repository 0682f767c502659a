/**
 * `POST /v1/documents/:id/recall`: the sender's DMS takes back a document it sent, by status 13 to each recipient
 * (default) or a type-1 revoke document (src/pipeline/recall.ts does it). Follow the answers (15/16) with
 * GET /v1/documents/:id. Another agency's document is 404; a recipient that already agreed to a recall is 409.
 */
import type { FastifyInstance } from 'fastify'
import { gwError } from '../../errors.js'
import type { Recall, RecallMethod } from '../../pipeline/recall.js'
import type { Principal } from '../plugins/auth.js'
import { ref } from '../schemas.js'

export interface RecallRoutesOptions {
  recall: Recall
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 409: ref('Error'), 429: ref('Error') }

export async function recallRoutes(app: FastifyInstance, opts: RecallRoutesOptions): Promise<void> {
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
      const body = req.body as { reason: string; recipients?: string[]; method?: RecallMethod }
      const reason = body.reason.trim()
      if (!reason) {
        throw gwError('GW_ERR_API_VALIDATION', { problems: 'body.reason must not be blank', details: [{ field: 'body.reason', problem: 'must not be blank' }] })
      }
      const r = await opts.recall.recall({
        id,
        organId: p.organId,
        clientId: p.id,
        reason,
        ...(body.recipients ? { recipients: body.recipients } : {}),
        ...(body.method ? { method: body.method } : {}),
      })
      return reply.code(202).send({
        id: r.package.id,
        documentId: r.package.documentId,
        method: r.method,
        reason: r.reason,
        recipients: r.targets.map((x) => ({ recipient: x.delivery.recipient, deliveryId: x.delivery.id, state: x.delivery.state, requestPackageId: x.requestPackageId })),
      })
    },
  )
}
