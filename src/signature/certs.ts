/**
 * Certificates as value objects that keep their exact DER bytes, plus what the signer and verifier need to know
 * about them, learnt once (cold path): node's X509Certificate (OpenSSL's strict parser, signature checks, public
 * key) must accept the certificate, and the fields used here are read from the exact DER with the TLV reader.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto'
import { gwError } from '../errors.js'
import { bytesEqual, children, decodeTime, expectTlv, oidBytes, oidStringCached, readTlv, TAG, value, whole } from './der.js'
import { OID } from './oids.js'
import type { CertSummary } from './verdict.js'

/** Everything extracted from one certificate. Immutable once built. */
export interface CertInfo {
  readonly der: Buffer
  readonly sha256: string
  readonly x509: X509Certificate
  readonly publicKey: KeyObject
  readonly summary: CertSummary
  /** Raw DER of the subject and issuer Names (whole TLVs), and the serial INTEGER TLV. */
  readonly subjectDer: Buffer
  readonly issuerDer: Buffer
  readonly serialDer: Buffer
  /** SubjectKeyIdentifier value, when present. */
  readonly ski?: Buffer
  /** keyUsage bits (bit 0 = digitalSignature ... ), undefined when the extension is absent. */
  readonly keyUsage?: ReadonlySet<KeyUsageName>
  readonly isCA: boolean
  readonly pathLen?: number
  readonly notBeforeMs: number
  readonly notAfterMs: number
  /** Critical extensions this code does not process (a path through this certificate must fail). */
  readonly unknownCritical: readonly string[]
  readonly keyType: 'rsa' | 'ec' | 'other'
}

export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number]

const KNOWN_EXTENSIONS = new Set([
  OID.keyUsage,
  OID.basicConstraints,
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage (not restricted here)
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.32', // certificatePolicies (policy processing is not done; any policy accepted)
  '2.5.29.31', // cRLDistributionPoints
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
])

const UID_BYTES = oidBytes(OID.uid)

const ATTR_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
  [OID.uid]: 'UID',
}

// ---- PEM / DER input ------------------------------------------------------------------------------------

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

/** DER bodies of the PEM blocks with one of `labels` in `text`. */
export function pemBlocks(text: string, labels: readonly string[]): Buffer[] {
  const out: Buffer[] = []
  for (const m of text.matchAll(PEM_RE)) {
    if (labels.includes(m[1]!)) out.push(Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'))
  }
  return out
}

const looksLikePem = (b: Uint8Array): boolean => {
  const head = Buffer.from(b.subarray(0, Math.min(b.length, 2048))).toString('latin1')
  return head.includes('-----BEGIN ')
}

/**
 * Normalises a bundle given as PEM text, as one PEM or DER byte array, or as a list of DER/PEM byte arrays, to a
 * list of DER objects with one of `labels`.
 */
export function derList(input: string | Uint8Array | readonly Uint8Array[] | undefined, labels: readonly string[]): Buffer[] {
  if (input === undefined) return []
  if (typeof input === 'string') return pemBlocks(input, labels)
  if (input instanceof Uint8Array) {
    return looksLikePem(input) ? pemBlocks(Buffer.from(input).toString('latin1'), labels) : [Buffer.from(input)]
  }
  return input.flatMap((b) => derList(b, labels))
}

export const CERT_LABELS = ['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE'] as const

// ---- parsing --------------------------------------------------------------------------------------------

function certError(what: string, reason: string, cause?: unknown): never {
  throw gwError('GW_ERR_SIGNATURE_CERTIFICATE', { what, reason }, cause)
}

/** Renders a DER Name RFC 4514 style (last RDN first, multi-valued RDNs joined with '+'). */
export function formatName(buf: Uint8Array): string {
  const top = readTlv(buf, 0)
  return children(buf, top)
    .map((rdn) =>
      children(buf, rdn)
        .map((atv) => {
          const [typ, val] = children(buf, atv)
          if (!typ || !val) return '?'
          const oid = oidStringCached(value(buf, typ))
          return `${ATTR_NAMES[oid] ?? oid}=${escapeValue(decodeString(buf.subarray(val.start, val.end)))}`
        })
        .join('+'),
    )
    .reverse()
    .join(',')
}

function decodeString(tlv: Uint8Array): string {
  const t = tlv[0]
  const r = readTlv(tlv, 0)
  const v = Buffer.from(tlv.subarray(r.valueStart, r.end))
  if (t === 0x1e) return v.swap16().toString('utf16le') // BMPString
  if (t === 0x0c || t === 0x13 || t === 0x16 || t === 0x14 || t === 0x1a) return v.toString(t === 0x0c ? 'utf8' : 'latin1')
  return '#' + Buffer.from(tlv).toString('hex')
}

const escapeValue = (s: string): string =>
  s.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ')

/** Subject attribute names accepted by `subjectAttribute` (besides dotted OIDs). */
export const SUBJECT_ATTRIBUTES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ATTR_NAMES).map(([oid, name]) => [name, oid]))

/** The first value of a subject attribute (`UID`, `serialNumber`, `OU`, `CN`, ... or a dotted OID) of a certificate. */
export function subjectAttribute(c: CertInfo, attribute: string): string | undefined {
  const oid = SUBJECT_ATTRIBUTES[attribute] ?? attribute
  return nameAttribute(c.subjectDer, oidBytes(oid))
}

/** The first value of attribute `oid` in a DER Name, as a string. */
function nameAttribute(buf: Uint8Array, oid: Uint8Array): string | undefined {
  const top = readTlv(buf, 0)
  for (const rdn of children(buf, top)) {
    for (const atv of children(buf, rdn)) {
      const [typ, val] = children(buf, atv)
      if (typ && val && bytesEqual(value(buf, typ), oid)) {
        const s = decodeString(buf.subarray(val.start, val.end))
        return s.startsWith('#') ? undefined : s
      }
    }
  }
  return undefined
}

