/**
 * Writes the input files of the catalogue of bad input (test/cases/files/) and the case table of test/cases/README.md
 * from cases.json. Run it again after changing a case: `npx tsx test/cases/generate.ts` (`--signatures` writes the
 * committed signatures again too). The files are committed; a test checks that they are the files this script writes
 * (except the signatures, which carry the time they were made).
 *
 * Only time-independent inputs are written here: packages (valid and hostile), and signatures whose refusal does not
 * depend on the day the catalogue runs (garbage, truncated, tampered content, a flipped signature bit, no signer
 * certificate, no signed attributes, SHA-1, a signing time long past or far in the future). A signature whose verdict
 * depends on the clock (an expired, revoked, untrusted or not yet valid certificate, the wrong agency's key) is made
 * by the test when it runs, from the keys in certs-sample/ (`{ "signer": ... }` in cases.json), or from a certificate
 * the test mints under the sample CA (`mint:not-yet-valid`).
 *
 * Deterministic: fixed package times, fixed pseudo-random bytes (SHA-256 in counter mode over a label).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildEdoc, buildStatus, type EdocInput } from '../../src/envelope/index.js'
import { loadSigner } from '../../src/signature/index.js'
import { zipBomb } from '../hostile/helpers.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.join(HERE, '..', '..')
const CERTS = path.join(ROOT, 'certs-sample')
export const FILES = path.join(HERE, 'files')

export const G22 = '000.00.00.G22'
export const H29 = '000.00.00.H29'
export const STC = '000.00.11.H29'
export const H26 = '000.00.00.H26'
export const SNV = '000.00.12.H26'

const NAMES: Record<string, string> = {
  [G22]: 'Văn phòng Chính phủ',
  [H29]: 'Ủy ban nhân dân Thành phố Hồ Chí Minh',
  [STC]: 'Sở Tài chính Thành phố Hồ Chí Minh',
  [H26]: 'Ủy ban nhân dân Thành phố Hà Nội',
  [SNV]: 'Sở Nội vụ Thành phố Hà Nội',
}
const organ = (organId: string) => ({ organId, organName: NAMES[organId]!, organizationInCharge: NAMES[organId]! })
const PDF = Buffer.from('%PDF-1.4\n% catalogue of bad input\n%%EOF\n')

/** Pseudo-random bytes that are the same on every run. */
export function fixedBytes(label: string, n: number): Buffer {
  const out: Buffer[] = []
  for (let i = 0; out.length * 32 < n; i++) out.push(createHash('sha256').update(`${label}:${i}`).digest())
  return Buffer.concat(out).subarray(0, n)
}

/** A document package with fixed times; `code` makes its DocumentId. */
export function edoc(code: string, from = G22, to: string[] = [H26], over: Partial<EdocInput> = {}): Buffer {
  return Buffer.from(
    buildEdoc({
      from: organ(from),
      to: to.map(organ),
      code: { codeNumber: code.split('/')[0]!, codeNotation: code.split('/')[1]! },
      promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/25' },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: 'V/v danh mục đầu vào xấu của cổng liên thông',
      signerInfo: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
      otherInfo: { pageAmount: 1 },
      attachments: [{ contentId: 'a1', attachmentName: 'cong-van.pdf', contentType: 'application/pdf', data: PDF }],
      now: new Date('2026-11-25T03:00:00Z'),
      ...over,
    }).bytes,
  )
}

const replaceOnce = (s: string, from: string | RegExp, to: string): string => {
  const out = s.replace(from, to)
  if (out === s) throw new Error(`generate: ${String(from)} not found`)
  return out
}

