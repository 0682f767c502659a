// Only what a receiver truly needs is required (see src/envelope/README.md); the error names the element path.
import t from 'tap'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText, peerAndInterop } from './helpers.js'

const pkg = edocText()
// a status 03 of ours shaped like the SDK sample, and the SDK sample itself when ../shared/interop/ is there
const statuses = peerAndInterop('status-03-acceptance.edxml', 'sdk-status_acceptance_03.edxml').map((s) => ({ name: s.name, status: s.bytes.toString('utf8') }))
const H = 'edXML/edXMLEnvelope/edXMLHeader/MessageHeader'

function err(text: string): { code?: string; params?: Record<string, unknown> } {
  try {
    parseEnvelope(Buffer.from(text))
  } catch (e) {
    return e as { code?: string; params?: Record<string, unknown> }
  }
  return {}
}

t.test('edoc: From/OrganId, To, To/OrganId are required', async (t) => {
  t.match(err(pkg.replace(/<edXML:OrganId>000.00.00.G22<\/edXML:OrganId>/, '')), { code: 'GW_ERR_ENVELOPE_MISSING_FIELD', params: { path: `${H}/From/OrganId` } })
  t.match(err(pkg.replace(/<edXML:OrganId>000.00.00.G22<\/edXML:OrganId>/, '<edXML:OrganId/>')), { params: { path: `${H}/From/OrganId` } }, 'empty counts as missing')
  t.match(err(pkg.replace(/<edXML:To>[\s\S]*?<\/edXML:To>/, '')), { code: 'GW_ERR_ENVELOPE_MISSING_FIELD', params: { path: `${H}/To` } })
  t.match(err(pkg.replace('<edXML:OrganId>000.00.00.H41</edXML:OrganId>', '')), { params: { path: `${H}/To[1]/OrganId` } })
})

t.test('edoc: DocumentId or Code/CodeNumber must identify the document', async (t) => {
  const noId = pkg.replace(/<edXML:DocumentId>[^<]*<\/edXML:DocumentId>/g, '')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(noId))), 'no error', 'Code alone is enough')
  t.match(err(noId.replace(/<edXML:CodeNumber>[^<]*</, '<edXML:CodeNumber><')), { code: 'GW_ERR_ENVELOPE_MISSING_FIELD', params: { path: `${H}/DocumentId` } })
})

t.test('edoc: everything else may be missing', async (t) => {
  const bare = `<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader><MessageHeader>
    <From><OrganId>000.00.00.G22</OrganId></From><To><OrganId>000.00.00.H41</OrganId></To><DocumentId>X-1</DocumentId>
  </MessageHeader></edXMLHeader></edXMLEnvelope></edXML>`
  const env = parseEnvelope(Buffer.from(bare))
  const h = env.edoc!.messageHeader
  t.equal(h.documentId, 'X-1')
  t.equal(h.subject, '')
  t.same(h.promulgationInfo.promulgationDate, { value: '', raw: '' })
  t.same(env.edoc!.traceHeaderList, { traceHeaders: [] })
  t.same(env.edoc!.attachments, [])
})

t.test('edoc: the envelope skeleton is required', async (t) => {
  t.match(err('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'), { code: 'GW_ERR_ENVELOPE_MISSING_FIELD', params: { path: 'edXML/edXMLEnvelope' } })
  t.match(err('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader/></edXMLEnvelope></edXML>'), {
    params: { path: 'edXMLHeader/MessageHeader' },
  })
})

t.test('status: StatusCode, From/OrganId, ResponseFor with DocumentId or Code are required', async (t) => {
  for (const { name, status } of statuses) {
    await t.test(name, async (t) => {
      t.match(err(status.replace(/<edXML:StatusCode>03<\/edXML:StatusCode>/, '')), { code: 'GW_ERR_ENVELOPE_MISSING_FIELD' })
      t.match(err(status.replace(/<edXML:ResponseFor>[\s\S]*?<\/edXML:ResponseFor>/, '')), { params: { path: `${H}/ResponseFor` } })
      const noDocId = status.replace(/<edXML:DocumentId>[^<]*<\/edXML:DocumentId>/, '')
      t.equal(codeOf(() => parseEnvelope(Buffer.from(noDocId))), 'no error', 'ResponseFor/Code is enough')
      t.match(err(noDocId.replace(/<edXML:Code>[^<]*<\/edXML:Code>/, '')), { params: { path: `${H}/ResponseFor/DocumentId` } })
      t.match(err(status.replace('<edXML:OrganId>000.00.00.H41</edXML:OrganId>', '')), { params: { path: `${H}/From/OrganId` } })
    })
  }
})

t.test('status: codes outside 01-06, 13, 15, 16 are refused; codes stay strings', async (t) => {
  for (const { name, status } of statuses) {
    await t.test(name, async (t) => {
      for (const c of ['07', '3', '14', '00', 'ok']) {
        t.match(err(status.replace('<edXML:StatusCode>03<', `<edXML:StatusCode>${c}<`)), { code: 'GW_ERR_ENVELOPE_INVALID_STATUS_CODE', params: { value: c } }, c)
      }
    })
  }
})

t.test('OrganIds that route (From, To) must at least fit the lenient form', async (t) => {
  t.match(err(pkg.replace('<edXML:OrganId>000.00.00.H41<', '<edXML:OrganId>000 00 H41<')), {
    code: 'GW_ERR_ENVELOPE_INVALID_ORGANID',
    params: { value: '000 00 H41', path: `${H}/To[1]/OrganId` },
  })
  t.match(err(pkg.replace('<edXML:OrganId>000.00.00.G22<', `<edXML:OrganId>${'A'.repeat(36)}<`)), { code: 'GW_ERR_ENVELOPE_INVALID_ORGANID' })
  const lenient = parseEnvelope(Buffer.from(pkg.replace('<edXML:OrganId>000.00.00.H41<', '<edXML:OrganId>H37.DN.001_x<')))
  t.equal(lenient.edoc!.messageHeader.to[0]!.organId, 'H37.DN.001_x')
  t.equal(lenient.warnings[0]!.code, 'ORGANID_LENIENT')
})

t.test('not XML at all', async (t) => {
  for (const [what, text] of [
    ['empty', ''],
    ['whitespace', '  \n '],
    ['JSON', '{"edXML": 1}'],
    ['unclosed root', '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'],
    ['mismatched tags', '<edXML><a></b></edXML>'],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>junk'],
    ['unquoted attribute', '<a x=1/>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['UTF-16', '\ufeff<a/>'],
    ['declared Latin-1', '<?xml version="1.0" encoding="ISO-8859-1"?><a/>'],
  ] as const) {
    const bytes = what === 'UTF-16' ? Buffer.from(text, 'utf16le') : Buffer.from(text)
    t.equal(codeOf(() => parseEnvelope(bytes)), 'GW_ERR_ENVELOPE_NOT_XML', what)
  }
  t.equal(codeOf(() => parseEnvelope(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]))), 'GW_ERR_ENVELOPE_NOT_XML', 'invalid UTF-8')
})
