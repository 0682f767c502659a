// A hosted agency whose key is in a SoftHSM2 token, configured with `signing.pkcs11` (pinFile): documents and
// status packages are signed by the token (with and without the signing worker pool), /readyz reports the token,
// a token that fails makes the send wait and then accepts it (202) stored awaiting its signature, which the token
// gives once it works again, and sending resumes by itself; a wrong PIN or a missing token stops the start with its
// own code.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createGateway } from '../../src/gateway.js'
import { createPackagePool } from '../../src/pipeline/package-pool.js'
import { loadAgencySigner, loadSigners } from '../../src/pipeline/signers.js'
import { createVerifier, loadPkcs11Signer, type Signer } from '../../src/signature/index.js'
import { openSqliteStore } from '../../src/store/index.js'
import { auth, G22, H29, KEYS, rawTestConfig, sampleDocument, silentLogger, trustAnchorsPem } from '../helper.js'
import { opensslStatus } from '../unit/signature/openssl-pki.js'
import { generateKey, initToken, issueSampleCertificate, SAMPLE, softhsmDir, storeCertificate } from '../unit/signature/softhsm.js'

const dir = t.testdir()
softhsmDir(dir)
const token = initToken(dir, 'vpcp-token', '314159')
const pub = generateKey(token, { label: 'vpcp-sign', id: 'a1', type: 'rsa:2048' })
storeCertificate(token, issueSampleCertificate(path.join(dir, 'certs'), pub, G22, 'VPCP token'), { label: 'vpcp-sign', id: 'a1' })
const pinFile = path.join(dir, 'pin')
writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 })
const verifier = createVerifier({ trustAnchors: trustAnchorsPem() })

function tokenConfig(t: Test, pkcs11: Record<string, unknown> = {}, over: Record<string, unknown> = {}): Config {
  const d = t.testdir({})
  const raw = rawTestConfig(d)
  raw.agencies[0].signing = {
    pkcs11: { module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'vpcp-sign', pinFile, chainPath: path.join(SAMPLE, 'intermediate-ca.pem'), ...pkcs11 },
  }
  return loadConfig({ object: { ...raw, ...over }, file: path.join(d, 'config.json'), env: { VPCP_PIN: token.pin } })
}

async function appWith(t: Test, config: Config, signers: Map<string, Signer>, withPool = false) {
  const store = await openSqliteStore(config.store.path)
  const packager = withPool ? await createPackagePool(config.agencies, 1) : null
  const gateway = await createGateway(config, {
    store, signers, packager, relay: { wake() {} }, broker: { state: 'connected', redactedUrl: 'amqp://test' }, logger: silentLogger(), resigner: { intervalMs: 200 },
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

const send = (app: Awaited<ReturnType<typeof buildApp>>, key: string = KEYS.g22) =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })

function opensslAccepts(name: string, bytes: Uint8Array, sig: Uint8Array): number {
  writeFileSync(path.join(dir, `${name}.xml`), bytes)
  writeFileSync(path.join(dir, `${name}.p7s`), sig)
  return opensslStatus(['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, `${name}.p7s`), '-content', path.join(dir, `${name}.xml`),
    '-CAfile', path.join(SAMPLE, 'trust-anchors.pem'), '-purpose', 'any', '-out', '/dev/null']).status
}

t.test('configuration: pkcs11 with pinFile or pinEnv loads; the schema wants a token, a key and a PIN source', async (t) => {
  const c = tokenConfig(t)
  t.match(c.agencies[0]!.signing, { pkcs11: { module: token.module, tokenLabel: 'vpcp-token', keyLabel: 'vpcp-sign', pinFile } })
  const e = tokenConfig(t, { pinFile: undefined, pinEnv: 'VPCP_PIN' })
  t.equal((e.agencies[0]!.signing as { pkcs11: { pin?: string } }).pkcs11.pin, token.pin, 'pinEnv read when the configuration loads')
  t.throws(() => tokenConfig(t, { pinFile: undefined }), { code: 'GW_ERR_CONFIG_INVALID' }, 'no PIN source')
  t.throws(() => tokenConfig(t, { keyLabel: undefined }), { code: 'GW_ERR_CONFIG_INVALID' }, 'no key')
  t.throws(() => tokenConfig(t, { pinFile: undefined, pinEnv: 'NOT_SET_ANYWHERE' }), /pinEnv names NOT_SET_ANYWHERE/)
  t.throws(() => tokenConfig(t, { pinFile: path.join(dir, 'nope') }), /pkcs11.pinFile: file .* does not exist/)
})

t.test('start: a wrong PIN or a missing token stops it with its own code', async (t) => {
  const badPin = path.join(dir, 'bad-pin')
  writeFileSync(badPin, '999999\n')
  // a fresh token this process has not logged in to, so the token itself refuses the PIN
  await t.rejects(loadSigners(tokenConfig(t, { pinFile: badPin })), { code: 'GW_ERR_SIGNATURE_TOKEN_PIN', message: /agency 000\.00\.00\.G22.*vpcp-token.*CKR_PIN_INCORRECT/ })
  await t.rejects(loadSigners(tokenConfig(t, { tokenLabel: 'unplugged' })), { code: 'GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', message: /unplugged.*no such token/ })
  await t.rejects(loadSigners(tokenConfig(t, { keyLabel: 'other-key' })), { code: 'GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', message: /no private key/ })
})

for (const withPool of [false, true]) {
  t.test(`documents and statuses are signed by the token (${withPool ? 'with' : 'without'} the signing worker pool)`, async (t) => {
    const config = tokenConfig(t)
    const signers = await loadSigners(config)
    const { app, store, gateway } = await appWith(t, config, signers, withPool)
    const before = signers.get(G22)!.token!.status().signatures
    const res = await send(app)
    t.equal(res.statusCode, 202, res.body)
    const stored = await store.getPackageBytes(res.json().id)
    t.equal((await verifier.verify(stored!.bytes, stored!.signature, { expectedOrganId: G22 })).code, 'VALID')
    t.equal(opensslAccepts(`doc-${withPool}`, stored!.bytes, stored!.signature), 0, 'openssl cms -verify accepts the stored signature')
    // another agency (key file) still signs as before, in the pool when there is one
    const h29 = await send(app, KEYS.h29)
    t.equal(h29.statusCode, 202, h29.body)
    const st = await gateway.statuses.send({ from: G22, to: H29, statusCode: '03', responseFor: { code: '1/UBND', documentId: `${H29},2026/11/25,1/UBND` } })
    const sp = await store.getPackageBytes(st.id)
    t.equal((await verifier.verify(sp!.bytes, sp!.signature, { expectedOrganId: G22 })).code, 'VALID', 'the status package verifies')
    t.equal(opensslAccepts(`status-${withPool}`, sp!.bytes, sp!.signature), 0)
    t.equal(signers.get(G22)!.token!.status().signatures - before, 2, 'both signatures made by the token')
    const ready = await app.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 200)
    t.same(ready.json().checks.signing, { ok: true, awaitingSignature: 0 })
  })
}

