/**
 * Vietnam's public holidays (ngày nghỉ lễ, tết) for state agencies, as the overdue rule counts working days
 * (src/pipeline/overdue.ts). Pure data and a merge with the configuration; no I/O.
 *
 * The law: Labour Code 2019 (Bộ luật Lao động 45/2019/QH14) art. 112.1 gives 11 days: Tết Dương lịch (1/1), Tết Âm
 * lịch (5 days), Chiến thắng (30/4), Quốc tế lao động (1/5), Quốc khánh (2/9 and one day before or after it), Giỗ
 * Tổ Hùng Vương (10/3 of the lunar calendar). Art. 111.3: a holiday on a weekly day off is made up on the next
 * working day. Which 5 days of Tết, which day beside 2/9, and any swap of a working day for a bridge (with a
 * make-up Saturday) are decided each year by the Prime Minister on the proposal of the Ministry of Labour, War
 * Invalids and Social Affairs (Bộ LĐTBXH) or, since March 2025, the Ministry of Home Affairs (Bộ Nội vụ), for
 * cán bộ, công chức, viên chức; enterprises may choose otherwise.
 *
 * Each year below is the schedule of state agencies (cơ quan hành chính nhà nước) with the document that fixed it.
 * Weekend days inside a break are not listed (they are not working days anyway), except a statutory holiday that
 * falls on one. A year not listed has no table here: it has no decision yet, or one this table does not have; add
 * its days with `overdue.holidays` / `overdue.extraWorkingDays` until the table is updated (docs/design.md,
 * "Overdue"). Update this table when the Government's notice for the next year is published (usually October to
 * December for the next Tết and Quốc khánh, March to April for a 30/4 swap).
 */

export interface HolidayDay {
  /** Local date, yyyy-mm-dd. */
  date: string
  /** What the day is, in Vietnamese. */
  name: string
}

export interface HolidayYear {
  year: number
  /** The documents that fixed the year's days (issuer, number, date), in Vietnamese. */
  source: string
  /** Days off on which state agencies do not work. */
  holidays: readonly HolidayDay[]
  /** Make-up working days (usually a Saturday) given for a swapped bridge day. */
  workingDays: readonly HolidayDay[]
}

const TET = 'Tết Nguyên đán'
const GIO_TO = 'Giỗ Tổ Hùng Vương (10/3 âm lịch)'

export const VN_HOLIDAYS: readonly HolidayYear[] = Object.freeze([
  {
    year: 2024,
    source:
      'Bộ LĐTBXH: thông báo lịch nghỉ Tết Âm lịch Giáp Thìn và Quốc khánh 2024 theo ý kiến Thủ tướng Chính phủ (11/2023: Tết 08/02–14/02, Quốc khánh 02/9 và 03/9); Văn phòng Chính phủ công văn 2450/VPCP-KGVX ngày 12/4/2024 (hoán đổi thứ Hai 29/4, làm bù thứ Bảy 04/5)',
    holidays: [
      { date: '2024-01-01', name: 'Tết Dương lịch' },
      { date: '2024-02-08', name: `${TET} (29 tháng Chạp)` },
      { date: '2024-02-09', name: `${TET} (30 tháng Chạp)` },
      { date: '2024-02-12', name: `${TET} (mùng 3)` },
      { date: '2024-02-13', name: `${TET} (mùng 4, nghỉ bù mùng 1 là thứ Bảy)` },
      { date: '2024-02-14', name: `${TET} (mùng 5, nghỉ bù mùng 2 là Chủ nhật)` },
      { date: '2024-04-18', name: GIO_TO },
      { date: '2024-04-29', name: 'Nghỉ hoán đổi dịp 30/4 – 1/5 (làm bù thứ Bảy 04/5)' },
      { date: '2024-04-30', name: 'Ngày Chiến thắng' },
      { date: '2024-05-01', name: 'Ngày Quốc tế lao động' },
      { date: '2024-09-02', name: 'Quốc khánh' },
      { date: '2024-09-03', name: 'Quốc khánh (ngày liền kề)' },
    ],
    workingDays: [{ date: '2024-05-04', name: 'Làm bù cho thứ Hai 29/4' }],
  },
  {
    year: 2025,
    source:
      'Văn phòng Chính phủ công văn 8726/VPCP-KGVX ngày 26/11/2024 (Thủ tướng đồng ý đề xuất của Bộ LĐTBXH: Tết 27/01–31/01, nghỉ 30/4–04/5 với hoán đổi thứ Sáu 02/5, làm bù thứ Bảy 26/4; Quốc khánh 01/9 và 02/9)',
    holidays: [
      { date: '2025-01-01', name: 'Tết Dương lịch' },
      { date: '2025-01-27', name: `${TET} (28 tháng Chạp)` },
      { date: '2025-01-28', name: `${TET} (29 tháng Chạp)` },
      { date: '2025-01-29', name: `${TET} (mùng 1)` },
      { date: '2025-01-30', name: `${TET} (mùng 2)` },
      { date: '2025-01-31', name: `${TET} (mùng 3)` },
      { date: '2025-04-07', name: GIO_TO },
      { date: '2025-04-30', name: 'Ngày Chiến thắng' },
      { date: '2025-05-01', name: 'Ngày Quốc tế lao động' },
      { date: '2025-05-02', name: 'Nghỉ hoán đổi dịp 30/4 – 1/5 (làm bù thứ Bảy 26/4)' },
      { date: '2025-09-01', name: 'Quốc khánh (ngày liền kề)' },
      { date: '2025-09-02', name: 'Quốc khánh' },
    ],
    workingDays: [{ date: '2025-04-26', name: 'Làm bù cho thứ Sáu 02/5' }],
  },
  {
    year: 2026,
    source:
      'Bộ Nội vụ thông báo 9441/TB-BNV ngày 16/10/2025 (Tết 16/02–20/02; Quốc khánh 01/9 và 02/9, hoán đổi thứ Hai 31/8, làm bù thứ Bảy 22/8); Giỗ Tổ 26/4 là Chủ nhật: nghỉ bù thứ Hai 27/4 theo Bộ luật Lao động điều 111.3; Tết Dương lịch, 30/4 và 1/5 theo điều 112.1',
    holidays: [
      { date: '2026-01-01', name: 'Tết Dương lịch' },
      { date: '2026-02-16', name: `${TET} (29 tháng Chạp)` },
      { date: '2026-02-17', name: `${TET} (mùng 1)` },
      { date: '2026-02-18', name: `${TET} (mùng 2)` },
      { date: '2026-02-19', name: `${TET} (mùng 3)` },
      { date: '2026-02-20', name: `${TET} (mùng 4)` },
      { date: '2026-04-26', name: `${GIO_TO}, Chủ nhật` },
      { date: '2026-04-27', name: 'Nghỉ bù Giỗ Tổ Hùng Vương' },
      { date: '2026-04-30', name: 'Ngày Chiến thắng' },
      { date: '2026-05-01', name: 'Ngày Quốc tế lao động' },
      { date: '2026-08-31', name: 'Nghỉ hoán đổi dịp Quốc khánh (làm bù thứ Bảy 22/8)' },
      { date: '2026-09-01', name: 'Quốc khánh (ngày liền kề)' },
      { date: '2026-09-02', name: 'Quốc khánh' },
    ],
    workingDays: [{ date: '2026-08-22', name: 'Làm bù cho thứ Hai 31/8' }],
  },
])

