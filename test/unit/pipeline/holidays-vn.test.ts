/** Vietnam's public holiday table, its merge with the configuration, and the overdue rule that uses it. */
import t from 'tap'
import { holidayCalendar, isCalendarDate, VN_HOLIDAYS, VN_HOLIDAY_YEARS } from '../../../src/pipeline/holidays-vn.js'
import { createOverduePolicy } from '../../../src/pipeline/overdue.js'

const vn = (s: string) => new Date(`${s}+07:00`)
const iso = (d: Date) => d.toISOString()
const weekday = (d: string) => new Date(`${d}T00:00:00Z`).getUTCDay()

t.test('the table: each year has its source, the statutory days, five days of Tết, make-up days on Saturdays', async (t) => {
  t.same(VN_HOLIDAY_YEARS, [2024, 2025, 2026], 'the years with a Government decision')
  for (const y of VN_HOLIDAYS) {
    t.match(y.source, /\d+\/(VPCP-KGVX|TB-BNV)|Bộ LĐTBXH/, `${y.year}: the deciding document is named`)
    const dates = y.holidays.map((d) => d.date)
    t.equal(new Set(dates).size, dates.length, `${y.year}: no day twice`)
    for (const d of [...dates, ...y.workingDays.map((w) => w.date)]) {
      t.ok(isCalendarDate(d) && d.startsWith(`${y.year}-`), `${d} is a date of ${y.year}`)
    }
    // Labour Code art. 112.1: the fixed solar dates
    for (const md of ['01-01', '04-30', '05-01', '09-02']) t.ok(dates.includes(`${y.year}-${md}`), `${y.year}-${md} is a holiday`)
    const tet = y.holidays.filter((d) => d.name.startsWith('Tết Nguyên đán'))
    t.equal(tet.length, 5, `${y.year}: five days of Tết (weekend days of the break not listed)`)
    t.ok(tet.every((d) => weekday(d.date) !== 0 && weekday(d.date) !== 6), `${y.year}: the listed Tết days are weekdays`)
    t.equal(y.holidays.filter((d) => d.name.startsWith('Giỗ Tổ')).length, 1, `${y.year}: Giỗ Tổ Hùng Vương`)
    t.equal(y.holidays.filter((d) => d.name.startsWith('Quốc khánh')).length, 2, `${y.year}: Quốc khánh and one adjacent day`)
    for (const w of y.workingDays) t.equal(weekday(w.date), 6, `${w.date} (make-up) is a Saturday`)
  }
  // dates checked against the decisions
  const days = (y: number) => VN_HOLIDAYS.find((x) => x.year === y)!.holidays.map((d) => d.date)
  t.same(days(2024).filter((d) => d.startsWith('2024-02')), ['2024-02-08', '2024-02-09', '2024-02-12', '2024-02-13', '2024-02-14'])
  t.same(days(2025).filter((d) => d.startsWith('2025-01-2') || d.startsWith('2025-01-3')), ['2025-01-27', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31'])
  t.same(days(2026).filter((d) => d.startsWith('2026-02')), ['2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20'])
  t.ok(days(2026).includes('2026-04-27'), 'Giỗ Tổ 2026 is a Sunday: made up on Monday 27/4 (art. 111.3)')
})

t.test('a document sent before Tết is overdue only after the working days that follow it', async (t) => {
  const p = createOverduePolicy()
  // Tết Bính Ngọ 2026: Mon 16 – Fri 20 February off, with the weekends 14–15 and 21–22
  t.equal(iso(p.dueAt(vn('2026-02-12T10:00:00'))), iso(vn('2026-02-13T17:00:00')), 'Thursday before Tết → Friday 13/2 17:00')
  t.equal(iso(p.dueAt(vn('2026-02-13T09:00:00'))), iso(vn('2026-02-23T17:00:00')), 'Friday before Tết → Monday 23/2, the first working day after Tết')
  t.equal(iso(p.dueAt(vn('2026-02-17T09:00:00'))), iso(vn('2026-02-23T17:00:00')), 'queued during Tết → Monday 23/2')
  // the cutoff agrees: at the end of the Tết week nothing queued Friday 13 is overdue; on Monday 23 at 17:00 it is
  t.ok(p.queuedBefore(vn('2026-02-20T18:00:00')) <= vn('2026-02-13T00:00:00'), 'not overdue during Tết')
  t.ok(p.queuedBefore(vn('2026-02-23T17:00:00')) > vn('2026-02-13T09:00:00'), 'overdue on Monday 23/2 17:00')
  // Tết Ất Tỵ 2025: Mon 27 – Fri 31 January
  t.equal(iso(p.dueAt(vn('2025-01-24T15:00:00'))), iso(vn('2025-02-03T17:00:00')), 'Friday 24/1/2025 → Monday 3/2')
  // the make-up Saturdays are working days, the swapped days are not
  t.equal(iso(p.dueAt(vn('2025-04-25T10:00:00'))), iso(vn('2025-04-26T17:00:00')), 'Friday 25/4/2025 → the make-up Saturday 26/4')
  t.equal(iso(p.dueAt(vn('2025-04-29T10:00:00'))), iso(vn('2025-05-05T17:00:00')), 'Tuesday 29/4/2025 → Monday 5/5 (30/4, 1/5, 2/5 off)')
  t.equal(iso(p.dueAt(vn('2026-08-28T10:00:00'))), iso(vn('2026-09-03T17:00:00')), 'Friday 28/8/2026 → Thursday 3/9 (31/8, 1/9, 2/9 off)')
  t.match(p.description, /Vietnam's table for 2024-2026/)
  t.match(p.descriptionVi, /2024–2026/)
})

t.test('the configuration adds and removes days; builtInHolidays: false leaves only its own', async (t) => {
  // an agency that works on the swapped Monday 31/8/2026 and not on the make-up Saturday 22/8
  const p = createOverduePolicy({ removeDays: ['2026-08-31', '2026-08-22'], holidays: ['2027-02-05', '2027-02-08'], extraWorkingDays: ['2027-01-30'] })
  t.equal(iso(p.dueAt(vn('2026-08-28T10:00:00'))), iso(vn('2026-08-31T17:00:00')), 'the removed holiday is a working day')
  t.equal(iso(p.dueAt(vn('2026-08-21T10:00:00'))), iso(vn('2026-08-24T17:00:00')), 'the removed make-up Saturday is a day off')
  t.equal(iso(p.dueAt(vn('2027-02-04T10:00:00'))), iso(vn('2027-02-09T17:00:00')), 'days added for a year the table does not have')
  t.equal(iso(p.dueAt(vn('2027-01-29T10:00:00'))), iso(vn('2027-01-30T17:00:00')), 'an added make-up Saturday')
  const own = createOverduePolicy({ builtInHolidays: false })
  t.equal(iso(own.dueAt(vn('2026-02-13T09:00:00'))), iso(vn('2026-02-16T17:00:00')), 'without the table, Tết is a working week')
  t.same(holidayCalendar({ builtIn: false }).years, [])
})

t.test('configuration errors name the setting and say what to write', async (t) => {
  const problems = (s: Parameters<typeof holidayCalendar>[0]) => holidayCalendar(s).problems
  t.match(problems({ holidays: ['2026-02-30'] }), [/^overdue\.holidays\.0 "2026-02-30" is not a calendar date: write a date as yyyy-MM-dd/])
  t.match(problems({ removeDays: ['2026-03-03'] }), [/^overdue\.removeDays\.0 2026-03-03 is not in the built-in holiday table \(2026: 2026-01-01, 2026-02-16/])
  t.match(problems({ removeDays: ['2028-01-01'] }), [/it has no table for 2028; covered: 2024, 2025, 2026/])
  t.match(problems({ holidays: ['2027-02-08'], extraWorkingDays: ['2027-02-08'] }), [/^overdue\.extraWorkingDays\.0 2027-02-08 is also in overdue\.holidays/])
  t.match(problems({ holidays: ['2026-04-30'], removeDays: ['2026-04-30'] }), [/^overdue\.holidays\.0 2026-04-30 is also in overdue\.removeDays/])
  t.match(problems({ builtIn: false, removeDays: ['2026-04-30'] }), [/builtInHolidays is false/])
  t.same(problems({}), [])
  t.throws(() => createOverduePolicy({ removeDays: ['2026-03-03'] }), { code: 'GW_ERR_CONFIG_INVALID', message: /overdue\.removeDays\.0/ })
})
