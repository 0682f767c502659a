import { readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import t from 'tap'
import { auth, buildTestApp, KEYS, rawTestConfig, ROOT, silentLogger, testSigners } from '../helper.js'
import { buildApp } from '../../src/app.js'
import { createGateway } from '../../src/gateway.js'
import { loadConfig } from '../../src/config.js'
import { openSqliteStore } from '../../src/store/index.js'
import { trustVerifier } from '../../src/pipeline/trust.js'
import { VERDICT_CODES } from '../../src/signature/index.js'
import { PDF_VERDICT_CODES } from '../../src/signature/pdf.js'
import { addSignature, appendObjects, appendUpdate, createPdf, insertSignature, prepareSignature } from '../fixtures/pdf/build.js'
import { opensslSign, personalSigner, sampleSigner } from '../fixtures/pdf/pki.js'

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const EDOC = readFileSync(path.join(ROOT, 'test/fixtures/edxml/golden-edoc.edxml'))

// one app for the tests that need no special configuration (closed when the file ends)
let sharedApp: ReturnType<typeof buildTestApp> | undefined
const shared = () => (sharedApp ??= buildTestApp(t))

/** A multipart/form-data body from named parts (Buffer: a file part; string: a text field). */
function multipart(parts: Record<string, Buffer | string>): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----lienthong' + Math.random().toString(16).slice(2)
  const chunks: Buffer[] = []
  for (const [name, v] of Object.entries(parts)) {
    const file = Buffer.isBuffer(v) ? `; filename="${name}.bin"\r\nContent-Type: application/octet-stream` : ''
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file}\r\n\r\n`), Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

t.test('PDF: person then agency, then an unsigned incremental update', async (t) => {
  const { app } = await shared()
  const person = await personalSigner(t.testdir({}))
  const vpcp = await sampleSigner('vpcp')
  let pdf = createPdf('Quyết định')
  pdf = await addSignature(pdf, (c) => person.sign(c), { field: 'NguoiKy', reason: 'Ký duyệt' })
  pdf = await addSignature(pdf, (c) => vpcp.sign(c), { field: 'CoQuan', reason: 'Đóng dấu' })
  const signedLength = pdf.bytes.length
  pdf = appendUpdate(pdf)

  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.h29), payload: { pdf: b64(pdf.bytes) } })
  t.equal(res.statusCode, 200, res.body)
  const r = res.json()
  t.equal(r.kind, 'pdf')
  // the unsigned update rewrites the document information: not something a signer adds, so not valid as a whole
  t.equal(r.ok, false)
  t.equal(r.coversWholeFile, false)
  t.equal(r.file.size, pdf.bytes.length)
  t.match(r.warnings[0], /bytes were added after the last signature.*document information/)
  t.equal(r.signatures.length, 2)
  const [p, o] = r.signatures
  t.match(p, { index: 1, ok: false, code: 'MODIFIED_AFTER_SIGNING', subFilter: 'adbe.pkcs7.detached', coversWholeFile: false, reason: 'Ký duyệt', signer: { name: 'Nguyễn Văn A', organization: 'Văn phòng Chính phủ' } })
  t.notOk(p.signer.organId)
  t.match(o, {
    index: 2,
    ok: false,
    code: 'MODIFIED_AFTER_SIGNING',
    message: /document information .* in a revision that adds no signature.*the CMS itself is valid/,
    coversWholeFile: false,
    bytesAfter: pdf.bytes.length - signedLength,
    signer: { name: 'Văn phòng Chính phủ', organization: 'Văn phòng Chính phủ', organId: '000.00.00.G22', serial: /^[0-9A-F]+$/, issuer: /CN=Sample Government Signing CA/ },
    revocation: { status: 'good', checkedAt: String },
    signingTime: String,
  })
  t.equal(o.byteRange.length, 4)
  t.equal(o.byteRange[2] + o.byteRange[3], signedLength)
  t.same(
    o.chain.map((c: { name: string }) => c.name),
    ['Văn phòng Chính phủ', 'Sample Government Signing CA', 'Sample Government Root CA'],
    'chain up to the trust anchor',
  )
  t.ok(o.signer.notBefore && o.signer.notAfter)
})

t.test('PDF signed by openssl cms, sent as multipart by an operator key: valid', async (t) => {
  const { app } = await shared()
  const prep = prepareSignature(createPdf(), { field: 'OpenSSL' })
  const pdf = insertSignature(prep, opensslSign(prep.signedContent, 'stc-hcm')).bytes
  const mp = multipart({ pdf })
  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.ops), ...mp.headers }, payload: mp.payload })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { kind: 'pdf', ok: true, coversWholeFile: true, signatures: [{ code: 'VALID', coversWholeFile: true, signer: { organId: '000.00.11.H29' } }] })
})

t.test('PDF verdicts: tampered, expired, revoked, untrusted, truncated CMS', async (t) => {
  const { app } = await shared()
  const post = async (bytes: Uint8Array) => {
    const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { pdf: b64(bytes) } })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  const vpcp = await sampleSigner('vpcp')
  const tampered = Buffer.from((await addSignature(createPdf('Số tiền: 100'), (c) => vpcp.sign(c))).bytes)
  tampered[tampered.indexOf('/MediaBox [0 0 595') + 12] = 0x39 // 595 -> 995 in the signed page
  let r = await post(tampered)
  t.match(r, { ok: false, signatures: [{ ok: false, code: 'DIGEST_MISMATCH' }] })

  for (const [dir, code] of [
    ['test/expired', 'CERT_EXPIRED'],
    ['test/revoked', 'REVOKED'],
    ['test/untrusted', 'UNTRUSTED_CHAIN'],
  ] as const) {
    const s = await sampleSigner(dir)
    r = await post((await addSignature(createPdf(), (c) => s.sign(c))).bytes)
    t.equal(r.signatures[0].code, code, dir)
    t.equal(r.ok, false)
    if (code === 'REVOKED') t.equal(r.signatures[0].revocation?.status, 'revoked')
  }

  const prep = prepareSignature(createPdf())
  const cms = await vpcp.sign(prep.signedContent)
  r = await post(insertSignature(prep, cms.subarray(0, 700)).bytes)
  t.match(r, { ok: false, signatures: [{ code: 'MALFORMED', message: /truncated/ }] })
})

t.test('bad inputs: specific errors, quickly', async (t) => {
  const { app } = await shared()
  let res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { pdf: b64(Buffer.from('Hello, not a PDF')) } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'GW_ERR_SIGNATURE_PDF', message: /not a PDF/ })

  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { pdf: b64(createPdf().bytes) } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'GW_ERR_SIGNATURE_PDF', message: /no signature/ })

  // a 60 MB PDF: as JSON (80 MB of base64) and as a multipart file; refused from Content-Length
  const big = Buffer.alloc(60 * 1024 * 1024, 0x20)
  big.write('%PDF-1.7\n')
  const json = Buffer.from(JSON.stringify({ pdf: big.toString('base64') }))
  let t0 = performance.now()
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: json })
  let ms = performance.now() - t0
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'GW_ERR_API_BODY_TOO_LARGE')
  t.ok(ms < 1000, `60 MB JSON refused in ${ms.toFixed(0)} ms (informational, shared machine)`)
  const mp = multipart({ pdf: big })
  t0 = performance.now()
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), ...mp.headers }, payload: mp.payload })
  ms = performance.now() - t0
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'GW_ERR_API_BODY_TOO_LARGE')
  t.ok(ms < 1000, `60 MB multipart refused in ${ms.toFixed(0)} ms (informational, shared machine)`)
})

t.test('size limit while streaming (no Content-Length check possible): multipart part over the limit', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { packageBytes: 64 * 1024, attachmentBytes: 32 * 1024 } } })
  const mp = multipart({ pdf: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(70 * 1024, 0x20)]) })
  // Content-Length is within the multipart allowance (limit + room for a signature): the part limit applies
  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), ...mp.headers }, payload: mp.payload })
  t.equal(res.statusCode, 413, res.body)
  t.equal(res.json().code, 'GW_ERR_API_BODY_TOO_LARGE')
})

t.test('edXML package + detached CMS: sender binding', async (t) => {
  const { app } = await shared()
  const vpcp = await sampleSigner('vpcp')
  const mismatch = await sampleSigner('test/uid-mismatch')
  let res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(EDOC), signature: b64(await vpcp.sign(EDOC)) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), {
    kind: 'edxml',
    ok: true,
    package: { type: 'edoc' },
    signatures: [{ code: 'VALID', senderBinding: { fromOrganId: '000.00.00.G22', certificateOrganId: '000.00.00.G22', ok: true } }],
  })

  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(EDOC), signature: b64(await mismatch.sign(EDOC)) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), {
    kind: 'edxml',
    ok: false,
    signatures: [{ ok: false, code: 'SENDER_MISMATCH', signer: { name: 'Văn phòng Chính phủ', organId: '000.00.00.H29' }, senderBinding: { fromOrganId: '000.00.00.G22', certificateOrganId: '000.00.00.H29', ok: false } }],
  })

  // as multipart, the signature as a PEM text field
  const der = Buffer.from(await vpcp.sign(EDOC))
  const pem = `-----BEGIN CMS-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CMS-----\n`
  const mp = multipart({ kind: 'edxml', edxml: EDOC, signature: pem })
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), ...mp.headers }, payload: mp.payload })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { kind: 'edxml', ok: true, signatures: [{ code: 'VALID' }] })

  // a certificate without UID: nothing to bind
  const noUid = await sampleSigner('test/no-uid')
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(EDOC), signature: b64(await noUid.sign(EDOC)) } })
  t.match(res.json(), { ok: false, signatures: [{ code: 'SENDER_MISMATCH', senderBinding: { fromOrganId: '000.00.00.G22', ok: false } }] })
  t.notOk('certificateOrganId' in res.json().signatures[0].senderBinding)

  // a status package: its From is bound the same way
  const status = readFileSync(path.join(ROOT, 'test/fixtures/edxml/golden-status-03.edxml'))
  const from = /<edXML:From>\s*<edXML:OrganId>([^<]+)</.exec(status.toString('utf8'))?.[1]
  t.ok(from, 'status fixture has a From')
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(status), signature: b64(await vpcp.sign(status)) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { kind: 'edxml', package: { type: 'status' }, signatures: [{ senderBinding: { fromOrganId: from, certificateOrganId: '000.00.00.G22', ok: from === '000.00.00.G22' } }] })

  // not edXML
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(Buffer.from('<a/>')), signature: b64(der) } })
  t.equal(res.statusCode, 400)
  t.match(res.json().code, /^GW_ERR_ENVELOPE_/)
})

t.test('edXML package: the embedded signatures of its PDF attachment are reported too', async (t) => {
  const { app } = await shared()
  const vpcp = await sampleSigner('vpcp')
  const person = await personalSigner(t.testdir({}))
  let pdf = await addSignature(createPdf('Công văn'), (c) => person.sign(c), { field: 'NguoiKy' })
  pdf = await addSignature(pdf, (c) => vpcp.sign(c), { field: 'CoQuan' })
  const golden = 'JVBERi0xLjQKJWdvbGRlbgo='
  t.ok(EDOC.includes(golden), 'fixture holds a small unsigned PDF')
  const signedPkg = Buffer.from(EDOC.toString('utf8').replace(golden, b64(pdf.bytes)))
  let res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(signedPkg), signature: b64(await vpcp.sign(signedPkg)) } })
  t.equal(res.statusCode, 200, res.body)
  let r = res.json()
  t.match(r, {
    ok: true,
    signatures: [{ code: 'VALID' }],
    attachments: [{ contentId: 'cid:209', name: 'cong-van.pdf', ok: true, signedBySender: true, coversWholeFile: true, signatures: [{ code: 'VALID', signer: { name: 'Nguyễn Văn A' } }, { code: 'VALID', signer: { organId: '000.00.00.G22' } }] }],
  })

  // a tampered PDF inside a correctly signed package: the package is fine, the document is not
  const bad = Buffer.from(pdf.bytes)
  bad[bad.indexOf('/MediaBox [0 0 595') + 12] = 0x39
  const badPkg = Buffer.from(EDOC.toString('utf8').replace(golden, b64(bad)))
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(badPkg), signature: b64(await vpcp.sign(badPkg)) } })
  r = res.json()
  t.equal(r.ok, false)
  t.equal(r.signatures[0].code, 'VALID')
  t.match(r.attachments[0], { ok: false, signedBySender: false, signatures: [{ code: 'DIGEST_MISMATCH' }, { code: 'DIGEST_MISMATCH' }] })
  t.match(r.warnings.join('\n'), /no valid signature of the sending agency \(000.00.00.G22\)/)

  // a valid PDF signed by another agency than the sender
  const other = await addSignature(createPdf('Công văn'), async (c) => (await sampleSigner('ubnd-hcm')).sign(c))
  const otherPkg = Buffer.from(EDOC.toString('utf8').replace(golden, b64(other.bytes)))
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(otherPkg), signature: b64(await vpcp.sign(otherPkg)) } })
  r = res.json()
  t.match(r, { ok: true, attachments: [{ ok: true, signedBySender: false, signatures: [{ code: 'VALID', signer: { organId: '000.00.00.H29' } }] }] })

  // the fixture's own unsigned PDF: a warning
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { edxml: b64(EDOC), signature: b64(await vpcp.sign(EDOC)) } })
  r = res.json()
  t.match(r, { ok: true, attachments: [{ name: 'cong-van.pdf', ok: true, signatures: [] }] })
  t.match(r.warnings.join('\n'), /cong-van.pdf: the PDF has no embedded signature/)
})

t.test('detached CMS + content: valid; one changed byte fails; garbage CMS is a MALFORMED verdict', async (t) => {
  const { app } = await shared()
  const content = Buffer.from('Nội dung văn bản cần kiểm tra chữ ký')
  const cms = await (await sampleSigner('ubnd-hcm')).sign(content)
  let res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { signature: b64(cms), content: b64(content) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { kind: 'cms', ok: true, signatures: [{ index: 1, code: 'VALID', signer: { organId: '000.00.00.H29' } }] })
  t.notOk('senderBinding' in res.json().signatures[0])

  const changed = Buffer.from(content)
  changed[0] = changed[0]! ^ 1
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { signature: b64(cms), content: b64(changed) } })
  t.match(res.json(), { ok: false, signatures: [{ code: 'DIGEST_MISMATCH' }] })

  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { kind: 'cms', signature: b64(Buffer.from(cms).subarray(0, 100)), content: b64(content) } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { ok: false, signatures: [{ code: 'MALFORMED' }] })

  // an openssl-made CMS over the same content
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { signature: b64(opensslSign(content, 'vpcp')), content: b64(content) } })
  t.match(res.json(), { ok: true, signatures: [{ code: 'VALID', signer: { organId: '000.00.00.G22' } }] })
})

t.test('missing or mixed fields: which fields each kind expects', async (t) => {
  const { app } = await shared()
  const post = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload })
  let res = await post({})
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', message: /`pdf`.*`edxml` \+ `signature`.*`signature` \+ `content`/ })
  res = await post({ signature: 'AAAA' })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', message: /fields signature do not make a request/ })
  res = await post({ kind: 'edxml', edxml: 'AAAA' })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', message: /kind edxml needs `edxml` \+ `signature`; missing signature/, details: [{ field: 'body.signature' }] })
  res = await post({ pdf: 'AAAA', content: 'AAAA' })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION' })
  res = await post({ pdf: 'not base64!' })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', message: /pdf is not standard padded base64/ })
  res = await post({ pdf: 'AAAA', extra: 1 })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.extra' }] })
  res = await post({ kind: 'zip', pdf: 'AAAA' })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION' })
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), 'content-type': 'application/pdf' }, payload: Buffer.from('%PDF-') })
  t.equal(res.statusCode, 415)
  const mp = multipart({ pdf: Buffer.from('%PDF-1.7'), other: 'x' })
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), ...mp.headers }, payload: mp.payload })
  t.match(res.json(), { code: 'GW_ERR_API_VALIDATION', message: /unknown part other/ })
})

t.test('needs an API key; rate limited per key, separately from other routes', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { requestsPerMinute: 20 } } })
  let res = await app.inject({ method: 'POST', url: '/v1/verify', payload: { pdf: 'AAAA' } })
  t.equal(res.statusCode, 401)
  const codes: number[] = []
  for (let i = 0; i < 3; i++) {
    res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { pdf: b64(Buffer.from('x')) } })
    codes.push(res.statusCode)
  }
  t.same(codes, [400, 400, 429], 'a tenth of limits.requestsPerMinute: 2 per minute')
  t.equal(res.json().code, 'GW_ERR_API_RATE_LIMITED')
  res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.h29), payload: { pdf: b64(Buffer.from('x')) } })
  t.equal(res.statusCode, 400, 'another key has its own budget')
  res = await app.inject({ method: 'GET', url: '/v1/documents', headers: auth(KEYS.g22) })
  t.equal(res.statusCode, 200, 'other routes keep their own budget')
})

t.test('trust from the configuration: CRL files re-read when they change', async (t) => {
  const { writeFileSync, utimesSync } = await import('node:fs')
  const dir = t.testdir({})
  const crlFile = path.join(dir, 'crls.pem')
  // at first only the root's CRL: nothing says the revoked certificate is revoked
  writeFileSync(crlFile, readFileSync(path.join(ROOT, 'certs-sample/root-ca.crl.pem')))
  const trust = { anchorsPaths: [path.join(ROOT, 'certs-sample/trust-anchors.pem')], intermediatesPaths: [], crlPaths: [crlFile] }
  const tv = trustVerifier({ trust }, 0)
  const revoked = await sampleSigner('test/revoked')
  const content = Buffer.from('x')
  const cms = await revoked.sign(content)
  let v = await tv.verifier.verify(content, cms)
  t.not(v.code, 'REVOKED')
  t.equal(v.revocation?.status, 'unknown', 'no CRL of the signing CA yet')
  writeFileSync(crlFile, readFileSync(path.join(ROOT, 'certs-sample/crls.pem')))
  const later = new Date(Date.now() + 5000)
  utimesSync(crlFile, later, later)
  tv.refresh(Date.now())
  v = await tv.verifier.verify(content, cms)
  t.equal(v.code, 'REVOKED', 'the new CRL file is used without a restart')
})

t.test('no trust anchors configured: a configuration error (500), not a verdict', async (t) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  const config = loadConfig({ object: { ...raw, trust: { anchorsPaths: [], crlPaths: [] } }, file: path.join(dir, 'config.json'), env: {} })
  const store = await openSqliteStore(config.store.path)
  const app = await buildApp(await createGateway(config, { store, signers: await testSigners(config), packager: null, relay: { wake() {} }, broker: { state: 'connected', redactedUrl: 'amqp://test' }, logger: silentLogger() }))
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  const content = Buffer.from('x')
  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { signature: b64(await (await sampleSigner('vpcp')).sign(content)), content: b64(content) } })
  t.equal(res.statusCode, 500, res.body)
  t.equal(res.json().code, 'GW_ERR_CONFIG_INVALID')
})

t.test('OpenAPI: the route and its schemas; the code enum lists every verdict code', async (t) => {
  const { app } = await shared()
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  const op = doc.paths['/v1/verify']?.post
  t.ok(op, 'POST /v1/verify documented')
  t.ok(op.requestBody.content['application/json'], 'JSON body')
  t.ok(op.requestBody.content['multipart/form-data'], 'multipart body')
  t.equal(op.requestBody.content['application/json'].schema.$ref, '#/components/schemas/VerifyRequest')
  t.equal(op.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/VerifyReport')
  t.ok(doc.components.schemas['VerifyReport-signature']?.properties?.senderBinding, 'signature entries documented')
  t.ok(doc.tags.some((x: { name: string }) => x.name === 'verify'), 'verify tag')
  const report = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/verify-report.json'), 'utf8'))
  const codes: string[] = report.definitions.signature.properties.code.enum
  t.same([...codes].sort(), [...VERDICT_CODES, ...PDF_VERDICT_CODES].sort())
})

t.test('times: validity at receipt by default, both times reported; validAt asks for another time and the report says so', async (t) => {
  const { app } = await shared()
  const vpcp = await sampleSigner('vpcp')
  const content = Buffer.from('nội dung cần ký')
  const signature = b64(await vpcp.sign(content))
  const ask = (extra: Record<string, unknown> = {}) => app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { content: b64(content), signature, ...extra } })
  const t0 = Date.now()
  const now = await ask()
  t.equal(now.statusCode, 200, now.body.slice(0, 300))
  const s = now.json().signatures[0]
  t.equal(s.code, 'VALID')
  t.equal(s.timeSource, 'receipt', 'judged at the time of receipt')
  t.ok(Math.abs(Date.parse(s.validationTime) - t0) < 60_000, `validation time ${s.validationTime} is now`)
  t.ok(Math.abs(Date.parse(s.signingTime) - t0) < 60_000, `and the signing time ${s.signingTime} is reported beside it`)
  t.notOk('validAt' in now.json(), 'no validAt asked')

  // long before the certificate was issued: not yet valid, at the caller's explicit request
  const past = await ask({ validAt: '2001-01-01T00:00:00+07:00' })
  t.equal(past.statusCode, 200, past.body.slice(0, 300))
  t.equal(past.json().validAt, '2000-12-31T17:00:00.000Z', 'the report names the time asked for')
  t.match(past.json().signatures[0], { ok: false, code: /^(CERT_NOT_YET_VALID|SIGNING_TIME_IN_FUTURE)$/, timeSource: 'explicit', validationTime: '2000-12-31T17:00:00.000Z' })
  const mp = multipart({ kind: 'cms', content, signature: Buffer.from(signature, 'base64'), validAt: '2001-01-01T00:00:00Z' })
  const viaParts = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), ...mp.headers }, payload: mp.payload })
  t.match(viaParts.json().signatures[0], { ok: false, code: /^(CERT_NOT_YET_VALID|SIGNING_TIME_IN_FUTURE)$/, timeSource: 'explicit' }, 'multipart: the same')
  for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-11-25']) {
    const r = await ask({ validAt: bad })
    t.equal(r.statusCode, 400, `validAt ${bad}: 400`)
    t.match(r.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.validAt' }] })
  }
})

t.test('a JSON body without Content-Length (chunked): read as it comes, refused at the first byte past the limit', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { packageBytes: 2 * 1024 * 1024, attachmentBytes: 2 * 1024 * 1024 } } })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const vpcp = await sampleSigner('vpcp')
  /** POST chunks of `body` with Transfer-Encoding: chunked; resolves with the answer and how many bytes were written before it came. */
  const chunked = (chunks: () => Buffer | undefined) =>
    new Promise<{ status: number; body: string; written: number; finished: boolean }>((resolve, reject) => {
      let written = 0
      let answered = false
      const req = http.request(`${address}/v1/verify`, { method: 'POST', headers: { ...auth(KEYS.g22), 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        answered = true
        let body = ''
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, written, finished }))
      })
      let finished = false
      req.on('error', (e) => (answered ? undefined : reject(e)))
      const pump = () => {
        for (;;) {
          if (answered) return
          const c = chunks()
          if (!c) {
            finished = true
            req.end()
            return
          }
          written += c.length
          if (!req.write(c)) return void req.once('drain', pump)
        }
      }
      pump()
    })
  // a valid body bigger than the inline bound (1 MB), in 7 KB chunks: the buffer grows and the worker reads it
  const blob = Buffer.alloc(1536 * 1024, 0x41).toString('latin1')
  const pdf = await addSignature(appendObjects(createPdf('chunked'), [[20, `<< /Length ${blob.length} >>\nstream\n${blob}\nendstream`]]), (c) => vpcp.sign(c))
  const whole = Buffer.from(JSON.stringify({ pdf: pdf.bytes.toString('base64') }))
  let off = 0
  const ok = await chunked(() => (off < whole.length ? whole.subarray(off, (off += 7 * 1024)) : undefined))
  t.equal(ok.status, 200, ok.body.slice(0, 300))
  t.match(JSON.parse(ok.body), { kind: 'pdf', ok: true, signatures: [{ ok: true }] }, `a ${(whole.length / 1048576).toFixed(1)} MB chunked body verified`)
  // an endless body: 413 while it is still being sent, and the process keeps serving
  const filler = Buffer.from(`{"pdf":"${'A'.repeat(64 * 1024 - 8)}`)
  const a = Buffer.alloc(64 * 1024, 0x41)
  let n = 0
  const over = await chunked(() => (n++ === 0 ? filler : n < 1600 ? a : undefined))
  t.equal(over.status, 413, over.body.slice(0, 300))
  t.equal(JSON.parse(over.body).code, 'GW_ERR_API_BODY_TOO_LARGE')
  t.notOk(over.finished, `refused while the client was still sending (${(over.written / 1048576).toFixed(1)} MB of 100 MB written)`)
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200, 'still serving')
})

