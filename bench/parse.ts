/**
 * Parse speed of edXML packages: a ~5 KB status-sized package, a package with a 1 MB attachment and one with a
 * 50 MB attachment (all built by our builder, so self-contained). Run `npx tsx bench/parse.ts`.
 * Prints one line per case, then one JSON object with parse5KBMs, parse1MBMs, parse50MBMs (medians, milliseconds)
 * and the time to decode the 1 MB attachment; parse5KBFxpMs is the 5 KB case with the fast-xml-parser reference reader.
 */
import { randomBytes } from 'node:crypto'
import { buildEdoc, parseEnvelope, type EdocInput, type ParseOptions } from '../src/envelope/index.js'

function input(attachmentBytes: number, appendixes = 0): EdocInput {
  return {
    from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ', organAdd: 'Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội', email: 'vpcp@chinhphu.vn' },
    to: [
      { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND tỉnh Nghệ An' },
      { organId: '000.00.00.H29', organName: 'UBND Thành phố Hồ Chí Minh', organizationInCharge: 'UBND Thành phố Hồ Chí Minh' },
    ],
    code: { codeNumber: '7816', codeNotation: 'VPCP-TTĐT' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2025/10/20' },
    documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
    subject: 'V/v kết nối, liên thông phần mềm quản lý văn bản',
    content: 'V/v kết nối, liên thông phần mềm quản lý văn bản',
    signerInfo: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
    dueDate: '2025/10/30',
    toPlaces: ['Các bộ, cơ quan ngang bộ', 'UBND các tỉnh, thành phố'],
    otherInfo: { priority: 1, sphereOfPromulgation: 'Liên thông văn bản quốc gia', typerNotation: 'TVC', promulgationAmount: 2, pageAmount: 3, appendixes: Array.from({ length: appendixes }, (_, i) => `Phụ lục ${i + 1}: danh sách đơn vị kết nối`) },
    steeringType: 0,
    bussiness: { staffInfo: { department: 'Văn thư', staff: 'Nguyễn Thị B', email: 'vanthu@chinhphu.vn', mobile: '0912000001' } },
    attachments: attachmentBytes ? [{ contentId: 'a1', attachmentName: 'vanban.pdf', contentType: 'application/pdf', data: Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(attachmentBytes - 9)]) }] : [],
    now: new Date('2025-10-20T03:00:00Z'),
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function time(bytes: Uint8Array, runs: number, opts: ParseOptions = {}): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    parseEnvelope(bytes, opts)
    times.push(performance.now() - t0)
  }
  return median(times)
}

const small = buildEdoc(input(100, 2)).bytes // ~5 KB: header, trace, business block, one small attachment
const oneMB = buildEdoc(input(1024 * 1024)).bytes
// a 50 MiB package (base64 makes a 37.5 MiB attachment 50 MiB)
const fiftyMB = buildEdoc(input(Math.floor((50 * 1024 * 1024 * 3) / 4) - 4096)).bytes

time(small, 2000) // warm-up
time(oneMB, 20)
const parse5KBMs = time(small, 5000)
time(small, 500, { xmlReader: 'fast-xml-parser' })
const parse5KBFxpMs = time(small, 2000, { xmlReader: 'fast-xml-parser' })
const parse1MBMs = time(oneMB, 200)
const parse50MBMs = time(fiftyMB, 7)
const env = parseEnvelope(oneMB)
const decodeTimes: number[] = []
for (let i = 0; i < 50; i++) {
  const t0 = performance.now()
  env.attachment('a1')
  decodeTimes.push(performance.now() - t0)
}
const decode1MBMs = median(decodeTimes)

const r = (x: number): number => Math.round(x * 1000) / 1000
console.log(`parse ${small.length} B package: ${r(parse5KBMs)} ms (median of 5000)`)
console.log(`  same with the fast-xml-parser reference reader (after the same safety pass): ${r(parse5KBFxpMs)} ms`)
console.log(`parse ${oneMB.length} B package (1 MiB attachment): ${r(parse1MBMs)} ms (median of 200)`)
console.log(`parse ${fiftyMB.length} B package (37.5 MiB attachment): ${r(parse50MBMs)} ms (median of 7)`)
console.log(`decode the 1 MiB attachment on demand: ${r(decode1MBMs)} ms`)
console.log(
  JSON.stringify({
    parse5KBMs: r(parse5KBMs),
    parse1MBMs: r(parse1MBMs),
    parse50MBMs: r(parse50MBMs),
    parse5KBFxpMs: r(parse5KBFxpMs),
    decode1MBMs: r(decode1MBMs),
    bytes5KB: small.length,
    bytes1MB: oneMB.length,
    bytes50MB: fiftyMB.length,
    node: process.version,
  }),
)
