// docs/edxml.md §a.4 on receipt: a single-entry ZIP under a non-.zip name carries its entry; anything else is used as is.
import t from 'tap'
import { zipSync } from 'fflate'
import { applyZipConvention, parseEnvelope, sniffContentType, unzipBudget } from './imports.js'
import { peerEdocText } from './helpers.js'

const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n')
const one = zipSync({ 'inner.pdf': pdf })
const many = zipSync({ 'a.pdf': pdf, 'b.pdf': pdf })

t.test('sniffing', async (t) => {
  t.equal(sniffContentType(pdf), 'application/pdf')
  t.equal(sniffContentType(one), 'application/zip')
  t.equal(sniffContentType(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0])), 'application/x-ole-storage')
  t.equal(sniffContentType(Buffer.from('<?xml version="1.0"?><a/>')), 'application/xml')
  t.equal(sniffContentType(Buffer.alloc(17, 7)), 'application/octet-stream')
  t.equal(sniffContentType(Buffer.alloc(0)), 'application/octet-stream')
})

t.test('applyZipConvention', async (t) => {
  t.same(applyZipConvention(one, 'van ban.pdf'), { content: pdf, entryName: 'inner.pdf' })
  t.equal(applyZipConvention(one, 'archive.ZIP').content, one, '.zip names keep the archive')
  t.equal(applyZipConvention(one, 'report.docx').content, one, 'OOXML files are ZIPs by nature')
  t.match(applyZipConvention(many, 'x.pdf'), { content: many, note: /2 entries/ })
  const corrupt = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(30, 0xff)])
  t.match(applyZipConvention(corrupt, 'x.pdf'), { content: corrupt, note: /cannot be read/ })
  t.equal(applyZipConvention(pdf, 'x.pdf').content, pdf)
})

t.test('in a package: first-entry verdict and warnings at parse, full report on demand, content on attachment()', async (t) => {
  const pkg = peerEdocText({
    attachments: [
      { contentId: 'z', attachmentName: 'quyet-dinh.pdf', contentType: 'application/pdf', data: one },
      { contentId: 'm', attachmentName: 'two.pdf', contentType: 'application/zip', data: many },
      { contentId: 'g', attachmentName: 'garbage.pdf', contentType: 'application/pdf', data: Buffer.alloc(17, 1) },
    ],
  })
  const env = parseEnvelope(Buffer.from(pkg))
  t.match(env.warnings, [
    { code: 'ZIP_CONVENTION', contentId: 'cid:z' },
    { code: 'ZIP_CONVENTION', contentId: 'cid:m' },
    { code: 'CONTENT_TYPE_MISMATCH', contentId: 'cid:g' },
  ])
  t.match(env.edoc!.attachments, [
    { payloadContentType: 'application/zip', realContentType: 'application/pdf', zipEntryName: 'inner.pdf' },
    { payloadContentType: 'application/zip', realContentType: 'application/pdf', zipEntryName: 'a.pdf' },
    { payloadContentType: 'application/octet-stream', realContentType: 'application/octet-stream' },
  ])
  t.equal(env.edoc!.attachments[2]!.zipEntryName, undefined)
  t.same(Buffer.from(env.attachment('z')), pdf)
  t.same(Buffer.from(env.rawAttachment('z')), Buffer.from(one))
  const [z, m, g] = env.describeAttachments()
  t.match(z, { payload: { contentType: 'application/zip', size: one.length }, content: { contentType: 'application/pdf', size: pdf.length, zipEntryName: 'inner.pdf' }, mismatch: false })
  t.match(m, { content: { contentType: 'application/zip' }, mismatch: true, warnings: [{ code: 'ZIP_UNREADABLE' }, { code: 'CONTENT_TYPE_MISMATCH' }] })
  t.match(g, { content: { contentType: 'application/octet-stream', size: 17 }, mismatch: true })
  t.equal(env.describeAttachment('cid:z'), z, 'reports are cached')
})

