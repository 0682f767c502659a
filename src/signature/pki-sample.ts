/**
 * The sample (development-only) PKI: a root CA, an intermediate signing CA, agency certificates with their keys and
 * PKCS#12 bundles, and the special certificates the signature tests need (expired, not yet valid, revoked with its
 * CRL, under an untrusted root, without the signing key usages, with a UID naming another agency, without a UID).
 *
 * NEVER trust any of it in production: every private key, CA keys included, is published in certs-sample/.
 *
 * Keys come from node:crypto (fast, native); certificates, CRLs and PKCS#12 files are encoded here with
 * node-forge's DER writer and signed with node:crypto. The encoding is deliberately the one strict peers expect:
 * one attribute per RDN, UTF8String for every DirectoryString (PrintableString for countryName), NULL parameters
 * in sha256WithRSAEncryption, positive minimal serial numbers, minimal named BIT STRINGs for key usage, UTCTime
 * until 2049 and GeneralizedTime from 2050.
 */
import { createCipheriv, createHash, createPrivateKey, createSign, generateKeyPair, pbkdf2Sync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import forge from 'node-forge'
import { gwError } from '../errors.js'
import { packageRoot } from '../paths.js'

const asn1 = forge.asn1
type Asn1 = forge.asn1.Asn1

/** Password of every PKCS#12 bundle in the sample PKI. */
export const SAMPLE_P12_PASSWORD = 'lienthong-sample'

/** The subject attribute holding an agency's OrganId (LDAP `UID`, RFC 4519 userid). */
export const OID_UID = '0.9.2342.19200300.100.1.1'

export type SampleKeyType = 'rsa-2048' | 'rsa-3072' | 'ec-p256'

/** One agency of the sample PKI. OrganIds follow QCVN 102:2016 (`NNN.NN.NN.XNN`); lower-level groups are illustrative. */
export interface SampleAgency {
  readonly slug: string
  readonly organId: string
  readonly name: string
  /** Province or centrally-run city (subject ST). */
  readonly province: string
  /** Ward (subject L); illustrative. */
  readonly locality: string
  readonly keyType: SampleKeyType
}

export const SAMPLE_AGENCIES: readonly SampleAgency[] = Object.freeze([
  { slug: 'vpcp', organId: '000.00.00.G22', name: 'Văn phòng Chính phủ', province: 'Thành phố Hà Nội', locality: 'Phường Ba Đình', keyType: 'rsa-2048' },
  { slug: 'ubnd-hcm', organId: '000.00.00.H29', name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', province: 'Thành phố Hồ Chí Minh', locality: 'Phường Sài Gòn', keyType: 'rsa-2048' },
  { slug: 'stc-hcm', organId: '000.00.11.H29', name: 'Sở Tài chính Thành phố Hồ Chí Minh', province: 'Thành phố Hồ Chí Minh', locality: 'Phường Sài Gòn', keyType: 'rsa-2048' },
  { slug: 'ubnd-hanoi', organId: '000.00.00.H26', name: 'Ủy ban nhân dân Thành phố Hà Nội', province: 'Thành phố Hà Nội', locality: 'Phường Hoàn Kiếm', keyType: 'rsa-2048' },
  { slug: 'snv-hanoi', organId: '000.00.12.H26', name: 'Sở Nội vụ Thành phố Hà Nội', province: 'Thành phố Hà Nội', locality: 'Phường Hoàn Kiếm', keyType: 'rsa-3072' },
  { slug: 'stp-hcm', organId: '000.00.20.H29', name: 'Sở Tư pháp Thành phố Hồ Chí Minh', province: 'Thành phố Hồ Chí Minh', locality: 'Phường Sài Gòn', keyType: 'ec-p256' },
].map((a) => Object.freeze({ ...a, name: a.name.normalize('NFC'), province: a.province.normalize('NFC'), locality: a.locality.normalize('NFC') }) as SampleAgency))

/** Files of one end-entity certificate, relative to the PKI directory. */
export interface SampleFiles {
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  readonly key: string
  /** The certificate, PEM. */
  readonly cert: string
  /** The issuer chain up to but excluding the root, PEM (intermediate CA). */
  readonly chain: string
  /** PKCS#12: key + certificate + chain, PBES2/AES-256-CBC, HMAC-SHA-256 MAC, password SAMPLE_P12_PASSWORD. */
  readonly p12: string
}

export interface SampleCertInfo {
  readonly serial: string
  readonly notBefore: string
  readonly notAfter: string
  readonly sha256: string
}

export interface SampleAgencyEntry extends Omit<SampleAgency, 'keyType'>, SampleCertInfo {
  /** The key actually generated: `rsa-<bits>` (the declared RSA-2048 agencies follow opts.keyBits) or `ec-p256`. */
  readonly keyType: `rsa-${number}` | 'ec-p256'
  readonly files: SampleFiles
}

export type SampleTestCaseName =
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'untrusted'
  | 'no-digital-signature'
  | 'uid-mismatch'
  | 'no-uid'

export interface SampleTestCase extends SampleCertInfo {
  readonly case: SampleTestCaseName
  /** The agency whose name is in the subject CN/O. */
  readonly slug: string
  readonly name: string
  /** The UID in the subject (absent for no-uid; another agency's code for uid-mismatch). */
  readonly organId?: string
  /** What a verifier with the sample trust anchors and CRLs must answer (signature verdict code). */
  readonly expect: string
  readonly description: string
  readonly files: SampleFiles
}

export interface SampleCaEntry extends SampleCertInfo {
  readonly subject: string
  readonly cert: string
  readonly key: string
}

export interface SamplePkiManifest {
  readonly warning: string
  readonly generatedAt: string
  readonly p12Password: string
  /** The root certificate only: the file to give a verifier as trust anchors. */
  readonly trustAnchors: string
  readonly rootCa: SampleCaEntry
  readonly intermediateCa: SampleCaEntry
  readonly crls: {
    /** Intermediate CA's CRL; lists the `revoked` test certificate. */
    readonly intermediate: { readonly pem: string; readonly der: string }
    /** Root CA's CRL (empty). */
    readonly root: { readonly pem: string; readonly der: string }
    /** Both CRLs in one PEM file. */
    readonly all: string
  }
  readonly untrustedRootCa: SampleCaEntry
  readonly untrustedIntermediateCa: SampleCaEntry
  readonly agencies: readonly SampleAgencyEntry[]
  readonly testCases: readonly SampleTestCase[]
}

export interface GenerateSamplePkiOptions {
  /** Reference time; validity periods are computed from its UTC midnight. Default: now. */
  now?: Date
  /** RSA key size of the CAs, the test certificates and the agencies declared RSA-2048. Default 2048. */
  keyBits?: number
}

// ---- ASN.1 helpers -----------------------------------------------------------------------------------------------
const U = asn1.Class.UNIVERSAL
const T = asn1.Type
const seq = (...items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items)
const set = (...items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items)
const oid = (o: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes())
const nul = (): Asn1 => asn1.create(U, T.NULL, false, '')
const bin = (b: Uint8Array): string => Buffer.from(b).toString('binary')
const octets = (b: Uint8Array): Asn1 => asn1.create(U, T.OCTETSTRING, false, bin(b))
const bool = (v: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, v ? '\xff' : '\x00')
const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner])
const der = (a: Asn1): Buffer => Buffer.from(asn1.toDer(a).getBytes(), 'binary')
// Keep BIT STRINGs opaque (forge otherwise parses their contents as ASN.1), so SPKIs re-encode byte for byte.
const fromDer = (b: Uint8Array): Asn1 =>
  (asn1.fromDer as unknown as (input: string, options: { strict?: boolean; decodeBitStrings?: boolean }) => Asn1)(bin(b), {
    strict: true,
    decodeBitStrings: false,
  })