/** Every package of the catalogue, by file name (relative to files/). */
export function packages(): Record<string, Buffer> {
  const base = edoc('1/DM-GOC')
  const s = base.toString('utf8')
  const text = (code: string, edit: (s: string) => string, from = G22, to = [H26]) => Buffer.from(edit(edoc(code, from, to).toString('utf8')))
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n'
  const nest = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n)
  const laughs =
    '<!DOCTYPE edXML [\n<!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n') +
    '\n]>\n'
  const twoAttachments = (code: string) =>
    edoc(code, G22, [H26], {
      attachments: [
        { contentId: 'a1', attachmentName: 'mot.pdf', contentType: 'application/pdf', data: PDF },
        { contentId: 'a2', attachmentName: 'hai.pdf', contentType: 'application/pdf', data: PDF },
      ],
    }).toString('utf8')
  return {
    'base.edxml': base,
    // -- hostile and malformed XML
    'xml/doctype.edxml': text('2/DM-DOCTYPE', (x) => replaceOnce(x, decl, decl + '<!DOCTYPE edXML [<!ENTITY ten "Văn phòng">]>\n')),
    'xml/billion-laughs.edxml': text('3/DM-LAUGHS', (x) => replaceOnce(replaceOnce(x, decl, decl + laughs), /<edXML:Subject>[^<]*/, '<edXML:Subject>&lol9;')),
    'xml/external-entity.edxml': text('4/DM-XXE', (x) =>
      replaceOnce(replaceOnce(x, decl, decl + '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'), /<edXML:Subject>[^<]*/, '<edXML:Subject>&xxe;'),
    ),
    'xml/undeclared-entity.edxml': text('5/DM-ENTITY', (x) => replaceOnce(x, /<edXML:Subject>[^<]*/, '<edXML:Subject>V/v &xxe; nội dung')),
    'xml/too-deep.edxml': text('6/DM-DEPTH', (x) => replaceOnce(x, '<edXML:Content/>', `<edXML:Content>${nest(5000)}</edXML:Content>`)),
    'xml/junk.bin': fixedBytes('junk', 4096),
    'xml/truncated.edxml': base.subarray(0, Math.floor(base.length / 2)),
    'xml/not-closed.edxml': text('7/DM-OPEN', (x) => replaceOnce(x, '</edXML:Subject>', '')),
    'xml/wrong-namespace.edxml': text('8/DM-NS', (x) => x.replaceAll('http://www.mic.gov.vn/TBT/QCVN_102_2016', 'urn:example:not-edxml')),
    'xml/not-edxml-root.edxml': Buffer.from(decl + '<html><body>không phải edXML</body></html>\n'),
    'xml/control-character.edxml': text('9/DM-BIDI', (x) => replaceOnce(x, /<edXML:Subject>V\/v/, '<edXML:Subject>V/v \u202Egnaht\u202C')),
    // -- missing or repeated fields, invalid values
    'fields/missing-from.edxml': text('10/DM-NOFROM', (x) => replaceOnce(x, /<edXML:From>[\s\S]*?<\/edXML:From>\s*/, '')),
    'fields/missing-document-id.edxml': text('11/DM-NOID', (x) => replaceOnce(x, /<edXML:DocumentId>[^<]*<\/edXML:DocumentId>\s*<\/edXML:MessageHeader>/, '</edXML:MessageHeader>')),
    'fields/two-from.edxml': text('12/DM-2FROM', (x) => {
      const from = /<edXML:From>[\s\S]*?<\/edXML:From>/.exec(x)![0]
      return replaceOnce(x, from, from + '\n        ' + from.replace('000.00.00.G22', '000.00.00.H29'))
    }),
    'fields/two-document-id.edxml': text('13/DM-2ID', (x) =>
      replaceOnce(x, /(<edXML:DocumentId>[^<]*<\/edXML:DocumentId>)(\s*<\/edXML:MessageHeader>)/, '$1\n        <edXML:DocumentId>000.00.00.G22,2026/11/25,999/DM-KHAC</edXML:DocumentId>$2'),
    ),
    'fields/invalid-organid.edxml': text('14/DM-ORGAN', (x) => replaceOnce(x, /(<edXML:To>\s*<edXML:OrganId>)[^<]*/, '$1H26; DROP TABLE')),
    'fields/status-bad-code.edxml': Buffer.from(
      status('1/DM-GOC', '01').toString('utf8').replace('<edXML:StatusCode>01</edXML:StatusCode>', '<edXML:StatusCode>99</edXML:StatusCode>'),
    ),
    // -- attachments
    'attachments/unlisted.edxml': text('20/DM-UNLISTED', (x) => replaceOnce(x, /<edXML:Reference>[\s\S]*?<\/edXML:Reference>\s*/, '')),
    'attachments/missing.edxml': text('21/DM-MISSING', (x) => replaceOnce(x, /<Attachment>[\s\S]*?<\/Attachment>\s*/, '')),
    'attachments/not-base64.edxml': text('22/DM-B64', (x) => replaceOnce(x, /(<edXML:ContentTransferEncoded[^>]*>)[^<]*/, '$1JVBERi0x!!*not base64*')),
    'attachments/duplicate-content-id.edxml': Buffer.from(twoAttachments('23/DM-DUPCID').replaceAll('cid:a2', 'cid:a1')),
    'attachments/zip-bomb.edxml': edoc('25/DM-ZIPBOMB', G22, [H26], {
      attachments: [1, 2].map((i) => ({ contentId: `z${i}`, attachmentName: `bao-cao-${i}.pdf`, contentType: 'application/pdf', data: zipBomb(64 * 1048576) })),
    }),
    // -- well-formed packages for the signature cases (signed at test time, or with a committed signature)
    'signed/from-g22.edxml': edoc('30/DM-G22'),
    'signed/from-g22-tampered.edxml': Buffer.from(s.replace('danh mục đầu vào xấu', 'danh mục đầu vào tốt')),
    'signed/from-h29.edxml': edoc('31/DM-H29', H29),
    'signed/from-stc.edxml': edoc('32/DM-STC', STC),
    'signed/from-h26-to-snv.edxml': edoc('33/DM-H26', H26, [SNV]),
    'signed/from-snv.edxml': edoc('34/DM-SNV', SNV),
    'signed/to-snv-only.edxml': edoc('35/DM-TOSNV', G22, [SNV]),
    'signed/replay-original.edxml': edoc('36/DM-REPLAY'),
    'signed/replay-other-content.edxml': edoc('36/DM-REPLAY', G22, [H26], { subject: 'V/v nội dung khác, cùng DocumentId' }),
    'signed/orphan-status.edxml': status('9999/DM-KHONGCO', '03'),
  }
}

