/**
 * Receive path on the real broker: a valid document is stored `received` with a VALID verdict and answered with one
 * 01; each bad package ends stored `rejected` with its specific code, dead-lettered, nothing handed to the DMS as
 * valid, and the consumer keeps running; a redelivery (consumer stopped before the ack) gives no duplicate and no
 * second 01.
 */
import t from 'tap'
import { queueDepth } from '../../helper.js'
import { agencySigner, inbound, nextEvent, sampleEdoc, sleep, startTestReceiver } from './helpers.js'
import { createIncomingPipeline } from '../../../src/pipeline/incoming.js'
import { createStatusSender } from '../../../src/pipeline/statuses.js'
import { verifierFromConfig } from '../../../src/pipeline/receiver.js'
import type { InboundMessage } from '../../../src/transport/index.js'
import { etsiOf } from '../../../src/signature/index.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const STC = '000.00.11.H29'

t.test('receive: valid, every negative case, replay, redelivery', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const stc = await agencySigner('stc-hcm')

  const statuses = async (code: string) => (await rx.store.listPackages({ kind: 'status', limit: 100 })).items.filter((p) => p.statusCode === code)

  // ---- a valid document ---------------------------------------------------------------------------------
  const good = sampleEdoc(G22, [H29])
  const goodSig = await vpcp.sign(good.bytes)
  let ev = nextEvent(rx.pipeline, ['received', 'rejected'])
  await rx.publish({ body: good.bytes, recipient: H29, sender: G22, signature: goodSig })
  let got = await ev
  t.equal(got.kind, 'received', 'valid document received')
  const stored = got.kind === 'received' ? got.event.incoming : undefined
  t.equal(stored?.state, 'arrived')
  t.equal(stored?.recipient, H29)
  t.equal(stored?.senderOrganId, G22)
  t.equal((stored?.verdict as { code?: string }).code, 'VALID')
  t.same((stored?.verdict as { etsi?: unknown }).etsi, { indication: 'TOTAL_PASSED' }, 'the stored verdict carries its ETSI indication')
  t.equal(stored?.documentId, good.edoc!.messageHeader.documentId)
  const bytes = await rx.store.getIncomingBytes(stored!.id)
  t.same(Buffer.from(bytes!.bytes), Buffer.from(good.bytes), 'exact bytes stored')
  const ones = await statuses('01')
  t.equal(ones.length, 1, 'one 01 queued to the sender')
  t.equal(ones[0]?.senderOrganId, H29, '01 authored by the recipient')
  t.equal((await rx.store.getDeliveries(ones[0]!.id))[0]?.recipient, G22, '01 addressed to the original sender')
  t.equal(ones[0]?.documentId, good.edoc!.messageHeader.documentId)

  // ---- negative cases -----------------------------------------------------------------------------------
  const tampered = Buffer.from(good.bytes)
  const at = tampered.indexOf(Buffer.from('thử nghiệm nhận'))
  tampered[at + 1] = tampered[at + 1]! ^ 0x01
  const expired = await agencySigner('expired', true)
  const revoked = await agencySigner('revoked', true)
  const untrusted = await agencySigner('untrusted', true)

  const cases: { name: string; make: () => Promise<{ body: Uint8Array; recipient: string; sender?: string; signature?: Uint8Array }>; code: string; twoExpected: boolean }[] = [
    { name: 'tampered byte', code: 'DIGEST_MISMATCH', twoExpected: false, make: async () => ({ body: tampered, recipient: H29, sender: G22, signature: goodSig }) },
    {
      name: 'signed by another agency',
      code: 'SENDER_MISMATCH',
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(G22, [H29])
        return { body: d.bytes, recipient: H29, sender: G22, signature: await stc.sign(d.bytes) }
      },
    },
    {
      name: 'expired certificate',
      code: 'CERT_EXPIRED',
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(G22, [H29])
        return { body: d.bytes, recipient: H29, sender: G22, signature: await expired.sign(d.bytes) }
      },
    },
    {
      name: 'revoked certificate',
      code: 'REVOKED',
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(STC, [H29])
        return { body: d.bytes, recipient: H29, sender: STC, signature: await revoked.sign(d.bytes) }
      },
    },
    {
      name: 'untrusted root',
      code: 'UNTRUSTED_CHAIN',
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(H29, [STC])
        return { body: d.bytes, recipient: STC, sender: H29, signature: await untrusted.sign(d.bytes) }
      },
    },
    {
      name: 'no signature header',
      code: 'NO_SIGNATURE',
      twoExpected: false,
      make: async () => ({ body: sampleEdoc(G22, [H29]).bytes, recipient: H29, sender: G22 }),
    },
    {
      name: 'sender header names another agency',
      code: 'SENDER_MISMATCH',
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(G22, [H29])
        return { body: d.bytes, recipient: H29, sender: STC, signature: await vpcp.sign(d.bytes) }
      },
    },
    {
      name: 'hostile XML (DOCTYPE)',
      code: 'GW_ERR_ENVELOPE_DOCTYPE',
      twoExpected: false,
      make: async () => {
        const body = Buffer.from(
          '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' +
            '<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol2;</edXML:edXML>',
        )
        return { body, recipient: H29, sender: G22, signature: await vpcp.sign(body) }
      },
    },
    {
      name: 'replayed DocumentId with different bytes',
      code: 'REPLAY',
      // its signature verified as From, but a 02 names the DocumentId only: it would refuse the document received
      // under it on the sender's books (RECEIVE.md "Who is told"), so none is sent
      twoExpected: false,
      make: async () => {
        const d = sampleEdoc(G22, [H29], { documentId: good.edoc!.messageHeader.documentId, subject: 'Nội dung khác' })
        return { body: d.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(d.bytes) }
      },
    },
  ]

  const withSignature: string[] = []
  for (const c of cases) {
    const m = await c.make()
    const before02 = (await statuses('02')).length
    ev = nextEvent(rx.pipeline, ['received', 'rejected'])
    await rx.publish(m)
    got = await ev
    t.equal(got.kind, 'rejected', `${c.name}: rejected`)
    if (got.kind !== 'rejected') continue
    t.equal(got.event.code, c.code, `${c.name}: code ${c.code}`)
    t.equal(got.event.incoming?.state, 'rejected', `${c.name}: stored as rejected`)
    t.equal((got.event.incoming?.verdict as { code?: string }).code, c.code, `${c.name}: verdict stored`)
    const sig = (got.event.incoming?.verdict as { signature?: { code: string; revocation?: { status?: string }; etsi?: unknown } }).signature
    if (sig) {
      t.same(sig.etsi, etsiOf(sig), `${c.name}: the signature's verdict (${sig.code}) stored with its ETSI indication`)
      withSignature.push(`${c.code}:${sig.code}`)
    }
    t.equal((await statuses('02')).length, before02 + (c.twoExpected ? 1 : 0), `${c.name}: ${c.twoExpected ? 'one 02 back to the sender' : 'no 02'}`)
    t.ok(rx.receiver.consumer.consuming, `${c.name}: consumer still running`)
  }
  for (const code of ['DIGEST_MISMATCH', 'CERT_EXPIRED', 'REVOKED', 'UNTRUSTED_CHAIN']) t.ok(withSignature.includes(`${code}:${code}`), `${code}: refused with the signature's verdict and its indication kept`)
  t.equal((await statuses('02')).length, 0, 'no 02 in all: unauthenticated claims and replays are never answered')

  // nothing rejected is visible as received: exactly the one valid document
  const received = await rx.store.listIncoming({ state: 'arrived', limit: 100 })
  t.equal(received.items.length, 1, 'only the valid document is received')
  const rejected = await rx.store.listIncoming({ state: 'rejected', limit: 100 })
  t.equal(rejected.items.length, cases.length, 'every bad package stored as rejected')
  await sleep(300)
  t.equal(await queueDepth(rx.dead(H29)) + (await queueDepth(rx.dead(STC))), cases.length, 'every bad package dead-lettered')
  t.equal(await queueDepth(rx.inbox(H29)), 0, 'inbox empty')

  // ---- the same bytes again (a redelivery after a lost ack): no duplicate, no second 01 --------------------
  ev = nextEvent(rx.pipeline, ['received', 'rejected'])
  await rx.publish({ body: good.bytes, recipient: H29, sender: G22, signature: goodSig })
  got = await ev
  t.equal(got.kind, 'received')
  t.equal(got.kind === 'received' && got.event.duplicate, true, 'recognised as a redelivery')
  t.equal((await rx.store.listIncoming({ state: 'arrived', limit: 100 })).items.length, 1, 'no duplicate in the inbox')
  t.equal((await statuses('01')).length, 1, 'no second 01')
})

