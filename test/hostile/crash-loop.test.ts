/**
 * Hostile peer: a message that kills the gateway process, on a classic queue. The broker only marks such a message
 * `redelivered`; the count of its deliveries that came to no end used to live in the process and died with it, so
 * every restart handled it (and died) again. The consumer now writes the count to the store (delivery_attempts,
 * migration 009) before the message is handled, so after amqp.deliveryLimit (2) deliveries that ended in a crash
 * the restarted gateway refuses it unread (DELIVERY_LIMIT, dead-lettered) and clears the row.
 *
 * The crash is real: `lienthong serve` as a child process, SIGKILLed while it handles a 50 MB signed package
 * (first when the broker has handed the message out, then when the stored count says the second delivery began).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import amqp from 'amqplib'
import Database from 'better-sqlite3'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { AMQP_URL, deleteAmqpNames, G22, H29, queueDepth, rawTestConfig, ROOT } from '../helper.js'
import { agencySigner, sampleEdoc } from '../integration/receive/helpers.js'

const MiB = 1048576

function serve(file: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000)
    proc.stdout!.on('data', () => {
      if (/lienthong listening on/.test(out)) {
        clearTimeout(timer)
        resolve(proc)
      }
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code}:\n${out}`))
    })
  })
}

/** `fn()` until it gives something other than undefined (errors count as not yet), or throw after `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number, stepMs = 10): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

const kill = (p: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve()
    p.once('exit', () => resolve())
    p.kill('SIGKILL')
  })

t.test('classic queue: a message that kills the process twice is dead-lettered after the restart, not handled a third time', async (t) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir, { amqp: { queueType: 'classic', deliveryLimit: 2 }, limits: { packageBytes: 64 * MiB, attachmentBytes: 64 * MiB } })
  raw.log = { level: 'info' } // serve() waits for its "listening" line
  const file = path.join(dir, 'gateway.json')
  writeFileSync(file, JSON.stringify(raw))
  const config = loadConfig({ file, env: {} })
  const inbox = config.amqp.queuePrefix + H29
  const children: ChildProcess[] = []
  t.teardown(async () => {
    for (const c of children) await kill(c)
    await deleteAmqpNames(config)
  })
  const db = () => new Database(config.store.path, { readonly: true, fileMustExist: true })
  const attempts = (): number | undefined => {
    const d = db()
    try {
      return (d.prepare('SELECT max(unfinished) AS n FROM delivery_attempts').get() as { n: number | null }).n ?? undefined
    } finally {
      d.close()
    }
  }
  const incoming = (): { state: string; code: string }[] => {
    const d = db()
    try {
      return (d.prepare('SELECT state, verdict FROM incoming').all() as { state: string; verdict: string }[]).map((r) => ({ state: r.state, code: JSON.parse(r.verdict ?? '{}').code }))
    } finally {
      d.close()
    }
  }

  // ---- 1. the first delivery: killed once the broker has handed the message out ----------------------------
  children.push(await serve(file))
  const conn = await amqp.connect(AMQP_URL)
  t.teardown(() => conn.close().catch(() => {}))
  const ch = await conn.createConfirmChannel()
  await until('the inbox queue', () => queueDepth(inbox), 20_000, 50)
  const data = Buffer.alloc(37 * MiB)
  data.write('%PDF-1.7\n')
  randomBytes(4096).copy(data, 16)
  const pkg = sampleEdoc(G22, [H29], { attachments: [{ attachmentName: 'ho-so-lon.pdf', contentType: 'application/pdf', data }] })
  const signature = await (await agencySigner('vpcp')).sign(pkg.bytes)
  const headers = { 'x-lienthong-sender': G22, 'x-lienthong-recipient': H29, 'x-lienthong-sha256': createHash('sha256').update(pkg.bytes).digest('hex'), 'x-lienthong-signature': Buffer.from(signature).toString('base64') }
  await new Promise<void>((resolve, reject) =>
    ch.publish(config.amqp.exchange, H29, Buffer.from(pkg.bytes), { persistent: true, messageId: randomBytes(8).toString('hex'), type: 'edoc', headers }, (e) => (e ? reject(e) : resolve())),
  )
  const poll = await conn.createChannel()
  await until('the message handed out', async () => ((await poll.checkQueue(inbox)).messageCount === 0 ? true : undefined), 30_000, 5)
  await kill(children.pop()!)
  t.same(incoming(), [], 'killed before the package was stored')
  t.equal(await queueDepth(inbox), 1, 'the broker has the message back')

  // ---- 2. the second delivery (redelivered: 1 unfinished): its count goes to the store first; killed there ----
  children.push(await serve(file))
  const seen = await until('a stored delivery count', attempts, 60_000, 5)
  await kill(children.pop()!)
  t.equal(seen, 2, 'the second delivery was stored as the second unfinished one before the package was read')
  t.same(incoming(), [], 'killed again before the package was stored')

  // ---- 3. restarted: the stored count reaches the limit; refused unread and dead-lettered --------------------
  children.push(await serve(file))
  const rows = await until('a stored row', () => {
    const r = incoming()
    return r.length ? r : undefined
  }, 60_000, 50)
  t.same(rows, [{ state: 'rejected', code: 'DELIVERY_LIMIT' }], 'refused unread with DELIVERY_LIMIT, never received')
  await until('the dead letter', async () => ((await queueDepth(config.amqp.deadLetterQueuePrefix + H29)) === 1 ? true : undefined), 20_000, 50)
  t.pass('the message is in the dead-letter queue')
  t.equal(await queueDepth(inbox), 0, 'and no longer in the inbox')
  await until('the count cleared', () => (attempts() === undefined ? true : undefined), 10_000, 50)
  t.pass('its stored count was cleared with the answer')
})
