/**
 * The send path against the real RabbitMQ: API → pipeline → store → relay → broker confirm → `queued`.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { parseEnvelope } from '../../src/envelope/index.js'
import { createVerifier } from '../../src/signature/index.js'
import { HEADER_RECIPIENT, HEADER_SENDER, HEADER_SHA256, HEADER_SIGNATURE } from '../../src/transport/index.js'
import { createRelay } from '../../src/pipeline/relay.js'
import { outgoing, sha256 } from '../integration/store/helpers.js'
import { auth, crlsPem, drainQueue, eventually, G22, H26, H29, inboxOf, KEYS, sampleDocument, startTestGateway, STC, trustAnchorsPem } from '../helper.js'

const send = (gw: Awaited<ReturnType<typeof startTestGateway>>, body: unknown, key: string = KEYS.g22) =>
  gw.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(body) })

t.test('a document sent through the API is in the recipient queue: exact signed bytes, verifying signature header, delivery queued', async (t) => {
  const gw = await startTestGateway(t)
  const res = await send(gw, sampleDocument({ priority: 1, recipients: [
    { organId: H29, name: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
    { organId: STC, name: 'Sở Tài chính', organizationInCharge: 'UBND TP.HCM' },
  ] }))
  t.equal(res.statusCode, 202, res.body)
  const { id, sha256 } = res.json()
  const queued = await eventually(async () => {
    const ds = await gw.store.getDeliveries(id)
    return ds.every((d) => d.state === 'queued') ? ds : undefined
  })
  t.ok(queued, 'both deliveries queued on the broker ack')
  const stored = (await gw.store.getPackageBytes(id))!
  const verifier = createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem() })
  for (const recipient of [H29, STC]) {
    const msgs = await drainQueue(inboxOf(gw.config, recipient))
    t.equal(msgs.length, 1, `one message for ${recipient}`)
    const m = msgs[0]!
    t.ok(m.content.equals(Buffer.from(stored.bytes)), 'body = the exact stored bytes')
    const p = m.properties
    t.equal(p.messageId, id)
    t.equal(p.type, 'edoc')
    t.equal(p.contentType, 'application/xml')
    t.equal(p.deliveryMode, 2, 'persistent')
    t.equal(p.priority, 5, 'edXML Priority 1 → AMQP priority 5')
    t.equal(p.headers?.[HEADER_SENDER], G22)
    t.equal(p.headers?.[HEADER_RECIPIENT], recipient)
    t.equal(p.headers?.[HEADER_SHA256], sha256)
    const sig = Buffer.from(String(p.headers?.[HEADER_SIGNATURE]), 'base64')
    t.ok(sig.equals(Buffer.from(stored.signature)), 'signature header = the stored signature')
    const verdict = await verifier.verify(m.content, sig, { expectedOrganId: G22 })
    t.equal(verdict.code, 'VALID', verdict.message)
    t.equal(verdict.signer?.organId, G22)
    t.equal(parseEnvelope(m.content).edoc?.messageHeader.documentId, res.json().documentId)
  }
  const view = (await gw.app.inject({ url: `/v1/documents/${id}`, headers: auth(KEYS.g22) })).json()
  t.same(view.deliveries.map((d: { state: string }) => d.state), ['queued', 'queued'])
  t.same(view.deliveries[0].timeline.map((e: { state: string }) => e.state), ['accepted', 'queued'], 'timeline accepted → queued')
  t.same(view.deliveries.map((d: { attempts: number }) => d.attempts), [1, 1], 'one publish each, counted')
  t.match(view.deliveries[0].timeline[1], { cause: 'broker confirmed', detail: { attempt: 1 } })
  t.equal(view.deliveries[0].timeline[1].cause, view.deliveries[0].timeline[1].cause, 'cause recorded')
})

t.test('an unroutable recipient (no queue bound) makes the delivery failed with the reason; the others are queued', async (t) => {
  const gw = await startTestGateway(t)
  const failed = new Promise((resolve) => gw.relay.once('failed', resolve))
  const res = await send(gw, sampleDocument({ recipients: [
    { organId: H29, name: 'UBND TP.HCM', organizationInCharge: 'Chính phủ' },
    { organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'Chính phủ' },
  ] }))
  const { id } = res.json()
  t.match(await failed, { recipient: H26, code: 'GW_ERR_TRANSPORT_UNROUTABLE' })
  const ds = await eventually(async () => {
    const ds = await gw.store.getDeliveries(id)
    return ds.every((d) => d.state !== 'accepted') ? ds : undefined
  })
  const by = Object.fromEntries(ds!.map((d) => [d.recipient, d]))
  t.equal(by[H29]?.state, 'queued')
  t.equal(by[H26]?.state, 'failed')
  t.match(by[H26]?.reason, /GW_ERR_TRANSPORT_UNROUTABLE/)
  const view = (await gw.app.inject({ url: `/v1/documents/${id}`, headers: auth(KEYS.g22) })).json()
  t.match(view.deliveries.find((d: { recipient: string }) => d.recipient === H26), { state: 'failed', reason: /no queue accepts/, attempts: 1 })
  t.equal(by[H29]?.attempts, 1, 'the refused publish and the confirmed one are each counted')
  await drainQueue(inboxOf(gw.config, H29))
})

t.test('many documents: every one queued once, published with many in flight', async (t) => {
  const gw = await startTestGateway(t)
  let queuedEvents = 0
  gw.relay.on('queued', () => queuedEvents++)
  const N = 200
  const results = await Promise.all(Array.from({ length: N }, () => send(gw, sampleDocument())))
  t.ok(results.every((r) => r.statusCode === 202))
  await eventually(() => queuedEvents >= N, 15_000)
  t.equal(queuedEvents, N, 'one queued event per delivery')
  const msgs = await drainQueue(inboxOf(gw.config, H29))
  t.equal(msgs.length, N, 'N messages in the queue')
  t.equal(new Set(msgs.map((m) => m.properties.messageId)).size, N, 'no duplicates')
  const page = await gw.store.listPackages({ state: 'accepted', limit: 10 })
  t.equal(page.items.length, 0, 'nothing left pending')
})

t.test('urgent documents are published before normal ones when both wait in the outbox', async (t) => {
  const gw = await startTestGateway(t)
  await gw.relay.stop()
  const normal = await send(gw, sampleDocument({ priority: 0 }))
  const urgent = await send(gw, sampleDocument({ priority: 3 }))
  t.equal((await gw.store.getPackage(urgent.json().id))?.priority, 7)
  const pending = await gw.store.pendingDeliveries({ limit: 10 })
  t.same(pending.map((p) => p.packageId), [urgent.json().id, normal.json().id], 'outbox order: priority first')
  // publish them with a fresh relay on the same publisher, then check the queue order
  const relay = createRelay({ store: gw.store, publisher: gw.publisher, pollIntervalMs: 100 })
  relay.start()
  t.teardown(() => relay.stop())
  await eventually(async () => (await gw.store.getDeliveries(normal.json().id))[0]?.state === 'queued')
  const msgs = await drainQueue(inboxOf(gw.config, H29))
  t.same(msgs.map((m) => m.properties.messageId), [urgent.json().id, normal.json().id], 'urgent first in the queue')
})

t.test('large packages: read one at a time when their turn comes, never more than maxInFlightBytes awaiting a confirm (one always goes)', async (t) => {
  const gw = await startTestGateway(t)
  await gw.relay.stop()
  const MiB = 1024 * 1024
  // 11 packages of 5 MiB and one of 20 MiB, larger than the whole allowance
  const sizes = [...Array.from({ length: 11 }, () => 5 * MiB), 20 * MiB]
  const ids: string[] = []
  for (const size of sizes) {
    const bytes = randomBytes(size)
    const r = await gw.store.recordOutgoing(outgoing({ package: { bytes, sha256: sha256(bytes), senderOrganId: G22 }, recipients: [H29] }))
    ids.push(r.package.id)
  }
  t.ok((await gw.store.pendingDeliveries({ limit: 20 })).every((p) => p.bytes === undefined), 'the page carries none of their bytes')
  // what awaits a confirm at each publish
  const inFlight = new Set<number>()
  const seen: number[][] = []
  let n = 0
  const publisher = {
    get ready() {
      return gw.publisher.ready
    },
    publish(msg: Parameters<typeof gw.publisher.publish>[0]) {
      const me = n++
      inFlight.add(me)
      sizeOf.set(me, msg.body.byteLength)
      seen.push([...inFlight].map((i) => sizeOf.get(i)!))
      return gw.publisher.publish(msg).finally(() => inFlight.delete(me))
    },
  }
  const sizeOf = new Map<number, number>()
  const relay = createRelay({ store: gw.store, publisher, pollIntervalMs: 100, maxInFlightBytes: 12 * MiB })
  relay.start()
  t.teardown(() => relay.stop())
  await eventually(async () => (await Promise.all(ids.map((id) => gw.store.getDeliveries(id)))).every((ds) => ds[0]?.state === 'queued'), 60_000)
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  t.equal(seen.length, sizes.length, 'one publish per package')
  t.ok(seen.every((xs) => xs.length === 1 || sum(xs) <= 12 * MiB), `never more than 12 MiB awaiting a confirm, except one package alone: ${JSON.stringify(seen.map((xs) => xs.map((x) => x / MiB)))}`)
  t.ok(seen.some((xs) => xs.length === 2), 'two 5 MiB packages did go together')
  t.ok(seen.some((xs) => xs.length === 1 && xs[0] === 20 * MiB), 'the 20 MiB package went, alone')
  const msgs = await drainQueue(inboxOf(gw.config, H29))
  t.equal(msgs.length, sizes.length, 'every package published once')
  for (const m of msgs) {
    const stored = (await gw.store.getPackageBytes(String(m.properties.messageId)))!
    if (!m.content.equals(Buffer.from(stored.bytes))) t.fail(`${m.properties.messageId}: body differs from the stored bytes`)
  }
  t.same(new Set(msgs.map((m) => m.properties.messageId)), new Set(ids), 'the exact bytes of each, once')
})
