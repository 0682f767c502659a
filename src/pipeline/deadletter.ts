/**
 * Dead letters for operators: incoming packages stored as `rejected` (with their verdict) and outgoing deliveries
 * that `failed` (with the reason), listed together newest first; an operator replays one after fixing the cause, or
 * discards it. Both are events in the hash-chained log with the actor `operator:<id>`.
 *
 * Replay, incoming (`rejected` → `received`): the stored exact bytes and signature go through the SAME receive steps
 * as the consumer's (receive-steps.ts, in the order of RECEIVE.md): checkSize, parse, readHeaders, checkRecipient,
 * checkSender (against the sender the transport named, kept with the refused row), verify, checkHistory, then the
 * business type (receive-business.ts) and the 01. What differs on purpose:
 * - the verifier is built from the configured trust files *now* (so a trust anchor or CRL file fixed on disk is
 *   used without a restart): that is what a replay is for;
 * - only documents: a stored status package is refused (the API answers 409; bytes that turn out to be a status
 *   give NOT_A_DOCUMENT), a status that matched nothing is not fixed by an operator;
 * - "record" is the stored row moving `rejected` → `received` (event type `replayed`, its stored verdict stays the
 *   refusal, the event holds the new one), and the business type is applied after that move, so only once;
 * - the same bytes already received for this recipient (the consumer would acknowledge a redelivery) is a 409 for
 *   the operator: the copy can be discarded;
 * - a refusal is no new row: the package stays `rejected`, a `replay-failed` event records the new verdict, and
 *   the answer says why; an unexpected or retryable error reaches the operator and changes nothing;
 * - the 01 (keyed `01:<id>` like the consumer's, so never twice) is best effort: the move is committed and nothing
 *   redelivers it, so a failure is reported in the answer instead of thrown.
 * Passing: the package becomes `received`, the DMS finds it in its inbox, and observers are told (`received`).
 *
 * Replay, outgoing (`failed` → `accepted`): the delivery goes back to the outbox and the relay is woken; the same
 * signed bytes are published again.
 *
 * Discard: incoming `rejected` → `discarded`. An outgoing delivery stays `failed` (the reason kept) and is marked
 * discarded (`discardedAt`, with a `discarded` event, store.discardDelivery): it leaves the dead-letter list, which
 * filters on that mark; a re-send clears it.
 *
 * The receive pipeline stores every rejected package before dead-lettering the AMQP message, so the store is the
 * list of record; the broker's dead-letter queues hold copies (their depth is a metric).
 */
import type { Config } from '../config.js'
import { gwError } from '../errors.js'
import type { Envelope } from '../envelope/index.js'
import type { Logger } from '../logger.js'
import type { Verdict, Verifier } from '../signature/index.js'
import type { Actor, DeliveryWithPackage, JsonObject, Store, StoredIncoming } from '../store/index.js'
import { applyBusiness, businessType } from './receive-business.js'
import {
  answerReceived,
  arrive,
  asRefusal,
  checkHistory,
  checkRecipient,
  checkSender,
  checkSize,
  hostedAgencies,
  parse,
  readHeaders,
  refuse,
  upper,
  verify,
  type Arrival,
  type ReceiveDeps,
  type ReceiveInput,
  type Refusal,
} from './receive-steps.js'
import type { StatusSender } from './statuses.js'
import { verifierFromTrust } from './trust.js'

/** What the receive checks established about a replayed document. */
interface Checked {
  env: Envelope
  sender: string
  documentId: string
  verdict: Verdict
}

export interface DeadLetter {
  /** Incoming package id, or outgoing delivery id. */
  id: string
  kind: 'incoming' | 'outgoing'
  packageId: string
  /** When it was rejected / last failed. */
  time: string
  state: string
  sender?: string
  recipient?: string
  documentId?: string
  subject?: string
  code?: string
  /** Why: error or verdict code and message. */
  reason?: string
  /** Incoming: the verdict code (UNTRUSTED_CHAIN, REPLAY, GW_ERR_ENVELOPE_…). */
  verdictCode?: string
  verdict?: JsonObject
  attempts?: number
}

export interface DeadLetterQuery {
  kind?: 'incoming' | 'outgoing'
  /** Hosted agency: recipient of incoming, sender of outgoing. */
  agency?: string
  cursor?: string
  limit: number
}

export interface ReplayResult {
  id: string
  kind: 'incoming' | 'outgoing'
  /** `replayed`: back in the inbox / outbox; `still-rejected`: the checks fail again (see verdict). */
  outcome: 'replayed' | 'still-rejected'
  state: string
  verdictCode?: string
  reason?: string
  seq: number
}

