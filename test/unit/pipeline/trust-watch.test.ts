// The trust watch over certificates made in the test: an agency certificate already expired, an intermediate that
// expires in 5 days, a CRL file and a fetched CRL whose nextUpdate has passed. Levels, warnings once per level,
// readiness (own certificate or needed anchor expired), the gauges, a renewed file seen at the next round.
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import path from 'node:path'
import t from 'tap'
import { createMetrics } from '../../../src/metrics.js'
import { createTrustWatch, expiryLevel, type TrustWatchOptions } from '../../../src/pipeline/trust-watch.js'
import { createRevocationChecker, loadSigner, parseCertificates } from '../../../src/signature/index.js'
import { crlOf, mint } from './expiry-pki.js'

const dir = t.testdir()
const DAY = 86_400_000

const root = mint({ cn: 'Expiry Test Root', fromDays: -30, toDays: 365, ca: true })
const inter = mint({ cn: 'Expiry Test Signing CA', fromDays: -30, toDays: 5, ca: true, issuer: root })
const expired = mint({ cn: 'Expired agency', fromDays: -40, toDays: -1, issuer: inter, organId: '000.00.00.A01' })
const soon = mint({ cn: 'Agency valid 20 days', fromDays: -1, toDays: 20, issuer: inter, organId: '000.00.00.A02' })
const file = (name: string, text: string | Buffer) => {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  return p
}
const anchors = file('anchors.pem', root.certPem)
const intermediates = file('intermediates.pem', inter.certPem)
const staleCrl = await crlOf(inter, -10, -2)
const crlPath = file('inter.crl', staleCrl)

const signerOf = (c: { keyPem: string; certPem: string }) => loadSigner({ keyPem: c.keyPem, certPem: c.certPem, chainPem: inter.certPem })
const signers = new Map([
  ['000.00.00.A01', await signerOf(expired)],
  ['000.00.00.A02', await signerOf(soon)],
])

function watch(over: Partial<TrustWatchOptions> = {}) {
  const warnings: { obj: Record<string, any>; msg: string }[] = []
  const w = createTrustWatch({
    config: { trust: { anchorsPaths: [anchors], intermediatesPaths: [intermediates], crlPaths: [crlPath] } as never },
    signers,
    logger: { warn: (obj: unknown, msg?: string) => void warnings.push({ obj: obj as Record<string, any>, msg: msg ?? '' }) } as never,
    ...over,
  })
  return { w, warnings }
}

t.test('levels by days left', async (t) => {
  t.equal(expiryLevel(400), 'ok')
  t.equal(expiryLevel(30), 'days-30')
  t.equal(expiryLevel(7.5), 'days-30')
  t.equal(expiryLevel(5), 'days-7')
  t.equal(expiryLevel(0.5), 'days-1')
  t.equal(expiryLevel(0), 'expired')
  t.equal(expiryLevel(-3), 'expired')
})

