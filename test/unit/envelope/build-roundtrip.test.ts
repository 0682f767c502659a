// A built package parses back to the very model the builder made; output rules of docs/edxml.md §a.1 hold.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { zipSync } from 'fflate'
import { buildEdoc, buildStatus, parseEnvelope, STATUS_CODES, type StatusInput } from './imports.js'
import { codeOf, edocInput } from './helpers.js'

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

t.test('edoc with Vietnamese text round-trips to the same model', async (t) => {
  const nfd = (s: string): string => s.normalize('NFD')
  const env = buildEdoc(
    edocInput({
      from: { organId: '000.00.00.g22', organName: nfd('Văn phòng Chính phủ'), organizationInCharge: nfd('Chính phủ'), organAdd: 'Số 1 Hoàng Hoa Thám', email: 'vpcp@chinhphu.vn', telephone: '080 43100', fax: '', website: 'https://chinhphu.vn' },
      to: [
        { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND tỉnh Nghệ An' },
        { organId: 'h29.tt.01', organName: 'Sở Thông tin & Truyền thông <TP.HCM>', organizationInCharge: 'UBND TP Hồ Chí Minh' },
      ],
      subject: nfd('  Về việc triển khai Nghị định 30/2020/NĐ-CP  '),
      content: 'Quote " and apostrophe \' and ]]> stay text,\r\nover two lines',
      signerInfo: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: nfd('Nguyễn Thị Hồng Nhung') },
      dueDate: new Date('2025-10-31T10:00:00Z'),
      toPlaces: ['Như trên', 'Lưu: VT, TTĐT'],
      otherInfo: { priority: 3, sphereOfPromulgation: 'Liên thông văn bản quốc gia', typerNotation: 'HN', promulgationAmount: 5, pageAmount: 12, direction: true, appendixes: ['Phụ lục I', 'Phụ lục II'] },
      responseFor: [{ organId: '000.00.00.h41', code: '123/UBND-VX', promulgationDate: '01/10/2025', documentId: '000.00.00.H41,2025/10/01,123/UBND-VX' }],
      steeringType: 1,
      bussiness: { staffInfo: { department: 'Văn thư', staff: 'Trần Văn B', mobile: '0912000001', email: 'vt@chinhphu.vn' } },
      attachments: [
        { contentId: 'cid:vb-1', attachmentName: 'Quyết định.pdf', description: 'Văn bản chính', contentType: 'Application/PDF', data: Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(5000)]) },
        { attachmentName: 'phu-luc.zip', contentType: 'application/zip', data: zipSync({ 'a.txt': randomBytes(300), 'b.txt': randomBytes(30) }) },
      ],
    }),
  )
  const back = parseEnvelope(env.bytes)
  t.same(back.edoc, env.edoc, 'same model')
  t.same(back.warnings, [], 'nothing to warn about in our own output')
  const h = back.edoc!.messageHeader
  t.equal(h.from.organName, 'Văn phòng Chính phủ'.normalize('NFC'), 'NFD input comes out NFC')
  t.ok(h.signerInfo.fullName === h.signerInfo.fullName.normalize('NFC') && h.signerInfo.fullName === 'Nguyễn Thị Hồng Nhung')
  t.ok(text(env.bytes) === text(env.bytes).normalize('NFC'), 'the whole package is NFC')
  t.equal(h.subject, 'Về việc triển khai Nghị định 30/2020/NĐ-CP', 'trimmed')
  t.equal(h.content, 'Quote " and apostrophe \' and ]]> stay text,\nover two lines', 'CRLF read as LF')
  t.equal(h.to[1]!.organName, 'Sở Thông tin & Truyền thông <TP.HCM>', 'escaped and decoded')
  t.equal(h.from.organId, '000.00.00.G22', 'OrganIds uppercased')
  t.equal(h.to[1]!.organId, 'H29.TT.01')
  t.equal(h.responseFor[0]!.organId, '000.00.00.H41')
  t.equal(h.responseFor[0]!.promulgationDate.value, '2025/10/01')
  t.equal(h.dueDate.value, '2025/10/31')
  t.equal(h.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT', 'composite DocumentId by default')
  t.equal(back.edoc!.traceHeaderList.traceHeaders[0]!.timestamp.value, '2025/10/20 10:00:00', 'UTC+7')
  t.equal(back.edoc!.attachments[0]!.contentId, 'cid:vb-1')
  t.match(back.edoc!.attachments[1]!.contentId, /^cid:[0-9a-f-]{36}$/, 'random UUID ContentId by default')
  t.equal(back.edoc!.attachments[0]!.contentType, 'application/pdf', 'MIME type lowercased')
  for (const id of env.attachmentIds()) t.same(Buffer.from(back.attachment(id)), Buffer.from(env.attachment(id)), `payload ${id}`)
  t.equal(back.sha256(), env.sha256())
  t.notMatch(text(env.bytes), /<Signature/, 'no Signature on output')
  t.notMatch(text(env.bytes), /]]>/, '"]]>" never appears in text')
})

