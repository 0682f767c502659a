// Keys in a PKCS#11 token (SoftHSM2): keys generated inside the token by pkcs11-tool, certificates issued by the
// sample CA, signatures made through the token checked by `openssl cms -verify` and by our verifier; start-up
// errors with their own codes; sessions reused and bounded; a token fault recovered by itself.
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ERRORS, isGatewayError } from '../../../src/errors.js'
import { createVerifier, loadPkcs11Signer, type Pkcs11SignerSource, type Signer } from '../../../src/signature/index.js'
import { opensslStatus } from './openssl-pki.js'
import { generateKey, initToken, issueSampleCertificate, SAMPLE, softhsmDir, storeCertificate, type SoftHsm } from './softhsm.js'
import type * as Pkcs11Js from 'pkcs11js'

const dir = t.testdir()
softhsmDir(dir)
const token = initToken(dir, 'lienthong-test')
const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'

// RSA-2048 key with its certificate stored in the token; P-256 key whose certificate is given as a file.
const rsaPub = generateKey(token, { label: 'agency-rsa', id: '01', type: 'rsa:2048' })
const rsaCert = issueSampleCertificate(join(dir, 'certs'), rsaPub, G22, 'Token agency RSA')
storeCertificate(token, rsaCert, { label: 'agency-rsa', id: '01' })
const ecPub = generateKey(token, { label: 'agency-ec', id: '02', type: 'EC:prime256v1' })
const ecCert = issueSampleCertificate(join(dir, 'certs'), ecPub, H29, 'Token agency EC')
// a second token, never logged in by this process before the wrong-PIN check (SoftHSM lists tokens at C_Initialize)
const other = initToken(dir, 'lienthong-other', '246810')
const otherPub = generateKey(other, { label: 'agency-rsa', id: '01', type: 'rsa:2048' })
storeCertificate(other, issueSampleCertificate(join(dir, 'certs'), otherPub, G22, 'Other token'), { label: 'agency-rsa', id: '01' })

const chainPem = readFileSync(join(SAMPLE, 'intermediate-ca.pem'), 'utf8')
const anchorsPem = readFileSync(join(SAMPLE, 'trust-anchors.pem'), 'utf8')
const verifier = createVerifier({ trustAnchors: anchorsPem })
const content = Buffer.from('<edXML>gói tin ký bằng token</edXML>'.repeat(50))

const base = (h: SoftHsm): Pkcs11SignerSource => ({ module: h.module, tokenLabel: h.tokenLabel, pin: h.pin, chainPem })

function opensslVerifies(name: string, sig: Uint8Array, data: Buffer): { status: number; stderr: string } {
  writeFileSync(join(dir, `${name}.p7s`), sig)
  writeFileSync(join(dir, `${name}.content`), data)
  return opensslStatus(['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, `${name}.p7s`), '-content', join(dir, `${name}.content`),
    '-CAfile', join(SAMPLE, 'trust-anchors.pem'), '-purpose', 'any', '-out', '/dev/null'])
}

const signers: Signer[] = []
t.teardown(() => {
  for (const s of signers) s.token?.close()
})
async function open(src: Pkcs11SignerSource): Promise<Signer> {
  const s = await loadPkcs11Signer(src)
  signers.push(s)
  return s
}

t.test('RSA key in the token, certificate from the token: openssl and our verifier accept the signature', async (t) => {
  const signer = await open({ ...base(token), keyLabel: 'agency-rsa' })
  t.equal(signer.organId, G22)
  t.same(signer.keyType, { kind: 'rsa', bits: 2048 })
  t.equal(signer.signSync, undefined, 'a token key has no synchronous signing')
  t.equal(signer.chain.length, 2, 'signer and the intermediate')
  const sig = await signer.sign(content)
  const v = await verifier.verify(content, sig, { expectedOrganId: G22 })
  t.equal(v.code, 'VALID', v.message)
  const ok = opensslVerifies('rsa', sig, content)
  t.equal(ok.status, 0, `openssl cms -verify: ${ok.stderr}`)
  const changed = Buffer.from(content)
  changed[10] = changed[10]! ^ 1
  t.not(opensslVerifies('rsa-changed', sig, changed).status, 0, 'openssl refuses it over changed bytes')
  t.equal((await verifier.verify(changed, sig)).code, 'DIGEST_MISMATCH')
  t.ok(signer.token?.status().ok)
  t.equal(JSON.stringify(signer).includes(token.pin), false, 'the PIN is not in the JSON form')
})

