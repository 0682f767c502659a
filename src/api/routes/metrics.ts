/**
 * `GET /metrics`: Prometheus text exposition of this instance's registry (src/metrics.ts); operator key unless
 * `metrics.public`. The registry is bound here to what it reads at scrape time: the store's counters, the queue
 * depths of the hosted agencies (through the queue inspector, when the process has one), the overdue count (cached
 * 15 s) and the signing certificates' expiry.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.js'
import { createMetrics, type GatewayMetrics, type QueueInspector } from '../../metrics.js'
import { countOverdue, createOverduePolicy, type OverduePolicyConfig } from '../../pipeline/overdue.js'
import type { Store } from '../../store/index.js'
import { ref } from '../schemas.js'

/** Optional collaborators of /metrics (server.ts passes the real ones; tests may leave them out). */
export interface MetricsDeps {
  /** Prometheus metrics of this instance; default: a fresh registry per app. */
  metrics?: GatewayMetrics
  /** Queue depths (the transport connection); absent: no queue gauge. */
  queueInspector?: QueueInspector
  /** Overrides of config `overdue` (tests). */
  overdue?: OverduePolicyConfig
  /** /metrics without a key (overrides config `metrics.public`). */
  metricsPublic?: boolean
}

export interface MetricsRoutesOptions extends MetricsDeps {
  config: Config
  store: Store
  signers?: ReadonlyMap<string, unknown>
  clock?: () => Date
}

export async function metricsRoutes(app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  const { config, store } = opts
  const clock = opts.clock ?? (() => new Date())
  const policy = createOverduePolicy({ ...(config.overdue ?? {}), ...(opts.overdue ?? {}) })
  const metrics = opts.metrics ?? createMetrics()
  let overdueCache: { at: number; n: number } | undefined
  const certificates = new Map<string, string>()
  for (const [organId, s] of opts.signers ?? []) {
    const notAfter = (s as { certificate?: { notAfter?: unknown } })?.certificate?.notAfter
    if (typeof notAfter === 'string') certificates.set(organId, notAfter)
  }
  metrics.bind({
    store,
    clock,
    certificates,
    queues: config.agencies.map((a) => ({
      organId: a.organId.toUpperCase(),
      inbox: config.amqp.queuePrefix + a.organId.toUpperCase(),
      deadLetter: config.amqp.deadLetterQueuePrefix + a.organId.toUpperCase(),
    })),
    ...(opts.queueInspector ? { inspector: opts.queueInspector } : {}),
    async overdue() {
      const now = clock()
      // a scrape every few seconds does not need a fresh count each time
      if (overdueCache && now.getTime() - overdueCache.at < 15_000) return overdueCache.n
      const r = await countOverdue(store, policy, now)
      overdueCache = { at: now.getTime(), n: r.count }
      return r.count
    },
  })
  app.addHook('onClose', async () => metrics.stop())
  const isPublic = opts.metricsPublic ?? config.metrics?.public ?? false

  app.get(
    '/metrics',
    {
      ...(isPublic ? {} : { config: { auth: 'operator' as const } }),
      schema: {
        tags: ['operators'],
        summary: 'Prometheus metrics',
        description: 'Documents sent/received/rejected, statuses, deliveries by state, overdue, publish and verify latency, queue depths, outbox backlog, certificate expiry. Needs an operator key unless metrics.public is set.',
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, 401: ref('Error'), 403: ref('Error') },
      },
    },
    async (_req, reply) => {
      const text = await metrics.text()
      return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text)
    },
  )
}
