// `lienthong sign` and `lienthong verify`: outputs and exit codes (0 valid, 1 invalid, 2 usage).
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { run as sign } from '../../../src/cli/sign.js'
import { run as verify } from '../../../src/cli/verify.js'
import { packageRoot } from '../../../src/paths.js'

const s = (p: string) => join(packageRoot, 'certs-sample', p)
const dir = t.testdir()
const doc = join(dir, 'doc.xml')
const bad = join(dir, 'bad.xml')
writeFileSync(doc, '<edXML>Quyết định</edXML>\n'.repeat(200))
writeFileSync(bad, '<edXML>Quyết định</edXML>\n'.repeat(199) + '<edXML>Quyết đinh</edXML>\n')
const empty = join(dir, 'empty.pem')
writeFileSync(empty, 'nothing here\n')

async function cli(t: Test, fn: (a: string[]) => Promise<number>, args: string[]) {
  const out = t.capture(console, 'log')
  const err = t.capture(console, 'error')
  const code = await fn(args)
  return { code, out: out().map((c) => c.args.join(' ')).join('\n'), err: err().map((c) => c.args.join(' ')).join('\n') }
}

const vpcp = ['--key', s('agencies/vpcp/key.pem'), '--cert', s('agencies/vpcp/cert.pem'), '--chain', s('agencies/vpcp/chain.pem')]
const trust = ['--trust', s('trust-anchors.pem'), '--crl', s('intermediate-ca.crl.pem'), '--crl', s('root-ca.crl.pem')]

t.test('sign DER, verify --json: valid, then a changed byte, then another sender', async (t) => {
  const sig = join(dir, 'doc.p7s')
  const r = await cli(t, sign, [doc, ...vpcp, '-o', sig])
  t.equal(r.code, 0, r.err)
  t.equal(readFileSync(sig)[0], 0x30, 'DER output')
  const ok = await cli(t, verify, [doc, '--signature', sig, ...trust, '--organ-id', '000.00.00.G22', '--json'])
  t.equal(ok.code, 0)
  t.match(JSON.parse(ok.out), { ok: true, code: 'VALID', signer: { organId: '000.00.00.G22' }, revocation: { status: 'good' } })
  const tampered = await cli(t, verify, [bad, '--signature', sig, ...trust, '--json'])
  t.equal(tampered.code, 1)
  t.match(JSON.parse(tampered.out), { ok: false, code: 'DIGEST_MISMATCH' })
  const other = await cli(t, verify, [doc, '--signature', sig, ...trust, '--organ-id', '000.00.00.H29'])
  t.equal(other.code, 1)
  t.match(other.out, /^INVALID \(SENDER_MISMATCH\)/)
})

t.test('PKCS#12 with --pem output; human summary', async (t) => {
  const sig = join(dir, 'p12.p7s')
  const r = await cli(t, sign, [doc, '--p12', s('agencies/stp-hcm/bundle.p12'), '--password', 'lienthong-sample', '-o', sig, '--pem'])
  t.equal(r.code, 0, r.err)
  t.match(readFileSync(sig, 'utf8'), /^-----BEGIN CMS-----/)
  const v = await cli(t, verify, [doc, '--signature', sig, '--trust', s('trust-anchors.pem'), '--crl', s('crls.pem')])
  t.equal(v.code, 0)
  t.match(v.out, /^VALID: /)
  t.match(v.out, /OrganId: +000\.00\.20\.H29/)
  t.match(v.out, /chain: +CN=Sở Tư pháp Thành phố Hồ Chí Minh <- CN=Sample Government Signing CA <- CN=Sample Government Root CA/)
  t.match(v.out, /revocation: +good/)
})

t.test('revoked and untrusted signers exit 1', async (t) => {
  const sig = join(dir, 'rev.p7s')
  t.equal((await cli(t, sign, [doc, '--p12', s('test/revoked/bundle.p12'), '--password-env', 'LT_TEST_PW', '-o', sig])).code, 2, 'unset env var is a usage error')
  process.env.LT_TEST_PW = 'lienthong-sample'
  t.teardown(() => delete process.env.LT_TEST_PW)
  t.equal((await cli(t, sign, [doc, '--p12', s('test/revoked/bundle.p12'), '--password-env', 'LT_TEST_PW', '-o', sig])).code, 0)
  const v = await cli(t, verify, [doc, '--signature', sig, ...trust, '--json'])
  t.equal(v.code, 1)
  t.equal(JSON.parse(v.out).code, 'REVOKED')
  const u = join(dir, 'untrusted.p7s')
  await cli(t, sign, [doc, '--key', s('test/untrusted/key.pem'), '--cert', s('test/untrusted/cert.pem'), '--chain', s('test/untrusted/chain.pem'), '-o', u])
  t.equal((await cli(t, verify, [doc, '--signature', u, ...trust])).code, 1)
})

