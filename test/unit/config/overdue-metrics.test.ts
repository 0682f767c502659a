import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { rawTestConfig } from '../../helper.js'

t.test('config: overdue and metrics sections with defaults, validation and the environment override', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'config.json')
  const d = loadConfig({ object: rawTestConfig(dir), file, env: {} })
  t.same(d.overdue, { policy: 'next-working-day', hours: 24, endOfDay: '17:00', builtInHolidays: true, holidays: [], extraWorkingDays: [], removeDays: [], utcOffsetMinutes: 420 })
  t.same(d.metrics, { public: false })
  const c = loadConfig({ object: { ...rawTestConfig(dir), overdue: { endOfDay: '23:59', holidays: ['2027-02-08'] } }, file, env: { LIENTHONG_METRICS_PUBLIC: 'true' } })
  t.equal(c.overdue.endOfDay, '23:59')
  t.same(c.overdue.holidays, ['2027-02-08'])
  t.equal(c.metrics.public, true, 'LIENTHONG_METRICS_PUBLIC')
  t.throws(() => loadConfig({ object: { ...rawTestConfig(dir), overdue: { endOfDay: '5pm', holidays: ['8/2/2027'] } }, file, env: {} }), {
    code: 'GW_ERR_CONFIG_INVALID',
    message: /overdue\.endOfDay.*overdue\.holidays\.0|overdue\.holidays\.0.*overdue\.endOfDay/,
  })
})

t.test('config: holiday overrides are checked at load, every problem named with its setting', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'config.json')
  const ok = loadConfig({ object: { ...rawTestConfig(dir), overdue: { holidays: ['2027-02-08'], removeDays: ['2026-08-31'] } }, file, env: {} })
  t.same(ok.overdue.removeDays, ['2026-08-31'])
  t.equal(ok.overdue.builtInHolidays, true)
  const err = (() => {
    try {
      loadConfig({ object: { ...rawTestConfig(dir), overdue: { holidays: ['2027-02-30'], removeDays: ['2026-03-03'], extraWorkingDays: ['2027-02-30'] } }, file, env: {} })
    } catch (e) {
      return e as Error & { code?: string }
    }
    return undefined
  })()
  t.equal(err?.code, 'GW_ERR_CONFIG_INVALID')
  t.match(err?.message, /overdue\.holidays\.0 "2027-02-30" is not a calendar date: write a date as yyyy-MM-dd/)
  t.match(err?.message, /overdue\.removeDays\.0 2026-03-03 is not in the built-in holiday table/)
  t.match(err?.message, /overdue\.extraWorkingDays\.0 "2027-02-30" is not a calendar date/)
  t.throws(() => loadConfig({ object: { ...rawTestConfig(dir), overdue: { removeDays: ['31/8/2026'] } }, file, env: {} }), {
    code: 'GW_ERR_CONFIG_INVALID',
    message: /overdue\.removeDays\.0.*yyyy-MM-dd/,
  })
  t.throws(() => loadConfig({ object: { ...rawTestConfig(dir), overdue: { builtInHolidays: 'yes' } }, file, env: {} }), { code: 'GW_ERR_CONFIG_INVALID', message: /overdue\.builtInHolidays/ })
})
