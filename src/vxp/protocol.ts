/**
 * The VXP SDK's wire conventions, shared by the server side (server.ts) and our own client (client.ts):
 *
 * - the SDK's parameter map is a Java `HashMap<String,String>`; headers and the signed JSON follow its iteration
 *   order (`hashMapOrder`), which a faithful client must reproduce and a server must never depend on;
 * - the signed text is that map as compact Gson JSON, `{"XroadVnpt-<k>":"v",...}` (`signedJson`), HMAC-SHA256 with
 *   the secret's UTF-8 bytes as the key, lowercase hex (`hmacHex`);
 * - `hash-file` is SHA-256 in the SDK's unpadded hex: `Integer.toHexString` per byte (`unpaddedHex`);
 * - answers are JSON that the SDK may read as US-ASCII (`asciiJson`: everything above 0x7e as `\u` escapes).
 *
 * Nothing here does I/O.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** Prefix of every parameter header. */
export const HEADER_PREFIX = 'XroadVnpt-'
export const USER_AGENT = 'JAVASDKAgent/1.0.0 XRoad/VPCP'
export const PROTOCOL_VERSION = '3.0.201608'

/** Java's `String.hashCode` over UTF-16 code units (32-bit overflow). */
export function javaHashCode(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

/**
 * The iteration order of a `java.util.HashMap` holding these keys, inserted in the given order and never removed:
 * table capacity 16, doubled while size > 0.75 × capacity; bucket = (h ^ (h >>> 16)) & (capacity - 1); within a
 * bucket, insertion order (a resize keeps it). Bins never grow long enough here to become trees.
 */
export function hashMapOrder(keysInInsertionOrder: readonly string[]): string[] {
  const keys = [...new Set(keysInInsertionOrder)]
  let capacity = 16
  while (keys.length > capacity * 0.75) capacity *= 2
  const bucket = (k: string) => {
    const h = javaHashCode(k)
    return (h ^ (h >>> 16)) & (capacity - 1)
  }
  return keys
    .map((k, i) => ({ k, i, b: bucket(k) }))
    .sort((a, b) => a.b - b.b || a.i - b.i)
    .map((x) => x.k)
}

/** A string as Gson 2.2 writes it with HTML escaping off. */
export function gsonString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.charCodeAt(0)
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\f') out += '\\f'
    else if (c < 0x20 || ch === '\u2028' || ch === '\u2029') out += '\\u' + c.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + '"'
}

/** The signed text: `{"XroadVnpt-k":"v",...}` in the given order. */
export function signedJson(entries: readonly (readonly [string, string])[]): string {
  return '{' + entries.map(([k, v]) => `${gsonString(HEADER_PREFIX + k)}:${gsonString(v)}`).join(',') + '}'
}

/** HMAC-SHA256 of the text's UTF-8 bytes with the secret's UTF-8 bytes, lowercase hex. */
export function hmacHex(secret: string, text: string | Uint8Array): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(typeof text === 'string' ? Buffer.from(text, 'utf8') : text).digest('hex')
}

/** Each byte through Java's `Integer.toHexString`: bytes below 0x10 give one digit. */
export function unpaddedHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16)
  return s
}

/** SHA-256 of the file in the SDK's unpadded hex (the `hash-file` parameter). */
export function hashFile(bytes: Uint8Array): string {
  return unpaddedHex(createHash('sha256').update(bytes).digest())
}

/** Constant-time equality of two ASCII strings (false, in constant time for the length, when lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1')
  const y = Buffer.from(b, 'latin1')
  if (x.length !== y.length) {
    timingSafeEqual(x, x)
    return false
  }
  return timingSafeEqual(x, y)
}

/** JSON with every character above 0x7e as a `\u` escape, so an answer read as US-ASCII loses nothing. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

/** The format of the SDK's `timestamp` parameter: `ddMMyyyy'T'HHmmss+SSSS` (milliseconds padded to 4, not an offset). */
export function sdkTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getDate())}${p(d.getMonth() + 1)}${d.getFullYear()}T${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}+${p(d.getMilliseconds(), 4)}`
}

/** Strip exactly one trailing CRLF (the SDK's would-be multipart writer always appends one). */
export function stripTrailingCrlf(body: Uint8Array): Uint8Array {
  const n = body.length
  if (n >= 2 && body[n - 2] === 0x0d && body[n - 1] === 0x0a) return body.subarray(0, n - 2)
  return body
}
