/**
 * Attachment payloads: strict base64 checking straight from byte ranges, content sniffing, and the ZIP convention
 * of docs/edxml.md §a.4 (a payload that is a single-entry ZIP while the name does not end in `.zip` carries that entry).
 */
import { Inflate, Unzip, UnzipInflate } from 'fflate'
import { gwError } from '../errors.js'
import type { PayloadRange } from './xml.js'

/**
 * The one normalisation of content ids, used wherever an attachment is resolved: strips any number of leading
 * `cid:` (any case) and enclosing angle brackets, and surrounding spaces, so that Manifest, Attachment and API ids
 * compare equal.
 */
export function normaliseContentId(cid: string): string {
  // `cid:cid:<uuid>` (VNPT's Java library), `<cid:...>` (MIME style), spaces: all the same id.
  let t = cid.trim()
  for (let prev = ''; prev !== t; ) {
    prev = t
    if (t.startsWith('<') && t.endsWith('>')) t = t.slice(1, -1).trim()
    if (/^cid:/i.test(t)) t = t.slice(4).trim()
  }
  return t
}

const CHUNK = 1 << 22
const NOT_B64 = /[^A-Za-z0-9+/=]/
const WS = /[\t\n\r ]+/g

/**
 * Check that `buf[range]` is strict base64 (standard alphabet, `=` padding only at the end and correct, whitespace
 * and line breaks tolerated) and return the decoded length. Nothing is decoded; the range is looked at in 4 MiB
 * latin1 views so a 50 MB payload never becomes one 50 MB string here.
 */
export function checkBase64(buf: Buffer, r: PayloadRange, contentId: string): number {
  let total = 0
  let pad = 0
  for (let off = r.start; off < r.end; off += CHUNK) {
    let s = buf.toString('latin1', off, Math.min(r.end, off + CHUNK))
    // (a single negated class with '=' in it is ~10x faster in V8 than one without; '=' is handled by indexOf)
    const bad = NOT_B64.test(s) ? NOT_B64.exec((s = s.replace(WS, ''))) : null
    if (bad) {
      if (bad[0] === '&') {
        const m = /^&[^;\s]{0,64};?/.exec(s.slice(bad.index))
        throw gwError('GW_ERR_ENVELOPE_ENTITY', { entity: m?.[0] ?? '&' })
      }
      throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', {
        contentId,
        reason: `character ${JSON.stringify(bad[0])} is not in the standard base64 alphabet`,
      })
    }
    const eq = pad > 0 ? 0 : s.indexOf('=')
    if (eq >= 0) {
      if (/[^=]/.test(s.slice(eq))) throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: 'padding "=" inside the data' })
      pad += s.length - eq
    }
    total += s.length
  }
  if (total % 4 !== 0) throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: `length ${total} is not a multiple of 4` })
  if (pad > 2) throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: `${pad} padding characters` })
  return (total / 4) * 3 - pad
}

/** Decoded length of a whitespace-free base64 string, checking length and padding. */
export function base64Length(s: string, contentId: string): number {
  if (s.length % 4 !== 0) throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: `length ${s.length} is not a multiple of 4` })
  const eq = s.indexOf('=')
  let pad = 0
  if (eq >= 0) {
    pad = s.length - eq
    if (pad > 2 || (pad === 2 && s[s.length - 1] !== '=')) {
      throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: 'padding "=" inside the data' })
    }
  }
  return (s.length / 4) * 3 - pad
}

/** Decode a checked base64 byte range (one latin1 view of the range, then Node's native decoder). */
export function decodeRange(buf: Buffer, r: PayloadRange): Buffer {
  return Buffer.from(buf.toString('latin1', r.start, r.end), 'base64')
}

/** How much of a payload is decoded at parse time to judge its content (a multiple of 3 bytes). */
export const HEAD_BYTES = 67_584
const HEAD_CHARS = (HEAD_BYTES / 3) * 4

/** Decode only the first bytes of a checked range (for sniffing). */
export function decodeHead(buf: Buffer, r: PayloadRange, chars = HEAD_CHARS): Buffer {
  const s = buf.toString('latin1', r.start, Math.min(r.end, r.start + chars * 2)).replace(/\s+/g, '')
  const head = s.slice(0, Math.min(chars, s.length - (s.length % 4)))
  return Buffer.from(head, 'base64')
}

const startsWith = (b: Uint8Array, sig: number[], at = 0): boolean => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x)

