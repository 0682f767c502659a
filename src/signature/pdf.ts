/**
 * Signatures embedded in a PDF (PAdES / `adbe.pkcs7.detached` / `ETSI.CAdES.detached`): find every signature
 * dictionary, check its /ByteRange against the file, take the CMS out of /Contents and verify it, detached, over
 * the two signed ranges with a `Verifier`.
 *
 * How signatures are found: one linear pass over the file collects the positions of `/ByteRange` and of every
 * indirect object header (`N G obj`). For each `/ByteRange`, the object it lies in is tokenised (a small PDF
 * object parser, depth-limited, with a global byte budget) and only a `/ByteRange` that is a key of a dictionary
 * counts (the text in a content stream or a string does not). The /Contents hex string must be exactly the gap
 * between the two ranges. Incremental updates simply add more signature dictionaries: each is judged on its own
 * ranges; the report says how many bytes follow the end of each signed range (later revisions).
 *
 * Bounded work on crafted input: no regular expression runs over file data; at most MAX_CANDIDATES `/ByteRange`
 * occurrences, MAX_SIGNATURES signatures, MAX_CONTENTS_HEX hex digits per /Contents, and the object parser stops
 * after PARSE_BUDGET_FACTOR × the file size of bytes in total (then the PDF is refused as too complex).
 *
 * Errors (thrown, GatewayError): GW_ERR_API_BODY_TOO_LARGE (over `maxBytes`), GW_ERR_SIGNATURE_PDF (not a PDF, no
 * signature, too many signatures, too complex). A problem of one signature (bad ByteRange, garbled or truncated
 * CMS, empty placeholder) is that signature's verdict: MALFORMED, or UNSUPPORTED_SUBFILTER for the SHA-1 and raw
 * RSA SubFilters and document timestamps.
 */
import { createHash } from 'node:crypto'
import { inflateSync } from 'node:zlib'
import { gwError } from '../errors.js'
import { laterChanges, mdpViolation, permitted, type MdpRules, type PdfLaterChanges, type PdfObj } from './pdf-revisions.js'
import type { Verdict, VerdictCode } from './verdict.js'
import type { Verifier, VerifyOptions } from './verifier.js'

/** Default largest PDF accepted (50 MiB, the default limits.packageBytes). */
export const DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024
export const MAX_SIGNATURES = 32
const MAX_CANDIDATES = 4096
/** 4 MiB of CMS: far above a CMS with a chain, CRLs and OCSP answers. */
const MAX_CONTENTS_HEX = 8 * 1024 * 1024
const MAX_DEPTH = 32
const PARSE_BUDGET_FACTOR = 4
/** The %PDF- header may follow some junk; readers look in the first 1024 bytes. */
const HEADER_WINDOW = 1024

/** SubFilters whose CMS is detached over the ByteRange: verified. */
export const SUPPORTED_SUBFILTERS = ['adbe.pkcs7.detached', 'ETSI.CAdES.detached'] as const
const UNSUPPORTED_SUBFILTERS: Readonly<Record<string, string>> = {
  'adbe.pkcs7.sha1': 'adbe.pkcs7.sha1 signs a SHA-1 digest of the ranges (deprecated since PDF 2.0); it is not verified',
  'adbe.x509.rsa_sha1': 'adbe.x509.rsa_sha1 is a raw PKCS#1 RSA-SHA1 signature, not CMS; it is not verified',
  'ETSI.RFC3161': 'ETSI.RFC3161 is a document timestamp (a timestamp token, not a signature); it is not verified',
}

/**
 * PDF-level verdict codes besides the CMS ones: UNSUPPORTED_SUBFILTER (a kind of signature not verified),
 * MODIFIED_AFTER_SIGNING (a later revision changes the document beyond what a signer may add),
 * MDP_PERMISSION_VIOLATED (a later revision does what the signature's DocMDP / FieldMDP forbids).
 */
export const PDF_VERDICT_CODES = ['UNSUPPORTED_SUBFILTER', 'MODIFIED_AFTER_SIGNING', 'MDP_PERMISSION_VIOLATED'] as const
export type PdfVerdictCode = VerdictCode | (typeof PDF_VERDICT_CODES)[number]

/** A verdict about one PDF signature: the CMS verdict, or a PDF-level finding before the CMS could be checked. */
export interface PdfVerdict extends Omit<Verdict, 'code'> {
  code: PdfVerdictCode
}

