/**
 * Sign → store → wake the relay: the one way every package we send enters the outbox (documents of
 * `outgoing.ts`, status packages and revoke documents of `statuses.ts`).
 *
 *   1. sign   a detached CMS over the exact bytes with the agency's key: in a worker thread of the package pool
 *             when there is one, else on the calling thread (skipped when the worker already signed while building);
 *             a key in a PKCS#11 token always signs through the token from this thread (asynchronously). A token
 *             that is down makes this wait up to its unavailableWaitMs; still down (GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE,
 *             that code only: a key that does not sign stays an error), the package is stored anyway in step 2,
 *             unsigned and marked as awaiting its signature (`RecordOutgoingInput.awaitingSignature`, migration
 *             013): the API answers 202 (`awaitingSignature: true`), a received package's 01 is stored with it, and
 *             step 3 wakes nobody. The relay never publishes it; the re-signer (resigner.ts) signs it (and stamps
 *             it, 1b) when the token is back, stores the signature and wakes the relay (`signStored`). While
 *             packages of that agency wait, a new one is not signed but waits behind them (at once, without asking
 *             the token): the agency's packages are signed and sent in the order they were accepted
 *   1b. stamp with trust.tsa.url: a signature timestamp token over the signature value from the TSA is added as an
 *             unsigned attribute (CAdES-T). A TSA that gives no usable token within trust.tsa.waitMs fails the send
 *             with a retryable GW_ERR_SIGNATURE_TSA(_UNAVAILABLE), before anything is stored (unlike a token
 *             fault): the API answers 503 (sent again with the same Idempotency-Key), a received package whose 01
 *             cannot be stamped goes back to its queue; with `onUnavailable: 'send-without'` it is sent unstamped instead
 *             (CAdES-BES), with a warning
 *   2. store  `store.recordOutgoing`: package, one `accepted` delivery per recipient, the idempotency key, the
 *             optional incoming state change (and the waiting mark of an unsigned package), in one transaction
 *   3. wake   the relay publishes it; nobody waits for the broker. A repeat of an idempotent request (`replayed`)
 *             stored nothing and wakes nothing; a package awaiting its signature is not woken for.
 *
 * Nothing is published before it is persisted: if the process dies after step 2, the relay publishes it on the
 * next start.
 *
 * `prepare` does step 1 only and gives the record for a caller that stores it inside a larger transaction (the
 * receive path stores a document and its 01 together: `store.recordIncoming({ reply })`); that caller then calls
 * `wake` once its transaction has committed.
 */
import { gwError, isGatewayError, type GatewayError } from '../errors.js'
import type { OutgoingPackageInput, RecordOutgoingInput, RecordOutgoingResult, Store } from '../store/index.js'
import type { PackagePool } from './package-pool.js'

/** What the pipeline needs from a signer (src/signature's Signer fits). */
export interface SignerLike {
  sign(content: Uint8Array, opts?: { signingTime?: Date }): Promise<Uint8Array>
  signSync?(content: Uint8Array, opts?: { signingTime?: Date }): Uint8Array
  /** A key in a PKCS#11 token: whether the token is usable (for /readyz and the metrics). */
  readonly token?: { status(): { ok: boolean; detail?: string; since: string }; close(): void }
}

/** The outbox relay as the senders see it. */
export interface RelayWake {
  wake(hint?: { priority?: number }): void
}

/** Adds a signature timestamp to a CMS (src/signature/tsa-client.ts's Timestamper fits). */
export interface StamperLike {
  readonly url: string
  stampSignature(cms: Uint8Array): Promise<Uint8Array>
}

/** A package stored awaiting its signature (its token was unavailable, or older packages of its agency wait). */
export interface AwaitingNotice {
  packageId: string
  kind: string
  senderOrganId: string
  reason: string
  /** It waits behind older packages of its agency, the token may be usable: the re-signer should look now. */
  behind: boolean
}

export interface OutboxDeps {
  store: Store
  relay: RelayWake
  /** Told when a package is to be stored awaiting its signature (the gateway logs it). */
  onAwaitingSignature?: (n: AwaitingNotice) => void
  /** Told once a package awaiting its signature is stored (the gateway wakes the re-signer). */
  awaitingStored?: () => void
  /** Worker threads that sign; without it signatures are computed on the calling thread. */
  packager?: PackagePool
  /** trust.tsa: every signature is timestamped (CAdES-T) before it is stored. */
  tsa?: { stamper: StamperLike; onUnavailable: 'wait' | 'send-without'; warn?: (msg: string, err: unknown) => void }
}

export interface OutboxEntry extends Omit<RecordOutgoingInput, 'package' | 'at'> {
  /** The package without its signature (the exact bytes it covers are `package.bytes`). */
  package: Omit<OutgoingPackageInput, 'signature'>
  /** The hosted agency whose key signs. */
  signer: SignerLike
  /** Signing time, also the time recorded. */
  at: Date
  /** Already computed over `package.bytes` (a worker built and signed in one go): step 1 is skipped. */
  signature?: Uint8Array
}

