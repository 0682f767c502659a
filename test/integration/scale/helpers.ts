/**
 * Several gateways on one PostgreSQL database and one broker: a fresh database with a random name per test
 * (dropped after it), a configuration every gateway of the test shares (same AMQP names, same database), raw
 * publishing onto the exchange (headers as a peer gateway sets them), and direct reads of the database.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import amqp from 'amqplib'
import pg from 'pg'
import { loadConfig, type Config } from '../../../src/config.js'
import { AMQP_URL, deleteAmqpNames, freshPgDatabase, ownDir, peerChannel, PG_ADMIN_URL, rawTestConfig, ROOT } from '../../helper.js'

interface Tap {
  testdir(fixture?: any): string
  teardown(fn: () => unknown): void
}

export const ADMIN_URL = PG_ADMIN_URL
export const pgSkip: false | string = ADMIN_URL === 'off' && 'LIENTHONG_TEST_PG_URL=off'

/** A new database `lt_scale_<random>`; its URL, and a client on it for the test's own queries. */
export async function freshDatabase(t: Tap): Promise<{ url: string; sql: pg.Client }> {
  const url = await freshPgDatabase(t, 'lt_scale')
  const sql = new pg.Client({ connectionString: url })
  await sql.connect()
  t.teardown(() => sql.end().catch(() => {}))
  return { url, sql }
}

/** The raw configuration (test/helper.ts agencies and random AMQP names) on the given PostgreSQL database. */
export function rawScaleConfig(dir: string, url: string, over: Record<string, any> = {}): Record<string, any> {
  const raw = rawTestConfig(dir, over)
  raw.store = { driver: 'postgres', url }
  if (over.clock) raw.clock = over.clock
  return raw
}

export function scaleConfig(t: Tap, url: string, over: Record<string, any> = {}): Config {
  const dir = ownDir(t)
  return loadConfig({ object: rawScaleConfig(dir, url, over), file: path.join(dir, 'config.json'), env: {} })
}

/** A confirm channel on the shared broker that publishes as a peer gateway would (x-lienthong-* headers). */
export async function rawPublisher(t: Tap, exchange: string) {
  const ch = await peerChannel(t)
  return (m: { body: Uint8Array; signature: Uint8Array; sender: string; recipient: string; messageId?: string }) =>
    new Promise<void>((resolve, reject) =>
      ch.publish(
        exchange,
        m.recipient.toUpperCase(),
        Buffer.from(m.body),
        {
          persistent: true,
          mandatory: true,
          messageId: m.messageId ?? randomBytes(8).toString('hex'),
          type: 'edoc',
          contentType: 'application/xml',
          headers: {
            'x-lienthong-sender': m.sender,
            'x-lienthong-recipient': m.recipient,
            'x-lienthong-sha256': createHash('sha256').update(m.body).digest('hex'),
            'x-lienthong-signature': Buffer.from(m.signature).toString('base64'),
          },
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    )
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- gateway processes ----------------------------------------------------------------------------------------

export interface Child {
  proc: ChildProcess
  url: string
  output: () => string
}

/** `lienthong serve --config FILE` as a child process (tsx, from the checkout), once it listens. */
export async function serve(configFile: string, env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 90_000)
    const check = () => {
      const m = /lienthong listening on (http:\/\/[\d.:]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    proc.stdout!.on('data', check)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}:\n${out}`))
    })
  })
  return { proc, url, output: () => out }
}

/**
 * A configuration file for gateway processes of one test (logging at info: `serve` prints its address), and the
 * list of processes started from it, all SIGKILLed and their AMQP names deleted when the test ends.
 */
export function processesOf(t: Tap, dir: string, raw: Record<string, any>): { file: string; config: Config; children: Child[] } {
  raw.log = { level: 'info' }
  const file = path.join(dir, 'gateway.json')
  writeFileSync(file, JSON.stringify(raw))
  const config = loadConfig({ file, env: {} })
  const children: Child[] = []
  t.teardown(async () => {
    for (const c of children) await kill(c, 'SIGKILL')
    await deleteAmqpNames(config)
  })
  return { file, config, children }
}

export const kill = (c: Child, signal: NodeJS.Signals) =>
  new Promise<number | null>((resolve) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve(c.proc.exitCode)
    c.proc.once('exit', (code) => resolve(code))
    c.proc.kill(signal)
  })

/**
 * What an operator does after fixing the cause of dead letters refused before their signature verified (the
 * store keeps only their first bytes): move every message of the dead-letter queue back through the exchange to
 * the recipient's inbox queue, headers and properties as they were. Returns how many were moved.
 */
export async function moveDeadLetters(dlq: string, exchange: string, routingKey: string): Promise<number> {
  const conn = await amqp.connect(AMQP_URL)
  try {
    conn.on('error', () => {})
    const ch = await conn.createConfirmChannel()
    ch.on('error', () => {})
    let n = 0
    for (;;) {
      const m = await ch.get(dlq, { noAck: false })
      if (m === false) break
      const { headers, ...props } = m.properties
      const kept = Object.fromEntries(Object.entries(headers ?? {}).filter(([k]) => k.startsWith('x-lienthong-')))
      await new Promise<void>((resolve, reject) =>
        ch.publish(exchange, routingKey, m.content, { ...props, headers: kept, persistent: true, mandatory: true }, (err) => (err ? reject(err) : resolve())),
      )
      ch.ack(m)
      n++
    }
    await ch.close()
    return n
  } finally {
    await conn.close().catch(() => {})
  }
}