/** One signature dictionary as found in the file. */
export interface PdfSignature {
  /** 1-based, in the order of the signed ranges' ends (revision order). */
  readonly index: number
  /** Offset of the `/ByteRange` key. */
  readonly offset: number
  /** The four numbers as written (may be fewer or wrong when `problem` says so). */
  readonly byteRange: readonly number[]
  readonly filter?: string
  readonly subFilter?: string
  /** /Type of the dictionary when present (`Sig` or `DocTimeStamp`). */
  readonly type?: string
  /** /Name, /Reason, /Location and /M (the claimed signing time, PDF date string) as written. */
  readonly name?: string
  readonly reason?: string
  readonly location?: string
  readonly claimedTime?: string
  /** The CMS, trimmed to its DER length (the /Contents placeholder is usually zero-padded). */
  readonly cms?: Uint8Array
  /** Length of the signed bytes (b + d). */
  readonly signedLength: number
  /** True when the second range ends at the end of the file (no later revision). */
  readonly coversWholeFile: boolean
  /** Bytes of the file after the second range (later incremental updates). */
  readonly bytesAfter: number
  /** `%%EOF` markers after the second range: the number of later incremental updates (revisions). */
  readonly updatesAfter: number
  /** Why this signature cannot be verified, when it cannot. */
  readonly problem?: { code: 'MALFORMED' | 'UNSUPPORTED_SUBFILTER'; message: string }
  /** DocMDP / FieldMDP permissions of the signature (its /Reference transforms), when it has some. */
  readonly mdp?: MdpRules
  /** True when the signature dictionary was found inside an object stream. */
  readonly inObjectStream?: boolean
}

export interface PdfScanOptions {
  /** Largest PDF accepted, in bytes (default 50 MiB). */
  maxBytes?: number
  /** Passed to the verifier for every signature (e.g. `receivedAt`, `validationTime`). */
  verifyOptions?: VerifyOptions
}

export interface PdfSignatureReport {
  readonly signature: PdfSignature
  readonly verdict: PdfVerdict
  /** What the revisions after this signature change (absent when it covers the whole file). */
  readonly laterChanges?: PdfLaterChanges
}

export interface PdfVerification {
  readonly size: number
  /** Hex SHA-256 of the whole file. */
  readonly sha256: string
  readonly signatures: PdfSignatureReport[]
  /** Every signature valid. */
  readonly ok: boolean
  /** The last signature covers the whole file. */
  readonly coversWholeFile: boolean
  /** Facts a reader should know (e.g. bytes added after the last signature). */
  readonly warnings: string[]
}

// ---- byte classes -----------------------------------------------------------------------------------------

const WS = new Uint8Array(256)
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WS[c] = 1
const DELIM = new Uint8Array(256)
for (const c of '()<>[]{}/%') DELIM[c.charCodeAt(0)] = 1
const HEX = new Int8Array(256).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39
const isRegular = (c: number | undefined): boolean => c !== undefined && !WS[c] && !DELIM[c]

function pdfError(reason: string): never {
  throw gwError('GW_ERR_SIGNATURE_PDF', { reason })
}

// ---- a small PDF object parser ----------------------------------------------------------------------------

type PdfValue =
  | { t: 'dict'; start: number; end: number; entries: Map<string, { keyOffset: number; value: PdfValue }> }
  | { t: 'array'; start: number; end: number; items: PdfValue[] }
  | { t: 'num'; start: number; end: number; value: number; integer: boolean }
  | { t: 'name'; start: number; end: number; value: string }
  | { t: 'str'; start: number; end: number; bytes: Buffer }
  | { t: 'hex'; start: number; end: number }
  | { t: 'ref'; start: number; end: number }
  | { t: 'kw'; start: number; end: number; value: string }

class ParseFailure {
  constructor(readonly reason: string) {}
}

/** Shared byte budget of all object parses of one scan. */
interface Budget {
  left: number
}

class ObjectParser {
  constructor(
    private readonly buf: Buffer,
    private readonly budget: Budget,
  ) {}

  private fail(reason: string): never {
    throw new ParseFailure(reason)
  }

  private spend(n: number): void {
    this.budget.left -= n
    if (this.budget.left < 0) pdfError('the PDF structure is too complex to scan within the limits')
  }

  /** Skips whitespace and comments. */
  skip(p: number): number {
    const b = this.buf
    const start = p
    for (;;) {
      while (p < b.length && WS[b[p]!]) p++
      if (b[p] === 0x25 /* % */) {
        while (p < b.length && b[p] !== 0x0a && b[p] !== 0x0d) p++
        continue
      }
      break
    }
    this.spend(p - start)
    return p
  }

  value(p: number, depth: number): PdfValue {
    const b = this.buf
    if (depth > MAX_DEPTH) this.fail(`objects nested deeper than ${MAX_DEPTH} levels`)
    p = this.skip(p)
    if (p >= b.length) this.fail('unexpected end of file inside an object')
    const c = b[p]!
    if (c === 0x3c /* < */) {
      if (b[p + 1] === 0x3c) return this.dict(p, depth)
      return this.hex(p)
    }
    if (c === 0x5b /* [ */) return this.array(p, depth)
    if (c === 0x28 /* ( */) return this.literal(p)
    if (c === 0x2f /* / */) return this.name(p)
    if (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) return this.number(p)
    if (isRegular(c)) {
      let e = p
      while (e < b.length && isRegular(b[e]) && e - p < 64) e++
      this.spend(e - p)
      return { t: 'kw', start: p, end: e, value: b.toString('latin1', p, e) }
    }
    this.fail(`unexpected character 0x${c.toString(16)} at offset ${p}`)
  }