/** The years the built-in table covers. */
export const VN_HOLIDAY_YEARS: readonly number[] = VN_HOLIDAYS.map((y) => y.year)

export interface HolidaySettings {
  /** Use the built-in table (default true). */
  builtIn?: boolean
  /** More days off (yyyy-mm-dd): holidays of a year the table does not have, an agency's own day. */
  holidays?: readonly string[]
  /** More make-up working days (yyyy-mm-dd). */
  extraWorkingDays?: readonly string[]
  /** Days of the built-in table that do not apply: a listed holiday becomes a working day, a make-up day a day off. */
  removeDays?: readonly string[]
}

export interface HolidayCalendar {
  holidays: ReadonlySet<string>
  workingDays: ReadonlySet<string>
  /** The years of the built-in table in use (empty with `builtIn: false`). */
  years: readonly number[]
  /** What is wrong with the settings, each naming the setting (empty when none). */
  problems: string[]
}

/** A real calendar date written yyyy-mm-dd (2026-02-30 is not). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.toISOString().slice(0, 10) === s
}

/**
 * The built-in table merged with the settings: `holidays` and `extraWorkingDays` add, `removeDays` takes days of the
 * table away. Problems (each naming its setting under `prefix`): a date that is not a real calendar date, a day both
 * added as a holiday and as a working day, a removed day the table does not have, a day both added and removed.
 */
export function holidayCalendar(s: HolidaySettings = {}, prefix = 'overdue'): HolidayCalendar {
  const problems: string[] = []
  const builtIn = s.builtIn !== false
  const table = builtIn ? VN_HOLIDAYS : []
  const holidays = new Set(table.flatMap((y) => y.holidays.map((d) => d.date)))
  const workingDays = new Set(table.flatMap((y) => y.workingDays.map((d) => d.date)))
  const dates = (name: 'holidays' | 'extraWorkingDays' | 'removeDays'): string[] => {
    const list = s[name] ?? []
    list.forEach((d, i) => {
      if (!isCalendarDate(d)) problems.push(`${prefix}.${name}.${i} ${JSON.stringify(d)} is not a calendar date: write a date as yyyy-MM-dd (e.g. 2027-02-08)`)
    })
    return list.filter(isCalendarDate)
  }
  const add = dates('holidays')
  const extra = dates('extraWorkingDays')
  const remove = dates('removeDays')
  const removed = new Set<string>()
  remove.forEach((d, i) => {
    if (!builtIn) problems.push(`${prefix}.removeDays.${i} ${d}: nothing to remove, builtInHolidays is false (list only your own days in ${prefix}.holidays)`)
    else if (holidays.delete(d) || workingDays.delete(d)) removed.add(d)
    else {
      const year = VN_HOLIDAYS.find((y) => y.year === Number(d.slice(0, 4)))
      problems.push(
        `${prefix}.removeDays.${i} ${d} is not in the built-in holiday table` +
          (year ? ` (${year.year}: ${[...year.holidays, ...year.workingDays].map((x) => x.date).join(', ')})` : ` (it has no table for ${d.slice(0, 4)}; covered: ${VN_HOLIDAY_YEARS.join(', ')})`),
      )
    }
  })
  add.forEach((d, i) => {
    if (removed.has(d)) problems.push(`${prefix}.holidays.${i} ${d} is also in ${prefix}.removeDays: keep it in one list`)
    holidays.add(d)
  })
  extra.forEach((d, i) => {
    if (add.includes(d)) problems.push(`${prefix}.extraWorkingDays.${i} ${d} is also in ${prefix}.holidays: a day is a holiday or a working day, not both`)
    else if (removed.has(d)) problems.push(`${prefix}.extraWorkingDays.${i} ${d} is also in ${prefix}.removeDays: keep it in one list`)
    holidays.delete(d)
    workingDays.add(d)
  })
  // a table holiday the configuration makes a working day is no holiday any more
  for (const d of workingDays) holidays.delete(d)
  return { holidays, workingDays, years: table.map((y) => y.year), problems }
}
