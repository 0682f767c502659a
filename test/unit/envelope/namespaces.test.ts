// Elements are matched on namespace + local name, never on the prefix; spelling variants of peers are accepted.
import t from 'tap'
import { EDXML_NS, parseEnvelope } from './imports.js'
import { codeOf, edocText, peerAndInterop } from './helpers.js'

const pkg = edocText()
const reference = parseEnvelope(Buffer.from(pkg)).edoc

t.test('ns1: prefix everywhere gives the same model', async (t) => {
  const ns1 = pkg
    .replace(/<(\/?)edXML:/g, '<$1ns1:')
    .replace(/xmlns:edXML=/g, 'xmlns:ns1=')
    .replace(`<edXML xmlns="${EDXML_NS}">`, `<ns1:edXML xmlns:ns1="${EDXML_NS}">`)
    .replace('</edXML>', '</ns1:edXML>')
    .replace(/<(\/?)(AttachmentEncoded|Attachment|ContentId|AttachmentName|Description|ContentType)>/g, '<$1ns1:$2>')
  t.notMatch(ns1, /<edXML/)
  const env = parseEnvelope(Buffer.from(ns1))
  t.same(env.edoc, reference)
})

t.test('no prefix at all (default namespace only) gives the same model', async (t) => {
  const plain = pkg.replace(/<(\/?)edXML:/g, '<$1').replace(/ xmlns:edXML="[^"]*"/g, '')
  t.same(parseEnvelope(Buffer.from(plain)).edoc, reference)
})

t.test('the right names in the wrong namespace are not edXML', async (t) => {
  const other = pkg.replaceAll(EDXML_NS, 'http://www.go.vn/eDoc')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(other))), 'GW_ERR_ENVELOPE_NOT_EDXML')
  const none = pkg.replace(` xmlns="${EDXML_NS}"`, '')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(none))), 'GW_ERR_ENVELOPE_NOT_EDXML', 'root without namespace')
  const goVn = '<?xml version="1.0"?><edXMLEnvelope xmlns="http://www.go.vn/eDoc"><Attachment/></edXMLEnvelope>'
  let err: unknown
  try {
    parseEnvelope(Buffer.from(goVn))
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_NOT_EDXML', params: { root: '{http://www.go.vn/eDoc}edXMLEnvelope' } })
})

t.test('a header element in a foreign namespace is an extension, not the field', async (t) => {
  const foreign = pkg.replace('<edXML:From>', '<edXML:From xmlns:edXML="urn:other">')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(foreign))), 'GW_ERR_ENVELOPE_MISSING_FIELD', 'so From/OrganId is missing')
})

t.test('an undeclared prefix other than edXML is not XML', async (t) => {
  t.equal(codeOf(() => parseEnvelope(Buffer.from(pkg.replace('<edXML:Subject>', '<foo:Subject>').replace('</edXML:Subject>', '</foo:Subject>')))), 'GW_ERR_ENVELOPE_NOT_XML')
})

t.test('Business is accepted as well as Bussiness', async (t) => {
  const business = pkg.replace(/Bussiness/g, 'Business')
  const env = parseEnvelope(Buffer.from(business))
  t.same(env.edoc!.traceHeaderList.bussiness, reference!.traceHeaderList.bussiness)
  t.ok(env.warnings.some((w) => w.code === 'BUSINESS_SPELLING'))
  for (const { name, bytes } of peerAndInterop('sdk-edoc-update.edxml', 'sdk-edoc_update.edxml')) {
    const sdk = bytes.toString('utf8').replace(/Bussiness/g, 'Business')
    t.equal(parseEnvelope(Buffer.from(sdk)).edoc!.traceHeaderList.bussiness!.bussinessDocumentInfo!.receiverList.length, 2, name)
  }
})

t.test('a status MessageHeader named Status (Bkav) is read as a status package', async (t) => {
  for (const { name, bytes } of peerAndInterop('status-02-rejection.edxml', 'sdk-status_rejection_02.edxml')) {
    const src = bytes.toString('utf8')
    const env = parseEnvelope(Buffer.from(src.replace(/edXML:MessageHeader>/g, 'edXML:Status>')))
    t.equal(env.kind, 'status', name)
    t.equal(env.status!.messageHeader.statusCode, '02')
    t.same(env.status, parseEnvelope(Buffer.from(src)).status)
    t.equal(env.warnings[0]!.code, 'STATUS_HEADER_NAME')
  }
})

t.test('element order does not matter', async (t) => {
  const moved = pkg.replace(/(\s*<edXML:DocumentId>[^<]*<\/edXML:DocumentId>)(\s*<\/edXML:MessageHeader>)/, '$2').replace('<edXML:MessageHeader>', '<edXML:MessageHeader><edXML:DocumentId>' + reference!.messageHeader.documentId + '</edXML:DocumentId>')
  t.same(parseEnvelope(Buffer.from(moved)).edoc, reference)
})
