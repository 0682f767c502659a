/**
 * The VXP endpoint (`vxp.server.path`, default /vxp): the operations of VNPT's VXP SDK, answered the way the SDK
 * reads them, so a DMS built on the SDK connects by changing only its endpoint, systemid and secret. The logic is
 * service.ts; this file is the HTTP edge, an encapsulated Fastify plugin with its own rules:
 *
 * - body parsing per route, whatever the Content-Type: list calls are POSTs declaring application/json with an
 *   EMPTY body, getEdoc/updateStatus/the counts POST `{}` with `Expect: 100-continue` (Node answers 100 Continue),
 *   sendEdoc is application/octet-stream of up to limits.packageBytes + 2 bytes (the file plus the SDK's CRLF),
 *   downloadEdoc is a GET. The bodies of the other calls are never read (their parameters are signed headers).
 * - every answer is JSON with string `status` ("OK"/"FAIL"), `ErrorCode` ("0" on success, else the GW_ERR code)
 *   and `ErrorDesc`, whatever the HTTP status; sendEdoc always has a string `DocId` ("" on failure); lists always
 *   have `data` (strings only, no null). Answers are ASCII (`\u` escapes), as sendEdoc's is read as US-ASCII.
 * - downloadEdoc answers the raw bytes; on any error an EMPTY body (the SDK takes any non-empty body for the file).
 * - rate limited per systemId (limits.requestsPerMinute, one budget for all the operations of a system, counted
 *   once the request authenticated, so nobody spends another system's budget by naming it), and per address for
 *   failed authentications (limits.authFailuresPerMinute, like the REST API: after that many wrong secrets or
 *   unknown systems from one address in a minute, every request from it is refused until the minute is over, whatever
 *   it carries). Both answer HTTP 429 with the SDK-readable FAIL (`GW_ERR_API_RATE_LIMITED`, `Retry-After`).
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config, VxpSystemConfig } from '../config.js'
import { gwError, type GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import { toGatewayError } from '../api/error-handler.js'
import { failureCounter } from '../api/plugins/auth.js'
import type { VxpActivity } from './activity.js'
import { authenticate, systemTable, type Authenticated } from './auth.js'
import { asciiJson, hashFile, HEADER_PREFIX, safeEqual, stripTrailingCrlf, unpaddedHex } from './protocol.js'
import { directoryId, type VxpService } from './service.js'

export interface VxpServerOptions {
  config: Config
  service: VxpService
  /** Where each authenticated call is recorded for the console (./activity.ts). */
  activity?: VxpActivity
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on /vxp routes once the SDK's HMAC verified. */
    vxp?: Authenticated
  }
}

type Json = Record<string, unknown>

/** The answer of a successful call. */
const ok = (extra: Json = {}, desc = 'Success'): Json => ({ status: 'OK', ErrorCode: '0', ErrorDesc: desc, ...extra })

/** The answer of a failed call; 5xx messages are replaced by a generic one (the log has the cause). */
export function failure(e: GatewayError, requestId: string): Json {
  const desc = e.httpStatus >= 500 && !e.code.startsWith('GW_ERR_VXP_') && e.code !== 'GW_ERR_STORE_UNAVAILABLE' ? `internal error (request ${requestId})` : e.message
  return { status: 'FAIL', ErrorCode: e.code, ErrorDesc: desc }
}

function send(reply: FastifyReply, code: number, body: Json): FastifyReply {
  return reply.code(code).header('content-type', 'application/json; charset=utf-8').send(asciiJson(body))
}

/** The operations of the SDK (2.0.1), each served under the prefix. */
export const OPERATIONS = [
  'sendEdoc',
  'getReceivedEdocList',
  'getEdoc',
  'downloadEdoc',
  'updateStatus',
  'getSentEdocList',
  'countReceiveEdoc',
  'countReceiveStatus',
  'getAgenciesList',
  'getAgenciesListQD20',
  'getSynchronizeUnit',
  'registerAgency',
  'deleteAgency',
] as const
type Operation = (typeof OPERATIONS)[number]

