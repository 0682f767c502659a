// Revocation fetched online, against independent implementations on 127.0.0.1: `openssl ocsp` as the responder
// (good, revoked, unknown, a responder with the wrong certificate, a stale response, replayed responses without
// or with another nonce) and a local HTTP server serving CRLs made by `openssl ca -gencrl` (fresh, stale,
// unreachable with the last good kept, signed by the wrong key). CRL files keep working.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { createRevocationChecker, createVerifier, loadSigner, type RevocationCheckerOptions, type RevocationSourceName, type Verifier } from '../../../src/signature/index.js'
import { crl, freePort, makeIntermediate, makeRoot, openssl, revoke, type Ca } from './openssl-pki.js'

const dir = t.testdir()



// ---- the HTTP server for CRLs (and replayed OCSP responses) -----------------------------------------------
const served: Record<string, Buffer | number> = {}
let crlRequests = 0
const http: Server = createServer((req, res) => {
  const body: Buffer[] = []
  req.on('data', (c: Buffer) => body.push(c))
  req.on('end', () => {
    if (req.url?.startsWith('/crl/')) crlRequests++
    const v = served[req.url ?? '']
    if (v === undefined) return void res.writeHead(404).end()
    if (typeof v === 'number') return void res.writeHead(v).end()
    res.writeHead(200, { 'content-type': req.url?.startsWith('/ocsp') ? 'application/ocsp-response' : 'application/pkix-crl' }).end(v)
  })
})
await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
const httpPort = (http.address() as { port: number }).port
const ocspPort = await freePort()
const wrongPort = await freePort()
const noEkuPort = await freePort()
const caSignedPort = await freePort()
const base = `http://127.0.0.1:${httpPort}`
const closedPort = await freePort() // nothing listens there

// ---- the PKI ------------------------------------------------------------------------------------------------
const root = makeRoot(join(dir, 'root'), '/C=VN/CN=Revocation Test Root')
const ca = makeIntermediate(root, join(dir, 'ca'), '/C=VN/CN=Revocation Test Signing CA')
const rootCrl = crl(root)

const extFile = join(dir, 'ext.cnf')
writeFileSync(extFile, `
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1:${ocspPort}/
crlDistributionPoints = URI:${base}/crl/main
[leaf_unreachable]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
crlDistributionPoints = URI:http://127.0.0.1:${closedPort}/crl/none
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
[ocsp_noeku]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
`)

interface Leaf { keyPath: string; certPath: string; keyPem: string; certPem: string }
function issueWith(issuer: Ca, name: string, subject: string, section: string, inIndex = true): Leaf {
  const keyPath = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const certPath = join(dir, `${name}.pem`)
  openssl(['req', '-config', issuer.cnfPath, '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', subject])
  if (inIndex) {
    openssl(['ca', '-batch', '-config', issuer.cnfPath, '-extfile', extFile, '-extensions', section, '-notext', '-in', csr, '-out', certPath, '-days', '30'])
  } else {
    openssl(['x509', '-req', '-in', csr, '-CA', issuer.certPath, '-CAkey', issuer.keyPath, '-extfile', extFile, '-extensions', section, '-days', '30',
      '-set_serial', '0x7e57ab1e', '-out', certPath])
  }
  return { keyPath, certPath, keyPem: readFileSync(keyPath, 'utf8'), certPem: readFileSync(certPath, 'utf8') }
}

const good = issueWith(ca, 'good', '/C=VN/UID=000.00.00.G01/CN=Good agency', 'leaf')
const revoked = issueWith(ca, 'revoked', '/C=VN/UID=000.00.00.G02/CN=Revoked agency', 'leaf')
const unknown = issueWith(ca, 'unknown', '/C=VN/UID=000.00.00.G03/CN=Unknown agency', 'leaf', false)
const unreachable = issueWith(ca, 'unreachable', '/C=VN/UID=000.00.00.G04/CN=Unreachable CRL agency', 'leaf_unreachable')
const responder = issueWith(ca, 'responder', '/C=VN/CN=Revocation Test OCSP Responder', 'ocsp')
const noEku = issueWith(ca, 'noeku', '/C=VN/CN=Responder without OCSPSigning', 'ocsp_noeku')
revoke(ca, revoked.certPath)
const freshCrl = crl(ca)
// a CA of the same name with another key: its CRL names the right issuer and does not verify with its key
const impostor = makeRoot(join(dir, 'impostor'), '/C=VN/CN=Revocation Test Signing CA')
const otherRoot = makeRoot(join(dir, 'other'), '/C=VN/CN=Other Root')
const wrongResponder = issueWith(otherRoot, 'wrong-responder', '/C=VN/CN=Revocation Test OCSP Responder', 'ocsp')
const der = (pem: string) => openssl(['crl', '-outform', 'DER'], { input: pem })