/** A status package from H26 answering a G22 document (code `code`) with `statusCode`. */
function status(code: string, statusCode: string, from = G22, to = H26): Buffer {
  // an orphan: G22 answers a document H26 never sent
  return Buffer.from(
    buildStatus({
      from: organ(from),
      responseFor: { organId: to, code, promulgationDate: '2026/11/25', documentId: `${to},2026/11/25,${code}` },
      staffInfo: { department: 'Văn thư', staff: 'Phạm Văn Dũng', mobile: '0900000000', email: 'vanthu@example.vn' },
      statusCode,
      description: 'Đã tiếp nhận',
      timestamp: new Date('2026-11-25T04:00:00Z'),
    }).bytes,
  )
}

/** The JSON requests of the API cases. */
export function requests(): Record<string, unknown> {
  const doc = (code: string, over: Record<string, unknown> = {}) => ({
    recipients: [{ organId: H26, name: NAMES[H26], organizationInCharge: 'Chính phủ' }],
    code: { number: code.split('/')[0], notation: code.split('/')[1] },
    promulgation: { place: 'Hà Nội', date: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'V/v danh mục đầu vào xấu',
    signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: PDF.toString('base64') }],
    ...over,
  })
  const { subject: _s, ...noSubject } = doc('40/API-NOSUBJ')
  return {
    'api/missing-subject.json': noSubject,
    'api/recipient-invalid-organid.json': doc('41/API-ORGAN', { recipients: [{ organId: 'H26 OR 1=1', name: 'x', organizationInCharge: 'x' }] }),
    'api/invalid-date.json': doc('42/API-DATE', { promulgation: { place: 'Hà Nội', date: '2026/02/30' } }),
    'api/date-day-first.json': doc('50/API-DMY', { promulgation: { place: 'Hà Nội', date: '25/11/2026' } }),
    'api/declared-pdf-is-exe.json': doc('51/API-EXE', {
      attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: Buffer.concat([Buffer.from('MZ\x90\x00'), fixedBytes('exe', 60)]).toString('base64') }],
    }),
    'api/attachment-not-base64.json': doc('43/API-B64', { attachments: [{ name: 'a.pdf', contentType: 'application/pdf', data: '%%% not base64 %%%' }] }),
    'api/document-id-of-another-agency.json': doc('44/API-DOCID', { documentId: `${H29},2026/11/25,44/API-DOCID` }),
    'api/no-recipients.json': doc('45/API-NOREC', { recipients: [] }),
    'api/unknown-field.json': doc('46/API-EXTRA', { from: { organId: H29 } }),
    'api/idempotent-first.json': doc('47/API-IDEM'),
    'api/idempotent-second.json': doc('47/API-IDEM', { subject: 'V/v nội dung khác với cùng Idempotency-Key' }),
    'api/document-id-first.json': doc('48/API-USED', { documentId: `${G22},2026/11/25,48/API-USED` }),
    'api/document-id-second.json': doc('48/API-USED', { documentId: `${G22},2026/11/25,48/API-USED`, subject: 'V/v văn bản khác, cùng DocumentId' }),
    'api/subject-too-long.json': doc('49/API-TOOLONG', { subject: 'x'.repeat(100_000) }),
    'verify/not-base64.json': { edxml: '***', signature: 'AAAA' },
    'verify/edxml-without-signature.json': { edxml: packages()['base.edxml']!.toString('base64') },
  }
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] })

