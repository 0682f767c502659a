/**
 * Hostile (or merely large) peer: big signed packages on the real broker. Reading a 50 MB package (XML with its
 * base64 checks, SHA-256, the CMS digest over the whole package) took 100–600 ms of the event loop when it ran on
 * the main thread; packages of pipeline.receiveInlineBytes or more are now read by a receive worker
 * (pipeline.receiveWorkers), so /healthz keeps answering within 100 ms and the event loop is never held 100 ms while
 * they are read. The refused variants show the reading alone (a refused package is stored as a 4 KB record); the
 * accepted ones also store 50 MB: the SQLite store writes bytes of that size ahead in parts of 1 MiB, each its own
 * commit (migration 014), where one COMMIT of the whole blob held the loop for 0.5-1.3 s (571 ms in a run just
 * before the change, 40 ms after, on an idle machine). The same packages read on the main thread (receiveWorkers 0) are
 * measured in the same run for comparison (printed, not asserted).
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { AMQP_URL, buildTestApp } from '../helper.js'
import { agencySigner, nextEvent, sampleEdoc, startTestReceiver, type TestReceiver } from '../integration/receive/helpers.js'
import { loopDelay, pollLatency } from './helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const MiB = 1048576
/** The issue's bound for /healthz. */
const BOUND_MS = 100
/**
 * The bound for the event loop while a big package is read: the work left on the loop is a few tens of ms (the
 * message's frames, the record); on the shared 2-core test machine (load 10-25 while others run tests) the
 * scheduler and the garbage collector alone add pauses of 100-300 ms, so the bound separates that from the
 * 300-800 ms the reading itself took on the loop (the comparison below), and the figures are printed.
 */
const LOOP_BOUND_MS = 250
/**
 * An accepted package is also stored: about 50 commits of a 1 MiB part, each with its fsync (synchronous=FULL) on
 * the event loop. Alone they hold the loop 40-60 ms in all; while another suite writes to the same disk one fsync
 * was seen to take 280 ms. The bound for them sits between that and the 0.5-1.3 s one COMMIT of the whole blob
 * held the loop before the store wrote parts.
 */
const ACCEPTED_LOOP_BOUND_MS = 400

/** A PDF-looking payload of `size` bytes, random enough that nothing compresses it away. */
function bigPdf(size: number): Buffer {
  const b = Buffer.alloc(size)
  b.write('%PDF-1.7\n')
  randomBytes(64 * 1024).copy(b, 16)
  for (let off = 64 * 1024; off < size; off *= 2) b.copyWithin(off, 0, Math.min(off, size - off))
  return b
}

interface Measured {
  kind: string
  code?: string
  ms: number
  loop: { maxMs: number; p99Ms: number }
  health: { maxMs: number; count: number }
}

type Msg = Parameters<TestReceiver['publish']>[0]

/**
 * Publish from a child process: amqplib encodes a whole message synchronously (about 0.4 s for 50 MB here), which
 * is the test's own work, not the gateway's, and must not be measured as the receiver's event-loop delay.
 */
async function publishApart(rx: TestReceiver, dir: string, m: Msg): Promise<void> {
  const file = path.join(dir, `${randomBytes(6).toString('hex')}.edxml`)
  writeFileSync(file, m.body)
  const headers: Record<string, string> = { 'x-lienthong-sender': m.sender!, 'x-lienthong-recipient': m.recipient, 'x-lienthong-sha256': createHash('sha256').update(m.body).digest('hex') }
  if (m.signature) headers['x-lienthong-signature'] = Buffer.from(m.signature).toString('base64')
  const props = { messageId: randomBytes(8).toString('hex'), type: 'edoc', contentType: 'application/xml', headers }
  await promisify(execFile)(process.execPath, [path.join(import.meta.dirname, 'publish-file.mjs'), AMQP_URL, rx.config.amqp.exchange, m.recipient.toUpperCase(), file, JSON.stringify(props)])
}

