// The exact bytes of small built packages, against files in test/fixtures/edxml/ (regenerate on purpose only:
// UPDATE_GOLDEN=1 npx tap test/unit/envelope/golden.test.ts, then review the diff).
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { buildEdoc, buildStatus, type EdocInput, type StatusInput } from './imports.js'
import { FIXTURES_DIR } from './helpers.js'

export const goldenEdoc: EdocInput = {
  from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ', organAdd: 'Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội', email: 'vpcp@chinhphu.vn', telephone: '080 43100' },
  to: [{ organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND tỉnh Nghệ An' }],
  code: { codeNumber: '7816', codeNotation: 'VPCP-TTĐT' },
  promulgationInfo: { place: 'Hà Nội', promulgationDate: '2015/09/30' },
  documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
  subject: 'V/v kết nối, liên thông phần mềm quản lý văn bản & điều hành',
  content: 'V/v kết nối, liên thông phần mềm quản lý văn bản',
  signerInfo: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
  dueDate: '2015/10/15',
  toPlaces: ['Như trên', 'Lưu: VT'],
  otherInfo: { priority: 0, sphereOfPromulgation: 'Liên thông văn bản quốc gia', typerNotation: 'TVC', promulgationAmount: 2, pageAmount: 3, appendixes: ['Phụ lục'] },
  steeringType: 0,
  bussiness: { staffInfo: { department: 'Văn thư', staff: 'Nguyễn Thị Ngọc Trâm', mobile: '84912000001', email: 'vanthu@chinhphu.vn' } },
  attachments: [{ contentId: '209', attachmentName: 'cong-van.pdf', description: 'Công văn', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n%golden\n') }],
  now: new Date('2015-09-30T02:15:00Z'),
}

export const goldenStatus: StatusInput = {
  from: { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND tỉnh Nghệ An' },
  responseFor: { organId: '000.00.00.G22', code: '7816/VPCP-TTĐT', promulgationDate: '2015/09/30', documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT' },
  staffInfo: { department: 'Văn thư', staff: 'Trần Văn B' },
  statusCode: '03',
  description: 'Đã tiếp nhận, vào sổ văn bản đến',
  timestamp: new Date('2015-09-30T04:08:36Z'),
}

function golden(t: Test, name: string, bytes: Uint8Array): void {
  const url = new URL(name, FIXTURES_DIR)
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(url, bytes)
  const expected = readFileSync(url)
  t.equal(Buffer.from(bytes).toString('utf8'), expected.toString('utf8'), `${name}: same text`)
  t.ok(Buffer.from(bytes).equals(expected), `${name}: same bytes`)
}

t.test('document package: exact bytes', async (t) => {
  const bytes = buildEdoc(goldenEdoc).bytes
  golden(t, 'golden-edoc.edxml', bytes)
  const s = Buffer.from(bytes).toString('utf8')
  t.ok(s.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">\n  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">\n'))
  t.match(s, '<edXML:OrganAdd/>', 'empty optional tags kept as empty elements')
  t.match(s, '\n  <AttachmentEncoded>\n    <Attachment>\n      <ContentId>cid:209</ContentId>', 'unprefixed attachment subtree')
  t.match(s, '<edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">JVBERi0xLjQKJWdvbGRlbgo=</edXML:ContentTransferEncoded>')
  const order = ['From', 'To', 'Code', 'PromulgationInfo', 'DocumentType', 'Subject', 'Content', 'SignerInfo', 'DueDate', 'ToPlaces', 'OtherInfo', 'SteeringType', 'DocumentId']
  const at = order.map((n) => s.indexOf(`\n        <edXML:${n}>`))
  t.same(at, [...at].sort((a, b) => a - b), 'QCVN 1.1-1.14 order')
  t.notOk(at.includes(-1), 'all present')
})

t.test('status package: exact bytes', async (t) => {
  golden(t, 'golden-status-03.edxml', buildStatus(goldenStatus).bytes)
})
