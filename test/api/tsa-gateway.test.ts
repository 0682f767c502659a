// Outgoing CAdES-T through the gateway, against an independent TSA (`openssl ts -reply` on 127.0.0.1): with
// trust.tsa.url every signature the gateway makes (documents, with and without the signing worker pool, and status
// packages) carries a signature timestamp token that `openssl ts -verify` accepts as stored; a TSA that is down
// makes the send answer 503 GW_ERR_SIGNATURE_TSA_UNAVAILABLE (retryable, Retry-After) with nothing stored, and the
// same request sent again once it is back succeeds; `onUnavailable: send-without` sends it unstamped. POST /v1/verify
// reports the token and the time validity was judged at.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createGateway } from '../../src/gateway.js'
import { createPackagePool } from '../../src/pipeline/package-pool.js'
import { loadSigners } from '../../src/pipeline/signers.js'
import { addSignatureTimestamp, createVerifier, signatureTimestampOf } from '../../src/signature/index.js'
import { parseCms } from '../../src/signature/cms.js'
import { openSqliteStore } from '../../src/store/index.js'
import { auth, G22, H29, KEYS, rawTestConfig, sampleDocument, silentLogger, trustAnchorsPem } from '../helper.js'
import { issue, makeRoot, opensslStatus } from '../unit/signature/openssl-pki.js'
import { startOpensslTsa } from '../unit/signature/openssl-tsa.js'

const dir = t.testdir()
const tsaRoot = makeRoot(path.join(dir, 'tsaroot'), '/C=VN/CN=Gateway TSA Root')
const tsaCert = issue(tsaRoot, path.join(dir, 'tsa'), '/C=VN/CN=Gateway TSA', { extensions: 'v3_tsa' })
const tsa = await startOpensslTsa(path.join(dir, 'tsa-srv'), tsaCert, tsaRoot.certPem)
t.teardown(() => tsa.close())
const verifier = createVerifier({ trustAnchors: trustAnchorsPem(), tsa: { trustAnchors: tsaRoot.certPem } })

function tsaConfig(t: Test, over: Record<string, unknown> = {}): Config {
  const d = t.testdir({})
  const raw = rawTestConfig(d)
  return loadConfig({
    object: { ...raw, trust: { ...raw.trust, tsa: { url: tsa.url, anchorsPaths: [tsaRoot.certPath], waitMs: 800, timeoutMs: 30_000, ...over } } },
    file: path.join(d, 'config.json'),
    env: {},
  })
}

async function appWith(t: Test, config: Config, withPool = false) {
  const store = await openSqliteStore(config.store.path)
  const packager = withPool ? await createPackagePool(config.agencies, 1) : null
  const gateway = await createGateway(config, {
    store, signers: await loadSigners(config), packager, relay: { wake() {} }, broker: { state: 'connected', redactedUrl: 'amqp://test' }, logger: silentLogger(),
  })
  const app = await buildApp(gateway)
  t.teardown(async () => {
    await app.close()
    await gateway.close()
    await packager?.close()
    await store.close()
  })
  return { app, store, gateway }
}