t.test('a failing token: /readyz reports it, sending waits then is stored awaiting its signature; resumes by itself', async (t) => {
  const config = tokenConfig(t)
  let down = false
  const wrap = (m: import('pkcs11js').PKCS11): import('pkcs11js').PKCS11 =>
    new Proxy(m, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (typeof v !== 'function') return v
        const f = v as (...a: unknown[]) => unknown
        if (prop === 'C_SignAsync' || prop === 'C_OpenSession') {
          return (...a: unknown[]) => {
            if (down) throw new Error('CKR_DEVICE_ERROR:48')
            return f.apply(target, a)
          }
        }
        return f.bind(target)
      },
    })
  const tokenSigner = await loadPkcs11Signer({
    module: token.module, tokenLabel: token.tokenLabel, keyLabel: 'vpcp-sign', pin: token.pin, name: `agency ${G22}`, wrap,
    chainPem: readFileSync(path.join(SAMPLE, 'intermediate-ca.pem'), 'utf8'),
    unavailableWaitMs: 600, reopenIntervalMs: 100,
  })
  const signers = new Map<string, Signer>([[G22, tokenSigner], [H29, await loadAgencySigner(config.agencies[1]!)]])
  const { app, store } = await appWith(t, config, signers)
  t.equal((await send(app)).statusCode, 202)

  down = true
  const started = Date.now()
  const res = await send(app)
  const waited = Date.now() - started
  t.equal(res.statusCode, 202, res.body)
  t.equal(res.json().awaitingSignature, true, 'stored awaiting its signature')
  t.ok(waited >= 550, `the send waited ${waited} ms for the token first`)
  const waitingId = res.json().id as string
  t.match(await store.getAwaitingSignature(waitingId), { signer: G22, reason: /GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE.*CKR_DEVICE_ERROR/ })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200, 'reported, not required')
  t.equal(ready.json().checks.signing.ok, false)
  t.equal(ready.json().checks.signing.awaitingSignature, 1)
  t.match(ready.json().checks.signing.detail, /000\.00\.00\.G22: token down since .*CKR_DEVICE_ERROR/)
  t.equal((await send(app, KEYS.h29)).statusCode, 202, 'an agency with a key file is not held up')

  // the token works again: the waiting package is signed by it (the probe or a signature sees the token back)
  down = false
  const t0 = Date.now()
  while ((await store.getAwaitingSignature(waitingId)) && Date.now() - t0 < 15_000) {
    await signers.get(G22)!.token!.probe()
    await new Promise((r) => setTimeout(r, 100))
  }
  const stored = (await store.getPackageBytes(waitingId))!
  t.equal((await verifier.verify(stored.bytes, stored.signature, { expectedOrganId: G22 })).code, 'VALID', 'the waiting package signed by the token')
  // and a send now is signed at once
  const back = await send(app)
  t.equal(back.statusCode, 202, back.body)
  t.notOk(back.json().awaitingSignature, 'signed at once')
  const again = await app.inject({ url: '/readyz' })
  t.equal(again.statusCode, 200)
  t.same(again.json().checks.signing, { ok: true, awaitingSignature: 0 })
})
