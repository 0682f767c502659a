// An Envelope parsed in a worker comes back as plain data (toTransfer) and is rebuilt over the same bytes
// (fromTransfer) without parsing again: the same model, warnings, hash and attachments, through a structured clone.
import t from 'tap'
import { zipSync } from 'fflate'
import { Envelope, buildEdoc, parseEnvelope } from './imports.js'
import { edocInput } from './helpers.js'

const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n')

t.test('toTransfer → structured clone → fromTransfer gives the same Envelope', async (t) => {
  const built = buildEdoc(
    edocInput({
      attachments: [
        { attachmentName: 'van-ban.pdf', contentType: 'application/pdf', data: pdf },
        { attachmentName: 'phu-luc.pdf', contentType: 'application/zip', data: Buffer.from(zipSync({ 'phu-luc.pdf': pdf })) },
      ],
    }),
  )
  t.throws(() => built.toTransfer(), /parsed/, 'a built Envelope holds buffers, not places in its bytes')
  const parsed = parseEnvelope(built.bytes)
  const copy = Uint8Array.from(built.bytes)
  const back = Envelope.fromTransfer(copy, structuredClone(parsed.toTransfer()))
  t.same(back.toJSON(), parsed.toJSON(), 'model, warnings, size and hash')
  t.same(back.attachmentIds(), parsed.attachmentIds())
  for (const id of parsed.attachmentIds()) {
    t.same(Buffer.from(back.rawAttachment(id)), Buffer.from(parsed.rawAttachment(id)), `${id}: the same payload`)
    t.same(back.describeAttachment(id), parsed.describeAttachment(id), `${id}: the same report`)
  }
  t.equal(back.sha256(), parsed.sha256())
})

t.test('a payload the byte scan left to the parser (CDATA) travels as its base64 text', async (t) => {
  const text = Buffer.from(buildEdoc(edocInput({ attachments: [{ attachmentName: 'a.pdf', contentType: 'application/pdf', data: pdf }] })).bytes).toString('utf8')
  const b64 = pdf.toString('base64')
  const cdata = Buffer.from(text.replace(b64, `<![CDATA[${b64}]]>`), 'utf8')
  const parsed = parseEnvelope(cdata)
  const back = Envelope.fromTransfer(cdata, structuredClone(parsed.toTransfer()))
  const id = parsed.attachmentIds()[0]!
  t.same(Buffer.from(back.attachment(id)), pdf)
})
