import t from 'tap'
import { createOverduePolicy } from '../../../src/pipeline/overdue.js'

const vn = (s: string) => new Date(`${s}+07:00`)
const iso = (d: Date) => d.toISOString()

t.test('next working day, 17:00 Vietnam time: weekdays, weekend, late hours, local midnight', async (t) => {
  const p = createOverduePolicy()
  // 2026-11-23 is a Monday
  t.equal(iso(p.dueAt(vn('2026-11-23T09:00:00'))), iso(vn('2026-11-24T17:00:00')), 'Monday → Tuesday 17:00')
  t.equal(iso(p.dueAt(vn('2026-11-26T23:59:59'))), iso(vn('2026-11-27T17:00:00')), 'Thursday late → Friday 17:00')
  t.equal(iso(p.dueAt(vn('2026-11-27T08:00:00'))), iso(vn('2026-11-30T17:00:00')), 'Friday → Monday 17:00')
  t.equal(iso(p.dueAt(vn('2026-11-27T23:30:00'))), iso(vn('2026-11-30T17:00:00')), 'Friday night → Monday')
  t.equal(iso(p.dueAt(vn('2026-11-28T12:00:00'))), iso(vn('2026-11-30T17:00:00')), 'Saturday → Monday')
  t.equal(iso(p.dueAt(vn('2026-11-29T23:00:00'))), iso(vn('2026-11-30T17:00:00')), 'Sunday → Monday')
  // 2026-11-26T17:30Z is already Friday 00:30 in Vietnam
  t.equal(iso(p.dueAt(new Date('2026-11-26T17:30:00Z'))), iso(vn('2026-11-30T17:00:00')), 'the local date decides, not the UTC date')
  t.equal(iso(p.dueAt(new Date('2026-11-26T16:59:59Z'))), iso(vn('2026-11-27T17:00:00')))
})

t.test('queuedBefore is exactly the boundary of dueAt <= now', async (t) => {
  const p = createOverduePolicy({ holidays: ['2026-12-01'] })
  const start = vn('2026-11-20T00:00:00').getTime()
  // every 97 minutes over three weeks, against a few "now" instants: the cutoff agrees with dueAt
  const nows = ['2026-11-27T16:59:59', '2026-11-27T17:00:00', '2026-11-29T10:00:00', '2026-11-30T17:00:00', '2026-12-01T18:00:00', '2026-12-02T17:00:01'].map(vn)
  for (const now of nows) {
    const cut = p.queuedBefore(now).getTime()
    let bad = 0
    for (let q = start; q < now.getTime(); q += 97 * 60_000) {
      const overdue = p.dueAt(new Date(q)).getTime() <= now.getTime()
      if (overdue !== q < cut) bad++
    }
    t.equal(bad, 0, `cutoff ${new Date(cut).toISOString()} agrees with dueAt at ${now.toISOString()}`)
  }
  t.equal(iso(p.dueAt(vn('2026-11-30T10:00:00'))), iso(vn('2026-12-02T17:00:00')), 'Monday with Tuesday a holiday → Wednesday')
})

t.test('holidays, make-up working days, end of day and the hours policy', async (t) => {
  // Tết 2027: Feb 5..11 holidays (Fri..Thu); Saturday Jan 30 is a make-up working day
  const p = createOverduePolicy({ holidays: ['2027-02-05', '2027-02-08', '2027-02-09', '2027-02-10', '2027-02-11'], extraWorkingDays: ['2027-01-30'], endOfDay: '23:59' })
  t.equal(iso(p.dueAt(vn('2027-02-04T10:00:00'))), iso(vn('2027-02-12T23:59:00')), 'before Tết → the Friday after')
  t.equal(iso(p.dueAt(vn('2027-01-29T10:00:00'))), iso(vn('2027-01-30T23:59:00')), 'Friday → the make-up Saturday')
  t.match(p.description, /23:59 UTC\+7/)
  const h = createOverduePolicy({ policy: 'hours', hours: 4 })
  t.equal(iso(h.dueAt(new Date('2026-11-28T10:00:00Z'))), '2026-11-28T14:00:00.000Z', 'calendar hours, weekends included')
  const now = new Date('2026-11-28T14:00:00Z')
  t.ok(h.dueAt(new Date(h.queuedBefore(now).getTime() - 1)).getTime() <= now.getTime())
  t.ok(h.dueAt(h.queuedBefore(now)).getTime() > now.getTime())
  t.throws(() => createOverduePolicy({ endOfDay: '25:00' }), { code: 'GW_ERR_CONFIG_INVALID' })
  t.throws(() => createOverduePolicy({ policy: 'hours', hours: 0 }), { code: 'GW_ERR_CONFIG_INVALID' })
})