export interface Outbox {
  put(entry: OutboxEntry): Promise<RecordOutgoingResult>
  /** Step 1 only: the signed record, to be stored by the caller's own transaction. */
  prepare(entry: OutboxEntry): Promise<RecordOutgoingInput>
  /** Step 3 for a record the caller stored: wakes the relay unless nothing new was stored. */
  wake(recorded: Pick<RecordOutgoingResult, 'replayed' | 'package' | 'awaitingSignature'>): void
  /**
   * Step 1 (and 1b) for bytes stored awaiting their signature (the re-signer, resigner.ts): signed now, at `at`,
   * and stamped with trust.tsa as any signature. A token still unavailable throws GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE.
   */
  signStored(signer: SignerLike, senderOrganId: string, bytes: Uint8Array, at: Date): Promise<Uint8Array>
}

/** The one fault a package is stored for, unsigned, to be signed later: its signing token is unavailable. */
export const isTokenUnavailable = (e: unknown): boolean => isGatewayError(e) && e.code === 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE'

/** A signature over the exact bytes; a failing key is GW_ERR_SIGNATURE_KEY (a token's own codes are kept). */
export async function signBytes(signer: SignerLike, bytes: Uint8Array, at: Date): Promise<Uint8Array> {
  try {
    return signer.signSync ? signer.signSync(bytes, { signingTime: at }) : await signer.sign(bytes, { signingTime: at })
  } catch (e) {
    if (isGatewayError(e)) throw e
    throw gwError('GW_ERR_SIGNATURE_KEY', { reason: (e as Error).message }, e)
  }
}

/** What step 1 signs: the exact bytes, by the sender's key, at a time; already signed when `signature` is given. */
interface ToSign {
  signer: SignerLike
  senderOrganId: string
  bytes: Uint8Array
  at: Date
  signature?: Uint8Array
}

const toSign = (e: OutboxEntry): ToSign => ({ signer: e.signer, senderOrganId: e.package.senderOrganId, bytes: e.package.bytes, at: e.at, ...(e.signature ? { signature: e.signature } : {}) })

export function createOutbox(deps: OutboxDeps): Outbox {
  async function sign(e: ToSign): Promise<Uint8Array> {
    const tsa = deps.tsa
    if (!tsa) return signOnly(e)
    const cms = await signOnly(e)
    try {
      return await tsa.stamper.stampSignature(cms)
    } catch (err) {
      if (tsa.onUnavailable !== 'send-without') throw err
      tsa.warn?.(`sent without a signature timestamp: ${isGatewayError(err) ? err.message : String(err)}`, err)
      return cms
    }
  }

  async function signOnly(e: ToSign): Promise<Uint8Array> {
    if (e.signature) return e.signature
    // A key in a token (no synchronous signing) signs here: the token works off the event loop, and a token that
    // is down makes this wait (up to its unavailableWaitMs) and then fail with GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE
    // (the package is then stored awaiting its signature, see `prepare`).
    if (!deps.packager || !e.signer.signSync) return signBytes(e.signer, e.bytes, e.at)
    try {
      return await deps.packager.sign(e.senderOrganId, e.bytes, e.at)
    } catch (err) {
      if (isGatewayError(err)) throw err
      throw gwError('GW_ERR_SIGNATURE_KEY', { reason: (err as Error).message }, err)
    }
  }

  async function prepare(entry: OutboxEntry): Promise<RecordOutgoingInput> {
    const { signer: _signer, signature: _signature, package: pkg, ...record } = entry
    const waits = (reason: string, behind: boolean): RecordOutgoingInput => {
      deps.onAwaitingSignature?.({ packageId: pkg.id, kind: pkg.kind, senderOrganId: pkg.senderOrganId, reason, behind })
      return { ...record, package: { ...pkg, signature: new Uint8Array(0) }, awaitingSignature: { signer: pkg.senderOrganId, reason } }
    }
    // a key in a token with packages still waiting for it: this one waits behind them, so that the agency's
    // packages are signed and sent in the order they were accepted (and nobody waits for a token known down)
    if (entry.signer.token && !entry.signature) {
      const before = await deps.store.countAwaitingSignature(pkg.senderOrganId)
      if (before > 0) return waits(`queued behind ${before} older package(s) of ${pkg.senderOrganId} awaiting their signature`, true)
    }
    let signature: Uint8Array
    try {
      signature = await sign(toSign(entry))
    } catch (e) {
      // a token that is down (after its unavailableWaitMs): stored anyway, unsigned, and signed when it is back;
      // any other fault (a wrong key, a TSA) stays an error
      if (!isTokenUnavailable(e)) throw e
      return waits(`${(e as GatewayError).code}: ${(e as Error).message}`, false)
    }
    return { ...record, package: { ...pkg, signature } }
  }

  function wake(recorded: Pick<RecordOutgoingResult, 'replayed' | 'package' | 'awaitingSignature'>): void {
    // a package awaiting its signature is not pending: the re-signer wakes the relay once it is signed
    if (recorded.replayed) return
    if (recorded.awaitingSignature) deps.awaitingStored?.()
    else deps.relay.wake({ priority: recorded.package.priority })
  }

  return {
    async put(entry) {
      // 1. sign
      const record = await prepare(entry)
      // 2. store
      const recorded = await deps.store.recordOutgoing(record)
      // 3. wake the relay
      wake(recorded)
      return recorded
    },
    prepare,
    wake,
    signStored(signer, senderOrganId, bytes, at) {
      return sign({ signer, senderOrganId, bytes, at })
    },
  }
}