// ---- openssl ocsp responders: the delegated responder, one with a certificate of another CA, one without EKU -
const responders: ChildProcess[] = []
function startResponder(port: number, signer: { certPath: string; keyPath: string }, extra: string[] = []): Promise<void> {
  const p = spawn('openssl', ['ocsp', '-index', join(ca.dir, 'index.txt'), '-port', String(port), '-rsigner', signer.certPath, '-rkey', signer.keyPath,
    '-CA', ca.certPath, '-ndays', '1', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] })
  responders.push(p)
  // openssl serves one connection at a time: a probe connection would block it, so wait for its own word
  return new Promise((resolve, reject) => {
    let err = ''
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
      if (err.includes('waiting for OCSP client connections')) resolve()
    })
    p.on('exit', (code) => reject(new Error(`openssl ocsp exited ${code}: ${err}`)))
  })
}
await startResponder(ocspPort, responder)
await startResponder(wrongPort, wrongResponder)
await startResponder(noEkuPort, noEku)
await startResponder(caSignedPort, ca)
t.teardown(() => {
  for (const p of responders) p.kill()
  http.close()
})

const content = Buffer.from('gói tin cần kiểm tra thu hồi '.repeat(40))
const sign = async (leaf: Leaf) => (await loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem, chainPem: ca.certPem })).sign(content)
const sigs = { good: await sign(good), revoked: await sign(revoked), unknown: await sign(unknown), unreachable: await sign(unreachable) }

function verifierWith(o: RevocationCheckerOptions & { order?: RevocationSourceName[]; onUnavailable?: 'fail' | 'accept'; crls?: string[]; offsetMs?: number } = {}): { v: Verifier; checker: ReturnType<typeof createRevocationChecker> } {
  const offset = o.offsetMs ?? 0
  const checker = createRevocationChecker({ timeoutMs: 3000, failureTtlMs: 0, ...o, now: () => Date.now() + offset })
  const v = createVerifier({
    trustAnchors: root.certPem,
    crls: (o.crls ?? [rootCrl]).join('\n'),
    now: () => new Date(Date.now() + offset),
    // the signatures were made now: judged later (stale tests) they are still within range
    signingTimeMaxPastMs: 30 * 86_400_000,
    revocation: { checker, ...(o.order ? { order: o.order } : {}), ...(o.onUnavailable ? { onUnavailable: o.onUnavailable } : {}) },
  })
  return { v, checker }
}

t.test('OCSP from the AIA: good (delegated responder, nonce checked), cached until nextUpdate', async (t) => {
  served['/crl/main'] = 404
  const { v, checker } = verifierWith({ order: ['ocsp', 'crl'] })
  const verdict = await v.verify(content, sigs.good)
  t.equal(verdict.code, 'VALID', verdict.message)
  t.equal(verdict.revocation?.status, 'good')
  t.match(verdict.revocation?.source, new RegExp(`OCSP http://127\\.0\\.0\\.1:${ocspPort}/ \\(delegated responder .*OCSP Responder.*nonce checked\\)`))
  t.match(verdict.revocation?.source, /CRL file of .*Revocation Test Root/, 'the intermediate: the root\'s CRL file')
  const again = await v.verify(content, sigs.good)
  t.equal(again.code, 'VALID')
  t.match(again.revocation?.source, /cached/)
  t.match(checker.stats().ocsp, { requests: 1, hits: 1, failures: 0 })
  t.equal(verdict.signer?.organId, '000.00.00.G01')
  t.equal(v.verifySync(content, sigs.good).revocation?.source?.includes('OCSP'), false, 'verifySync never fetches')
})

t.test('OCSP: revoked, and unknown (not in the responder\'s index) falls through to the CRL', async (t) => {
  served['/crl/main'] = 404
  const { v } = verifierWith()
  const r = await v.verify(content, sigs.revoked)
  t.equal(r.code, 'REVOKED', r.message)
  t.match(r.message, /Revoked agency.*was revoked on .*OCSP/)
  const u = await v.verify(content, sigs.unknown)
  t.equal(u.code, 'REVOCATION_UNAVAILABLE', u.message)
  t.match(u.message, /does not know the certificate \(unknown\).*CRL .*\/crl\/main: .*HTTP 404/)
  served['/crl/main'] = der(freshCrl)
  const { v: v2 } = verifierWith()
  const u2 = await v2.verify(content, sigs.unknown)
  t.equal(u2.code, 'VALID', u2.message)
  t.match(u2.revocation?.source, /CRL http:.*\/crl\/main/)
})