t.test('P-256 key chosen by CKA_ID, certificate from a file: both verifiers accept it', async (t) => {
  const signer = await open({ ...base(token), keyId: '02', certPem: ecCert })
  t.equal(signer.organId, H29)
  t.same(signer.keyType, { kind: 'ec', curve: 'P-256' })
  for (let i = 0; i < 5; i++) {
    const data = Buffer.concat([content, Buffer.from(String(i))])
    const sig = await signer.sign(data, { signingTime: new Date() })
    t.equal((await verifier.verify(data, sig, { expectedOrganId: H29 })).code, 'VALID')
    t.equal(opensslVerifies(`ec-${i}`, sig, data).status, 0, `openssl cms -verify accepts EC signature ${i}`)
  }
})

t.test('start-up errors have stable codes', async (t) => {
  const code = async (src: Pkcs11SignerSource) => {
    try {
      await open(src)
      return 'opened'
    } catch (e) {
      t.ok(isGatewayError(e), String(e))
      return isGatewayError(e) ? `${e.code}: ${e.message}` : String(e)
    }
  }
  t.match(await code({ ...base(other), keyLabel: 'agency-rsa', pin: '000000' }), /^GW_ERR_SIGNATURE_TOKEN_PIN: .*lienthong-other.*CKR_PIN_INCORRECT/,
    'the token refuses the PIN')
  t.match(await code({ ...base(token), keyLabel: 'agency-rsa', pin: '000000' }), /^GW_ERR_SIGNATURE_TOKEN_PIN: .*lienthong-test.*CKR_PIN_INCORRECT/,
    'a token this process is logged in to already: the PIN is still checked')
  t.equal(await code({ ...base(other), keyLabel: 'agency-rsa' }), 'opened', 'the right PIN after a wrong one')
  t.match(await code({ ...base(token), tokenLabel: 'no-such-token', keyLabel: 'agency-rsa' }), /^GW_ERR_SIGNATURE_TOKEN_NOT_FOUND: .*no-such-token.*no such token/)
  t.match(await code({ ...base(token), keyLabel: 'no-such-key' }), /^GW_ERR_SIGNATURE_TOKEN_NOT_FOUND: .*no private key/)
  t.match(await code({ ...base(token), module: join(dir, 'missing.so'), keyLabel: 'agency-rsa' }), /^GW_ERR_SIGNATURE_TOKEN_MODULE: /)
  // a certificate that is not the key's
  t.match(await code({ ...base(token), keyLabel: 'agency-rsa', certPem: readFileSync(join(SAMPLE, 'agencies/vpcp/cert.pem'), 'utf8') }),
    /^GW_ERR_SIGNATURE_KEY: .*does not match the certificate/)
  t.match(await code({ ...base(token), keyId: '01', certPem: ecCert }), /^GW_ERR_SIGNATURE_KEY: .*rsa but the certificate key is ec/)
  // the EC key has no certificate in the token
  t.match(await code({ ...base(token), keyId: '02' }), /^GW_ERR_SIGNATURE_CERTIFICATE: .*give certPath/)
  t.equal(ERRORS.GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE.httpStatus, 503)
  t.equal(ERRORS.GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE.retryable, true)
})

