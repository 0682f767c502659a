/**
 * The operator's lists and actions (operator keys only; client keys get 403):
 *
 * - `GET /v1/operator/overdue`: deliveries whose recipient has not answered 01 by the due time (src/pipeline/overdue.ts)
 * - `GET /v1/operator/dead-letters`, `GET /v1/operator/dead-letters/:id`: rejected incoming packages and failed
 *   outgoing deliveries, with the reason
 * - `POST /v1/operator/dead-letters/:id/replay` and `.../discard`: logged with the actor `operator:<id>`
 * - `GET /v1/operator/agencies`: the directory the console names agencies with (config `agencies`, then `peers`)
 *
 * Other routes for operators live in the file their name says: `/v1/operator/health` in ./health.ts, `/v1/log` in
 * ./log.ts, `/metrics` in ./metrics.ts, the console's files in ./console.ts.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import { createDeadLetters, type DeadLetterDeps, type DeadLetters } from '../../pipeline/deadletter.js'
import { createOverduePolicy, listOverdue, type OverduePolicyConfig } from '../../pipeline/overdue.js'
import type { StatusSender } from '../../pipeline/statuses.js'
import type { Verifier } from '../../signature/index.js'
import type { Store } from '../../store/index.js'
import { gwError } from '../../errors.js'
import { itemsOf, ref } from '../schemas.js'
import type { MetricsDeps } from './metrics.js'

/** Optional collaborators of the operator routes (server.ts passes the real ones; tests may leave them out). */
export interface OperatorDeps {
  /** Status sender for the 01 after an incoming replay (the receiver's). */
  statuses?: StatusSender
  /** Verifier for incoming replays; default: built from config.trust at each replay. */
  verifier?: () => Pick<Verifier, 'verify'>
  /** Overrides of config `overdue` (tests). */
  overdue?: OverduePolicyConfig
  /** Gets `received` after an incoming replay (e.g. an EventEmitter given to attachWebhooks, as the receive pipeline is). */
  events?: DeadLetterDeps['events']
}

/** What buildApp takes as `deps.ops`: the collaborators of the operator routes, /metrics and /v1/operator/health. */
export type OpsDeps = OperatorDeps & MetricsDeps

export interface OpsRoutesOptions extends OperatorDeps {
  config: Config
  store: Store
  relay: { wake(): void }
  clock?: () => Date
  logger?: Logger
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 409: ref('Error'), 410: ref('Error'), 429: ref('Error') }

