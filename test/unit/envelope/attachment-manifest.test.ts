// Manifest References and Attachments must match one to one on ContentId (`cid:` optional on either side).
import t from 'tap'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const two = edocText({
  attachments: [
    { contentId: 'a1', attachmentName: 'a.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4 a') },
    { contentId: 'a2', attachmentName: 'b.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4 b') },
  ],
})
const refBlock = (cid: string): RegExp => new RegExp(`\\s*<edXML:Reference>\\s*<edXML:ContentId>cid:${cid}</edXML:ContentId>[\\s\\S]*?</edXML:Reference>`)
const attBlock = (cid: string): RegExp => new RegExp(`\\s*<Attachment>\\s*<ContentId>cid:${cid}</ContentId>[\\s\\S]*?</Attachment>`)

t.test('an attachment without a Manifest Reference is refused', async (t) => {
  let err: unknown
  try {
    parseEnvelope(Buffer.from(two.replace(refBlock('a2'), '')))
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_ATTACHMENT_UNLISTED', params: { contentId: 'cid:a2' } })
})

t.test('a Manifest Reference without its attachment is refused', async (t) => {
  let err: unknown
  try {
    parseEnvelope(Buffer.from(two.replace(attBlock('a1'), '')))
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_REFERENCE_MISSING', params: { contentId: 'cid:a1' } })
})

t.test('a ContentId used twice is refused', async (t) => {
  t.equal(codeOf(() => parseEnvelope(Buffer.from(two.replace(/cid:a2/g, 'cid:a1')))), 'GW_ERR_ENVELOPE_DUPLICATE_CONTENT_ID')
})

t.test('cid: with or without prefix on either side matches', async (t) => {
  const mixed = two.replace('<edXML:ContentId>cid:a1<', '<edXML:ContentId>a1<').replace('<ContentId>cid:a2<', '<ContentId>a2<')
  const env = parseEnvelope(Buffer.from(mixed))
  t.same(env.attachmentIds(), ['cid:a1', 'a2'], 'ids as written')
  t.equal(Buffer.from(env.attachment('cid:a2')).toString(), '%PDF-1.4 b')
  t.equal(Buffer.from(env.attachment('a1')).toString(), '%PDF-1.4 a')
  t.equal(env.edoc!.attachments[0]!.manifestContentType, 'application/pdf')
})

t.test('asking for an unknown attachment is an error, not undefined', async (t) => {
  const env = parseEnvelope(Buffer.from(two))
  t.equal(codeOf(() => env.attachment('nope')), 'GW_ERR_ENVELOPE_REFERENCE_MISSING')
})

t.test('a package with no attachments at all is fine', async (t) => {
  const env = parseEnvelope(Buffer.from(edocText({ attachments: [] })))
  t.same(env.edoc!.attachments, [])
  t.same(env.edoc!.manifest, { version: '1.0', references: [] })
})
