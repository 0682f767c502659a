/**
 * The periodic retention purge (config `retention`): every `intervalMinutes` (the first run a minute after start)
 * the store empties the bytes of packages in a final state past `packageBytesDays`, of dead letters past
 * `deadLettersDays`, and deletes idempotency keys past `idempotencyKeysDays` (store.purge: the rules, the
 * `purged` log events). Nothing runs while no window is set. A run that fails (store unavailable) is logged and
 * tried again at the next interval; runs never overlap. `lienthong purge` runs the same purge once, by hand.
 */
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import type { PurgeOptions, PurgeResult, Store } from '../store/index.js'

export interface Retention {
  /** Whether any window is set (else start() does nothing). */
  readonly enabled: boolean
  /** Schedule the runs. */
  start(): void
  /** Run one purge now (waits for a run in progress first). */
  runNow(opts?: { dryRun?: boolean }): Promise<PurgeResult | undefined>
  /** Cancel the schedule and wait for a run in progress. */
  stop(): Promise<void>
}

export interface RetentionDeps {
  store: Pick<Store, 'purge'>
  retention: Config['retention']
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  clock?: () => Date
  /** Delay of the first run after start (ms, default 60,000). */
  firstRunDelayMs?: number
}

/** The store's purge options for the configured windows. */
export function purgeWindows(r: Config['retention']): Pick<PurgeOptions, 'packageBytesDays' | 'idempotencyKeysDays' | 'deadLettersDays'> {
  return {
    ...(r.packageBytesDays !== undefined ? { packageBytesDays: r.packageBytesDays } : {}),
    ...(r.idempotencyKeysDays !== undefined ? { idempotencyKeysDays: r.idempotencyKeysDays } : {}),
    ...(r.deadLettersDays !== undefined ? { deadLettersDays: r.deadLettersDays } : {}),
  }
}

/** One line of figures for the log and the CLI. */
export function purgeSummary(r: PurgeResult): Record<string, number> {
  return {
    sentPackages: r.packageBytes.outgoing.packages,
    receivedPackages: r.packageBytes.incoming.packages,
    deadLettersSent: r.deadLetters.outgoing.packages,
    deadLettersReceived: r.deadLetters.incoming.packages,
    bytes: r.packageBytes.outgoing.bytes + r.packageBytes.incoming.bytes + r.deadLetters.outgoing.bytes + r.deadLetters.incoming.bytes,
    idempotencyKeys: r.idempotencyKeys,
    events: r.events.length,
  }
}

export function createRetention(deps: RetentionDeps): Retention {
  const windows = purgeWindows(deps.retention)
  const enabled = Object.keys(windows).length > 0
  const clock = deps.clock ?? (() => new Date())
  let timer: NodeJS.Timeout | undefined
  let running: Promise<PurgeResult | undefined> | undefined
  let stopped = false

  async function once(dryRun: boolean): Promise<PurgeResult | undefined> {
    try {
      const r = await deps.store.purge({ ...windows, actor: 'system:retention', at: clock(), dryRun })
      const s = purgeSummary(r)
      if (s.events || dryRun) deps.logger.info({ retention: windows, ...s, dryRun }, 'retention purge')
      return r
    } catch (e) {
      deps.logger.error({ err: e, retention: windows }, 'retention purge failed; trying again at the next interval')
      return undefined
    }
  }

  function run(dryRun = false): Promise<PurgeResult | undefined> {
    const prev = running ?? Promise.resolve(undefined)
    const next = prev.then(() => once(dryRun))
    running = next
    void next.finally(() => {
      if (running === next) running = undefined
    })
    return next
  }

  function schedule(ms: number): void {
    if (stopped) return
    timer = setTimeout(() => {
      void run().finally(() => schedule(deps.retention.intervalMinutes * 60_000))
    }, ms)
    timer.unref()
  }

  return {
    enabled,
    start() {
      if (!enabled || timer || stopped) return
      schedule(deps.firstRunDelayMs ?? 60_000)
    },
    runNow: (opts = {}) => run(opts.dryRun === true),
    async stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
