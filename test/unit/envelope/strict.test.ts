// Strict envelope rules: elements the standard allows once (derived from schemas/edxml/), elements it allows more
// than once kept whole, control and bidi characters in header fields, content ids, and what the builder refuses.
import t, { type Test } from 'tap'
import { zipSync } from 'fflate'
import { buildEdoc, buildStatus, normaliseContentId, parseEnvelope, isGatewayError } from './imports.js'
import { onceElements } from '../../../src/envelope/strict.js'
import { edocInput, edocText } from './helpers.js'

const parse = (s: string) => parseEnvelope(Buffer.from(s))
const refused = (t: Test, s: string, code: string, path?: RegExp | string) => {
  let err: unknown
  try {
    parse(s)
  } catch (e) {
    err = e
  }
  t.ok(isGatewayError(err), `refused (${String(err)})`)
  if (!isGatewayError(err)) return
  t.equal(err.code, code, err.message)
  if (path) t.match(String(err.params['path']), path)
}

const base = edocText({
  bussiness: {
    bussinessDocType: 3,
    staffInfo: { department: 'Văn thư', staff: 'Nguyễn Thị B' },
    replacementInfoList: [{ documentId: 'A', organIdList: ['000.00.00.H41'] }],
    bussinessDocumentInfo: { documentInfo: '1', documentReceiver: '1', receiverList: [{ organId: '000.00.00.H41', receiverType: '1' }] },
  },
})
const once = (s: string, pattern: RegExp): string => {
  const m = pattern.exec(s)
  if (!m) throw new Error(`no match for ${pattern}`)
  return s.slice(0, m.index + m[0].length) + m[0] + s.slice(m.index + m[0].length)
}

t.test('the set of elements allowed once comes from the schemas', async (t) => {
  const edoc = onceElements('edoc')
  for (const p of ['MessageHeader/From', 'MessageHeader/DocumentId', 'MessageHeader/Code', 'MessageHeader/Subject', 'MessageHeader/OtherInfo/Priority', 'Bussiness/BussinessDocType']) {
    t.ok(edoc.some((x) => x.endsWith(p)), p)
  }
  for (const p of ['MessageHeader/To', 'MessageHeader/ResponseFor', 'Bussiness/StaffInfo', 'Bussiness/ReplacementInfoList', 'BussinessDocumentInfo/ReceiverList', 'TraceHeaderList/TraceHeader']) {
    t.notOk(edoc.some((x) => x.endsWith(p)), `${p} may repeat`)
  }
  const status = onceElements('status')
  t.ok(status.some((x) => x.endsWith('MessageHeader/ResponseFor')), 'a status answers one document')
  t.ok(status.some((x) => x.endsWith('MessageHeader/StatusCode')))
  t.notOk(status.some((x) => x.endsWith('MessageHeader/StaffInfo')))
})