/** Signatures that are refused whatever the day: written once, committed. */
async function signatures(dir: string, pkgs: Record<string, Buffer>): Promise<Record<string, Buffer>> {
  const agency = (slug: string) => path.join(CERTS, 'agencies', slug)
  const vpcp = await loadSigner({
    keyPem: readFileSync(path.join(agency('vpcp'), 'key.pem'), 'utf8'),
    certPem: readFileSync(path.join(agency('vpcp'), 'cert.pem'), 'utf8'),
    chainPem: readFileSync(path.join(agency('vpcp'), 'chain.pem'), 'utf8'),
  })
  const content = pkgs['signed/from-g22.edxml']!
  const base = pkgs['base.edxml']!
  const good = Buffer.from(await vpcp.sign(base, { signingTime: new Date('2026-11-25T03:00:00Z') }))
  const flipped = Buffer.from(await vpcp.sign(content))
  flipped[flipped.length - 1]! ^= 0x01 // last byte of the signature value: the digest still matches
  const contentFile = path.join(dir, 'content.edxml')
  writeFileSync(contentFile, content)
  const cms = (extra: string[]) => {
    openssl(['cms', '-sign', '-binary', '-in', contentFile, '-signer', path.join(agency('vpcp'), 'cert.pem'), '-inkey', path.join(agency('vpcp'), 'key.pem'), '-outform', 'DER', '-out', path.join(dir, 'out.p7s'), ...extra])
    return readFileSync(path.join(dir, 'out.p7s'))
  }
  return {
    'sig/garbage.p7s': fixedBytes('garbage signature', 600),
    'sig/truncated.p7s': Buffer.from(await vpcp.sign(content)).subarray(0, 400),
    'sig/of-base-before-tampering.p7s': good,
    'sig/flipped-bit.p7s': flipped,
    'sig/signing-time-long-past.p7s': Buffer.from(await vpcp.sign(content, { signingTime: new Date('2026-01-01T00:00:00Z') })),
    'sig/signing-time-2099.p7s': Buffer.from(await vpcp.sign(content, { signingTime: new Date('2099-01-01T00:00:00Z') })),
    'sig/no-certificates.p7s': cms(['-md', 'sha256', '-nocerts']),
    'sig/no-signed-attributes.p7s': cms(['-md', 'sha256', '-noattr', '-certfile', path.join(agency('vpcp'), 'chain.pem')]),
    'sig/sha1.p7s': cms(['-md', 'sha1', '-certfile', path.join(agency('vpcp'), 'chain.pem')]),
    'sig/pem-text-not-cms.p7s': Buffer.from('-----BEGIN PKCS7-----\nbm90IGEgQ01TIHNpZ25hdHVyZQ==\n-----END PKCS7-----\n'),
  }
}

interface CaseRow {
  id: string
  title: string
  path: string
  expect: { code: string; httpStatus?: number; exit?: number }
}

/** The README table, from cases.json. */
export function readmeTable(cases: CaseRow[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|')
  const rows = cases.map((c) => {
    const status = c.expect.httpStatus !== undefined ? ` (HTTP ${c.expect.httpStatus})` : c.expect.exit !== undefined ? ` (exit ${c.expect.exit})` : ''
    return `| ${c.id} | ${c.path} | ${esc(c.title)} | \`${c.expect.code}\`${status} |`
  })
  return ['| id | path | what | expected |', '|---|---|---|---|', ...rows].join('\n')
}

export const TABLE_START = '<!-- cases-table:start -->'
export const TABLE_END = '<!-- cases-table:end -->'

async function main(): Promise<void> {
  const pkgs = packages()
  const reqs = requests()
  const tmp = path.join(ROOT, 'tmp', 'cases-generate')
  mkdirSync(tmp, { recursive: true })
  const sigs = await signatures(tmp, pkgs)
  const write = (name: string, bytes: Buffer | string) => {
    const p = path.join(FILES, name)
    mkdirSync(path.dirname(p), { recursive: true })
    writeFileSync(p, bytes)
  }
  for (const [name, bytes] of Object.entries(pkgs)) write(name, bytes)
  for (const [name, body] of Object.entries(reqs)) write(name, JSON.stringify(body, null, 2) + '\n')
  // signatures carry the time they were made: written when missing, or all again with --signatures
  const again = process.argv.includes('--signatures')
  for (const [name, bytes] of Object.entries(sigs)) if (again || !existsSync(path.join(FILES, name))) write(name, bytes)
  const cases = JSON.parse(readFileSync(path.join(HERE, 'cases.json'), 'utf8')) as CaseRow[]
  const readme = path.join(HERE, 'README.md')
  const old = readFileSync(readme, 'utf8')
  const a = old.indexOf(TABLE_START)
  const b = old.indexOf(TABLE_END)
  if (a < 0 || b < a) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} section`)
  writeFileSync(readme, old.slice(0, a + TABLE_START.length) + '\n' + readmeTable(cases) + '\n' + old.slice(b))
  console.log(`wrote ${Object.keys(pkgs).length} packages, ${Object.keys(reqs).length} requests, ${Object.keys(sigs).length} signatures to ${path.relative(ROOT, FILES)}; ${cases.length} cases in README.md`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
