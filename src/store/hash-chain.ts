/**
 * The event log's hash chain (documented for auditors in src/store/README.md, "Hash chain").
 *
 *   hash = lowercase hex SHA-256 of the UTF-8 bytes of JSON.stringify([
 *     "lienthong-log-v1", seq, time, direction, type, packageId, deliveryId, documentId, sender, recipient,
 *     actor, fromState, state, changed, statusCode, cause, detail, prevHash ])
 *
 * where absent values are null, `seq` is an integer, `changed` is 1 or 0, `detail` is the stored detail text
 * (canonical JSON: object keys sorted by UTF-16 code units, no whitespace) and `prevHash` is the previous row's
 * hash (64 zeros for seq 1).
 */
import { createHash } from 'node:crypto'

export const GENESIS_HASH = '0'.repeat(64)
export const CHAIN_VERSION = 'lienthong-log-v1'

/** The columns of an events row that the hash covers, as stored. */
export interface ChainRow {
  seq: number
  time: string
  direction: string
  type: string
  package_id: string | null
  delivery_id: string | null
  document_id: string | null
  sender: string | null
  recipient: string | null
  actor: string
  from_state: string | null
  state: string | null
  changed: number
  status_code: string | null
  cause: string | null
  detail: string
  prev_hash: string
}

export function canonicalRow(r: ChainRow): string {
  return JSON.stringify([
    CHAIN_VERSION,
    r.seq,
    r.time,
    r.direction,
    r.type,
    r.package_id,
    r.delivery_id,
    r.document_id,
    r.sender,
    r.recipient,
    r.actor,
    r.from_state,
    r.state,
    r.changed,
    r.status_code,
    r.cause,
    r.detail,
    r.prev_hash,
  ])
}

export function rowHash(r: ChainRow): string {
  return createHash('sha256').update(canonicalRow(r), 'utf8').digest('hex')
}

/** JSON with object keys sorted recursively and no whitespace; undefined members are dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const o = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortKeys(o[k])
    return out
  }
  return v
}

/** The events columns in the order of the canonical form, then `hash`. */
export const CHAIN_COLUMNS =
  'seq, time, direction, type, package_id, delivery_id, document_id, sender, recipient, actor, from_state, state, changed, status_code, cause, detail, prev_hash, hash'

function rawToRow(r: unknown[]): ChainRow & { hash: string } {
  const n = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))
  return {
    seq: Number(r[0]),
    time: String(r[1]),
    direction: String(r[2]),
    type: String(r[3]),
    package_id: n(r[4]),
    delivery_id: n(r[5]),
    document_id: n(r[6]),
    sender: n(r[7]),
    recipient: n(r[8]),
    actor: String(r[9]),
    from_state: n(r[10]),
    state: n(r[11]),
    changed: Number(r[12]),
    status_code: n(r[13]),
    cause: n(r[14]),
    detail: String(r[15]),
    prev_hash: String(r[16]),
    hash: String(r[17]),
  }
}

/** Checks rows in seq order; feed them one by one. */
export class ChainVerifier {
  checked = 0
  lastSeq: number | undefined
  lastHash: string | undefined
  firstBroken: { seq: number; reason: string } | undefined

  /** @param anchor the row just before the range (undefined: the range starts at the beginning of the log). */
  constructor(anchor: { seq: number; hash: string } | undefined) {
    this.lastSeq = anchor?.seq
    this.lastHash = anchor?.hash
  }

  /**
   * Faster form for long checks: one row as an array in CHAIN_COLUMNS order (as a database driver's array/raw
   * mode returns it); the canonical text is built straight from it.
   */
  pushRaw(r: unknown[]): boolean {
    const seq = Number(r[0])
    const expectedSeq = (this.lastSeq ?? 0) + 1
    if (seq !== expectedSeq) return this.push(rawToRow(r))
    if (r[16] !== (this.lastHash ?? GENESIS_HASH)) return this.push(rawToRow(r))
    const values = r.slice(0, 17)
    values[0] = seq
    const h = createHash('sha256').update(JSON.stringify([CHAIN_VERSION, ...values]), 'utf8').digest('hex')
    if (h !== r[17]) return this.push(rawToRow(r))
    this.checked++
    this.lastSeq = seq
    this.lastHash = h
    return true
  }

  /** Returns false once a broken row was found (stop feeding). */
  push(r: ChainRow & { hash: string }): boolean {
    const expectedSeq = (this.lastSeq ?? 0) + 1
    if (r.seq !== expectedSeq) {
      const gap = r.seq - 1 === expectedSeq ? `${expectedSeq}` : `${expectedSeq}..${r.seq - 1}`
      const after = this.lastSeq === undefined ? 'the log starts' : `seq ${this.lastSeq} is followed`
      return this.broken(expectedSeq, `row ${gap} missing (deleted): ${after} by seq ${r.seq}`)
    }
    if (r.prev_hash !== (this.lastHash ?? GENESIS_HASH)) {
      return this.broken(r.seq, `prev_hash does not match the hash of ${this.lastSeq === undefined ? 'the genesis' : `seq ${this.lastSeq}`}`)
    }
    if (rowHash(r) !== r.hash) return this.broken(r.seq, 'row content does not match its hash (row changed)')
    this.checked++
    this.lastSeq = r.seq
    this.lastHash = r.hash
    return true
  }

  private broken(seq: number, reason: string): false {
    this.firstBroken = { seq, reason }
    return false
  }

  result(): { ok: boolean; checked: number; lastSeq?: number; lastHash?: string; firstBroken?: { seq: number; reason: string } } {
    return {
      ok: this.firstBroken === undefined,
      checked: this.checked,
      ...(this.lastSeq !== undefined ? { lastSeq: this.lastSeq } : {}),
      ...(this.lastHash !== undefined ? { lastHash: this.lastHash } : {}),
      ...(this.firstBroken ? { firstBroken: this.firstBroken } : {}),
    }
  }
}

/** An event before it gets its place in the chain. */
export interface EventFields {
  time: string
  direction: 'out' | 'in'
  type: string
  package_id?: string | null
  delivery_id?: string | null
  document_id?: string | null
  sender?: string | null
  recipient?: string | null
  actor: string
  from_state?: string | null
  state?: string | null
  changed: boolean
  status_code?: string | null
  cause?: string | null
  detail?: Record<string, unknown>
}

/** The row to insert for `f` at position `seq` after a row whose hash is `prevHash`. */
export function chainRow(seq: number, prevHash: string, f: EventFields): ChainRow & { hash: string } {
  const r: ChainRow = {
    seq,
    time: f.time,
    direction: f.direction,
    type: f.type,
    package_id: f.package_id ?? null,
    delivery_id: f.delivery_id ?? null,
    document_id: f.document_id ?? null,
    sender: f.sender ?? null,
    recipient: f.recipient ?? null,
    actor: f.actor,
    from_state: f.from_state ?? null,
    state: f.state ?? null,
    changed: f.changed ? 1 : 0,
    status_code: f.status_code ?? null,
    cause: f.cause ?? null,
    detail: canonicalJson(f.detail ?? {}),
    prev_hash: prevHash,
  }
  return { ...r, hash: rowHash(r) }
}