  private dict(p: number, depth: number): PdfValue {
    const b = this.buf
    const start = p
    p += 2
    this.spend(2)
    const entries = new Map<string, { keyOffset: number; value: PdfValue }>()
    for (;;) {
      p = this.skip(p)
      if (p >= b.length) this.fail('unterminated dictionary')
      if (b[p] === 0x3e && b[p + 1] === 0x3e) {
        this.spend(2)
        return { t: 'dict', start, end: p + 2, entries }
      }
      if (b[p] !== 0x2f) this.fail(`dictionary key expected at offset ${p}`)
      const key = this.name(p) as { value: string; end: number }
      const v = this.value(key.end, depth + 1)
      // first one wins, as most readers do
      if (!entries.has(key.value)) entries.set(key.value, { keyOffset: p, value: v })
      p = v.end
    }
  }

  private array(p: number, depth: number): PdfValue {
    const b = this.buf
    const start = p
    p += 1
    this.spend(1)
    const items: PdfValue[] = []
    for (;;) {
      p = this.skip(p)
      if (p >= b.length) this.fail('unterminated array')
      if (b[p] === 0x5d) {
        this.spend(1)
        return { t: 'array', start, end: p + 1, items }
      }
      const v = this.value(p, depth + 1)
      items.push(v)
      p = v.end
    }
  }

  private hex(p: number): PdfValue {
    const b = this.buf
    const e = b.indexOf(0x3e, p + 1)
    if (e < 0) {
      this.spend(b.length - p)
      this.fail('unterminated hex string')
    }
    this.spend(e + 1 - p)
    return { t: 'hex', start: p, end: e + 1 }
  }

  private literal(p: number): PdfValue {
    const b = this.buf
    const start = p
    const out: number[] = []
    let depth = 0
    p++
    for (; p < b.length; p++) {
      const c = b[p]!
      if (c === 0x5c /* \ */) {
        p++
        const n = b[p]
        if (n === undefined) break
        const map: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0c }
        if (out.length > 4096) continue
        if (map[n] !== undefined) out.push(map[n])
        else if (n >= 0x30 && n <= 0x37) {
          let v = n - 0x30
          for (let k = 0; k < 2 && b[p + 1]! >= 0x30 && b[p + 1]! <= 0x37; k++) v = v * 8 + (b[++p]! - 0x30)
          out.push(v & 0xff)
        } else if (n === 0x0d) {
          if (b[p + 1] === 0x0a) p++
        } else if (n !== 0x0a) out.push(n)
        continue
      }
      if (c === 0x28) depth++
      else if (c === 0x29) {
        if (depth === 0) {
          this.spend(p + 1 - start)
          return { t: 'str', start, end: p + 1, bytes: Buffer.from(out) }
        }
        depth--
      }
      if (out.length <= 4096) out.push(c)
    }
    this.spend(p - start)
    this.fail('unterminated literal string')
  }

  private name(p: number): PdfValue {
    const b = this.buf
    let e = p + 1
    while (e < b.length && isRegular(b[e]) && e - p < 256) e++
    this.spend(e - p)
    // #xx escapes in names
    let s = b.toString('latin1', p + 1, e)
    if (s.includes('#')) s = s.replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    return { t: 'name', start: p, end: e, value: s }
  }

  private number(p: number): PdfValue {
    const b = this.buf
    let e = p
    if (b[e] === 0x2b || b[e] === 0x2d) e++
    let integer = true
    while (e < b.length && e - p < 32 && (isDigit(b[e]) || b[e] === 0x2e)) {
      if (b[e] === 0x2e) integer = false
      e++
    }
    this.spend(e - p)
    const text = b.toString('latin1', p, e)
    const value = Number(text)
    if (!Number.isFinite(value)) this.fail(`bad number ${JSON.stringify(text)} at offset ${p}`)
    // `n g R` (a reference)
    if (integer && value >= 0) {
      let q = e
      while (q < b.length && WS[b[q]!]) q++
      if (q > e && isDigit(b[q])) {
        let r = q
        while (r < b.length && isDigit(b[r]) && r - q < 10) r++
        let s = r
        while (s < b.length && WS[b[s]!]) s++
        if (s > r && b[s] === 0x52 /* R */ && !isRegular(b[s + 1])) {
          this.spend(s + 1 - e)
          return { t: 'ref', start: p, end: s + 1 }
        }
      }
    }
    return { t: 'num', start: p, end: e, value, integer }
  }
}

// ---- scanning ---------------------------------------------------------------------------------------------

const BYTE_RANGE = Buffer.from('/ByteRange', 'latin1')
const OBJ = Buffer.from('obj', 'latin1')

/** All positions of `needle` (bounded count; `over` is set when more were found). */
function positions(buf: Buffer, needle: Buffer, max: number): { at: number[]; over: boolean } {
  const at: number[] = []
  let p = buf.indexOf(needle, 0)
  while (p >= 0) {
    if (at.length === max) return { at, over: true }
    at.push(p)
    p = buf.indexOf(needle, p + needle.length)
  }
  return { at, over: false }
}

