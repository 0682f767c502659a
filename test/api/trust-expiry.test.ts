// The trust watch through the API: a hosted agency whose signing certificate (made in the test) expired makes
// /readyz 503 with `checks.trust.expired`; one that expires in 5 days is a warning in GET /v1/operator/health (the
// console's health view) and a gauge in /metrics, and readiness holds; a CRL file past its nextUpdate is reported.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { loadSigner, type Signer } from '../../src/signature/index.js'
import { auth, buildTestApp, G22, H29, KEYS, STC, testConfig, testSigners } from '../helper.js'
import { crlOf, mint } from '../unit/pipeline/expiry-pki.js'

const dir = t.testdir()
const root = mint({ cn: 'Expiry API Root', fromDays: -30, toDays: 365, ca: true })
const ca = mint({ cn: 'Expiry API Signing CA', fromDays: -30, toDays: 300, ca: true, issuer: root })
const write = (name: string, text: string | Buffer) => {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  return p
}
const anchors = write('anchors.pem', root.certPem)
const crlPath = write('ca.crl', await crlOf(ca, -10, -2))

async function appWith(t: Test, g22: { toDays: number }) {
  const own = mint({ cn: 'VPCP expiry test', fromDays: -40, toDays: g22.toDays, issuer: ca, organId: G22 })
  const signer = await loadSigner({ keyPem: own.keyPem, certPem: own.certPem, chainPem: ca.certPem })
  const base = await testSigners(testConfig(t))
  const signers = new Map<string, Signer>([[G22, signer], [H29, base.get(H29)!], [STC, base.get(STC)!]])
  return buildTestApp(t, { config: { trust: { anchorsPaths: [anchors], crlPaths: [crlPath] } }, deps: { signers } })
}

t.test('an own signing certificate expired: /readyz 503 naming it; the CRL past nextUpdate is listed, not blocking', async (t) => {
  const { app } = await appWith(t, { toDays: -1 })
  const r = await app.inject({ url: '/readyz' })
  t.equal(r.statusCode, 503, r.body)
  const trust = r.json().checks.trust
  t.equal(trust.ok, false)
  t.match(trust.detail, /signing certificate of 000\.00\.00\.G22 expired at 20\d\d-/)
  t.match(trust.expired, [{ kind: 'signing', agency: G22, subject: /UID=000\.00\.00\.G22/, fingerprint: /^[0-9a-f]{16}$/, needed: true }])
  t.ok(trust.expired.some((e: { kind: string; needed?: boolean }) => e.kind === 'crl' && !e.needed), 'the stale CRL file is reported')
  t.match(r.json().checks, { store: { ok: true }, broker: { ok: true } }, 'the rest is up')

  const m = await app.inject({ url: '/metrics', headers: auth(KEYS.ops) })
  t.match(m.body, /lienthong_trust_expiry_days\{kind="signing",agency="000\.00\.00\.G22",subject="[^"]+",fingerprint="[0-9a-f]{16}"\} -[01]\.\d+/)
  t.match(m.body, /lienthong_trust_expiry_days\{kind="crl",agency="",subject="[^"]*Expiry API Signing CA[^"]*",fingerprint="[0-9a-f]{16}"\} -[12]\.\d+/)
})

t.test('an own signing certificate expiring in 5 days: a warning for the console, readiness holds', async (t) => {
  const { app } = await appWith(t, { toDays: 5 })
  const r = await app.inject({ url: '/readyz' })
  t.equal(r.statusCode, 200, r.body)
  t.match(r.json().checks.trust, { ok: true, expired: [{ kind: 'crl' }] })
  const h = await app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
  t.equal(h.statusCode, 200)
  const trust = h.json().trust
  t.ok(trust.checkedAt, 'listed at start')
  const own = trust.items.find((i: { kind: string; agency?: string }) => i.kind === 'signing' && i.agency === G22)
  t.match(own, { level: 'days-7', needed: true, subject: /UID=000\.00\.00\.G22/, fingerprint: /^[0-9a-f]{16}$/ })
  t.ok(own.daysLeft > 4 && own.daysLeft <= 5, `${own.daysLeft} days left`)
  t.match(trust.items.find((i: { kind: string }) => i.kind === 'anchor'), { level: 'ok', needed: true, source: anchors })
  t.match(trust.items.find((i: { kind: string }) => i.kind === 'crl'), { level: 'expired', source: crlPath })
  t.equal(trust.warnings, trust.items.filter((i: { level: string }) => i.level !== 'ok').length)
  t.ok(trust.warnings >= 2)
  t.notOk('tokens' in h.json(), 'no token, no tokens')
})