t.test('revocation, update and replacement blocks round-trip', async (t) => {
  for (const bussiness of [
    { bussinessDocType: 1 as const, bussinessDocReason: 'Thu hồi do sai sót' },
    {
      bussinessDocType: 2 as const,
      documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT',
      bussinessDocumentInfo: { documentInfo: 1, documentReceiver: 1, receiverList: [{ organId: '000.00.00.H41', receiverType: 0 }, { organId: '000.00.00.h14', receiverType: 1 }] },
    },
    { bussinessDocType: 3 as const, replacementInfoList: [{ documentId: 'old-1', organIdList: ['000.00.00.H41', '000.00.00.H14'] }] },
  ]) {
    const env = buildEdoc(edocInput({ bussiness }))
    t.same(parseEnvelope(env.bytes).edoc, env.edoc, `type ${bussiness.bussinessDocType}`)
  }
  const none = buildEdoc(edocInput({ bussiness: null }))
  t.equal(none.edoc!.traceHeaderList.bussiness, undefined)
  t.same(parseEnvelope(none.bytes).edoc, none.edoc)
  t.equal(buildEdoc(edocInput()).edoc!.traceHeaderList.bussiness!.bussinessDocReason, 'Văn bản điện tử mới')
})

t.test('each status code round-trips, as a two-digit string', async (t) => {
  for (const statusCode of STATUS_CODES) {
    const input: StatusInput = {
      from: { organId: '000.00.00.H41', organName: 'UBND Tỉnh Nghệ An', organizationInCharge: 'UBND Tỉnh Nghệ An' },
      responseFor: { organId: '000.00.00.G22', code: '7816/VPCP-TTĐT', promulgationDate: new Date('2015-09-30T01:00:00Z'), documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT' },
      staffInfo: { department: 'Phòng Hành chính', staff: 'Nguyễn Thị Ngọc Trâm' },
      statusCode,
      description: statusCode === '02' ? 'Sai địa chỉ nhận' : '',
      timestamp: new Date('2015-09-20T04:08:36Z'),
    }
    const env = buildStatus(input)
    const back = parseEnvelope(env.bytes)
    t.equal(back.kind, 'status')
    t.same(back.status, env.status, statusCode)
    t.equal(back.status!.messageHeader.statusCode, statusCode)
    t.equal(back.status!.messageHeader.timestamp.value, '2015/09/20 11:08:36')
    t.match(text(env.bytes), `<edXML:StatusCode>${statusCode}</edXML:StatusCode>`)
  }
})

t.test('the builder refuses what it must not emit', async (t) => {
  t.equal(codeOf(() => buildEdoc(edocInput({ from: { organId: 'vxp saas', organName: 'x', organizationInCharge: 'y' } }))), 'GW_ERR_ENVELOPE_INVALID_ORGANID')
  t.equal(codeOf(() => buildEdoc(edocInput({ to: [{ organId: 'h37.dn.001_x', organName: 'x', organizationInCharge: 'y' }] }))), 'GW_ERR_ENVELOPE_INVALID_ORGANID', 'lenient-only ids are not emitted')
  t.equal(codeOf(() => buildEdoc(edocInput({ to: [] }))), 'GW_ERR_ENVELOPE_SCHEMA', 'at least one recipient')
  t.equal(codeOf(() => buildEdoc(edocInput({ subject: '  ' }))), 'GW_ERR_ENVELOPE_SCHEMA', 'Subject is required')
  t.equal(codeOf(() => buildEdoc(edocInput({ otherInfo: { pageAmount: 1, priority: 7 } }))), 'GW_ERR_ENVELOPE_SCHEMA', 'Priority 0..4')
  t.equal(codeOf(() => buildEdoc(edocInput({ promulgationInfo: { place: 'HN', promulgationDate: '2015/02/30' } }))), 'GW_ERR_ENVELOPE_INVALID_DATE')
  t.equal(codeOf(() => buildEdoc(edocInput({ subject: 'bell \u0007' }))), 'GW_ERR_ENVELOPE_INVALID_FIELD')
  let err: unknown
  try {
    buildEdoc(edocInput({ code: { codeNumber: '', codeNotation: '' } }))
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_SCHEMA', message: /\/messageHeader\/code\/codeNumber/ })
  t.equal(codeOf(() => buildStatus({ from: { organId: '000.00.00.H41', organName: 'a', organizationInCharge: 'b' }, responseFor: { documentId: 'x' }, statusCode: '07' })), 'GW_ERR_ENVELOPE_SCHEMA')
  t.equal(codeOf(() => buildStatus({ from: { organId: '000.00.00.H41', organName: 'a', organizationInCharge: 'b' }, responseFor: {}, statusCode: '01' })), 'GW_ERR_ENVELOPE_SCHEMA', 'ResponseFor must identify')
})

t.test('large attachments are assembled as bytes and come back identical', async (t) => {
  const data = randomBytes(3 * 1024 * 1024)
  const env = buildEdoc(edocInput({ attachments: [{ contentId: 'big', attachmentName: 'big.bin', contentType: 'application/octet-stream', data }] }))
  const back = parseEnvelope(env.bytes)
  t.equal(back.edoc!.attachments[0]!.size, data.length)
  t.same(Buffer.from(back.attachment('big')).equals(data), true)
})

t.test('payloads of every size around the base64 slice (768 KiB) are written as one base64 line of the exact payload', async (t) => {
  const SLICE = 3 * 256 * 1024
  const sizes = [0, 1, 2, 3, 4, SLICE - 1, SLICE, SLICE + 1, SLICE + 2, 2 * SLICE + 2, 3 * SLICE]
  const data = sizes.map((n) => randomBytes(n))
  const env = buildEdoc(edocInput({ attachments: data.map((d, i) => ({ attachmentName: `a${i}.bin`, contentType: 'application/octet-stream', data: d, description: 'Tiếng Việt: đủ dấu' })) }))
  const xml = text(env.bytes)
  const encoded = [...xml.matchAll(/<edXML:ContentTransferEncoded[^>]*>([^<]*)</g)].map((m) => m[1])
  t.same(encoded, data.map((d) => d.toString('base64')), 'each payload is its own base64, on one line')
  const back = parseEnvelope(env.bytes)
  t.same(back.edoc!.attachments.map((a) => Buffer.from(back.rawAttachment(a.contentId)).equals(data[back.edoc!.attachments.indexOf(a)]!)), sizes.map(() => true), 'and parses back to the same bytes')
  t.ok(xml.endsWith('  </AttachmentEncoded>\n</edXML>\n'), 'the buffer ends with the package (no unwritten bytes after it)')
})
