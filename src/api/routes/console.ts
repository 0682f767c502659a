/**
 * The operator console: a static single page (src/console/: index.html, console.css, console.js — plain files, no
 * build step) served by the gateway itself at `/console`, and the one JSON endpoint it needs that nothing else gives:
 *
 * - `GET /console`, `GET /console/`: the page; `GET /console/<file>`: its stylesheet, script and icon. The files are
 *   read once when the route is registered, from `<package root>/src/console/` (the same folder under tsx and
 *   after `npm run build`, since tsc copies nothing but .ts output; without the folder the API still starts and
 *   /console answers 404 with the reason), and served with their content type, a strong
 *   ETag (304 on If-None-Match), `cache-control: no-cache` (always revalidated: a new gateway version is seen at
 *   once) and a strict Content-Security-Policy (own origin only, no inline script or style).
 * - `GET /v1/operator/health` (operator keys): store and broker reachability, store counters, queue depth per
 *   hosted agency (inbox and dead-letter queue), and the signing certificate expiry of every hosted agency.
 *
 * The page itself carries no data: everything comes from the operator API with the key the operator types in.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { gwError } from '../../errors.js'
import type { QueueInspector } from '../../metrics.js'
import { packageRoot } from '../../paths.js'
import type { Store } from '../../store/index.js'
import { ref } from '../schemas.js'
import type { BrokerStatus } from './health.js'

export interface ConsoleRoutesOptions {
  config: Config
  store: Store
  /** The broker connection (the transport's AmqpConnection: `state`, `redactedUrl`, `current`). */
  broker: BrokerStatus
  /** Signers of the hosted agencies by OrganId (their `certificate` gives the expiry). */
  signers?: ReadonlyMap<string, unknown>
  /** Queue depths; default: read through the broker connection's `current` model when it has one. */
  queueInspector?: QueueInspector
  clock?: () => Date
  /** Folder of the static files. Default: `<package root>/src/console`. */
  dir?: string
  /** Timeout of each broker call of the health view, ms. Default 1500. */
  brokerTimeoutMs?: number
}

/** Content types of the files the console may hold; anything else in the folder is not served. */
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

interface StaticFile {
  body: Buffer
  type: string
  etag: string
}

