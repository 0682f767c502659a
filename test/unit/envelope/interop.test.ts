// Every package in ../shared/interop/edxml/ parses, with the values peers really sent. Skipped (with the reason)
// where that folder is absent; peers.test.ts asserts the same over our own fixtures with the same quirks.
import t from 'tap'
import { createHash } from 'node:crypto'
import { parseEnvelope, type Envelope } from './imports.js'
import { codeOf, interop, interopFiles, interopSkip } from './helpers.js'

const codes = (e: Envelope): string[] => e.warnings.map((w) => w.code)

t.test('the interop folder holds the 16 known packages and every one parses', { skip: interopSkip }, async (t) => {
  const files = interopFiles()
  t.equal(files.length, 16)
  for (const f of files) {
    const bytes = interop(f)
    const env = parseEnvelope(bytes)
    t.equal(env.kind, f.startsWith('sdk-status') ? 'status' : 'edoc', `${f} kind`)
    t.equal(env.bytes, bytes, `${f} keeps the very bytes it was given`)
    t.equal(env.sha256(), createHash('sha256').update(bytes).digest('hex'), `${f} sha256 of the exact bytes`)
  }
})

t.test('built-in reader and fast-xml-parser (reference) give the same model for every package', { skip: interopSkip }, async (t) => {
  for (const f of interopFiles()) {
    const a = parseEnvelope(interop(f))
    const b = parseEnvelope(interop(f), { xmlReader: 'fast-xml-parser' })
    t.same(a.edoc ?? a.status, b.edoc ?? b.status, f)
    t.same(a.warnings, b.warnings, `${f} warnings`)
  }
})

