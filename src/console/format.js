// Codes and values as display text. The labels are the module the gateway generates at start
// (/console/labels.js, from src/errors.ts, src/document/delivery.ts, src/signature/ and src/api/labels-vi.ts): states
// with their status code, status codes, verdicts, catalogue errors, event types, causes, actors. Everything here
// returns Vietnamese text; the English of the gateway (state names, catalogue messages, causes) is returned apart
// (`hint`, `en`) for a tooltip or the "chi tiết kỹ thuật" fold. Dates: one format, dd/MM/yyyy HH:mm, Vietnam time.

import LABELS from './labels.js'

export { LABELS }

const TZ = 'Asia/Ho_Chi_Minh'

/** A state's label with its status code, e.g. `Đã đến (01)`; the gateway's name of the state as the tooltip. */
export function stateInfo(state, direction) {
  const { out, in: incoming } = LABELS.states
  const hit = (direction === 'in' ? incoming : out)[state] ?? out[state] ?? incoming[state]
  if (!hit) return { text: String(state), tone: 'neutral' }
  return { text: hit.code ? `${hit.label} (${hit.code})` : hit.label, tone: hit.tone, code: hit.code, hint: state }
}

export const statusText = (code) => (LABELS.statusCodes[code] ? `${LABELS.statusCodes[code]} (${code})` : String(code))

/** A catalogue code: its Vietnamese label followed by the code; English message and how-to in `en` / `solveEn`. */
export function errorInfo(code) {
  const e = LABELS.errors[code]
  if (!e) return undefined
  return { text: `${e.label} (${code})`, label: e.label, tone: e.retryable ? 'warn' : 'err', hint: e.en || undefined, solve: e.solve, solveEn: e.solveEn, en: e.en }
}

/**
 * A verdict or stored refusal code with its label, e.g. `Chứng thư không được tin cậy (UNTRUSTED_CHAIN)`; a code of
 * the error catalogue with its Vietnamese label and what to do about it (`solve`).
 */
export function verdictInfo(code) {
  const c = String(code)
  const v = LABELS.verdicts[c]
  const e = LABELS.errors[c] ?? LABELS.errors[`GW_ERR_RECEIVE_${c}`]
  if (v) return { text: `${v.label} (${c})`, label: v.label, tone: v.tone, ...(e ? { hint: e.en || undefined, solve: e.solve, solveEn: e.solveEn } : {}) }
  return errorInfo(c) ?? { text: c, tone: /^GW_ERR_/.test(c) ? 'err' : 'neutral' }
}

/**
 * A verdict's ETSI EN 319 102-1 indication as one line, e.g. `Chưa xác định được: chứng thư đã bị chấm dứt hiệu
 * lực, … — INDETERMINATE / REVOKED_NO_POE`: the verdict's own `etsi` (a refused package's in `signature.etsi`),
 * else the table by code for verdicts stored before they carried it.
 */
export function etsiText(v) {
  if (!v || typeof v !== 'object') return undefined
  const sig = v.etsi ? v : v.signature && typeof v.signature === 'object' ? v.signature : v
  let e = sig.etsi
  if (!e && typeof sig.code === 'string') {
    e = LABELS.etsi.byCode[sig.code]
    if (e && sig.code === 'VALID' && sig.revocation?.status && sig.revocation.status !== 'good') e = { indication: 'INDETERMINATE', subIndication: 'TRY_LATER' }
  }
  if (!e?.indication) return undefined
  const vi = LABELS.etsi.indications[e.indication] ?? e.indication
  const sub = e.subIndication ? LABELS.etsi.subIndications[e.subIndication] : undefined
  return `${vi}${sub ? `: ${sub}` : ''} — ${e.indication}${e.subIndication ? ` / ${e.subIndication}` : ''}`
}

/**
 * A stored reason (a code, a colon, the English message) as its Vietnamese label
 * and code; the English text stays in `en`. A reason without a code (the description of a 02) is the peer's words,
 * shown as they are.
 */
