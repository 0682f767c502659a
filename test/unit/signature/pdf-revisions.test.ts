// What later revisions of a signed PDF change: only what a signer may add (signatures, fields, DSS) keeps the
// result valid; new page content, replaced objects, annotations and form values do not; DocMDP / FieldMDP checked.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { verifyPdf, findPdfSignatures, PDF_VERDICT_CODES } from '../../../src/signature/pdf.js'
import { addDss, addNote, addPageContent, addSignature, addTextField, appendUpdate, createPdf, insertSignature, prepareSignature, prepareSignatureInObjectStream, replacePageContent, type PdfState } from '../../fixtures/pdf/build.js'
import { sampleSigner, sampleVerifier } from '../../fixtures/pdf/pki.js'

const verifier = sampleVerifier()
const has = (cmd: string) => spawnSync('which', [cmd]).status === 0

async function signed(opts: Parameters<typeof addSignature>[2] = {}): Promise<PdfState> {
  const vpcp = await sampleSigner('vpcp')
  return addSignature(createPdf('Quyết định số 12/QĐ-VPCP'), (c) => vpcp.sign(c), opts)
}

t.test('the PDF verdict codes', async (t) => {
  t.same([...PDF_VERDICT_CODES], ['UNSUPPORTED_SUBFILTER', 'MODIFIED_AFTER_SIGNING', 'MDP_PERMISSION_VIOLATED'])
})

t.test('an unsigned update with new page content is refused, saying what changed', async (t) => {
  const base = await signed()
  for (const [name, pdf, detail] of [
    ['content stream rewritten in place', replacePageContent(base, 'Nội dung đã sửa'), /object 4 \(a stream\) of the signed revision replaced/],
    ['content stream added to the page', addPageContent(base, 'Thêm nội dung'), /page 3 changed: \/Contents/],
  ] as const) {
    const r = await verifyPdf(pdf.bytes, verifier)
    t.notOk(r.ok, `${name}: refused`)
    const s = r.signatures[0]!
    t.equal(s.verdict.code, 'MODIFIED_AFTER_SIGNING', name)
    t.equal(s.verdict.ok, false)
    t.match(s.verdict.message, detail, name)
    t.equal(s.laterChanges?.onlySignerUpdates, false)
    t.equal(s.laterChanges?.revisions, 1)
    t.ok(s.verdict.signer, 'the signer is still reported')
    t.match(r.warnings[0], /changes to the document/)
  }
  const r = await verifyPdf(addPageContent(base, 'x').bytes, verifier)
  t.same(r.signatures[0]!.laterChanges?.pagesTouched, [3])
  t.same(r.signatures[0]!.laterChanges?.objectsReplaced, [3])
})

t.test('a later revision adding only a second signature keeps both valid', async (t) => {
  const ubnd = await sampleSigner('stp-hcm')
  const pdf = await addSignature(await signed({ field: 'VPCP' }), (c) => ubnd.sign(c), { field: 'STP' })
  const r = await verifyPdf(pdf.bytes, verifier)
  t.ok(r.ok, r.signatures.map((s) => s.verdict.message).join(' | '))
  t.same(r.signatures.map((s) => s.verdict.code), ['VALID', 'VALID'])
  const lc = r.signatures[0]!.laterChanges!
  t.equal(lc.onlySignerUpdates, true)
  t.same(new Set(lc.changes.map((c) => c.kind)), new Set(['catalog', 'page-annotations', 'signature-field', 'signature']))
  t.equal(r.signatures[1]!.laterChanges, undefined, 'the last one covers the file')
})

t.test('a DSS added after the signature is fine; a second signature after it too', async (t) => {
  const base = await signed()
  const withDss = addDss(base, Buffer.from('30820100', 'hex'))
  const r = await verifyPdf(withDss.bytes, verifier)
  t.ok(r.ok, r.signatures[0]!.verdict.message)
  t.equal(r.signatures[0]!.verdict.code, 'VALID')
  t.ok(r.signatures[0]!.laterChanges!.changes.some((c) => c.kind === 'dss'))
  t.match(r.warnings[0], /only signature bookkeeping/)
})

