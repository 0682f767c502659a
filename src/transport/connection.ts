/**
 * The AMQP connection manager: one TCP connection to RabbitMQ that comes back by itself.
 *
 * - Connects with `noDelay: true` (Nagle's algorithm costs ~100x throughput on confirmed publishing) and a heartbeat.
 * - On close or error it reconnects with capped exponential backoff and full jitter: before attempt n (1-based)
 *   it waits `random() * min(maxDelayMs, initialDelayMs * 2^(n-1))`.
 * - After every (re)connect it runs the registered setup functions in registration order (topology first, then the
 *   publisher's confirm channel and the consumer's subscriptions) and only then reports `connected`. A setup that
 *   fails closes the connection and the whole sequence is retried with backoff.
 * - Irrecoverable errors (403 ACCESS_REFUSED: wrong user/password or missing permissions; 530 NOT_ALLOWED: the
 *   vhost does not exist or the user may not use it) are logged distinctly and retried only every
 *   `irrecoverableDelayMs`, because waiting will not fix them: an operator must.
 * - `close()` stops reconnecting for good.
 */
import { EventEmitter } from 'node:events'
import amqp from 'amqplib'
import type { ChannelModel } from 'amqplib'
import { gwError } from '../errors.js'
import { redactUrl, reasonOf, silentLogger, type TransportLogger } from './logger.js'

/**
 * - `connecting`: a TCP/AMQP handshake or the setup functions are in progress.
 * - `connected`: the connection is open and every setup function has completed.
 * - `disconnected`: no usable connection: waiting for the next attempt, or closed for good (see `closed`).
 */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

/**
 * Run after every successful (re)connect, before the manager reports `connected`. Open your own channels on the
 * given connection; it is the only connection they may use. Throwing (or rejecting) closes the connection and
 * makes the manager retry with backoff.
 */
export type SetupFn = (connection: ChannelModel) => Promise<void>

/** Options of {@link createAmqpConnection}. */
export interface AmqpConnectionOptions {
  /** Broker URL, `amqp://user:password@host:port/vhost` or `amqps://…`. Never logged with its password. */
  url: string
  /**
   * Heartbeat interval requested from the broker, in seconds. The broker and client agree on the lower of the two;
   * a dead peer is detected after about two missed intervals. `0` disables heartbeats. Ignored when the URL already
   * has a `heartbeat` query parameter. Default: 10.
   */
  heartbeatSeconds?: number
  /** First reconnect delay cap, in milliseconds (the delay is drawn uniformly from [0, cap]). Default: 500. */
  initialDelayMs?: number
  /** Largest reconnect delay, in milliseconds; the cap doubles per failed attempt up to this. Default: 30000. */
  maxDelayMs?: number
  /**
   * Delay between attempts after an irrecoverable error (403 ACCESS_REFUSED, 530 NOT_ALLOWED), in milliseconds;
   * jittered by ±25 %. Default: 60000.
   */
  irrecoverableDelayMs?: number
  /** TCP connect + AMQP handshake timeout, in milliseconds. Default: 10000. */
  connectTimeoutMs?: number
  /**
   * Sent as the `connection_name` client property, shown by the management UI and
   * `rabbitmqctl list_connections client_properties`. Default: `lienthong`.
   */
  connectionName?: string
  /**
   * TLS options for an `amqps://` URL, given to `tls.connect` as they are: `ca` (the broker's private CA, instead
   * of Node's default roots), `cert` and `key` (a client certificate), `servername` (the name the broker's
   * certificate must carry, when the URL's host is an address). Ignored for `amqp://`. Default: none.
   */
  tls?: AmqpTlsOptions
  /** Where to log connection events. Default: silent. */
  logger?: TransportLogger
  /** Random source in [0, 1) for the jitter. Default: Math.random. */
  random?: () => number
}

/** The TLS settings of {@link AmqpConnectionOptions.tls}: PEM contents, not paths. */
export interface AmqpTlsOptions {
  ca?: string | Buffer | (string | Buffer)[]
  cert?: string | Buffer
  key?: string | Buffer
  servername?: string
}

/** Details of a failed connection attempt, emitted as `connectFailed`. */
export interface ConnectFailure {
  error: unknown
  /** Consecutive failed attempts so far (1 for the first failure). */
  attempt: number
  /** Milliseconds until the next attempt. */
  delayMs: number
  /** True for 403 ACCESS_REFUSED / 530 NOT_ALLOWED: retried slowly, needs an operator. */
  irrecoverable: boolean
}

