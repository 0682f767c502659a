/**
 * The VXP tests on PostgreSQL: the endpoint driven by the SDK-compatible client (server.test.ts), the two gateways
 * where A's connector points at B's /vxp (axis.test.ts) and the rate limits (rate-limit.test.ts), each run again as
 * its own process with LIENTHONG_TEST_VXP_STORE=postgres: every gateway they start stores in a fresh database of a
 * random name (test/vxp/helpers.ts), dropped at the end. Skipped with LIENTHONG_TEST_PG_URL=off.
 */
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helper.js'
import { PG_ADMIN_URL } from './helpers.js'

const skip = PG_ADMIN_URL === 'off' && 'LIENTHONG_TEST_PG_URL=off'
for (const file of ['server.test.ts', 'axis.test.ts', 'rate-limit.test.ts']) {
  t.test(`${file} with store.driver postgres`, { skip }, async (t) => {
    t.spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/vxp', file)], { cwd: ROOT, env: { ...process.env, LIENTHONG_TEST_VXP_STORE: 'postgres' } }, file)
  })
}
