/**
 * Which agency (OrganId) a certificate speaks for: the rule of `trust.binding`. In order:
 *   1. `table`: explicit certificates per OrganId, by SHA-256 fingerprint of the DER or by issuer + serial;
 *   2. the subject `attribute` (default `UID`, 0.9.2342.19200300.100.1.1, as the sample PKI does; or
 *      `serialNumber`, `OU`, `CN`, `O`, ..., or any dotted OID), optionally through `pattern`, a regular expression
 *      whose named group `organId`, else first group, else whole match is the OrganId (no match: no OrganId).
 * The verdict names the rule that gave the OrganId (`binding.rule`).
 */
import { gwError } from '../errors.js'
import { subjectAttribute, SUBJECT_ATTRIBUTES, type CertInfo } from './certs.js'

export interface BindingEntry {
  readonly organId: string
  /** SHA-256 of the certificate DER, hex (colons allowed). */
  readonly sha256?: string
  /** Issuer as the verdicts print it (RFC 4514 style, e.g. `CN=Sample Government Signing CA,O=...,C=VN`) ... */
  readonly issuer?: string
  /** ... and serial, hex. */
  readonly serial?: string
}

export interface BindingRule {
  readonly attribute?: string
  readonly pattern?: string
  readonly table?: readonly BindingEntry[]
}

export interface BoundOrganId {
  readonly organId?: string
  /** Which rule gave it, e.g. `subject UID`, `table (sha256)`, `subject serialNumber ~ /^MST:(.+)$/`. */
  readonly rule: string
}

export interface Binding {
  organIdOf(c: CertInfo): BoundOrganId
}

const hex = (s: string): string => s.replace(/[^0-9a-f]/gi, '').toUpperCase().replace(/^0+(?=.)/, '')

export function createBinding(rule: BindingRule = {}): Binding {
  const attribute = rule.attribute ?? 'UID'
  if (!SUBJECT_ATTRIBUTES[attribute] && !/^\d+(\.\d+)+$/.test(attribute)) {
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: `trust.binding.attribute ${attribute} is neither a known attribute (${Object.keys(SUBJECT_ATTRIBUTES).join(', ')}) nor a dotted OID` })
  }
  let re: RegExp | undefined
  if (rule.pattern !== undefined) {
    try {
      re = new RegExp(rule.pattern, 'u')
    } catch (e) {
      throw gwError('GW_ERR_CONFIG_INVALID', { problems: `trust.binding.pattern is not a regular expression: ${(e as Error).message}` })
    }
  }
  const bySha = new Map<string, string>()
  const byIssuerSerial = new Map<string, string>()
  for (const e of rule.table ?? []) {
    if (e.sha256) bySha.set(e.sha256.replace(/:/g, '').toLowerCase(), e.organId)
    if (e.issuer !== undefined && e.serial !== undefined) byIssuerSerial.set(`${e.issuer}\u0000${hex(e.serial)}`, e.organId)
  }
  const attrRule = `subject ${attribute}${re ? ` ~ /${rule.pattern}/` : ''}`
  return {
    organIdOf(c) {
      const t = bySha.get(c.sha256)
      if (t !== undefined) return { organId: t, rule: 'table (sha256)' }
      const s = byIssuerSerial.get(`${c.summary.issuer}\u0000${hex(c.summary.serial)}`)
      if (s !== undefined) return { organId: s, rule: 'table (issuer and serial)' }
      const v = subjectAttribute(c, attribute)
      if (v === undefined) return { rule: attrRule }
      if (!re) return { organId: v, rule: attrRule }
      const m = re.exec(v)
      if (!m) return { rule: attrRule }
      return { organId: m.groups?.organId ?? m[1] ?? m[0], rule: attrRule }
    },
  }
}
