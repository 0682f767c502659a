// Only the 5 predefined entities and character references are allowed, and they are decoded in text and attributes.
import t from 'tap'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const pkg = edocText()
const withSubject = (s: string): Buffer => Buffer.from(pkg.replace(/<edXML:Subject>[^<]*</, `<edXML:Subject>${s}<`))

t.test('undeclared entities are refused with their name', async (t) => {
  for (const ref of ['&xxe;', '&nbsp;', '&lol9;', '&copy;']) {
    let err: unknown
    try {
      parseEnvelope(withSubject(`a ${ref} b`))
    } catch (e) {
      err = e
    }
    t.match(err, { code: 'GW_ERR_ENVELOPE_ENTITY', params: { entity: ref } }, ref)
  }
})

t.test('a bare ampersand or an unterminated reference is refused', async (t) => {
  t.equal(codeOf(() => parseEnvelope(withSubject('Tom & Jerry'))), 'GW_ERR_ENVELOPE_ENTITY')
  t.equal(codeOf(() => parseEnvelope(withSubject('&amp'))), 'GW_ERR_ENVELOPE_ENTITY')
})

t.test('character references to characters XML forbids are refused', async (t) => {
  t.equal(codeOf(() => parseEnvelope(withSubject('&#0;'))), 'GW_ERR_ENVELOPE_ENTITY')
  t.equal(codeOf(() => parseEnvelope(withSubject('&#xD800;'))), 'GW_ERR_ENVELOPE_ENTITY')
  t.equal(codeOf(() => parseEnvelope(withSubject('&#x110000;'))), 'GW_ERR_ENVELOPE_ENTITY')
})

t.test('entities in attribute values are checked too', async (t) => {
  const bad = Buffer.from(pkg.replace('<edXML:edXMLManifest version="1.0">', '<edXML:edXMLManifest version="&ext;">'))
  t.equal(codeOf(() => parseEnvelope(bad)), 'GW_ERR_ENVELOPE_ENTITY')
})

t.test('an entity reference inside a base64 payload is reported as an entity', async (t) => {
  const bad = Buffer.from(pkg.replace(/(ContentTransferEncoded[^>]*>)/, '$1&xxe;'))
  t.equal(codeOf(() => parseEnvelope(bad)), 'GW_ERR_ENVELOPE_ENTITY')
})

t.test('the 5 predefined entities and numeric references are decoded', async (t) => {
  const env = parseEnvelope(withSubject('&lt;a&gt; &amp; &quot;q&quot; &apos;s&apos; &#272;&#x1EA1;'))
  t.equal(env.edoc!.messageHeader.subject, `<a> & "q" 's' Đạ`)
  const attr = parseEnvelope(Buffer.from(pkg.replace('<edXML:edXMLManifest version="1.0">', '<edXML:edXMLManifest version="1&#46;0">')))
  t.equal(attr.edoc!.manifest.version, '1.0')
})
