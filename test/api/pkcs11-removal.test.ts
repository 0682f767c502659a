// A SoftHSM2 token pulled out and put back under a running gateway (its folder moved away and back): the token is
// seen down without any signature being made (the trust watch probes it), in /readyz (reported, still ready), the
// gauge lienthong_signing_token_up and the operator health view; a send while it is away waits for it and, when it
// does not come back in time, is accepted (202) and stored awaiting its signature (not published; the gauge
// lienthong_outbox_awaiting_signature counts it), and a send after it waits behind it at once; once the token is
// back the re-signer signs them with the token, in order; a send waiting while it comes back is signed and accepted; the token is usable again by itself (SoftHSM2 sees a
// token again only after the module is initialised again, which the key does when reopening fails). The whole way
// through the broker and the recipient is test/api/pkcs11-awaiting.test.ts.
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createGateway } from '../../src/gateway.js'
import { loadAgencySigner } from '../../src/pipeline/signers.js'
import { createVerifier, loadPkcs11Signer, type Signer } from '../../src/signature/index.js'
import { openSqliteStore } from '../../src/store/index.js'
import { auth, G22, H29, KEYS, rawTestConfig, sampleDocument, silentLogger, STC, trustAnchorsPem } from '../helper.js'
import { removableToken, SAMPLE } from '../unit/signature/softhsm.js'

const dir = t.testdir()
const { token, pullOut, putBack } = removableToken(dir, { label: 'removable', pin: '271828', keyId: 'b1', organId: G22, cn: 'VPCP removable token' })
const verifier = createVerifier({ trustAnchors: trustAnchorsPem() })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const cfgDir = path.join(dir, 'gateway')
mkdirSync(cfgDir)
const config = loadConfig({ object: rawTestConfig(cfgDir), file: path.join(cfgDir, 'config.json'), env: {} })
const tokenSigner = await loadPkcs11Signer({
  module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'vpcp-sign', pin: token.pin, name: `agency ${G22}`,
  chainPem: readFileSync(path.join(SAMPLE, 'intermediate-ca.pem'), 'utf8'),
  unavailableWaitMs: 2500, reopenIntervalMs: 200,
})
const signers = new Map<string, Signer>([[G22, tokenSigner], [H29, await loadAgencySigner(config.agencies[1]!)], [STC, await loadAgencySigner(config.agencies[2]!)]])
const store = await openSqliteStore(config.store.path)
const gateway = await createGateway(config, {
  store, signers, packager: null, relay: { wake() {} }, broker: { state: 'connected', redactedUrl: 'amqp://test' }, logger: silentLogger(), trustWatch: { tokenProbeMs: 100 }, resigner: { intervalMs: 200 },
})
const app = await buildApp(gateway)
t.teardown(async () => {
  await app.close()
  await gateway.close()
  await store.close()
})

const send = () => app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
const ready = async () => (await app.inject({ url: '/readyz' })).json()
const tokenGauge = async () => /lienthong_signing_token_up\{agency="000\.00\.00\.G22"\} (\d)/.exec((await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body)?.[1]
const tokenView = async () => (await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json().tokens?.[0]
async function until(what: string, f: () => Promise<boolean>, ms = 6000): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await f()) return Date.now() - t0
    await sleep(50)
  }
  throw new Error(`${what}: not within ${ms} ms`)
}
const packages = async () => (await store.stats()).outboxBacklog
const awaitingGauge = async () => /^lienthong_outbox_awaiting_signature (\d+)$/m.exec((await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })).body)?.[1]

