/**
 * `lienthong purge [--config FILE] [--store FILE|postgres://URL] [--dry-run] [--json]`
 *
 * Runs the retention purge once, with the windows of the configuration's `retention` section (the same purge the
 * gateway runs every `retention.intervalMinutes`): the bytes of packages in a final state older than
 * `packageBytesDays`, of dead letters older than `deadLettersDays`, and idempotency keys older than
 * `idempotencyKeysDays`. `--dry-run` counts what would be purged and writes nothing. A real run writes a `purged`
 * event per direction and transaction (actor `operator:cli`); rows are never deleted and the log keeps verifying.
 * The gateway may keep running meanwhile. --store replaces the configured store location.
 *
 * Exit 0: done (or nothing to do). 1: the purge failed. 2: usage error, configuration or store unusable, no window.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { isGatewayError } from '../errors.js'
import { packageRoot } from '../paths.js'
import { purgeSummary, purgeWindows } from '../pipeline/retention.js'
import { openStore } from '../store/index.js'

const USAGE = 'usage: lienthong purge [--config FILE] [--store FILE|postgres://URL] [--dry-run] [--json]'

function usage(msg?: string): number {
  if (msg) console.error(`lienthong purge: ${msg}`)
  console.error(USAGE)
  return 2
}

const why = (e: unknown): string => (isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message)

export async function run(argv: string[]): Promise<number> {
  let values: { config?: string; store?: string; 'dry-run'?: boolean; json?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, store: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    return usage((e as Error).message)
  }
  const file = values.config ?? process.env.LIENTHONG_CONFIG ?? path.join(packageRoot, 'config', 'sample.json')
  let config
  try {
    config = loadConfig({ file, env: process.env })
  } catch (e) {
    return usage(why(e))
  }
  const windows = purgeWindows(config.retention)
  if (!Object.keys(windows).length) {
    return usage('no retention window is set (retention.packageBytesDays, deadLettersDays, idempotencyKeysDays): nothing would ever be purged')
  }
  const location = values.store ?? (config.store.driver === 'postgres' && config.store.url ? config.store.url : config.store.path)
  let store
  try {
    store = await openStore(location)
  } catch (e) {
    return usage(`cannot open ${location}: ${why(e)}`)
  }
  try {
    const dryRun = values['dry-run'] === true
    const t0 = Date.now()
    const r = await store.purge({ ...windows, actor: 'operator:cli', dryRun })
    const s = purgeSummary(r)
    if (values.json) console.log(JSON.stringify({ store: location, windows, ...r, events: r.events.map((e) => e.seq), durationMs: Date.now() - t0 }))
    else {
      const days = Object.entries(windows)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      console.log(`${dryRun ? 'DRY RUN, nothing written' : 'PURGED'} (${days}) at ${r.at}:`)
      console.log(`  sent packages in a final state: ${s.sentPackages}, received packages taken by the DMS: ${s.receivedPackages}`)
      console.log(`  dead letters: ${s.deadLettersSent} sent, ${s.deadLettersReceived} received; ${s.bytes} bytes ${dryRun ? 'would be ' : ''}freed`)
      console.log(`  idempotency keys: ${s.idempotencyKeys}`)
      if (!dryRun) console.log(`  log events: ${r.events.length ? r.events.map((e) => `seq ${e.seq}`).join(', ') : 'none (nothing to purge)'}`)
    }
    return 0
  } catch (e) {
    console.error(`lienthong purge: ${why(e)}`)
    return 1
  } finally {
    await store.close()
  }
}
