import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createMetrics } from '../../src/metrics.js'
import { auth, buildTestApp, G22, H26, H29, KEYS, sampleDocument } from '../helper.js'

const send = (app: any, doc: unknown, key: string = KEYS.g22) =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })

/** The value of one sample line `name{labels} value` (labels in any order given as a substring). */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    if (labels && !(m[2] ?? '').includes(labels)) continue
    if (!labels && m[2]) continue
    return Number(m[3])
  }
  return undefined
}

t.test('/metrics: operator key (or metrics.public), Prometheus text with the gateway families and sensible values', async (t) => {
  const { app, store } = await buildTestApp(t)
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: auth(KEYS.g22) })).statusCode, 403)
  const first = await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })
  t.equal(first.statusCode, 200)
  t.match(first.headers['content-type'], /^text\/plain; version=0\.0\.4/)

  // traffic after start: 2 documents from G22 (one to two recipients), one queued, one failed, an incoming rejected and one received, statuses
  const a = (await send(app, sampleDocument())).json()
  const b = (await send(app, sampleDocument({ recipients: [{ organId: H29, name: 'UBND', organizationInCharge: 'CP' }, { organId: H26, name: 'UBND HN', organizationInCharge: 'CP' }] }))).json()
  const [da] = await store.getDeliveries(a.id)
  const [db1, db2] = await store.getDeliveries(b.id)
  await store.markQueued(da!.id)
  await store.markQueued(db1!.id)
  await store.markFailed(db2!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue', 'system')
  await store.transition(da!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01' })
  await store.transition(da!.id, 'registered', { cause: 'status 03 from peer', actor: `peer:${H29}`, statusCode: '03' })
  await store.transition(db1!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01' })
  const incoming = (state: 'arrived' | 'rejected', code: string) =>
    store.recordIncoming({
      package: { id: randomUUID(), kind: 'edoc', documentId: `${H26},2026/11/25,${randomUUID().slice(0, 4)}/BC`, senderOrganId: H26, recipient: G22, bytes: Buffer.from(randomUUID()), sha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), verdict: { ok: state === 'arrived', code } },
      state,
      ...(state === 'rejected' ? { reason: `${code}: bad` } : {}),
      actor: `peer:${H26}`,
    })
  await incoming('rejected', 'REVOKED')
  await incoming('rejected', 'REVOKED')
  await incoming('rejected', 'SENDER_MISMATCH')
  await incoming('arrived', 'VALID')

  const text = (await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  for (const family of [
    'lienthong_documents_sent_total',
    'lienthong_documents_received_total',
    'lienthong_documents_rejected_total',
    'lienthong_statuses_total',
    'lienthong_deliveries',
    'lienthong_incoming',
    'lienthong_overdue_deliveries',
    'lienthong_publish_duration_seconds',
    'lienthong_verify_duration_seconds',
    'lienthong_queue_messages',
    'lienthong_outbox_backlog',
    'lienthong_outbox_awaiting_signature',
    'lienthong_certificate_expiry_days',
    'lienthong_log_events',
  ]) {
    t.match(text, new RegExp(`^# TYPE ${family} `, 'm'), `${family} present`)
  }
  t.equal(sample(text, 'lienthong_documents_sent_total', `sender="${G22}"`), 2, 'two documents (not three deliveries)')
  t.equal(sample(text, 'lienthong_deliveries_failed_total'), 1)
  t.equal(sample(text, 'lienthong_documents_rejected_total', 'code="REVOKED"'), 2)
  t.equal(sample(text, 'lienthong_documents_rejected_total', 'code="SENDER_MISMATCH"'), 1)
  t.equal(sample(text, 'lienthong_documents_received_total', `recipient="${G22}"`), 1)
  t.equal(sample(text, 'lienthong_statuses_total', 'code="01"'), 2)
  t.equal(sample(text, 'lienthong_statuses_total', 'code="03"'), 1)
  t.equal(sample(text, 'lienthong_deliveries', 'state="registered"'), 1)
  t.equal(sample(text, 'lienthong_deliveries', 'state="delivered"'), 1)
  t.equal(sample(text, 'lienthong_deliveries', 'state="failed"'), 1)
  t.equal(sample(text, 'lienthong_deliveries', 'state="completed"'), 0, 'every state is exported, zeros included')
  t.equal(sample(text, 'lienthong_incoming', 'state="rejected"'), 3)
  t.equal(sample(text, 'lienthong_outbox_backlog'), 0)
  t.equal(sample(text, 'lienthong_outbox_awaiting_signature'), 0, 'nothing waits for a signing token')
  t.equal(sample(text, 'lienthong_log_events'), (await store.stats()).events)
  t.equal(sample(text, 'lienthong_overdue_deliveries'), 0)
  const days = sample(text, 'lienthong_certificate_expiry_days', `agency="${G22}"`)
  t.ok(days !== undefined && days > 30 && days < 10 * 366, `G22 certificate expires in ${days} days`)
  t.equal(sample(text, 'lienthong_store_up'), 1)

  // counters only grow; a second scrape without traffic changes nothing
  const again = (await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  t.equal(sample(again, 'lienthong_documents_sent_total', `sender="${G22}"`), 2)
})

t.test('two apps in one process keep separate registries; metrics.public opens /metrics', async (t) => {
  const one = await buildTestApp(t)
  const two = await buildTestApp(t, { deps: { ops: { metricsPublic: true } } })
  await send(one.app, sampleDocument())
  const m1 = (await one.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  await send(one.app, sampleDocument())
  const pub = await two.app.inject({ url: '/metrics' })
  t.equal(pub.statusCode, 200, 'public without a key')
  t.equal(sample(pub.body, 'lienthong_documents_sent_total', `sender="${G22}"`), undefined, 'nothing sent through the second app')
  t.equal(sample(pub.body, 'lienthong_deliveries', 'state="accepted"'), 0)
  t.equal(sample(m1, 'lienthong_documents_sent_total', `sender="${G22}"`), 1)
  t.equal(sample((await one.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body, 'lienthong_deliveries', 'state="accepted"'), 2)
})

t.test('publish and verify histograms through the wrappers; queue depth with a timeout', async (t) => {
  const m = createMetrics({ defaultMetrics: false })
  const publisher = m.wrapPublisher({ ready: true, publish: async (x: number) => (await new Promise((r) => setTimeout(r, 5)), x * 2) })
  t.equal(await publisher.publish(21), 42)
  t.equal(publisher.ready, true, 'other members pass through')
  const failing = m.wrapPublisher({ publish: async (_x: number) => Promise.reject(Object.assign(new Error('x'), { code: 'GW_ERR_TRANSPORT_UNROUTABLE' })) })
  await t.rejects(failing.publish(1))
  const verifier = m.wrapVerifier({ verify: async (_c: Uint8Array, _s: Uint8Array) => ({ ok: false, code: 'REVOKED' }) })
  t.equal((await verifier.verify(new Uint8Array(), new Uint8Array())).code, 'REVOKED')
  const { app, store } = await buildTestApp(t, {
    deps: {
      ops: {
        metrics: m,
        queueInspector: {
          messageCount: async (q: string) => (q.includes('.dlq.') ? new Promise<number>(() => {}) : q.endsWith(G22) ? 7 : 0),
        },
      },
    },
  })
  void store
  const text = (await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  t.equal(sample(text, 'lienthong_publish_duration_seconds_count', 'outcome="confirmed"'), 1)
  t.equal(sample(text, 'lienthong_publish_duration_seconds_count', 'outcome="failed"'), 1)
  t.ok(sample(text, 'lienthong_publish_duration_seconds_sum', 'outcome="confirmed"')! >= 0.004)
  t.equal(sample(text, 'lienthong_verify_duration_seconds_count', 'code="REVOKED"'), 1)
  t.equal(sample(text, 'lienthong_queue_messages', `agency="${G22}",queue="inbox"`), 7)
  t.equal(sample(text, 'lienthong_queue_messages', `agency="${H29}",queue="inbox"`), 0)
  t.equal(sample(text, 'lienthong_queue_messages', 'queue="dead-letter"'), undefined, 'a broker call that hangs is left out after the timeout')
  // the error counter is serialised concurrently with the queue gauge: it shows from the next scrape on
  const next = (await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  t.ok(sample(next, 'lienthong_metrics_scrape_errors_total', 'part="broker"')! >= 1, 'the timeout is counted')
})

t.test('wrappers keep the wrapped object working when it uses #private fields', async (t) => {
  class Pub {
    #ready = true
    #n = 0
    get ready() {
      return this.#ready
    }
    async publish(x: number) {
      this.#n += x
      return this.#n
    }
  }
  const m = createMetrics({ defaultMetrics: false })
  const p = m.wrapPublisher(new Pub())
  t.equal(p.ready, true)
  t.equal(await p.publish(2), 2)
  t.equal(await p.publish(3), 5)
})

t.test('a running gateway (real broker): publish latency, queue depths of every hosted agency', async (t) => {
  const { startTestGateway, eventually } = await import('../helper.js')
  const gw = await startTestGateway(t)
  const sent = (await send(gw.app, sampleDocument())).json()
  const queued = await eventually(async () => (await gw.store.getDeliveries(sent.id))[0]!.state !== 'accepted', 10_000)
  t.ok(queued, 'the relay published it')
  const text = (await gw.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
  t.ok(sample(text, 'lienthong_publish_duration_seconds_count', 'outcome="confirmed"')! >= 1, 'publish observed')
  for (const a of gw.config.agencies) {
    t.ok(sample(text, 'lienthong_queue_messages', `agency="${a.organId.toUpperCase()}",queue="inbox"`) !== undefined, `inbox depth of ${a.organId}`)
    t.ok(sample(text, 'lienthong_queue_messages', `agency="${a.organId.toUpperCase()}",queue="dead-letter"`) !== undefined, `dead-letter depth of ${a.organId}`)
  }
  t.equal(sample(text, 'lienthong_documents_sent_total', `sender="${G22}"`), 1)
})

t.test('one document and its statuses through a running gateway: documents and status packages counted apart, no doubled prefix', async (t) => {
  const { startTestGateway, eventually } = await import('../helper.js')
  // G22 sends to H29, hosted by the same gateway: the document goes through the broker, H29 answers 01 on its own
  const gw = await startTestGateway(t, { receive: true })
  const first = (await gw.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body // counters start here
  const sent = (await send(gw.app, sampleDocument())).json()
  const inbox = await eventually(async () => {
    const r = (await gw.app.inject({ url: `/v1/inbox?documentId=${encodeURIComponent(sent.documentId)}`, headers: auth(KEYS.h29) })).json()
    return r.items?.find((i: { kind: string }) => i.kind === 'edoc')
  }, 15_000)
  t.ok(inbox, 'H29 received the document')
  t.ok(await eventually(async () => (await gw.store.getDeliveries(sent.id))[0]!.statusCode === '01' || undefined, 15_000), 'the 01 came back')
  // H29's DMS registers it: a status 03 goes back through the broker too
  const st = await gw.app.inject({ method: 'POST', url: `/v1/inbox/${inbox.id}/status`, headers: { ...auth(KEYS.h29), 'content-type': 'application/json' }, payload: JSON.stringify({ code: '03' }) })
  t.equal(st.statusCode, 202, st.body)
  t.ok(await eventually(async () => (await gw.store.getDeliveries(sent.id))[0]!.statusCode === '03' || undefined, 15_000), 'the 03 came back')

  const scraped = await eventually(async () => {
    const body = (await gw.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body
    return sample(body, 'lienthong_status_packages_received_total', `code="03"`) === 1 ? body : undefined
  }, 10_000)
  t.ok(scraped, 'the scrape counts the 03 package')
  const text = scraped ?? ''
  t.equal(sample(text, 'lienthong_documents_sent_total', `sender="${G22}"`), 1, 'one document sent')
  t.equal(sample(text, 'lienthong_documents_received_total', `recipient="${H29}"`), 1, 'one document received')
  t.equal(sample(text, 'lienthong_documents_received_total', `recipient="${G22}"`), undefined, 'the statuses G22 received are not documents')
  t.equal(sample(text, 'lienthong_status_packages_sent_total', `sender="${H29}",code="01"`), 1, 'the automatic 01')
  t.equal(sample(text, 'lienthong_status_packages_sent_total', `sender="${H29}",code="03"`), 1, 'the DMS 03')
  t.equal(sample(text, 'lienthong_status_packages_received_total', `recipient="${G22}",code="01"`), 1)
  t.equal(sample(text, 'lienthong_status_packages_received_total', `recipient="${G22}",code="03"`), 1)
  t.equal(sample(text, 'lienthong_statuses_total', 'direction="out",code="03"'), 1, 'the 03 moved our delivery')

  // default process metrics: the gateway prefix once
  for (const body of [first, text]) {
    t.notMatch(body, /lienthong_process_process_|lienthong_process_nodejs_|lienthong_lienthong_/, 'no doubled prefix')
    t.match(body, /^# TYPE lienthong_process_cpu_user_seconds_total counter$/m, 'process metrics under lienthong_process_')
    t.match(body, /^# TYPE lienthong_nodejs_heap_size_used_bytes gauge$/m, 'Node metrics under lienthong_nodejs_')
  }
  const names = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!))
  for (const n of names) t.match(n, /^lienthong_(?!.*(process_process|nodejs_nodejs))/, `${n}: one prefix`)
})
