/**
 * The inbox API and webhooks on a running gateway (real RabbitMQ, real SQLite file, the gateway's own consumer):
 * G22's DMS sends a document to H29 (both hosted here); H29's DMS is told by webhook, reads it from its inbox,
 * answers 03; G22's DMS is told of 01 and 03 by webhook; G22 recalls it (status 13), H29 is told and agrees (15),
 * and the delivery ends `recalled`.
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startGateway } from '../../src/server.js'
import { auth, deleteAmqpNames, eventually, G22, H29, KEYS, rawTestConfig, sampleDocument, silentLogger } from '../helper.js'

const SECRETS: Record<string, string> = { g22: 'secret-of-the-vpcp-dms-0001', h29: 'secret-of-the-ubnd-hcm-dms-02' }

t.test('end to end: document.received, status.changed (01, 03, 15) and recall.requested reach the DMSs; inbox API answers', async (t) => {
  const got: { who: string; body: any; ok: boolean }[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const who = (req.url ?? '').split('/').pop() as string
      const ok = req.headers['x-lienthong-signature'] === `sha256=${createHmac('sha256', SECRETS[who] ?? '').update(raw).digest('hex')}`
      got.push({ who, body: JSON.parse(raw.toString('utf8')), ok })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dms`

  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.agencies[0].clients[0].webhook = { url: `${base}/g22`, secret: SECRETS.g22 }
  raw.agencies[1].clients[0].webhook = { url: `${base}/h29`, secret: SECRETS.h29 }
  const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
  const gw = await startGateway(config, { logger: silentLogger(), listen: false, receive: true })
  t.teardown(async () => {
    await gw.close()
    await deleteAmqpNames(config)
  })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })
  await gw.receiver!.whenConsuming({ timeoutMs: 10_000 })
  const app = gw.app
  const find = (who: string, type: string, pred: (d: any) => boolean = () => true) => got.find((g) => g.who === who && g.body.type === type && pred(g.body.data))

  // 1. G22 sends a document with a PDF to H29
  const doc = sampleDocument()
  const sent = (
    await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
  ).json()
  t.ok(sent.id, 'accepted')

  // 2. H29's DMS is told, reads it from the inbox, downloads the PDF
  const received = await eventually(() => find('h29', 'document.received'), 15_000)
  t.ok(received, 'document.received reached H29’s DMS')
  t.ok(received?.ok, 'with a valid HMAC')
  const inboxId = received?.body.data.inboxId as string
  t.match(received?.body.data, { documentId: sent.documentId, sender: G22, recipient: H29 })
  const item = (await app.inject({ url: `/v1/inbox/${inboxId}`, headers: auth(KEYS.h29) })).json()
  t.match(item, { state: 'arrived', verdict: { ok: true, code: 'VALID' }, sender: G22 })
  const cid = item.attachments[0].contentId
  const pdf = await app.inject({ url: `/v1/inbox/${inboxId}/attachments/${cid}`, headers: auth(KEYS.h29) })
  t.ok(pdf.rawPayload.equals(Buffer.from(doc.attachments![0]!.data, 'base64')), 'the identical PDF bytes')

  // 3. G22's DMS is told of the 01
  const s01 = await eventually(() => find('g22', 'status.changed', (d) => d.statusCode === '01'), 15_000)
  t.match(s01?.body.data, { packageId: sent.id, statusCode: '01', state: 'delivered', recipient: H29 })

  // 4. H29 acknowledges and answers 03; G22 is told
  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${inboxId}/ack`, headers: auth(KEYS.h29) })).json().state, 'fetched')
  const r03 = await app.inject({
    method: 'POST',
    url: `/v1/inbox/${inboxId}/status`,
    headers: { ...auth(KEYS.h29), 'content-type': 'application/json' },
    payload: JSON.stringify({ code: '03', staff: { department: 'Văn thư', name: 'Phạm Thị Dung' } }),
  })
  t.equal(r03.statusCode, 202, r03.body)
  const s03 = await eventually(() => find('g22', 'status.changed', (d) => d.statusCode === '03'), 15_000)
  t.match(s03?.body.data, { packageId: sent.id, statusCode: '03', state: 'registered', changed: true })

  // 5. G22 recalls it; H29 is told and agrees; G22 is told and the delivery is recalled
  const rec = await app.inject({
    method: 'POST',
    url: `/v1/documents/${sent.id}/recall`,
    headers: { ...auth(KEYS.g22), 'content-type': 'application/json' },
    payload: JSON.stringify({ reason: 'Ban hành nhầm' }),
  })
  t.equal(rec.statusCode, 202, rec.body)
  const rr = await eventually(() => find('h29', 'recall.requested'), 15_000)
  t.match(rr?.body.data, { inboxId, method: 'status13', reason: 'Ban hành nhầm' })
  t.equal((await app.inject({ url: `/v1/inbox/${inboxId}`, headers: auth(KEYS.h29) })).json().state, 'recall-requested')
  const r15 = await app.inject({
    method: 'POST',
    url: `/v1/inbox/${inboxId}/status`,
    headers: { ...auth(KEYS.h29), 'content-type': 'application/json' },
    payload: JSON.stringify({ code: '15', description: 'Đồng ý thu hồi' }),
  })
  t.equal(r15.statusCode, 202, r15.body)
  const s15 = await eventually(() => find('g22', 'status.changed', (d) => d.statusCode === '15'), 15_000)
  t.match(s15?.body.data, { packageId: sent.id, statusCode: '15', state: 'recalled' })
  const view = (await app.inject({ url: `/v1/documents/${sent.id}`, headers: auth(KEYS.g22) })).json()
  t.equal(view.deliveries[0].state, 'recalled')
  const types = view.deliveries[0].timeline.map((e: { type: string; statusCode?: string; state?: string }) => `${e.type}:${e.statusCode ?? e.state}`)
  t.ok(types.includes('recall-requested:13'), `the recall request is in the timeline (${types.join(' ')})`)
  t.ok(got.every((g) => g.ok), 'every webhook carried a valid signature')

  // 6. a second document recalled with a revoke document (type 1); H29 refuses (16)
  const doc2 = sampleDocument()
  const sent2 = (
    await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(doc2) })
  ).json()
  const received2 = await eventually(() => find('h29', 'document.received', (d) => d.documentId === sent2.documentId), 15_000)
  const inbox2 = received2?.body.data.inboxId as string
  const revoke = await app.inject({
    method: 'POST',
    url: `/v1/documents/${sent2.id}/recall`,
    headers: { ...auth(KEYS.g22), 'content-type': 'application/json' },
    payload: JSON.stringify({ reason: 'Thu hồi để sửa', method: 'revoke' }),
  })
  t.equal(revoke.statusCode, 202, revoke.body)
  const rr2 = await eventually(() => find('h29', 'recall.requested', (d) => d.inboxId === inbox2), 15_000)
  t.match(rr2?.body.data, { inboxId: inbox2, method: 'revoke' }, 'the revoke document is announced as a recall of the original')
  t.equal((await app.inject({ url: `/v1/inbox/${inbox2}`, headers: auth(KEYS.h29) })).json().state, 'recall-requested')
  const r16 = await app.inject({
    method: 'POST',
    url: `/v1/inbox/${inbox2}/status`,
    headers: { ...auth(KEYS.h29), 'content-type': 'application/json' },
    payload: JSON.stringify({ code: '16', description: 'Văn bản đã được thực hiện' }),
  })
  t.equal(r16.statusCode, 202, r16.body)
  const s16 = await eventually(() => find('g22', 'status.changed', (d) => d.statusCode === '16'), 15_000)
  t.match(s16?.body.data, { statusCode: '16', state: 'recall-refused', packageId: sent2.id, requestPackageId: revoke.json().recipients[0].requestPackageId }, 'names the recalled original')
  const view2 = (await app.inject({ url: `/v1/documents/${sent2.id}`, headers: auth(KEYS.g22) })).json()
  t.equal(view2.deliveries[0].state, 'recall-refused')
  t.ok(got.every((g) => g.ok), 'every webhook carried a valid signature')
})