/** DER INTEGER from a non-negative number or big-endian magnitude (minimal, with a 0x00 byte if the high bit is set). */
function integer(v: number | Uint8Array): Asn1 {
  let bytes: Buffer
  if (typeof v === 'number') {
    let hex = v.toString(16)
    if (hex.length % 2) hex = '0' + hex
    bytes = Buffer.from(hex, 'hex')
  } else {
    bytes = Buffer.from(v)
  }
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  bytes = bytes.subarray(i)
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return asn1.create(U, T.INTEGER, false, bin(bytes))
}

/** Named BIT STRING (RFC 5280 KeyUsage) with trailing zero bits removed, as DER requires. */
function namedBits(bits: number[]): Asn1 {
  const max = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1)
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7)
  const unused = 7 - (max & 7)
  return asn1.create(U, T.BITSTRING, false, String.fromCharCode(unused) + bin(bytes))
}

/** Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(d: Date): Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d))
}

const OID = {
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  sha256: '2.16.840.1.101.3.4.2.1',
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  UID: OID_UID,
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  cRLDistributionPoints: '2.5.29.31',
  cRLNumber: '2.5.29.20',
  cRLReason: '2.5.29.21',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  data: '1.2.840.113549.1.7.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256CBC: '2.16.840.1.101.3.4.1.42',
} as const

type DnKey = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'UID'
type Dn = ReadonlyArray<readonly [DnKey, string]>

/** Name: one AttributeTypeAndValue per RDN; countryName PrintableString, everything else UTF8String (NFC). */
function name(dn: Dn): Asn1 {
  return seq(
    ...dn.map(([k, v]) =>
      set(
        seq(
          oid(OID[k]),
          k === 'C'
            ? asn1.create(U, T.PRINTABLESTRING, false, v)
            : asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(v.normalize('NFC'))),
        ),
      ),
    ),
  )
}

