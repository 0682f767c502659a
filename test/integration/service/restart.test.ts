/**
 * The gateway as a process (`lienthong serve`): nothing accepted is lost when the broker is unreachable or when the
 * process is killed (SIGKILL) between accepting a document and the broker's confirm.
 */
import t from 'tap'
import { auth, drainQueue, eventually, H26, KEYS, observerQueue, queueDepth, rawTestConfig, sampleDocument } from '../../helper.js'
import { kill, processesOf, serve } from '../scale/helpers.js'


/** Documents to H26: not hosted by the test gateway (whose consumer takes its own inboxes); the test reads its queue. */
const toH26 = () => sampleDocument({ recipients: [{ organId: H26, name: 'Ủy ban nhân dân Thành phố Hà Nội', organizationInCharge: 'Chính phủ' }] })

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/v1/documents`, { method: 'POST', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: r.status, json: await r.json() }
}

t.test('broker unreachable: accepted into the outbox; SIGKILL; restarted with the broker: every document arrives once', async (t) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir, { amqp: { url: 'amqp://guest:guest@127.0.0.1:1' } })
  const { file, config, children } = processesOf(t, dir, raw)

  const queue = await observerQueue(config)

  // 1. no broker: the API still accepts documents; readiness says the broker is down; the log says what to do
  const a = await serve(file)
  children.push(a)
  const ids: string[] = []
  for (let i = 0; i < 20; i++) {
    const r = await post(a.url, toH26())
    t.equal(r.status, 202)
    ids.push(r.json.id)
  }
  const ready = await fetch(`${a.url}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { checks: { broker: { ok: false } } })
  await eventually(() => a.output().includes('RabbitMQ is not reachable at amqp://guest:***@127.0.0.1:1'), 5000)
  t.match(a.output(), /RabbitMQ is not reachable at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1.*the API still accepts documents/, 'says which URL and what to do, without the password')
  t.equal(await kill(a, 'SIGKILL'), null, 'killed')

  // 2. restarted with the broker (LIENTHONG_AMQP_URL overrides the file): the outbox is published
  const b = await serve(file, { LIENTHONG_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672' })
  children.push(b)
  await eventually(async () => (await queueDepth(queue).catch(() => 0)) >= ids.length, 15_000)
  await new Promise((r) => setTimeout(r, 300)) // any duplicate would arrive now
  const msgs = await drainQueue(queue)
  t.same(msgs.map((m) => m.properties.messageId).sort(), [...ids].sort(), 'every accepted document, exactly once')
  const view = (await (await fetch(`${b.url}/v1/documents/${ids[0]}`, { headers: auth(KEYS.g22) })).json()) as { deliveries: { state: string }[] }
  t.equal(view.deliveries[0]?.state, 'queued')
  t.equal(await kill(b, 'SIGTERM'), 0, 'graceful stop exits 0')
  t.match(b.output(), /shutting down/)
})

t.test('SIGKILL while documents are between accept and confirm: after restart none is lost', async (t) => {
  const dir = t.testdir({})
  // a narrow relay (few publishes in flight) so that the outbox backs up and the kill finds documents accepted
  // but not yet confirmed
  const raw = rawTestConfig(dir, { relay: { maxInFlight: 2, batchSize: 5 } })
  const { file, config, children } = processesOf(t, dir, raw)
  const queue = await observerQueue(config)

  const a = await serve(file)
  children.push(a)
  const ids: string[] = []
  // many concurrent sends; the process is killed as soon as half of them were answered 202, with confirms (and
  // requests) still outstanding
  const N = 400
  let killed: Promise<unknown> | undefined
  await Promise.allSettled(
    Array.from({ length: N }, async () => {
      const r = await post(a.url, toH26())
      if (r.status === 202) ids.push(r.json.id)
      if (ids.length >= N / 2) killed ??= kill(a, 'SIGKILL')
    }),
  )
  await (killed ?? kill(a, 'SIGKILL'))
  t.ok(ids.length >= N / 2, `${ids.length} accepted before the kill`)
  const before = await queueDepth(queue)
  t.comment(`${before} of ${ids.length} were in the queue when the process died`)

  const b = await serve(file)
  children.push(b)
  const got = new Map<string, number>()
  await eventually(async () => {
    for (const m of await drainQueue(queue)) got.set(m.properties.messageId as string, (got.get(m.properties.messageId as string) ?? 0) + 1)
    return ids.every((id) => got.has(id))
  }, 20_000, 200)
  const missing = ids.filter((id) => !got.has(id))
  t.same(missing, [], 'no accepted document lost')
  t.comment(`${[...got.values()].filter((n) => n > 1).length} republished after the restart (at-least-once; receivers deduplicate on messageId)`)
  t.equal(await kill(b, 'SIGTERM'), 0)
})