/** The console's files, read once: name → body, type, ETag. */
export function loadConsoleFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: `console files not found in ${dir}` }, e)
  }
  for (const name of names) {
    const type = TYPES[path.extname(name).toLowerCase()]
    if (!type || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) continue
    const full = path.join(dir, name)
    if (!statSync(full).isFile()) continue
    const body = readFileSync(full)
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` })
  }
  if (!files.has('index.html')) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `console: no index.html in ${dir}` })
  return files
}

function sendFile(req: FastifyRequest, reply: FastifyReply, f: StaticFile): FastifyReply {
  reply
    .header('content-type', f.type)
    .header('etag', f.etag)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
  if (f.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY')
  const inm = req.headers['if-none-match']
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === f.etag || t.trim() === `W/${f.etag}`)) {
    return reply.code(304).send()
  }
  return reply.send(f.body)
}

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: 'broker', reason: `no answer within ${ms} ms` })), ms)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    )
  })

interface ChannelLike {
  on(event: 'error', fn: (e: unknown) => void): unknown
  checkQueue(queue: string): Promise<{ messageCount: number }>
  close(): Promise<void>
}

/** A queue inspector over the broker connection's current channel model (passive declare on a fresh channel). */
function inspectorOf(broker: BrokerStatus): QueueInspector | undefined {
  const b = broker as BrokerStatus & { readonly current?: { createChannel?: () => Promise<ChannelLike> } }
  if (!('current' in b)) return undefined
  return {
    async messageCount(queue) {
      const model = b.current
      if (!model || typeof model.createChannel !== 'function') {
        throw gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: broker.redactedUrl ?? 'broker', reason: broker.state })
      }
      const ch = await model.createChannel()
      // a missing queue closes the channel with 404: the rejection of checkQueue says so, the event is noise
      ch.on('error', () => {})
      try {
        return (await ch.checkQueue(queue)).messageCount
      } finally {
        ch.close().catch(() => {})
      }
    },
  }
}

const DAY_MS = 86_400_000

const healthSchema = {
  type: 'object',
  required: ['status', 'time', 'store', 'broker', 'queues', 'certificates'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    time: { type: 'string', format: 'date-time' },
    store: {
      type: 'object',
      required: ['ok'],
      properties: {
        ok: { type: 'boolean' },
        detail: { type: 'string' },
        deliveriesByState: { type: 'object', additionalProperties: { type: 'integer' } },
        incomingByState: { type: 'object', additionalProperties: { type: 'integer' } },
        outboxBacklog: { type: 'integer' },
        events: { type: 'integer' },
      },
    },
    broker: {
      type: 'object',
      required: ['ok', 'state'],
      properties: { ok: { type: 'boolean' }, state: { type: 'string' }, url: { type: 'string' } },
    },
    queues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['organId', 'inbox', 'deadLetter'],
        properties: {
          organId: { type: 'string' },
          name: { type: 'string' },
          inbox: { type: 'string' },
          inboxMessages: { type: 'integer' },
          deadLetter: { type: 'string' },
          deadLetterMessages: { type: 'integer' },
          error: { type: 'string' },
        },
      },
    },
    certificates: {
      type: 'array',
      items: {
        type: 'object',
        required: ['organId'],
        properties: {
          organId: { type: 'string' },
          name: { type: 'string' },
          subject: { type: 'string' },
          issuer: { type: 'string' },
          serial: { type: 'string' },
          notBefore: { type: 'string' },
          notAfter: { type: 'string' },
          daysLeft: { type: 'integer' },
        },
      },
    },
  },
} as const

interface CertLike {
  subject?: unknown
  issuer?: unknown
  serial?: unknown
  notBefore?: unknown
  notAfter?: unknown
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleRoutesOptions): Promise<void> {
  const dir = opts.dir ?? path.join(packageRoot, 'src', 'console')
  // a package installed without the console folder still serves its API: /console answers 404 and says why
  let files = new Map<string, StaticFile>()
  try {
    files = loadConsoleFiles(dir)
  } catch (e) {
    app.log.warn({ err: e, dir }, 'operator console files not found: /console is not served')
  }
  const index = files.get('index.html')
  const clock = opts.clock ?? (() => new Date())
  const timeoutMs = opts.brokerTimeoutMs ?? 1500
  const inspector = opts.queueInspector ?? inspectorOf(opts.broker)
  const hide = { hide: true }

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!index) throw gwError('GW_ERR_API_NOT_FOUND', { what: `operator console (no index.html in ${dir})` })
    return sendFile(req, reply, index)
  }
  app.get('/console', { schema: hide }, page)
  app.get('/console/', { schema: hide }, page)
  app.get<{ Params: { file: string } }>('/console/:file', { schema: hide }, async (req, reply) => {
    const f = files.get(req.params.file)
    if (!f) throw gwError('GW_ERR_API_NOT_FOUND', { what: `console file ${req.params.file}` })
    return sendFile(req, reply, f)
  })

  app.get(
    '/v1/operator/health',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['operators'],
        summary: 'Gateway health for operators: store, broker, queue depths, certificate expiry (operator keys)',
        description:
          'Always 200 (the answer says what is down): store reachability and counters, broker connection state, ready messages in the inbox and dead-letter queue of every hosted agency (absent when the broker cannot be asked), and the notAfter and days left of every hosted agency’s signing certificate.',
        response: { 200: healthSchema, 401: ref('Error'), 403: ref('Error'), 429: ref('Error') },
      },
    },
    async () => {
      const now = clock()
      const store: Record<string, unknown> = { ok: true }
      try {
        await opts.store.ping()
        Object.assign(store, await opts.store.stats())
      } catch (e) {
        store.ok = false
        store.detail = (e as Error).message
      }
      const brokerOk = opts.broker.state === 'connected'
      const broker = { ok: brokerOk, state: opts.broker.state, ...(opts.broker.redactedUrl ? { url: opts.broker.redactedUrl } : {}) }

      const queues = await Promise.all(
        opts.config.agencies.map(async (a) => {
          const organId = a.organId.toUpperCase()
          const q: Record<string, unknown> = {
            organId,
            name: a.name,
            inbox: opts.config.amqp.queuePrefix + organId,
            deadLetter: opts.config.amqp.deadLetterQueuePrefix + organId,
          }
          if (!brokerOk) {
            q.error = `trục không kết nối (broker ${opts.broker.state})`
            return q
          }
          if (!inspector) {
            q.error = 'không đọc được độ sâu hàng đợi trong tiến trình này (no queue inspector)'
            return q
          }
          const [inbox, dead] = await Promise.allSettled([
            withTimeout(inspector.messageCount(q.inbox as string), timeoutMs),
            withTimeout(inspector.messageCount(q.deadLetter as string), timeoutMs),
          ])
          if (inbox.status === 'fulfilled') q.inboxMessages = inbox.value
          if (dead.status === 'fulfilled') q.deadLetterMessages = dead.value
          const failed = [inbox, dead].find((r): r is PromiseRejectedResult => r.status === 'rejected')
          if (failed) q.error = (failed.reason as Error)?.message ?? String(failed.reason)
          return q
        }),
      )

      const certificates = opts.config.agencies.map((a) => {
        const organId = a.organId.toUpperCase()
        const signer = (opts.signers?.get(a.organId) ?? opts.signers?.get(organId)) as { certificate?: CertLike } | undefined
        const c = signer?.certificate
        const notAfter = str(c?.notAfter)
        const t = notAfter ? new Date(notAfter).getTime() : Number.NaN
        return {
          organId,
          name: a.name,
          ...(str(c?.subject) ? { subject: str(c?.subject) } : {}),
          ...(str(c?.issuer) ? { issuer: str(c?.issuer) } : {}),
          ...(str(c?.serial) ? { serial: str(c?.serial) } : {}),
          ...(str(c?.notBefore) ? { notBefore: str(c?.notBefore) } : {}),
          ...(notAfter ? { notAfter } : {}),
          ...(Number.isFinite(t) ? { daysLeft: Math.floor((t - now.getTime()) / DAY_MS) } : {}),
        }
      })

      const ok = store.ok === true && brokerOk
      return { status: ok ? 'ok' : 'degraded', time: now.toISOString(), store, broker, queues, certificates }
    },
  )
}
