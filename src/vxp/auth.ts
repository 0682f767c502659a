/**
 * Authentication of a VXP request as the SDK signs it (every call, whatever the operation):
 *
 *   1. the system: `XroadVnpt-systemid` names one of vxp.server.systems (else GW_ERR_VXP_UNAUTHORIZED)
 *   2. the HMAC: HMAC-SHA256 over the `XroadVnpt-sign-header` value, byte for byte, with that system's secret,
 *      equals `XroadVnpt-hash-header` (lowercase hex; compared in constant time, and an unknown system costs the
 *      same HMAC so the answer time does not tell which systems exist)
 *   3. the headers: the signed text is a JSON object of strings `{"XroadVnpt-<k>":"v"}`; every key is sent as a
 *      header with exactly that value (names case-insensitive), and `XroadVnpt-systemid` is among them
 *
 * The parameters an operation reads come from the signed JSON only, never from an unsigned header. There is no
 * freshness rule: the SDK's `timestamp` is fixed per service object (days old on a long-lived client) and there is
 * no nonce, so a recorded request can be replayed; every write is idempotent instead (a replayed sendEdoc gets the
 * same DocId and sends nothing again).
 */
import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { VxpSystemConfig } from '../config.js'
import { gwError } from '../errors.js'
import { HEADER_PREFIX, safeEqual } from './protocol.js'

/** The signed parameters of a request: names as signed, looked up exactly or case-insensitively. */
export class VxpParams {
  readonly #exact = new Map<string, string>()
  readonly #lower = new Map<string, string>()

  constructor(entries: Iterable<readonly [string, string]>) {
    for (const [k, v] of entries) {
      this.#exact.set(k, v)
      if (!this.#lower.has(k.toLowerCase())) this.#lower.set(k.toLowerCase(), v)
    }
  }

  /** The value of a parameter whatever the case of its name (`docId`, `docid`). */
  get(name: string): string | undefined {
    return this.#exact.get(name) ?? this.#lower.get(name.toLowerCase())
  }

  /** The value under exactly this name. */
  exact(name: string): string | undefined {
    return this.#exact.get(name)
  }

  names(): string[] {
    return [...this.#exact.keys()]
  }
}

export interface Authenticated {
  system: VxpSystemConfig
  params: VxpParams
}

const DUMMY_SECRET = 'lienthong: no such system'

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name.toLowerCase()]
  return Array.isArray(v) ? v.join(', ') : v
}

/** The systems by systemId. */
export type SystemTable = ReadonlyMap<string, VxpSystemConfig>

export function systemTable(systems: readonly VxpSystemConfig[]): SystemTable {
  return new Map(systems.map((s) => [s.systemId, s]))
}

/** Every value of each header (lower-case name), from Node's `rawHeaders` list. */
function headerValues(raw: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = (raw[i] as string).toLowerCase()
    const list = out.get(k)
    if (list) list.push(raw[i + 1] as string)
    else out.set(k, [raw[i + 1] as string])
  }
  return out
}

/**
 * Steps 1-3; throws GW_ERR_VXP_UNAUTHORIZED with the reason (never the secret or the expected HMAC).
 *
 * `rawHeaders` (Node's list of every header as sent) matters when two signed keys differ only in case: an SDK
 * object that was given `docId` for getEdoc and `docid` for updateStatus sends both `XroadVnpt-docId` and
 * `XroadVnpt-docid`, one HTTP header name twice; each signed value must be among that header's values.
 */
export function authenticate(headers: IncomingHttpHeaders, systems: SystemTable, rawHeaders?: readonly string[]): Authenticated {
  const all = rawHeaders ? headerValues(rawHeaders) : undefined
  const systemId = header(headers, `${HEADER_PREFIX}systemid`)
  if (!systemId) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'the XroadVnpt-systemid header is missing' })
  const signed = header(headers, `${HEADER_PREFIX}sign-header`)
  const mac = header(headers, `${HEADER_PREFIX}hash-header`)
  if (signed === undefined || signed === '') throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'the XroadVnpt-sign-header header is missing' })
  if (mac === undefined || mac === '') throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'the XroadVnpt-hash-header header is missing' })
  const found = systems.get(systemId)
  const system = found?.secret ? found : undefined
  // 2. the bytes as they came (Node reads header bytes as latin1)
  const expected = createHmac('sha256', Buffer.from(system?.secret ?? DUMMY_SECRET, 'utf8')).update(Buffer.from(signed, 'latin1')).digest('hex')
  const ok = safeEqual(expected, mac.trim().toLowerCase())
  if (!system) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: `unknown system ${printable(systemId)}` })
  if (!ok) {
    const nonAscii = /[^\x20-\x7e]/.test(signed)
    throw gwError('GW_ERR_VXP_UNAUTHORIZED', {
      reason: `XroadVnpt-hash-header is not the HMAC of XroadVnpt-sign-header with the secret of ${systemId}` + (nonAscii ? ' (a parameter is not ASCII: the SDK sends header values one byte per character, so non-ASCII values never verify)' : ''),
    })
  }
  // 3. the signed parameters and their headers
  let json: unknown
  try {
    json = JSON.parse(signed)
  } catch {
    throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'XroadVnpt-sign-header is not JSON' })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'XroadVnpt-sign-header is not a JSON object' })
  const entries: [string, string][] = []
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (!k.toLowerCase().startsWith(HEADER_PREFIX.toLowerCase())) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: `signed key ${printable(k)} does not start with ${HEADER_PREFIX}` })
    if (typeof v !== 'string') throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: `signed value of ${printable(k)} is not a string` })
    const sent = all ? all.get(k.toLowerCase()) : ((x) => (x === undefined ? undefined : [x]))(header(headers, k))
    if (sent === undefined) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: `the signed parameter ${printable(k)} has no header` })
    if (!sent.includes(v)) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: `header ${printable(k)} differs from its signed value` })
    entries.push([k.slice(HEADER_PREFIX.length), v])
  }
  const params = new VxpParams(entries)
  if (params.get('systemid') !== systemId) throw gwError('GW_ERR_VXP_UNAUTHORIZED', { reason: 'XroadVnpt-systemid is not among the signed parameters' })
  return { system, params }
}

/** A header value fit for an error message (ASCII, bounded). */
export function printable(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?')
  return t.length > 80 ? `${t.slice(0, 80)}...` : t
}