async function receiveWhileMeasured(rx: TestReceiver, app: Awaited<ReturnType<typeof buildTestApp>>['app'], dir: string, msg: Msg): Promise<Measured> {
  const ev = nextEvent(rx.pipeline, ['received', 'rejected'], 60_000)
  const published = publishApart(rx, dir, msg)
  const health = pollLatency(() => app.inject({ method: 'GET', url: '/healthz' }), 10)
  const loop = loopDelay()
  const t0 = performance.now()
  await published
  const got = await ev
  const ms = Math.round(performance.now() - t0)
  const l = await loop.settled()
  const h = await health.stop()
  return { kind: got.kind, ...(got.event.code ? { code: got.event.code } : {}), ms, loop: l, health: h }
}

const line = (name: string, m: Measured) =>
  `${name}: ${m.kind}${m.code ? ` ${m.code}` : ''} in ${m.ms} ms; event-loop delay max ${m.loop.maxMs} ms, p99 ${m.loop.p99Ms} ms; /healthz worst ${m.health.maxMs} ms over ${m.health.count} calls`

t.test('big signed packages are read off the event loop: /healthz within 100 ms, the loop not held by the reading', async (t) => {
  const limits = { packageBytes: 64 * MiB, attachmentBytes: 64 * MiB }
  const rx = await startTestReceiver(t, { config: { limits } })
  const { app } = await buildTestApp(t, { config: { limits }, deps: { store: rx.store } })
  const vpcp = await agencySigner('vpcp')
  const dir = t.testdir()
  await app.inject({ method: 'GET', url: '/healthz' }) // the app's first request compiles its routes: not measured

  // warm the receive worker (it starts on first use) with a package just over the inline bound
  const warm = sampleEdoc(G22, [H29], { attachments: [{ attachmentName: 'am.pdf', contentType: 'application/pdf', data: bigPdf(1 * MiB) }] })
  const w = nextEvent(rx.pipeline, ['received', 'rejected'], 30_000)
  await rx.publish({ body: warm.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(warm.bytes) })
  t.equal((await w).kind, 'received', 'a 1.4 MB package warms the worker')

  const idle = loopDelay()
  await new Promise((r) => setTimeout(r, 1000))
  const base = idle.stop()
  t.comment(`idle event-loop delay over 1 s: max ${base.maxMs} ms, p99 ${base.p99Ms} ms`)

  const one = (pdf: Buffer) => sampleEdoc(G22, [H29], { attachments: [{ attachmentName: 'ho-so-lon.pdf', contentType: 'application/pdf', data: pdf }] })
  const genuine = one(bigPdf(37 * MiB))
  t.ok(genuine.bytes.length > 49 * MiB, `the package is ${(genuine.bytes.length / MiB).toFixed(1)} MiB`)
  const changed = one(bigPdf(37 * MiB))
  const changedBytes = Buffer.from(changed.bytes)
  // one base64 character near the end of the payload changed to another valid one: only the digest can tell
  const at = changedBytes.lastIndexOf('ContentTransferEncoded>') - 20
  changedBytes[at] = changedBytes[at] === 0x41 ? 0x42 : 0x41
  const broken = one(bigPdf(37 * MiB))
  const brokenBytes = Buffer.from(broken.bytes)
  brokenBytes[brokenBytes.lastIndexOf('ContentTransferEncoded>') - 20] = 0x2a // '*': not base64, found at the end of 50 MB
  const many = sampleEdoc(G22, [H29], { attachments: Array.from({ length: 12 }, (_, i) => ({ attachmentName: `phu-luc-${i + 1}.pdf`, contentType: 'application/pdf', data: bigPdf(3 * MiB) })) })

  const variants: { name: string; kind: string; code?: string; msg: Msg }[] = [
    { name: '50 MB, one base64 character changed after signing', kind: 'rejected', code: 'DIGEST_MISMATCH', msg: { body: changedBytes, recipient: H29, sender: G22, signature: await vpcp.sign(changed.bytes) } },
    { name: '50 MB, not base64 near the end', kind: 'rejected', code: 'GW_ERR_ENVELOPE_BAD_BASE64', msg: { body: brokenBytes, recipient: H29, sender: G22, signature: await vpcp.sign(brokenBytes) } },
    { name: '50 MB signed package', kind: 'received', msg: { body: genuine.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(genuine.bytes) } },
    { name: '12 attachments of 3 MiB, signed', kind: 'received', msg: { body: many.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(many.bytes) } },
  ]
  for (const v of variants) {
    let m = await receiveWhileMeasured(rx, app, dir, v.msg)
    t.comment(line(v.name, m))
    // one pause of the shared machine (the scheduler, a major GC while another suite runs) can pass the bound once;
    // a hold by the reading comes back every time: a refused package is measured again (it is refused the same way,
    // its own record again), and the second measurement is the one asserted
    if (m.loop.maxMs >= LOOP_BOUND_MS && v.kind === 'rejected') {
      m = await receiveWhileMeasured(rx, app, dir, v.msg)
      t.comment(`${line(v.name, m)} (measured again)`)
    }
    t.equal(m.kind, v.kind, `${v.name}: ${v.kind}`)
    if (v.code) t.equal(m.code, v.code, `${v.name}: ${v.code}`)
    t.ok(m.health.maxMs < BOUND_MS, `${v.name}: /healthz answered within ${m.health.maxMs} ms (< ${BOUND_MS})`)
    const bound = v.kind === 'received' ? ACCEPTED_LOOP_BOUND_MS : LOOP_BOUND_MS
    t.ok(m.loop.maxMs < bound, `${v.name}: event loop held at most ${m.loop.maxMs} ms (< ${bound}; p99 ${m.loop.p99Ms} ms)`)
  }
  const rows = await rx.store.listIncoming({ limit: 20 })
  const stored = rows.items.find((r) => r.sha256 === genuine.sha256())
  t.equal(stored?.state, 'arrived', 'the genuine package is stored received')
  t.match(stored?.metadata, { attachments: [{ name: 'ho-so-lon.pdf', contentType: 'application/pdf', payloadSize: 37 * MiB }] }, 'described from what the worker parsed')
  const bytes = await rx.store.getIncomingBytes(stored!.id)
  t.equal(bytes?.bytes.length, genuine.bytes.length, 'its exact bytes are stored')
})

