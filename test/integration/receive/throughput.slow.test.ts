/**
 * Receive-path throughput on the real broker: N signed 10 KB documents published at once, each verified, stored
 * (SQLite, synchronous=FULL, group commit) and answered with a 01 before its ack. Prints documents/s. Slow test:
 * `npx tap test/integration/receive/throughput.slow.test.ts` (N from RECEIVE_BENCH_N, default 1000).
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import t from 'tap'
import { agencySigner, sampleEdoc, startTestReceiver } from './helpers.js'

const N = Number(process.env.RECEIVE_BENCH_N ?? 1000)
const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'

t.test(`receive ${N} documents`, async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const pdf = randomBytes(10 * 1024)
  const msgs = await Promise.all(
    Array.from({ length: N }, async () => {
      const d = sampleEdoc(G22, [H29], { attachments: [{ attachmentName: 'data.bin', contentType: 'application/octet-stream', data: pdf }] })
      return { body: d.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(d.bytes) }
    }),
  )
  let received = 0
  let rejected = 0
  const done = new Promise<void>((resolve) => {
    const check = () => received + rejected >= N && resolve()
    rx.pipeline.on('received', () => (received++, check()))
    rx.pipeline.on('rejected', () => (rejected++, check()))
  })
  const t0 = Date.now()
  await Promise.all(msgs.map((m) => rx.publish(m)))
  await done
  const s = (Date.now() - t0) / 1000
  t.equal(received, N)
  t.equal(rejected, 0)
  const ones = await rx.store.stats()
  t.ok(ones.deliveriesByState.accepted === N, `${N} status 01 packages in the outbox`)
  t.comment(`received ${N} signed 10 KB documents in ${s.toFixed(2)} s: ${Math.round(N / s)} documents/s (verify + store + 01 + ack; prefetch ${rx.config.amqp.prefetch}; load average ${os.loadavg()[0]?.toFixed(2)})`)
})