function bitSet(bits: Uint8Array /* BIT STRING value incl. unused-bits octet */): Set<KeyUsageName> {
  const out = new Set<KeyUsageName>()
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bits[1 + (i >> 3)]
    if (byte !== undefined && byte & (0x80 >> (i & 7))) out.add(name)
  })
  return out
}

/**
 * Parses one certificate (the cold path). node's X509Certificate (OpenSSL's strict DER parser) must accept it; the
 * fields this code relies on are then read from the exact DER with the TLV reader. Throws
 * GW_ERR_SIGNATURE_CERTIFICATE when it cannot be read.
 */
export function parseCertificate(input: Uint8Array, what = 'certificate'): CertInfo {
  const der = Buffer.from(input)
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(der)
  } catch (e) {
    certError(what, e instanceof Error ? e.message : String(e), e)
  }
  try {
    return Object.freeze(certInfo(der, x509, what))
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'GW_ERR_SIGNATURE_CERTIFICATE') throw e
    certError(what, e instanceof Error ? e.message : String(e), e)
  }
}

function certInfo(der: Buffer, x509: X509Certificate, what: string): CertInfo {
  const top = expectTlv(der, 0, der.length, TAG.SEQUENCE, 'Certificate')
  if (top.end !== der.length) certError(what, 'trailing bytes after the certificate')
  const tbs = expectTlv(der, top.valueStart, top.end, TAG.SEQUENCE, 'TBSCertificate')
  const f = children(der, tbs)
  const i = f[0]?.tag === TAG.CTX0 ? 1 : 0
  // serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3] extensions
  const serial = f[i]
  const issuer = f[i + 2]
  const validity = f[i + 3]
  const subject = f[i + 4]
  if (!serial || !issuer || !validity || !subject || serial.tag !== TAG.INTEGER || validity.tag !== TAG.SEQUENCE) {
    certError(what, 'bad TBSCertificate')
  }
  const [nb, na] = children(der, validity)
  if (!nb || !na) certError(what, 'bad Validity')
  const notBefore = decodeTime(der, nb)
  const notAfter = decodeTime(der, na)

  let keyUsage: Set<KeyUsageName> | undefined
  let isCA = false
  let pathLen: number | undefined
  let ski: Buffer | undefined
  const unknownCritical: string[] = []
  const extsWrap = f.slice(i + 6).find((x) => x.tag === TAG.CTX3)
  if (extsWrap) {
    const exts = expectTlv(der, extsWrap.valueStart, extsWrap.end, TAG.SEQUENCE, 'Extensions')
    for (const ext of children(der, exts)) {
      const parts = children(der, ext)
      const idT = parts[0]
      const critical = parts[1]?.tag === 0x01 && der[parts[1].valueStart] !== 0
      const valT = parts[parts.length - 1]
      if (!idT || idT.tag !== TAG.OID || !valT || valT.tag !== TAG.OCTET_STRING) certError(what, 'bad Extension')
      const id = oidStringCached(value(der, idT))
      const raw = value(der, valT)
      if (id === OID.keyUsage) {
        const t = expectTlv(raw, 0, raw.length, TAG.BIT_STRING, 'keyUsage')
        keyUsage = bitSet(value(raw, t))
      } else if (id === OID.basicConstraints) {
        const t = expectTlv(raw, 0, raw.length, TAG.SEQUENCE, 'basicConstraints')
        for (const c of children(raw, t)) {
          if (c.tag === 0x01) isCA = raw[c.valueStart] !== 0
          else if (c.tag === TAG.INTEGER) pathLen = Number(BigInt('0x' + Buffer.from(value(raw, c)).toString('hex')))
        }
      } else if (id === '2.5.29.14') {
        const t = expectTlv(raw, 0, raw.length, TAG.OCTET_STRING, 'subjectKeyIdentifier')
        ski = Buffer.from(value(raw, t))
      } else if (critical && !KNOWN_EXTENSIONS.has(id)) {
        unknownCritical.push(id)
      }
    }
  }
  const keyAlg = x509.publicKey.asymmetricKeyType
  const subjectDer = Buffer.from(whole(der, subject))
  const issuerDer = Buffer.from(whole(der, issuer))
  const summary: CertSummary = {
    subject: formatName(subjectDer),
    issuer: formatName(issuerDer),
    serial: x509.serialNumber.toUpperCase(),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    sha256: createHash('sha256').update(der).digest('hex'),
  }
  const organId = nameAttribute(subjectDer, UID_BYTES)
  if (organId !== undefined) summary.organId = organId
  return {
    der,
    sha256: summary.sha256,
    x509,
    publicKey: x509.publicKey,
    summary: Object.freeze(summary),
    subjectDer,
    issuerDer,
    serialDer: Buffer.from(whole(der, serial)),
    isCA,
    notBeforeMs: notBefore.getTime(),
    notAfterMs: notAfter.getTime(),
    unknownCritical,
    keyType: keyAlg === 'rsa' ? 'rsa' : keyAlg === 'ec' ? 'ec' : 'other',
    ...(ski ? { ski } : {}),
    ...(keyUsage ? { keyUsage } : {}),
    ...(pathLen !== undefined ? { pathLen } : {}),
  }
}

/** Parses every certificate of a PEM/DER bundle. */
export function parseCertificates(input: string | Uint8Array | readonly Uint8Array[] | undefined, what: string): CertInfo[] {
  return derList(input, CERT_LABELS).map((d, i) => parseCertificate(d, `${what} #${i + 1}`))
}
