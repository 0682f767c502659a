/**
 * buildApp(config, deps): the gateway's HTTP API as a Fastify instance that never listens (src/server.ts does),
 * so tests drive it with `inject()`. Everything it needs is passed in: the store, the signers of the hosted
 * agencies, the relay (to wake it when a document is accepted), the broker status (readiness), a clock, a logger.
 *
 * Order of what is registered: error handling and content-type parsers, the shared JSON Schemas
 * (schemas/api/*.json), OpenAPI + UI at /docs, rate limits per API key, authentication, then the routes.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import multipart from '@fastify/multipart'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from './config.js'
import type { Logger } from './logger.js'
import { gwError } from './errors.js'
import { installErrorHandling } from './api/error-handler.js'
import { installAuth, keyHashOf } from './api/plugins/auth.js'
import { installBodyParsers } from './api/plugins/body-parsers.js'
import { addApiSchemas } from './api/schemas.js'
import { healthRoutes, operatorHealthRoutes, type BrokerStatus } from './api/routes/health.js'
import { documentRoutes } from './api/routes/documents.js'
import { opsRoutes, type OpsDeps } from './api/routes/operator.js'
import { logRoutes } from './api/routes/log.js'
import { metricsRoutes } from './api/routes/metrics.js'
import { verifyRoutes } from './api/routes/verify.js'
import type { Verifier } from './signature/index.js'
import { inboxRoutes } from './api/routes/inbox.js'
import { recallRoutes } from './api/routes/recall.js'
import { consoleRoutes } from './api/routes/console.js'
import { createStatusSender, type StatusSender } from './pipeline/statuses.js'
import { trustVerifier, type TrustVerifier } from './pipeline/trust.js'
import { createOutgoingPipeline, type OutgoingPipeline, type SignerLike } from './pipeline/outgoing.js'
import type { PackagePool } from './pipeline/package-pool.js'
import type { Store } from './store/index.js'

export interface AppDeps {
  store: Store
  /** Signer of each hosted agency, by OrganId. */
  signers: ReadonlyMap<string, SignerLike>
  /** Woken after every accepted document (the outbox relay); a no-op object is fine in tests. */
  relay: { wake(): void }
  /** Broker connection status for /readyz (the transport's AmqpConnection fits). */
  broker: BrokerStatus
  logger: Logger
  /** Time source (tests pin it). Default: `() => new Date()`. */
  clock?: () => Date
  /** Package id source. Default: crypto.randomUUID. */
  newId?: () => string
  /** Worker threads that build and sign packages; without it both happen on the event loop. */
  packager?: PackagePool
  /** Verifier for POST /v1/verify. Default: `trust`. */
  verifier?: Verifier
  /** The verifier over config.trust shared by POST /v1/verify, operator replays and the receiver. Default: one of its own. */
  trust?: TrustVerifier
  /** Sends status packages (inbox, recall, operator replay); default: one over store, signers and relay. */
  statuses?: StatusSender
  /** Operator routes' collaborators (metrics registry, queue inspector, status sender, verifier); defaults work without them. */
  ops?: OpsDeps
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The outgoing pipeline the document routes call. */
    outgoing: OutgoingPipeline
  }
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false } },
  }) as unknown as FastifyInstance

  installErrorHandling(app, config.http.bodyLimit, config.limits.attachmentBytes)
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id)
  })
  installBodyParsers(app)
  await app.register(multipart, {
    limits: {
      fileSize: config.limits.attachmentBytes,
      files: config.limits.attachments,
      fields: 10,
      fieldSize: 8 * 1024 * 1024,
      parts: config.limits.attachments + 10,
    },
  })
  addApiSchemas(app)

  if (config.http.docs) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'lienthong gateway API',
          description:
            'Send official documents (edXML, QCVN 102:2016) to other agencies and follow their delivery. Authenticate with `Authorization: Bearer <key>`. Every error is `{ code, message, details? }` with a stable GW_ERR_* code.',
          version: '1',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
        tags: [
          { name: 'documents', description: 'Send documents and follow their delivery' },
          { name: 'verify', description: 'Check signatures: PDF (PAdES), edXML package + CMS, detached CMS + content' },
          { name: 'inbox', description: 'Documents received for the agency: read, download, acknowledge, answer with statuses' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  }

  await app.register(rateLimit, {
    global: true,
    max: config.limits.requestsPerMinute,
    timeWindow: 60_000,
    // the key's hash, so one DMS cannot exhaust another's budget; anonymous requests count per address
    keyGenerator: (req) => keyHashOf(req) ?? `ip:${req.ip}`,
    allowList: (req) => req.url === '/healthz' || req.url === '/readyz',
    errorResponseBuilder: (_req, ctx) =>
      gwError('GW_ERR_API_RATE_LIMITED', { retryAfter: ctx.after, retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)) }),
  })

  installAuth(app, config)

  const outgoing = createOutgoingPipeline({
    config,
    store: deps.store,
    signers: deps.signers,
    relay: deps.relay,
    clock: deps.clock ?? (() => new Date()),
    newId: deps.newId ?? randomUUID,
    logger: deps.logger,
    ...(deps.packager ? { packager: deps.packager } : {}),
  })
  app.decorate('outgoing', outgoing)

  healthRoutes(app, { store: deps.store, broker: deps.broker })
  await app.register(documentRoutes, { config, store: deps.store, outgoing })
  // one status sender for the inbox, recall and operator routes (the gateway process shares it with the receiver)
  const statuses =
    deps.statuses ??
    createStatusSender({
      store: deps.store,
      agencies: config.agencies,
      limits: config.limits,
      signers: deps.signers,
      relay: deps.relay,
      clock: deps.clock ?? (() => new Date()),
      newId: deps.newId ?? randomUUID,
      logger: deps.logger,
    })
  // one verifier over config.trust (one cache, one CRL set); a replay checks the trust files first
  const trust = deps.trust ?? trustVerifier(config)
  const replayVerifier = () => {
    trust.refresh(Date.now(), { force: true })
    return trust.current()
  }
  const clock = deps.clock ?? (() => new Date())
  await app.register(opsRoutes, { config, store: deps.store, relay: deps.relay, clock, logger: deps.logger, statuses, verifier: replayVerifier, ...deps.ops })
  await app.register(operatorHealthRoutes, { config, store: deps.store, broker: deps.broker, signers: deps.signers, clock, ...(deps.ops?.queueInspector ? { queueInspector: deps.ops.queueInspector } : {}) })
  await app.register(logRoutes, { store: deps.store, clock })
  await app.register(metricsRoutes, { config, store: deps.store, signers: deps.signers, clock, ...deps.ops })
  await app.register(verifyRoutes, { config, trust, ...(deps.verifier ? { verifier: deps.verifier } : {}) })
  await app.register(inboxRoutes, { config, store: deps.store, statuses })
  await app.register(recallRoutes, { config, store: deps.store, statuses })
  await app.register(consoleRoutes, {})
  return app
}
