/**
 * Overdue deliveries: a recipient that has not answered 01 ("arrived") in time.
 *
 * Decree 30/2020/NĐ-CP art. 21.2.c has the receiving agency tell the sender, through the system, on the day the
 * document arrives; Decision 28/2018/QĐ-TTg and Decree 30 art. 18.1 allow sending until the next working day. The
 * 01 is automatic (sent when the package is stored), so a missing 01 means the recipient's gateway did not get or
 * could not take the document. The default alarm is lenient, "by the end of the next working day" in Vietnam time
 * (UTC+7, no daylight saving), so a document sent late in the day is not flagged overnight:
 *
 * - working days are Monday to Friday, minus Vietnam's public holidays (the built-in table of ./holidays-vn.ts:
 *   the years with a Government decision, Tết included, with their make-up Saturdays), plus or minus the
 *   configuration: `holidays` adds days off, `extraWorkingDays` adds make-up working days, `removeDays` takes days
 *   of the table away, `builtInHolidays: false` leaves only the configured days;
 * - the end of a working day is 17:00 (`endOfDay`, "HH:MM"): the end of office hours of state agencies, when
 *   someone can still act on the alert the same day. 23:59 is accepted for a more lenient reading;
 * - a delivery queued (confirmed by the broker) on local day D is due at `endOfDay` of the first working day after
 *   D, whatever the hour on D (queued Friday 16:00 or 20:00, or Saturday → due Monday 17:00).
 *
 * `{ policy: 'hours', hours: N }` is the alternative: due N hours after it was queued, calendar time.
 *
 * Only deliveries in state `queued` (confirmed, no 01/03… since) are overdue; a delivery still `accepted` is
 * outbox backlog (a broker problem), not a silent recipient.
 */
import { gwError } from '../errors.js'
import { holidayCalendar } from './holidays-vn.js'
import type { DeliveryWithPackage, Store } from '../store/index.js'

export interface OverduePolicyConfig {
  /** `next-working-day` (default) or `hours`. */
  policy?: 'next-working-day' | 'hours'
  /** For `hours`: hours after queuing. Default 24. */
  hours?: number
  /** End of the working day, local time "HH:MM". Default "17:00". */
  endOfDay?: string
  /** Use the built-in table of Vietnam's public holidays (./holidays-vn.ts). Default true. */
  builtInHolidays?: boolean
  /** More public holidays (yyyy-mm-dd, local dates): not working days. */
  holidays?: readonly string[]
  /** More make-up working days (yyyy-mm-dd, usually Saturdays): working days although at a weekend. */
  extraWorkingDays?: readonly string[]
  /** Days of the built-in table that do not apply (yyyy-mm-dd). */
  removeDays?: readonly string[]
  /** Offset of local time from UTC in minutes. Default 420 (Vietnam, UTC+7). */
  utcOffsetMinutes?: number
}

export interface OverduePolicy {
  /** When a delivery queued at `queuedAt` must have been answered with 01. */
  dueAt(queuedAt: Date): Date
  /** Deliveries queued strictly before this instant are overdue at `now` (dueAt is monotone in queuedAt). */
  queuedBefore(now: Date): Date
  readonly description: string
  /** The same in Vietnamese, for the operator console. */
  readonly descriptionVi: string
}

const DAY = 86_400_000
const dayKey = (localMidnightMs: number): string => new Date(localMidnightMs).toISOString().slice(0, 10)

