import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../src/config.js'
import { rawTestConfig } from '../../helper.js'

t.test('config: overdue and metrics sections with defaults, validation and the environment override', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'config.json')
  const d = loadConfig({ object: rawTestConfig(dir), file, env: {} })
  t.same(d.overdue, { policy: 'next-working-day', hours: 24, endOfDay: '17:00', holidays: [], extraWorkingDays: [], utcOffsetMinutes: 420 })
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
