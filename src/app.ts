/**
 * buildApp(gateway): the gateway's HTTP API as a Fastify instance that never listens (src/server.ts does), so tests
 * drive it with `inject()`. Every service it calls comes from the gateway (src/gateway.ts createGateway: store,
 * signers, outgoing pipeline, status sender, use-cases, trust, metrics, broker status...): nothing is wired here.
 *
 * Order of what is registered: error handling and content-type parsers, the shared JSON Schemas
 * (schemas/api/*.json), OpenAPI + UI at /docs, rate limits per API key, authentication, then the routes.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import type { Config } from './config.js'
import Fastify, { type FastifyInstance } from 'fastify'
import multipart from '@fastify/multipart'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { gwError } from './errors.js'
import type { Gateway } from './gateway.js'
import { frameworkErrors, installErrorHandling } from './api/error-handler.js'
import { installAuth, keyHashOf } from './api/plugins/auth.js'
import { installBodyParsers, installMultipartLimit } from './api/plugins/body-parsers.js'
import { OperatorSessions } from './api/plugins/sessions.js'
import { addApiSchemas } from './api/schemas.js'
import { healthRoutes, operatorHealthRoutes } from './api/routes/health.js'
import { documentRoutes } from './api/routes/documents.js'
import { opsRoutes } from './api/routes/operator.js'
import { logRoutes } from './api/routes/log.js'
import { metricsRoutes } from './api/routes/metrics.js'
import { verifyRoutes } from './api/routes/verify.js'
import { inboxRoutes } from './api/routes/inbox.js'
import { recallRoutes } from './api/routes/recall.js'
import { consoleRoutes } from './api/routes/console.js'
import { sessionRoutes } from './api/routes/session.js'
import { errorRoutes } from './api/routes/errors.js'
import type { OutgoingPipeline } from './pipeline/outgoing.js'
import { createVxpActivity, vxpSystemViews } from './vxp/activity.js'
import { vxpRoutes } from './vxp/server.js'
import { createVxpService } from './vxp/service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The outgoing pipeline the document routes call. */
    outgoing: OutgoingPipeline
  }
}

/** The key and certificate of `http.tls`, read once at start; an unreadable or mismatched pair stops the start. */
function tlsOptions(tls: NonNullable<Config['http']['tls']>): { key: Buffer; cert: Buffer } {
  const read = (p: string) => {
    try {
      return readFileSync(p)
    } catch (e) {
      throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: p, reason: (e as Error).message }, e)
    }
  }
  const key = read(tls.keyPath)
  const cert = read(tls.certPath)
  try {
    createSecureContext({ key, cert })
  } catch (e) {
    throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: `${tls.keyPath} with ${tls.certPath}`, reason: `http.tls: ${(e as Error).message}` }, e)
  }
  return { key, cert }
}

/** A client's x-request-id when it is 1-64 characters of A-Z a-z 0-9 . _ : - (else the gateway makes its own). */
export function acceptedRequestId(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(v) ? v : undefined
}

export async function buildApp(gateway: Gateway): Promise<FastifyInstance> {
  const { config, store, signers, logger, clock } = gateway
  const app = Fastify({
    ...(config.http.tls ? { https: tlsOptions(config.http.tls) } : {}),
    loggerInstance: logger,
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    // a client's x-request-id is taken only when short and of a safe alphabet (it goes into logs and headers)
    requestIdHeader: false,
    genReqId: (req) => acceptedRequestId(req.headers['x-request-id']) ?? randomUUID(),
    // the router's own errors (bad percent-encoding, over-long path parameter) keep the { code, message } shape
    frameworkErrors,
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false } },
  }) as unknown as FastifyInstance

  installErrorHandling(app, config.http.bodyLimit, config.limits.attachmentBytes)
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id)
  })
  installBodyParsers(app)
  installMultipartLimit(app, config.limits.multipartBytes)
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

  const sessions = new OperatorSessions(config, clock)
  installAuth(app, config, sessions)

  app.decorate('outgoing', gateway.outgoing)

  const axis = gateway.axis
  healthRoutes(app, { store, broker: gateway.broker, signers, ...(axis ? { axis: () => axis.status() } : {}), ...(gateway.tsa ? { tsa: gateway.tsa } : {}), ...(gateway.trustWatch ? { trust: gateway.trustWatch } : {}) })
  await app.register(errorRoutes)
  await app.register(documentRoutes, { config, store, outgoing: gateway.outgoing })
  await app.register(opsRoutes, { config, store, relay: gateway.relay, clock, logger, ...gateway.ops })
  const queueInspector = gateway.ops.queueInspector
  const vxpActivity = config.vxp?.server ? createVxpActivity(clock) : undefined
  const vxpSystems = config.vxp?.server && vxpActivity ? vxpSystemViews(config, vxpActivity) : undefined
  await app.register(operatorHealthRoutes, {
    config,
    store,
    broker: gateway.broker,
    signers,
    clock,
    ...(queueInspector ? { queueInspector } : {}),
    ...(axis ? { axis: () => axis.status() } : {}),
    ...(vxpSystems ? { vxpSystems } : {}),
    ...(gateway.trustWatch ? { trust: gateway.trustWatch } : {}),
  })
  await app.register(logRoutes, { store, clock, ...(gateway.logAnchors ? { anchors: gateway.logAnchors } : {}) })
  await app.register(metricsRoutes, { config, store, signers, clock, ...gateway.ops })
  await app.register(verifyRoutes, { config, trust: gateway.trust, inspector: gateway.inspector, ...(gateway.verifier ? { verifier: gateway.verifier } : {}) })
  await app.register(inboxRoutes, { config, store, inbox: gateway.inbox, inspector: gateway.inspector })
  await app.register(recallRoutes, { recall: gateway.recall })
  await app.register(sessionRoutes, { sessions })
  await app.register(consoleRoutes, {})
  if (config.vxp?.server) {
    // the VXP SDK's endpoint: its own body parsing, answers and authentication (src/vxp/README.md)
    const service = createVxpService({ config, store, outgoing: gateway.outgoing, inbox: gateway.inbox })
    await app.register(vxpRoutes, { prefix: config.vxp.server.path, config, service, logger: logger.child({ area: 'vxp' }), ...(vxpActivity ? { activity: vxpActivity } : {}) })
  }
  return app
}