t.test('intermediates from --chain when the CMS lacks them', async (t) => {
  const sig = join(dir, 'nochain.p7s')
  t.equal((await cli(t, sign, [doc, '--key', s('agencies/ubnd-hcm/key.pem'), '--cert', s('agencies/ubnd-hcm/cert.pem'), '-o', sig])).code, 0)
  const without = await cli(t, verify, [doc, '--signature', sig, '--trust', s('trust-anchors.pem'), '--json'])
  t.equal(without.code, 1)
  t.equal(JSON.parse(without.out).code, 'UNTRUSTED_CHAIN')
  const withChain = await cli(t, verify, [doc, '--signature', sig, '--trust', s('trust-anchors.pem'), '--chain', s('intermediate-ca.pem'), '--json'])
  t.equal(withChain.code, 0, withChain.out)
  t.equal(JSON.parse(withChain.out).chain.length, 3)
})

t.test('an edXML package is bound to its From/OrganId', async (t) => {
  const { buildEdoc } = await import('../../../src/envelope/index.js')
  const pkg = join(dir, 'package.xml')
  writeFileSync(pkg, buildEdoc({
    from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    to: [{ organId: '000.00.00.H29', organName: 'UBND Thành phố Hồ Chí Minh', organizationInCharge: 'UBND Thành phố Hồ Chí Minh' }],
    code: { codeNumber: '12', codeNotation: 'VPCP-TH' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/20' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'Thử ràng buộc người gửi',
    signerInfo: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    otherInfo: { pageAmount: 1 },
  }).bytes)
  const ours = join(dir, 'pkg-vpcp.p7s')
  const theirs = join(dir, 'pkg-hcm.p7s')
  await cli(t, sign, [pkg, ...vpcp, '-o', ours])
  await cli(t, sign, [pkg, '--p12', s('agencies/ubnd-hcm/bundle.p12'), '--password', 'lienthong-sample', '-o', theirs])
  const ok = await cli(t, verify, [pkg, '--signature', ours, ...trust, '--json'])
  t.equal(ok.code, 0, ok.out)
  t.match(JSON.parse(ok.out), { code: 'VALID', sender: { organId: '000.00.00.G22', source: 'package' } })
  const other = await cli(t, verify, [pkg, '--signature', theirs, ...trust, '--json'])
  t.equal(other.code, 1)
  t.equal(JSON.parse(other.out).code, 'SENDER_MISMATCH', 'signed by another agency than From')
  const unchecked = await cli(t, verify, [pkg, '--signature', theirs, ...trust, '--no-sender-check'])
  t.equal(unchecked.code, 0)
  t.match(unchecked.out, /sender: +not checked/)
  t.equal((await cli(t, verify, [pkg, '--signature', theirs, ...trust, '--organ-id', '000.00.00.h29'])).code, 0, '--organ-id overrides')
  t.equal((await cli(t, verify, [pkg, '--signature', theirs, ...trust, '--organ-id', 'X', '--no-sender-check'])).code, 2)
})

t.test('usage errors exit 2; key errors exit 1', async (t) => {
  const sig = join(dir, 'doc.p7s')
  t.equal((await cli(t, verify, [doc, '--signature', sig])).code, 2, 'missing --trust')
  t.equal((await cli(t, verify, [doc, '--trust', s('trust-anchors.pem')])).code, 2, 'missing --signature')
  t.equal((await cli(t, verify, [join(dir, 'missing.xml'), '--signature', sig, '--trust', s('trust-anchors.pem')])).code, 2, 'unreadable file')
  t.equal((await cli(t, verify, [doc, '--signature', sig, '--trust', empty])).code, 2, 'trust file without certificates')
  t.equal((await cli(t, verify, [doc, '--signature', sig, '--trust', s('trust-anchors.pem'), '--crl', empty])).code, 2, 'CRL file without CRLs')
  t.equal((await cli(t, verify, [doc, '--signature', sig, '--trust', s('trust-anchors.pem'), '--bogus'])).code, 2, 'unknown option')
  t.equal((await cli(t, sign, [doc, ...vpcp])).code, 2, 'missing -o')
  t.equal((await cli(t, sign, [doc, '-o', sig])).code, 2, 'no key')
  const wrong = await cli(t, sign, [doc, '--key', s('agencies/vpcp/key.pem'), '--cert', s('agencies/ubnd-hcm/cert.pem'), '-o', join(dir, 'x.p7s')])
  t.equal(wrong.code, 1)
  t.match(wrong.err, /GW_ERR_SIGNATURE_KEY/)
  const garbage = join(dir, 'garbage.p7s')
  writeFileSync(garbage, 'garbage')
  const g = await cli(t, verify, [doc, '--signature', garbage, '--trust', s('trust-anchors.pem'), '--json'])
  t.equal(g.code, 1)
  t.equal(JSON.parse(g.out).code, 'MALFORMED')
})

t.test('through the lienthong dispatcher', async (t) => {
  const sig = join(dir, 'doc.p7s')
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(packageRoot, 'src/cli.ts'), 'verify', doc, '--signature', sig, ...trust, '--json'], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.equal(JSON.parse(r.stdout).code, 'VALID')
})