/**
 * Start offsets (just after the keyword) of indirect object headers `N G obj`, ascending. One pass: every "obj"
 * not part of "endobj" and preceded by `digits ws digits ws`.
 */
function objectHeaders(buf: Buffer): number[] {
  const out: number[] = []
  let p = buf.indexOf(OBJ, 0)
  while (p >= 0) {
    const after = buf[p + 3]
    if (p > 0 && !isRegular(after) && WS[buf[p - 1]!]) {
      let q = p - 1
      while (q >= 0 && WS[buf[q]!] && p - q < 16) q--
      if (isDigit(buf[q])) {
        let r = q
        while (r >= 0 && isDigit(buf[r]) && q - r < 10) r--
        if (r >= 0 && WS[buf[r]!]) {
          let s = r
          while (s >= 0 && WS[buf[s]!] && r - s < 16) s--
          if (isDigit(buf[s])) out.push(p + 3)
        } else if (r < 0) {
          // "0 obj" at file start cannot happen (the header comes first); ignore
        }
      }
    }
    p = buf.indexOf(OBJ, p + 3)
  }
  return out
}

/** Greatest element ≤ x (binary search), or -1. */
function floorOf(sorted: number[], x: number): number {
  let lo = 0
  let hi = sorted.length - 1
  let best = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! <= x) {
      best = sorted[mid]!
      lo = mid + 1
    } else hi = mid - 1
  }
  return best
}

const EOF_MARK = Buffer.from('%%EOF', 'latin1')

/** `%%EOF` markers from `from` to the end (at most 10,000 counted). */
function countEof(buf: Buffer, from: number): number {
  let n = 0
  for (let p = buf.indexOf(EOF_MARK, from); p >= 0 && n < 10_000; p = buf.indexOf(EOF_MARK, p + EOF_MARK.length)) n++
  return n
}

/** Whether the keyword `stream` follows `p` (after whitespace): the object is a stream. */
function followedByStream(buf: Buffer, p: number): boolean {
  let q = p
  while (q < buf.length && WS[buf[q]!] && q - p < 64) q++
  return buf.toString('latin1', q, q + 6) === 'stream'
}

/** The dictionary (anywhere inside `v`) whose key `key` sits at `keyOffset`. */
function dictWithKeyAt(v: PdfValue, key: string, keyOffset: number): Extract<PdfValue, { t: 'dict' }> | undefined {
  if (keyOffset < v.start || keyOffset >= v.end) return undefined
  if (v.t === 'dict') {
    if (v.entries.get(key)?.keyOffset === keyOffset) return v
    for (const e of v.entries.values()) {
      const r = dictWithKeyAt(e.value, key, keyOffset)
      if (r) return r
    }
  } else if (v.t === 'array') {
    for (const i of v.items) {
      const r = dictWithKeyAt(i, key, keyOffset)
      if (r) return r
    }
  }
  return undefined
}

/** Extent of the BER/DER TLV at 0 (indefinite lengths walked), or a reason. */
function tlvEnd(buf: Uint8Array, pos: number, limit: number, depth: number): number | string {
  if (depth > 32) return 'nesting too deep'
  if (pos + 2 > limit) return `truncated at offset ${pos}`
  const tag = buf[pos]!
  if ((tag & 0x1f) === 0x1f) return `high tag number at offset ${pos}`
  const l0 = buf[pos + 1]!
  let p = pos + 2
  if (l0 === 0x80) {
    if (!(tag & 0x20)) return `indefinite length on a primitive at offset ${pos}`
    for (;;) {
      if (p + 2 > limit) return 'truncated: missing end-of-contents'
      if (buf[p] === 0 && buf[p + 1] === 0) return p + 2
      const e = tlvEnd(buf, p, limit, depth + 1)
      if (typeof e === 'string') return e
      p = e
    }
  }
  let len = l0
  if (l0 & 0x80) {
    const n = l0 & 0x7f
    if (n > 4 || p + n > limit) return `bad length at offset ${pos}`
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!
  }
  if (p + len > limit) return `truncated: the CMS declares ${p + len} bytes, /Contents holds ${limit}`
  return p + len
}

function decodeHex(buf: Buffer, start: number, end: number): Buffer | string {
  const out = Buffer.allocUnsafe((end - start) >> 1 || 1)
  let n = 0
  let hi = -1
  for (let p = start; p < end; p++) {
    const c = buf[p]!
    if (WS[c]) continue
    const v = HEX[c]!
    if (v < 0) return `/Contents holds a non-hex character 0x${c.toString(16)} at offset ${p}`
    if (hi < 0) hi = v
    else {
      out[n++] = (hi << 4) | v
      hi = -1
    }
  }
  if (hi >= 0) out[n++] = hi << 4
  return out.subarray(0, n)
}

