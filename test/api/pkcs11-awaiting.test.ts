// Sending while the signing token (a real SoftHSM2 token, its folder moved away and back) is pulled out, against
// the real RabbitMQ, through a gateway that hosts the sender (G22, key in the token) and the recipient (H29): the
// API answers 202 and the package waits in the outbox, unsigned and unpublished, shown in the answer, the document
// view, /readyz (ready, with the count), the gauge lienthong_outbox_awaiting_signature and the operator health view;
// put back, the token signs it, the relay publishes it, the recipient verifies it and answers 01 (delivered). A
// restart while it waits keeps it waiting, and it is sent once the token is back.
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createGateway, type Gateway } from '../../src/gateway.js'
import { loadAgencySigner } from '../../src/pipeline/signers.js'
import { createVerifier, loadPkcs11Signer, type Signer } from '../../src/signature/index.js'
import { openSqliteStore, type Store } from '../../src/store/index.js'
import { auth, deleteAmqpNames, G22, H29, inboxOf, KEYS, queueDepth, rawTestConfig, sampleDocument, silentLogger, STC, trustAnchorsPem } from '../helper.js'
import { removableToken, SAMPLE } from '../unit/signature/softhsm.js'

const dir = t.testdir()
const { token, pullOut, putBack } = removableToken(dir, { label: 'awaiting', pin: '314159', keyId: 'c1', organId: G22, cn: 'VPCP token awaiting' })
const verifier = createVerifier({ trustAnchors: trustAnchorsPem() })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const cfgDir = path.join(dir, 'gateway')
mkdirSync(cfgDir)
const config = loadConfig({ object: rawTestConfig(cfgDir, { relay: { pollIntervalMs: 100, retryDelayMs: 200 } }), file: path.join(cfgDir, 'config.json'), env: {} })
const tokenSigner = await loadPkcs11Signer({
  module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'vpcp-sign', pin: token.pin, name: `agency ${G22}`,
  chainPem: readFileSync(path.join(SAMPLE, 'intermediate-ca.pem'), 'utf8'),
  unavailableWaitMs: 500, reopenIntervalMs: 100,
})
const signers = new Map<string, Signer>([[G22, tokenSigner], [H29, await loadAgencySigner(config.agencies[1]!)], [STC, await loadAgencySigner(config.agencies[2]!)]])

interface Running {
  gateway: Gateway
  app: Awaited<ReturnType<typeof buildApp>>
  store: Store
  close(): Promise<void>
}

/** One gateway process: its store on the one SQLite file, the broker, its receiver; the token's signer is the test's. */
async function start(): Promise<Running> {
  const store = await openSqliteStore(config.store.path)
  const gateway = await createGateway(config, { store, signers, packager: null, logger: silentLogger(), trustWatch: { tokenProbeMs: 100 }, resigner: { intervalMs: 200 } })
  const app = await buildApp(gateway)
  await gateway.amqp!.connection.whenConnected({ timeoutMs: 10_000 })
  await gateway.amqp!.publisher.whenReady({ timeoutMs: 10_000 })
  await gateway.receiver?.whenConsuming({ timeoutMs: 10_000 })
  let closed = false
  return {
    gateway,
    app,
    store,
    async close() {
      if (closed) return
      closed = true
      await app.close()
      await gateway.close()
      await store.close()
    },
  }
}

let gw = await start()
t.teardown(async () => {
  await gw.close()
  await deleteAmqpNames(config)
  tokenSigner.token?.close()
})

const send = () => gw.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
const ready = () => gw.app.inject({ url: '/readyz' })
const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await gw.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body)?.[1])
const view = async (id: string) => (await gw.app.inject({ url: `/v1/documents/${id}`, headers: auth(KEYS.g22) })).json()
async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    const v = await f()
    if (v) return v
    await sleep(50)
  }
  throw new Error(`${what}: not within ${ms} ms`)
}
const stateOf = async (id: string) => (await gw.store.getDeliveries(id))[0]?.state
/** Every message published so far has been consumed by the recipient (H29's inbox is consumed by this gateway). */
const h29Inbox = () => queueDepth(inboxOf(config, H29))

/** The waiting package is signed by the token, published, verified by the recipient, and answered with 01. */
async function sentAndDelivered(t: Test, id: string) {
  const delivered = await until(`${id} delivered`, async () => (await stateOf(id)) === 'delivered')
  t.ok(delivered, 'published, verified by the recipient and answered with 01: delivered')
  t.equal(await gw.store.getAwaitingSignature(id), undefined, 'no longer waiting')
  const stored = (await gw.store.getPackageBytes(id))!
  t.ok(stored.signature.byteLength > 0, 'its signature is stored')
  const verdict = await verifier.verify(stored.bytes, stored.signature, { expectedOrganId: G22 })
  t.equal(verdict.code, 'VALID', verdict.message)
  t.match(verdict.signer?.subject ?? '', /VPCP token awaiting/, 'signed by the token')
  const pkg = (await gw.store.getPackage(id))!
  const received = (await gw.store.listIncoming({ recipient: H29, documentId: pkg.documentId, limit: 10 })).items
  t.match(received, [{ senderOrganId: G22, state: 'arrived', sha256: pkg.sha256 }], 'the recipient stored it, its signature valid')
  const tl = (await view(id)).deliveries[0].timeline
  t.match(
    tl.map((e: { type: string; state?: string }) => `${e.type}:${e.state}`),
    ['state:accepted', 'signed:accepted', 'state:queued', 'status:delivered'],
    'timeline: accepted (awaiting), signed, queued, delivered',
  )
  t.match(tl[0].cause, /awaiting its signature/)
  t.equal(tl[1].cause, 'signed after waiting for the signing token')
}

