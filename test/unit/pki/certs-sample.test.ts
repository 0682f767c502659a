// The committed sample PKI must be accepted by an independent implementation (OpenSSL 3) and be strict DER,
// and each special test certificate must fail in exactly the way its manifest entry says.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import forge from 'node-forge'
import { loadSamplePki, makeSampleP12, OID_UID, SAMPLE_AGENCIES, SAMPLE_P12_PASSWORD } from '../../../src/signature/pki-sample.js'
import { checkGoodAgencies, loadManifest, openssl, pemBlocks, pemToDer, publicKeys, subjectRdns, verifyChain } from './openssl.js'

const dir = fileURLToPath(new URL('../../../certs-sample/', import.meta.url))
const m = loadManifest(dir)
const testCase = (name: string) => {
  const c = m.testCases.find((x) => x.case === name)
  if (!c) throw new Error(`no test case ${name}`)
  return c
}
const scratch = mkdtempSync(join(tmpdir(), 'lienthong-pki-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

t.test('manifest lists every file, and every listed file exists', async (t) => {
  t.equal(m.p12Password, SAMPLE_P12_PASSWORD)
  t.match(m.warning, /never trust/i)
  t.same(
    m.agencies.map((a) => [a.slug, a.organId, a.name]),
    SAMPLE_AGENCIES.map((a) => [a.slug, a.organId, a.name]),
  )
  t.ok(m.agencies.length >= 4, 'at least four agencies')
  const files = [
    m.trustAnchors,
    m.rootCa.cert,
    m.rootCa.key,
    m.intermediateCa.cert,
    m.intermediateCa.key,
    m.untrustedRootCa.cert,
    m.untrustedIntermediateCa.cert,
    m.crls.all,
    m.crls.root.pem,
    m.crls.root.der,
    m.crls.intermediate.pem,
    m.crls.intermediate.der,
    ...[...m.agencies, ...m.testCases].flatMap((e) => Object.values(e.files)),
  ]
  for (const f of files) t.ok(existsSync(join(dir, f)), f)
  t.same(
    m.agencies.map((a) => a.files),
    m.agencies.map((a) => ({
      key: `agencies/${a.slug}/key.pem`,
      cert: `agencies/${a.slug}/cert.pem`,
      chain: `agencies/${a.slug}/chain.pem`,
      p12: `agencies/${a.slug}/bundle.p12`,
    })),
    'documented layout',
  )
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')
  t.match(readme, /NEVER TRUST THESE CERTIFICATES IN PRODUCTION/)
  for (const a of m.agencies) t.ok(readme.includes(a.organId) && readme.includes(a.name), `README documents ${a.slug}`)
  t.ok(readme.includes(SAMPLE_P12_PASSWORD), 'README gives the PKCS#12 password')
})

t.test('trust-anchors.pem holds the root certificate only', async (t) => {
  const blocks = pemBlocks(readFileSync(join(dir, m.trustAnchors), 'utf8'))
  t.equal(blocks.length, 1)
  t.same(pemToDer(blocks[0]!), pemToDer(readFileSync(join(dir, m.rootCa.cert), 'utf8')))
  const subj = openssl(['x509', '-in', m.trustAnchors, '-noout', '-subject', '-issuer', '-ext', 'basicConstraints,keyUsage', '-nameopt', 'utf8,sep_comma_plus_space'], { cwd: dir })
  t.match(subj.stdout, /subject=C=VN, O=Sample Government PKI \(NOT FOR PRODUCTION\), CN=Sample Government Root CA\n/)
  t.match(subj.stdout, /issuer=C=VN, O=Sample Government PKI \(NOT FOR PRODUCTION\), CN=Sample Government Root CA\n/)
  t.match(subj.stdout, /Basic Constraints: critical\s+CA:TRUE\n/)
  t.match(subj.stdout, /Key Usage: critical\s+Certificate Sign, CRL Sign/)
  const inter = openssl(['x509', '-in', m.intermediateCa.cert, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage'], { cwd: dir })
  t.match(inter.stdout, /CN ?= ?Sample Government Signing CA/)
  t.match(inter.stdout, /CA:TRUE, pathlen:0/)
  t.equal(openssl(['verify', '-x509_strict', '-CAfile', m.trustAnchors, m.intermediateCa.cert], { cwd: dir }).code, 0, 'intermediate verifies')
})

t.test('every agency: chain, subject, encoding, key, PKCS#12 and CMS accepted by OpenSSL', async (t) => {
  await checkGoodAgencies(t, dir, scratch)
})

t.test('expired certificate fails with OpenSSL\'s expiry error (and was valid inside its period)', async (t) => {
  const c = testCase('expired')
  t.ok(new Date(c.notAfter).getTime() < Date.now(), 'validity entirely in the past')
  const r = verifyChain(dir, c.files)
  t.not(r.code, 0)
  t.match(r.out, /error 10 at 0 depth lookup: certificate has expired/)
  const inside = Math.floor((new Date(c.notBefore).getTime() + new Date(c.notAfter).getTime()) / 2000)
  t.equal(verifyChain(dir, c.files, ['-attime', String(inside)]).code, 0, 'valid at a time inside its period, CAs included')
})

t.test('not-yet-valid certificate fails with OpenSSL\'s not-yet-valid error', async (t) => {
  const r = verifyChain(dir, testCase('not-yet-valid').files)
  t.not(r.code, 0)
  t.match(r.out, /error 9 at 0 depth lookup: certificate is not yet valid/)
})

t.test('revoked certificate: chain good, fails with -crl_check; the CRLs are well signed', async (t) => {
  const c = testCase('revoked')
  t.equal(verifyChain(dir, c.files).code, 0, 'without CRL the chain is fine')
  for (const crl of [m.crls.all, m.crls.intermediate.pem]) {
    const r = verifyChain(dir, c.files, ['-crl_check', '-CRLfile', crl])
    t.not(r.code, 0)
    t.match(r.out, /error 23 at 0 depth lookup: certificate revoked/, crl)
  }
  const all = verifyChain(dir, c.files, ['-crl_check_all', '-CRLfile', m.crls.all])
  t.match(all.out, /certificate revoked/)
  const good = m.agencies[0]!
  t.equal(verifyChain(dir, good.files, ['-crl_check_all', '-CRLfile', m.crls.all]).code, 0, 'an agency passes the full CRL check')

  const text = openssl(['crl', '-in', m.crls.intermediate.pem, '-noout', '-text', '-CAfile', m.intermediateCa.cert], { cwd: dir })
  t.match(text.out, /verify OK/)
  t.match(text.out, new RegExp(`Serial Number: ${c.serial.toUpperCase()}`))
  t.match(text.out, /Key Compromise/)
  t.match(text.out, /Version 2/)
  const nextUpdate = /Next Update: (.+)/.exec(text.out)?.[1]
  t.ok(nextUpdate && new Date(nextUpdate).getTime() > Date.now() + 365 * 86_400_000, 'nextUpdate years ahead')
  const der = openssl(['crl', '-in', m.crls.intermediate.der, '-inform', 'DER', '-outform', 'DER'], { cwd: dir })
  t.equal(der.code, 0)
  t.same(readFileSync(join(dir, m.crls.intermediate.der)), pemToDer(readFileSync(join(dir, m.crls.intermediate.pem), 'utf8')), 'DER and PEM CRL are the same')
  const rootCrl = openssl(['crl', '-in', m.crls.root.pem, '-noout', '-text', '-CAfile', m.rootCa.cert], { cwd: dir })
  t.match(rootCrl.out, /verify OK/)
  t.match(rootCrl.out, /No Revoked Certificates/)
  t.equal(pemBlocks(readFileSync(join(dir, m.crls.all), 'utf8')).length, 2)
})

t.test('certificate under the untrusted root fails against the sample trust anchors, passes against its own root', async (t) => {
  const c = testCase('untrusted')
  const r = verifyChain(dir, c.files)
  t.not(r.code, 0)
  t.match(r.out, /unable to get local issuer certificate/)
  t.equal(verifyChain(dir, c.files, [], m.untrustedRootCa.cert).code, 0, 'complete chain under its own root')
  t.match(openssl(['x509', '-in', c.files.chain, '-noout', '-issuer'], { cwd: dir }).stdout, /Untrusted Root CA/)
})

t.test('certificate without digitalSignature/nonRepudiation: chain good, unusable for signing', async (t) => {
  const c = testCase('no-digital-signature')
  t.equal(verifyChain(dir, c.files).code, 0)
  const ext = openssl(['x509', '-in', c.files.cert, '-noout', '-ext', 'keyUsage,extendedKeyUsage'], { cwd: dir }).stdout
  t.match(ext, /Key Usage: critical\s+Key Encipherment\s*$/)
  const r = verifyChain(dir, c.files, ['-purpose', 'smimesign'])
  t.not(r.code, 0)
  t.match(r.out, /unsuitable certificate purpose/)
  const content = join(scratch, 'nods.txt')
  writeFileSync(content, 'edXML bytes')
  const sig = join(scratch, 'nods.p7s')
  t.equal(openssl(['cms', '-sign', '-binary', '-md', 'sha256', '-in', content, '-signer', c.files.cert, '-inkey', c.files.key, '-certfile', c.files.chain, '-outform', 'DER', '-out', sig], { cwd: dir }).code, 0)
  const v = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', content, '-CAfile', m.trustAnchors, '-out', '/dev/null'], { cwd: dir })
  t.not(v.code, 0)
  t.match(v.out, /unsuitable certificate purpose/)
})

t.test('uid-mismatch names one agency and carries another agency\'s UID; no-uid carries none', async (t) => {
  const c = testCase('uid-mismatch')
  const vpcp = SAMPLE_AGENCIES.find((a) => a.slug === c.slug)!
  t.equal(verifyChain(dir, c.files).code, 0)
  const rdns = subjectRdns(pemToDer(readFileSync(join(dir, c.files.cert), 'utf8')))
  t.same(rdns.find((r) => r[0]!.oid === '2.5.4.3')![0]!.value, vpcp.name)
  const uid = rdns.find((r) => r[0]!.oid === OID_UID)![0]!.value
  t.equal(uid, c.organId)
  t.not(uid, vpcp.organId)
  t.ok(SAMPLE_AGENCIES.some((a) => a.organId === uid), 'the UID is another sample agency')

  const n = testCase('no-uid')
  t.equal(verifyChain(dir, n.files).code, 0)
  t.equal(n.organId, undefined)
  t.notOk(subjectRdns(pemToDer(readFileSync(join(dir, n.files.cert), 'utf8'))).some((r) => r.some((a) => a.oid === OID_UID)))
})

t.test('test certificates have keys matching and readable PKCS#12 bundles', async (t) => {
  for (const c of m.testCases) {
    const pk = publicKeys(dir, c.files)
    t.ok(pk.cert.includes('BEGIN PUBLIC KEY'))
    t.equal(pk.key, pk.cert, `${c.case}: key matches certificate`)
    const p12 = openssl(['pkcs12', '-in', c.files.p12, '-nokeys', '-passin', `pass:${SAMPLE_P12_PASSWORD}`], { cwd: dir })
    t.equal(p12.code, 0, `${c.case}: bundle.p12 readable`)
  }
})

t.test('PKCS#12 bundles are read by node-forge (the gateway\'s reader) and by Node\'s TLS (OpenSSL)', async (t) => {
  for (const a of m.agencies) {
    const bytes = readFileSync(join(dir, a.files.p12))
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bytes.toString('binary')), m.p12Password)
    const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []
    t.equal(keyBags.length, 1, `${a.slug}: one key`)
    t.equal(certBags.length, 2, `${a.slug}: leaf and intermediate`)
    t.same(keyBags[0]!.attributes.friendlyName, [a.slug])
    t.same(certBags[0]!.attributes.localKeyId, keyBags[0]!.attributes.localKeyId, 'leaf and key share localKeyId')
    // forge parses RSA certificates only; for the EC agency it keeps the certificate as ASN.1 (bag.asn1)
    const leafBag = certBags[0]!
    const leafAsn1 = leafBag.cert ? forge.pki.certificateToAsn1(leafBag.cert) : leafBag.asn1!
    t.equal(!!leafBag.cert, a.keyType !== 'ec-p256', 'forge parses the certificate unless it has an EC key')
    const leafDer = Buffer.from(forge.asn1.toDer(leafAsn1).getBytes(), 'binary')
    t.same(leafDer, pemToDer(readFileSync(join(dir, a.files.cert), 'utf8')), 'first certificate is the leaf')
    // forge has no EC keys: it hands back the decrypted PKCS#8 as ASN.1 instead
    const pkcs8 = keyBags[0]!.key
      ? forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBags[0]!.key))).getBytes()
      : forge.asn1.toDer(keyBags[0]!.asn1!).getBytes()
    const fromP12 = createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8, 'binary'), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'pem' })
    t.equal(fromP12, createPublicKey(readFileSync(join(dir, a.files.cert), 'utf8')).export({ type: 'spki', format: 'pem' }), `${a.slug}: key matches`)
    t.doesNotThrow(() => createSecureContext({ pfx: bytes, passphrase: m.p12Password }), `${a.slug}: Node TLS loads it`)
    t.throws(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bytes.toString('binary')), 'wrong'))
  }
})