/** A text value of the dictionary: a name, a literal or a (short) hex string. */
function textOf(buf: Buffer, v: PdfValue | undefined): string | undefined {
  if (!v) return undefined
  if (v.t === 'name') return v.value
  let b: Buffer | undefined
  if (v.t === 'str') b = v.bytes
  else if (v.t === 'hex' && v.end - v.start <= 8192) {
    const d = decodeHex(buf, v.start + 1, v.end - 1)
    if (typeof d !== 'string') b = d
  }
  if (b) {
    // UTF-16BE with BOM, else PDFDocEncoding (read as latin1)
    if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
      const sw = Buffer.from(b.subarray(2))
      if (sw.length % 2) return sw.subarray(0, sw.length - 1).swap16().toString('utf16le')
      return sw.swap16().toString('utf16le')
    }
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8')
    return b.toString('latin1')
  }
  return undefined
}

/**
 * Finds every signature dictionary of a PDF and checks its /ByteRange. Throws GW_ERR_API_BODY_TOO_LARGE or
 * GW_ERR_SIGNATURE_PDF (see the module comment); per-signature problems are in `problem`.
 */
export function findPdfSignatures(input: Uint8Array, opts: PdfScanOptions = {}): PdfSignature[] {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_PDF_BYTES
  if (input.length > maxBytes) throw gwError('GW_ERR_API_BODY_TOO_LARGE', { what: `the PDF (${input.length} bytes)`, limit: maxBytes, setting: 'limits.packageBytes', size: input.length })
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length)
  const header = buf.subarray(0, HEADER_WINDOW).indexOf('%PDF-', 0, 'latin1')
  if (header < 0) {
    pdfError(buf.length === 0 ? 'not a PDF: the file is empty' : `not a PDF: no %PDF- header in the first ${HEADER_WINDOW} bytes`)
  }
  const cands = positions(buf, BYTE_RANGE, MAX_CANDIDATES)
  if (cands.over) pdfError(`more than ${MAX_CANDIDATES} /ByteRange entries`)
  if (cands.at.length === 0 && buf.indexOf('/ObjStm', 0, 'latin1') < 0) pdfError('no signature: the PDF has no signature dictionary (/ByteRange)')

  const headers = objectHeaders(buf)
  const budget: Budget = { left: PARSE_BUDGET_FACTOR * buf.length + 1024 * 1024 }
  const parser = new ObjectParser(buf, budget)
  const parsed = new Map<number, PdfValue | ParseFailure>()

  const found: Omit<PdfSignature, 'index'>[] = []
  const seen = new Set<string>()
  const inStream = new Set<number>()
  for (const at of cands.at) {
    // the key must be a whole name: /ByteRange, not /ByteRangeX
    if (isRegular(buf[at + BYTE_RANGE.length])) continue
    const objStart = floorOf(headers, at)
    let dict: Extract<PdfValue, { t: 'dict' }> | undefined
    let parseProblem: string | undefined
    if (objStart >= 0) {
      let v = parsed.get(objStart)
      if (v === undefined) {
        try {
          v = parser.value(objStart, 0)
        } catch (e) {
          if (!(e instanceof ParseFailure)) throw e
          v = e
        }
        parsed.set(objStart, v)
      }
      if (v instanceof ParseFailure) parseProblem = v.reason
      else {
        dict = dictWithKeyAt(v, 'ByteRange', at)
        // inside an uncompressed object stream (PDF 1.5): the objects of the stream are at known offsets
        if (!dict && at >= v.end && followedByStream(buf, v.end)) {
          const inner = objectInStream(buf, parser, v, at)
          if (inner) {
            dict = dictWithKeyAt(inner, 'ByteRange', at)
            if (dict) inStream.add(at)
          }
        }
        // a /ByteRange inside the object but not a dictionary key (a string), or in a stream's data: not a signature
        if (!dict && (at < v.end || followedByStream(buf, v.end))) continue
      }
    } else {
      parseProblem = 'the signature dictionary is not inside an indirect object'
    }

    // the ByteRange array itself, read at the key even when the object did not parse
    let byteRange: number[] = []
    let brProblem: string | undefined
    const brValue = dict?.entries.get('ByteRange')?.value
    if (brValue) {
      if (brValue.t !== 'array') brProblem = '/ByteRange is not an array'
      else {
        for (const it of brValue.items) {
          if (it.t !== 'num' || !it.integer) {
            brProblem = '/ByteRange holds something other than integers'
            break
          }
          byteRange.push(it.value)
        }
      }
    } else {
      try {
        const v = parser.value(at + BYTE_RANGE.length, 0)
        if (v.t === 'array') byteRange = v.items.filter((i) => i.t === 'num').map((i) => (i as { value: number }).value)
        else brProblem = '/ByteRange is not an array'
      } catch (e) {
        if (!(e instanceof ParseFailure)) throw e
        brProblem = `/ByteRange cannot be read: ${e.reason}`
      }
    }
    const key = `${byteRange.join(' ')}|${brProblem ?? ''}|${brProblem ? at : ''}`
    if (seen.has(key)) continue
    seen.add(key)
    if (found.length === MAX_SIGNATURES) pdfError(`more than ${MAX_SIGNATURES} signatures`)

    const e = dict?.entries
    const text = (v: PdfValue | undefined) => textOf(buf, v)
    const subFilter = text(e?.get('SubFilter')?.value)
    const filter = text(e?.get('Filter')?.value)
    const type = text(e?.get('Type')?.value)
    const meta = {
      ...(filter !== undefined ? { filter } : {}),
      ...(subFilter !== undefined ? { subFilter } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(text(e?.get('Name')?.value) !== undefined ? { name: text(e?.get('Name')?.value)! } : {}),
      ...(text(e?.get('Reason')?.value) !== undefined ? { reason: text(e?.get('Reason')?.value)! } : {}),
      ...(text(e?.get('Location')?.value) !== undefined ? { location: text(e?.get('Location')?.value)! } : {}),
      ...(text(e?.get('M')?.value) !== undefined ? { claimedTime: text(e?.get('M')?.value)! } : {}),
    }
    const [a, b, c, d] = byteRange as [number, number, number, number]
    const shapeOk = !brProblem && byteRange.length === 4 && byteRange.every((n) => Number.isSafeInteger(n) && n >= 0)
    const signedLength = shapeOk ? b + d : 0
    const bytesAfter = shapeOk ? Math.max(0, buf.length - (c + d)) : 0
    const updatesAfter = shapeOk && c + d <= buf.length ? countEof(buf, c + d) : 0
    const mdp = dict ? mdpRules(dict) : undefined
    const base = {
      offset: at,
      byteRange,
      ...meta,
      signedLength,
      coversWholeFile: shapeOk && c + d === buf.length,
      bytesAfter,
      updatesAfter,
      ...(mdp ? { mdp } : {}),
      ...(inStream.has(at) ? { inObjectStream: true } : {}),
    }
    const bad = (message: string): void => {
      found.push({ ...base, problem: { code: 'MALFORMED', message } })
    }

    if (brProblem) {
      bad(brProblem)
      continue
    }
    if (!shapeOk) {
      bad(`/ByteRange must be four non-negative integers, found [${byteRange.join(' ')}]`)
      continue
    }
    if (a !== 0) {
      bad(`/ByteRange must start at 0 (found ${a}): the file header would not be signed`)
      continue
    }
    if (b < 1 || c <= b + 1 || c + d > buf.length) {
      bad(`/ByteRange [${byteRange.join(' ')}] does not fit a file of ${buf.length} bytes (ranges must be inside the file, in order, not overlapping)`)
      continue
    }
    // the gap must be exactly the /Contents hex string of this dictionary
    if (buf[b] !== 0x3c || buf[c - 1] !== 0x3e) {
      bad(`the gap ${b}..${c} between the signed ranges is not a hex string <...>`)
      continue
    }
    const contents = e?.get('Contents')
    if (dict) {
      if (!contents || contents.value.t !== 'hex' || contents.value.start !== b || contents.value.end !== c) {
        bad(`the gap ${b}..${c} between the signed ranges is not this dictionary's /Contents`)
        continue
      }
    } else {
      let q = b - 1
      while (q >= 0 && WS[buf[q]!] && b - q < 64) q--
      if (buf.toString('latin1', q - 8, q + 1) !== '/Contents') {
        bad(`the gap ${b}..${c} between the signed ranges is not a /Contents value${parseProblem ? ` (${parseProblem})` : ''}`)
        continue
      }
    }
    if (c - b - 2 > MAX_CONTENTS_HEX) {
      bad(`/Contents is ${c - b - 2} hex digits, over the limit of ${MAX_CONTENTS_HEX}`)
      continue
    }
    const raw = decodeHex(buf, b + 1, c - 1)
    if (typeof raw === 'string') {
      bad(raw)
      continue
    }
    let allZero = true
    for (let i = 0; i < raw.length && allZero; i++) if (raw[i] !== 0) allZero = false
    if (allZero) {
      bad('/Contents is an empty placeholder (all zeros): the signature was never filled in')
      continue
    }
    const end = tlvEnd(raw, 0, raw.length, 0)
    if (typeof end === 'string') {
      bad(`/Contents is not a CMS: ${end}`)
      continue
    }
    let junk = -1
    for (let i = end; i < raw.length && junk < 0; i++) if (raw[i] !== 0) junk = i
    if (junk >= 0) {
      bad(`/Contents has non-zero bytes after the CMS (offset ${junk} of ${raw.length})`)
      continue
    }
    const cms = Buffer.from(raw.subarray(0, end))
    const unsupported = subFilter !== undefined ? UNSUPPORTED_SUBFILTERS[subFilter] : type === 'DocTimeStamp' ? UNSUPPORTED_SUBFILTERS['ETSI.RFC3161'] : undefined
    found.push({ ...base, cms, ...(unsupported ? { problem: { code: 'UNSUPPORTED_SUBFILTER' as const, message: unsupported } } : {}) })
  }
  // signature dictionaries in compressed object streams: found, but their /Contents cannot be the signed gap
  for (const sigAt of compressedSignatures(buf, headers, parser)) {
    if (found.length === MAX_SIGNATURES) pdfError(`more than ${MAX_SIGNATURES} signatures`)
    found.push({
      offset: sigAt,
      byteRange: [],
      signedLength: 0,
      coversWholeFile: false,
      bytesAfter: 0,
      updatesAfter: 0,
      inObjectStream: true,
      problem: { code: 'MALFORMED', message: 'the signature dictionary is in a compressed object stream: its /Contents is not in the file bytes, so no /ByteRange can leave it out' },
    })
  }
  if (found.length === 0) pdfError('no signature: no /ByteRange in the PDF is a key of a signature dictionary')
  // revision order: by the end of the signed ranges (c + d), then by position
  const endOf = (s: Omit<PdfSignature, 'index'>): number => (s.byteRange[2] ?? 0) + (s.byteRange[3] ?? 0)
  found.sort((x, y) => endOf(x) - endOf(y) || x.offset - y.offset)
  return found.map((s, i) => ({ index: i + 1, ...s }))
}

