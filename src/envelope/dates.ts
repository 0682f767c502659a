/**
 * Dates and timestamps of edXML (docs/edxml.md §a.5). Emit `yyyy/MM/dd` and `yyyy/MM/dd HH:mm:ss` in Vietnam time
 * (UTC+7, no zone); accept `dd/MM/yyyy`, `yyyy-MM-dd` (optionally with a time, `T` or space separated) and a date
 * alone where a timestamp is expected. A value written with a zone (`2026-12-01T01:00:00Z`, `…+09:00`) is that
 * instant in Vietnam time (`2026/12/01 08:00:00`); one without a zone is Vietnam time already.
 */
import type { DateValue } from '../document/edxml.js'

const VN_OFFSET_MS = 7 * 3600 * 1000
const p2 = (n: number): string => (n < 10 ? '0' : '') + n
const p4 = (n: number): string => String(n).padStart(4, '0')

/** `yyyy/MM/dd` of an instant, in Vietnam time. */
export function formatDate(d: Date): string {
  const v = new Date(d.getTime() + VN_OFFSET_MS)
  return `${p4(v.getUTCFullYear())}/${p2(v.getUTCMonth() + 1)}/${p2(v.getUTCDate())}`
}

/** `yyyy/MM/dd HH:mm:ss` of an instant, in Vietnam time (UTC+7, written without zone). */
export function formatTimestamp(d: Date): string {
  const v = new Date(d.getTime() + VN_OFFSET_MS)
  return `${formatDate(d)} ${p2(v.getUTCHours())}:${p2(v.getUTCMinutes())}:${p2(v.getUTCSeconds())}`
}

function validYmd(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false
  const dim = new Date(Date.UTC(y, m, 0)).getUTCDate()
  return d <= dim
}

const RE_YMD = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/
const RE_DMY = /^(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/

interface Parts {
  y: number
  m: number
  d: number
  time?: [number, number, number]
}

function parts(raw: string): Parts | undefined {
  let m = RE_YMD.exec(raw)
  let y: number, mo: number, d: number
  if (m) {
    y = Number(m[1])
    mo = Number(m[2])
    d = Number(m[3])
  } else {
    m = RE_DMY.exec(raw)
    if (!m) return undefined
    d = Number(m[1])
    mo = Number(m[2])
    y = Number(m[3])
  }
  if (!validYmd(y, mo, d)) return undefined
  const out: Parts = { y, m: mo, d }
  if (m[4] !== undefined) {
    const hh = Number(m[4])
    const mm = Number(m[5])
    const ss = m[6] === undefined ? 0 : Number(m[6])
    if (hh > 23 || mm > 59 || ss > 59) return undefined
    out.time = [hh, mm, ss]
    // a zone (`Z`, `+hh:mm`) names another clock: the value is that instant in Vietnam time
    if (m[7] !== undefined) return inVietnamTime(out, zoneOffsetMs(m[7]))
  }
  return out
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!
  return (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000
}

function inVietnamTime(p: Parts, offsetMs: number): Parts {
  const [hh, mm, ss] = p.time!
  const v = new Date(Date.UTC(p.y, p.m - 1, p.d, hh, mm, ss) - offsetMs + VN_OFFSET_MS)
  return { y: v.getUTCFullYear(), m: v.getUTCMonth() + 1, d: v.getUTCDate(), time: [v.getUTCHours(), v.getUTCMinutes(), v.getUTCSeconds()] }
}

/** Normalise a received date to `yyyy/MM/dd` (`undefined` when unreadable). A time part is ignored. */
export function normaliseDate(raw: string): string | undefined {
  const p = parts(raw.trim())
  return p && `${p4(p.y)}/${p2(p.m)}/${p2(p.d)}`
}

/** Normalise a received timestamp to `yyyy/MM/dd HH:mm:ss` (a date alone gives `00:00:00`). */
export function normaliseTimestamp(raw: string): string | undefined {
  const p = parts(raw.trim())
  if (!p) return undefined
  const [hh, mm, ss] = p.time ?? [0, 0, 0]
  return `${p4(p.y)}/${p2(p.m)}/${p2(p.d)} ${p2(hh)}:${p2(mm)}:${p2(ss)}`
}

export const emptyDate = (): DateValue => ({ value: '', raw: '' })
