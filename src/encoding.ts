/** Byte encodings used across the gateway (API bodies, AMQP headers, hashes), each written once. */
import { createHash } from 'node:crypto'

/**
 * Strict base64 (standard alphabet, `=` padding only at the end, length a multiple of 4, no line breaks or spaces)
 * decoded, or `undefined`. Native operations only, linear, no regular expression over the data: Node's decoder
 * skips characters outside the alphabet (so the decoded length comes out short), stops at padding (same), and also
 * takes the URL-safe `-` and `_` (looked for separately). `''` decodes to an empty buffer.
 */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (s.length % 4 !== 0) return undefined
  const data = Buffer.from(s, 'base64')
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0
  const firstPad = s.indexOf('=')
  const strict =
    data.length === (s.length / 4) * 3 - pad &&
    (firstPad === -1 || firstPad >= s.length - pad) &&
    s.indexOf('-') === -1 &&
    s.indexOf('_') === -1
  return strict ? data : undefined
}

/** SHA-256 as lower-case hex. */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex')
