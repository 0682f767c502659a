// Codes and values as display text. The labels are the module the gateway generates at start
// (/console/labels.js, from src/errors.ts, src/document/delivery.ts and src/signature/verdict.ts): states with their
// status code, status codes, verdicts, catalogue errors, event types. Dates are shown in Vietnam time.

import LABELS from './labels.js'

export { LABELS }

const TZ = 'Asia/Ho_Chi_Minh'

/** A state's label with its status code and English name beside it, e.g. `Đã đến (01, delivered)`. */
export function stateInfo(state, direction) {
  const { out, in: incoming } = LABELS.states
  const hit = (direction === 'in' ? incoming : out)[state] ?? out[state] ?? incoming[state]
  if (!hit) return { text: state, tone: 'neutral' }
  return { text: hit.code ? `${hit.label} (${hit.code}, ${state})` : `${hit.label} (${state})`, tone: hit.tone, code: hit.code }
}

export const statusText = (code) => (LABELS.statusCodes[code] ? `${LABELS.statusCodes[code]} (${code})` : String(code))

/**
 * A verdict or receive code with its label, e.g. `Chứng thư không được tin cậy (UNTRUSTED_CHAIN)`; a code of the
 * error catalogue as itself, with the catalogue's message (`hint`) and what to do about it (`solve`).
 */
export function verdictInfo(code) {
  const c = String(code)
  const v = LABELS.verdicts[c]
  if (v) return { text: `${v.label} (${c})`, tone: v.tone }
  const e = LABELS.errors[c]
  if (e) return { text: c, tone: e.retryable ? 'warn' : 'err', ...(e.label ? { hint: e.label } : {}), solve: e.solve }
  return { text: c, tone: /^GW_ERR_/.test(c) ? 'err' : 'neutral' }
}

const dateFmt = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

/** "25/11/2026 14:05:03" in Vietnam time. */
export function fmtTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  const p = Object.fromEntries(dateFmt.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.day}/${p.month}/${p.year} ${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`
}

export function fmtMinutes(min) {
  const m = Math.max(0, Math.round(Number(min) || 0))
  const d = Math.floor(m / 1440)
  const hh = Math.floor((m % 1440) / 60)
  const mm = m % 60
  return [d ? `${d} ngày` : '', hh ? `${hh} giờ` : '', !d && mm ? `${mm} phút` : ''].filter(Boolean).join(' ') || '0 phút'
}
