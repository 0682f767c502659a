// Shared helpers for the transport integration tests (real RabbitMQ; random names; everything deleted at teardown).
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import amqp from 'amqplib'
import type { Channel, ChannelModel } from 'amqplib'
import type { OutgoingMessage, TransportLogger } from '../../../src/transport/index.js'

const run = promisify(execFile)

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

export const randomName = (prefix = 't'): string => `${prefix}-${randomBytes(6).toString('hex')}`

/** A test OrganId (uppercase, valid routing key). */
export const randomOrganId = (): string => `T${randomBytes(4).toString('hex').toUpperCase()}.00.00.G22`

export interface TapLike {
  teardown(fn: () => unknown): void
}

/** A plain amqplib connection + channel for inspecting the broker, closed at teardown. */
export async function adminChannel(t: TapLike): Promise<{ conn: ChannelModel; ch: Channel }> {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true, clientProperties: { connection_name: randomName('t-admin') } })
  const ch = await conn.createChannel()
  ch.on('error', () => {})
  conn.on('error', () => {})
  t.teardown(() => conn.close().catch(() => {}))
  return { conn, ch }
}

/** Delete queues and exchanges with a fresh connection (works after the test's own connections are gone). */
export async function deleteAll(names: { queues?: string[]; exchanges?: string[] }): Promise<void> {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true })
  conn.on('error', () => {})
  try {
    for (const q of names.queues ?? []) {
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      await ch.deleteQueue(q).catch(() => {})
      await ch.close().catch(() => {})
    }
    for (const x of names.exchanges ?? []) {
      const ch = await conn.createChannel()
      ch.on('error', () => {})
      await ch.deleteExchange(x).catch(() => {})
      await ch.close().catch(() => {})
    }
  } finally {
    await conn.close().catch(() => {})
  }
}

/** Close, from the broker side, only the connections whose `connection_name` client property is `connectionName`. */
export async function closeConnectionByName(connectionName: string, reason = 'test'): Promise<number> {
  // The JSON formatter prints pids in a form close_connection does not accept; the table form works.
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'])
  let closed = 0
  for (const line of stdout.split('\n')) {
    const [pid, props] = line.split('\t')
    if (pid === undefined || props === undefined || !pid.startsWith('<')) continue
    if (props.includes(`{"connection_name",${JSON.stringify(connectionName)}}`)) {
      await run('rabbitmqctl', ['-q', 'close_connection', pid, reason])
      closed++
    }
  }
  return closed
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 120_000 })
  return stdout
}

/** A logger that keeps every line for assertions. */
export function memoryLogger(): TransportLogger & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = []
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    lines.push({ level, msg, obj })
  }
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }
}

/** An outgoing message with a random body of `size` bytes (default 1 KiB) and a fake signature. */
export function sampleMessage(recipient: string, over: Partial<OutgoingMessage> = {}, size = 1024): OutgoingMessage {
  const body = over.body ?? new Uint8Array(randomBytes(size))
  return {
    messageId: randomName('m'),
    type: 'edoc',
    recipient,
    sender: '000.00.00.G22',
    signature: new Uint8Array(randomBytes(1800)),
    sha256: createHash('sha256').update(body).digest('hex'),
    ...over,
    body,
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Poll `fn` until it returns true or `timeoutMs` passes. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 25): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await fn()) return true
    await sleep(stepMs)
  }
  return fn()
}