export async function opsRoutes(app: FastifyInstance, opts: OpsRoutesOptions): Promise<void> {
  const { config } = opts
  const { store } = opts
  const clock = opts.clock ?? (() => new Date())
  const policy = createOverduePolicy({ ...(config.overdue ?? {}), ...(opts.overdue ?? {}) })
  const dead: DeadLetters = createDeadLetters({
    config,
    store,
    relay: opts.relay,
    ...(opts.verifier ? { verifier: opts.verifier } : {}),
    ...(opts.statuses ? { statuses: opts.statuses } : {}),
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.logger ? { logger: opts.logger.child({ area: 'operator' }) } : {}),
  })

  // ---- directory --------------------------------------------------------------------------------------------

  const directory = (() => {
    const seen = new Map<string, { organId: string; name: string; organizationInCharge?: string; hosted: boolean }>()
    for (const a of config.agencies) seen.set(a.organId.toUpperCase(), { organId: a.organId, name: a.name, organizationInCharge: a.organizationInCharge, hosted: true })
    for (const p of config.peers ?? []) {
      if (!seen.has(p.organId.toUpperCase())) seen.set(p.organId.toUpperCase(), { organId: p.organId, name: p.name, ...(p.organizationInCharge ? { organizationInCharge: p.organizationInCharge } : {}), hosted: false })
    }
    return [...seen.values()]
  })()

  app.get(
    '/v1/operator/agencies',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'The directory of agencies: hosted ones (config agencies) and peers (config peers), by name (operator keys)',
        response: {
          200: itemsOf(['organId', 'name', 'hosted'], { organId: { type: 'string' }, name: { type: 'string' }, organizationInCharge: { type: 'string' }, hosted: { type: 'boolean' } }),
          ...errors,
        },
      },
    },
    async () => ({ items: directory }),
  )

  // ---- overdue ----------------------------------------------------------------------------------------------

  app.get<{ Querystring: { recipient?: string; sender?: string; cursor?: string; limit?: number } }>(
    '/v1/operator/overdue',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Deliveries not answered with 01 in time (operator keys)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            recipient: { type: 'string', minLength: 1, maxLength: 64 },
            sender: { type: 'string', minLength: 1, maxLength: 64 },
            cursor: { type: 'string', maxLength: 128 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          },
        },
        response: { 200: ref('OperatorOverdueList'), ...errors },
      },
    },
    async (req) => {
      const now = clock()
      const q = req.query
      const page = await listOverdue(store, policy, {
        now,
        limit: q.limit ?? 50,
        ...(q.recipient ? { recipient: q.recipient.trim().toUpperCase() } : {}),
        ...(q.sender ? { senderOrganId: q.sender.trim().toUpperCase() } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      })
      return { policy: policy.description, policyLabel: policy.descriptionVi, now: now.toISOString(), ...page }
    },
  )

  // ---- dead letters -----------------------------------------------------------------------------------------

  app.get<{ Querystring: { kind?: 'incoming' | 'outgoing'; agency?: string; cursor?: string; limit?: number } }>(
    '/v1/operator/dead-letters',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Rejected incoming packages and failed outgoing deliveries (operator keys)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['incoming', 'outgoing'] },
            agency: { type: 'string', minLength: 1, maxLength: 64, description: 'Hosted agency: recipient of incoming, sender of outgoing.' },
            cursor: { type: 'string', maxLength: 400 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          },
        },
        response: { 200: ref('OperatorDeadLetterList'), ...errors },
      },
    },
    async (req) => {
      const q = req.query
      return dead.list({ limit: q.limit ?? 50, ...(q.kind ? { kind: q.kind } : {}), ...(q.agency ? { agency: q.agency } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) })
    },
  )

  app.get<{ Params: { id: string } }>(
    '/v1/operator/dead-letters/:id',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'One dead letter (operator keys)',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: ref('OperatorDeadLetter'), ...errors },
      },
    },
    async (req) => {
      const d = await dead.get(req.params.id)
      if (!d) throw gwError('GW_ERR_API_NOT_FOUND', { what: `dead letter ${req.params.id}` })
      return d
    },
  )

  const operatorId = (req: { principal?: { kind: string; id: string } }): string => req.principal?.id ?? 'unknown'

  app.post<{ Params: { id: string }; Body: { note?: string } | undefined }>(
    '/v1/operator/dead-letters/:id/replay',
    {
      config: { auth: 'operator', role: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Replay a dead letter after fixing its cause (operators with the operator or admin role)',
        description:
          'Incoming rejected package: its stored bytes are verified again with the trust files as they are now; passing, it goes to the inbox (received) and 01 is sent; failing, it stays rejected and the answer says why (outcome still-rejected). Failed outgoing delivery: back to the outbox (accepted) and published again. Logged with the actor operator:<id>, and the optional `note` in the event\'s detail.',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        body: { type: ['object', 'null'], additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } },
        response: { 200: ref('OperatorAction'), ...errors },
      },
    },
    async (req) => dead.replay(req.params.id, operatorId(req), req.body?.note?.trim() || undefined),
  )

  app.post<{ Params: { id: string }; Body: { note?: string } | undefined }>(
    '/v1/operator/dead-letters/:id/discard',
    {
      config: { auth: 'operator', role: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Discard a dead letter (operators with the operator or admin role)',
        description: 'Incoming rejected package → discarded; failed outgoing delivery: a discarded event (it stays failed and leaves the list). Logged with the actor operator:<id>.',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        body: { type: ['object', 'null'], additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } },
        response: { 200: ref('OperatorAction'), ...errors },
      },
    },
    async (req) => {
      const r = await dead.discard(req.params.id, operatorId(req), req.body?.note)
      return { ...r, outcome: 'discarded' }
    },
  )
}
