import t from 'tap'
import { findPdfSignatures, signedBytes, verifyPdf } from '../../../src/signature/pdf.js'
import { isGatewayError } from '../../../src/errors.js'
import { addSignature, appendUpdate, createPdf, insertSignature, prepareSignature } from '../../fixtures/pdf/build.js'
import { opensslSign, personalSigner, sampleSigner, sampleVerifier } from '../../fixtures/pdf/pki.js'

const verifier = sampleVerifier()

t.test('one signature by an agency: valid, covers the whole file', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const pdf = (await addSignature(createPdf(), (c) => vpcp.sign(c), { reason: 'Phát hành', name: 'Văn phòng Chính phủ' })).bytes
  const sigs = findPdfSignatures(pdf)
  t.equal(sigs.length, 1)
  const s = sigs[0]!
  t.equal(s.subFilter, 'adbe.pkcs7.detached')
  t.equal(s.reason, 'Phát hành')
  t.equal(s.name, 'Văn phòng Chính phủ')
  t.equal(s.byteRange.length, 4)
  t.equal(s.byteRange[0], 0)
  t.equal(s.byteRange[2]! + s.byteRange[3]!, pdf.length)
  t.ok(s.coversWholeFile)
  t.equal(s.bytesAfter, 0)
  t.ok(s.cms && s.cms.length < 8192, 'CMS trimmed from the zero padding')
  t.equal(s.cms![0], 0x30)
  const r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', r.signatures[0]!.verdict.message)
  t.equal(r.signatures[0]!.verdict.signer?.organId, '000.00.00.G22')
  t.ok(r.ok)
  t.ok(r.coversWholeFile)
  t.same(r.warnings, [])
})

t.test('person then agency (two incremental updates), then an unsigned update', async (t) => {
  const person = await personalSigner(t.testdir({}))
  const vpcp = await sampleSigner('vpcp')
  let pdf = createPdf('Quyết định số 12/QĐ-VPCP')
  pdf = await addSignature(pdf, (c) => person.sign(c), { field: 'NguoiKy', reason: 'Ký duyệt' })
  const afterFirst = pdf.bytes.length
  pdf = await addSignature(pdf, (c) => vpcp.sign(c), { field: 'CoQuan', reason: 'Đóng dấu' })
  const afterSecond = pdf.bytes.length
  let r = await verifyPdf(pdf.bytes, verifier)
  t.equal(r.signatures.length, 2)
  const [p, o] = r.signatures
  t.equal(p!.verdict.code, 'VALID', p!.verdict.message)
  t.match(p!.verdict.signer?.subject, /CN=Nguyễn Văn A/)
  t.equal(p!.verdict.signer?.organId, undefined, 'personal certificate: no UID')
  t.equal(p!.signature.signedLength + (p!.signature.byteRange[2]! - p!.signature.byteRange[1]!), afterFirst)
  t.notOk(p!.signature.coversWholeFile, 'the agency signature was added after the personal one')
  t.equal(p!.signature.bytesAfter, afterSecond - afterFirst)
  t.equal(p!.signature.updatesAfter, 1)
  t.equal(o!.verdict.code, 'VALID', o!.verdict.message)
  t.equal(o!.verdict.signer?.organId, '000.00.00.G22')
  t.ok(o!.signature.coversWholeFile)
  t.ok(r.ok)
  t.ok(r.coversWholeFile)

  pdf = appendUpdate(pdf)
  r = await verifyPdf(pdf.bytes, verifier)
  t.equal(r.signatures.length, 2)
  // an unsigned revision rewriting the document information is not what a signer adds: refused
  t.notOk(r.ok, 'a later unsigned change makes the result false')
  t.same(r.signatures.map((s) => s.verdict.code), ['MODIFIED_AFTER_SIGNING', 'MODIFIED_AFTER_SIGNING'])
  t.match(r.signatures[1]!.verdict.message, /document information 6 in a revision that adds no signature/)
  t.match(r.signatures[1]!.laterChanges, { revisions: 1, onlySignerUpdates: false, objectsReplaced: [6] })
  t.notOk(r.signatures[1]!.signature.coversWholeFile)
  t.equal(r.signatures[1]!.signature.bytesAfter, pdf.bytes.length - afterSecond)
  t.notOk(r.coversWholeFile)
  t.match(r.warnings[0], /bytes were added after the last signature \(1 incremental update\)/)
  t.equal(r.signatures[0]!.signature.updatesAfter, 2)

  // only a trailing newline (e.g. added in transit): said so
  r = await verifyPdf(Buffer.concat([Buffer.from(pdf.bytes.subarray(0, afterSecond)), Buffer.from('\r\n')]), verifier)
  t.ok(r.ok)
  t.notOk(r.coversWholeFile)
  t.match(r.warnings[0], /2 whitespace bytes follow/)
})