t.test('recipient not hosted here: rejected, no 02', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  // published straight to the pipeline: the broker would not route it to this gateway's queues at all
  const d = sampleEdoc(G22, ['000.00.00.H26'])
  const sig = await vpcp.sign(d.bytes)
  const msg: InboundMessage = {
    queue: rx.inbox(H29),
    routingKey: '000.00.00.H26',
    body: d.bytes,
    messageId: 'x',
    type: 'edoc',
    contentType: 'application/xml',
    correlationId: undefined,
    priority: 0,
    timestamp: undefined,
    sender: G22,
    recipient: '000.00.00.H26',
    sha256: undefined,
    signature: sig,
    signatureBase64: Buffer.from(sig).toString('base64'),
    redelivered: false,
    deliveryCount: undefined,
    headers: {},
  }
  const result = await rx.pipeline.handle(msg)
  t.equal(result, 'reject')
  const rejected = await rx.store.listIncoming({ state: 'rejected', limit: 10 })
  t.equal(rejected.items.length, 1)
  t.equal((rejected.items[0]?.verdict as { code?: string }).code, 'RECIPIENT_NOT_HOSTED')
  t.equal((await rx.store.listPackages({ kind: 'status', limit: 10 })).items.length, 0, 'no 02 when not hosted')
})

