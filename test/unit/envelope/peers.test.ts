// Our own packages with the quirks of the interop set (test/fixtures/peers/, see its README) parse with the same
// behaviour interop.test.ts asserts over the real ones: these run everywhere, also where ../shared/ is absent.
import t from 'tap'
import { createHash } from 'node:crypto'
import { parseEnvelope, type Envelope } from './imports.js'
import { codeOf, peer, peerFiles } from './helpers.js'
import { AXIS_2019, AXIS_2025, GARBAGE_17, INNER_DOCUMENT_ID, PEER_DOC, REPLACED_DOCUMENT_ID, STATUS_FILES, peerFixtures } from '../../fixtures/peers/generate.js'

const codes = (e: Envelope): string[] => e.warnings.map((w) => w.code)
const H = 'edXML/edXMLEnvelope/edXMLHeader/MessageHeader'

t.test('the committed fixtures are what generate.ts writes', async (t) => {
  const generated = peerFixtures()
  t.same(peerFiles(), Object.keys(generated).sort(), 'one file per generated package, no other')
  for (const [name, bytes] of Object.entries(generated)) t.ok(peer(name).equals(bytes), `${name} is up to date (npx tsx test/fixtures/peers/generate.ts)`)
})

t.test('the 16 fixtures (7 documents, 9 statuses) parse, keeping their exact bytes', async (t) => {
  const files = peerFiles()
  t.equal(files.length, 16)
  t.equal(files.filter((f) => f.startsWith('status-')).length, 9)
  for (const f of files) {
    const bytes = peer(f)
    t.ok(bytes.includes('\r\n'), `${f} has CRLF line ends, like the peers' packages`)
    const env = parseEnvelope(bytes)
    t.equal(env.kind, f.startsWith('status-') ? 'status' : 'edoc', `${f} kind`)
    t.equal(env.bytes, bytes, `${f} keeps the very bytes it was given`)
    t.equal(env.sha256(), createHash('sha256').update(bytes).digest('hex'), `${f} sha256 of the exact bytes`)
  }
})

t.test('built-in reader and fast-xml-parser (reference) give the same model for every fixture', async (t) => {
  for (const f of peerFiles()) {
    const a = parseEnvelope(peer(f))
    const b = parseEnvelope(peer(f), { xmlReader: 'fast-xml-parser' })
    t.same(a.edoc ?? a.status, b.edoc ?? b.status, f)
    t.same(a.warnings, b.warnings, `${f} warnings`)
  }
})