export function createOverduePolicy(cfg: OverduePolicyConfig = {}): OverduePolicy {
  const offset = (cfg.utcOffsetMinutes ?? 420) * 60_000
  if (cfg.policy === 'hours') {
    const hours = cfg.hours ?? 24
    if (!(hours > 0)) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `overdue.hours must be positive, not ${hours}` })
    const ms = hours * 3_600_000
    return {
      description: `${hours} h after the broker confirmed it`,
      descriptionVi: `${hours} giờ sau khi mạng liên thông lienthong xác nhận nhận gói (tính cả ngày nghỉ)`,
      dueAt: (q) => new Date(q.getTime() + ms),
      // due <= now  <=>  q + ms <= now  <=>  q < now - ms + 1
      queuedBefore: (now) => new Date(now.getTime() - ms + 1),
    }
  }
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(cfg.endOfDay ?? '17:00')
  if (!m) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `overdue.endOfDay must be HH:MM, not ${cfg.endOfDay}` })
  const eod = (Number(m[1]) * 60 + Number(m[2])) * 60_000
  const cal = holidayCalendar({
    ...(cfg.builtInHolidays !== undefined ? { builtIn: cfg.builtInHolidays } : {}),
    ...(cfg.holidays ? { holidays: cfg.holidays } : {}),
    ...(cfg.extraWorkingDays ? { extraWorkingDays: cfg.extraWorkingDays } : {}),
    ...(cfg.removeDays ? { removeDays: cfg.removeDays } : {}),
  })
  if (cal.problems.length) throw gwError('GW_ERR_CONFIG_INVALID', { problems: cal.problems.join('; ') })
  const holidays = cal.holidays
  const extra = cal.workingDays
  const years = cal.years.length ? `${cal.years[0]}-${cal.years[cal.years.length - 1]}` : ''
  /** `d` = a local day as the UTC ms of its local midnight shifted to UTC midnight (i.e. local date arithmetic). */
  const working = (d: number): boolean => {
    const key = dayKey(d)
    if (extra.has(key)) return true
    const wd = new Date(d).getUTCDay()
    return wd !== 0 && wd !== 6 && !holidays.has(key)
  }
  const localDay = (t: Date): number => Math.floor((t.getTime() + offset) / DAY) * DAY
  const dueOfDay = (d: number): number => {
    let n = d + DAY
    for (let i = 0; i < 366 && !working(n); i++) n += DAY
    return n + eod - offset
  }
  return {
    description: `end of the next working day (${cfg.endOfDay ?? '17:00'} UTC${offset >= 0 ? '+' : '-'}${Math.abs(offset / 3_600_000)}, Mon-Fri, ${holidays.size} holidays${years ? `: Vietnam's table for ${years}` : ''}${cfg.holidays?.length ? ` and ${cfg.holidays.length} configured` : ''})`,
    descriptionVi: `trước ${cfg.endOfDay ?? '17:00'} (giờ UTC${offset >= 0 ? '+' : '-'}${Math.abs(offset / 3_600_000)}) của ngày làm việc kế tiếp sau khi mạng liên thông lienthong xác nhận nhận gói; ngày làm việc là thứ Hai đến thứ Sáu, trừ ${holidays.size} ngày nghỉ lễ, tết${years ? ` (theo quyết định của Chính phủ cho các năm ${years.replace('-', '–')}` : ' (đã cấu hình'}${cfg.holidays?.length ? `, thêm ${cfg.holidays.length} ngày cấu hình` : ''})${extra.size ? `, thêm ${extra.size} ngày làm bù` : ''}`,
    dueAt: (q) => new Date(dueOfDay(localDay(q))),
    queuedBefore(now) {
      // the latest local day whose deliveries are all due by now; everything queued before the next midnight is late
      let d = localDay(now)
      for (let i = 0; i < 400; i++, d -= DAY) {
        if (dueOfDay(d) <= now.getTime()) return new Date(d + DAY - offset)
      }
      return new Date(d - offset)
    },
  }
}

export interface OverdueDelivery {
  deliveryId: string
  packageId: string
  documentId: string
  sender: string
  recipient: string
  subject?: string
  code?: string
  queuedAt: string
  dueAt: string
  /** How late, in whole minutes. */
  overdueMinutes: number
}

export interface OverdueQuery {
  now: Date
  recipient?: string
  senderOrganId?: string
  cursor?: string
  limit: number
}

/** One page of overdue deliveries (newest first), each with its due time. */
export async function listOverdue(store: Store, policy: OverduePolicy, q: OverdueQuery): Promise<{ items: OverdueDelivery[]; next?: string }> {
  const page = await store.listDeliveries({
    state: 'queued',
    kind: 'edoc',
    queuedBefore: policy.queuedBefore(q.now),
    limit: q.limit,
    ...(q.recipient !== undefined ? { recipient: q.recipient } : {}),
    ...(q.senderOrganId !== undefined ? { senderOrganId: q.senderOrganId } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  })
  const items = page.items.map((d) => overdueItem(d, policy, q.now))
  return page.next ? { items, next: page.next } : { items }
}

function overdueItem(d: DeliveryWithPackage, policy: OverduePolicy, now: Date): OverdueDelivery {
  const queuedAt = d.queuedAt ?? d.updatedAt
  const due = policy.dueAt(new Date(queuedAt))
  const code = [d.codeNumber, d.codeNotation].filter(Boolean).join('/')
  return {
    deliveryId: d.id,
    packageId: d.packageId,
    documentId: d.documentId,
    sender: d.senderOrganId,
    recipient: d.recipient,
    ...(d.subject !== undefined ? { subject: d.subject } : {}),
    ...(code ? { code } : {}),
    queuedAt,
    dueAt: due.toISOString(),
    overdueMinutes: Math.max(0, Math.floor((now.getTime() - due.getTime()) / 60_000)),
  }
}

/** How many deliveries are overdue (pages through at most `cap` rows; returns `capped` when there were more). */
export async function countOverdue(store: Store, policy: OverduePolicy, now: Date, cap = 100_000): Promise<{ count: number; capped: boolean }> {
  let count = 0
  let cursor: string | undefined
  const queuedBefore = policy.queuedBefore(now)
  for (;;) {
    const page = await store.listDeliveries({ state: 'queued', kind: 'edoc', queuedBefore, limit: 1000, ...(cursor ? { cursor } : {}) })
    count += page.items.length
    if (!page.next) return { count, capped: false }
    if (count >= cap) return { count, capped: true }
    cursor = page.next
  }
}