function dnString(dn: Dn): string {
  return dn.map(([k, v]) => `${k}=${v}`).join(', ')
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return critical ? seq(oid(id), bool(true), octets(der(value))) : seq(oid(id), octets(der(value)))
}

/** Key identifier: SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 §4.2.1.2 method 1). */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = fromDer(spkiDer)
  const bits = (spki.value as Asn1[])[1]!.value as string
  return createHash('sha1').update(Buffer.from(bits, 'binary').subarray(1)).digest()
}

function pem(label: string, body: Uint8Array): string {
  const b64 = Buffer.from(body).toString('base64')
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`
}

// ---- Certificates ------------------------------------------------------------------------------------------------
interface KeyPair {
  readonly type: SampleKeyType
  readonly privateKey: KeyObject
  readonly spkiDer: Buffer
}

const genKey = promisify(generateKeyPair)

async function makeKey(type: SampleKeyType, rsaBits: number): Promise<KeyPair> {
  const { privateKey, publicKey } =
    type === 'ec-p256'
      ? await genKey('ec', { namedCurve: 'P-256' })
      : await genKey('rsa', { modulusLength: type === 'rsa-3072' ? 3072 : rsaBits, publicExponent: 0x10001 })
  return { type, privateKey, spkiDer: publicKey.export({ type: 'spki', format: 'der' }) }
}

interface Issued {
  readonly dn: Dn
  readonly der: Buffer
  readonly pem: string
  readonly key: KeyPair
  readonly ski: Buffer
  readonly serial: Buffer
  readonly info: SampleCertInfo
}

interface CertSpec {
  readonly dn: Dn
  readonly key: KeyPair
  /** Issuer; undefined for a self-signed certificate. */
  readonly issuer?: Issued
  readonly notBefore: Date
  readonly notAfter: Date
  readonly ca?: { readonly pathLen?: number }
  /** KeyUsage bit numbers (0 digitalSignature, 1 nonRepudiation, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign). */
  readonly keyUsage: number[]
  readonly emailProtection?: boolean
  readonly crlUrl?: string
}

function signatureAlgorithm(signer: KeyPair): Asn1 {
  return signer.type === 'ec-p256' ? seq(oid(OID.ecdsaWithSHA256)) : seq(oid(OID.sha256WithRSA), nul())
}

function sign(signer: KeyPair, tbs: Buffer): Buffer {
  return createSign('sha256').update(tbs).sign(signer.privateKey)
}

function newSerial(): Buffer {
  const s = randomBytes(16)
  s[0] = (s[0]! & 0x3f) | 0x40 // positive, no leading zero: always 16 bytes
  return s
}

function issue(spec: CertSpec): Issued {
  const serial = newSerial()
  const ski = keyIdentifier(spec.key.spkiDer)
  const signer = spec.issuer?.key ?? spec.key
  const issuerDn = spec.issuer?.dn ?? spec.dn
  const exts: Asn1[] = []
  if (spec.ca) {
    const bc: Asn1[] = [bool(true)]
    if (spec.ca.pathLen !== undefined) bc.push(integer(spec.ca.pathLen))
    exts.push(extension(OID.basicConstraints, true, seq(...bc)))
  }
  exts.push(extension(OID.keyUsage, true, namedBits(spec.keyUsage)))
  if (spec.emailProtection) exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.emailProtection))))
  exts.push(extension(OID.subjectKeyIdentifier, false, octets(ski)))
  const aki = spec.issuer?.ski ?? ski
  exts.push(extension(OID.authorityKeyIdentifier, false, seq(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(aki)))))
  if (spec.crlUrl) {
    // DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } }
    const uri = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, spec.crlUrl)
    const dpName = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [uri])])
    exts.push(extension(OID.cRLDistributionPoints, false, seq(seq(dpName))))
  }
  const tbs = seq(
    explicit(0, integer(2)),
    integer(serial),
    signatureAlgorithm(signer),
    name(issuerDn),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.dn),
    fromDer(spec.key.spkiDer),
    explicit(3, seq(...exts)),
  )
  const tbsDer = der(tbs)
  const sig = sign(signer, tbsDer)
  const certDer = der(seq(tbs, signatureAlgorithm(signer), asn1.create(U, T.BITSTRING, false, '\x00' + bin(sig))))
  const x = new X509Certificate(certDer) // round-trip through OpenSSL's parser: fails loudly on a bad encoding
  return {
    dn: spec.dn,
    der: certDer,
    pem: pem('CERTIFICATE', certDer),
    key: spec.key,
    ski,
    serial,
    info: {
      serial: serial.toString('hex'),
      notBefore: new Date(x.validFrom).toISOString(),
      notAfter: new Date(x.validTo).toISOString(),
      sha256: createHash('sha256').update(certDer).digest('hex'),
    },
  }
}

// ---- CRL ---------------------------------------------------------------------------------------------------------
interface Revocation {
  readonly serial: Buffer
  readonly date: Date
  /** CRLReason: 1 keyCompromise. */
  readonly reason?: number
}

function makeCrl(ca: Issued, thisUpdate: Date, nextUpdate: Date, revoked: Revocation[], crlNumber: number): Buffer {
  const tbsItems: Asn1[] = [integer(1), signatureAlgorithm(ca.key), name(ca.dn), time(thisUpdate), time(nextUpdate)]
  if (revoked.length > 0) {
    tbsItems.push(
      seq(
        ...revoked.map((r) => {
          const entry: Asn1[] = [integer(r.serial), time(r.date)]
          if (r.reason !== undefined) {
            entry.push(seq(extension(OID.cRLReason, false, asn1.create(U, T.ENUMERATED, false, String.fromCharCode(r.reason)))))
          }
          return seq(...entry)
        }),
      ),
    )
  }
  tbsItems.push(
    explicit(
      0,
      seq(
        extension(OID.authorityKeyIdentifier, false, seq(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(ca.ski)))),
        extension(OID.cRLNumber, false, integer(crlNumber)),
      ),
    ),
  )
  const tbs = seq(...tbsItems)
  const sig = sign(ca.key, der(tbs))
  return der(seq(tbs, signatureAlgorithm(ca.key), asn1.create(U, T.BITSTRING, false, '\x00' + bin(sig))))
}

// ---- PKCS#12 -----------------------------------------------------------------------------------------------------
const P12_ITERATIONS = 2048

/** BMPString: forge's DER writer turns the JS string into UTF-16BE itself. */
const bmpString = (s: string): Asn1 => asn1.create(U, T.BMPSTRING, false, s)

/** EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC (RFC 8018), via node:crypto. */
function pbes2Encrypt(pkcs8: Buffer, password: string): Asn1 {
  const salt = randomBytes(16)
  const iv = randomBytes(16)
  const dk = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, P12_ITERATIONS, 32, 'sha256')
  const cipher = createCipheriv('aes-256-cbc', dk, iv)
  const data = Buffer.concat([cipher.update(pkcs8), cipher.final()])
  const kdf = seq(oid(OID.pbkdf2), seq(octets(salt), integer(P12_ITERATIONS), seq(oid(OID.hmacWithSHA256), nul())))
  const enc = seq(oid(OID.aes256CBC), octets(iv))
  return seq(seq(oid(OID.pbes2), seq(kdf, enc)), octets(data))
}

function dataContentInfo(content: Asn1): Asn1 {
  return seq(oid(OID.data), explicit(0, octets(der(content))))
}

/**
 * PKCS#12 in the shape OpenSSL 3 writes by default: the key in a pkcs8ShroudedKeyBag (PBES2, PBKDF2-HMAC-SHA-256,
 * AES-256-CBC), certificates in a plain data SafeContents, an HMAC-SHA-256 MAC (RFC 7292 KDF). Works for RSA and EC
 * keys alike (forge's own writer only knows RSA keys). OpenSSL 3 reads it without `-legacy`. Key encryption uses
 * node:crypto (forge's pure-JS PBKDF2 costs ~150 ms per bundle); the MAC uses forge's RFC 7292 KDF (Node has none).
 */
function makeP12(key: KeyObject, certs: Buffer[], friendlyName: string, password: string): Buffer {
  const localKeyId = createHash('sha1').update(certs[0]!).digest()
  const attrs = set(
    seq(oid(OID.friendlyName), set(bmpString(friendlyName))),
    seq(oid(OID.localKeyId), set(octets(localKeyId))),
  )
  const encrypted = pbes2Encrypt(key.export({ type: 'pkcs8', format: 'der' }), password)
  const keyBag = seq(oid(OID.pkcs8ShroudedKeyBag), explicit(0, encrypted), attrs)
  const certBags = certs.map((c, i) => {
    const bag: Asn1[] = [oid(OID.certBag), explicit(0, seq(oid(OID.x509Certificate), explicit(0, octets(c))))]
    if (i === 0) bag.push(attrs)
    return seq(...bag)
  })
  const authSafe = seq(dataContentInfo(seq(...certBags)), dataContentInfo(seq(keyBag)))
  const authSafeDer = der(authSafe)
  const salt = randomBytes(16)
  const md = forge.md.sha256.create()
  const macKey = forge.pkcs12.generateKey(password, forge.util.createBuffer(bin(salt)), 3, P12_ITERATIONS, 32, md)
  const hmac = forge.hmac.create()
  hmac.start(forge.md.sha256.create(), macKey.getBytes())
  hmac.update(bin(authSafeDer))
  const mac = Buffer.from(hmac.digest().getBytes(), 'binary')
  const pfx = seq(
    integer(3),
    seq(oid(OID.data), explicit(0, octets(authSafeDer))),
    seq(seq(seq(oid(OID.sha256), nul()), octets(mac)), octets(salt), integer(P12_ITERATIONS)),
  )
  return der(pfx)
}

/**
 * A PKCS#12 bundle (same format as the sample PKI's bundle.p12) from a PEM private key (PKCS#8, or anything
 * node:crypto reads) and PEM certificates, leaf first. For tests that mint their own keys (any RSA or EC key).
 */
export function makeSampleP12(keyPem: string, certPems: string[], opts: { friendlyName?: string; password?: string } = {}): Uint8Array {
  const certs = certPems.map((c) => Buffer.from(new X509Certificate(c).raw))
  return makeP12(createPrivateKey(keyPem), certs, opts.friendlyName ?? 'sample', opts.password ?? SAMPLE_P12_PASSWORD)
}

// ---- The sample PKI ----------------------------------------------------------------------------------------------
const DAY = 86_400_000
const addYears = (d: Date, years: number): Date => {
  const r = new Date(d.getTime())
  r.setUTCFullYear(r.getUTCFullYear() + years)
  return r
}

const CA_ORG = 'Sample Government PKI (NOT FOR PRODUCTION)'
const CRL_BASE = 'http://pki.sample.invalid/crl'

export const SAMPLE_PKI_WARNING =
  'SAMPLE PKI FOR DEVELOPMENT AND TESTS ONLY. Every private key (CA keys included) is public. Never trust these certificates in production.'

/**
 * Writes a fresh sample PKI into `dir` (created if needed; existing files with the same names are overwritten) and
 * returns its manifest (also written as `dir/manifest.json`). Paths in the manifest are relative to `dir`.
 */
export async function generateSamplePki(dir: string, opts: GenerateSamplePkiOptions = {}): Promise<SamplePkiManifest> {
  const now = opts.now ?? new Date()
  const bits = opts.keyBits ?? 2048
  const base = new Date(Math.floor(now.getTime() / DAY) * DAY) // UTC midnight: thisUpdate/notBefore never in the future
  const rsa: SampleKeyType = 'rsa-2048'

  // All keys at once: node:crypto generates them on the thread pool.
  const testCaseNames: SampleTestCaseName[] = ['expired', 'not-yet-valid', 'revoked', 'untrusted', 'no-digital-signature', 'uid-mismatch', 'no-uid']
  const [rootKey, interKey, uRootKey, uInterKey, ...leafKeys] = await Promise.all([
    makeKey(rsa, bits),
    makeKey(rsa, bits),
    makeKey(rsa, bits),
    makeKey(rsa, bits),
    ...SAMPLE_AGENCIES.map((a) => makeKey(a.keyType, bits)),
    ...testCaseNames.map(() => makeKey(rsa, bits)),
  ])

  const caStart = addYears(base, -3) // CAs predate the expired test certificate, so "expired at signing time" tests work
  const root = issue({
    dn: [['C', 'VN'], ['O', CA_ORG], ['CN', 'Sample Government Root CA']],
    key: rootKey!,
    notBefore: caStart,
    notAfter: addYears(caStart, 20),
    ca: {},
    keyUsage: [5, 6],
  })
  const inter = issue({
    dn: [['C', 'VN'], ['O', CA_ORG], ['CN', 'Sample Government Signing CA']],
    key: interKey!,
    issuer: root,
    notBefore: caStart,
    notAfter: addYears(caStart, 10),
    ca: { pathLen: 0 },
    keyUsage: [5, 6],
    crlUrl: `${CRL_BASE}/root-ca.crl`,
  })
  const uRoot = issue({
    dn: [['C', 'VN'], ['O', 'Untrusted Sample PKI (NOT FOR PRODUCTION)'], ['CN', 'Untrusted Root CA']],
    key: uRootKey!,
    notBefore: caStart,
    notAfter: addYears(caStart, 20),
    ca: {},
    keyUsage: [5, 6],
  })
  const uInter = issue({
    dn: [['C', 'VN'], ['O', 'Untrusted Sample PKI (NOT FOR PRODUCTION)'], ['CN', 'Untrusted Signing CA']],
    key: uInterKey!,
    issuer: uRoot,
    notBefore: caStart,
    notAfter: addYears(caStart, 10),
    ca: { pathLen: 0 },
    keyUsage: [5, 6],
  })

  const agencyDn = (a: SampleAgency, uid: string | undefined): Dn => {
    const dn: [DnKey, string][] = [['C', 'VN'], ['ST', a.province], ['L', a.locality], ['O', a.name], ['CN', a.name]]
    if (uid !== undefined) dn.push(['UID', uid])
    return dn
  }
  const leafStart = new Date(base.getTime() - DAY)
  const leaf = (a: SampleAgency, key: KeyPair, over: Partial<CertSpec> & { uid?: string | null } = {}): Issued =>
    issue({
      dn: agencyDn(a, over.uid === null ? undefined : (over.uid ?? a.organId)),
      key,
      issuer: over.issuer ?? inter,
      notBefore: over.notBefore ?? leafStart,
      notAfter: over.notAfter ?? addYears(leafStart, 5),
      keyUsage: over.keyUsage ?? [0, 1],
      emailProtection: over.emailProtection ?? true,
      crlUrl: over.issuer === uInter ? undefined : `${CRL_BASE}/signing-ca.crl`,
    })

  const writes: Array<[string, string | Uint8Array]> = []
  const out = (rel: string, data: string | Uint8Array): string => {
    writes.push([rel, data])
    return rel
  }
  const writeLeaf = (folder: string, slug: string, c: Issued, issuer: Issued): SampleFiles => ({
    key: out(`${folder}/key.pem`, c.key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    cert: out(`${folder}/cert.pem`, c.pem),
    chain: out(`${folder}/chain.pem`, issuer.pem),
    p12: out(`${folder}/bundle.p12`, makeP12(c.key.privateKey, [c.der, issuer.der], slug, SAMPLE_P12_PASSWORD)),
  })
  const caEntry = (c: Issued, file: string): SampleCaEntry => ({
    subject: dnString(c.dn),
    cert: out(`${file}.pem`, c.pem),
    key: out(`${file}.key.pem`, c.key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    ...c.info,
  })

  const agencies: SampleAgencyEntry[] = SAMPLE_AGENCIES.map((a, i) => {
    const c = leaf(a, leafKeys[i]!)
    const keyType = a.keyType === 'rsa-2048' ? (`rsa-${bits}` as const) : a.keyType
    return { ...a, keyType, ...c.info, files: writeLeaf(`agencies/${a.slug}`, a.slug, c, inter) }
  })

  const bySlug = (slug: string): SampleAgency => SAMPLE_AGENCIES.find((a) => a.slug === slug)!
  const tk = (name: SampleTestCaseName): KeyPair => leafKeys[SAMPLE_AGENCIES.length + testCaseNames.indexOf(name)]!
  const specs: Array<{ case: SampleTestCaseName; agency: SampleAgency; over: Parameters<typeof leaf>[2]; expect: string; description: string }> = [
    {
      case: 'expired',
      agency: bySlug('vpcp'),
      over: { notBefore: addYears(base, -2), notAfter: addYears(base, -1) },
      expect: 'CERT_EXPIRED',
      description: 'valid from 2 years ago until 1 year ago (the CAs were valid then: sign with a past signing time to test "valid at signing time")',
    },
    {
      case: 'not-yet-valid',
      agency: bySlug('ubnd-hcm'),
      over: { notBefore: addYears(base, 5), notAfter: addYears(base, 6) },
      expect: 'CERT_NOT_YET_VALID',
      description: 'valid from 5 years after generation for one year',
    },
    {
      case: 'revoked',
      agency: bySlug('stc-hcm'),
      over: {},
      expect: 'REVOKED',
      description: 'listed (keyCompromise) in intermediate-ca.crl.pem; otherwise a good certificate',
    },
    {
      case: 'untrusted',
      agency: bySlug('ubnd-hcm'),
      over: { issuer: uInter },
      expect: 'UNTRUSTED_CHAIN',
      description: 'issued by "Untrusted Signing CA" under "Untrusted Root CA" (untrusted-root-ca.pem), not under the sample root',
    },
    {
      case: 'no-digital-signature',
      agency: bySlug('ubnd-hanoi'),
      over: { keyUsage: [2], emailProtection: false },
      expect: 'KEY_USAGE',
      description: 'keyUsage keyEncipherment only (critical), no digitalSignature/nonRepudiation, no extendedKeyUsage',
    },
    {
      case: 'uid-mismatch',
      agency: bySlug('vpcp'),
      over: { uid: bySlug('ubnd-hcm').organId },
      expect: 'SENDER_MISMATCH',
      description: 'CN/O of Văn phòng Chính phủ (000.00.00.G22) but UID 000.00.00.H29: a package From 000.00.00.G22 signed with it must fail sender binding',
    },
    {
      case: 'no-uid',
      agency: bySlug('snv-hanoi'),
      over: { uid: null },
      expect: 'SENDER_MISMATCH',
      description: 'good chain and usages but no UID in the subject: the certificate names no OrganId',
    },
  ]
  const testCases: SampleTestCase[] = []
  let revoked: Issued | undefined
  for (const s of specs) {
    const c = leaf(s.agency, tk(s.case), s.over)
    if (s.case === 'revoked') revoked = c
    const uid = s.over?.uid === null ? undefined : (s.over?.uid ?? s.agency.organId)
    testCases.push({
      case: s.case,
      slug: s.agency.slug,
      name: s.agency.name,
      ...(uid !== undefined ? { organId: uid } : {}),
      expect: s.expect,
      description: s.description,
      ...c.info,
      files: writeLeaf(`test/${s.case}`, `${s.case}-${s.agency.slug}`, c, s.over?.issuer ?? inter),
    })
  }

  const crlNext = addYears(base, 10)
  const interCrl = makeCrl(inter, base, crlNext, [{ serial: revoked!.serial, date: base, reason: 1 }], 1)
  const rootCrl = makeCrl(root, base, crlNext, [], 1)
  const interCrlPem = pem('X509 CRL', interCrl)
  const rootCrlPem = pem('X509 CRL', rootCrl)

  const manifest: SamplePkiManifest = {
    warning: SAMPLE_PKI_WARNING,
    generatedAt: now.toISOString(),
    p12Password: SAMPLE_P12_PASSWORD,
    trustAnchors: out('trust-anchors.pem', root.pem),
    rootCa: caEntry(root, 'root-ca'),
    intermediateCa: caEntry(inter, 'intermediate-ca'),
    crls: {
      intermediate: { pem: out('intermediate-ca.crl.pem', interCrlPem), der: out('intermediate-ca.crl', interCrl) },
      root: { pem: out('root-ca.crl.pem', rootCrlPem), der: out('root-ca.crl', rootCrl) },
      all: out('crls.pem', interCrlPem + rootCrlPem),
    },
    untrustedRootCa: caEntry(uRoot, 'untrusted-root-ca'),
    untrustedIntermediateCa: caEntry(uInter, 'untrusted-intermediate-ca'),
    agencies,
    testCases,
  }
  out('manifest.json', JSON.stringify(manifest, null, 2) + '\n')

  for (const [rel, data] of writes) {
    const path = join(dir, rel)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, data, rel.endsWith('key.pem') ? { mode: 0o600 } : {})
  }
  return manifest
}

/** The committed sample PKI: `certs-sample/` of the package. */
export const SAMPLE_PKI_DIR = join(packageRoot, 'certs-sample')

export interface LoadedSamplePki extends SamplePkiManifest {
  /** Absolute folder of the PKI. */
  readonly dir: string
  /** Absolute path of a file named in the manifest. */
  path(rel: string): string
  /** Text of a file named in the manifest (PEM files). */
  read(rel: string): string
  agency(slugOrOrganId: string): SampleAgencyEntry
  testCase(name: SampleTestCaseName): SampleTestCase
}

/**
 * Reads a sample PKI's manifest.json (default: the committed certs-sample/) with helpers to reach its files, e.g.
 * `const pki = loadSamplePki(); pki.read(pki.agency('000.00.00.G22').files.cert)`.
 */
export function loadSamplePki(dir: string = SAMPLE_PKI_DIR): LoadedSamplePki {
  const abs = resolve(dir)
  const file = join(abs, 'manifest.json')
  let m: SamplePkiManifest
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as SamplePkiManifest
  } catch (e) {
    throw gwError('GW_ERR_CONFIG_FILE', { path: file, reason: (e as Error).message }, e)
  }
  const path = (rel: string): string => (isAbsolute(rel) ? rel : join(abs, rel))
  return {
    ...m,
    dir: abs,
    path,
    read: (rel) => readFileSync(path(rel), 'utf8'),
    agency(key) {
      const a = m.agencies.find((x) => x.slug === key || x.organId === key)
      if (!a) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `no sample agency ${key} in ${file}` })
      return a
    },
    testCase(name) {
      const c = m.testCases.find((x) => x.case === name)
      if (!c) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `no sample test case ${name} in ${file}` })
      return c
    },
  }
}