t.test('for comparison: the same packages read on the main thread (receiveWorkers 0)', async (t) => {
  const limits = { packageBytes: 64 * MiB, attachmentBytes: 64 * MiB }
  const rx = await startTestReceiver(t, { config: { limits, pipeline: { receiveWorkers: 0 } } })
  const { app } = await buildTestApp(t, { config: { limits }, deps: { store: rx.store } })
  const vpcp = await agencySigner('vpcp')
  const dir = t.testdir()
  await app.inject({ method: 'GET', url: '/healthz' })
  const pkg = () => sampleEdoc(G22, [H29], { attachments: [{ attachmentName: 'ho-so-lon.pdf', contentType: 'application/pdf', data: bigPdf(37 * MiB) }] })
  const changed = pkg()
  const changedBytes = Buffer.from(changed.bytes)
  const at = changedBytes.lastIndexOf('ContentTransferEncoded>') - 20
  changedBytes[at] = changedBytes[at] === 0x41 ? 0x42 : 0x41
  const refused = await receiveWhileMeasured(rx, app, dir, { body: changedBytes, recipient: H29, sender: G22, signature: await vpcp.sign(changed.bytes) })
  t.comment(line('50 MB, one base64 character changed after signing, main thread', refused))
  t.equal(refused.code, 'DIGEST_MISMATCH', 'refused all the same')
  const genuine = pkg()
  const m = await receiveWhileMeasured(rx, app, dir, { body: genuine.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(genuine.bytes) })
  t.comment(line('50 MB signed package, main thread', m))
  t.equal(m.kind, 'received', 'received all the same')
})
