/**
 * Anchoring the delivery log in trusted time (config `log.anchor`, `trust.tsa.url`): the chain head (seq and hash
 * of the last row of the hash-chained event log) is timestamped by the TSA (RFC 3161; the token's message imprint
 * is the head hash itself, a SHA-256) after every `everyEvents` new events or every `everyMinutes` minutes while
 * there are new events, whichever comes first, and the first time at start; the token is stored in `log_anchors`
 * (migration 009). A TSA that fails is tried again at the next check; nothing else waits for it.
 *
 * `checkLogAnchors` is what `lienthong log verify` adds to the chain check (src/store/README.md, "Anchors"): every
 * token must be a valid token from a trusted TSA over the stored head hash, and the log must still hold that row
 * with that hash. So a log whose tail was removed after an anchored head (truncation), or whose rows up to an
 * anchored head were rewritten and the chain recomputed (re-chaining), no longer verifies.
 */
import type { Logger } from '../logger.js'
import { verifyTimestampToken, type Stamp, type TsaTrust } from '../signature/index.js'
import type { LogAnchor, Store, VerifyLogResult } from '../store/index.js'

export interface LogAnchorerDeps {
  store: Pick<Store, 'logHead' | 'recordLogAnchor' | 'listLogAnchors'>
  stamper: { readonly url: string; stampDigest(digest: Uint8Array): Promise<Stamp> }
  everyEvents: number
  everyMinutes: number
  /** How often the head is looked at. Default 10 s (at most everyMinutes). */
  pollMs?: number
  clock?: () => Date
  logger?: Pick<Logger, 'warn' | 'info'>
}

export interface LogAnchorer {
  /** Anchors the head now if it is due (or `force`d and not anchored yet); the anchor made, if any. */
  tick(opts?: { force?: boolean }): Promise<LogAnchor | undefined>
  start(): void
  stop(): Promise<void>
  /** The newest anchor known to this process and the last failure, for health and metrics. */
  status(): { lastSeq?: number; lastAt?: string; failure?: string }
}

export function createLogAnchorer(d: LogAnchorerDeps): LogAnchorer {
  const clock = d.clock ?? (() => new Date())
  const pollMs = Math.max(50, Math.min(d.pollMs ?? 10_000, d.everyMinutes * 60_000))
  let last: { seq: number; atMs: number } | undefined
  let loaded = false
  let failure: string | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined

  async function tick(opts: { force?: boolean } = {}): Promise<LogAnchor | undefined> {
    if (!loaded) {
      const all = await d.store.listLogAnchors()
      const newest = all[all.length - 1]
      if (newest) last = { seq: newest.seq, atMs: Date.parse(newest.anchoredAt) }
      loaded = true
    }
    const head = await d.store.logHead()
    if (head.seq === 0 || (last && last.seq >= head.seq)) return undefined
    const nowMs = clock().getTime()
    const due = opts.force || !last || head.seq - last.seq >= d.everyEvents || nowMs - last.atMs >= d.everyMinutes * 60_000
    if (!due) return undefined
    try {
      const stamp = await d.stamper.stampDigest(Buffer.from(head.hash, 'hex'))
      const anchor: LogAnchor = { seq: head.seq, hash: head.hash, anchoredAt: new Date(nowMs).toISOString(), tsa: d.stamper.url, genTime: stamp.check.genTime ?? new Date(nowMs).toISOString(), token: stamp.token }
      try {
        await d.store.recordLogAnchor(anchor)
      } catch (e) {
        // another process sharing the store anchored the same head first
        if ((e as { code?: string }).code !== 'GW_ERR_STORE_CONFLICT') throw e
      }
      last = { seq: head.seq, atMs: nowMs }
      failure = undefined
      return anchor
    } catch (e) {
      failure = (e as Error).message
      d.logger?.warn({ err: e, seq: head.seq }, 'the delivery log head could not be timestamped; tried again at the next check')
      return undefined
    }
  }

  return {
    tick,
    start() {
      if (timer) return
      const loop = () => {
        running = tick().catch((e: unknown) => d.logger?.warn({ err: e }, 'log anchoring failed'))
        void running.finally(() => {
          if (timer) timer = setTimeout(loop, pollMs).unref()
        })
      }
      timer = setTimeout(loop, 0).unref()
    },
    async stop() {
      const t = timer
      timer = undefined
      if (t) clearTimeout(t)
      await running
    },
    status: () => ({ ...(last ? { lastSeq: last.seq, lastAt: new Date(last.atMs).toISOString() } : {}), ...(failure ? { failure } : {}) }),
  }
}

export interface AnchorCheck {
  ok: boolean
  /** Anchors stored. */
  anchors: number
  /** Whether the tokens' signatures and TSA were checked (TSA trust given). */
  tokensChecked: boolean
  lastAnchor?: { seq: number; genTime: string; tsa: string }
  /** Rows after the last anchor: not covered by any token (their removal or rewriting cannot be seen). */
  unanchoredRows: number
  problems: { seq: number; reason: string }[]
}

/**
 * Checks the stored anchors against the log (after `verifyLog`, whose result `chain` is): each token over its head
 * hash (signature, TSA chain and EKU with `trust`), and the row it names still there with that hash.
 */
export async function checkLogAnchors(store: Pick<Store, 'listLogAnchors' | 'logHashAt'>, chain: VerifyLogResult, trust?: TsaTrust): Promise<AnchorCheck> {
  const anchors = await store.listLogAnchors()
  const problems: AnchorCheck['problems'] = []
  for (const a of anchors) {
    if (trust) {
      const c = verifyTimestampToken(a.token, { sha256: Buffer.from(a.hash, 'hex') }, trust)
      if (!c.ok) {
        problems.push({ seq: a.seq, reason: `the anchor of seq ${a.seq} is not a valid timestamp of its hash (${c.code}: ${c.reason})` })
        continue
      }
    }
    const h = await store.logHashAt(a.seq)
    if (h === undefined) {
      problems.push({ seq: a.seq, reason: `seq ${a.seq} was timestamped at ${a.genTime} (${a.tsa}) but the log has no row ${a.seq}: rows were removed from its end (truncated)` })
    } else if (h !== a.hash) {
      problems.push({ seq: a.seq, reason: `row ${a.seq}'s hash is not the hash timestamped at ${a.genTime} (${a.tsa}): the log up to row ${a.seq} was rewritten and its chain recomputed` })
    }
  }
  const newest = anchors[anchors.length - 1]
  return {
    ok: problems.length === 0,
    anchors: anchors.length,
    tokensChecked: trust !== undefined,
    ...(newest ? { lastAnchor: { seq: newest.seq, genTime: newest.genTime, tsa: newest.tsa } } : {}),
    unanchoredRows: Math.max(0, (chain.lastSeq ?? 0) - (newest?.seq ?? 0)),
    problems,
  }
}
