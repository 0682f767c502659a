/** Opaque keyset cursors: base64url of `<kind>:<seq>`, bound to what is paged (packages, events, incoming). */
import { gwError } from '../errors.js'

export function encodeCursor(kind: string, seq: number): string {
  return Buffer.from(`${kind}:${seq}`, 'utf8').toString('base64url')
}

/** The seq to continue before (newest first); throws GW_ERR_STORE_INVALID_CURSOR for anything not ours. */
export function decodeCursor(kind: string, cursor: string): number {
  const m = /^([a-z]+):(\d{1,15})$/.exec(/^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '')
  if (!m || m[1] !== kind) throw gwError('GW_ERR_STORE_INVALID_CURSOR', { cursor: cursor.slice(0, 80) })
  return Number(m[2])
}

/** Clamp a page size to 1..1000. */
export function pageLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.min(1000, Math.max(1, Math.trunc(limit))) : 50
}
