/**
 * Hostile peer: a flood of junk on the real broker. Nothing unauthenticated is kept whole: each refused message
 * is a bounded record in the store (its first limits.refusedKeepBytes bytes, size, SHA-256, headers, verdict), so
 * the store grows by a few KB per message whatever its size; the whole messages go only to the dead-letter
 * queue, whose bytes are bounded by its arguments (x-max-length-bytes, x-overflow reject-publish: the oldest are
 * kept, the newest dropped once it is full).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { queueDepth } from '../helper.js'
import { agencySigner, nextEvent, sampleEdoc, startTestReceiver } from '../integration/receive/helpers.js'
import { storeBytes } from './helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const KiB = 1024
const MiB = 1048576

t.test('junk: the store grows by a bounded record per message, the dead-letter queue by its byte bound', async (t) => {
  const rx = await startTestReceiver(t, { config: { limits: { refusedKeepBytes: 4096, packageBytes: 1 * MiB, attachmentBytes: 512 * KiB }, amqp: { deadLetterMaxBytes: 4 * MiB } } })
  const vpcp = await agencySigner('vpcp')
  const path = rx.config.store.path
  // a first package makes the store's pages exist; growth is measured from here
  const warm = nextEvent(rx.pipeline, ['rejected'])
  await rx.publish({ body: randomBytes(1000), recipient: H29, sender: G22 })
  await warm
  // the WAL is reused in place and checkpointed every ~4 MB whatever the traffic: the growth that stays is the file's
  const checkpoint = () => (rx.store as unknown as { db: { pragma(s: string): unknown } }).db.pragma('wal_checkpoint(TRUNCATE)')
  checkpoint()
  const before = storeBytes(path)
  const SIZE = 256 * KiB
  const N = 60
  const padded = (i: number) =>
    sampleEdoc(G22, [H29], { subject: `V/v rác ${i}`, attachments: [{ attachmentName: 'rac.pdf', contentType: 'application/pdf', data: Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(SIZE)]) }] })
  const kinds: { name: string; make: (i: number) => Promise<Parameters<typeof rx.publish>[0]> }[] = [
    { name: 'random bytes', make: async () => ({ body: randomBytes(SIZE), recipient: H29, sender: G22 }) },
    { name: 'unsigned package with a 256 KB attachment', make: async (i) => ({ body: padded(i).bytes, recipient: H29, sender: G22 }) },
    { name: 'garbage signature', make: async (i) => ({ body: padded(i).bytes, recipient: H29, sender: G22, signature: randomBytes(2000) }) },
    { name: 'over limits.packageBytes', make: async () => ({ body: randomBytes(MiB + 1), recipient: H29, sender: G22, signature: await vpcp.sign(Buffer.from('x')) }) },
  ]
  let sent = 0
  const codes = new Map<string, number>()
  for (let i = 0; i < N; i++) {
    const k = kinds[i % kinds.length]!
    const m = await k.make(i)
    sent += m.body.length
    const ev = nextEvent(rx.pipeline, ['received', 'rejected'], 15_000)
    await rx.publish(m)
    const got = await ev
    t.equal(got.kind, 'rejected', `${k.name} ${i}: refused`)
    codes.set(got.event.code!, (codes.get(got.event.code!) ?? 0) + 1)
  }
  checkpoint()
  const grown = storeBytes(path) - before
  const depth = await queueDepth(rx.dead(H29))
  t.comment(`junk: ${N} messages, ${(sent / MiB).toFixed(1)} MiB sent; store grew ${(grown / KiB).toFixed(0)} KiB (${(grown / N / KiB).toFixed(1)} KiB per message); codes ${JSON.stringify(Object.fromEntries(codes))}; dead-letter queue holds ${depth} messages`)
  t.ok(grown < N * 24 * KiB, `the store grew ${(grown / KiB).toFixed(0)} KiB for ${(sent / MiB).toFixed(1)} MiB of junk (bound ${N * 24} KiB)`)
  t.same([...codes.keys()].sort(), ['GW_ERR_ENVELOPE_NOT_XML', 'GW_ERR_ENVELOPE_TOO_LARGE', 'MALFORMED', 'NO_SIGNATURE'])
  // ~24 MiB dead-lettered into a 4 MiB queue: it is full and the rest was dropped (reject-publish)
  t.ok(depth > 0 && depth < N / 2, `the dead-letter queue kept ${depth} of ${N} messages (its 4 MiB bound)`)
  const rows = (await rx.store.listIncoming({ state: 'rejected', limit: 100 })).items
  t.ok(rows.every((r) => r.size > 4096 || r.size === 1000), 'every record keeps the size as received')
  for (const r of rows.slice(0, 5)) t.ok(((await rx.store.getIncomingBytes(r.id))?.bytes.length ?? 0) <= 4096, `record ${r.id}: at most 4096 bytes kept`)
})