t.test('signed by openssl cms over the byte range: valid', async (t) => {
  const prep = prepareSignature(createPdf(), { field: 'OpenSSL' })
  const cms = opensslSign(prep.signedContent, 'ubnd-hcm')
  const pdf = insertSignature(prep, cms).bytes
  const r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', r.signatures[0]!.verdict.message)
  t.equal(r.signatures[0]!.verdict.signer?.organId, '000.00.00.H29')
  t.same(signedBytes(pdf, r.signatures[0]!.signature), prep.signedContent)
})

t.test('a BER (indefinite-length) CMS from a streaming signer; /Contents in upper case with line breaks', async (t) => {
  const prep = prepareSignature(createPdf())
  const der = opensslSign(prep.signedContent, 'vpcp')
  // re-encode the two outer wrappers (ContentInfo SEQUENCE, [0] EXPLICIT) with indefinite lengths
  const inner = (b: Buffer, at: number) => (b[at + 1]! & 0x80 ? at + 2 + (b[at + 1]! & 0x7f) : at + 2)
  const oidEnd = inner(der, 0) + 2 + der[inner(der, 0) + 1]!
  const signedData = der.subarray(inner(der, oidEnd))
  const ber = Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(inner(der, 0), oidEnd), Buffer.from([0xa0, 0x80]), signedData, Buffer.alloc(4)])
  t.same([ber[0], ber[1]], [0x30, 0x80], 'indefinite outer length')
  let pdf = Buffer.from(insertSignature(prep, ber).bytes)
  let r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', r.signatures[0]!.verdict.message)
  t.equal(r.signatures[0]!.signature.cms!.length, ber.length, 'trimmed at the end-of-contents octets')

  pdf = Buffer.from(insertSignature(prep, opensslSign(prep.signedContent, 'vpcp')).bytes)
  const hex = pdf.subarray(prep.contentsStart + 1, prep.contentsEnd - 1)
  hex.write(hex.toString('latin1').toUpperCase(), 'latin1')
  // line breaks in the zero padding
  for (let i = hex.length - 2; i > hex.length - 400; i -= 80) hex[i] = 0x0a
  r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', r.signatures[0]!.verdict.message)
})

t.test('whitespace and key-order variants, ETSI.CAdES.detached', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  for (const layout of ['compact', 'newlines', 'contents-first'] as const) {
    const pdf = (await addSignature(createPdf(), (c) => vpcp.sign(c), { layout, subFilter: 'ETSI.CAdES.detached' })).bytes
    const r = await verifyPdf(pdf, verifier)
    t.equal(r.signatures.length, 1, layout)
    t.equal(r.signatures[0]!.signature.subFilter, 'ETSI.CAdES.detached', layout)
    t.equal(r.signatures[0]!.verdict.code, 'VALID', `${layout}: ${r.signatures[0]!.verdict.message}`)
  }
})

t.test('a changed byte in a signed range: DIGEST_MISMATCH; outside any range after the last: still valid', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const pdf = Buffer.from((await addSignature(createPdf('Nội dung gốc'), (c) => vpcp.sign(c))).bytes)
  const at = pdf.indexOf('BT /F1 14 Tf')
  pdf[at + 3] = 0x47 // '/F1' -> 'GF1'... any change
  const r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'DIGEST_MISMATCH')
  t.notOk(r.ok)
})

t.test('certificates of certs-sample/test: their codes', async (t) => {
  const cases = { 'test/expired': 'CERT_EXPIRED', 'test/revoked': 'REVOKED', 'test/untrusted': 'UNTRUSTED_CHAIN', 'test/no-digital-signature': 'KEY_USAGE' } as const
  for (const [dir, code] of Object.entries(cases)) {
    const s = await sampleSigner(dir)
    const pdf = (await addSignature(createPdf(), (c) => s.sign(c))).bytes
    const r = await verifyPdf(pdf, verifier)
    t.equal(r.signatures[0]!.verdict.code, code, dir)
  }
})

t.test('bad inputs: specific errors', async (t) => {
  const expectPdfError = (bytes: Uint8Array, re: RegExp, what: string) => {
    try {
      findPdfSignatures(bytes)
      t.fail(`${what}: no error`)
    } catch (e) {
      t.ok(isGatewayError(e, 'GW_ERR_SIGNATURE_PDF'), what)
      t.match((e as Error).message, re, what)
    }
  }
  expectPdfError(Buffer.alloc(0), /empty/, 'empty')
  expectPdfError(Buffer.from('<?xml version="1.0"?><edXML/>'), /no %PDF- header/, 'XML')
  expectPdfError(createPdf().bytes, /no signature/, 'unsigned PDF')
  expectPdfError(Buffer.from('%PDF-1.7\n1 0 obj\n<< /Note (/ByteRange [0 1 2 3]) >>\nendobj\n'), /no signature/, '/ByteRange inside a string')
  try {
    findPdfSignatures(Buffer.alloc(1025), { maxBytes: 1024 })
    t.fail('no size error')
  } catch (e) {
    t.ok(isGatewayError(e, 'GW_ERR_API_BODY_TOO_LARGE'))
  }
})