export interface DiscardResult {
  id: string
  kind: 'incoming' | 'outgoing'
  state: string
  seq: number
}

export interface DeadLetterDeps {
  config: Pick<Config, 'agencies' | 'limits' | 'trust'>
  store: Store
  relay: { wake(): void }
  /** A verifier for incoming replays; default: built from config.trust at each replay (files read again). */
  verifier?: () => Pick<Verifier, 'verify'>
  /** Sends 01 after an incoming replay; without it, no 01 is sent (and the answer says so). */
  statuses?: StatusSender
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>
  /**
   * Told after an incoming package was replayed into the inbox, like the incoming pipeline's `received` event
   * (`{ incoming, duplicate: false }`), so the same observers (webhooks: document.received) can follow it.
   */
  events?: { emit(event: 'received', e: { incoming: StoredIncoming; duplicate: boolean }): unknown }
}

/**
 * The receive input of a stored dead letter. The sender the transport named is kept in the refused row's
 * metadata (`input.sender`); rows stored before it was kept have only the stored sender (From/OrganId when the
 * bytes parsed, the transport's sender otherwise), which then stands in for it.
 */
export function replayInput(inc: StoredIncoming, stored: { bytes: Uint8Array; signature?: Uint8Array }): ReceiveInput {
  const kept = inc.metadata.input as { sender?: unknown } | undefined
  const sender = kept && typeof kept.sender === 'string' ? kept.sender : inc.senderOrganId
  return {
    source: 'replay',
    bytes: stored.bytes,
    signature: stored.signature,
    sender,
    recipient: inc.recipient,
    messageId: inc.messageId,
    priority: inc.priority,
  }
}

/** Composite cursor over the two lists: base64url JSON `{ i, o }`, each a store cursor, `false` (done) or absent. */
interface Cursor {
  i?: string | false
  o?: string | false
}
const encode = (c: Cursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url')
function decode(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown
    if (c && typeof c === 'object' && !Array.isArray(c)) {
      const { i, o } = c as Record<string, unknown>
      const ok = (v: unknown) => v === undefined || v === false || (typeof v === 'string' && v.length < 200)
      if (ok(i) && ok(o)) return c as Cursor
    }
  } catch {
    // fall through
  }
  throw gwError('GW_ERR_STORE_INVALID_CURSOR', { cursor: s.slice(0, 80) })
}

function fromIncoming(i: StoredIncoming): DeadLetter {
  const code = [i.codeNumber, i.codeNotation].filter(Boolean).join('/')
  const vc = typeof i.verdict.code === 'string' ? i.verdict.code : undefined
  return {
    id: i.id,
    kind: 'incoming',
    packageId: i.id,
    time: i.updatedAt,
    state: i.state,
    ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
    ...(i.recipient ? { recipient: i.recipient } : {}),
    ...(i.documentId ? { documentId: i.documentId } : {}),
    ...(i.subject ? { subject: i.subject } : {}),
    ...(code ? { code } : {}),
    ...(i.reason ? { reason: i.reason } : {}),
    ...(vc ? { verdictCode: vc } : {}),
    verdict: i.verdict,
  }
}