/** Content type from magic bytes; `application/octet-stream` when unknown. */
export function sniffContentType(b: Uint8Array): string {
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46])) return 'application/pdf' // %PDF
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06])) return 'application/zip'
  if (startsWith(b, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'application/x-ole-storage' // .doc/.xls
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47])) return 'image/png'
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'image/jpeg'
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return 'image/gif'
  if (startsWith(b, [0x7b, 0x5c, 0x72, 0x74, 0x66])) return 'application/rtf' // {\rtf
  const head = Buffer.from(b.subarray(0, 64)).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart()
  if (head.startsWith('<?xml') || head.startsWith('<edXML')) return 'application/xml'
  return 'application/octet-stream'
}

/** Content type expected from a file name (`''` when the extension says nothing we check). */
export function typeFromName(name: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name.trim())?.[1]?.toLowerCase()
  switch (ext) {
    case 'pdf':
      return 'application/pdf'
    case 'zip':
      return 'application/zip'
    case 'docx':
    case 'xlsx':
    case 'pptx':
    case 'odt':
    case 'ods':
      return 'application/zip' // OOXML / ODF containers are ZIP files
    case 'doc':
    case 'xls':
    case 'ppt':
      return 'application/x-ole-storage'
    case 'png':
      return 'image/png'
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg'
    case 'xml':
    case 'edxml':
      return 'application/xml'
    default:
      return ''
  }
}

/** Default of the unzip budget: bytes all ZIP attachments of one package may unzip to (limits.unzippedBytes). */
export const DEFAULT_MAX_UNZIPPED_BYTES = 256 * 1024 * 1024

/**
 * What is left to inflate for one package (one reading of its attachments): every ZIP entry inflated under the ZIP
 * convention draws from it, so a package of many ZIPs that each stay under a per-entry limit is still bounded.
 */
export interface UnzipBudget {
  /** The limit the budget started from (limits.unzippedBytes). */
  readonly limit: number
  /** Bytes that may still be inflated. */
  remaining: number
}

export const unzipBudget = (limit = DEFAULT_MAX_UNZIPPED_BYTES): UnzipBudget => ({ limit, remaining: limit })

/** Result of applying the ZIP convention to a decoded payload. */
export interface Unzipped {
  /** The content: the single ZIP entry, or the payload itself. */
  content: Uint8Array
  /** Name of the extracted entry when the convention applied. */
  entryName?: string
  /** Why the convention did not apply although the payload is a ZIP (corrupt, several entries). */
  note?: string
}

/** How much compressed input is fed to the inflater at a time: the output is counted (and stopped) in between. */
const UNZIP_STEP = 64 * 1024

/**
 * docs/edxml.md §a.4 on receipt: if the payload starts with `PK\x03\x04` and the attachment name does not end in `.zip`
 * (nor in an OOXML/ODF extension, which are ZIP containers by nature), extract the single entry; otherwise use the
 * bytes as they are. A corrupt ZIP or one with several entries is used as it is, with a note.
 *
 * The entry is inflated as a stream (fflate's Unzip, fed 64 KiB of compressed input at a time) and every inflated
 * byte is drawn from `budget` (a number starts a budget of its own): as soon as the output would pass what is left
 * (or a local header already claims more), inflating stops and GW_ERR_ENVELOPE_ZIP_TOO_LARGE is thrown, so a ZIP
 * bomb costs at most the budget in time and memory. Only the first entry is inflated; further ones are counted.
 */