t.test('store unavailable: retry, never dead-lettered', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const d = sampleEdoc(G22, [H29])
  const sig = await vpcp.sign(d.bytes)
  const closed = await (await import('../../../src/store/index.js')).openSqliteStore(rx.config.store.path + '.other')
  await closed.close()
  const p = createIncomingPipeline({
    config: rx.config,
    store: closed,
    verifier: verifierFromConfig(rx.config),
    statuses: createStatusSender({ store: closed, agencies: rx.config.agencies, signers: new Map(), relay: { wake() {} } }),
  })
  const result = await p.handle({
    queue: 'q', routingKey: H29, body: d.bytes, messageId: 'm', type: 'edoc', contentType: undefined, correlationId: undefined, priority: 0,
    timestamp: undefined, sender: G22, recipient: H29, sha256: undefined, signature: sig, signatureBase64: undefined, redelivered: false,
    deliveryCount: undefined, headers: {},
  })
  t.equal(result, 'retry', 'a closed store is a transient failure')
})

t.test('redelivery after the consumer stopped before the ack: no duplicate, no second 01', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const d = sampleEdoc(G22, [H29])
  const sig = await vpcp.sign(d.bytes)
  // first pass: stored and 01 sent, then the connection dies before the ack reaches the broker
  let first = true
  const original = rx.pipeline.handle.bind(rx.pipeline)
  const ev = nextEvent(rx.pipeline, ['received'])
  rx.pipeline.handle = async (m) => {
    const r = await original(m)
    if (first) {
      first = false
      await rx.connection.close() // the broker requeues the unacked message
      return r
    }
    return r
  }
  await rx.publish({ body: d.bytes, recipient: H29, sender: G22, signature: sig })
  await ev
  await sleep(300)
  t.equal(await queueDepth(rx.inbox(H29)), 1, 'message back in the queue (never acked)')
  // a new consumer (as after a restart) takes it again
  const rx2 = await import('../../../src/pipeline/receiver.js')
  const { createAmqpConnection } = await import('../../../src/transport/index.js')
  const { AMQP_URL, silentLogger } = await import('../../helper.js')
  const conn2 = createAmqpConnection({ url: AMQP_URL, initialDelayMs: 100, maxDelayMs: 1000 })
  const r2 = rx2.startReceiver({ config: rx.config, store: rx.store, connection: conn2, signers: new Map([[H29, await agencySigner('ubnd-hcm')]]), relay: { wake() {} }, logger: silentLogger() })
  t.teardown(async () => {
    await r2.stop()
    await conn2.close()
  })
  const ev2 = nextEvent(r2.pipeline, ['received', 'rejected'])
  await r2.whenConsuming({ timeoutMs: 10_000 })
  const got = await ev2
  t.equal(got.kind, 'received')
  t.equal(got.kind === 'received' && got.event.duplicate, true, 'redelivery recognised')
  await sleep(200)
  t.equal(await queueDepth(rx.inbox(H29)), 0, 'acked this time')
  t.equal((await rx.store.listIncoming({ limit: 10 })).items.length, 1, 'one package in the inbox')
  const ones = (await rx.store.listPackages({ kind: 'status', limit: 10 })).items.filter((p) => p.statusCode === '01')
  t.equal(ones.length, 1, 'exactly one 01')
})

t.test('two packages with one DocumentId at the same time: one received, the other a replay', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const first = sampleEdoc(G22, [H29])
  const second = sampleEdoc(G22, [H29], { documentId: first.edoc!.messageHeader.documentId, subject: 'Bản khác' })
  const msgs = await Promise.all([first, second].map(async (d) => inbound({ body: d.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(d.bytes) })))
  const results = await Promise.all(msgs.map((m) => rx.pipeline.handle(m)))
  t.same(results.sort(), ['ack', 'reject'])
  const all = (await rx.store.listIncoming({ limit: 10 })).items
  t.same(all.map((i) => i.state).sort(), ['arrived', 'rejected'])
  t.equal((all.find((i) => i.state === 'rejected')?.verdict as { code?: string }).code, 'REPLAY')
})

t.test('package over limits.packageBytes: rejected before parsing', async (t) => {
  const rx = await startTestReceiver(t)
  const vpcp = await agencySigner('vpcp')
  const d = sampleEdoc(G22, [H29])
  const p = createIncomingPipeline({
    config: { ...rx.config, limits: { ...rx.config.limits, packageBytes: 1024 } },
    store: rx.store,
    verifier: verifierFromConfig(rx.config),
    statuses: createStatusSender({ store: rx.store, agencies: rx.config.agencies, signers: new Map([[H29, await agencySigner('ubnd-hcm')]]), relay: { wake() {} } }),
  })
  t.equal(await p.handle(inbound({ body: d.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(d.bytes) })), 'reject')
  const [row] = (await rx.store.listIncoming({ state: 'rejected', limit: 10 })).items
  t.equal((row?.verdict as { code?: string }).code, 'GW_ERR_ENVELOPE_TOO_LARGE')
  t.equal(row?.kind, 'unknown', 'not parsed')
})