function fromDelivery(d: DeliveryWithPackage): DeadLetter {
  const code = [d.codeNumber, d.codeNotation].filter(Boolean).join('/')
  return {
    id: d.id,
    kind: 'outgoing',
    packageId: d.packageId,
    time: d.updatedAt,
    state: d.state,
    sender: d.senderOrganId,
    recipient: d.recipient,
    documentId: d.documentId,
    ...(d.subject ? { subject: d.subject } : {}),
    ...(code ? { code } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    attempts: d.attempts,
  }
}

export interface DeadLetters {
  list(q: DeadLetterQuery): Promise<{ items: DeadLetter[]; next?: string }>
  get(id: string): Promise<DeadLetter | undefined>
  /** `note`: the operator's words, kept in the event's detail (why it is replayed, what was fixed). */
  replay(id: string, operatorId: string, note?: string): Promise<ReplayResult>
  discard(id: string, operatorId: string, note?: string): Promise<DiscardResult>
}

export function createDeadLetters(deps: DeadLetterDeps): DeadLetters {
  const { store, config } = deps
  const hosted = hostedAgencies(config.agencies)

  async function pageIncoming(q: DeadLetterQuery, cursor: string | undefined, limit: number) {
    const p = await store.listIncoming({ state: 'rejected', limit, ...(q.agency ? { recipient: upper(q.agency) } : {}), ...(cursor ? { cursor } : {}) })
    return { items: p.items.map(fromIncoming), next: p.next }
  }

  async function pageOutgoing(q: DeadLetterQuery, cursor: string | undefined, limit: number) {
    const p = await store.listDeliveries({ state: 'failed', discarded: false, limit, ...(q.agency ? { senderOrganId: upper(q.agency) } : {}), ...(cursor ? { cursor } : {}) })
    return { items: p.items.map(fromDelivery), next: p.next, raw: p.items.length }
  }

  async function findIncoming(id: string): Promise<StoredIncoming | undefined> {
    return store.getIncoming(id)
  }

  /** Steps 1–7 of the receive path over a stored dead letter (throws a Refusal, or a 409 for a copy already received). */
  async function check(steps: Pick<ReceiveDeps, 'store' | 'verifier'>, a: Arrival): Promise<Checked> {
    checkSize(a.input.bytes, config.limits)
    const { env, sender, documentId } = parse(a.input, config.limits)
    // deliberate: an operator replays documents only (a status that matched nothing is not fixed by an operator)
    if (env.kind !== 'edoc' || !documentId) throw refuse('NOT_A_DOCUMENT')
    Object.assign(a, { env, sender, documentId })
    a.signature = readHeaders(a.input)
    checkRecipient(a, env)
    checkSender(a.input.sender, sender)
    // the trust files as they are now: a trust anchor or CRL fixed on disk counts without a restart
    const verdict = (a.verdict = await verify(steps, a.input.bytes, a.signature, sender))
    const existing = await checkHistory(steps, { id: a.id, kind: env.kind, sender, documentId, sha256: a.sha256, recipient: a.recipient, businessType: businessType(env) })
    // the consumer acknowledges a redelivery; here the operator is told the package is in the inbox already
    if (existing) throw gwError('GW_ERR_API_CONFLICT', { reason: `incoming package ${a.id} is the package ${existing.id} already received (${existing.state}): discard this copy` })
    return { env, sender, documentId, verdict }
  }

  /**
   * The receive steps again, over the stored bytes and what the transport said when they arrived (see the header
   * for what differs from the consumer on purpose). Every refusal ends `still-rejected` with a `replay-failed`
   * event; anything else (store unavailable, a bug) reaches the operator as an error and changes nothing.
   */
  async function replayIncoming(inc: StoredIncoming, actor: Actor, note?: string): Promise<ReplayResult> {
    if (inc.state !== 'rejected') throw gwError('GW_ERR_API_CONFLICT', { reason: `incoming package ${inc.id} is ${inc.state}, not rejected: nothing to replay` })
    if (inc.kind === 'status') throw gwError('GW_ERR_API_CONFLICT', { reason: 'status packages are not replayed; the sender can send the status again' })
    const stored = await store.getIncomingBytes(inc.id)
    if (!stored) throw gwError('GW_ERR_STORE_NOT_FOUND', { what: 'bytes of incoming package', id: inc.id })
    if (stored.bytes.byteLength < inc.size) {
      // a bounded record (refused before its signature verified): the whole message is only in the dead-letter queue
      throw gwError('GW_ERR_API_CONFLICT', {
        reason: `only the first ${stored.bytes.byteLength} of ${inc.size} bytes of incoming package ${inc.id} were kept (it was refused before its signature verified); move its message (sha256 ${inc.sha256}) from the dead-letter queue back to the inbox queue to receive it again`,
      })
    }
    const a = arrive(inc.id, replayInput(inc, stored), hosted)
    const steps = { store, verifier: deps.verifier ? deps.verifier() : verifierFromTrust(config) }
    let checked: Checked
    try {
      checked = await check(steps, a)
    } catch (e) {
      const r = asRefusal(e)
      if (!r) throw e
      return stillRejected(inc, actor, r, note)
    }
    const { env, sender, documentId, verdict } = checked
    // record: the stored row moves into the inbox (its stored verdict stays the refusal; the event has the new one)
    const r = await store.transitionIncoming(inc.id, 'arrived', {
      actor,
      type: 'replayed',
      cause: 'replayed by operator: verification passed',
      detail: { verdict: verdict.code, previousReason: inc.reason ?? '', ...(verdict.signer ? { signer: verdict.signer.subject } : {}), ...(note ? { note } : {}) },
    })
    deps.logger?.info({ packageId: inc.id, documentId, actor }, 'rejected package replayed into the inbox')
    if (!r.changed) return { id: inc.id, kind: 'incoming', outcome: 'replayed', state: r.state, verdictCode: verdict.code, reason: `package moved on meanwhile (${r.state}): nothing applied`, seq: r.seq }
    // business type (revoke / update / replace), as the consumer applies it; after the move, so once
    const business = await applyBusiness(steps, { id: inc.id, env, sender, recipient: a.recipient, documentId })
    if (business.effects.length > 0) deps.logger?.info({ packageId: inc.id, documentId, effects: business.effects }, 'business type of the replayed package applied')
    if (deps.events) {
      const now = await store.getIncoming(inc.id)
      if (now) {
        try {
          deps.events.emit('received', { incoming: now, duplicate: false })
        } catch (e) {
          deps.logger?.error({ err: e, packageId: inc.id, documentId }, 'an observer of the replayed package failed')
        }
      }
    }
    // answer: 01 keyed `01:<id>` like the consumer's, so never twice; the move is committed and nothing redelivers
    // it, so any failure (retryable too) is reported to the operator instead of thrown
    let statusSent = false
    if (deps.statuses) {
      try {
        await answerReceived({ statuses: deps.statuses }, { recipient: a.recipient, sender, documentId, env, incomingId: inc.id }, { replayedBy: actor })
        statusSent = true
      } catch (e) {
        deps.logger?.error({ err: e, packageId: inc.id, documentId }, 'replayed package stored, but status 01 could not be sent')
      }
    }
    return { id: inc.id, kind: 'incoming', outcome: 'replayed', state: r.state, verdictCode: verdict.code, ...(statusSent ? {} : { reason: deps.statuses ? 'status 01 not sent (see the log)' : 'no status sender configured: 01 not sent' }), seq: r.seq }
  }

  async function stillRejected(inc: StoredIncoming, actor: Actor, r: Refusal, note?: string): Promise<ReplayResult> {
    const ev = await store.appendEvent({
      direction: 'in',
      type: 'replay-failed',
      packageId: inc.id,
      ...(inc.documentId ? { documentId: inc.documentId } : {}),
      ...(inc.senderOrganId ? { sender: inc.senderOrganId } : {}),
      ...(inc.recipient ? { recipient: inc.recipient } : {}),
      actor,
      state: 'rejected',
      cause: `replay by operator: still rejected, ${r.verdictCode}: ${r.message}`,
      detail: { verdict: r.verdictCode, ...(r.verdict ? { verdictMessage: r.verdict.message } : {}), previousReason: inc.reason ?? '', ...(note ? { note } : {}) },
    })
    deps.logger?.warn({ packageId: inc.id, documentId: inc.documentId, actor, code: r.verdictCode }, 'replayed package is still rejected')
    return { id: inc.id, kind: 'incoming', outcome: 'still-rejected', state: 'rejected', verdictCode: r.verdictCode, reason: r.message, seq: ev.seq }
  }

  return {
    async list(q) {
      const c: Cursor = q.cursor ? decode(q.cursor) : {}
      const limit = Math.min(1000, Math.max(1, Math.trunc(q.limit) || 50))
      const wantIn = q.kind !== 'outgoing' && c.i !== false
      const wantOut = q.kind !== 'incoming' && c.o !== false
      const ins = wantIn ? await pageIncoming(q, c.i || undefined, limit) : { items: [] as DeadLetter[], next: undefined }
      const outs = wantOut ? await pageOutgoing(q, c.o || undefined, limit) : { items: [] as DeadLetter[], next: undefined, raw: 0 }
      const merged = [...ins.items, ...outs.items].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, limit)
      const usedIn = merged.filter((x) => x.kind === 'incoming').length
      const usedOut = merged.filter((x) => x.kind === 'outgoing').length
      // where each list continues: after the items taken from it (re-read with that many rows to get the store cursor)
      // '' = this list starts from its newest row, false = this list is done
      const after = async (used: number, total: number, prev: string | undefined, next: string | undefined, reread: (n: number) => Promise<string | undefined>): Promise<string | false> => {
        if (used === 0) return total === 0 && !next ? false : (prev ?? '')
        if (used === total) return next ?? false
        return (await reread(used)) ?? false
      }
      const ni = wantIn ? await after(usedIn, ins.items.length, c.i || undefined, ins.next, async (n) => (await store.listIncoming({ state: 'rejected', limit: n, ...(q.agency ? { recipient: upper(q.agency) } : {}), ...(c.i ? { cursor: c.i } : {}) })).next) : false
      // outgoing pages may have dropped discarded rows: continue after the raw rows when the whole page was used
      const no = wantOut
        ? usedOut === outs.items.length
          ? (outs.next ?? false)
          : await after(usedOut, outs.items.length, c.o || undefined, outs.next, async () => {
              // find the store cursor after the usedOut-th kept row by walking the raw page again
              const lastKept = merged.filter((x) => x.kind === 'outgoing').at(-1)!.id
              const raw = await store.listDeliveries({ state: 'failed', discarded: false, limit, ...(q.agency ? { senderOrganId: upper(q.agency) } : {}), ...(c.o ? { cursor: c.o } : {}) })
              const idx = raw.items.findIndex((d) => d.id === lastKept)
              const p = await store.listDeliveries({ state: 'failed', discarded: false, limit: idx + 1, ...(q.agency ? { senderOrganId: upper(q.agency) } : {}), ...(c.o ? { cursor: c.o } : {}) })
              return p.next
            })
        : false
      const more = ni !== false || no !== false
      const nextCursor: Cursor = { i: ni, o: no }
      return more && merged.length > 0 ? { items: merged, next: encode(nextCursor) } : { items: merged }
    },

    async get(id) {
      const inc = await findIncoming(id)
      if (inc) return fromIncoming(inc)
      const d = await store.getDelivery(id)
      if (!d) return undefined
      const pkg = await store.getPackage(d.packageId)
      return fromDelivery({
        ...d,
        kind: pkg?.kind ?? 'edoc',
        documentId: pkg?.documentId ?? '',
        senderOrganId: pkg?.senderOrganId ?? '',
        ...(pkg?.subject ? { subject: pkg.subject } : {}),
        ...(pkg?.codeNumber ? { codeNumber: pkg.codeNumber } : {}),
        ...(pkg?.codeNotation ? { codeNotation: pkg.codeNotation } : {}),
      })
    },

    async replay(id, operatorId, note) {
      const actor = `operator:${operatorId}`
      const inc = await findIncoming(id)
      if (inc) return replayIncoming(inc, actor, note)
      const d = await store.getDelivery(id)
      if (!d) throw gwError('GW_ERR_API_NOT_FOUND', { what: `dead letter ${id}` })
      if (d.state !== 'failed') throw gwError('GW_ERR_API_CONFLICT', { reason: `delivery ${id} is ${d.state}, not failed: nothing to replay` })
      const r = await store.transition(id, 'accepted', { actor, type: 'replayed', cause: 'replayed by operator: back to the outbox', detail: { previousReason: d.reason ?? '', attempts: d.attempts, ...(note ? { note } : {}) } })
      if (!r.changed) throw gwError('GW_ERR_API_CONFLICT', { reason: `delivery ${id} moved on meanwhile (${r.state})` })
      deps.relay.wake()
      deps.logger?.info({ deliveryId: id, packageId: d.packageId, actor }, 'failed delivery put back into the outbox')
      return { id, kind: 'outgoing', outcome: 'replayed', state: r.state, seq: r.seq }
    },

    async discard(id, operatorId, note) {
      const actor = `operator:${operatorId}`
      const inc = await findIncoming(id)
      if (inc) {
        if (inc.state !== 'rejected') throw gwError('GW_ERR_API_CONFLICT', { reason: `incoming package ${id} is ${inc.state}: only rejected packages can be discarded` })
        const r = await store.transitionIncoming(id, 'discarded', { actor, type: 'discarded', cause: 'discarded by operator', detail: { previousReason: inc.reason ?? '', ...(note ? { note } : {}) } })
        deps.logger?.info({ packageId: id, documentId: inc.documentId, actor }, 'rejected package discarded')
        return { id, kind: 'incoming', state: r.state, seq: r.seq }
      }
      const d = await store.getDelivery(id)
      if (!d) throw gwError('GW_ERR_API_NOT_FOUND', { what: `dead letter ${id}` })
      if (d.state !== 'failed') throw gwError('GW_ERR_API_CONFLICT', { reason: `delivery ${id} is ${d.state}: only failed deliveries can be discarded` })
      if (d.discardedAt) throw gwError('GW_ERR_API_CONFLICT', { reason: `delivery ${id} was already discarded` })
      const ev = await store.discardDelivery(id, { actor, cause: 'discarded by operator', detail: { previousReason: d.reason ?? '', ...(note ? { note } : {}) } })
      deps.logger?.info({ deliveryId: id, packageId: d.packageId, actor }, 'failed delivery discarded')
      return { id, kind: 'outgoing', state: 'failed', seq: ev.seq }
    },
  }
}
