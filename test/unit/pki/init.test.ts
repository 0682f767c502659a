// `lienthong pki init DIR` and generateSamplePki(): a fresh PKI that OpenSSL accepts just like certs-sample/.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { run } from '../../../src/cli/pki.js'
import { SAMPLE_AGENCIES } from '../../../src/signature/pki-sample.js'
import { checkGoodAgencies, loadManifest, openssl, verifyChain } from './openssl.js'

const committed = new URL('../../../certs-sample/', import.meta.url)

t.test('pki init writes a fresh PKI that OpenSSL accepts like certs-sample/', async (t) => {
  const dir = t.testdir({})
  const scratch = t.testdir({})
  const log = t.capture(console, 'log')
  const started = Date.now()
  t.equal(await run(['init', dir]), 0)
  t.comment(`pki init took ${Date.now() - started} ms`)
  const printed = log().map((c) => c.args.join(' ')).join('\n')
  t.match(printed, /NEVER TRUST|Never trust/)
  for (const a of SAMPLE_AGENCIES) t.match(printed, a.organId)
  t.match(printed, /lienthong-sample/)

  // same file layout as the committed set (README.md aside)
  const list = (d: string): string[] =>
    readdirSync(d, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(d.length).replace(/^\//, ''))
      .filter((f) => f !== 'README.md')
      .sort()
  t.same(list(dir), list(committed.pathname), 'same files as certs-sample/')

  const m = loadManifest(dir)
  const old = loadManifest(committed.pathname)
  t.not(m.rootCa.sha256, old.rootCa.sha256, 'a new root, not a copy')

  await checkGoodAgencies(t, dir, scratch)

  const tc = (name: string) => m.testCases.find((c) => c.case === name)!
  t.match(verifyChain(dir, tc('expired').files).out, /certificate has expired/)
  t.match(verifyChain(dir, tc('not-yet-valid').files).out, /certificate is not yet valid/)
  t.match(verifyChain(dir, tc('untrusted').files).out, /unable to get local issuer certificate/)
  t.equal(verifyChain(dir, tc('revoked').files).code, 0)
  t.match(verifyChain(dir, tc('revoked').files, ['-crl_check', '-CRLfile', m.crls.all]).out, /certificate revoked/)
  t.match(verifyChain(dir, tc('no-digital-signature').files, ['-purpose', 'smimesign']).out, /unsuitable certificate purpose/)
  t.equal(verifyChain(dir, tc('uid-mismatch').files).code, 0)

  // refuses a non-empty directory unless --force
  const err = t.capture(console, 'error')
  const before = readFileSync(join(dir, m.rootCa.cert), 'utf8')
  t.equal(await run(['init', dir]), 1)
  t.match(err().map((c) => c.args.join(' ')).join('\n'), /not empty.*--force/)
  t.equal(readFileSync(join(dir, m.rootCa.cert), 'utf8'), before, 'nothing overwritten')
})

t.test('pki init --force --now --key-bits: overwrites, follows the reference time and key size', async (t) => {
  const dir = t.testdir({ 'other.txt': 'keep me' })
  t.capture(console, 'log')
  t.equal(await run(['init', dir, '--force', '--now', '2030-06-15T12:34:56Z', '--key-bits', '1024']), 0)
  t.equal(readFileSync(join(dir, 'other.txt'), 'utf8'), 'keep me', 'unrelated files left alone')
  const m = loadManifest(dir)
  t.equal(m.generatedAt, '2030-06-15T12:34:56.000Z')
  // validity periods follow the reference time (UTC midnight based)
  t.equal(m.rootCa.notBefore, '2027-06-15T00:00:00.000Z')
  t.equal(m.rootCa.notAfter, '2047-06-15T00:00:00.000Z')
  t.equal(m.intermediateCa.notAfter, '2037-06-15T00:00:00.000Z')
  for (const a of m.agencies) {
    t.equal(a.notBefore, '2030-06-14T00:00:00.000Z')
    t.equal(a.notAfter, '2035-06-14T00:00:00.000Z')
  }
  const expired = m.testCases.find((c) => c.case === 'expired')!
  t.equal(expired.notAfter, '2029-06-15T00:00:00.000Z')
  const at = String(Date.parse('2030-07-01T00:00:00Z') / 1000)
  const vpcp = m.agencies[0]!
  t.equal(verifyChain(dir, vpcp.files, ['-attime', at]).code, 0, 'valid at the reference time')
  t.match(verifyChain(dir, vpcp.files).out, /certificate is not yet valid/, 'not valid now (2030 is in the future)')
  const crl = openssl(['crl', '-in', m.crls.intermediate.pem, '-noout', '-lastupdate', '-nextupdate'], { cwd: dir }).stdout
  t.match(crl, /lastUpdate=Jun 15 00:00:00 2030 GMT/)
  t.match(crl, /nextUpdate=Jun 15 00:00:00 2040 GMT/)

  // --key-bits: CAs, test certificates and the agencies declared RSA-2048; the manifest says what was made
  const bits = (f: string) => /Public-Key: \((\d+) bit\)/.exec(openssl(['x509', '-in', f, '-noout', '-text'], { cwd: dir }).stdout)?.[1]
  t.equal(bits(m.rootCa.cert), '1024')
  t.equal(bits(m.testCases[0]!.files.cert), '1024')
  t.same(
    m.agencies.map((a) => [a.slug, a.keyType]),
    SAMPLE_AGENCIES.map((a) => [a.slug, a.keyType === 'rsa-2048' ? 'rsa-1024' : a.keyType]),
  )
  for (const a of m.agencies) t.equal(bits(a.files.cert), a.keyType === 'ec-p256' ? '256' : a.keyType.slice(4), a.slug)
})

t.test('pki command usage errors', async (t) => {
  const err = t.capture(console, 'error')
  t.capture(console, 'log')
  t.equal(await run([]), 2)
  t.equal(await run(['frobnicate']), 2)
  t.equal(await run(['init']), 2)
  t.equal(await run(['init', 'a', 'b']), 2)
  t.equal(await run(['init', 'x', '--now', 'yesterday-ish']), 2)
  t.equal(await run(['init', 'x', '--key-bits', 'many']), 2)
  t.equal(await run(['--help']), 0)
  t.ok(err().length >= 6)
})