t.test('parse-time verdict for stored, deflated and truncated entries', async (t) => {
  const stored = zipSync({ 's.pdf': [pdf, { level: 0 }] })
  const big = zipSync({ 'big.pdf': Buffer.concat([pdf, Buffer.alloc(500_000, 0x41)]) })
  const name = (data: Uint8Array, attachmentName = 'x.pdf'): Record<string, unknown> => {
    const env = parseEnvelope(Buffer.from(peerEdocText({ attachments: [{ contentId: 'q', attachmentName, contentType: 'application/pdf', data }] })))
    return env.edoc!.attachments[0]! as unknown as Record<string, unknown>
  }
  t.match(name(stored), { realContentType: 'application/pdf', zipEntryName: 's.pdf' })
  t.match(name(big), { realContentType: 'application/pdf', zipEntryName: 'big.pdf' })
  t.match(name(one.subarray(0, 40)), { payloadContentType: 'application/zip', realContentType: '' }, 'truncated: unknown, no crash')
  t.match(name(one, 'bundle.zip'), { realContentType: 'application/zip', zipEntryName: undefined }, '.zip names are not unpacked')
})

t.test('ZIP bombs: an entry over the unzip limit is refused without inflating it', async (t) => {
  const bomb = zipSync({ 'big.pdf': Buffer.alloc(5_000_000) }) // ~5 KB that claims 5 MB
  t.ok(bomb.length < 10_000)
  const pkg = Buffer.from(peerEdocText({ attachments: [{ contentId: 'b', attachmentName: 'big.pdf', contentType: 'application/pdf', data: bomb }] }))
  const env = parseEnvelope(pkg, { maxUnzippedBytes: 1_000_000 })
  let err: unknown
  try {
    env.attachment('b')
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_ZIP_TOO_LARGE', params: { contentId: 'cid:b', size: 5_000_000, limit: 1_000_000 } })
  const rep = env.describeAttachment('b')
  t.match(rep, { content: { contentType: 'application/zip', size: bomb.length }, warnings: [{ code: 'ZIP_TOO_LARGE' }] }, 'the report says so instead of throwing')
  t.equal(parseEnvelope(pkg).attachment('b').length, 5_000_000, 'under the default limit it unzips')
})

t.test('a central directory that understates the entry size cannot make the inflater grow past the budget', async (t) => {
  const z = Buffer.from(zipSync({ 'x.pdf': Buffer.alloc(2_000_000, 0x41) }))
  // patch the uncompressed size in the central directory header to 100 bytes
  const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
  z.writeUInt32LE(100, cd + 24)
  // the inflater is streamed and counted: what the directory claims does not matter, the budget does
  t.throws(() => applyZipConvention(z, 'x.pdf', 1_000_000), { code: 'GW_ERR_ENVELOPE_ZIP_TOO_LARGE' })
  t.equal(applyZipConvention(z, 'x.pdf').content.length, 2_000_000, 'within the budget: the real entry')
})

t.test('one budget for the whole package: several ZIPs each under it are stopped together', async (t) => {
  const zip = (n: number) => zipSync({ 'a.pdf': Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(n, 0x20)]) })
  const atts = [1, 2, 3].map((i) => ({ contentId: `z${i}`, attachmentName: `a${i}.pdf`, contentType: 'application/pdf', data: zip(400_000) }))
  const env = parseEnvelope(Buffer.from(peerEdocText({ attachments: atts })), { maxUnzippedBytes: 1_000_000 })
  for (const a of atts) t.equal(env.attachment(a.contentId).length, 400_009, `${a.contentId} alone fits`)
  const reports = env.describeAttachments()
  t.same(reports.map((r) => r.warnings.some((w) => w.code === 'ZIP_TOO_LARGE')), [false, false, true], 'the third passes the package budget')
  const budget = unzipBudget(1_000_000)
  env.attachment('z1', budget)
  t.equal(budget.remaining, 1_000_000 - 400_009, 'what was inflated is drawn from the budget')
})