t.test('per-signature problems are MALFORMED verdicts', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  // placeholder never filled
  let r = await verifyPdf(prepareSignature(createPdf()).state.bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MALFORMED')
  t.match(r.signatures[0]!.verdict.message, /empty placeholder/)

  // truncated CMS: only the first half written
  const prep = prepareSignature(createPdf())
  const cms = await vpcp.sign(prep.signedContent)
  r = await verifyPdf(insertSignature(prep, cms.subarray(0, cms.length >> 1)).bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MALFORMED')
  t.match(r.signatures[0]!.verdict.message, /truncated/)

  // garbled CMS (valid TLV length, junk inside)
  const junk = Buffer.from(cms)
  junk.fill(0x41, 20, 200)
  r = await verifyPdf(insertSignature(prep, junk).bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MALFORMED')

  // rewritten /ByteRange arrays (same width, so nothing else moves)
  const signed = insertSignature(prep, cms).bytes
  const withRange = (text: string): Buffer => {
    const b = Buffer.from(signed)
    const at = b.indexOf('/ByteRange [') + '/ByteRange '.length
    const width = b.indexOf(']', at) + 1 - at
    b.write(`[${text}]`.padEnd(width, ' ').replace(/\] +$/, (m) => ' '.repeat(m.length - 1) + ']'), at, 'latin1')
    return b
  }
  const [, b, c, d] = prep.byteRange
  const cases: [string, RegExp][] = [
    [`0 ${b} ${c} ${d}`, /^signature valid/],
    [`1 ${b} ${c} ${d}`, /must start at 0/],
    [`0 ${b - 1} ${c} ${d}`, /gap .* is not a hex string/],
    [`0 ${b} ${c} ${d + 100}`, /does not fit a file/],
    [`0 ${c + 10} ${c} ${d}`, /does not fit a file/],
    [`0 ${b} ${c}`, /four non-negative integers/],
    [`0 -5 ${c} ${d}`, /four non-negative integers/],
    [`0 ${b} ${c} 1.5`, /other than integers/],
  ]
  for (const [range, re] of cases) {
    r = await verifyPdf(withRange(range), verifier)
    t.match(r.signatures[0]!.verdict.message, re, `[${range}]`)
    t.equal(r.signatures[0]!.verdict.ok, range === `0 ${b} ${c} ${d}`, `[${range}] ok`)
  }
})

t.test('unsupported SubFilters are reported, not verified', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  for (const sub of ['adbe.pkcs7.sha1', 'adbe.x509.rsa_sha1', 'ETSI.RFC3161']) {
    const pdf = (await addSignature(createPdf(), (c) => vpcp.sign(c), { subFilter: sub })).bytes
    const r = await verifyPdf(pdf, verifier)
    t.equal(r.signatures[0]!.verdict.code, 'UNSUPPORTED_SUBFILTER', sub)
    t.match(r.signatures[0]!.verdict.message, sub)
  }
})

t.test('crafted input does not hang', async (t) => {
  const parts = [Buffer.from('%PDF-1.7\n')]
  // many unterminated objects each mentioning /ByteRange, nested arrays, unterminated strings
  for (let i = 0; i < 200; i++) parts.push(Buffer.from(`${i + 1} 0 obj\n<< /ByteRange [0 [[[[ (unterminated ${'('.repeat(50)}\n`))
  parts.push(Buffer.alloc(5 * 1024 * 1024, 0x5b)) // 5 MB of '['
  const crafted = Buffer.concat(parts)
  const t0 = performance.now()
  try {
    findPdfSignatures(crafted)
  } catch (e) {
    t.ok(isGatewayError(e), (e as Error).message)
  }
  const ms = performance.now() - t0
  t.ok(ms < 2000, `crafted 5 MB scanned in ${ms.toFixed(0)} ms`)

  const many = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from('/ByteRange '.repeat(5000))])
  t.throws(() => findPdfSignatures(many), /more than 4096/)
})

t.test('a signed PDF that talks about /ByteRange in an uncompressed content stream', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const text = '/ByteRange [0 1 2 3] /Contents <00> '.repeat(500)
  const pdf = (await addSignature(createPdf(text), (c) => vpcp.sign(c))).bytes
  const r = await verifyPdf(pdf, verifier)
  t.equal(r.signatures.length, 1, 'only the signature dictionary counts')
  t.equal(r.signatures[0]!.verdict.code, 'VALID')
})
