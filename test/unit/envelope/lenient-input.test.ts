// What peers really send: date variants, extension elements, a UTF-8 BOM, comments; kept or normalised, never fatal.
import t from 'tap'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const pkg = edocText({ dueDate: '2015/10/15' })

t.test('date variants are normalised to yyyy/MM/dd, the raw text is kept', async (t) => {
  const cases: [string, string][] = [
    ['30/09/2015', '2015/09/30'],
    ['2015-09-30', '2015/09/30'],
    ['2015/9/30', '2015/09/30'],
    ['2015-09-30T10:00:00+07:00', '2015/09/30'],
  ]
  for (const [raw, value] of cases) {
    const env = parseEnvelope(Buffer.from(pkg.replace('<edXML:PromulgationDate>2015/09/30<', `<edXML:PromulgationDate>${raw}<`)))
    t.same(env.edoc!.messageHeader.promulgationInfo.promulgationDate, { value, raw }, raw)
    t.same(env.warnings, [])
  }
})

t.test('an unreadable date is kept raw with a warning', async (t) => {
  const env = parseEnvelope(Buffer.from(pkg.replace('<edXML:DueDate>2015/10/15<', '<edXML:DueDate>2015/02/30<')))
  t.same(env.edoc!.messageHeader.dueDate, { value: '', raw: '2015/02/30' })
  t.match(env.warnings, [{ code: 'DATE_UNREADABLE', path: 'edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DueDate' }])
})

t.test('a date-only Timestamp (VNPT sample) becomes midnight', async (t) => {
  const env = parseEnvelope(Buffer.from(pkg.replace(/<edXML:Timestamp>[^<]*</, '<edXML:Timestamp>2018/09/28<')))
  t.same(env.edoc!.traceHeaderList.traceHeaders[0]!.timestamp, { value: '2018/09/28 00:00:00', raw: '2018/09/28' })
})

t.test('unknown extension elements are kept as trees wherever they appear', async (t) => {
  const ext = pkg
    .replace('<edXML:OtherInfo>', '<edXML:OtherInfo><edXML:ReferenceCodes><edXML:Code a="1">A-1</edXML:Code></edXML:ReferenceCodes>')
    .replace('<edXML:SteeringType>', '<edXML:ResponseForTask><edXML:TaskCode>T-9</edXML:TaskCode></edXML:ResponseForTask><edXML:SteeringType>')
    .replace('<edXML:TraceHeaderList>', '<edXML:TraceHeaderList id="th" version="1.0" mustUnderstand="1">')
    .replace('</edXML:edXMLHeader>', '<x:Audit xmlns:x="urn:x">ok</x:Audit></edXML:edXMLHeader>')
  const env = parseEnvelope(Buffer.from(ext))
  const e = env.edoc!
  t.match(e.messageHeader.otherInfo.extensions, [{ local: 'ReferenceCodes', children: [{ local: 'Code', text: 'A-1', attributes: { a: '1' } }] }])
  t.match(e.messageHeader.extensions, [{ name: 'edXML:ResponseForTask', children: [{ local: 'TaskCode', text: 'T-9' }] }])
  t.same(e.traceHeaderList.attributes, { id: 'th', version: '1.0', mustUnderstand: '1' })
  t.match(e.extensions, [{ ns: 'urn:x', local: 'Audit', text: 'ok' }])
})

t.test('extensions inside small groups (From, Code, SignerInfo, Reference, StaffInfo) are kept too', async (t) => {
  const ext = pkg
    .replace('<edXML:From>', '<edXML:From><edXML:OrganCode102>G22</edXML:OrganCode102>')
    .replace('<edXML:Code>', '<edXML:Code><edXML:CodeYear>2015</edXML:CodeYear>')
    .replace('<edXML:SignerInfo>', '<edXML:SignerInfo><edXML:Mobile>0912</edXML:Mobile>')
    .replace('<edXML:Reference>', '<edXML:Reference><edXML:Hash>abc</edXML:Hash>')
    .replace('<edXML:StaffInfo>', '<edXML:StaffInfo><edXML:Position>Văn thư</edXML:Position>')
  const e = parseEnvelope(Buffer.from(ext)).edoc!
  t.match(e.messageHeader.from.extensions, [{ local: 'OrganCode102', text: 'G22' }])
  t.equal(e.messageHeader.from.organId, '000.00.00.G22')
  t.match(e.messageHeader.code.extensions, [{ local: 'CodeYear', text: '2015' }])
  t.match(e.messageHeader.signerInfo.extensions, [{ local: 'Mobile', text: '0912' }])
  t.match(e.manifest.references[0]!.extensions, [{ local: 'Hash', text: 'abc' }])
  t.match(e.traceHeaderList.bussiness!.staffInfo.extensions, [{ local: 'Position', text: 'Văn thư' }])
  t.equal(e.messageHeader.to[0]!.extensions, undefined, 'no empty bags')
})

t.test('BOM, comments, processing instructions and CRLF are fine', async (t) => {
  const fancy = '\ufeff' + pkg.replace(/\n/g, '\r\n').replace('<edXML:Subject>', '<!-- note --><?pi x?><edXML:Subject>')
  const env = parseEnvelope(Buffer.from(fancy))
  t.equal(env.edoc!.messageHeader.subject, 'V/v kết nối, liên thông phần mềm quản lý văn bản')
})

t.test('junk before <?xml: only up to 1 KiB, only before a declaration', async (t) => {
  t.equal(codeOf(() => parseEnvelope(Buffer.from('x'.repeat(1025) + pkg))), 'GW_ERR_ENVELOPE_NOT_XML')
  t.equal(parseEnvelope(Buffer.from('x'.repeat(1024) + pkg)).warnings[0]!.code, 'JUNK_BEFORE_XML')
  t.equal(codeOf(() => parseEnvelope(Buffer.from('1212' + pkg.replace(/^<\?xml[^>]*>/, '')))), 'GW_ERR_ENVELOPE_NOT_XML', 'no declaration to resync on')
})

t.test('a Signature in the xmldsig namespace is still the Signature, not an extension', async (t) => {
  const dsig = pkg.replace('</edXML:TraceHeaderList>', '</edXML:TraceHeaderList><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>')
  const e = parseEnvelope(Buffer.from(dsig)).edoc!
  t.match(e.signature, { ns: 'http://www.w3.org/2000/09/xmldsig#', local: 'Signature', children: [{ local: 'SignedInfo' }] })
  t.equal(e.extensions, undefined)
})
