/** `/healthz`: the process answers. `/readyz`: the store answers a query and the broker connection is up (503 otherwise). */
import type { FastifyInstance } from 'fastify'
import type { Store } from '../../store/index.js'
import { ref } from '../schemas.js'

export interface BrokerStatus {
  /** `connected` when publishing can happen. */
  readonly state: string
  /** Broker URL without password, for the readiness detail. */
  readonly redactedUrl?: string
}

export function healthRoutes(app: FastifyInstance, deps: { store: Store; broker: BrokerStatus }): void {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up', response: { 200: ref('Health') } } }, async () => ({
    status: 'ok',
  }))
  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Store and broker reachable', response: { 200: ref('Health'), 503: ref('Health') } } },
    async (_req, reply) => {
      let store: { ok: boolean; detail?: string } = { ok: true }
      try {
        await deps.store.ping()
      } catch (e) {
        store = { ok: false, detail: (e as Error).message }
      }
      const brokerUp = deps.broker.state === 'connected'
      const broker = brokerUp ? { ok: true } : { ok: false, detail: `${deps.broker.state}: ${deps.broker.redactedUrl ?? 'broker'}` }
      const ok = store.ok && broker.ok
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: { store, broker } })
    },
  )
}