/** Events of an {@link AmqpConnection}; subscribe with `on(name, listener)`. */
export interface AmqpConnectionEvents {
  /** The state changed. */
  state: [state: ConnectionState]
  /** Connected and every setup function ran. */
  connect: [connection: ChannelModel]
  /** A connected connection was lost (not emitted for `close()`). */
  disconnect: [info: { error?: unknown }]
  /** An attempt (connect or setup) failed; the next one is scheduled. */
  connectFailed: [failure: ConnectFailure]
  /** The broker blocked publishing (memory or disk alarm); publishes stall until `unblocked`. */
  blocked: [reason: string]
  unblocked: []
  /** `close()` completed; no more reconnects. */
  close: []
}

/** A managed, self-healing AMQP connection. */
export interface AmqpConnection {
  readonly state: ConnectionState
  /** True once `close()` was called. */
  readonly closed: boolean
  /** The broker URL with the password replaced by `***`. */
  readonly redactedUrl: string
  /** The current connection, only while `state === 'connected'`. */
  readonly current: ChannelModel | undefined
  /** True while the broker blocks publishing (resource alarm). */
  readonly blocked: boolean
  /**
   * Register a setup function: it runs now (if connected) and after every reconnect. Returns a function that
   * unregisters it. If it fails now, the connection is recycled and it is retried like any setup.
   */
  addSetup(fn: SetupFn): () => void
  /**
   * Resolves with the connection once connected (immediately if it is). Rejects with GW_ERR_TRANSPORT_UNAVAILABLE
   * when `close()` is called first or after `timeoutMs` (default: wait forever).
   */
  whenConnected(opts?: { timeoutMs?: number }): Promise<ChannelModel>
  /** Stop reconnecting and close the connection. Idempotent. */
  close(): Promise<void>
  on<K extends keyof AmqpConnectionEvents>(event: K, listener: (...args: AmqpConnectionEvents[K]) => void): this
  once<K extends keyof AmqpConnectionEvents>(event: K, listener: (...args: AmqpConnectionEvents[K]) => void): this
  off<K extends keyof AmqpConnectionEvents>(event: K, listener: (...args: AmqpConnectionEvents[K]) => void): this
}

/** AMQP reply codes that waiting will not fix. */
export const IRRECOVERABLE_REPLY_CODES: ReadonlySet<number> = new Set([403, 530])

/**
 * True for errors that need an operator: 403 ACCESS_REFUSED (bad credentials, missing permission) and 530
 * NOT_ALLOWED (vhost missing or not permitted). amqplib reports handshake failures only as text, so the message
 * is inspected too.
 */
export function isIrrecoverable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'number' && IRRECOVERABLE_REPLY_CODES.has(code)) return true
  const msg = reasonOf(err)
  return (
    /\b403\b|ACCESS[-_]REFUSED/.test(msg) ||
    /\b530\b|NOT[-_]ALLOWED/.test(msg) ||
    // RabbitMQ answers connection.open for a missing or forbidden vhost with connection.close 530, which amqplib
    // reports as this (without the code).
    /Expected ConnectionOpenOk; got <ConnectionClose/.test(msg)
  )
}

/** Create the manager and start connecting at once (it does not wait; use `whenConnected()`). */
export function createAmqpConnection(options: AmqpConnectionOptions): AmqpConnection {
  return new ConnectionManager(options)
}

interface Waiter {
  resolve: (c: ChannelModel) => void
  reject: (e: unknown) => void
  timer?: NodeJS.Timeout
}

class ConnectionManager extends EventEmitter implements AmqpConnection {
  readonly redactedUrl: string
  readonly #url: string
  readonly #opts: Required<Omit<AmqpConnectionOptions, 'url' | 'logger' | 'tls'>>
  readonly #tls: AmqpTlsOptions | undefined
  readonly #log: TransportLogger
  readonly #setups: SetupFn[] = []
  #state: ConnectionState = 'disconnected'
  #closed = false
  #blocked = false
  #current: ChannelModel | undefined
  /** The connection being set up or in use; close events of any other connection are stale. */
  #candidate: ChannelModel | undefined
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #attemptDone: Promise<void> = Promise.resolve()
  #waiters = new Set<Waiter>()