t.test('a token pulled out: the send waits in the outbox, seen everywhere, and goes by itself once the token is back', async (t) => {
  const first = await send()
  t.equal(first.statusCode, 202, first.body)
  t.notOk(first.json().awaitingSignature, 'signed at once while the token is in')
  await until('first delivered', async () => (await stateOf(first.json().id)) === 'delivered')

  pullOut()
  await until('token seen down', async () => (await ready()).json().checks.signing?.ok === false)
  const t0 = Date.now()
  const res = await send()
  t.equal(res.statusCode, 202, res.body)
  t.ok(Date.now() - t0 >= 400, `the send waited ${Date.now() - t0} ms for the token first`)
  const body = res.json()
  t.equal(body.awaitingSignature, true, 'the answer says it awaits its signature')
  t.same(body.deliveries, [{ recipient: H29, state: 'accepted' }])
  const id = body.id as string

  // not published: the delivery stays accepted, nothing for the relay, nothing reached the recipient
  await sleep(800)
  t.equal(await stateOf(id), 'accepted', 'still accepted')
  t.notOk((await gw.store.pendingDeliveries({ limit: 100 })).some((p) => p.packageId === id), 'never pending for the relay')
  t.equal(await h29Inbox(), 0, 'nothing on the broker')
  t.notOk((await gw.store.listIncoming({ recipient: H29, limit: 50 })).items.some((i) => i.documentId === body.documentId), 'the recipient has nothing')
  t.equal((await gw.store.getPackageBytes(id))!.signature.byteLength, 0, 'stored without a signature')

  // visible: the document view, /readyz (ready, with the count), the gauge, the operator health view
  const v = await view(id)
  t.match(v.awaitingSignature, { since: v.createdAt, attempts: Number, reason: /GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE/ })
  t.match(v.deliveries[0].timeline[0], { state: 'accepted', cause: /awaiting its signature/ })
  const list = (await gw.app.inject({ url: '/v1/documents?limit=50', headers: auth(KEYS.g22) })).json()
  t.match(list.items.find((i: { id: string }) => i.id === id), { awaitingSignature: { since: v.createdAt, attempts: Number } }, 'the list says so too')
  t.notOk(list.items.some((i: { id: string; awaitingSignature?: unknown }) => i.id !== id && i.awaitingSignature), 'and of no other document')
  const r = await ready()
  t.equal(r.statusCode, 200, 'still ready: documents are accepted and wait')
  t.match(r.json().checks.signing, { ok: false, awaitingSignature: 1, detail: /000\.00\.00\.G22: token down since .*1 package\(s\) awaiting their signature/ })
  t.equal(await metric('lienthong_outbox_awaiting_signature'), 1, 'the gauge says so')
  const health = (await gw.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json()
  t.equal(health.store.awaitingSignature, 1, 'the console says so')
  t.match(health.tokens[0], { organId: G22, ok: false })

  // put back: the token signs it by itself, then it is published and delivered
  putBack()
  await sentAndDelivered(t, id)
  const after = await ready()
  t.match(after.json().checks.signing, { ok: true, awaitingSignature: 0 })
  t.equal(await metric('lienthong_outbox_awaiting_signature'), 0)
})

t.test('a restart while a package waits: it still waits, then goes once the token is back', async (t) => {
  pullOut()
  await until('token seen down', async () => (await ready()).json().checks.signing?.ok === false)
  const res = await send()
  t.equal(res.statusCode, 202, res.body)
  t.equal(res.json().awaitingSignature, true)
  const id = res.json().id as string

  await gw.close()
  gw = await start()
  await sleep(800)
  t.equal(await stateOf(id), 'accepted', 'after the restart: still accepted')
  t.match(await gw.store.getAwaitingSignature(id), { packageId: id, signer: G22 }, 'still waiting')
  t.equal(await h29Inbox(), 0, 'nothing published')
  t.match((await ready()).json().checks.signing, { ok: false, awaitingSignature: 1 })

  putBack()
  await sentAndDelivered(t, id)
})

t.test('the 01 of a document received while the token is out waits with it, and is sent once the token is back', async (t) => {
  pullOut()
  await until('token seen down', async () => (await ready()).json().checks.signing?.ok === false)
  const doc = sampleDocument({ recipients: [{ organId: G22, name: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' }] })
  const res = await gw.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.h29), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
  t.equal(res.statusCode, 202, res.body)
  t.notOk(res.json().awaitingSignature, 'H29 signs with a key file')
  const sent = res.json().id as string
  // G22 receives and stores it; its 01, signed by G22's token, waits
  const incoming = await until('received by G22', async () => (await gw.store.listIncoming({ recipient: G22, documentId: res.json().documentId, limit: 10 })).items[0])
  t.equal(incoming.state, 'arrived', 'stored, its signature valid')
  const waiting = await until('its 01 waits', async () => (await gw.store.listAwaitingSignature({ limit: 10, signer: G22 })).find((w) => w.kind === 'status' && w.documentId === res.json().documentId))
  t.match(waiting, { kind: 'status', senderOrganId: G22, reason: /TOKEN_UNAVAILABLE/ })
  await sleep(500)
  t.equal(await stateOf(sent), 'queued', 'the sender has no 01 yet')

  putBack()
  const delivered = await until('01 arrived at H29', async () => (await stateOf(sent)) === 'delivered')
  t.ok(delivered, 'the 01 signed by the token, sent, and applied by H29: delivered')
  t.equal(await gw.store.getAwaitingSignature(waiting.packageId), undefined)
  const st = (await gw.store.getPackageBytes(waiting.packageId))!
  t.equal((await verifier.verify(st.bytes, st.signature, { expectedOrganId: G22 })).code, 'VALID', 'the 01 verifies')
})