t.test('axis-2019: UUID DocumentId, odd OrganIds, pdf declared but zip sent, 17 bytes of garbage reported', { skip: interopSkip }, async (t) => {
  const env = parseEnvelope(interop('axis-2019-852e179c.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.documentId, '9fbfbad2-f1f8-4256-a2eb-50fb1061cddb')
  t.equal(h.from.organId, '000.00.15.H51')
  t.same(
    env.edoc!.traceHeaderList.traceHeaders.map((x) => [x.organId, x.timestamp.value]),
    [
      ['01.02.G22', '2018/06/20 16:35:56'],
      ['001.00.20.TT2', '2019/05/17 18:16:33'],
    ],
  )
  t.same(h.responseFor, [], 'the empty <ResponseFor /> is dropped')
  t.equal(h.promulgationInfo.promulgationDate.value, '2019/01/17')
  t.equal(h.signerInfo.fullName.normalize('NFC'), 'Trương Minh Tuấn')
  t.not(h.signerInfo.fullName, h.signerInfo.fullName.normalize('NFC'), 'text is kept as received (this one is partly NFD)')
  t.equal(h.otherInfo.direction, 'false')
  t.same(h.otherInfo.appendixes, ['Phụ lục'])
  t.equal(h.documentType.typeDetail, '', 'missing TypeDetail')
  t.equal(h.to[0]!.organizationInCharge, '', 'missing OrganizationInCharge in To')
  t.ok(env.edoc!.signature, 'the placeholder Signature is kept as a tree')
  t.equal(env.edoc!.signature!.local, 'Signature')
  t.notOk(codes(env).includes('ORGANID_LENIENT'), '01.02.G22 and 001.00.20.TT2 fit the Decision 20/2020 form')

  const [att] = env.edoc!.attachments
  t.equal(att!.manifestContentType, 'application/pdf')
  t.equal(att!.contentType, 'application/zip')
  t.equal(att!.payloadContentType, 'application/zip')
  t.equal(att!.zipEntryName, '5c7082fe-4ac3-4b46-961e-e2439bfae484.PDF')
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
  t.equal(env.attachment('36b8a92e-f054-11e7-842b-005056b672fc').length, 17, 'cid: prefix optional')
  t.equal(env.rawAttachment('cid:36b8a92e-f054-11e7-842b-005056b672fc').length, att!.size)
})

t.test('axis-2025: lowercase vxp.saas.03 accepted with a warning, null/missing trace OrganId tolerated', { skip: interopSkip }, async (t) => {
  const env = parseEnvelope(interop('axis-2025-874e0f18.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.from.organId, 'vxp.saas.03', 'kept as received, not uppercased')
  t.equal(h.to[0]!.organId, 'vxp.saas.03')
  t.equal(h.documentId, '5e515fca-3627-4f2e-b517-7169acdc8bda')
  t.equal(h.from.organName, '', 'missing OrganName tolerated')
  t.equal(h.signerInfo.position, '')
  t.equal(h.dueDate.value, '', 'no DueDate')
  const lenient = env.warnings.filter((w) => w.code === 'ORGANID_LENIENT')
  t.same(
    lenient.map((w) => w.path),
    ['edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId', 'edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[1]/OrganId'],
  )
  t.same(
    env.edoc!.traceHeaderList.traceHeaders.map((x) => x.organId),
    ['null', ''],
  )
  t.equal(env.warnings.filter((w) => w.code === 'TRACE_ORGANID_MISSING').length, 2)
  t.match(env.edoc!.attachments[0], { payloadContentType: 'application/zip', realContentType: 'application/pdf', zipEntryName: '7091b48b-9e89-4b11-bdb8-4265d0200f0e.pdf' })
  t.notOk(codes(env).includes('CONTENT_TYPE_MISMATCH'))
  const rep = env.describeAttachment(env.edoc!.attachments[0]!.contentId)
  t.same(rep.declared, { manifest: 'application/pdf', attachment: 'application/pdf' })
  t.equal(rep.payload.contentType, 'application/zip', 'declared pdf, real zip')
  t.equal(rep.content.contentType, 'application/pdf', 'holding the PDF')
  t.equal(rep.content.zipEntryName, '7091b48b-9e89-4b11-bdb8-4265d0200f0e.pdf')
  t.equal(rep.mismatch, false)
  t.ok(codes(env).includes('ZIP_CONVENTION'))
  t.equal(Buffer.from(env.attachment(rep.contentId).subarray(0, 5)).toString('latin1'), '%PDF-')
})

t.test('axis-2025 second package: a plain PDF, three appendix-like lists', { skip: interopSkip }, async (t) => {
  const env = parseEnvelope(interop('axis-2025-9e272474.edxml'))
  const h = env.edoc!.messageHeader
  t.equal(h.documentId, 'efa170d6-eca4-47e1-aef7-a6dafce24e9e')
  t.same(h.code, { codeNumber: '202545', codeNotation: 'VPCP-TTĐT' })
  t.same(h.documentType, { type: '2', typeDetail: '1', typeName: 'Báo cáo' })
  t.same(h.otherInfo.appendixes, ['Phụ lục 1', 'Phụ lục 2'])
  t.same(h.toPlaces, ['Các phòng ban', 'Ban lãnh đạo'])
  t.equal(h.otherInfo.priority, '1')
  t.equal(h.steeringType, '2')
  const rep = env.describeAttachment(env.edoc!.attachments[0]!.contentId)
  t.equal(rep.payload.contentType, 'application/pdf')
  t.equal(rep.content.size, rep.payload.size, 'used as it is')
  t.notOk(codes(env).includes('ZIP_CONVENTION'))
})

t.test('sdk-edoc_new: junk "1212" before <?xml is skipped with a warning (or refused on request)', { skip: interopSkip }, async (t) => {
  const bytes = interop('sdk-edoc_new.edxml')
  t.equal(bytes.subarray(0, 4).toString('latin1'), '1212')
  const env = parseEnvelope(bytes)
  t.equal(env.warnings[0]!.code, 'JUNK_BEFORE_XML')
  t.match(env.warnings[0]!.message, /4 byte\(s\).*1212/)
  t.equal(env.bytes.length, bytes.length, 'the envelope keeps the junk: exact received bytes')
  t.equal(codeOf(() => parseEnvelope(bytes, { junkPrefix: 'refuse' })), 'GW_ERR_ENVELOPE_NOT_XML')
  const h = env.edoc!.messageHeader
  t.equal(h.to[0]!.organId, '28.22.H17')
  t.equal(h.to[0]!.organizationInCharge, 'UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng', 'trimmed')
  t.same(h.code, { codeNumber: '74fass22', codeNotation: 'VPCP-TTĐT' })
  t.equal(h.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT')
  t.equal(h.dueDate.value, '2018/09/28')
  const b = env.edoc!.traceHeaderList.bussiness!
  t.equal(b.bussinessDocType, '0')
  t.equal(b.bussinessDocReason, 'Văn bản điện tử mới')
  t.equal(b.documentId, '000.00.00.G22,2014/02/30,7806/VPCP-TTĐT', 'opaque even with an impossible date inside')
  t.same(b.staffInfo, { department: 'Văn thư văn phòng', staff: 'Nguyễn Thị Ngọc Trâm', mobile: '84912000001', email: 'vanthuvanphong@gov.vn' })
  t.equal(b.paper, '0')
  t.same(h.otherInfo.extensions, undefined, 'Direction is modelled, not an extension')
  // the attachment is a ZIP whose single entry is itself an edXML package
  const rep = env.describeAttachment('cid:209')
  t.equal(rep.payload.contentType, 'application/zip')
  t.equal(rep.content.contentType, 'application/xml')
  t.match(rep.content.zipEntryName, /\.edxml$/)
  const inner = parseEnvelope(env.attachment('209'))
  t.equal(inner.kind, 'edoc', 'the inner package parses too')
  t.equal(inner.warnings[0]!.code, 'UNDECLARED_PREFIX', 'although it uses edXML: outside the xmlns:edXML scope')
  t.equal(inner.edoc!.messageHeader.documentId, '9fbfbad2-f1f8-4256-a2eb-50fb1061cddb')
  t.equal(inner.edoc!.attachments[0]!.manifestContentType, '', 'its Manifest ContentType is commented out')
})

t.test('sdk-edoc_update: BussinessDocumentInfo with a ReceiverList, three recipients', { skip: interopSkip }, async (t) => {
  const env = parseEnvelope(interop('sdk-edoc_update.edxml'))
  t.equal(env.edoc!.messageHeader.to.length, 3)
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

t.test('sdk-edoc_replacement: ReplacementInfoList', { skip: interopSkip }, async (t) => {
  const b = parseEnvelope(interop('sdk-edoc_replacement.edxml')).edoc!.traceHeaderList.bussiness!
  t.equal(b.bussinessDocType, '3')
  t.equal(b.replacementInfoList.length, 2)
  t.same(b.replacementInfoList[0], { documentId: '000.00.00.G22,2014/01/30,7806/VPCP-TTĐT', organIdList: ['000.00.00.H41', '000.00.00.H14'] })
  t.equal(b.documentId, '', 'no Bussiness/DocumentId in this sample')
})

t.test('sdk-edoc_revocation: type 1 keeps the original DocumentId', { skip: interopSkip }, async (t) => {
  const e = parseEnvelope(interop('sdk-edoc_revocation.edxml')).edoc!
  t.equal(e.traceHeaderList.bussiness!.bussinessDocType, '1')
  t.equal(e.messageHeader.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT')
})

t.test('status packages: codes as strings, ResponseFor, StaffInfo, no TraceHeaderList', { skip: interopSkip }, async (t) => {
  const expected: Record<string, string> = {
    'sdk-status_inbox_01.edxml': '01',
    'sdk-status_rejection_02.edxml': '02',
    'sdk-status_acceptance_03.edxml': '03',
    'sdk-status_assignment_04.edxml': '04',
    'sdk-status_processing_05.edxml': '05',
    'sdk-status_finish_06.edxml': '06',
    'sdk-status_cancellation_13.edxml': '13',
    'sdk-status_change-acceptance_15.edxml': '15',
    'sdk-status_change-rejection_16.edxml': '16',
  }
  for (const [f, code] of Object.entries(expected)) {
    const env = parseEnvelope(interop(f))
    t.equal(env.kind, 'status')
    t.equal(env.status!.messageHeader.statusCode, code, f)
    t.equal(env.status!.traceHeaderList, undefined)
    t.same(env.warnings, [], `${f} has nothing to warn about`)
    t.ok(env.status!.messageHeader.responseFor.documentId, `${f} ResponseFor/DocumentId`)
  }
  const s = parseEnvelope(interop('sdk-status_acceptance_03.edxml')).status!.messageHeader
  t.equal(s.from.organId, '000.00.00.H41')
  t.same(s.responseFor, {
    organId: '000.00.00.G22',
    code: '7816/VPCP-TTĐT',
    promulgationDate: { value: '2015/09/30', raw: '2015/09/30' },
    documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT',
  })
  t.same(s.staffInfo, { department: 'Phong hanh chinh', staff: 'Nguyen thi ngoc tram', mobile: '84912000001', email: 'ngoctram@nghean.vn' })
  t.same(s.timestamp, { value: '2015/09/20 11:08:36', raw: '2015/09/20 11:08:36' })
  t.match(s.description, /^Văn thư cơ - Phòng Văn thư/)
})