  constructor(options: AmqpConnectionOptions) {
    super()
    this.#opts = {
      heartbeatSeconds: options.heartbeatSeconds ?? 10,
      initialDelayMs: options.initialDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      irrecoverableDelayMs: options.irrecoverableDelayMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      connectionName: options.connectionName ?? 'lienthong',
      random: options.random ?? Math.random,
    }
    this.#tls = options.tls
    this.#log = options.logger ?? silentLogger
    this.redactedUrl = redactUrl(options.url)
    this.#url = withHeartbeat(options.url, this.#opts.heartbeatSeconds)
    this.#startAttempt()
  }

  get state(): ConnectionState {
    return this.#state
  }

  get closed(): boolean {
    return this.#closed
  }

  get current(): ChannelModel | undefined {
    return this.#state === 'connected' ? this.#current : undefined
  }

  get blocked(): boolean {
    return this.#blocked
  }

  addSetup(fn: SetupFn): () => void {
    this.#setups.push(fn)
    const conn = this.current
    if (conn !== undefined) {
      fn(conn).catch((err: unknown) => {
        this.#log.error({ url: this.redactedUrl, err: reasonOf(err) }, 'AMQP setup failed; reconnecting to run it again')
        if (this.#current === conn) conn.close().catch(() => {})
      })
    }
    return () => {
      const i = this.#setups.indexOf(fn)
      if (i >= 0) this.#setups.splice(i, 1)
    }
  }

  whenConnected(opts: { timeoutMs?: number } = {}): Promise<ChannelModel> {
    const conn = this.current
    if (conn !== undefined) return Promise.resolve(conn)
    if (this.#closed) return Promise.reject(this.#closedError())
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject }
      if (opts.timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.#waiters.delete(w)
          reject(gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.redactedUrl, reason: `not connected within ${opts.timeoutMs} ms` }))
        }, opts.timeoutMs)
      }
      this.#waiters.add(w)
    })
  }

  async close(): Promise<void> {
    if (this.#closed) {
      await this.#attemptDone
      return
    }
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const err = this.#closedError()
    for (const w of this.#waiters) {
      if (w.timer) clearTimeout(w.timer)
      w.reject(err)
    }
    this.#waiters.clear()
    const conn = this.#candidate
    this.#candidate = undefined
    this.#current = undefined
    this.#setState('disconnected')
    if (conn !== undefined) await conn.close().catch(() => {})
    await this.#attemptDone
    this.#log.info({ url: this.redactedUrl }, 'AMQP connection closed')
    this.emit('close')
  }

  #closedError(): Error {
    return gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.redactedUrl, reason: 'connection closed by the gateway' })
  }

  #setState(s: ConnectionState): void {
    if (this.#state === s) return
    this.#state = s
    this.emit('state', s)
  }

  #startAttempt(): void {
    this.#timer = undefined
    if (this.#closed) return
    this.#attemptDone = this.#attemptOnce()
  }

  async #attemptOnce(): Promise<void> {
    this.#setState('connecting')
    let conn: ChannelModel
    try {
      conn = await amqp.connect(this.#url, {
        noDelay: true,
        timeout: this.#opts.connectTimeoutMs,
        clientProperties: { connection_name: this.#opts.connectionName },
        ...(this.#tls !== undefined && this.#url.startsWith('amqps:') ? this.#tls : {}),
      })
    } catch (err) {
      this.#scheduleRetry(err, 'connect')
      return
    }
    if (this.#closed) {
      await conn.close().catch(() => {})
      return
    }
    this.#candidate = conn
    let lastError: unknown
    conn.on('error', (err: Error) => {
      lastError = err
      this.#log.debug({ url: this.redactedUrl, err: err.message }, 'AMQP connection error')
    })
    conn.on('close', (err?: Error) => this.#onClose(conn, err ?? lastError))
    conn.on('blocked', (reason: string) => {
      this.#blocked = true
      this.#log.warn({ url: this.redactedUrl, reason }, 'RabbitMQ blocked publishing (resource alarm: memory or disk); publishes wait until it is lifted')
      this.emit('blocked', reason)
    })
    conn.on('unblocked', () => {
      this.#blocked = false
      this.#log.info({ url: this.redactedUrl }, 'RabbitMQ unblocked publishing')
      this.emit('unblocked')
    })
    this.#blocked = false
    try {
      // The live list: a setup registered while this sequence runs (not yet `connected`) runs in it too.
      const done = new Set<SetupFn>()
      for (let setup = this.#setups[0]; setup !== undefined; setup = this.#setups.find((f) => !done.has(f))) {
        done.add(setup)
        await setup(conn)
        if (this.#candidate !== conn) return // lost (or closed) during setup; the close handler took over
      }
    } catch (err) {
      if (this.#candidate !== conn) return
      this.#candidate = undefined
      this.#log.error({ url: this.redactedUrl, err: reasonOf(err) }, 'AMQP setup (topology, channels) failed; closing the connection and retrying')
      await conn.close().catch(() => {})
      this.#scheduleRetry(err, 'setup')
      return
    }
    if (this.#candidate !== conn || this.#closed) return
    const wasRetrying = this.#attempt > 0
    this.#attempt = 0
    this.#current = conn
    this.#setState('connected')
    this.#log.info({ url: this.redactedUrl }, wasRetrying ? 'AMQP connection re-established' : 'AMQP connected')
    for (const w of this.#waiters) {
      if (w.timer) clearTimeout(w.timer)
      w.resolve(conn)
    }
    this.#waiters.clear()
    this.emit('connect', conn)
  }

  #onClose(conn: ChannelModel, err: unknown): void {
    if (this.#candidate !== conn) return // stale, or closed by us
    this.#candidate = undefined
    const wasConnected = this.#current === conn
    this.#current = undefined
    this.#setState('disconnected')
    if (wasConnected) {
      this.#log.warn({ url: this.redactedUrl, err: err === undefined ? undefined : reasonOf(err) }, 'AMQP connection lost; reconnecting')
      this.emit('disconnect', { error: err })
      // Attempt 1 waits at most initialDelayMs.
      this.#scheduleRetry(err ?? gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.redactedUrl, reason: 'connection closed' }), 'lost')
    } else {
      this.#scheduleRetry(err ?? gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: this.redactedUrl, reason: 'connection closed during setup' }), 'setup')
    }
  }

  #scheduleRetry(err: unknown, phase: 'connect' | 'setup' | 'lost'): void {
    if (this.#closed) return
    this.#setState('disconnected')
    this.#attempt += 1
    const attempt = this.#attempt
    const irrecoverable = isIrrecoverable(err)
    const o = this.#opts
    const delayMs = irrecoverable
      ? Math.round(o.irrecoverableDelayMs * (0.75 + 0.5 * o.random()))
      : Math.round(o.random() * Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.min(attempt - 1, 30)))
    const fields = { url: this.redactedUrl, err: reasonOf(err), attempt, retryInMs: delayMs }
    if (irrecoverable) {
      this.#log.error(
        fields,
        `RabbitMQ at ${this.redactedUrl} refused the gateway (${reasonOf(err)}): check the user name and password in the AMQP URL, ` +
          `that the vhost exists, and the user's permissions on it (rabbitmqctl list_permissions). This will not fix itself; ` +
          `retrying slowly, in ${Math.round(delayMs / 1000)} s`,
      )
    } else if (phase === 'connect') {
      this.#log.warn(
        fields,
        `RabbitMQ at ${this.redactedUrl} is unreachable (${reasonOf(err)}): start RabbitMQ or fix the AMQP URL; ` +
          `retrying in ${delayMs} ms (attempt ${attempt}); publishing fails as unavailable until then`,
      )
    } else if (phase === 'setup') {
      this.#log.warn(fields, `AMQP setup failed (${reasonOf(err)}); retrying in ${delayMs} ms (attempt ${attempt})`)
    } else {
      this.#log.info(fields, `reconnecting to ${this.redactedUrl} in ${delayMs} ms`)
    }
    if (phase !== 'lost') this.emit('connectFailed', { error: err, attempt, delayMs, irrecoverable } satisfies ConnectFailure)
    this.#timer = setTimeout(() => this.#startAttempt(), delayMs)
  }
}

function withHeartbeat(url: string, heartbeatSeconds: number): string {
  try {
    const u = new URL(url)
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatSeconds))
    return u.toString()
  } catch {
    return url // amqplib reports the problem on connect
  }
}