t.test('the token pulled out and put back: seen, waited for, resumed by itself', async (t) => {
  const first = await send()
  t.equal(first.statusCode, 202, first.body)
  t.same((await ready()).checks.signing, { ok: true, awaitingSignature: 0 })
  t.equal(await tokenGauge(), '1')
  t.match(await tokenView(), { organId: G22, ok: true, signatures: 2 })

  // pulled out while nothing is signed: the probe sees it
  pullOut()
  const seenIn = await until('readyz names the token', async () => (await ready()).checks.signing?.ok === false)
  t.pass(`seen down ${seenIn} ms after it was pulled out, without a signature`)
  const r = await app.inject({ url: '/readyz' })
  t.equal(r.statusCode, 200, 'reported, not required: documents are still accepted')
  t.match(r.json().checks.signing, { ok: false, awaitingSignature: 0, detail: /000\.00\.00\.G22: token down since .*removable.*documents are accepted and wait for it/ })
  t.equal(await tokenGauge(), '0', 'the gauge says so')
  t.match(await tokenView(), { organId: G22, ok: false, detail: /removable/ }, 'the console says so')

  // a send while it stays away: waits for it, then accepted and stored awaiting its signature, not published
  const before = await packages()
  const t0 = Date.now()
  const waiting = await send()
  t.equal(waiting.statusCode, 202, waiting.body)
  t.equal(waiting.json().awaitingSignature, true, 'the answer says it awaits its signature')
  t.ok(Date.now() - t0 >= 2000, `the send waited ${Date.now() - t0} ms for the token first`)
  const waitingId = waiting.json().id as string
  t.equal(await packages(), before + 1, 'stored, its delivery accepted')
  t.notOk((await store.pendingDeliveries({ limit: 100 })).some((p) => p.packageId === waitingId), 'not pending for the relay')
  t.equal((await store.getPackageBytes(waitingId))!.signature.byteLength, 0, 'no signature yet')
  t.match((await ready()).checks.signing, { ok: false, awaitingSignature: 1 })
  t.equal(await awaitingGauge(), '1', 'lienthong_outbox_awaiting_signature counts it')
  const other = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.h29), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
  t.equal(other.statusCode, 202, 'an agency with a key file is not held up')
  t.notOk(other.json().awaitingSignature)

  // another send while packages of the agency wait: it waits behind them at once, without asking the token
  const t1 = Date.now()
  const behind = await send()
  t.equal(behind.statusCode, 202, behind.body)
  t.equal(behind.json().awaitingSignature, true, 'waits behind the older one')
  t.ok(Date.now() - t1 < 1500, `answered in ${Date.now() - t1} ms, without waiting for the token`)
  const behindId = behind.json().id as string
  t.match(await store.getAwaitingSignature(behindId), { reason: /queued behind 1 older package/ })

  // put back: the re-signer signs both with the token, the older first
  putBack()
  await until('both signed', async () => (await store.countAwaitingSignature()) === 0)
  for (const id of [waitingId, behindId]) {
    const resigned = await store.getPackageBytes(id)
    t.equal((await verifier.verify(resigned!.bytes, resigned!.signature, { expectedOrganId: G22 })).code, 'VALID', `${id === waitingId ? 'the first' : 'the second'} waiting package signed by the token`)
    t.ok((await store.pendingDeliveries({ limit: 100 })).some((p) => p.packageId === id), 'and pending for the relay now')
  }
  const signedAt = async (id: string) => (await store.listEvents({ type: 'signed', packageId: id, limit: 5 })).items[0]!.seq
  t.ok((await signedAt(waitingId)) < (await signedAt(behindId)), 'signed in the order they were accepted')
  t.same((await ready()).checks.signing, { ok: true, awaitingSignature: 0 })
  t.equal(await awaitingGauge(), '0')
  t.equal(await tokenGauge(), '1')
  t.ok((await tokenView()).reopens >= 1, 'the key reopened its sessions')

  // pulled out again, nothing waiting, and put back while a send waits for it: that send is signed and accepted
  pullOut()
  await until('seen down', async () => (await ready()).checks.signing?.ok === false)
  const pending = send()
  await sleep(400)
  putBack()
  const back = await pending
  t.equal(back.statusCode, 202, back.body)
  t.notOk(back.json().awaitingSignature, 'signed while it waited')
  const stored = await store.getPackageBytes(back.json().id)
  t.equal((await verifier.verify(stored!.bytes, stored!.signature, { expectedOrganId: G22 })).code, 'VALID', 'signed by the token put back')
  await until('usable', async () => (await ready()).checks.signing?.ok === true)

  // out and back again with nothing sent at all: usable again by itself
  pullOut()
  await until('seen down', async () => (await ready()).checks.signing?.ok === false)
  putBack()
  const resumedIn = await until('usable again without a send', async () => (await ready()).checks.signing?.ok === true)
  t.pass(`usable again ${resumedIn} ms after it was put back, without a send`)
  const after = await send()
  t.equal(after.statusCode, 202, after.body)
})