t.test('a repeated element the standard allows once is refused, naming its path', async (t) => {
  t.ok(parse(base), 'the base package parses')
  const cases: [string, RegExp, RegExp][] = [
    ['From', /<edXML:From>[\s\S]*?<\/edXML:From>\s*/, /MessageHeader\/From$/],
    ['DocumentId', /<edXML:DocumentId>[^<]*<\/edXML:DocumentId>\s*(?=<\/edXML:MessageHeader>)/, /MessageHeader\/DocumentId$/],
    ['From/OrganId', /<edXML:OrganId>000\.00\.00\.G22<\/edXML:OrganId>\s*/, /From\/OrganId$/],
    ['Subject', /<edXML:Subject>[^<]*<\/edXML:Subject>\s*/, /MessageHeader\/Subject$/],
    ['Code', /<edXML:Code>[\s\S]*?<\/edXML:Code>\s*/, /MessageHeader\/Code$/],
    ['Priority', /<edXML:Priority>[^<]*<\/edXML:Priority>\s*/, /OtherInfo\/Priority$/],
    ['To[1]/OrganName', /<edXML:OrganName>UBND tỉnh Nghệ An<\/edXML:OrganName>\s*/, /To\[1\]\/OrganName$/],
    ['BussinessDocType', /<edXML:BussinessDocType>[^<]*<\/edXML:BussinessDocType>\s*/, /Bussiness\/BussinessDocType$/],
    ['Attachment ContentId', /<ContentId>cid:a1<\/ContentId>\s*/, /Attachment\[1\]\/ContentId$/],
    ['Manifest', /<edXML:edXMLManifest[\s\S]*?<\/edXML:edXMLManifest>\s*/, /edXMLBody\/edXMLManifest$/],
  ]
  for (const [name, re, path] of cases) {
    t.test(name, async (t) => refused(t, once(base, re), 'GW_ERR_ENVELOPE_REPEATED_ELEMENT', path))
  }
  // the Business spelling is the same element
  const both = base.replace(/<edXML:Bussiness>[\s\S]*?<\/edXML:Bussiness>/, (m) => m + m.replaceAll('Bussiness>', 'Business>'))
  refused(t, both, 'GW_ERR_ENVELOPE_REPEATED_ELEMENT', /TraceHeaderList\/Bussiness$/)
})

