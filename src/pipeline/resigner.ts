/**
 * The re-signer: packages stored while their signing token was unavailable (outbox.ts `prepare`, migration 013)
 * get their signature when the token is back, and only then go to the relay.
 *
 * Every `intervalMs` (default 2 s), on `wake()` and once at start (waiting packages survive a restart), for each
 * hosted agency whose key is in a token that is usable (`status()` ok: the trust watch probes it, reopens it and
 * wakes the re-signer when it is back; at start, every hosted agency, in case a token was replaced by a key file),
 * it reads the agency's waiting packages oldest first (store.listAwaitingSignature, a page at a time; the bytes of
 * one package at a time) and for each:
 *
 *   1. sign     the stored bytes, exactly, with the agency's key, now (`outbox.signStored`: the same signature and
 *               trust.tsa stamp as a package signed when it was sent)
 *   2. store    `store.recordSignature`: the signature, the waiting mark deleted, a `signed` event per delivery in
 *               the hash chain, in one transaction
 *   3. wake     the relay publishes it
 *
 * A token that fails again (GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE) stops that agency's round: the packages stay
 * waiting, in order, the failure counted on the package (`attempts`, `last_error`). Any other failure (a TSA that
 * does not answer, a key that no longer signs) is counted on that package and the round goes on with the next one;
 * it is tried again at the next round. Several gateway processes on one store may sign the same package: the first
 * signature stored wins, the others write nothing.
 */
import { isGatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/index.js'
import { isTokenUnavailable, type Outbox, type RelayWake, type SignerLike } from './outbox.js'

export interface ResignerDeps {
  store: Store
  outbox: Pick<Outbox, 'signStored'>
  relay: RelayWake
  /** The hosted agencies' signers by OrganId. */
  signers: ReadonlyMap<string, SignerLike>
  clock?: () => Date
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>
  /** Default 2000 ms. */
  intervalMs?: number
  /** Packages read per page. Default 20. */
  batchSize?: number
}

export interface Resigner {
  start(): void
  /** Look at the waiting packages now (e.g. a token came back). */
  wake(): void
  /** One round now; resolves with how many packages were signed. */
  runOnce(): Promise<number>
  stop(): Promise<void>
}

export function createResigner(deps: ResignerDeps): Resigner {
  const clock = deps.clock ?? (() => new Date())
  const intervalMs = deps.intervalMs ?? 2000
  const batchSize = Math.max(1, deps.batchSize ?? 20)
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let again = false
  let stopped = false

  /** One agency's waiting packages, oldest first, until they are signed or its token fails again. */
  async function signAll(organId: string, signer: SignerLike): Promise<number> {
    let signed = 0
    let afterSeq = 0
    for (;;) {
      if (stopped) return signed
      const page = await deps.store.listAwaitingSignature({ limit: batchSize, signer: organId, ...(afterSeq ? { afterSeq } : {}) })
      for (const w of page) {
        if (stopped) return signed
        afterSeq = w.seq
        try {
          // the bytes of one package at a time (a page of waiting packages may be large ones)
          const stored = await deps.store.getPackageBytes(w.packageId)
          if (!stored) continue
          const signature = await deps.outbox.signStored(signer, w.senderOrganId, stored.bytes, clock())
          const r = await deps.store.recordSignature({ packageId: w.packageId, signature, actor: 'system', at: clock(), detail: { signingAgency: organId } })
          if (!r.signed) continue
          signed++
          deps.relay.wake({ priority: w.priority })
          deps.logger?.info(
            { packageId: w.packageId, kind: w.kind, documentId: w.documentId, sender: w.senderOrganId, waitingSince: w.since, failedAttempts: w.attempts },
            `package ${w.packageId} signed after waiting for the signing token since ${w.since}; published now`,
          )
        } catch (e) {
          const why = isGatewayError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e)
          await deps.store.noteSignatureAttempt(w.packageId, why, clock()).catch(() => {})
          if (isTokenUnavailable(e)) {
            deps.logger?.warn({ packageId: w.packageId, sender: organId, err: e }, `the signing token of ${organId} failed again; its packages keep waiting`)
            return signed
          }
          deps.logger?.error({ packageId: w.packageId, sender: organId, err: e }, `package ${w.packageId} could not be signed; tried again later`)
        }
      }
      if (page.length < batchSize) return signed
    }
  }

  let first = true
  async function round(): Promise<number> {
    let signed = 0
    const all = first
    first = false
    for (const [organId, signer] of deps.signers) {
      // only a key in a token makes packages wait; a key file is looked at once (a token replaced by a file since)
      if (!signer.token && !all) continue
      // a token that is down is not asked: the trust watch probes it, and the round after it is back signs
      if (signer.token && !signer.token.status().ok) continue
      signed += await signAll(organId, signer)
    }
    return signed
  }

  function run(): Promise<number> {
    if (running) {
      again = true
      return running
    }
    const p = (async () => {
      let n = 0
      do {
        again = false
        try {
          n += await round()
        } catch (e) {
          deps.logger?.error({ err: e }, 'reading the packages awaiting their signature failed; trying again later')
        }
      } while (again && !stopped)
      return n
    })()
    running = p
    void p.finally(() => {
      if (running === p) running = undefined
    })
    return p
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      void run().finally(schedule)
    }, intervalMs)
    timer.unref()
  }

  return {
    start() {
      if (timer || stopped) return
      void run()
      schedule()
    },
    wake() {
      if (!stopped) void run()
    },
    runOnce: run,
    async stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