/** The object of an uncompressed object stream `stream` (its dictionary) whose extent holds offset `at`. */
function objectInStream(buf: Buffer, parser: ObjectParser, stream: PdfValue, at: number): PdfValue | undefined {
  if (stream.t !== 'dict') return undefined
  const e = stream.entries
  const type = e.get('Type')?.value
  const first = e.get('First')?.value
  const n = e.get('N')?.value
  if (type?.t !== 'name' || type.value !== 'ObjStm' || e.has('Filter') || first?.t !== 'num' || n?.t !== 'num') return undefined
  let p = buf.indexOf('stream', stream.end, 'latin1') + 6
  if (buf[p] === 0x0d) p++
  if (buf[p] === 0x0a) p++
  const head = buf.toString('latin1', p, p + Math.min(first.value, 1 << 20)).trim().split(/\s+/).map(Number)
  for (let i = 1; i < head.length && i / 2 < Math.min(n.value, MAX_CANDIDATES); i += 2) {
    const off = p + first.value + head[i]!
    if (!Number.isSafeInteger(off) || off > at) continue
    try {
      const v = parser.value(off, 0)
      if (at >= v.start && at < v.end) return v
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e
    }
  }
  return undefined
}

/** Offsets of compressed (FlateDecode) object streams whose content holds a `/ByteRange` key. */
function compressedSignatures(buf: Buffer, headers: number[], parser: ObjectParser): number[] {
  const out: number[] = []
  const seen = new Set<number>()
  const at = positions(buf, Buffer.from('/ObjStm', 'latin1'), MAX_CANDIDATES).at
  for (const p of at) {
    const h = floorOf(headers, p)
    if (h < 0 || seen.has(h)) continue
    seen.add(h)
    let v: PdfValue
    try {
      v = parser.value(h, 0)
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e
      continue
    }
    if (v.t !== 'dict' || !followedByStream(buf, v.end)) continue
    const f = v.entries.get('Filter')?.value
    const len = v.entries.get('Length')?.value
    if (f?.t !== 'name' || f.value !== 'FlateDecode' || len?.t !== 'num') continue
    let s = buf.indexOf('stream', v.end, 'latin1') + 6
    if (buf[s] === 0x0d) s++
    if (buf[s] === 0x0a) s++
    try {
      const data = inflateSync(buf.subarray(s, s + len.value), { maxOutputLength: 16 * 1024 * 1024 })
      const k = data.indexOf('/ByteRange', 0, 'latin1')
      if (k >= 0 && !isRegular(data[k + 10])) out.push(h)
    } catch {
      // not inflatable: nothing to report here
    }
  }
  return out
}