t.test('a status package: two StatusCodes or two ResponseFor are refused, two StaffInfo kept', async (t) => {
  const st = Buffer.from(
    buildStatus({
      from: { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND' },
      responseFor: { organId: '000.00.00.G22', code: '7816/VPCP-TTĐT', documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT' },
      staffInfo: { department: 'Văn thư', staff: 'A' },
      statusCode: '01',
      timestamp: new Date('2025-10-20T03:00:00Z'),
    }).bytes,
  ).toString('utf8')
  refused(t, once(st, /<edXML:StatusCode>[^<]*<\/edXML:StatusCode>\s*/), 'GW_ERR_ENVELOPE_REPEATED_ELEMENT', /MessageHeader\/StatusCode$/)
  refused(t, once(st, /<edXML:ResponseFor>[\s\S]*?<\/edXML:ResponseFor>\s*/), 'GW_ERR_ENVELOPE_REPEATED_ELEMENT', /MessageHeader\/ResponseFor$/)
  const two = st.replace(/<edXML:StaffInfo>[\s\S]*?<\/edXML:StaffInfo>/, (m) => m + m.replace('>A<', '>B<'))
  const h = parse(two).status!.messageHeader
  t.equal(h.staffInfo.staff, 'A', 'first one in the existing field')
  t.same(h.staffInfoList?.map((s) => s.staff), ['A', 'B'])
  t.equal(parse(st).status!.messageHeader.staffInfoList, undefined, 'no list when there is one')
})

t.test('ReplacementInfoList, ReceiverList, StaffInfo and To repeated are all kept', async (t) => {
  let s = base
  s = s.replace(/<edXML:ReplacementInfoList>[\s\S]*?<\/edXML:ReplacementInfoList>/, (m) => m + m.replace('<edXML:DocumentId>A<', '<edXML:DocumentId>B<'))
  s = s.replace(/<edXML:ReceiverList>[\s\S]*?<\/edXML:ReceiverList>/, (m) => m + m.replace('000.00.00.H41', '000.00.00.H29'))
  s = s.replace(/<edXML:StaffInfo>[\s\S]*?<\/edXML:StaffInfo>/, (m) => m + m.replace('Nguyễn Thị B', 'Trần Văn C'))
  s = s.replace(/<edXML:To>[\s\S]*?<\/edXML:To>/, (m) => m + m.replace('000.00.00.H41', '000.00.00.H29'))
  const env = parse(s)
  const b = env.edoc!.traceHeaderList.bussiness!
  t.same(b.replacementInfoList.map((r) => r.documentId), ['A', 'B'])
  t.same(b.bussinessDocumentInfo!.receiverList.map((r) => r.organId), ['000.00.00.H41', '000.00.00.H29'])
  t.equal(b.staffInfo.staff, 'Nguyễn Thị B')
  t.same(b.staffInfoList?.map((x) => x.staff), ['Nguyễn Thị B', 'Trần Văn C'])
  t.same(env.edoc!.messageHeader.to.map((o) => o.organId), ['000.00.00.H41', '000.00.00.H29'])
  t.notOk(b.extensions, 'nothing left over as an unknown element')
})

t.test('control characters and bidi overrides in header fields are refused, naming the field', async (t) => {
  const inText = (s: string, field: RegExp, ch: string) => s.replace(field, (m) => m.replace(/>([^<]*)</, (_, v: string) => `>${v.slice(0, 2)}${ch}${v.slice(2)}<`))
  const cases: [string, RegExp, string, RegExp][] = [
    ['NUL in OrganName', /<edXML:OrganName>Văn phòng Chính phủ<\/edXML:OrganName>/, '\u0000', /From\/OrganName$/],
    ['C0 in Subject', /<edXML:Subject>[^<]*<\/edXML:Subject>/, '\u0007', /MessageHeader\/Subject$/],
    ['char reference to a bidi override in FullName', /<edXML:FullName>[^<]*<\/edXML:FullName>/, '&#x202E;', /SignerInfo\/FullName$/],
    ['RLO in AttachmentName', /<AttachmentName>vanban.pdf<\/AttachmentName>/, '\u202E', /Attachment\[1\]\/AttachmentName$/],
    ['isolate in Manifest AttachmentName', /<edXML:AttachmentName>vanban.pdf<\/edXML:AttachmentName>/, '\u2067', /Reference\[1\]\/AttachmentName$/],
    ['LF in ContentType', /<ContentType>application\/pdf<\/ContentType>/, '\n', /Attachment\[1\]\/ContentType$/],
    ['CR in a code', /<edXML:CodeNumber>[^<]*<\/edXML:CodeNumber>/, '&#13;', /Code\/CodeNumber$/],
    ['LF in a Receiver OrganId', /<edXML:OrganId>000\.00\.00\.H41<\/edXML:OrganId>(?=\s*<edXML:ReceiverType>)/, '\n', /Receiver\[1\]\/OrganId$/],
    ['LRE in Staff', /<edXML:Staff>[^<]*<\/edXML:Staff>/, '\u202A', /StaffInfo\/Staff$/],
  ]
  for (const [name, field, ch, path] of cases) {
    t.test(name, async (t) => {
      const s = inText(base, field, ch)
      t.not(s, base, 'edited')
      refused(t, s, 'GW_ERR_ENVELOPE_CONTROL_CHARACTER', path)
    })
  }
  // long texts may hold line breaks (and tabs anywhere)
  const multi = inText(inText(base, /<edXML:Subject>[^<]*<\/edXML:Subject>/, '\r\n'), /<edXML:OrganName>Văn phòng Chính phủ<\/edXML:OrganName>/, '\t')
  t.ok(parse(multi), 'a line break in Subject and a TAB in a name are accepted')
})

t.test('one normalisation of content ids: cid:cid:<uuid> (VNPT) and <cid:...> resolve', async (t) => {
  t.equal(normaliseContentId('cid:cid:4f2a'), '4f2a')
  t.equal(normaliseContentId(' CID:cid: 4f2a '), '4f2a')
  t.equal(normaliseContentId('<cid:4f2a>'), '4f2a')
  t.equal(normaliseContentId('cid:<4f2a>'), '4f2a')
  t.equal(normaliseContentId('4f2a'), '4f2a')
  const uuid = '0b8c7a52-5f0e-4ad7-a7a7-0d0d2b8e1f11'
  const s = edocText({ attachments: [{ contentId: uuid, attachmentName: 'a.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n') }] })
  // VNPT writes cid:cid: in the Attachment and cid: in the Manifest
  const vnpt = s.replace(`<ContentId>cid:${uuid}</ContentId>`, `<ContentId>cid:cid:${uuid}</ContentId>`)
  t.not(vnpt, s, 'edited')
  const env = parse(vnpt)
  t.equal(Buffer.from(env.attachment(uuid)).toString('latin1'), '%PDF-1.4\n')
  t.equal(Buffer.from(env.attachment(`cid:cid:${uuid}`)).toString('latin1'), '%PDF-1.4\n')
  t.equal(Buffer.from(env.attachment(`<cid:${uuid}>`)).toString('latin1'), '%PDF-1.4\n')
  // the builder writes one cid: whatever it is given
  const built = edocText({ attachments: [{ contentId: `cid:cid:${uuid}`, attachmentName: 'a.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n') }] })
  t.match(built, `<edXML:ContentId>cid:${uuid}</edXML:ContentId>`)
  t.notMatch(built, 'cid:cid:')
})