t.test('makeSampleP12 bundles any key and chain in the same format', async (t) => {
  const a = m.agencies.find((x) => x.keyType === 'ec-p256')!
  const keyPem = readFileSync(join(dir, a.files.key), 'utf8')
  const bytes = makeSampleP12(keyPem, [readFileSync(join(dir, a.files.cert), 'utf8'), readFileSync(join(dir, a.files.chain), 'utf8')], { friendlyName: 'x', password: 'pw' })
  const f = join(scratch, 'made.p12')
  writeFileSync(f, bytes)
  const certs = openssl(['pkcs12', '-in', f, '-nokeys', '-passin', 'pass:pw'])
  t.equal(certs.code, 0, 'openssl reads it')
  t.equal(pemBlocks(certs.stdout).length, 2)
  const key = openssl(['pkcs12', '-in', f, '-nocerts', '-nodes', '-passin', 'pass:pw'])
  t.equal(openssl(['pkey', '-pubout'], { input: Buffer.from(key.stdout) }).stdout, publicKeys(dir, a.files).cert)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const other = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const mixed = join(scratch, 'mixed.p12')
  writeFileSync(mixed, makeSampleP12(other, [readFileSync(join(dir, a.files.cert), 'utf8')]))
  const k2 = openssl(['pkcs12', '-in', mixed, '-nocerts', '-nodes', '-passin', `pass:${SAMPLE_P12_PASSWORD}`])
  t.not(openssl(['pkey', '-pubout'], { input: Buffer.from(k2.stdout) }).stdout, publicKeys(dir, a.files).cert, 'a different key stays different')
})

t.test('loadSamplePki reads the committed manifest and resolves its files', async (t) => {
  const pki = loadSamplePki()
  t.equal(pki.dir, join(dir).replace(/\/$/, ''))
  t.equal(pki.agency('000.00.00.G22').slug, 'vpcp')
  t.equal(pki.agency('stp-hcm').keyType, 'ec-p256')
  t.equal(pki.testCase('revoked').expect, 'REVOKED')
  t.equal(pki.read(pki.trustAnchors), readFileSync(join(dir, 'trust-anchors.pem'), 'utf8'))
  t.equal(pki.path('agencies/vpcp/key.pem'), join(dir, 'agencies/vpcp/key.pem'))
  t.throws(() => pki.agency('999.99.99.Z99'), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => loadSamplePki(scratch), { code: 'GW_ERR_CONFIG_FILE' })
})
