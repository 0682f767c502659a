/** `GET /metrics`: Prometheus text exposition of this instance's registry; operator key unless `public`. */
import type { FastifyInstance } from 'fastify'
import type { GatewayMetrics } from '../../metrics.js'
import { ref } from '../schemas.js'

export async function metricsRoutes(app: FastifyInstance, opts: { metrics: GatewayMetrics; public: boolean }): Promise<void> {
  app.get(
    '/metrics',
    {
      ...(opts.public ? {} : { config: { auth: 'operator' as const } }),
      schema: {
        tags: ['operators'],
        summary: 'Prometheus metrics',
        description: 'Documents sent/received/rejected, statuses, deliveries by state, overdue, publish and verify latency, queue depths, outbox backlog, certificate expiry. Needs an operator key unless metrics.public is set.',
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, 401: ref('Error'), 403: ref('Error') },
      },
    },
    async (_req, reply) => {
      const text = await opts.metrics.text()
      return reply.header('content-type', opts.metrics.contentType).header('cache-control', 'no-store').send(text)
    },
  )
}
