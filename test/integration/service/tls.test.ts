// HTTPS directly: http.tls { keyPath, certPath } (PEM). The API answers over TLS with that certificate and not in
// plain HTTP; missing files are configuration errors naming the setting; a key that does not match the certificate
// stops the start with GW_ERR_CONFIG_KEY_FILE.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import { loadConfig } from '../../../src/config.js'
import { isGatewayError } from '../../../src/errors.js'
import { buildTestApp, rawTestConfig } from '../../helper.js'

/** A folder of its own (buildTestApp empties the test's testdir when it writes the configuration). */
function certDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lt-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function selfSigned(dir: string, name: string) {
  const key = path.join(dir, `${name}.key`)
  const cert = path.join(dir, `${name}.pem`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { key, cert }
}

const get = (mod: typeof http | typeof https, url: string, opts: https.RequestOptions = {}) =>
  new Promise<{ status: number; body: string; cert?: string }>((resolve, reject) => {
    const req = mod.get(url, opts, (res) => {
      const sock = res.socket as TLSSocket
      const cert = typeof sock.getPeerCertificate === 'function' ? String(sock.getPeerCertificate().subject?.CN ?? '') : ''
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(cert ? { cert } : {}) }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
  })

t.test('http.tls: the API is served over HTTPS with the configured certificate', async (t) => {
  const { key, cert } = selfSigned(certDir(t), 'api')
  const { app } = await buildTestApp(t, { config: { http: { tls: { keyPath: key, certPath: cert } } } })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const ok = await get(https, `${url}/healthz`, { ca: readFileSync(cert) })
  t.equal(ok.status, 200)
  t.equal(ok.cert, 'localhost', 'our certificate')
  await t.rejects(get(https, `${url}/healthz`), /self[- ]signed/i, 'a client that does not trust it refuses it')
  const plain = await get(http, url.replace('https:', 'http:') + '/healthz').catch((e: Error) => ({ status: -1, body: e.message }))
  t.not(plain.status, 200, 'no plain HTTP on the TLS port')
})

t.test('http.tls: missing files are listed as configuration problems; a mismatched pair stops the start', async (t) => {
  const dir = t.testdir()
  try {
    loadConfig({ object: rawTestConfig(dir, { http: { tls: { keyPath: 'nope.key', certPath: 'nope.pem' } } }), file: path.join(dir, 'c.json'), env: {} })
    t.fail('should throw')
  } catch (e) {
    t.ok(isGatewayError(e, 'GW_ERR_CONFIG_INVALID'))
    t.match((e as Error).message, /http\.tls\.keyPath: file .*nope\.key does not exist/)
    t.match((e as Error).message, /http\.tls\.certPath: file .*nope\.pem does not exist/)
  }
  const a = selfSigned(certDir(t), 'a')
  const b = selfSigned(certDir(t), 'b')
  await t.rejects(buildTestApp(t, { config: { http: { tls: { keyPath: a.key, certPath: b.cert } } } }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /http\.tls/ })
})