const send = (app: Awaited<ReturnType<typeof buildApp>>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json', ...headers }, payload: JSON.stringify(sampleDocument()) })

/** openssl ts -verify over the token as stored in the CMS, for the digest of the signature value. */
function opensslAcceptsToken(name: string, cms: Uint8Array): number {
  const p = parseCms(cms)
  const token = signatureTimestampOf(p.unsignedAttrs).token
  if (!token) return -1
  const file = path.join(dir, `${name}.tst`)
  writeFileSync(file, token)
  const digest = createHash('sha256').update(p.signature).digest('hex')
  return opensslStatus(['ts', '-verify', '-token_in', '-in', file, '-digest', digest, '-CAfile', tsaRoot.certPath, '-untrusted', tsaCert.certPath]).status
}

for (const withPool of [false, true]) {
  t.test(`documents and statuses carry a signature timestamp (${withPool ? 'with' : 'without'} the signing worker pool)`, async (t) => {
    tsa.mode = 'ok'
    const { app, store, gateway } = await appWith(t, tsaConfig(t), withPool)
    const res = await send(app)
    t.equal(res.statusCode, 202, res.body)
    const stored = await store.getPackageBytes(res.json().id)
    t.equal(opensslAcceptsToken(`doc-${withPool}`, stored!.signature), 0, 'openssl ts -verify accepts the stored token')
    t.match(await verifier.verify(stored!.bytes, stored!.signature, { expectedOrganId: G22 }), { code: 'VALID', timeSource: 'timestamp', timestamp: { verdict: 'valid', tsa: /Gateway TSA/ } })
    const st = await gateway.statuses.send({ from: G22, to: H29, statusCode: '03', responseFor: { code: '1/UBND', documentId: `${H29},2026/11/25,1/UBND` } })
    const sp = await store.getPackageBytes(st.id)
    t.equal(opensslAcceptsToken(`status-${withPool}`, sp!.signature), 0, 'the status package is stamped too')
  })
}

t.test('a TSA that is down: 503 retryable with nothing stored; the same request goes through once it is back', async (t) => {
  const { app, store } = await appWith(t, tsaConfig(t))
  tsa.mode = 'down'
  const headers = { 'idempotency-key': 'tsa-down-1' }
  const res = await send(app, headers)
  t.equal(res.statusCode, 503, res.body)
  t.equal(res.json().code, 'GW_ERR_SIGNATURE_TSA_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '5')
  t.equal((await store.listPackages({ limit: 10 })).items.length, 0, 'nothing stored')
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200, 'the TSA is reported, not required')
  t.match(ready.json().checks.tsa, { ok: false, detail: /127\.0\.0\.1.*failing since/ })
  tsa.mode = 'ok'
  const again = await send(app, headers)
  t.equal(again.statusCode, 202, again.body)
  t.same((await app.inject({ url: '/readyz' })).json().checks.tsa, { ok: true })
  const stored = await store.getPackageBytes(again.json().id)
  t.equal(opensslAcceptsToken('after-down', stored!.signature), 0)
})

t.test('a TSA giving unusable tokens is not sent around: the send fails retryably', async (t) => {
  const { app } = await appWith(t, tsaConfig(t))
  tsa.mode = 'other-data'
  const res = await send(app)
  t.equal(res.statusCode, 502, res.body)
  t.equal(res.json().code, 'GW_ERR_SIGNATURE_TSA')
  tsa.mode = 'ok'
})

t.test('onUnavailable send-without: sent unstamped (CAdES-BES)', async (t) => {
  const { app, store } = await appWith(t, tsaConfig(t, { onUnavailable: 'send-without' }))
  tsa.mode = 'down'
  const res = await send(app)
  t.equal(res.statusCode, 202, res.body)
  const stored = await store.getPackageBytes(res.json().id)
  t.equal(signatureTimestampOf(parseCms(stored!.signature).unsignedAttrs).count, 0, 'no token')
  t.match(await verifier.verify(stored!.bytes, stored!.signature), { code: 'VALID', timeSource: 'receipt' })
  tsa.mode = 'ok'
})

t.test('POST /v1/verify reports the token (TSA, genTime, verdict) and the time validity was judged at', async (t) => {
  tsa.mode = 'ok'
  const config = tsaConfig(t)
  const { app, store } = await appWith(t, config)
  const sent = await send(app)
  const stored = await store.getPackageBytes(sent.json().id)
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.h29), payload: { signature: b64(stored!.signature), content: b64(stored!.bytes) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { ok: true, signatures: [{ code: 'VALID', timeSource: 'timestamp', validationTime: String, timestamp: { verdict: 'valid', tsa: /Gateway TSA/, genTime: String, policy: '1.2.3.4.1' } }] })
  const sig = res.json().signatures[0]
  t.equal(sig.validationTime, sig.timestamp.genTime)
  // the token of another signature spliced in
  const other = await store.getPackageBytes((await send(app)).json().id)
  const unstamped = await (await loadSigners(config)).get(G22)!.sign(stored!.bytes)
  const spliced = addSignatureTimestamp(unstamped, signatureTimestampOf(parseCms(other!.signature).unsignedAttrs).token!)
  const bad = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.h29), payload: { signature: b64(spliced), content: b64(stored!.bytes) } })
  t.match(bad.json(), { ok: false, signatures: [{ code: 'TIMESTAMP_MISMATCH', timestamp: { verdict: 'TIMESTAMP_MISMATCH' } }] })
})

t.test('log.anchor: the gateway timestamps the delivery log head with the same TSA', async (t) => {
  tsa.mode = 'ok'
  const config = tsaConfig(t)
  const { app, store, gateway } = await appWith(t, { ...config, log: { ...config.log, anchor: { everyEvents: 2, everyMinutes: 60 } } })
  t.ok(gateway.anchorer, 'an anchorer runs')
  t.equal((await send(app)).statusCode, 202)
  const head = await store.logHead()
  await gateway.anchorer!.tick({ force: true })
  const anchors = await store.listLogAnchors()
  t.ok(anchors.some((a) => a.seq === head.seq && a.hash === head.hash && a.tsa === tsa.url), 'the head after the send is anchored')
  const ok = await app.inject({ url: '/v1/log/verify', headers: auth(KEYS.ops) })
  t.match(ok.json(), { ok: true, anchors: { ok: true, tokensChecked: true, lastAnchor: { seq: head.seq } } })
  // the tail cut through a raw connection, the anchored row with it
  const db = new Database(config.store.path)
  db.exec(`DROP TRIGGER IF EXISTS events_no_delete; DELETE FROM events WHERE seq >= ${head.seq};`)
  db.close()
  const cut = await app.inject({ url: '/v1/log/verify', headers: auth(KEYS.ops) })
  t.match(cut.json(), { ok: false, firstBroken: { seq: head.seq, reason: /truncated/ }, anchors: { ok: false } })
})

t.test('configuration: trust.tsa needs anchorsPaths; log.anchor needs trust.tsa.url; a bad policy OID is named', async (t) => {
  t.throws(() => tsaConfig(t, { anchorsPaths: [] }), { code: 'GW_ERR_CONFIG_INVALID', message: /trust\.tsa\.anchorsPaths/ })
  t.throws(() => tsaConfig(t, { policy: 'not-an-oid' }), { code: 'GW_ERR_CONFIG_INVALID', message: /trust\.tsa\.policy.*dotted object identifier/ })
  t.throws(() => tsaConfig(t, { anchorsPaths: [path.join(dir, 'missing.pem')] }), { message: /trust\.tsa\.anchorsPaths\.0: file .* does not exist/ })
  const d = t.testdir({})
  const raw = rawTestConfig(d)
  t.throws(() => loadConfig({ object: { ...raw, log: { anchor: { everyEvents: 10 } } }, file: path.join(d, 'config.json'), env: {} }), { code: 'GW_ERR_CONFIG_INVALID', message: /log\.anchor needs trust\.tsa\.url/ })
})