t.test('axis-2019 shape: UUID DocumentId, odd OrganIds, pdf declared but zip sent, 17 bytes of garbage reported', async (t) => {
  const env = parseEnvelope(peer('axis-2019-zip-garbage.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.documentId, AXIS_2019.documentId)
  t.equal(h.from.organId, '000.00.16.H52')
  t.equal(h.to[0]!.organId, h.from.organId, 'sent to itself')
  t.same(
    env.edoc!.traceHeaderList.traceHeaders.map((x) => [x.organId, x.timestamp.value]),
    [
      ['02.07.G22', '2019/02/18 09:12:44'],
      ['001.00.31.TT5', '2019/02/19 14:03:27'],
    ],
  )
  t.same(h.responseFor, [], 'the empty <ResponseFor /> is dropped')
  t.equal(h.promulgationInfo.promulgationDate.value, '2019/02/18')
  t.equal(h.signerInfo.fullName.normalize('NFC'), AXIS_2019.signerNfc)
  t.not(h.signerInfo.fullName, h.signerInfo.fullName.normalize('NFC'), 'text is kept as received (this one is partly NFD)')
  t.equal(h.otherInfo.direction, 'false')
  t.same(h.otherInfo.appendixes, ['Phụ lục'])
  t.equal(h.documentType.typeDetail, '', 'missing TypeDetail')
  t.equal(h.to[0]!.organizationInCharge, '', 'missing OrganizationInCharge in To')
  t.ok(env.edoc!.signature, 'the placeholder Signature (no xmldsig namespace) is kept as a tree')
  t.equal(env.edoc!.signature!.local, 'Signature')
  t.notOk(codes(env).includes('ORGANID_LENIENT'), '02.07.G22 and 001.00.31.TT5 fit the Decision 20/2020 form')

  const [att] = env.edoc!.attachments
  t.equal(att!.manifestContentType, 'application/pdf')
  t.equal(att!.contentType, 'application/zip')
  t.equal(att!.payloadContentType, 'application/zip')
  t.equal(att!.zipEntryName, AXIS_2019.entry)
  t.equal(att!.realContentType, 'application/octet-stream', 'known at parse time: the entry is not a PDF')
  t.match(env.warnings.find((w) => w.code === 'CONTENT_TYPE_MISMATCH'), { contentId: att!.contentId, message: /should be application\/pdf but its content is application\/octet-stream/ })
  t.ok(codes(env).includes('CONTENT_TYPE_DECLARED_MISMATCH'))
  t.ok(codes(env).includes('ZIP_CONVENTION'))

  const rep = env.describeAttachment(att!.contentId)
  t.same(rep.declared, { manifest: 'application/pdf', attachment: 'application/zip' })
  t.equal(rep.payload.contentType, 'application/zip')
  t.equal(rep.content.size, 17, 'the zipped "PDF" is 17 bytes')
  t.equal(rep.content.contentType, 'application/octet-stream', 'and not a PDF')
  t.equal(rep.mismatch, true)
  t.equal(rep.warnings[0]!.code, 'CONTENT_TYPE_MISMATCH')
  const bare = AXIS_2019.contentId.slice('cid:'.length)
  t.same(Buffer.from(env.attachment(bare)), GARBAGE_17, 'cid: prefix optional; the garbage comes out of the Java-style ZIP (data descriptor)')
  t.equal(env.rawAttachment(AXIS_2019.contentId).length, att!.size)
})

t.test('axis-2025 shape: lowercase OrganId accepted with a warning, null/missing trace OrganId tolerated', async (t) => {
  const env = parseEnvelope(peer('axis-2025-zip-pdf.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.from.organId, AXIS_2025.organId, 'kept as received, not uppercased')
  t.equal(h.to[0]!.organId, AXIS_2025.organId)
  t.equal(h.documentId, AXIS_2025.zipped.documentId)
  t.equal(h.from.organName, '', 'missing OrganName tolerated')
  t.equal(h.signerInfo.position, '')
  t.equal(h.dueDate.value, '', 'no DueDate')
  t.equal(env.edoc!.signature, undefined, 'no Signature element at all')
  const lenient = env.warnings.filter((w) => w.code === 'ORGANID_LENIENT')
  t.same(lenient.map((w) => w.path), [`${H}/From/OrganId`, `${H}/To[1]/OrganId`])
  t.same(
    env.edoc!.traceHeaderList.traceHeaders.map((x) => x.organId),
    ['null', ''],
  )
  t.equal(env.warnings.filter((w) => w.code === 'TRACE_ORGANID_MISSING').length, 2)
  t.match(env.edoc!.attachments[0], { payloadContentType: 'application/zip', realContentType: 'application/pdf', zipEntryName: AXIS_2025.zipped.entry })
  t.notOk(codes(env).includes('CONTENT_TYPE_MISMATCH'))
  const rep = env.describeAttachment(env.edoc!.attachments[0]!.contentId)
  t.same(rep.declared, { manifest: 'application/pdf', attachment: 'application/pdf' })
  t.equal(rep.payload.contentType, 'application/zip', 'declared pdf, real zip')
  t.equal(rep.content.contentType, 'application/pdf', 'holding the PDF')
  t.equal(rep.content.zipEntryName, AXIS_2025.zipped.entry)
  t.equal(rep.mismatch, false)
  t.ok(codes(env).includes('ZIP_CONVENTION'))
  t.equal(Buffer.from(env.attachment(rep.contentId).subarray(0, 5)).toString('latin1'), '%PDF-')
})

t.test('axis-2025 second shape: a plain (text-mangled) PDF, two-item lists', async (t) => {
  const env = parseEnvelope(peer('axis-2025-plain-pdf.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.documentId, AXIS_2025.plain.documentId)
  t.same(h.code, { codeNumber: '202577', codeNotation: 'VPCP-KSTT' })
  t.same(h.documentType, { type: '2', typeDetail: '1', typeName: 'Báo cáo' })
  t.same(h.otherInfo.appendixes, ['Phụ lục A', 'Phụ lục B'])
  t.same(h.toPlaces, ['Các sở, ngành', 'Lãnh đạo đơn vị'])
  t.equal(h.otherInfo.priority, '1')
  t.equal(h.steeringType, '2')
  t.same(env.edoc!.traceHeaderList.traceHeaders.map((x) => x.organId), ['null', ''])
  const rep = env.describeAttachment(env.edoc!.attachments[0]!.contentId)
  t.equal(rep.payload.contentType, 'application/pdf')
  t.equal(rep.content.size, rep.payload.size, 'used as it is')
  t.notOk(codes(env).includes('ZIP_CONVENTION'))
  t.notOk(codes(env).includes('CONTENT_TYPE_MISMATCH'), 'still sniffs as a PDF')
  t.ok(Buffer.from(env.attachment(rep.contentId)).includes(Buffer.from([0xef, 0xbf, 0xbd])), 'its binary bytes are U+FFFD, kept as received (not repaired)')
})

t.test('sdk new-document shape: junk before <?xml is skipped with a warning (or refused on request)', async (t) => {
  const bytes = peer('sdk-edoc-new-junk.edxml')
  t.equal(bytes.subarray(0, 4).toString('latin1'), '2121')
  const env = parseEnvelope(bytes)
  t.equal(env.warnings[0]!.code, 'JUNK_BEFORE_XML')
  t.match(env.warnings[0]!.message, /4 byte\(s\).*2121/)
  t.equal(env.bytes.length, bytes.length, 'the envelope keeps the junk: exact received bytes')
  t.equal(codeOf(() => parseEnvelope(bytes, { junkPrefix: 'refuse' })), 'GW_ERR_ENVELOPE_NOT_XML')
  const h = env.edoc!.messageHeader
  t.equal(h.from.organId, '003.00.20.H31')
  t.equal(h.to[0]!.organId, '46.21.H33', 'Decision 20/2020 form, not QCVN-shaped')
  t.notOk(codes(env).includes('ORGANID_LENIENT'))
  t.equal(h.to[0]!.organizationInCharge, 'UBND xã Hòa Bình - UBND huyện Mẫu - Thành phố Đà Nẵng', 'trimmed')
  t.same(h.code, { codeNumber: '19hqt07', codeNotation: 'VPCP-KSTT' })
  t.equal(h.documentId, PEER_DOC.documentId, 'a DocumentId naming another agency than From, kept as is')
  t.equal(h.dueDate.value, '2025/10/15')
  const b = env.edoc!.traceHeaderList.bussiness!
  t.equal(b.bussinessDocType, '0')
  t.equal(b.bussinessDocReason, 'Văn bản điện tử mới')
  t.equal(b.documentId, '000.00.00.G22,2025/02/30,2098/VPCP-KSTT', 'opaque even with an impossible date inside')
  t.same(b.staffInfo, { department: 'Văn thư cơ quan', staff: 'Đỗ Thị Thu Hà', mobile: '84900000007', email: 'vanthu@vpcp.example.vn' })
  t.equal(b.paper, '0')
  t.same(h.otherInfo.extensions, undefined, 'Direction is modelled, not an extension')
  t.equal(env.edoc!.signature!.local, 'Signature', 'the placeholder Signature is kept')
  // the attachment (.doc by name, declared zip) is a ZIP whose single entry is itself an edXML package
  const rep = env.describeAttachment('cid:318')
  t.equal(rep.payload.contentType, 'application/zip')
  t.equal(rep.content.contentType, 'application/xml')
  t.match(rep.content.zipEntryName, /\.edxml$/)
  t.ok(codes(env).includes('CONTENT_TYPE_MISMATCH'), 'a .doc name holding edXML is reported')
  const inner = parseEnvelope(env.attachment('318'))
  t.equal(inner.kind, 'edoc', 'the inner package parses too')
  t.equal(inner.warnings[0]!.code, 'UNDECLARED_PREFIX', 'although it uses edXML: outside the xmlns:edXML scope')
  t.equal(inner.edoc!.messageHeader.documentId, INNER_DOCUMENT_ID, 'DocumentId last in the header: order is free')
  t.equal(inner.edoc!.attachments[0]!.manifestContentType, '', 'its Manifest ContentType is commented out')
  t.equal(Buffer.from(inner.attachment(inner.edoc!.attachments[0]!.contentId).subarray(0, 5)).toString('latin1'), '%PDF-')
})

t.test('sdk update shape: BussinessDocumentInfo with a ReceiverList, three recipients', async (t) => {
  const env = parseEnvelope(peer('sdk-edoc-update.edxml'))
  t.equal(env.edoc!.messageHeader.to.length, 3)
  t.same(env.edoc!.messageHeader.to.map((x) => x.organId), ['000.00.00.H41', '000.00.00.H14', '000.00.00.H29'])
  const b = env.edoc!.traceHeaderList.bussiness!
  t.equal(b.bussinessDocType, '2')
  t.same(b.bussinessDocumentInfo, {
    documentInfo: '1',
    documentReceiver: '1',
    receiverList: [
      { organId: '000.00.00.H41', receiverType: '0' },
      { organId: '000.00.00.H14', receiverType: '1' },
    ],
  })
})

t.test('sdk replacement shape: ReplacementInfoList (the same entry twice)', async (t) => {
  const b = parseEnvelope(peer('sdk-edoc-replacement.edxml')).edoc!.traceHeaderList.bussiness!
  t.equal(b.bussinessDocType, '3')
  t.equal(b.replacementInfoList.length, 2)
  t.same(b.replacementInfoList[0], { documentId: REPLACED_DOCUMENT_ID, organIdList: ['000.00.00.H41', '000.00.00.H14'] })
  t.same(b.replacementInfoList[1], b.replacementInfoList[0])
  t.equal(b.documentId, '', 'no Bussiness/DocumentId')
})

t.test('sdk revocation shape: type 1 keeps the original DocumentId', async (t) => {
  const e = parseEnvelope(peer('sdk-edoc-revocation.edxml')).edoc!
  t.equal(e.traceHeaderList.bussiness!.bussinessDocType, '1')
  t.equal(e.messageHeader.documentId, PEER_DOC.documentId)
  const ids = ['sdk-edoc-new-junk.edxml', 'sdk-edoc-update.edxml', 'sdk-edoc-replacement.edxml'].map((f) => parseEnvelope(peer(f)).edoc!.messageHeader.documentId)
  t.same(ids, [PEER_DOC.documentId, PEER_DOC.documentId, PEER_DOC.documentId], 'the four SDK-shaped packages share one DocumentId')
})

t.test('status shapes: codes as strings, ResponseFor, StaffInfo, no TraceHeaderList', async (t) => {
  for (const [code, [f]] of Object.entries(STATUS_FILES)) {
    const bytes = peer(f)
    t.ok(bytes.includes(`<edXML:StatusCode>${code}</edXML:StatusCode>\r\n`), `${f}: the code is written ${code}`)
    const env = parseEnvelope(bytes)
    t.equal(env.kind, 'status')
    t.equal(env.status!.messageHeader.statusCode, code, f)
    t.equal(env.status!.traceHeaderList, undefined)
    t.same(env.warnings, [], `${f} has nothing to warn about`)
    t.equal(env.status!.messageHeader.responseFor.documentId, PEER_DOC.documentId, `${f} ResponseFor/DocumentId`)
  }
  const s = parseEnvelope(peer('status-03-acceptance.edxml')).status!.messageHeader
  t.equal(s.from.organId, '000.00.00.H41')
  t.same(s.responseFor, {
    organId: '000.00.00.G22',
    code: PEER_DOC.code,
    promulgationDate: { value: PEER_DOC.date, raw: PEER_DOC.date },
    documentId: PEER_DOC.documentId,
  })
  t.same(s.staffInfo, { department: 'Phong van thu', staff: 'Ho thi lan', mobile: '84900000008', email: 'vanthu@nghean.example.vn' }, 'tabs and trailing blanks trimmed')
  t.same(s.timestamp, { value: '2025/09/20 11:08:36', raw: '2025/09/20 11:08:36' })
  t.match(s.description, /^Văn thư: đã tiếp nhận/)
  const thirteen = parseEnvelope(peer('status-13-cancellation.edxml')).status!.messageHeader
  t.equal(thirteen.from.organId, '000.00.00.G22', 'the 13 goes from the document\'s author to its recipient')
  t.equal(thirteen.responseFor.organId, '000.00.00.H41')
})