/** Counts calls into the real module and can make it fail as a removed token does. */
function instrument() {
  const calls = { open: 0, login: 0, signInFlight: 0, maxInFlight: 0 }
  let down = false
  const removed = () => new Error('CKR_DEVICE_REMOVED:50')
  const wrap = (m: Pkcs11Js.PKCS11): Pkcs11Js.PKCS11 =>
    new Proxy(m, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (typeof v !== 'function') return v
        const f = v as (...a: unknown[]) => unknown
        if (prop === 'C_OpenSession') return (...a: unknown[]) => (down ? (() => { throw removed() })() : (calls.open++, f.apply(target, a)))
        if (prop === 'C_GetSlotList') return (...a: unknown[]) => (down ? [] : f.apply(target, a))
        if (prop === 'C_Login') return (...a: unknown[]) => (calls.login++, f.apply(target, a))
        if (prop === 'C_SignAsync') {
          return async (...a: unknown[]) => {
            if (down) throw removed()
            calls.signInFlight++
            calls.maxInFlight = Math.max(calls.maxInFlight, calls.signInFlight)
            try {
              return await (f.apply(target, a) as Promise<Buffer>)
            } finally {
              calls.signInFlight--
            }
          }
        }
        return f.bind(target)
      },
    })
  return { calls, wrap, setDown: (d: boolean) => void (down = d) }
}

t.test('sessions are opened once and reused, at most maxSessions signatures in the token at once', async (t) => {
  const { calls, wrap } = instrument()
  const signer = await open({ ...base(token), keyLabel: 'agency-rsa', maxSessions: 3, wrap })
  const sigs = await Promise.all(Array.from({ length: 60 }, (_, i) => signer.sign(Buffer.from(`document ${i}`))))
  for (const [i, sig] of sigs.entries()) t.equal((await verifier.verify(Buffer.from(`document ${i}`), sig)).code, 'VALID')
  t.ok(calls.maxInFlight <= 3, `at most 3 in flight (saw ${calls.maxInFlight})`)
  t.ok(calls.maxInFlight >= 2, `signatures ran concurrently (saw ${calls.maxInFlight})`)
  t.ok(calls.open <= 3, `sessions opened: ${calls.open}`)
  t.equal(calls.login, 1, 'logged in once')
  const before = calls.open
  await Promise.all(Array.from({ length: 20 }, () => signer.sign(content)))
  t.equal(calls.open, before, 'no new session for later signatures')
  t.equal(signer.token?.status().signatures, 60 + 20 + 1, 'every signature counted (the start-up check included)')
})

t.test('sessions closed under the key (C_CloseAllSessions from elsewhere in the process) are reopened at once', async (t) => {
  const signer = await open({ ...base(token), keyLabel: 'agency-rsa' })
  await signer.sign(content)
  // a second handle on the same library in this process closes every session on the token's slot
  const L = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Js
  const other = new L.PKCS11()
  other.load(token.module)
  try {
    other.C_Initialize()
  } catch (e) {
    t.match(String(e), /CKR_CRYPTOKI_ALREADY_INITIALIZED/)
  }
  const slot = other.C_GetSlotList(true).find((s) => other.C_GetTokenInfo(s).label.trim() === token.tokenLabel)!
  other.C_CloseAllSessions(slot)
  const sig = await signer.sign(content)
  t.equal((await verifier.verify(content, sig)).code, 'VALID', 'signed after reopening')
  const st = signer.token!.status()
  t.ok(st.ok)
  t.ok(st.reopens >= 1, `reopened ${st.reopens} time(s)`)
  t.ok(st.errors >= 1)
})

t.test('a removed token: signatures wait, fail retryably after unavailableWaitMs, and resume by themselves', async (t) => {
  const { wrap, setDown } = instrument()
  const signer = await open({ ...base(token), keyLabel: 'agency-rsa', unavailableWaitMs: 400, reopenIntervalMs: 100, wrap })
  await signer.sign(content)
  setDown(true)
  const started = Date.now()
  const err = await signer.sign(content).then(() => undefined, (e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE'), String(err))
  t.ok(Date.now() - started >= 350, `waited ${Date.now() - started} ms before failing`)
  t.match((err as Error).message, /CKR_DEVICE_REMOVED|no such token/)
  const down = signer.token!.status()
  t.equal(down.ok, false)
  t.match(down.detail ?? '', /CKR_DEVICE_REMOVED|no such token/)

  // a signature asked for while the token is out completes when it is back
  const waiting = signer.sign(content)
  setTimeout(() => setDown(false), 200)
  const sig = await waiting
  t.equal((await verifier.verify(content, sig)).code, 'VALID')
  t.equal(signer.token!.status().ok, true, 'up again')
  t.ok(Date.parse(signer.token!.status().since) >= Date.parse(down.since))
})
