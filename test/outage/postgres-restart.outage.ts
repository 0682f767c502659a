/**
 * The database goes away while documents are being sent: a gateway on PostgreSQL (store.driver postgres) whose
 * server is stopped like a crash (`pg_ctl stop -m immediate`) for about 3 s and started again.
 *
 * A DMS keeps sending, 4 at a time, each document with its own Idempotency-Key, and retries the same request when
 * the API answers 503. Shown: during the outage the API answers 503 GW_ERR_STORE_UNAVAILABLE and /readyz says the
 * store is down (never another status, nothing hangs); after the restart every document is accepted exactly once
 * (the retries of one key never make a second package) and nothing accepted is lost: the relay drains the outbox
 * and every accepted package is in the recipient's queue (at-least-once: a package whose confirm arrived while
 * the database was down is published again; receivers deduplicate on messageId).
 *
 * The database is a PostgreSQL cluster of this test's own (test/services/pg-cluster.ts); the broker is the
 * machine's RabbitMQ, which this test only uses (random names), never stops.
 */
import t from 'tap'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadConfig } from '../../src/config.js'
import { startGateway } from '../../src/server.js'
import { auth, deleteAmqpNames, drainQueue, eventually, H29, inboxOf, KEYS, queueDepth, rawTestConfig, sampleDocument, silentLogger } from '../helper.js'
import { pgClusterUnavailable, startPgCluster } from '../services/pg-cluster.js'

const skip = pgClusterUnavailable()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('PostgreSQL stopped while documents are sent, then started: 503 meanwhile, every document accepted once, none lost', { skip: skip ?? false }, async (t) => {
  const cluster = await startPgCluster(t)
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.store = { driver: 'postgres', url: cluster.url }
  const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
  const gw = await startGateway(config, { logger: silentLogger(), listen: false, receive: false })
  t.teardown(async () => {
    await gw.close()
    await deleteAmqpNames(config)
  })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })
  await gw.publisher.whenReady({ timeoutMs: 10_000 })

  let down = false
  const ids = new Set<string>()
  const statuses = new Map<number, number>()
  const unavailableCodes = new Set<string>()
  let unavailableWhileUp = 0
  let retriedAccepted = 0
  let sending = true
  let documents = 0
  // one DMS client: send a document, and on 503 the same request again (same key, same bytes) until it is accepted
  const sendOne = async () => {
    documents++
    const key = `outage-${randomBytes(6).toString('hex')}`
    const payload = JSON.stringify(sampleDocument())
    const giveUp = Date.now() + 30_000
    for (let attempt = 0; ; attempt++) {
      const r = await gw.app.inject({
        method: 'POST',
        url: '/v1/documents',
        headers: { ...auth(KEYS.g22), 'content-type': 'application/json', 'idempotency-key': key },
        payload,
      })
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1)
      if (r.statusCode === 202) {
        ids.add(r.json().id)
        if (attempt > 0) retriedAccepted++
        return
      }
      if (r.statusCode !== 503) throw new Error(`unexpected ${r.statusCode}: ${r.body}`)
      unavailableCodes.add(r.json().code)
      if (!down) unavailableWhileUp++
      if (Date.now() > giveUp) throw new Error(`still 503 after 30 s: ${r.body}`)
      await sleep(100)
    }
  }
  const sender = Promise.all(
    [1, 2, 3, 4].map(async () => {
      while (sending) {
        await sendOne()
        await sleep(5)
      }
    }),
  )

  // some accepted (and some of those relayed) before the crash
  await eventually(() => ids.size >= 20, 15_000)
  const beforeStop = ids.size
  down = true
  await cluster.stop('immediate')
  const tStop = Date.now()
  const ready = await gw.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503, 'not ready while the database is down')
  t.equal(ready.json().checks?.store?.ok, false, '/readyz names the store')
  await sleep(3000)
  const during = statuses.get(503) ?? 0
  await cluster.start()
  down = false
  t.comment(`database down for ${Date.now() - tStop} ms`)
  await sleep(1000)
  sending = false
  await sender

  t.ok(during > 0, `the API answered 503 ${during} times while the database was down`)
  t.same([...unavailableCodes], ['GW_ERR_STORE_UNAVAILABLE'], '503s say the store is unavailable (retryable)')
  t.same([...statuses.keys()].filter((s) => s !== 202 && s !== 503), [], 'no other status than 202 and 503')
  t.equal(ids.size, documents, `every document accepted once (${documents}: ${beforeStop} before the outage, ${retriedAccepted} after retrying)`)
  t.comment(`503 after the restart (a pool connection broken by the outage): ${unavailableWhileUp}`)

  // the relay drains: no delivery left in the outbox, every accepted package in the recipient's queue
  const queue = inboxOf(config, H29)
  t.ok(await eventually(async () => (await gw.store.listPackages({ state: 'accepted', limit: 1 })).items.length === 0, 30_000, 200), 'the outbox drained')
  await eventually(async () => (await queueDepth(queue).catch(() => 0)) >= ids.size, 30_000, 200)
  await sleep(300)
  const msgs = await drainQueue(queue)
  const counts = new Map<string, number>()
  for (const m of msgs) counts.set(String(m.properties.messageId), (counts.get(String(m.properties.messageId)) ?? 0) + 1)
  t.same([...ids].filter((id) => !counts.has(id)), [], 'no accepted document lost')
  t.same([...counts.keys()].sort(), [...ids].sort(), 'deduplicated on messageId: exactly the accepted documents')
  const twice = [...counts.values()].filter((n) => n > 1).length
  t.comment(`${ids.size} accepted, ${msgs.length} messages in the queue, ${twice} published again after the outage`)
  const log = await gw.store.verifyLog()
  t.ok(log.ok, 'hash chain intact after the crash and WAL replay')
})
