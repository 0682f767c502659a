// trust.revocation: the schema fills its defaults (OCSP then CRL, hold for 6 h), bad values are configuration
// errors, and the gateway's verifier (trustVerifier) uses it: a source that cannot answer gives REVOCATION_UNAVAILABLE.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../../src/config.js'
import { revocationCheckerFor, trustVerifier } from '../../../src/pipeline/trust.js'
import { loadSigner } from '../../../src/signature/index.js'
import { CERTS, rawTestConfig } from '../../helper.js'

const load = (t: Test, revocation: unknown) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  return loadConfig({ object: { ...raw, trust: { ...raw.trust, revocation } }, file: path.join(dir, 'config.json'), env: {} })
}

t.test('defaults and errors', async (t) => {
  const c = load(t, {})
  t.same(c.trust.revocation, { order: ['ocsp', 'crl'], onUnavailable: 'hold', holdMaxMs: 21_600_000, nonce: true, requireNonce: false, timeoutMs: 5000, cacheEntries: 10_000 })
  const dir = t.testdir({})
  t.equal(loadConfig({ object: rawTestConfig(dir), file: path.join(dir, 'config.json'), env: {} }).trust.revocation, undefined, 'absent: CRL files only')
  t.throws(() => load(t, { onUnavailable: 'ignore' }), { code: 'GW_ERR_CONFIG_INVALID', message: /onUnavailable must be one of hold, refuse, accept-with-flag/ })
  t.throws(() => load(t, { order: ['ldap'] }), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => load(t, { order: [] }), { code: 'GW_ERR_CONFIG_INVALID' })
  t.equal(revocationCheckerFor(c.trust.revocation!), revocationCheckerFor(load(t, {}).trust.revocation!), 'one checker per process for the same settings')
})

t.test('the gateway verifier asks the configured sources', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const dir = path.join(CERTS, 'agencies', 'vpcp')
  const signer = await loadSigner({ keyPem: readFileSync(path.join(dir, 'key.pem'), 'utf8'), certPem: readFileSync(path.join(dir, 'cert.pem'), 'utf8'), chainPem: readFileSync(path.join(dir, 'chain.pem'), 'utf8') })
  const content = Buffer.from('<edXML/>')
  const sig = await signer.sign(content)
  const offline = trustVerifier(load(t, { order: ['ocsp'], ocspResponder: `http://127.0.0.1:${port}/`, timeoutMs: 1000 })).verifier
  const v = await offline.verify(content, sig, { expectedOrganId: '000.00.00.G22' })
  t.equal(v.code, 'REVOCATION_UNAVAILABLE', v.message)
  t.match(v.message, new RegExp(`OCSP http://127\\.0\\.0\\.1:${port}/`))
  // OCSP unreachable, then the sample CRL files answer
  const withCrl = trustVerifier(load(t, { order: ['ocsp', 'crl'], ocspResponder: `http://127.0.0.1:${port}/`, timeoutMs: 1000 })).verifier
  const w = await withCrl.verify(content, sig, { expectedOrganId: '000.00.00.G22' })
  t.equal(w.code, 'VALID', w.message)
  t.match(w.revocation?.source, /CRL file of .*Sample Government/)
})