/** DocMDP / FieldMDP of a signature dictionary: its /Reference signature references (direct dictionaries). */
function mdpRules(dict: Extract<PdfValue, { t: 'dict' }>): MdpRules | undefined {
  const refs = dict.entries.get('Reference')?.value
  if (refs?.t !== 'array') return undefined
  const rules: MdpRules = {}
  for (const r of refs.items) {
    if (r.t !== 'dict') continue
    const method = r.entries.get('TransformMethod')?.value
    const params = r.entries.get('TransformParams')?.value
    if (method?.t !== 'name' || params?.t !== 'dict') continue
    if (method.value === 'DocMDP') {
      const pv = params.entries.get('P')?.value
      rules.docMdp = pv?.t === 'num' && [1, 2, 3].includes(pv.value) ? pv.value : 2
    } else if (method.value === 'FieldMDP') {
      const a = params.entries.get('Action')?.value
      const f = params.entries.get('Fields')?.value
      const action = a?.t === 'name' && (a.value === 'All' || a.value === 'Include' || a.value === 'Exclude') ? a.value : 'All'
      const fields = f?.t === 'array' ? f.items.flatMap((x) => (x.t === 'str' ? [x.bytes.toString('latin1')] : [])) : []
      rules.fieldMdp = { action, fields }
    }
  }
  return rules.docMdp !== undefined || rules.fieldMdp ? rules : undefined
}

