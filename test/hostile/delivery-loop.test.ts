/**
 * Hostile peer: a message that stalls (or kills) the gateway every time it is handled. The broker redelivers a
 * message whose delivery came to no end (the connection was lost while it was handled), so without counting it
 * would stall the gateway forever. The consumer counts those deliveries (itself for classic queues, with
 * x-delivery-count for quorum queues, which also survives a restart of the gateway), and at amqp.deliveryLimit
 * (default 2) the pipeline refuses the message unread: stored as a bounded record (DELIVERY_LIMIT) and
 * dead-lettered, never handled a third time.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { queueDepth, testConfig } from '../helper.js'
import { agencySigner, sampleEdoc } from '../integration/receive/helpers.js'
import { createIncomingPipeline } from '../../src/pipeline/incoming.js'
import { topologyOptions, verifierFromConfig } from '../../src/pipeline/receiver.js'
import { loadSigners } from '../../src/pipeline/signers.js'
import { createStatusSender } from '../../src/pipeline/statuses.js'
import { openSqliteStore } from '../../src/store/index.js'
import amqp from 'amqplib'
import { createAmqpConnection, createConsumer, declareTopology, type InboundMessage } from '../../src/transport/index.js'
import { AMQP_URL, deleteAmqpNames } from '../helper.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'

for (const queueType of ['classic', 'quorum'] as const) {
  t.test(`${queueType} queue: a message that stalls the gateway twice is dead-lettered, not handled a third time`, async (t) => {
    const config = testConfig(t, { amqp: { queueType } })
    const store = await openSqliteStore(config.store.path)
    const connection = createAmqpConnection({ url: AMQP_URL, initialDelayMs: 100, maxDelayMs: 500, connectionName: 'lienthong hostile loop test' })
    const topology = declareTopology(connection, topologyOptions(config))
    const signers = await loadSigners(config)
    const statuses = createStatusSender({ store, agencies: config.agencies, signers, relay: { wake() {} }, newId: randomUUID })
    const pipeline = createIncomingPipeline({ config, store, verifier: verifierFromConfig(config), statuses, deliveryLimit: config.amqp.deliveryLimit })
    t.teardown(async () => {
      await connection.close().catch(() => {})
      await deleteAmqpNames(config)
      await store.close()
    })

    const seen: number[] = []
    let handled = 0
    let resolveDone!: () => void
    const done = new Promise<void>((r) => (resolveDone = r))
    const handler = async (msg: InboundMessage) => {
      seen.push(msg.unfinishedDeliveries ?? 0)
      if ((msg.unfinishedDeliveries ?? 0) < config.amqp.deliveryLimit) {
        // the package "stalls" the gateway: while it is handled the broker loses the connection (missed heartbeats)
        handled++
        // (a delivery can come while the connection still runs its setup steps: wait until it is the current one)
        while (!connection.current) await new Promise((r) => setTimeout(r, 10))
        await connection.current.close().catch(() => {})
        return 'ack' as const
      }
      const r = await pipeline.handle(msg)
      resolveDone()
      return r
    }
    let consumer = createConsumer(connection, { queues: topology.queues, handler, retryDelayMs: 100 })
    await consumer.whenConsuming({ timeoutMs: 10_000 })

    const vpcp = await agencySigner('vpcp')
    const doc = sampleEdoc(G22, [H29])
    const signature = await vpcp.sign(doc.bytes)
    // published from a connection of its own (the gateway's is the one that gets lost)
    const pub = await amqp.connect(AMQP_URL)
    const ch = await pub.createConfirmChannel()
    await new Promise<void>((resolve, reject) =>
      ch.publish(config.amqp.exchange, H29, Buffer.from(doc.bytes), { persistent: true, messageId: randomUUID(), type: 'edoc', headers: { 'x-lienthong-sender': G22, 'x-lienthong-recipient': H29, 'x-lienthong-signature': Buffer.from(signature).toString('base64') } }, (err) => (err ? reject(err) : resolve())),
    )
    await pub.close()

    if (queueType === 'quorum') {
      // the gateway restarts after the first stall: its own count is gone, x-delivery-count is not
      while (handled < 1) await new Promise((r) => setTimeout(r, 50))
      await consumer.stop()
      consumer = createConsumer(connection, { queues: topology.queues, handler, retryDelayMs: 100 })
    }
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`no third delivery within 20 s (seen ${JSON.stringify(seen)})`)), 20_000))])
    await consumer.stop()
    t.equal(handled, config.amqp.deliveryLimit, `handled ${handled} times, then no more`)
    t.same(seen, [0, 1, 2], 'the consumer counted the deliveries that came to no end')
    const rows = (await store.listIncoming({ state: 'rejected', limit: 10 })).items
    t.equal(rows.length, 1, 'one record')
    t.match(rows[0]!.verdict, { ok: false, code: 'DELIVERY_LIMIT' })
    t.equal(rows[0]!.size, doc.bytes.length)
    t.ok(((await store.getIncomingBytes(rows[0]!.id))?.bytes.length ?? 0) <= config.limits.refusedKeepBytes, 'a bounded record: the message was not read')
    t.equal(await queueDepth(config.amqp.deadLetterQueuePrefix + H29), 1, 'dead-lettered')
    t.equal(await queueDepth(config.amqp.queuePrefix + H29), 0, 'and gone from the inbox')
  })
}
