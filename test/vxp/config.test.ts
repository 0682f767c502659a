/**
 * The `vxp` configuration: systems with their secret given inline, as a file or by environment variable (read once,
 * then only `secret` is kept), agencies that must be hosted, unique system ids, routes, and secrets that never
 * reach an error message or the log.
 */
import path from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { loggerOptions } from '../../src/logger.js'
import { G22, H26, H29, rawTestConfig } from '../helper.js'
import { matchRoute } from '../../src/vxp/routes.js'

function load(t: Tap, vxp: unknown, env: Record<string, string> = {}) {
  const dir = t.testdir({ 'axis.secret': 'secret-from-a-file\n' })
  return loadConfig({ object: { ...rawTestConfig(dir), vxp }, file: path.join(dir, 'config.json'), env })
}
type Tap = { testdir(f?: unknown): string }

t.test('defaults: no vxp section means no server, no connector, no routes', async (t) => {
  const c = load(t, undefined)
  t.same(c.vxp, { routes: [] })
})

t.test('a secret inline, from a file, or from the environment', async (t) => {
  const c = load(
    t,
    {
      server: { systems: [{ systemId: 'vxp.saas.02', secret: 'inline', organIds: [G22] }, { systemId: 'vxp.saas.03', secretEnv: 'VXP_SECRET_3', organIds: [H29] }] },
      axis: { endpoint: 'http://127.0.0.1:9/vxp', systemId: 'lienthong.01', secretFile: 'axis.secret', organIds: [G22] },
      routes: [{ organIds: ['000.00.*.H26'], via: 'axis' }],
    },
    { VXP_SECRET_3: 'from-env' },
  )
  t.equal(c.vxp.server?.path, '/vxp', 'path defaults to /vxp')
  t.equal(c.vxp.server?.systems[0]?.secret, 'inline')
  t.equal(c.vxp.server?.systems[1]?.secret, 'from-env')
  t.notOk('secretEnv' in (c.vxp.server?.systems[1] ?? {}), 'only the secret is kept')
  t.equal(c.vxp.axis?.secret, 'secret-from-a-file', 'file read, line break trimmed')
  t.equal(c.vxp.axis?.pollIntervalMs, 30000)
  t.equal(c.vxp.axis?.unsigned, 'accept')
})

t.test('every problem is reported, none of them shows a secret', async (t) => {
  const err = (() => {
    try {
      load(t, {
        server: {
          systems: [
            { systemId: 'dup', secret: 'top-secret-1', organIds: [H26] },
            { systemId: 'dup', secret: 'top-secret-2', organIds: [G22] },
            { systemId: 'env', secretEnv: 'NOT_SET', organIds: [G22] },
          ],
        },
        routes: [{ organIds: [H26], via: 'axis' }],
      })
    } catch (e) {
      return e as Error & { code: string }
    }
    return undefined
  })()
  t.equal(err?.code, 'GW_ERR_CONFIG_INVALID')
  t.match(err?.message, /vxp\.server\.systems\.0\.organIds\.0 000\.00\.00\.H26 is not a hosted agency/)
  t.match(err?.message, /vxp\.server\.systems\.1\.systemId dup is already used/)
  t.match(err?.message, /secretEnv names NOT_SET/)
  t.match(err?.message, /vxp\.axis \(the connector\) is not configured/)
  t.notMatch(err?.message, /top-secret/)
  t.throws(() => load(t, { server: { systems: [{ systemId: 'x', organIds: [G22] }] } }), { code: 'GW_ERR_CONFIG_INVALID' }, 'a system needs a secret')
  t.throws(() => load(t, { axis: { endpoint: 'http://axis.example', systemId: 'x', secretFile: 'missing.secret', organIds: [G22] } }), /secretFile .*missing\.secret cannot be read/)
})

t.test('the logger redacts the secrets of a logged configuration', async (t) => {
  const c = load(t, { server: { systems: [{ systemId: 's', secret: 'never-in-logs', organIds: [G22] }] }, axis: { endpoint: 'http://axis.example', systemId: 'a', secret: 'axis-never-in-logs', organIds: [G22] } })
  let out = ''
  const log = pino(loggerOptions({ level: 'info' }), new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }))
  log.info({ vxp: c.vxp }, 'config')
  log.info({ config: c }, 'config')
  t.notMatch(out, /never-in-logs/)
  t.match(out, /\[redacted\]/)
})

t.test('routes: exact codes and patterns, first match wins, AMQP by default', async (t) => {
  const routes = [
    { organIds: ['000.00.00.H29'], via: 'amqp' as const },
    { organIds: ['000.00.*.H29', '000.01.*'], via: 'axis' as const },
  ]
  t.equal(matchRoute(routes, '000.00.00.H29'), 'amqp', 'exact code first')
  t.equal(matchRoute(routes, '000.00.11.h29'), 'axis', '* is one part, case-insensitive')
  t.equal(matchRoute(routes, '000.00.11.12.H29'), 'amqp', '* does not span parts')
  t.equal(matchRoute(routes, '000.01.22.A01'), 'axis', 'a final * matches the rest')
  t.equal(matchRoute(routes, '000.00.00.G22'), 'amqp', 'unlisted: AMQP')
})
