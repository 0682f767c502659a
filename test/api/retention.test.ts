// Retention as a DMS developer and an operator meet it: `lienthong purge` (dry run, then a run) with the
// configuration's windows, then the API: purged bytes answer 410 GW_ERR_STORE_PURGED saying when and why, the item
// itself stays readable, a status can still be reported; a document the DMS has not taken keeps its bytes.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { createRetention } from '../../src/pipeline/retention.js'
import type { PurgeOptions, PurgeResult } from '../../src/store/index.js'
import { auth, buildTestApp, G22, H26, KEYS, rawTestConfig, ROOT } from '../helper.js'
import { seedIncoming } from './inbox-fixtures.js'

const DAY = 86_400_000
const retention = { packageBytesDays: 1, deadLettersDays: 2, idempotencyKeysDays: 1 }

t.test('lienthong purge, then the API: 410 with when and why for purged bytes; the rest intact', async (t) => {
  const { app, store, config } = await buildTestApp(t, { config: { retention }, deps: { retention: false } })
  const old = new Date(Date.now() - 3 * DAY)
  const taken = (await seedIncoming(store, config, { from: H26, to: G22, at: old })).incoming
  const waiting = (await seedIncoming(store, config, { from: H26, to: G22, at: old })).incoming
  const rejected = (await seedIncoming(store, config, { from: H26, to: G22, at: old, rejected: true })).incoming
  const recent = (await seedIncoming(store, config, { from: H26, to: G22 })).incoming
  for (const id of [taken.id, recent.id]) t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${id}/ack`, headers: auth(KEYS.g22) })).statusCode, 200)

  // the operator's command, on the gateway's configuration file, while the gateway has the store open
  const file = path.join(path.dirname(config.store.path), 'lienthong.json')
  writeFileSync(file, JSON.stringify(rawTestConfig(path.dirname(config.store.path), { retention })))
  const purge = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'purge', '--config', file, ...args], { encoding: 'utf8', cwd: ROOT })
  const dry = purge('--dry-run')
  t.equal(dry.status, 0, dry.stderr)
  t.match(dry.stdout, /DRY RUN, nothing written \(packageBytesDays 1, idempotencyKeysDays 1, deadLettersDays 2\)/)
  t.match(dry.stdout, /received packages taken by the DMS: 1/)
  t.match(dry.stdout, /dead letters: 0 sent, 1 received/)
  t.equal((await app.inject({ url: `/v1/inbox/${taken.id}/edxml`, headers: auth(KEYS.g22) })).statusCode, 200, 'dry run: still there')
  const run = purge('--json')
  t.equal(run.status, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  t.match(out, { dryRun: false, packageBytes: { incoming: { packages: 1 } }, deadLetters: { incoming: { packages: 1 } } })
  t.equal(out.events.length, 1, 'one purged event (received side)')

  // 1. the purged document: 410 on its bytes, signature and attachments, with when and why, and the hint
  for (const sub of ['edxml', 'signature', 'attachments/att1']) {
    const r = await app.inject({ url: `/v1/inbox/${taken.id}/${sub}`, headers: auth(KEYS.g22) })
    t.equal(r.statusCode, 410, `${sub}: 410`)
    const b = r.json()
    t.equal(b.code, 'GW_ERR_STORE_PURGED')
    t.match(b.message, new RegExp(`^the bytes of incoming package ${taken.id} were purged on ${out.at.replace(/\./g, '\\.')} by the retention policy \\(retention\\.packageBytesDays = 1: `))
    t.match(b.hint, /restore a backup taken before that date/)
  }
  // 2. the item itself: metadata, verdict and timeline, a warning instead of the attachments
  const item = await app.inject({ url: `/v1/inbox/${taken.id}`, headers: auth(KEYS.g22) })
  t.equal(item.statusCode, 200, item.body)
  t.match(item.json(), { id: taken.id, state: 'fetched', verdict: { ok: true }, attachments: [], warnings: [{ code: 'GW_ERR_STORE_PURGED' }] })
  const ev = (await store.listEvents({ type: 'purged', limit: 10 })).items
  t.match(ev, [{ direction: 'in', actor: 'operator:cli', detail: { packageBytes: { ids: [taken.id] }, deadLetters: { ids: [rejected.id] } } }], 'the purge event names the packages')
  // 3. the DMS can still answer it: the status names the document from the stored row
  const st = await app.inject({ method: 'POST', url: `/v1/inbox/${taken.id}/status`, headers: auth(KEYS.g22), payload: { code: '03' } })
  t.equal(st.statusCode, 202, st.body)
  // 4. not taken by the DMS, however old: kept; too recent: kept
  t.equal((await app.inject({ url: `/v1/inbox/${waiting.id}/edxml`, headers: auth(KEYS.g22) })).statusCode, 200)
  t.equal((await app.inject({ url: `/v1/inbox/${recent.id}/edxml`, headers: auth(KEYS.g22) })).statusCode, 200)
  // 5. the purged dead letter cannot be replayed
  const replay = await app.inject({ method: 'POST', url: `/v1/operator/dead-letters/${rejected.id}/replay`, headers: { ...auth(KEYS.ops), 'content-type': 'application/json' }, payload: {} })
  t.equal(replay.statusCode, 410, replay.body)
  t.equal(replay.json().code, 'GW_ERR_STORE_PURGED')
  // 6. the log still verifies
  t.match((await app.inject({ url: '/v1/log/verify', headers: auth(KEYS.ops) })).json(), { ok: true })

  const none = purge()
  t.match(none.stdout, /log events: none \(nothing to purge\)/)
})

t.test('lienthong purge without any window is a usage error', async (t) => {
  const dir = t.testdir()
  const file = path.join(dir, 'lienthong.json')
  writeFileSync(file, JSON.stringify(rawTestConfig(dir)))
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'purge', '--config', file], { encoding: 'utf8', cwd: ROOT })
  t.equal(r.status, 2)
  t.match(r.stderr, /no retention window is set/)
})

t.test('the gateway runs the purge on its schedule, one run at a time, and stops with it', async (t) => {
  const calls: PurgeOptions[] = []
  const result = (): PurgeResult => ({
    dryRun: false,
    at: new Date().toISOString(),
    packageBytes: { outgoing: { packages: 0, bytes: 0 }, incoming: { packages: 0, bytes: 0 } },
    deadLetters: { outgoing: { packages: 0, bytes: 0 }, incoming: { packages: 0, bytes: 0 } },
    idempotencyKeys: 0,
    events: [],
  })
  let fail = true
  const logged: string[] = []
  const logger = { info: (_o: object, m?: string) => logged.push(`info ${m}`), warn: () => {}, error: (_o: object, m?: string) => logged.push(`error ${m}`) }
  const store = {
    async purge(o: PurgeOptions) {
      calls.push(o)
      if (fail) {
        fail = false
        throw new Error('store unavailable')
      }
      return result()
    },
  }
  const off = createRetention({ store, retention: { intervalMinutes: 60 }, logger })
  t.equal(off.enabled, false, 'no window: disabled')
  off.start()
  const r = createRetention({ store, retention: { packageBytesDays: 30, intervalMinutes: 60 }, logger, firstRunDelayMs: 20 })
  r.start()
  await new Promise((res) => setTimeout(res, 200))
  t.equal(calls.length, 1, 'the first run after the delay (the disabled one never ran)')
  t.match(calls[0], { packageBytesDays: 30, actor: 'system:retention', dryRun: false })
  t.match(logged, ['error retention purge failed; trying again at the next interval'], 'a failed run is logged, not thrown')
  const [a, b] = await Promise.all([r.runNow(), r.runNow({ dryRun: true })])
  t.ok(a && b, 'runs by hand')
  t.equal(calls.length, 3)
  t.equal(calls[2]!.dryRun, true)
  await r.stop()
})

t.test('createGateway schedules the purge when a window is set, and close() stops it', async (t) => {
  const on = await buildTestApp(t, { config: { retention: { idempotencyKeysDays: 7 } } })
  t.equal(on.gateway.retention.enabled, true)
  const r = await on.gateway.retention.runNow({ dryRun: true })
  t.match(r, { dryRun: true, idempotencyKeys: 0 }, 'the configured window, on the gateway store')
  const off = await buildTestApp(t)
  t.equal(off.gateway.retention.enabled, false, 'no window: nothing scheduled')
  await on.gateway.close()
  t.pass('closed with the schedule running')
})
