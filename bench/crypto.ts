/**
 * Signature speed on one core (single-threaded loops), RSA-2048, 10 KB content:
 *   our sign/s, our verify/s with a warm cache, cold verify/s (cache disabled: every certificate parsed and the
 *   path validated on each call), raw node:crypto sign/s and verify/s measured in the same run, and the parse time
 *   of an edXML package with a 1 MB attachment.
 * The key pairs are generated here (node:crypto / WebCrypto) and the two certificates (root + signer, like a real
 * sender's CMS with its chain) encoded with PKI.js, so the bench needs nothing outside the repository.
 * Rates are measured both by wall clock and per CPU second of this single-threaded process; the JSON headline
 * figures are per CPU second (one core's throughput, robust when the machine is shared), wall-clock rates under
 * `wall`. Each case is the best of ROUNDS interleaved rounds. BENCH_SECONDS sets the time per case (default 3).
 * Run `npm run bench:crypto`. The last line is one JSON object.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify, webcrypto, type KeyObject } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { buildEdoc, parseEnvelope, type EdocInput } from '../src/envelope/index.js'
import { createVerifier, loadSigner } from '../src/signature/index.js'
import { usePkijsEngine } from '../src/signature/engine.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3) // per case, split over ROUNDS interleaved rounds
const ROUNDS = 3
const subtle = webcrypto.subtle
type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

// ---- a root and a signer certificate, generated -----------------------------------------------------------

const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }

function name(attrs: [string, string][]): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: attrs.map(([type, v]) =>
      new pkijs.AttributeTypeAndValue({ type, value: type === '2.5.4.6' ? new asn1js.PrintableString({ value: v }) : new asn1js.Utf8String({ value: v }) }),
    ),
  })
}

async function makeCert(o: {
  subject: pkijs.RelativeDistinguishedNames
  issuer: pkijs.RelativeDistinguishedNames
  publicKey: CryptoKey
  signingKey: CryptoKey
  serial: number
  ca: boolean
}): Promise<string> {
  const c = new pkijs.Certificate()
  c.version = 2
  c.serialNumber = new asn1js.Integer({ value: o.serial })
  c.subject = o.subject
  c.issuer = o.issuer
  c.notBefore.value = new Date(Date.now() - 86_400_000)
  c.notAfter.value = new Date(Date.now() + 365 * 86_400_000)
  await c.subjectPublicKeyInfo.importKey(o.publicKey as unknown as Parameters<typeof c.subjectPublicKeyInfo.importKey>[0])
  const ku = new Uint8Array([o.ca ? 0x06 : 0xc0]) // keyCertSign+cRLSign | digitalSignature+nonRepudiation
  c.extensions = [
    new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: new pkijs.BasicConstraints({ cA: o.ca }).toSchema().toBER(false), parsedValue: new pkijs.BasicConstraints({ cA: o.ca }) }),
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: new asn1js.BitString({ valueHex: ku, unusedBits: o.ca ? 1 : 6 }).toBER(false) }),
  ]
  await c.sign(o.signingKey as unknown as Parameters<typeof c.sign>[0], 'SHA-256')
  const der = Buffer.from(c.toSchema(true).toBER(false))
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`
}

usePkijsEngine()
const rootKeys = (await subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair
const leafKeys = (await subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair
const rootName = name([['2.5.4.6', 'VN'], ['2.5.4.10', 'Bench PKI'], ['2.5.4.3', 'Bench Root CA']])
const leafName = name([['2.5.4.6', 'VN'], ['2.5.4.10', 'Văn phòng Chính phủ'], ['2.5.4.3', 'Văn phòng Chính phủ'], ['0.9.2342.19200300.100.1.1', '000.00.00.G22']])
const rootPem = await makeCert({ subject: rootName, issuer: rootName, publicKey: rootKeys.publicKey, signingKey: rootKeys.privateKey, serial: 1, ca: true })
const leafPem = await makeCert({ subject: leafName, issuer: rootName, publicKey: leafKeys.publicKey, signingKey: rootKeys.privateKey, serial: 2, ca: false })
const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', leafKeys.privateKey))
const leafKey: KeyObject = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
const leafPub = createPublicKey(leafKey)
const keyPem = leafKey.export({ type: 'pkcs8', format: 'pem' }) as string

// ---- measurements -----------------------------------------------------------------------------------------

/**
 * Operations per second of `fn`, best of ROUNDS rounds (the machine may be shared: the best round is the one least
 * disturbed), both by wall clock and by this process's CPU time (user + system).
 */
async function rate(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const warm = performance.now()
  while (performance.now() - warm < 200) await fn()
  let n = 0
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (;;) {
    for (let i = 0; i < 20; i++) await fn()
    n += 20
    const el = performance.now() - t0
    if (el >= (SECONDS * 1000) / ROUNDS) {
      const c = process.cpuUsage(c0)
      return { wall: Math.round((n * 1000) / el), cpu: Math.round((n * 1e6) / (c.user + c.system)) }
    }
  }
}

async function measure(cases: Record<string, () => unknown>): Promise<Record<string, { wall: number; cpu: number }>> {
  const best: Record<string, { wall: number; cpu: number }> = {}
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, fn] of Object.entries(cases)) {
      const x = await rate(fn)
      const b = best[k]
      best[k] = { wall: Math.max(b?.wall ?? 0, x.wall), cpu: Math.max(b?.cpu ?? 0, x.cpu) }
    }
  }
  return best
}

