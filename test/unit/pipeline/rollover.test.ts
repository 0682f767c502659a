// Signing identity rollover: agencies[].nextSigning + switchAt in the configuration (both or neither, a zoned
// time, another key), the certificate checks at start (same OrganId by trust.binding, another certificate, valid at
// the switch), and the signer that picks the identity by each signature's signing time.
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { loadAgencySigner, loadSigners, usesToken } from '../../../src/pipeline/signers.js'
import { createVerifier, isRolloverSigner, type RolloverSigner } from '../../../src/signature/index.js'
import { CERTS, crlsPem, G22, rawTestConfig, trustAnchorsPem } from '../../helper.js'
import { issueNextIdentity } from '../../rollover-pki.js'

const dir = t.testdir({})
const next = issueNextIdentity(path.join(dir, 'pki'), G22, 'Van phong Chinh phu')
const wrongUid = issueNextIdentity(path.join(dir, 'pki'), G22, 'Van phong Chinh phu', { uid: '000.00.00.H29' })
const noUid = issueNextIdentity(path.join(dir, 'pki'), G22, 'Van phong Chinh phu', { uid: null })
const vpcp = path.join(CERTS, 'agencies', 'vpcp')
const current = { keyPath: path.join(vpcp, 'key.pem'), certPath: path.join(vpcp, 'cert.pem'), chainPath: path.join(vpcp, 'chain.pem') }

function config(over: Record<string, unknown>, trust: Record<string, unknown> = {}) {
  const raw = rawTestConfig(dir, { trust })
  raw.agencies = [{ ...raw.agencies[0], signing: current, ...over }]
  return loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
}
const problems = (over: Record<string, unknown>): string[] => {
  try {
    config(over)
  } catch (e) {
    return ((e as { params?: { list?: string[] } }).params?.list ?? []) as string[]
  }
  return []
}

t.test('configuration: nextSigning and switchAt together, a zoned time, another key', async (t) => {
  const c = config({ nextSigning: next, switchAt: '2027-01-01T00:00:00+07:00' })
  t.equal(c.agencies[0]!.switchAt, '2027-01-01T00:00:00+07:00')
  t.equal((c.agencies[0]!.nextSigning as { certPath: string }).certPath, next.certPath, 'paths resolved like signing')
  t.match(problems({ nextSigning: next }), [/agencies\.0\.nextSigning needs agencies\.0\.switchAt/])
  t.match(problems({ switchAt: '2027-01-01T00:00:00Z' }), [/agencies\.0\.switchAt is set but agencies\.0\.nextSigning .* is not/])
  for (const bad of ['tomorrow', '2027-01-01', '2027-01-01T00:00:00', '2027-13-01T00:00:00Z']) {
    t.match(problems({ nextSigning: next, switchAt: bad }), [new RegExp(`switchAt "${bad}" is not an ISO 8601 date-time with a time zone`)], bad)
  }
  t.match(problems({ nextSigning: { ...current }, switchAt: '2027-01-01T00:00:00Z' }), [/nextSigning\.keyPath is the same file as agencies\.0\.signing\.keyPath/])
  t.match(problems({ nextSigning: { ...next, certPath: path.join(dir, 'missing.pem') }, switchAt: '2027-01-01T00:00:00Z' }), [/agencies\.0\.nextSigning\.certPath: file .* does not exist/])
  t.match(problems({ nextSigning: { p12Path: path.join(vpcp, 'bundle.p12'), passwordEnv: 'NO_SUCH_VAR' }, switchAt: '2027-01-01T00:00:00Z' }), [/agencies\.0\.nextSigning\.passwordEnv names NO_SUCH_VAR/])
  t.match(problems({ nextSigning: { keyPath: next.keyPath }, switchAt: '2027-01-01T00:00:00Z' }), [/certPath is required/], 'the schema of signing applies')
})