export async function vxpRoutes(app: FastifyInstance, opts: VxpServerOptions): Promise<void> {
  const server = opts.config.vxp?.server
  if (!server) return
  const systems = systemTable(server.systems)
  const { service } = opts
  const limits = opts.config.limits
  app.decorateRequest('vxp', undefined)

  // every Content-Type (or none) is read as bytes; each route sets how many it takes
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.setErrorHandler((err, req, reply) => {
    const e = toGatewayError(err, routeLimit(req), routeLimit(req))
    const status = e.httpStatus
    if (status >= 500) opts.logger?.error({ err, reqId: req.id, url: req.url }, 'VXP request failed')
    else opts.logger?.warn({ code: e.code, reqId: req.id, url: req.url, systemId: req.vxp?.system.systemId ?? printableHeader(req) }, `VXP request refused: ${e.message}`)
    if (req.vxp) opts.activity?.record(req.vxp.system.systemId, operationOf(req), e.code)
    if (e.code === 'GW_ERR_API_RATE_LIMITED' && e.params.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.params.retryAfterSeconds))
    if (isDownload(req)) return reply.code(status).header('content-type', 'application/octet-stream').send(Buffer.alloc(0))
    return send(reply, status, { ...failure(e, req.id), ...(isSend(req) ? { DocId: '' } : {}) })
  })
  app.setNotFoundHandler((req, reply) => {
    const e = gwError('GW_ERR_VXP_UNSUPPORTED', { operation: req.url.split('?')[0]!.split('/').pop() || '(none)', reason: 'no such operation' })
    return send(reply, 404, failure(e, req.id))
  })

  // the app's per-key limiter (@fastify/rate-limit) keys on a bearer key or the address; VXP calls have neither a
  // key nor (behind a hub) an address of their own: they are counted here, per authenticated systemId
  const rateLimit = false as const
  const budget = systemBudget(limits.requestsPerMinute)
  const failures = failureCounter(limits.authFailuresPerMinute)

  const route = (op: Operation, handler: (a: Authenticated, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>, o: { bodyLimit?: number; get?: boolean } = {}) => {
    app.route({
      method: o.get ? ['GET', 'POST'] : ['POST'],
      url: `/${op}`,
      bodyLimit: o.bodyLimit ?? 1024 * 1024,
      config: { rateLimit },
      // the signature covers headers only: check it before the body is read
      onRequest: async (req) => {
        const blocked = failures.blocked(req.ip)
        if (blocked > 0) throw gwError('GW_ERR_API_RATE_LIMITED', { retryAfter: `${blocked} s (too many failed VXP authentications from ${req.ip})`, retryAfterSeconds: blocked })
        try {
          req.vxp = authenticate(req.headers, systems, req.raw.rawHeaders)
        } catch (e) {
          failures.fail(req.ip)
          throw e
        }
        const wait = budget.take(req.vxp.system.systemId)
        if (wait > 0) throw gwError('GW_ERR_API_RATE_LIMITED', { retryAfter: `${wait} s (system ${req.vxp.system.systemId} made limits.requestsPerMinute calls this minute)`, retryAfterSeconds: wait })
      },
      handler: async (req, reply) => {
        const r = await handler(req.vxp as Authenticated, req, reply)
        opts.activity?.record((req.vxp as Authenticated).system.systemId, op, '0')
        return r
      },
    })
  }

  route(
    'sendEdoc',
    async ({ system, params }, req, reply) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const pkg = stripTrailingCrlf(body)
      const given = params.get('hash-file')?.trim().toLowerCase()
      if (!given) throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: 'hash-file is required (the SDK adds it: SHA-256 of the file)' })
      const digest = createHash('sha256').update(pkg).digest()
      // the SDK's unpadded hex; a padded one (other clients) is accepted too
      const padded = digest.toString('hex')
      const match = safeEqual(unpaddedHex(digest), given) || safeEqual(padded, given)
      if (!match) {
        throw gwError('GW_ERR_VXP_HASH_MISMATCH', { reason: `the body (${pkg.length} bytes after removing the trailing CRLF) has SHA-256 ${hashFile(pkg)}` })
      }
      if (pkg.length > limits.packageBytes) throw gwError('GW_ERR_ENVELOPE_TOO_LARGE', { size: pkg.length, limit: limits.packageBytes })
      const r = await service.sendEdoc(system, params, pkg)
      opts.logger?.info({ systemId: system.systemId, docId: r.docId }, `VXP sendEdoc from ${system.systemId}: ${r.desc}`)
      return send(reply, 200, ok({ DocId: r.docId }, r.desc))
    },
    { bodyLimit: limits.packageBytes + 2 },
  )

  route('getReceivedEdocList', async ({ system, params }, _req, reply) => send(reply, 200, ok({ data: await service.receivedList(system, params) })))

  route('getEdoc', async ({ system, params }, _req, reply) => {
    const bytes = await service.getEdoc(system, params)
    return send(reply, 200, ok({ data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }))
  })

  route(
    'downloadEdoc',
    async ({ system, params }, _req, reply) => {
      const bytes = await service.getEdoc(system, params)
      return reply.code(200).header('content-type', 'application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    },
    { get: true },
  )

  route('updateStatus', async ({ system, params }, _req, reply) => send(reply, 200, ok({}, await service.updateStatus(system, params))))

  route('getSentEdocList', async ({ system, params }, _req, reply) => send(reply, 200, ok({ data: await service.sentList(system, params) })))

  route('countReceiveEdoc', async ({ system }, _req, reply) => send(reply, 200, ok({ count: await service.count(system, 'edoc') })))
  route('countReceiveStatus', async ({ system }, _req, reply) => send(reply, 200, ok({ count: await service.count(system, 'status') })))

  const centre = (s: VxpSystemConfig) => s.systemId
  route('getAgenciesList', async (_a, _req, reply) => {
    const list = await service.agencies()
    return send(reply, 200, ok({ data: list.map((x) => ({ id: directoryId(x.code), code: x.code, name: x.name, mail: x.mail, pid: '', oldCode: '' })) }))
  })
  route('getAgenciesListQD20', async (_a, _req, reply) => {
    const list = await service.agencies()
    return send(reply, 200, ok({ data: list.map((x) => ({ id: directoryId(x.code), code: x.code, name: x.name, mail: x.mail, code102: x.code })) }))
  })
  route('getSynchronizeUnit', async ({ system }, _req, reply) => {
    const list = await service.agencies()
    return send(
      reply,
      200,
      ok({
        data: list.map((x) => ({
          id: directoryId(x.code),
          code: x.code,
          name: x.name,
          mail: x.mail,
          pid: '',
          version: 1,
          centerCode: x.hosted ? centre(system) : '',
          deleted: false,
          modifyDate: '',
          isAgency: true,
        })),
      }),
    )
  })
  for (const op of ['registerAgency', 'deleteAgency'] as const) {
    route(op, async () => {
      throw gwError('GW_ERR_VXP_UNSUPPORTED', { operation: op, reason: 'agencies are managed in the gateway configuration' })
    })
  }
}

/**
 * Calls per system in fixed one-minute windows: `take` counts one and answers 0, or the seconds until the system may
 * call again once it made `perMinute` calls in the current window. Only configured systems are counted (bounded).
 */
export function systemBudget(perMinute: number, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; calls: number }>()
  return {
    take(systemId: string): number {
      const t = now()
      let w = windows.get(systemId)
      if (!w || t - w.start >= 60_000) {
        w = { start: t, calls: 0 }
        windows.set(systemId, w)
      }
      if (w.calls >= perMinute) return Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000))
      w.calls++
      return 0
    },
  }
}

function operationOf(req: FastifyRequest): string {
  return (req.routeOptions.url ?? req.url).split('?')[0]!.split('/').pop() ?? ''
}
function isDownload(req: FastifyRequest): boolean {
  return (req.routeOptions.url ?? req.url).split('?')[0]!.endsWith('/downloadEdoc')
}
function isSend(req: FastifyRequest): boolean {
  return (req.routeOptions.url ?? req.url).split('?')[0]!.endsWith('/sendEdoc')
}
function routeLimit(req: FastifyRequest): number {
  return req.routeOptions.bodyLimit ?? 1024 * 1024
}
function printableHeader(req: FastifyRequest): string {
  const v = req.headers[`${HEADER_PREFIX}systemid`.toLowerCase()]
  return String(Array.isArray(v) ? v[0] : (v ?? '')).replace(/[^\x21-\x7e]/g, '?').slice(0, 100)
}