const content = randomBytes(10 * 1024)
const signer = await loadSigner({ keyPem, certPem: leafPem, chainPem: rootPem })
const cms = await signer.sign(content)
const verifier = createVerifier({ trustAnchors: rootPem })
const cold = createVerifier({ trustAnchors: rootPem, cache: { max: 0 } })
const check = await verifier.verify(content, cms, { expectedOrganId: '000.00.00.G22' })
if (!check.ok) throw new Error(`bench setup: verdict ${check.code}: ${check.message}`)
const rawSig = nodeSign('sha256', content, leafKey)

// PKI.js's generic signing path, for comparison: the whole structure built and encoded on every call.
const pkijsCerts = [leafPem, rootPem].map((p) => pkijs.Certificate.fromBER(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64')))
async function pkijsGenericSign(data: Uint8Array): Promise<ArrayBuffer> {
  const digest = await subtle.digest('SHA-256', data)
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: pkijsCerts,
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: pkijsCerts[0]!.issuer, serialNumber: pkijsCerts[0]!.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.3', values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }),
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.5', values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
            new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: digest })] }),
          ],
        }),
      }),
    ],
  })
  await sd.sign(leafKeys.privateKey as unknown as Parameters<typeof sd.sign>[0], 0, 'SHA-256')
  return new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER(false)
}

console.log(`RSA-2048, ${content.length} B content, CMS ${cms.length} B with 2 certificates; best of ${ROUNDS} interleaved rounds, one core`)
const m = await measure({
  rawSign: () => nodeSign('sha256', content, leafKey),
  sign: () => signer.sign(content),
  rawVerify: () => nodeVerify('sha256', content, leafPub, rawSig),
  verify: () => verifier.verify(content, cms),
  coldVerify: () => cold.verify(content, cms),
  pkijsSign: () => pkijsGenericSign(content),
})
const labels: Record<string, string> = {
  rawSign: 'raw node:crypto sign',
  sign: 'lienthong Signer.sign (CMS)',
  rawVerify: 'raw node:crypto verify',
  verify: 'lienthong Verifier.verify (cache warm)',
  coldVerify: 'lienthong Verifier.verify (cache disabled)',
  pkijsSign: 'PKI.js generic SignedData.sign (comparison)',
}
for (const [k, v] of Object.entries(m)) console.log(`${labels[k]!.padEnd(44)} ${String(v.wall).padStart(7)} /s wall   ${String(v.cpu).padStart(7)} /s per CPU second`)
// The headline figures are per CPU second of this (single-threaded) process: what one core does, even when other
// processes share the machine; on an idle machine they match the wall-clock rates (also printed, under `wall`).
const signPerSecond = m.sign!.cpu
const verifyPerSecond = m.verify!.cpu
const coldVerifyPerSecond = m.coldVerify!.cpu
const rawSignPerSecond = m.rawSign!.cpu
const rawVerifyPerSecond = m.rawVerify!.cpu
const pkijsSignPerSecond = m.pkijsSign!.cpu

// ---- parse of a package with a 1 MB attachment --------------------------------------------------------------

const edoc: EdocInput = {
  from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
  to: [{ organId: '000.00.00.H29', organName: 'UBND Thành phố Hồ Chí Minh', organizationInCharge: 'UBND Thành phố Hồ Chí Minh' }],
  code: { codeNumber: '7816', codeNotation: 'VPCP-TTĐT' },
  promulgationInfo: { place: 'Hà Nội', promulgationDate: '2025/10/20' },
  documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
  subject: 'V/v kết nối, liên thông phần mềm quản lý văn bản',
  signerInfo: { position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
  otherInfo: { priority: 1, pageAmount: 3 },
  attachments: [{ contentId: 'a1', attachmentName: 'vanban.pdf', contentType: 'application/pdf', data: Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(1024 * 1024 - 9)]) }],
  now: new Date('2025-10-20T03:00:00Z'),
}
const oneMB = buildEdoc(edoc).bytes
const times: number[] = []
for (let i = 0; i < 120; i++) {
  const t0 = performance.now()
  parseEnvelope(oneMB)
  if (i >= 20) times.push(performance.now() - t0)
}
times.sort((a, b) => a - b)
const parse1MBMs = Math.round(times[Math.floor(times.length / 2)]! * 1000) / 1000
console.log(`${'parse edXML with a 1 MB attachment (median)'.padEnd(44)} ${parse1MBMs} ms (${oneMB.length} B)`)

console.log(
  JSON.stringify({
    signPerSecond,
    verifyPerSecond,
    coldVerifyPerSecond,
    rawSignPerSecond,
    rawVerifyPerSecond,
    parse1MBMs,
    pkijsSignPerSecond,
    // Ours as a fraction of raw node:crypto in the same run.
    signVsRaw: Math.round((m.sign!.cpu / m.rawSign!.cpu) * 100) / 100,
    verifyVsRaw: Math.round((m.verify!.cpu / m.rawVerify!.cpu) * 100) / 100,
    basis: 'per CPU second, one thread',
    wall: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.wall])),
    contentBytes: content.length,
    cmsBytes: cms.length,
    key: 'RSA-2048',
  }),
)