t.test('builder: no empty numeric elements; declared ZIP and PDF must be what they say', async (t) => {
  const text = Buffer.from(buildEdoc(edocInput({ otherInfo: { pageAmount: 2 }, documentType: { type: 1, typeName: 'Công văn' } })).bytes).toString('utf8')
  t.notMatch(text, /<edXML:PromulgationAmount\/>/)
  t.notMatch(text, /<edXML:TypeDetail\/>/)
  t.notMatch(text, /<edXML:(SteeringType|PageAmount|Type|Priority)\/>/)
  t.match(text, /<edXML:SteeringType>0<\/edXML:SteeringType>/)
  t.ok(parse(text), 'and it parses back')

  const build = (contentType: string, data: Uint8Array, attachmentName = 'f') => () => buildEdoc(edocInput({ attachments: [{ attachmentName, contentType, data }] }))
  const code = (f: () => unknown): string | undefined => {
    try {
      f()
    } catch (e) {
      return isGatewayError(e) ? e.code : String(e)
    }
    return undefined
  }
  const zip = zipSync({ 'a.txt': Buffer.from('hello') })
  const pdf = Buffer.from('%PDF-1.7\n%...')
  t.equal(code(build('application/zip', zip, 'a.zip')), undefined)
  t.equal(code(build('application/zip', Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'latin1'), 'empty.zip')), undefined, 'an empty ZIP')
  t.equal(code(build('application/pdf', pdf, 'a.pdf')), undefined)
  t.equal(code(build('application/pdf', zipSync({ 'a.pdf': pdf }), 'a.pdf')), undefined, 'the ZIP convention: a PDF in a single-entry ZIP')
  t.equal(code(build('application/zip', pdf, 'a.zip')), 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE')
  t.equal(code(build('application/pdf', Buffer.from('<html>'), 'a.pdf')), 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE')
  t.equal(code(build('APPLICATION/PDF', Buffer.from('{rtf'), 'a.pdf')), 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'case-insensitive')
  t.equal(code(build('application/pdf', Buffer.alloc(0), 'a.pdf')), 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'empty')
  t.equal(code(build('application/pdf', zipSync({ 'a.docx': Buffer.from('PK\x03\x04', 'latin1') }), 'a.pdf')), 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'a ZIP of something else')
  let msg = ''
  try {
    build('application/pdf', Buffer.from('GIF89a'), 'anh.pdf')()
  } catch (e) {
    msg = (e as Error).message
  }
  t.match(msg, /anh\.pdf is declared application\/pdf.*%PDF-/)
  // the builder refuses what the parser refuses in header fields
  t.equal(code(() => buildEdoc(edocInput({ subject: 'a\u202Eb' }))), 'GW_ERR_ENVELOPE_CONTROL_CHARACTER')
  t.equal(code(() => buildEdoc(edocInput({ signerInfo: { position: 'x', fullName: 'Nguyễn\nVăn A' } }))), 'GW_ERR_ENVELOPE_CONTROL_CHARACTER')
  t.equal(code(() => buildEdoc(edocInput({ subject: 'dòng 1\ndòng 2' }))), undefined, 'long text: line breaks allowed')
})
