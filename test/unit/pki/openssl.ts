// OpenSSL as the independent implementation the sample PKI must satisfy, plus strict DER checks with asn1js/PKI.js.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import type { Test } from 'tap'
import type { SamplePkiManifest } from '../../../src/signature/pki-sample.js'

export interface Run {
  code: number
  stdout: string
  stderr: string
  out: string
}

export function openssl(args: string[], opts: { cwd?: string; input?: Uint8Array } = {}): Run {
  const r = spawnSync('openssl', args, { cwd: opts.cwd, input: opts.input, maxBuffer: 16 << 20 })
  if (r.error) throw r.error
  const stdout = r.stdout.toString('utf8')
  const stderr = r.stderr.toString('utf8')
  return { code: r.status ?? -1, stdout, stderr, out: stdout + stderr }
}

export function loadManifest(dir: string): SamplePkiManifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SamplePkiManifest
}

/** `openssl verify` of a leaf against the trust anchors, with the leaf's chain as untrusted intermediates. */
export function verifyChain(dir: string, files: { cert: string; chain: string }, extra: string[] = [], caFile?: string): Run {
  return openssl(['verify', '-x509_strict', ...extra, '-CAfile', caFile ?? loadManifest(dir).trustAnchors, '-untrusted', files.chain, files.cert], { cwd: dir })
}

export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN [^-]+-----([\s\S]+?)-----END/.exec(pem)
  if (!m) throw new Error('no PEM block')
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')
}

export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/g) ?? []
}

/** Public key (SPKI PEM) of a certificate and of a private key, as OpenSSL extracts them. */
export function publicKeys(dir: string, files: { cert: string; key: string }): { cert: string; key: string } {
  return {
    cert: openssl(['x509', '-in', files.cert, '-noout', '-pubkey'], { cwd: dir }).stdout,
    key: openssl(['pkey', '-in', files.key, '-pubout'], { cwd: dir }).stdout,
  }
}

export interface RdnAttr {
  oid: string
  /** ASN.1 universal tag number of the value (12 UTF8String, 19 PrintableString, 22 IA5String). */
  tag: number
  value: string
}

/** The subject as a list of RDNs, each a list of attributes (decoded strictly from DER). */
export function subjectRdns(der: Buffer): RdnAttr[][] {
  const parsed = asn1js.fromBER(new Uint8Array(der))
  if (parsed.offset === -1) throw new Error('bad DER')
  const cert = parsed.result as asn1js.Sequence
  const tbs = cert.valueBlock.value[0] as asn1js.Sequence
  const subject = tbs.valueBlock.value[5] as asn1js.Sequence
  return subject.valueBlock.value.map((rdn) =>
    (rdn as asn1js.Set).valueBlock.value.map((atv) => {
      const [type, value] = (atv as asn1js.Sequence).valueBlock.value as [asn1js.ObjectIdentifier, asn1js.BaseStringBlock]
      return { oid: type.valueBlock.toString(), tag: value.idBlock.tagNumber, value: value.getValue() }
    }),
  )
}

/** Re-encode a certificate from its parsed fields with PKI.js (what a strict peer does) and return the DER. */
export function pkijsReencode(der: Buffer): Buffer {
  const cert = pkijs.Certificate.fromBER(new Uint8Array(der))
  return Buffer.from(cert.toSchema(true).toBER(false))
}

export function pkijsCertificate(der: Buffer): pkijs.Certificate {
  return pkijs.Certificate.fromBER(new Uint8Array(der))
}

/**
 * Everything a good agency certificate of a sample PKI in `dir` must satisfy, checked with OpenSSL (and PKI.js for
 * the DER round trip). `attime` (seconds since the epoch) checks validity at that time instead of now.
 */
