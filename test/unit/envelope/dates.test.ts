// Dates and timestamps: emitted in Vietnam time (UTC+7, no zone), received in several variants.
import t from 'tap'
import { formatDate, formatTimestamp, normaliseDate, normaliseTimestamp } from './imports.js'

t.test('formatting uses UTC+7 whatever the process time zone', async (t) => {
  t.equal(formatTimestamp(new Date('2025-10-20T16:59:59Z')), '2025/10/20 23:59:59')
  t.equal(formatTimestamp(new Date('2025-10-20T17:00:00Z')), '2025/10/21 00:00:00', 'midnight in Hà Nội')
  t.equal(formatDate(new Date('2025-12-31T17:30:00Z')), '2026/01/01')
  t.equal(formatDate(new Date('2025-01-05T00:00:00Z')), '2025/01/05')
})

t.test('normalising received dates', async (t) => {
  t.equal(normaliseDate('2015/09/30'), '2015/09/30')
  t.equal(normaliseDate('30/09/2015'), '2015/09/30')
  t.equal(normaliseDate('2015-09-30'), '2015/09/30')
  t.equal(normaliseDate(' 2015-9-3 '), '2015/09/03')
  t.equal(normaliseDate('2016/02/29'), '2016/02/29')
  t.equal(normaliseDate('2015/02/29'), undefined, 'not a leap year')
  t.equal(normaliseDate('2014/02/30'), undefined)
  t.equal(normaliseDate('13/13/2015'), undefined)
  t.equal(normaliseDate('yesterday'), undefined)
})

t.test('normalising received timestamps', async (t) => {
  t.equal(normaliseTimestamp('2018/09/28 00:00:00'), '2018/09/28 00:00:00')
  t.equal(normaliseTimestamp('2018/09/28'), '2018/09/28 00:00:00')
  t.equal(normaliseTimestamp('28/09/2018 7:05'), '2018/09/28 07:05:00')
  t.equal(normaliseTimestamp('2018-09-28T16:35:56'), '2018/09/28 16:35:56')
  t.equal(normaliseTimestamp('2018/09/28 24:00:00'), undefined)
})

t.test('a timestamp written with a zone is that instant in Vietnam time', async (t) => {
  t.equal(normaliseTimestamp('2026-12-01T01:00:00Z'), '2026/12/01 08:00:00')
  t.equal(normaliseTimestamp('2026-12-01T01:00:00.123Z'), '2026/12/01 08:00:00')
  t.equal(normaliseTimestamp('2026-12-01T08:00:00+07:00'), '2026/12/01 08:00:00', 'Vietnam time given with its zone')
  t.equal(normaliseTimestamp('2026-12-01T10:00:00+0900'), '2026/12/01 08:00:00')
  t.equal(normaliseTimestamp('2026-11-30T20:30:00-05:00'), '2026/12/01 08:30:00', 'across midnight')
  t.equal(normaliseDate('2026-11-30T20:00:00Z'), '2026/12/01', 'the date is the Vietnam date of that instant')
  t.equal(normaliseTimestamp('2026-12-01T01:00:00'), '2026/12/01 01:00:00', 'no zone: already Vietnam time')
})