export function reasonInfo(reason) {
  if (!reason) return undefined
  const m = /^((?:GW_ERR_)?[A-Z][A-Z0-9_]+)(?::\s*(.*))?$/s.exec(String(reason))
  if (m) {
    const info = verdictInfo(m[1])
    if (info.label) return { ...info, en: m[2] ? m[2] : info.hint }
  }
  return { text: String(reason), tone: 'neutral' }
}

const causePatterns = LABELS.causes.map(([p, vi]) => [new RegExp(`^(?:${p})$`, 's'), vi])

/**
 * A log event's cause in Vietnamese (`vi`), with the English original (`en`). Every cause the gateway writes has its
 * pattern (test/unit/console-labels.test.ts); any other is a person's own words (an operator's note, the reason of a
 * recall) and is shown as it is.
 */
export function causeInfo(cause) {
  if (!cause) return undefined
  for (const [re, vi] of causePatterns) {
    const m = re.exec(cause)
    if (!m) continue
    const g = m.groups ?? {}
    const text = vi.replace(/\{(\w+)\}/g, (_, k) => {
      const v = g[k] ?? ''
      if (k === 'code') return verdictInfo(v).label ? verdictInfo(v).text : v
      if (k === 'author') return agencyText(v)
      return v
    })
    return { vi: text, en: cause }
  }
  return { vi: cause }
}

// ---- agencies --------------------------------------------------------------------------------------------------

const agencies = new Map()

/** The directory of agencies (GET /v1/operator/agencies): OrganId → { name, hosted }. */
export function setAgencies(list) {
  agencies.clear()
  for (const a of list ?? []) agencies.set(String(a.organId).toUpperCase(), a)
}

export const agencyName = (organId) => (organId ? agencies.get(String(organId).toUpperCase())?.name : undefined)

/** "Văn phòng Chính phủ (000.00.00.G22)", or the code alone when the agency is not in the directory. */
export function agencyText(organId) {
  if (!organId) return ''
  const name = agencyName(organId)
  return name ? `${name} (${organId})` : String(organId)
}

/** Who did it: `operator:lan` → `Vận hành viên lan`, `peer:X` → the agency by name, `client:x` → the DMS. */
export function actorText(actor) {
  if (!actor) return ''
  const [kind, ...rest] = String(actor).split(':')
  const id = rest.join(':')
  if (kind === 'system') return LABELS.actors.system
  if (kind === 'peer') return id ? agencyText(id) : LABELS.actors.peer
  if (kind === 'client') return `${LABELS.actors.client} ${id}`.trim()
  if (kind === 'operator') return `${LABELS.actors.operator} ${id}`.trim()
  if (kind === 'vxp') return `${LABELS.actors.vxp ?? 'VXP'} ${id}`.trim()
  return String(actor)
}

// ---- dates -----------------------------------------------------------------------------------------------------

const dateFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/** The one date format of the console: "25/11/2026 14:05" in Vietnam time. */
export function fmtTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  const p = Object.fromEntries(dateFmt.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.day}/${p.month}/${p.year} ${p.hour === '24' ? '00' : p.hour}:${p.minute}`
}

/** An edXML date (`2026/11/25`, `2026-11-25`) as dd/MM/yyyy. */
export function fmtDate(value) {
  const m = /^(\d{4})[/-](\d{2})[/-](\d{2})/.exec(String(value ?? ''))
  return m ? `${m[3]}/${m[2]}/${m[1]}` : String(value ?? '')
}

export function fmtMinutes(min) {
  const m = Math.max(0, Math.round(Number(min) || 0))
  const d = Math.floor(m / 1440)
  const hh = Math.floor((m % 1440) / 60)
  const mm = m % 60
  return [d ? `${d} ngày` : '', hh ? `${hh} giờ` : '', !d && mm ? `${mm} phút` : ''].filter(Boolean).join(' ') || '0 phút'
}
