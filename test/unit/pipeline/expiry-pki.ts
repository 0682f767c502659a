/**
 * Test helper: a small PKI whose validity periods the test chooses (a root, an intermediate, agency certificates),
 * minted with node-forge as the sample PKI is (keys from node:crypto, so no slow pure-JS key generation), and CRLs
 * with a chosen thisUpdate/nextUpdate signed with PKI.js (node-forge makes no CRLs).
 */
import { generateKeyPairSync, webcrypto } from 'node:crypto'
import forge from 'node-forge'
import * as pkijs from 'pkijs'
import { usePkijsEngine } from '../../../src/signature/index.js'

const DAY = 86_400_000

export interface TestCa {
  readonly certPem: string
  readonly keyPem: string
  readonly cert: forge.pki.Certificate
  readonly key: forge.pki.rsa.PrivateKey
}

let serial = Date.now()

function rsaPem(): { keyPem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

/**
 * A certificate valid from `fromDays` to `toDays` days from now (negative: in the past), issued by `issuer` (or
 * self-signed). `organId` goes to the subject UID; `crlUrl` to cRLDistributionPoints.
 */
export function mint(o: { cn: string; fromDays: number; toDays: number; issuer?: TestCa; ca?: boolean; organId?: string; crlUrl?: string }): TestCa {
  const { keyPem, publicPem } = rsaPem()
  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem)
  cert.serialNumber = (serial++).toString(16).padStart(12, '0')
  cert.validity.notBefore = new Date(Date.now() + o.fromDays * DAY)
  cert.validity.notAfter = new Date(Date.now() + o.toDays * DAY)
  const subject: forge.pki.CertificateField[] = [{ name: 'countryName', value: 'VN' }, { name: 'commonName', value: o.cn }]
  if (o.organId) subject.push({ type: '0.9.2342.19200300.100.1.1', value: o.organId })
  cert.setSubject(subject)
  cert.setIssuer(o.issuer ? o.issuer.cert.subject.attributes : subject)
  const ext: Record<string, unknown>[] = [
    { name: 'basicConstraints', cA: o.ca === true, critical: true },
    o.ca ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true } : { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]
  if (o.crlUrl) ext.push({ name: 'cRLDistributionPoints', altNames: [{ type: 6, value: o.crlUrl }] })
  cert.setExtensions(ext)
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  cert.sign(o.issuer ? o.issuer.key : key, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem, cert, key }
}

/** An empty CRL of `issuer` with thisUpdate/nextUpdate `thisDays`/`nextDays` days from now, DER. */
export async function crlOf(issuer: TestCa, thisDays: number, nextDays: number): Promise<Buffer> {
  usePkijsEngine()
  const issuerCert = pkijs.Certificate.fromBER(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(issuer.cert)).getBytes(), 'binary'))
  const crl = new pkijs.CertificateRevocationList()
  crl.version = 1
  crl.issuer = issuerCert.subject
  crl.thisUpdate = new pkijs.Time({ type: 0, value: new Date(Date.now() + thisDays * DAY) })
  crl.nextUpdate = new pkijs.Time({ type: 0, value: new Date(Date.now() + nextDays * DAY) })
  const der = Buffer.from(forge.pki.privateKeyToPem(issuer.key).replace(/-----[^-]+-----|\s/g, ''), 'base64')
  // PKCS#1 from forge → PKCS#8 for WebCrypto
  const pkcs8 = Buffer.from(forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.asn1.fromDer(der.toString('binary')))).getBytes(), 'binary')
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
  await crl.sign(key, 'SHA-256')
  return Buffer.from(crl.toSchema(true).toBER(false))
}