t.test('start: the next certificate must name the same OrganId, differ, and be valid at the switch', async (t) => {
  const soon = new Date(Date.now() + 60_000).toISOString()
  const load = (over: Record<string, unknown>, trust?: Record<string, unknown>) => {
    const c = config(over, trust)
    return loadAgencySigner(c.agencies[0]!, c.trust.binding)
  }
  await t.rejects(load({ nextSigning: wrongUid, switchAt: soon }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /nextSigning: the certificate belongs to OrganId 000\.00\.00\.H29 \(subject UID\), not to agency 000\.00\.00\.G22/ })
  await t.rejects(load({ nextSigning: noUid, switchAt: soon }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /names no OrganId by trust\.binding \(subject UID\)/ })
  await t.rejects(load({ nextSigning: { ...next, keyPath: next.keyPath, certPath: current.certPath }, switchAt: soon }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /does not match|same certificate/ })
  await t.rejects(load({ nextSigning: next, switchAt: '2026-01-01T00:00:00Z' }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /valid only from .* after switchAt 2026-01-01T00:00:00Z/ })
  await t.rejects(load({ nextSigning: next, switchAt: '2040-01-01T00:00:00Z' }), { code: 'GW_ERR_CONFIG_KEY_FILE', message: /expires on .* before switchAt 2040/ })
  // by trust.binding: a table naming the renewed certificate makes one without UID acceptable
  const sha = (await import('node:crypto')).createHash('sha256')
  const { readFileSync } = await import('node:fs')
  const der = Buffer.from(readFileSync(noUid.certPath, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64')
  const fp = sha.update(der).digest('hex')
  const ok = await load({ nextSigning: noUid, switchAt: soon }, { binding: { table: [{ organId: G22, sha256: fp }] } })
  t.ok(isRolloverSigner(ok), 'accepted when the binding table names it')
})

t.test('the signing time picks the identity; both verify as the agency', async (t) => {
  const switchAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000)
  const c = config({ nextSigning: next, switchAt: switchAt.toISOString() })
  const signers = await loadSigners(c)
  const s = signers.get(G22) as RolloverSigner
  t.ok(isRolloverSigner(s))
  t.notOk(usesToken(c.agencies[0]!))
  t.ok(s.signSync, 'two key files: signs synchronously (worker threads can sign)')
  t.equal(s.identities.length, 2)
  t.equal(s.identities[0]!.until, switchAt.toISOString())
  t.equal(s.identities[1]!.from, switchAt.toISOString())
  t.equal(s.certificate.sha256, s.identities[0]!.certificate.sha256, 'now: the current certificate')
  const v = createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem() })
  const content = Buffer.from('<edXML>rollover</edXML>')
  const before = new Date(switchAt.getTime() - 1)
  const justBefore = new Date(switchAt.getTime() - 1000)
  const after = new Date(switchAt.getTime())
  // judged at the signing time (the switch is a minute away)
  const vb = await v.verify(content, s.signSync!(content, { signingTime: before }), { validationTime: before, expectedOrganId: G22 })
  const va = await v.verify(content, await s.sign(content, { signingTime: after }), { validationTime: after, expectedOrganId: G22 })
  t.equal(vb.code, 'VALID', vb.message)
  t.equal(va.code, 'VALID', va.message)
  t.equal(vb.signer?.sha256, s.identities[0]!.certificate.sha256, 'one millisecond before the switch: the current certificate')
  t.equal(va.signer?.sha256, s.identities[1]!.certificate.sha256, 'at the switch: the next certificate')
  t.equal(vb.signingTime, justBefore.toISOString(), 'signed to the second: 999 ms before the switch is still the second before it')
  const odd = (await import('../../../src/signature/index.js')).rolloverSigner(s.signerAt(before), s.signerAt(after), new Date(switchAt.getTime() + 500))
  t.equal(odd.signerAt(new Date(switchAt.getTime() + 700)).certificate.sha256, s.identities[0]!.certificate.sha256, 'a switch within a second takes effect at the next whole second of signing time')
  t.equal(odd.signerAt(new Date(switchAt.getTime() + 1000)).certificate.sha256, s.identities[1]!.certificate.sha256)
  t.notMatch(JSON.stringify(s), /PRIVATE|key/i, 'no key in JSON')
  // a receiver whose binding is an explicit table lists both certificates for one OrganId: both are the agency's
  const table = createVerifier({ trustAnchors: trustAnchorsPem(), crls: crlsPem(), binding: { attribute: 'CN', table: s.identities.map((i) => ({ organId: G22, sha256: i.certificate.sha256 })) } })
  for (const [name, cms, at] of [['current', s.signSync!(content, { signingTime: justBefore }), justBefore], ['next', s.signSync!(content, { signingTime: after }), after]] as const) {
    const r = await table.verify(content, cms, { validationTime: at, expectedOrganId: G22 })
    t.match(r, { code: 'VALID', binding: { organId: G22, rule: 'table (sha256)' } }, `${name} certificate accepted through a table with two entries for ${G22}`)
  }
})