export function applyZipConvention(
  payload: Uint8Array,
  attachmentName: string,
  budget: number | UnzipBudget = DEFAULT_MAX_UNZIPPED_BYTES,
  contentId = attachmentName,
): Unzipped {
  if (!startsWith(payload, [0x50, 0x4b, 0x03, 0x04])) return { content: payload }
  if (typeFromName(attachmentName) === 'application/zip') return { content: payload }
  const b = typeof budget === 'number' ? unzipBudget(budget) : budget
  const before = b.remaining
  const chunks: Uint8Array[] = []
  let entries = 0
  let inflated = 0
  let entryName: string | undefined
  let over: number | string | undefined
  let failure: Error | undefined
  let complete = false
  const unzip = new Unzip((file) => {
    if (file.name.endsWith('/')) return
    entries++
    if (entries > 1 || over !== undefined) return
    entryName = file.name
    if (file.originalSize !== undefined && file.originalSize > b.remaining) {
      over = file.originalSize
      return
    }
    file.ondata = (err, data, final) => {
      if (err) {
        failure = err
        return
      }
      inflated += data.length
      if (inflated > b.remaining) {
        over = `more than ${b.remaining}`
        file.terminate()
        return
      }
      chunks.push(data)
      if (final) complete = true
    }
    file.start()
  })
  unzip.register(UnzipInflate)
  try {
    for (let off = 0; off < payload.length && over === undefined && failure === undefined; off += UNZIP_STEP) {
      unzip.push(payload.subarray(off, off + UNZIP_STEP), off + UNZIP_STEP >= payload.length)
    }
  } catch (e) {
    failure ??= e as Error
  }
  b.remaining = Math.max(0, b.remaining - inflated)
  if (over !== undefined) {
    const limit = b.limit === before ? `${b.limit}` : `${before} (what was left of limits.unzippedBytes ${b.limit} for this package)`
    throw gwError('GW_ERR_ENVELOPE_ZIP_TOO_LARGE', { contentId, size: over, limit })
  }
  if (failure) return { content: payload, note: `payload looks like a ZIP but cannot be read: ${failure.message}` }
  if (entries === 0) return { content: payload, note: 'payload looks like a ZIP but cannot be read: no entry found' }
  if (entries !== 1) return { content: payload, note: `ZIP has ${entries} entries, not one: used as it is` }
  if (!complete) return { content: payload, note: 'payload looks like a ZIP but its entry is truncated: used as it is' }
  return { content: concat(chunks, inflated), entryName: entryName! }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/** What the first bytes of a payload tell: its own type and, for a ZIP, the first entry and that entry's type. */
export interface HeadInspection {
  payloadContentType: string
  zipEntryName?: string
  /** Type of the first ZIP entry, from its first inflated bytes (`''` when they could not be reached). */
  zipEntryContentType?: string
}

/**
 * Inspect the first HEAD_BYTES of a payload without decoding or inflating the rest: sniff it, and if it is a ZIP
 * read the first local file header and inflate just enough of that entry to sniff it. Never throws.
 */
export function inspectHead(head: Uint8Array): HeadInspection {
  const payloadContentType = head.length === 0 ? '' : sniffContentType(head)
  if (!startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || head.length < 30) return { payloadContentType }
  const u16 = (o: number): number => head[o]! | (head[o + 1]! << 8)
  const flags = u16(6)
  const method = u16(8)
  const nameLen = u16(26)
  const extraLen = u16(28)
  const dataStart = 30 + nameLen + extraLen
  if (dataStart > head.length) return { payloadContentType }
  const nameBytes = Buffer.from(head.subarray(30, 30 + nameLen))
  const zipEntryName = flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1')
  let first: Uint8Array = new Uint8Array(0)
  if (method === 0) first = head.subarray(dataStart, dataStart + 64)
  else if (method === 8) {
    const chunks: Uint8Array[] = []
    let got = 0
    try {
      const inf = new Inflate((chunk) => {
        if (chunks.length < 4) chunks.push(chunk)
        got += chunk.length
      })
      // a little compressed input at a time, until the first bytes are out: 66 KB of a ZIP bomb's deflate data
      // would inflate to tens of MB, before the package is even authenticated
      const data = head.subarray(dataStart)
      for (let off = 0; off < data.length && got < 64; off += 256) inf.push(data.subarray(off, off + 256), false)
    } catch {
      // corrupt or truncated deflate data: the entry type stays unknown here; describeAttachment says more
    }
    first = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)))
  }
  return { payloadContentType, zipEntryName, zipEntryContentType: first.length ? sniffContentType(first) : '' }
}

/** Types the sniffer cannot tell apart count as equal (a .doc sniffs as OLE storage, declared application/msword). */
export function sameFamily(promised: string, real: string): boolean {
  if (promised === real) return true
  const ole = ['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint', 'application/x-ole-storage']
  if (ole.includes(promised) && real === 'application/x-ole-storage') return true
  if (promised.startsWith('application/vnd.openxmlformats') && real === 'application/zip') return true
  if (promised === 'text/xml' && real === 'application/xml') return true
  return false
}

/** The type an attachment promises for its content: the name's extension first, then a specific non-ZIP declaration. */
export function promisedType(attachmentName: string, ...declared: string[]): string {
  return (
    typeFromName(attachmentName) || declared.map((t) => t.trim().toLowerCase()).find((t) => t !== '' && t !== 'application/zip' && t !== 'application/octet-stream') || ''
  )
}

/** Parse-time verdict on a payload from its first bytes (same result for the builder's data and the parsed package). */
export function judgeHead(
  head: Uint8Array,
  attachmentName: string,
): { payloadContentType: string; realContentType: string; zipEntryName?: string } {
  const h = inspectHead(head)
  if (h.payloadContentType === 'application/zip' && typeFromName(attachmentName) !== 'application/zip' && h.zipEntryName !== undefined) {
    return { payloadContentType: h.payloadContentType, realContentType: h.zipEntryContentType ?? '', zipEntryName: h.zipEntryName }
  }
  return { payloadContentType: h.payloadContentType, realContentType: h.payloadContentType }
}