t.test('every own certificate, anchor, intermediate and CRL file with its level; warnings once per level', async (t) => {
  let now = Date.now()
  const { w, warnings } = watch({ clock: () => new Date(now) })
  w.check()
  const s = w.snapshot()
  const find = (kind: string, agency?: string) => s.items.filter((i) => i.kind === kind && (agency === undefined || i.agency === agency))
  t.match(find('signing', '000.00.00.A01'), [{ level: 'expired', needed: true, subject: /Expired agency/ }])
  t.ok(find('signing', '000.00.00.A01')[0]!.daysLeft < 0 && find('signing', '000.00.00.A01')[0]!.daysLeft > -1.1, 'expired a day ago')
  t.match(find('signing', '000.00.00.A02'), [{ level: 'days-30' }])
  t.match(find('chain', '000.00.00.A01'), [{ level: 'days-7', subject: /Expiry Test Signing CA/ }], 'the intermediate sent with our signatures')
  t.match(find('intermediate'), [{ level: 'days-7', source: intermediates }])
  t.match(find('anchor'), [{ level: 'ok', needed: true, source: anchors }], 'the root our chains end at is needed')
  t.match(find('crl'), [{ level: 'expired', source: crlPath, subject: /Expiry Test Signing CA/ }])
  t.ok(Math.abs(Date.parse(find('crl')[0]!.expiresAt) - (Date.now() - 2 * DAY)) < 10_000, 'its nextUpdate, two days ago')
  t.equal(s.warnings, s.items.filter((i) => i.level !== 'ok').length)
  t.ok(s.warnings >= 6)
  t.same(s.problems, [])
  t.ok(s.items.every((i) => /^[0-9a-f]{16}$/.test(i.fingerprint)), 'short fingerprints')

  // one warning per item and level
  t.equal(warnings.length, s.warnings, warnings.map((x) => x.msg).join('\n'))
  t.match(warnings.find((x) => x.obj.trust.kind === 'signing' && x.obj.trust.level === 'expired')?.msg, /signing of 000\.00\.00\.A01 .*expired at .*renew it/)
  t.match(warnings.find((x) => x.obj.trust.kind === 'crl')?.msg, /expired at .*newer CRL/)
  t.match(warnings.find((x) => x.obj.trust.kind === 'intermediate')?.msg, /expires at .*in 4 day\(s\)|expires at .*in 5 day\(s\)/)
  w.check()
  t.equal(warnings.length, s.warnings, 'nothing new: no warning again')
  // four days and a half later the intermediate has less than a day left: warned again, at the new level
  now += 4.5 * DAY
  w.check()
  t.match(warnings.slice(s.warnings).map((x) => `${x.obj.trust.kind}:${x.obj.trust.level}`).sort(), ['chain:days-1', 'chain:days-1', 'intermediate:days-1'])
})

t.test('readiness: an own signing certificate expired fails it; other expired items are reported', async (t) => {
  const { w } = watch()
  w.check()
  const r = w.readiness()
  t.equal(r.ok, false)
  t.match(r.detail, /signing certificate of 000\.00\.00\.A01 expired at /)
  t.notMatch(r.detail, /A02/)
  t.match(r.expired, [{ kind: 'signing', agency: '000.00.00.A01', needed: true }, { kind: 'crl' }])
  t.notOk(r.expired.find((e) => e.kind === 'crl')!.needed, 'an expired CRL does not make the gateway unready')

  // only the valid agency: ready, the stale CRL still listed
  const ok = watch({ signers: new Map([['000.00.00.A02', signers.get('000.00.00.A02')!]]) }).w
  ok.check()
  t.equal(ok.readiness().ok, true)
  t.match(ok.readiness().expired, [{ kind: 'crl' }])
})

t.test('readiness: the anchor our chain ends at expired fails it', async (t) => {
  const oldRoot = mint({ cn: 'Expired Root', fromDays: -400, toDays: -3, ca: true })
  const ca = mint({ cn: 'CA under expired root', fromDays: -30, toDays: 300, ca: true, issuer: oldRoot })
  const leaf = mint({ cn: 'Agency under expired root', fromDays: -1, toDays: 300, issuer: ca, organId: '000.00.00.A03' })
  const other = mint({ cn: 'Unrelated valid root', fromDays: -1, toDays: 300, ca: true })
  const s = await loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem, chainPem: ca.certPem })
  const { w } = watch({ signers: new Map([['000.00.00.A03', s]]), config: { trust: { anchorsPaths: [file('old-root.pem', oldRoot.certPem + other.certPem)], intermediatesPaths: [], crlPaths: [] } as never } })
  w.check()
  const r = w.readiness()
  t.equal(r.ok, false)
  t.match(r.detail, /trust anchor .*Expired Root.* expired at/)
  t.match(w.snapshot().items.filter((i) => i.kind === 'anchor'), [{ subject: /Expired Root/, needed: true, level: 'expired' }, { subject: /Unrelated/, level: 'ok' }])
  t.notOk(w.snapshot().items.find((i) => /Unrelated/.test(i.subject))!.needed, 'an anchor no chain of ours ends at is not needed')
})