t.test('annotations and form values: refused without DocMDP, allowed by P=3 / P=2', async (t) => {
  const note = addNote(await signed(), 'Ghi chú')
  let r = await verifyPdf(note.bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MODIFIED_AFTER_SIGNING')
  t.match(r.signatures[0]!.verdict.message, /Text annotation/)
  r = await verifyPdf(addNote(await signed({ docMdp: 3 }), 'Ghi chú').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', 'P=3 allows annotations')
  r = await verifyPdf(addNote(await signed({ docMdp: 2 }), 'Ghi chú').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MODIFIED_AFTER_SIGNING', 'P=2 does not')
  r = await verifyPdf(addTextField(await signed({ docMdp: 2 }), 'SoVanBan', '12').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', 'P=2 allows form filling')
  r = await verifyPdf(addTextField(await signed(), 'SoVanBan', '12').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MODIFIED_AFTER_SIGNING', 'without DocMDP a form value is a change')
})

t.test('DocMDP P=1: any later change is refused, a second signature included', async (t) => {
  const ubnd = await sampleSigner('stp-hcm')
  const cert = await signed({ docMdp: 1 })
  t.equal(findPdfSignatures(cert.bytes)[0]!.mdp?.docMdp, 1)
  t.equal((await verifyPdf(cert.bytes, verifier)).signatures[0]!.verdict.code, 'VALID', 'alone it is valid')
  for (const [name, pdf] of [
    ['second signature', await addSignature(cert, (c) => ubnd.sign(c))],
    ['DSS', addDss(cert, Buffer.from('3000', 'hex'))],
    ['metadata', appendUpdate(cert)],
    ['page content', replacePageContent(cert, 'x')],
  ] as const) {
    const r = await verifyPdf(pdf.bytes, verifier)
    t.equal(r.signatures[0]!.verdict.code, 'MDP_PERMISSION_VIOLATED', name)
    t.match(r.signatures[0]!.verdict.message, /DocMDP P=1/)
    t.notOk(r.ok)
  }
})

t.test('FieldMDP: a locked field changed later is refused, another one is not', async (t) => {
  const locked = await signed({ docMdp: 2, fieldMdp: { action: 'Include', fields: ['SoVanBan'] } })
  let r = await verifyPdf(addTextField(locked, 'SoVanBan', '13').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MDP_PERMISSION_VIOLATED')
  t.match(r.signatures[0]!.verdict.message, /SoVanBan locked by the signature \(FieldMDP Include\)/)
  r = await verifyPdf(addTextField(locked, 'GhiChu', 'x').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID')
  r = await verifyPdf(addTextField(await signed({ docMdp: 2, fieldMdp: { action: 'All', fields: [] } }), 'GhiChu', 'x').bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'MDP_PERMISSION_VIOLATED')
})

t.test('a signature inside an object stream (PDF 1.5, xref stream) is found and verified', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const prep = prepareSignatureInObjectStream(createPdf('Văn bản PDF 1.5'))
  const pdf = insertSignature(prep, await vpcp.sign(prep.signedContent))
  const sigs = findPdfSignatures(pdf.bytes)
  t.equal(sigs.length, 1)
  t.equal(sigs[0]!.inObjectStream, true)
  t.ok(sigs[0]!.coversWholeFile)
  const r = await verifyPdf(pdf.bytes, verifier)
  t.equal(r.signatures[0]!.verdict.code, 'VALID', r.signatures[0]!.verdict.message)
  t.ok(r.ok)
  // then a classic revision adding a second signature: still fine; new page content after that: refused
  const ubnd = await sampleSigner('stp-hcm')
  const two = await addSignature(pdf, (c) => ubnd.sign(c))
  t.same((await verifyPdf(two.bytes, verifier)).signatures.map((s) => s.verdict.code), ['VALID', 'VALID'])
  const changed = replacePageContent(two, 'sửa')
  t.same((await verifyPdf(changed.bytes, verifier)).signatures.map((s) => s.verdict.code), ['MODIFIED_AFTER_SIGNING', 'MODIFIED_AFTER_SIGNING'])
  if (has('qpdf') && has('pdfsig')) {
    const dir = t.testdir({})
    const file = join(dir, 'objstm.pdf')
    writeFileSync(file, pdf.bytes)
    const check = spawnSync('qpdf', ['--check', file], { encoding: 'utf8' })
    t.equal(check.status, 0, `qpdf --check: ${check.stdout}${check.stderr}`)
    const out = spawnSync('pdfsig', [file], { encoding: 'utf8' })
    t.match(out.stdout, /Signature #1/, 'pdfsig finds it too')
    t.match(out.stdout, /Signature Validation: Signature is Valid/)
  }
})

t.test('a signature dictionary in a compressed object stream is reported, not skipped', async (t) => {
  const { deflateSync } = await import('node:zlib')
  const base = createPdf('x')
  const inner = '9 0 << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] /Contents <00> >>'
  const z = deflateSync(Buffer.from(inner, 'latin1'))
  const stm = Buffer.concat([Buffer.from(`\n8 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ${z.length} >>\nstream\n`, 'latin1'), z, Buffer.from('\nendstream\nendobj\n%%EOF\n', 'latin1')])
  const sigs = findPdfSignatures(Buffer.concat([base.bytes, stm]))
  t.equal(sigs.length, 1)
  t.equal(sigs[0]!.inObjectStream, true)
  t.match(sigs[0]!.problem, { code: 'MALFORMED', message: /compressed object stream/ })
})

t.test('the prepared placeholder of prepareSignature still works as before', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const prep = prepareSignature(createPdf())
  const pdf = insertSignature(prep, await vpcp.sign(prep.signedContent))
  t.equal((await verifyPdf(pdf.bytes, verifier)).signatures[0]!.verdict.code, 'VALID')
})
