/**
 * Clock skew of ±10 min between two gateways (config clock.offsetMs on the sender), on the real broker
 * (docs/operations.md, "Clocks, CRLs and trust anchors"): the gateway whose clock is behind refuses the other's
 * packages as SIGNING_TIME_IN_FUTURE beyond trust.signingTimeMaxFutureMs (default 5 min), stored and dead-lettered,
 * never answered; within the window (raised to 15 min) everything passes both ways.
 */
import t, { type Test } from 'tap'
import path from 'node:path'
import { loadConfig, type Config } from '../../../src/config.js'
import { startGateway, type RunningGateway } from '../../../src/server.js'
import { auth, deleteAmqpNames, eventually, G22, H29, KEYS, queueDepth, rawTestConfig, sampleDocument, silentLogger } from '../../helper.js'

const MIN = 60_000
const only = (raw: Record<string, any>, organId: string): Record<string, any> => ({ ...raw, agencies: raw.agencies.filter((a: { organId: string }) => a.organId === organId) })
const load = (dir: string, raw: Record<string, any>): Config => loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })

/** Gateway A hosting G22 (its clock moved by `offsetMs`) and gateway B hosting H29, on one broker, each its own SQLite store. */
async function pair(t: Test, offsetMs: number, trust: Record<string, unknown> = {}): Promise<{ a: RunningGateway; b: RunningGateway }> {
  const dirA = t.testdir({})
  const rawA = only(rawTestConfig(dirA, { trust, pipeline: { workers: 0, inspectWorkers: 0, receiveWorkers: 0 } }), G22)
  rawA.clock = { offsetMs }
  const rawB = only(rawTestConfig(dirA, { trust, pipeline: { workers: 0, inspectWorkers: 0, receiveWorkers: 0 } }), H29)
  rawB.amqp = rawA.amqp
  rawB.store = { path: path.join(dirA, 'b.sqlite') }
  const ca = load(dirA, rawA)
  const cb = load(dirA, rawB)
  const b = await startGateway(cb, { logger: silentLogger(), listen: false, receive: true })
  const a = await startGateway(ca, { logger: silentLogger(), listen: false, receive: true })
  t.teardown(async () => {
    await a.close()
    await b.close()
    await deleteAmqpNames(ca)
  })
  await Promise.all([a, b].map((g) => g.receiver!.whenConsuming({ timeoutMs: 10_000 })))
  return { a, b }
}

async function send(a: RunningGateway): Promise<string> {
  const r = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
  if (r.statusCode !== 202) throw new Error(r.body)
  return (r.json() as { id: string }).id
}

const incomingAt = async (g: RunningGateway, kind: 'edoc' | 'status') => (await g.store.listIncoming({ kind, limit: 50 })).items

t.test('clock skew of ±10 minutes between two gateways', async (t) => {
  t.test('sender 10 min ahead: refused SIGNING_TIME_IN_FUTURE at the recipient, dead-lettered, never answered', async (t) => {
    const { a, b } = await pair(t, +10 * MIN)
    const id = await send(a)
    const rejected = await eventually(async () => (await incomingAt(b, 'edoc')).find((i) => i.state === 'rejected'))
    t.match(rejected!.reason, /^SIGNING_TIME_IN_FUTURE: /, rejected!.reason ?? '')
    t.equal((await b.store.listPackages({ limit: 10 })).items.length, 0, 'no 01 and no 02 from the recipient')
    await eventually(async () => (await queueDepth(`${b.gateway.config.amqp.deadLetterQueuePrefix}${H29}`)) === 1 || undefined)
    const [d] = await a.store.getDeliveries(id)
    t.equal(d!.state, 'queued', 'the sender still waits for an answer (overdue in time, never lost)')
  })

  t.test('sender 10 min behind: the document is received; its 01 is refused at the sender as SIGNING_TIME_IN_FUTURE', async (t) => {
    const { a, b } = await pair(t, -10 * MIN)
    const id = await send(a)
    const doc = await eventually(async () => (await incomingAt(b, 'edoc')).find((i) => i.state === 'arrived'))
    t.ok(doc, 'signed 10 min in the past by the recipient\'s clock: within signingTimeMaxPastMs, received')
    const status = await eventually(async () => (await incomingAt(a, 'status'))[0])
    t.equal(status!.state, 'rejected', 'the 01, signed 10 min ahead of the sender\'s clock, is refused')
    t.match(status!.reason, /^SIGNING_TIME_IN_FUTURE: /, status!.reason ?? '')
    const [d] = await a.store.getDeliveries(id)
    t.equal(d!.state, 'queued', 'the delivery is not moved by a refused status')
  })

  t.test('within trust.signingTimeMaxFutureMs (15 min): accepted both ways', async (t) => {
    const { a, b } = await pair(t, +10 * MIN, { signingTimeMaxFutureMs: 15 * MIN })
    const id = await send(a)
    const d = await eventually(async () => {
      const [x] = await a.store.getDeliveries(id)
      return x?.state === 'delivered' ? x : undefined
    })
    t.equal(d?.state, 'delivered', 'received at B, 01 back at A')
    t.equal((await incomingAt(b, 'edoc'))[0]?.state, 'arrived', 'B stored the document')
    // the store's times are the gateway's own clock
    const sentAt = Date.parse((await a.store.getPackage(id))!.createdAt)
    t.ok(sentAt - Date.now() > 9 * MIN, 'A records its packages at its own (skewed) time')
  })
})

