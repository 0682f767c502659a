/**
 * The gateway process: every service from createGateway (src/gateway.ts: store, signers, AMQP connection, outbox
 * relay, receiver, webhooks...) → API (buildApp) → listen. `close()` shuts down in the reverse order: stop
 * accepting requests and finish the in-flight ones, then the gateway's services (receiver, webhooks, relay with a
 * few seconds for outstanding confirms, AMQP, store).
 *
 * A start that fails at any step (a key file, the trust files, the store, the HTTP port...) stops everything
 * already started before the error is thrown, so the process can exit. A port that cannot be listened on is
 * GW_ERR_CONFIG_INVALID naming `http.port` / LIENTHONG_HTTP_PORT (or `http.host` / LIENTHONG_HTTP_HOST).
 *
 * The broker does not have to be up: the API accepts documents into the outbox while the connection manager keeps
 * retrying (with a log line that names the URL and what to do), and the relay publishes them once it connects.
 */
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { gwError } from './errors.js'
import { createGateway, type Gateway } from './gateway.js'
import type { Logger } from './logger.js'
import type { Receiver } from './pipeline/receiver.js'
import type { Relay } from './pipeline/relay.js'
import type { WebhookDispatcher } from './pipeline/webhooks.js'
import type { Store } from './store/index.js'
import type { AmqpConnection, Publisher } from './transport/index.js'

export interface RunningGateway {
  readonly app: FastifyInstance
  /** Every service of the process (src/gateway.ts). */
  readonly gateway: Gateway
  readonly store: Store
  readonly relay: Relay
  readonly connection: AmqpConnection
  readonly publisher: Publisher
  /** Consumes the hosted agencies' inbox queues (receive path). */
  readonly receiver: Receiver | undefined
  /** POSTs events (document received, status changed, recall requested) to the DMS clients' webhooks. */
  readonly webhooks: WebhookDispatcher
  readonly logger: Logger
  /** `http://host:port` (`https://` with http.tls) the API listens on. */
  readonly url: string
  close(): Promise<void>
}

export interface StartOptions {
  /** Default: a pino logger with the configured level on stdout. */
  logger?: Logger
  /** Listen (default true); false builds everything but the listener (bench, tests). */
  listen?: boolean
  /** Consume the hosted agencies' inbox queues (default true); false: send-only (tests that read the queues). */
  receive?: boolean
}

/** A listen error in configuration terms: which setting to change. */
function listenError(e: unknown, config: Config): unknown {
  const code = (e as { code?: string }).code
  const where = `${config.http.host}:${config.http.port}`
  const problem =
    code === 'EADDRINUSE'
      ? `http.port ${config.http.port} is already in use on ${config.http.host} (EADDRINUSE): stop the process that holds it, or choose another port with LIENTHONG_HTTP_PORT or http.port in the config file`
      : code === 'EACCES'
        ? `http.port ${config.http.port} may not be opened by this user on ${config.http.host} (EACCES): choose a port above 1023 with LIENTHONG_HTTP_PORT or http.port`
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
          ? `http.host ${config.http.host} is not an address of this machine (${code}): set LIENTHONG_HTTP_HOST or http.host`
          : undefined
  return problem ? gwError('GW_ERR_CONFIG_INVALID', { problems: problem, list: [problem], where }, e) : e
}

export async function startGateway(config: Config, opts: StartOptions = {}): Promise<RunningGateway> {
  const gateway = await createGateway(config, { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.receive === false ? { receive: false } : {}) })
  const { logger } = gateway
  let app: FastifyInstance | undefined
  try {
    const amqp = gateway.amqp
    const webhooks = gateway.webhooks
    if (!amqp || !webhooks) throw gwError('GW_ERR_API_INTERNAL', { reason: 'the gateway process needs its own transport' })
    app = await buildApp(gateway)
    let url = ''
    if (opts.listen !== false) {
      try {
        url = await app.listen({ host: config.http.host, port: config.http.port })
      } catch (e) {
        throw listenError(e, config)
      }
    } else {
      await app.ready()
    }
    const api = app
    let closing: Promise<void> | undefined
    return {
      app: api,
      gateway,
      store: gateway.store,
      relay: amqp.relay,
      connection: amqp.connection,
      publisher: amqp.publisher,
      receiver: gateway.receiver,
      webhooks,
      logger,
      url,
      close() {
        closing ??= (async () => {
          await api.close().catch((e: unknown) => logger.error({ err: e }, 'closing the API failed'))
          await gateway.close()
        })()
        return closing
      },
    }
  } catch (e) {
    await app?.close().catch(() => {})
    await gateway.close()
    throw e
  }
}