/** The signed bytes of a signature: the two ranges concatenated. */
export function signedBytes(pdf: Uint8Array, sig: PdfSignature): Buffer {
  const [a, b, c, d] = sig.byteRange as [number, number, number, number]
  return Buffer.concat([pdf.subarray(a, a + b), pdf.subarray(c, c + d)])
}

function endsInZeros(cms: Uint8Array): boolean {
  if (cms.length < 16) return false
  for (let i = cms.length - 8; i < cms.length; i++) if (cms[i] !== 0) return false
  return true
}

/** A signature's verdict given what later revisions change: MODIFIED_AFTER_SIGNING / MDP_PERMISSION_VIOLATED. */
function judgeLater(v: PdfVerdict, s: PdfSignature, later: PdfLaterChanges): PdfVerdict {
  if (!v.ok) return v
  const rules = s.mdp ?? {}
  const mdp = mdpViolation(rules, later)
  if (mdp) return { ...v, ok: false, code: 'MDP_PERMISSION_VIOLATED', message: `${mdp} (the CMS itself is valid: ${v.message})` }
  if (permitted(rules, later)) return v
  const bad = later.changes.filter((c) => !c.allowed)
  const pages = later.pagesTouched.length ? `; pages touched: object(s) ${later.pagesTouched.join(', ')}` : ''
  const repl = later.objectsReplaced.length ? `; objects replaced: ${later.objectsReplaced.join(', ')}` : ''
  return {
    ...v,
    ok: false,
    code: 'MODIFIED_AFTER_SIGNING',
    message: `the document was changed after this signature by ${later.revisions} later revision(s): ${bad.map((c) => `revision ${c.revision}: ${c.detail}`).join('; ')}${pages}${repl} (the CMS itself is valid over the signed revision)`,
  }
}

/**
 * Finds and verifies every signature of a PDF. Throws like `findPdfSignatures`; never for a bad signature (that
 * is its verdict).
 */
export async function verifyPdf(pdf: Uint8Array, verifier: Verifier, opts: PdfScanOptions = {}): Promise<PdfVerification> {
  const sigs = findPdfSignatures(pdf, opts)
  const buf = Buffer.isBuffer(pdf) ? pdf : Buffer.from(pdf.buffer, pdf.byteOffset, pdf.length)
  const parser = (b: Buffer) => new ObjectParser(b, budget)
  const budget: Budget = { left: PARSE_BUDGET_FACTOR * buf.length + 1024 * 1024 }
  const parseAt = (b: Buffer, pos: number): PdfObj | undefined => {
    try {
      return parser(b).value(pos, 0)
    } catch (e) {
      if (e instanceof ParseFailure) return undefined
      throw e
    }
  }
  const signatures: PdfSignatureReport[] = []
  for (const s of sigs) {
    let verdict: PdfVerdict
    if (s.problem || !s.cms) {
      verdict = { ok: false, code: s.problem?.code ?? 'MALFORMED', message: s.problem?.message ?? 'no CMS', chain: [] }
    } else {
      verdict = await verifier.verify(signedBytes(pdf, s), s.cms, opts.verifyOptions)
      if (verdict.code === 'MALFORMED' && endsInZeros(s.cms)) {
        verdict = { ...verdict, message: `${verdict.message} (the CMS ends in zero bytes: it looks truncated, not completely written into /Contents)` }
      }
    }
    let later: PdfLaterChanges | undefined
    if (!s.coversWholeFile && s.signedLength > 0) {
      later = laterChanges(buf, s.byteRange[2]! + s.byteRange[3]!, parseAt)
      verdict = judgeLater(verdict, s, later)
    }
    signatures.push({ signature: s, verdict, ...(later ? { laterChanges: later } : {}) })
  }
  const last = sigs[sigs.length - 1]!
  const warnings: string[] = []
  if (!last.coversWholeFile && last.signedLength > 0) {
    const tail = pdf.subarray(pdf.length - last.bytesAfter)
    if (tail.every((c) => WS[c] === 1)) {
      warnings.push(`${last.bytesAfter} whitespace bytes follow the last signature's range (no change to the document, but the signature does not cover the whole file)`)
    } else {
      const updates = last.updatesAfter === 1 ? '1 incremental update' : `${last.updatesAfter} incremental updates`
      const lc = signatures[signatures.length - 1]!.laterChanges
      const what = lc ? (lc.onlySignerUpdates ? 'only signature bookkeeping (fields, DSS, timestamps)' : `changes to the document: ${lc.changes.filter((c) => !c.allowed).map((c) => c.detail).join('; ')}`) : ''
      warnings.push(`${last.bytesAfter} bytes were added after the last signature (${updates}); they are not covered by any signature${what ? ` and hold ${what}` : ''}`)
    }
  }
  return {
    size: pdf.length,
    sha256: createHash('sha256').update(pdf).digest('hex'),
    signatures,
    ok: signatures.every((s) => s.verdict.ok),
    coversWholeFile: last.coversWholeFile,
    warnings,
  }
}
