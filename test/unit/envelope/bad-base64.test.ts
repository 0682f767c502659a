// Attachment payloads must be strict base64: standard alphabet, correct padding; whitespace and line breaks tolerated.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const data = randomBytes(1000)
const pkg = edocText({ attachments: [{ contentId: 'a1', attachmentName: 'x.bin', contentType: 'application/octet-stream', data }] })
const withPayload = (b64: string): Buffer => Buffer.from(pkg.replace(/(ContentTransferEncoded[^>]*>)[^<]*</, `$1${b64}<`))
const good = data.toString('base64')

t.test('characters outside the standard alphabet are refused', async (t) => {
  for (const bad of [good.slice(0, -4) + 'ab*d', good.replace(/\+/g, '-').replace(/\//g, '_').replace(/^./, '-'), good.slice(0, 8) + 'é' + good.slice(9)]) {
    let err: unknown
    try {
      parseEnvelope(withPayload(bad))
    } catch (e) {
      err = e
    }
    t.match(err, { code: 'GW_ERR_ENVELOPE_BAD_BASE64', params: { contentId: 'cid:a1' } })
  }
})

t.test('wrong length and wrong padding are refused', async (t) => {
  t.equal(codeOf(() => parseEnvelope(withPayload('QUJD' + 'QQ'))), 'GW_ERR_ENVELOPE_BAD_BASE64', 'length not a multiple of 4')
  t.equal(codeOf(() => parseEnvelope(withPayload('QQ==QUJD'))), 'GW_ERR_ENVELOPE_BAD_BASE64', 'padding in the middle')
  t.equal(codeOf(() => parseEnvelope(withPayload('QUJDQ==='))), 'GW_ERR_ENVELOPE_BAD_BASE64', 'three padding characters')
  t.equal(codeOf(() => parseEnvelope(withPayload('QUJD===='))), 'GW_ERR_ENVELOPE_BAD_BASE64', 'a block of padding')
})

t.test('line breaks (MIME style, CRLF) and spaces are tolerated and decode to the same bytes', async (t) => {
  const wrapped = good.replace(/.{76}/g, '$&\r\n')
  const env = parseEnvelope(withPayload('\r\n   ' + wrapped + '\r\n   '))
  t.equal(env.edoc!.attachments[0]!.size, data.length)
  t.same(Buffer.from(env.attachment('a1')), data)
  const spaced = parseEnvelope(withPayload(good.replace(/.{10}/g, '$& ')))
  t.same(Buffer.from(spaced.attachment('a1')), data)
})

t.test('size is known without decoding, for each padding length', async (t) => {
  for (const n of [0, 1, 2, 3, 4, 5]) {
    const d = randomBytes(n)
    const env = parseEnvelope(withPayload(d.toString('base64')))
    t.equal(env.edoc!.attachments[0]!.size, n, `${n} bytes`)
    t.same(Buffer.from(env.rawAttachment('a1')), d)
  }
})

t.test('a payload the byte scan cannot isolate (CDATA) is still checked', async (t) => {
  const env = parseEnvelope(withPayload(`<![CDATA[${good}]]>`))
  t.same(Buffer.from(env.attachment('a1')), data)
  t.equal(codeOf(() => parseEnvelope(withPayload('<![CDATA[QQ=*]]>'))), 'GW_ERR_ENVELOPE_BAD_BASE64')
})

t.test('payloads larger than one 4 MiB check window are checked across windows', async (t) => {
  const big = randomBytes(4 * 1024 * 1024)
  const b64 = big.toString('base64')
  const pkgBig = Buffer.from(pkg.replace(/(ContentTransferEncoded[^>]*>)[^<]*</, `$1${b64}<`))
  t.equal(parseEnvelope(pkgBig).edoc!.attachments[0]!.size, big.length)
  const broken = b64.slice(0, 5_000_000) + '!' + b64.slice(5_000_001)
  t.equal(codeOf(() => parseEnvelope(Buffer.from(pkg.replace(/(ContentTransferEncoded[^>]*>)[^<]*</, `$1${broken}<`)))), 'GW_ERR_ENVELOPE_BAD_BASE64')
  const earlyPad = b64.slice(0, 4_194_300) + 'QQ==' + b64.slice(4_194_304)
  t.equal(codeOf(() => parseEnvelope(Buffer.from(pkg.replace(/(ContentTransferEncoded[^>]*>)[^<]*</, `$1${earlyPad}<`)))), 'GW_ERR_ENVELOPE_BAD_BASE64')
})