export async function checkGoodAgencies(t: Test, dir: string, scratch: string, attime?: number): Promise<void> {
  const m = loadManifest(dir)
  const at = attime === undefined ? [] : ['-attime', String(attime)]
  const interPem = readFileSync(join(dir, m.intermediateCa.cert), 'utf8')
  const interSki = openssl(['x509', '-in', m.intermediateCa.cert, '-noout', '-ext', 'subjectKeyIdentifier'], { cwd: dir }).stdout.split('\n')[1]?.trim()
  t.match(interSki, /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/, 'intermediate has a subject key identifier')
  const content = join(scratch, 'package.xml')
  writeFileSync(content, '<?xml version="1.0" encoding="UTF-8"?><edXML>Văn bản mẫu</edXML>\n')
  const tampered = join(scratch, 'tampered.xml')
  writeFileSync(tampered, '<?xml version="1.0" encoding="UTF-8"?><edXML>Văn bản mẫu</edXML>\r\n')

  for (const a of m.agencies) {
    await t.test(`${a.slug} (${a.organId}, ${a.keyType})`, async (t) => {
      // chain
      const v = verifyChain(dir, a.files, at)
      t.equal(v.code, 0, v.out)
      t.equal(v.stdout.trim(), `${a.files.cert}: OK`)
      t.equal(verifyChain(dir, a.files, [...at, '-crl_check_all', '-CRLfile', m.crls.all]).code, 0, 'not revoked (full CRL check)')
      t.equal(verifyChain(dir, a.files, [...at, '-purpose', 'smimesign']).code, 0, 'fit for S/MIME signing')
      t.equal(readFileSync(join(dir, a.files.chain), 'utf8'), interPem, 'chain.pem is the intermediate')

      // subject: one attribute per RDN, UTF-8 names, the UID
      const subject = openssl(['x509', '-in', a.files.cert, '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus_space'], { cwd: dir })
      t.equal(subject.stdout.trim(), `subject=C=VN, ST=${a.province}, L=${a.locality}, O=${a.name}, CN=${a.name}, UID=${a.organId}`)
      const der = pemToDer(readFileSync(join(dir, a.files.cert), 'utf8'))
      const rdns = subjectRdns(der)
      t.ok(rdns.every((rdn) => rdn.length === 1), 'single-valued RDNs')
      t.same(
        rdns.map((r) => [r[0]!.oid, r[0]!.tag]),
        [['2.5.4.6', 19], ['2.5.4.8', 12], ['2.5.4.7', 12], ['2.5.4.10', 12], ['2.5.4.3', 12], ['0.9.2342.19200300.100.1.1', 12]],
        'C PrintableString, the rest UTF8String',
      )
      t.ok(rdns.every((r) => r[0]!.value === r[0]!.value.normalize('NFC')), 'names in NFC')

      // encoding details peers are strict about
      t.same(pkijsReencode(der), der, 'PKI.js re-encodes the certificate byte for byte (strict DER)')
      const c = pkijsCertificate(der)
      t.equal(c.signatureAlgorithm.algorithmId, '1.2.840.113549.1.1.11', 'sha256WithRSAEncryption')
      t.ok(c.signatureAlgorithm.algorithmParams instanceof asn1js.Null, 'with NULL parameters')
      t.equal(c.signature.algorithmId, c.signatureAlgorithm.algorithmId, 'inner and outer signature algorithms agree')
      t.ok(c.signature.algorithmParams instanceof asn1js.Null, 'inner one with NULL parameters too')
      const serial = c.serialNumber.valueBlock.valueHexView
      t.ok(serial[0]! > 0 && serial[0]! < 0x80, 'serial positive and minimal')
      t.equal(Buffer.from(serial).toString('hex'), a.serial)
      t.equal(c.notBefore.value.toISOString(), a.notBefore)
      t.equal(c.notAfter.value.toISOString(), a.notAfter)
      const ext = openssl(['x509', '-in', a.files.cert, '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage,subjectKeyIdentifier,authorityKeyIdentifier'], { cwd: dir }).stdout
      t.match(ext, /Key Usage: critical\s+Digital Signature, Non Repudiation\n/)
      t.match(ext, /Extended Key Usage: \s*E-mail Protection/)
      t.notMatch(ext, /Basic Constraints/, 'no basicConstraints on end entities')
      t.match(ext, /Subject Key Identifier: \s*([0-9A-F]{2}:){19}[0-9A-F]{2}/)
      t.ok(ext.includes(`Authority Key Identifier: \n    ${interSki}`) || ext.includes(`Authority Key Identifier:\n    ${interSki}`), 'authority key id = intermediate key id')
      t.match(openssl(['x509', '-in', a.files.cert, '-noout', '-text'], { cwd: dir }).stdout, a.keyType === 'ec-p256' ? /id-ecPublicKey[\s\S]*prime256v1/ : new RegExp(`Public-Key: \\(${a.keyType.slice(4)} bit\\)`))

      // key
      t.match(readFileSync(join(dir, a.files.key), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM')
      const pk = publicKeys(dir, a.files)
      t.match(pk.cert, /BEGIN PUBLIC KEY/)
      t.equal(pk.key, pk.cert, 'key matches certificate')

      // PKCS#12, OpenSSL 3 without -legacy
      const pass = `pass:${m.p12Password}`
      const certs = openssl(['pkcs12', '-in', a.files.p12, '-nokeys', '-passin', pass], { cwd: dir })
      t.equal(certs.code, 0, certs.out)
      const blocks = pemBlocks(certs.stdout)
      t.equal(blocks.length, 2, 'leaf and intermediate')
      t.same(pemToDer(blocks[0]!), der, 'leaf first')
      const keyOut = openssl(['pkcs12', '-in', a.files.p12, '-nocerts', '-nodes', '-passin', pass], { cwd: dir })
      t.equal(keyOut.code, 0)
      const p12Pub = openssl(['pkey', '-pubout'], { input: Buffer.from(keyOut.stdout) }).stdout
      t.equal(p12Pub, pk.cert, 'PKCS#12 key matches the certificate')
      const info = openssl(['pkcs12', '-in', a.files.p12, '-info', '-nokeys', '-passin', pass], { cwd: dir }).out
      t.match(info, /MAC: sha256/)
      t.match(info, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/)
      t.match(info, new RegExp(`friendlyName: ${a.slug}\n`), 'friendlyName is the slug')
      t.not(openssl(['pkcs12', '-in', a.files.p12, '-nokeys', '-passin', 'pass:wrong'], { cwd: dir }).code, 0, 'wrong password refused')

      // detached CMS made by OpenSSL with the agency key verifies against the trust anchors only
      const sig = join(scratch, `${a.slug}.p7s`)
      const s = openssl(['cms', '-sign', '-binary', '-md', 'sha256', '-in', content, '-signer', a.files.cert, '-inkey', a.files.key, '-certfile', a.files.chain, '-outform', 'DER', '-out', sig], { cwd: dir })
      t.equal(s.code, 0, s.out)
      const ok = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', content, '-CAfile', m.trustAnchors, '-out', '/dev/null', ...at], { cwd: dir })
      t.equal(ok.code, 0, ok.out)
      t.match(ok.out, /Verification successful/)
      const bad = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', tampered, '-CAfile', m.trustAnchors, '-out', '/dev/null', ...at], { cwd: dir })
      t.not(bad.code, 0, 'changed content fails')
    })
  }
}
