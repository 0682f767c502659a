/**
 * A minimal DER TLV reader and writer.
 *
 * The verifier walks a CMS SignedData with this reader to find byte ranges (certificates, SignerInfo, signed
 * attributes, signature value) without decoding what it does not need; the signer splices its output from
 * pre-encoded pieces with the writer. Only definite lengths and low tag numbers (< 31) are accepted, which is all
 * DER needs; anything else is reported as GW_ERR_SIGNATURE_MALFORMED.
 */
import { gwError } from '../errors.js'

/** One TLV: `tag` is the identifier octet; the value is `buf.subarray(valueStart, end)`. */
export interface Tlv {
  readonly tag: number
  readonly start: number
  readonly valueStart: number
  readonly end: number
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CTX0: 0xa0,
  CTX1: 0xa1,
  CTX3: 0xa3,
} as const

function malformed(reason: string): never {
  throw gwError('GW_ERR_SIGNATURE_MALFORMED', { reason })
}

/** Reads the TLV starting at `pos`; it must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number = buf.length): Tlv {
  if (pos + 2 > limit) malformed(`truncated TLV at offset ${pos}`)
  const tag = buf[pos]!
  if ((tag & 0x1f) === 0x1f) malformed(`high tag number at offset ${pos}`)
  let len = buf[pos + 1]!
  let p = pos + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0) malformed(`indefinite length (BER) at offset ${pos}; DER is required`)
    if (n > 4 || p + n > limit) malformed(`bad length at offset ${pos}`)
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!
    if (len < 0x80 || (n > 1 && buf[pos + 2] === 0)) malformed(`non-minimal length at offset ${pos}`)
  }
  const end = p + len
  if (end > limit) malformed(`length ${len} at offset ${pos} runs past its container`)
  return { tag, start: pos, valueStart: p, end }
}

/** Reads a TLV and checks its tag. */
export function expectTlv(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, pos, limit)
  if (t.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)} at offset ${pos}`)
  return t
}

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  let p = parent.valueStart
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end)
    out.push(t)
    p = t.end
  }
  return out
}

export const value = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.valueStart, t.end)
export const whole = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end)

// ---- writer ---------------------------------------------------------------------------------------------

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  if (n < 0x100) return Uint8Array.of(0x81, n)
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff)
  if (n < 0x1000000) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff)
  return Uint8Array.of(0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/** Encodes a TLV around the concatenation of `parts`. */
export function encodeTlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0
  for (const p of parts) len += p.length
  const l = encodeLength(len)
  const out = Buffer.allocUnsafe(1 + l.length + len)
  out[0] = tag
  out.set(l, 1)
  let o = 1 + l.length
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** OID content bytes from dotted form. */
export function oidBytes(oid: string): Buffer {
  const arcs = oid.split('.').map((s) => BigInt(s))
  if (arcs.length < 2) malformed(`bad OID ${oid}`)
  const first = arcs[0]! * 40n + arcs[1]!
  const out: number[] = []
  for (const arc of [first, ...arcs.slice(2)]) {
    const tmp: number[] = [Number(arc & 0x7fn)]
    let v = arc >> 7n
    while (v > 0n) {
      tmp.unshift(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(...tmp)
  }
  return Buffer.from(out)
}

/** Dotted OID from content bytes. */
export function oidString(bytes: Uint8Array): string {
  const arcs: bigint[] = []
  let v = 0n
  for (const b of bytes) {
    v = (v << 7n) | BigInt(b & 0x7f)
    if (!(b & 0x80)) {
      arcs.push(v)
      v = 0n
    }
  }
  if (arcs.length === 0) malformed('empty OID')
  const f = arcs[0]!
  const head = f < 40n ? [0n, f] : f < 80n ? [1n, f - 40n] : [2n, f - 80n]
  return [...head, ...arcs.slice(1)].join('.')
}

const oidMemo = new Map<string, string>()
/** `oidString` memoised for the few OIDs that recur (names, extensions, algorithms): no BigInt work on repeats. */
export function oidStringCached(bytes: Uint8Array): string {
  const k = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
  let s = oidMemo.get(k)
  if (s === undefined) {
    s = oidString(bytes)
    if (oidMemo.size < 512) oidMemo.set(k, s)
  }
  return s
}

/** Full OID TLV (06 len bytes). */
export const encodeOid = (oid: string): Buffer => encodeTlv(TAG.OID, oidBytes(oid))

/**
 * DER ordering of SET OF components (X.690 §11.6): ascending as octet strings, the shorter padded with zeros.
 */
export function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x - y
  }
  return 0
}

/** Encodes a DER time for CMS signing-time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5652 §11.3). */
export function encodeTime(d: Date): Buffer {
  const y = d.getUTCFullYear()
  const p2 = (n: number) => String(n).padStart(2, '0')
  const rest = p2(d.getUTCMonth() + 1) + p2(d.getUTCDate()) + p2(d.getUTCHours()) + p2(d.getUTCMinutes()) + p2(d.getUTCSeconds()) + 'Z'
  if (y >= 1950 && y < 2050) return encodeTlv(TAG.UTC_TIME, Buffer.from(p2(y % 100) + rest, 'latin1'))
  return encodeTlv(TAG.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'))
}

/** Decodes a UTCTime or GeneralizedTime TLV (DER forms: seconds present, 'Z'; fractional seconds accepted). */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(buf.subarray(t.valueStart, t.end)).toString('latin1')
  let m: RegExpExecArray | null
  let year: number
  if (t.tag === TAG.UTC_TIME) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
    if (!m) malformed(`bad UTCTime ${JSON.stringify(s)}`)
    const yy = Number(m[1])
    year = yy >= 50 ? 1900 + yy : 2000 + yy
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s)
    if (!m) malformed(`bad GeneralizedTime ${JSON.stringify(s)}`)
    year = Number(m[1])
  } else {
    malformed(`expected a time, got tag 0x${t.tag.toString(16)}`)
  }
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])))
  if (Number.isNaN(d.getTime())) malformed(`bad time ${JSON.stringify(s)}`)
  return d
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/**
 * Re-encodes BER indefinite lengths (as streaming CMS encoders write the outer wrappers) with definite lengths.
 * TLVs that already have a definite length are copied byte for byte, so embedded certificates and signed
 * attributes keep their exact bytes.
 */
export function definiteLengths(buf: Uint8Array): Buffer {
  const walk = (pos: number, limit: number, depth: number): { out: Uint8Array; end: number } => {
    if (depth > 32) malformed('BER nesting too deep')
    if (pos + 2 > limit) malformed(`truncated TLV at offset ${pos}`)
    const tag = buf[pos]!
    if ((tag & 0x1f) === 0x1f) malformed(`high tag number at offset ${pos}`)
    if (buf[pos + 1] !== 0x80) {
      const t = readTlv(buf, pos, limit)
      return { out: buf.subarray(pos, t.end), end: t.end }
    }
    if (!(tag & 0x20)) malformed(`indefinite length on a primitive at offset ${pos}`)
    const parts: Uint8Array[] = []
    let p = pos + 2
    for (;;) {
      if (p + 2 > limit) malformed('missing end-of-contents')
      if (buf[p] === 0 && buf[p + 1] === 0) return { out: encodeTlv(tag, ...parts), end: p + 2 }
      const c = walk(p, limit, depth + 1)
      parts.push(c.out)
      p = c.end
    }
  }
  const r = walk(0, buf.length, 0)
  if (r.end !== buf.length) malformed('trailing bytes after the outer TLV')
  return Buffer.from(r.out)
}