t.test('a fetched CRL past its nextUpdate is listed (crl-fetched); a renewed file is seen at the next round', async (t) => {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(staleCrl))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/inter.crl`
  const leaf = mint({ cn: 'Agency with CDP', fromDays: -1, toDays: 100, issuer: inter, organId: '000.00.00.A04', crlUrl: url })
  const checker = createRevocationChecker({})
  const answer = await checker.crl(parseCertificates(leaf.certPem, 'leaf')[0]!, parseCertificates(inter.certPem, 'CA')[0]!)
  t.equal(answer.status, 'unavailable', 'the stale CRL gives no answer')
  const { w, warnings } = watch({ revocation: () => checker })
  w.check()
  t.match(w.snapshot().items.filter((i) => i.kind === 'crl-fetched'), [{ source: url, level: 'expired', subject: /Expiry Test Signing CA/ }])
  t.ok(warnings.some((x) => x.obj.trust.kind === 'crl-fetched'))

  // the CA published a fresh CRL file: the next round lists it, nothing expired from that file any more
  writeFileSync(crlPath, await crlOf(inter, -1, 6))
  t.teardown(() => writeFileSync(crlPath, staleCrl))
  w.check()
  t.match(w.snapshot().items.filter((i) => i.kind === 'crl'), [{ level: 'days-7' }])
  // a file that cannot be read is a problem of the round, not an item
  const broken = watch({ config: { trust: { anchorsPaths: [path.join(dir, 'missing.pem')], intermediatesPaths: [], crlPaths: [] } as never } }).w
  broken.check()
  t.match(broken.snapshot().problems, [/missing\.pem/])
})

t.test('the gauges: days left by kind, agency, subject and fingerprint; revocation cache hits and misses', async (t) => {
  const checker = createRevocationChecker({})
  const { w } = watch({ revocation: () => checker })
  const metrics = createMetrics({ defaultMetrics: false })
  w.register(metrics)
  w.check()
  const text = await metrics.registry.metrics()
  const own = w.snapshot().items.find((i) => i.kind === 'signing' && i.agency === '000.00.00.A01')!
  const line = text.split('\n').find((l) => l.startsWith('lienthong_trust_expiry_days{') && l.includes(`fingerprint="${own.fingerprint}"`))
  t.match(line, /kind="signing",agency="000\.00\.00\.A01",subject=".*Expired agency.*",fingerprint="[0-9a-f]{16}"\} -[01]\.\d+/)
  t.match(text, /lienthong_trust_expiry_days\{kind="crl",agency="",subject="[^"]+",fingerprint="[0-9a-f]{16}"\} -[12]\.\d+/)
  t.match(text, /lienthong_trust_expiry_days\{kind="anchor",agency="",subject="[^"]*Expiry Test Root[^"]*",fingerprint="[0-9a-f]{16}"\} 36[45]\./)
  t.match(text, /lienthong_revocation_cache_hits_total\{source="ocsp"\} 0/)
  t.match(text, /lienthong_revocation_cache_misses_total\{source="crl"\} 0/)
  t.notMatch(text, /lienthong_signing_token_up/, 'no token, no token gauge')
})

t.test('start lists at once and every interval; stop ends it', async (t) => {
  const { w } = watch({ intervalMs: 50 })
  t.equal(w.snapshot().checkedAt, undefined)
  w.start()
  const first = w.snapshot().checkedAt
  t.ok(first, 'listed at start')
  await new Promise((r) => setTimeout(r, 120))
  t.not(w.snapshot().checkedAt, first, 'listed again')
  await w.stop()
  const last = w.snapshot().checkedAt
  await new Promise((r) => setTimeout(r, 80))
  t.equal(w.snapshot().checkedAt, last, 'not after stop')
})