t.test('configured OCSP responder with the wrong certificate, or without id-kp-OCSPSigning: no status', async (t) => {
  // (a configured responder is asked about every certificate of the chain; the intermediate falls back to the
  // root's CRL file, the leaf's CRL distribution point answers 404)
  served['/crl/main'] = 404
  const wrong = verifierWith({ ocspResponder: `http://127.0.0.1:${wrongPort}/`, order: ['ocsp', 'crl'] }).v
  const w = await wrong.verify(content, sigs.good)
  t.equal(w.code, 'REVOCATION_UNAVAILABLE')
  t.match(w.message, /not issued by .*Signing CA|not signed by .*nor by a responder it authorised/)
  const noeku = verifierWith({ ocspResponder: `http://127.0.0.1:${noEkuPort}/`, order: ['ocsp', 'crl'] }).v
  const n = await noeku.verify(content, sigs.good)
  t.equal(n.code, 'REVOCATION_UNAVAILABLE')
  t.match(n.message, /lacks extendedKeyUsage id-kp-OCSPSigning/)
  // the same responder certificate is fine through the configured-responder path
  const ok = verifierWith({ ocspResponder: `http://127.0.0.1:${ocspPort}/`, order: ['ocsp', 'crl'] }).v
  const viaConfig = await ok.verify(content, sigs.good)
  t.equal(viaConfig.code, 'VALID', viaConfig.message)
  // responses signed by the CA itself
  const byCa = await verifierWith({ ocspResponder: `http://127.0.0.1:${caSignedPort}/`, order: ['ocsp', 'crl'] }).v.verify(content, sigs.good)
  t.equal(byCa.code, 'VALID', byCa.message)
  t.match(byCa.revocation?.source, /\(the CA CN=Revocation Test Signing CA/)
})

t.test('OCSP: a stale response (nextUpdate passed) gives no status', async (t) => {
  served['/crl/main'] = 404
  // the responder says nextUpdate = now + 1 day; judged 2 days later
  const { v } = verifierWith({ offsetMs: 2 * 86_400_000, order: ['ocsp', 'crl'] })
  const s = await v.verify(content, sigs.good)
  t.equal(s.code, 'REVOCATION_UNAVAILABLE', s.message)
  t.match(s.message, /stale: nextUpdate .* has passed/)
})

t.test('OCSP: replayed responses: another nonce refused; no nonce accepted only while recent, never with requireNonce', async (t) => {
  served['/crl/main'] = 404
  const leaf = good.certPath
  const respWithNonce = join(dir, 'with-nonce.der')
  const respNoNonce = join(dir, 'no-nonce.der')
  openssl(['ocsp', '-issuer', ca.certPath, '-cert', leaf, '-url', `http://127.0.0.1:${ocspPort}/`, '-respout', respWithNonce, '-noverify'])
  openssl(['ocsp', '-issuer', ca.certPath, '-cert', leaf, '-url', `http://127.0.0.1:${ocspPort}/`, '-respout', respNoNonce, '-no_nonce', '-noverify'])
  served['/ocsp/with-nonce'] = readFileSync(respWithNonce)
  served['/ocsp/no-nonce'] = readFileSync(respNoNonce)

  const replayNonce = verifierWith({ ocspResponder: `${base}/ocsp/with-nonce`, order: ['ocsp', 'crl'] }).v
  const a = await replayNonce.verify(content, sigs.good)
  t.equal(a.code, 'REVOCATION_UNAVAILABLE')
  t.match(a.message, /another nonce than the request \(a replayed response\)/)

  const fresh = verifierWith({ ocspResponder: `${base}/ocsp/no-nonce`, order: ['ocsp', 'crl'] }).v
  const b = await fresh.verify(content, sigs.good)
  t.equal(b.code, 'VALID', `a recent response without nonce (pre-produced) is used: ${b.message}`)
  t.match(b.revocation?.source, /no nonce/)

  const old = verifierWith({ ocspResponder: `${base}/ocsp/no-nonce`, order: ['ocsp', 'crl'], offsetMs: 2 * 3_600_000 }).v
  const c = await old.verify(content, sigs.good)
  t.equal(c.code, 'REVOCATION_UNAVAILABLE')
  t.match(c.message, /no nonce and its thisUpdate .* is older than 60 min \(a replayed response\)/)

  const strict = verifierWith({ ocspResponder: `${base}/ocsp/no-nonce`, order: ['ocsp', 'crl'], requireNonce: true }).v
  const d = await strict.verify(content, sigs.good)
  t.equal(d.code, 'REVOCATION_UNAVAILABLE')
  t.match(d.message, /carries no nonce/)
})

t.test('CRL from the distribution point: fresh, revoked, cached and refreshed', async (t) => {
  served['/crl/main'] = der(freshCrl)
  crlRequests = 0
  const { v, checker } = verifierWith({ order: ['crl'] })
  const g = await v.verify(content, sigs.good)
  t.equal(g.code, 'VALID', g.message)
  t.match(g.revocation?.source, new RegExp(`CRL ${base}/crl/main \\(thisUpdate`))
  t.equal((await v.verify(content, sigs.revoked)).code, 'REVOKED')
  for (let i = 0; i < 5; i++) await v.verify(content, sigs.good)
  t.equal(crlRequests, 1, 'fetched once, then served from the cache')
  t.ok(checker.stats().crl.hits >= 6)
  // PEM is accepted too
  served['/crl/main'] = Buffer.from(freshCrl)
  const pem = verifierWith({ order: ['crl'] }).v
  t.equal((await pem.verify(content, sigs.good)).code, 'VALID')
})

t.test('CRL: stale, wrong key, unreachable; the last good CRL is kept when a fetch fails', async (t) => {
  const past = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
  served['/crl/main'] = der(crl(ca, { lastupdate: past(10), nextupdate: past(3) }))
  const stale = verifierWith({ order: ['crl'] }).v
  const s = await stale.verify(content, sigs.good)
  t.equal(s.code, 'REVOCATION_UNAVAILABLE')
  t.match(s.message, /stale since/)
  const accepting = verifierWith({ order: ['crl'], onUnavailable: 'accept' }).v
  const a = await accepting.verify(content, sigs.good)
  t.equal(a.code, 'VALID', 'accept-with-flag: valid')
  t.equal(a.revocation?.status, 'unknown')
  t.equal(a.revocation?.unavailable, true, 'and flagged')

  served['/crl/main'] = der(crl(impostor))
  const wrongKey = verifierWith({ order: ['crl'] }).v
  const w = await wrongKey.verify(content, sigs.good)
  t.equal(w.code, 'REVOCATION_UNAVAILABLE')
  t.match(w.message, /signature does not verify with the key of .*Signing CA/)

  const u = await verifierWith({ order: ['crl'] }).v.verify(content, sigs.unreachable)
  t.equal(u.code, 'REVOCATION_UNAVAILABLE')
  t.match(u.message, new RegExp(`CRL http://127\\.0\\.0\\.1:${closedPort}/crl/none: .*`))

  // last good kept: fetched fresh, then the server fails while the CRL is due for refresh
  served['/crl/main'] = der(freshCrl)
  const { v } = verifierWith({ order: ['crl'], refreshBeforeMs: 365 * 86_400_000 })
  t.equal((await v.verify(content, sigs.good)).code, 'VALID')
  served['/crl/main'] = 500
  const kept = await v.verify(content, sigs.good)
  t.equal(kept.code, 'VALID', kept.message)
  t.match(kept.revocation?.source, /last fetch failed: .*HTTP 500, the last good CRL kept/)
  t.equal((await v.verify(content, sigs.revoked)).code, 'REVOKED', 'the kept CRL still lists the revoked certificate')
})

t.test('CRL files keep working: with no distribution point fetched, a current file gives the status', async (t) => {
  served['/crl/main'] = 404
  const { v, checker } = verifierWith({ order: ['crl'], crls: [rootCrl, freshCrl] })
  const g = await v.verify(content, sigs.good)
  t.equal(g.code, 'VALID', g.message)
  t.match(g.revocation?.source, /CRL file of .*Signing CA/)
  t.equal((await v.verify(content, sigs.revoked)).code, 'REVOKED')
  t.equal(checker.stats().crl.fetches, 0, 'nothing fetched')
  // and a verifier without online revocation behaves as before
  const plain = createVerifier({ trustAnchors: root.certPem, crls: rootCrl + freshCrl })
  t.equal((await plain.verify(content, sigs.revoked)).code, 'REVOKED')
  t.equal((await plain.verify(content, sigs.good)).revocation?.status, 'good')
})
