/**
 * The incoming pipeline: every AMQP message consumed from a hosted agency's inbox queue goes through the receive
 * steps of receive-steps.ts, in this order (one translating catch at the end, in the style of X-Road's
 * ServerMessageProcessor):
 *
 *   0. checkDeliveries  earlier deliveries that came to no end reached amqp.deliveryLimit (DELIVERY_LIMIT): the
 *                       message is dead-lettered unread instead of stalling the gateway in a loop
 *   1. checkSize        limits.packageBytes (GW_ERR_ENVELOPE_TOO_LARGE)
 *   2. parse            envelope.parseEnvelope: DOCTYPE, entities, depth, base64... (GW_ERR_ENVELOPE_* codes);
 *                       more than limits.attachments attachments (GW_ERR_ENVELOPE_TOO_MANY_ATTACHMENTS)
 *   3. readHeaders      the signature must have come with it (NO_SIGNATURE)
 *   4. checkRecipient   the routing recipient is hosted here (RECIPIENT_NOT_HOSTED) and, for a document, listed
 *                       in its To (RECIPIENT_NOT_ADDRESSED)
 *   5. checkSender      the AMQP sender header equals From/OrganId (SENDER_MISMATCH)
 *   6. verify           detached CMS over the exact bytes, chain, validity at signing time, key usage, CRL, and
 *                       certificate UID == From/OrganId (the signature verdict code)
 *   7. checkHistory     the same bytes already stored for this recipient: a redelivery (ack, no second 01); the
 *                       same DocumentId from the same sender with other bytes: REPLAY (a revoke, type 1, keeps
 *                       the original DocumentId by design and is not a replay); checked again by the store inside
 *                       the transaction that writes the document (historyGuard), so two gateway processes that
 *                       receive two packages under one DocumentId at once store one accepted and one REPLAY
 *   8. document: business type (receive-business.ts), record `received` with the verdict, answer 01;
 *      status: match the delivery it answers and move it (receive-status.ts), record it
 *
 * Only after the package is durably stored is the message acknowledged ('ack'). A package that fails is stored as
 * `rejected` with its verdict (code + message) (one refused before its signature verified as a bounded record: its
 * first limits.refusedKeepBytes bytes, size, SHA-256, transport facts; never described or unzipped), answered with a
 * 02 when its sender can be identified (and never
 * a status with a status), and dead-lettered ('reject'). Retryable failures (store unavailable) give 'retry': the
 * message goes back to the queue, never to the dead-letter queue. A status for a document we never sent is stored
 * as rejected (ORPHAN_STATUS) and acknowledged: retrying cannot help.
 *
 * The codes are catalogue entries (src/errors.ts, area RECEIVE), stored without their GW_ERR_RECEIVE_ prefix.
 * `receive(input)` takes a transport-free {@link ReceiveInput}: `handle(msg)` is that for an AMQP message.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Config } from '../config.js'
import type { StatusCode } from '../document/delivery.js'
import { gwError, isGatewayError, type ErrorCode } from '../errors.js'
import { Envelope } from '../envelope/index.js'
import type { Logger } from '../logger.js'
import type { Verifier } from '../signature/index.js'
import type { JsonObject, RecordIncomingInput, Store, StoredIncoming } from '../store/index.js'
import type { HandlerResult, InboundMessage } from '../transport/index.js'
import { applyBusiness, businessType } from './receive-business.js'
import { verifyFromAxis } from './receive-axis.js'
import { applyStatus, recordedStatus } from './receive-status.js'
import {
  Refusal,
  acceptedCopy,
  answerReceived,
  prepareReceived,
  answerRefused,
  answersRefusal,
  arrive,
  asRefusal,
  checkDeliveries,
  checkHistory,
  checkRecipient,
  historyGuard,
  checkSender,
  checkSize,
  describe,
  judgeVerdict,
  hostedAgencies,
  parse,
  parsed,
  readHeaders,
  recordReceived,
  recordRefused,
  refuse,
  sha256Stepwise,
  silentLog,
  upper,
  verify,
  type Arrival,
  type ReceiveDeps,
  type ReceiveInput,
} from './receive-steps.js'
import type { Inspector } from './inspect.js'
import type { PackageReading } from './inspect-jobs.js'
import { keyedSerial } from './serial.js'
import type { PreparedStatus, StatusSender } from './statuses.js'

export interface IncomingDeps {
  /** `trust.revocation.onUnavailable: hold` makes a package without a revocation status wait (receive-steps.ts `verify`). */
  config: Pick<Config, 'agencies' | 'limits'> & { readonly trust?: Pick<Config['trust'], 'revocation'> }
  store: Store
  verifier: Pick<Verifier, 'verify'>
  /** Sends 01/02 (src/pipeline/statuses.ts); `prepare` signs a 01 stored with its document. */
  statuses: Pick<StatusSender, 'send' | 'prepare'>
  clock?: () => Date
  newId?: () => string
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  /** amqp.deliveryLimit: earlier deliveries that came to no end before a message is refused unread. Default: none. */
  deliveryLimit?: number
  /**
   * Where big packages are read: packages of `minBytes` or more are parsed (XML, base64 checks), hashed and
   * verified (CMS digest over the whole package, chain) by a job of this inspector (worker threads over
   * config.trust, a bounded number at once) instead of on the event loop; smaller ones stay on the loop (faster
   * there). Without it, every package is read on the event loop.
   */
  offload?: { inspector: Pick<Inspector, 'run'>; minBytes: number }
}

/** Events for observers (the demo, webhooks): fired after the package is stored. */
export interface IncomingEvents {
  received: [e: { incoming: StoredIncoming; duplicate: boolean }]
  rejected: [e: { incoming?: StoredIncoming; code: string; message: string }]
  status: [e: { incoming: StoredIncoming; statusCode: StatusCode; deliveryId?: string; changed: boolean; state?: string }]
}

export interface IncomingPipeline {
  /** An AMQP message from an inbox queue. */
  handle(msg: InboundMessage): Promise<HandlerResult>
  /** A package from any transport: 'ack' stored (or already stored), 'reject' refused and stored, 'retry' try later. */
  receive(input: ReceiveInput): Promise<HandlerResult>
  on<K extends keyof IncomingEvents>(event: K, listener: (...args: IncomingEvents[K]) => void): this
  off<K extends keyof IncomingEvents>(event: K, listener: (...args: IncomingEvents[K]) => void): this
}

/** The receive input of an AMQP message: the routing key names the recipient (the header when there is none). */
export function inputFromAmqp(msg: InboundMessage): ReceiveInput {
  return {
    source: 'amqp',
    bytes: msg.body,
    sender: msg.sender,
    recipient: msg.routingKey || msg.recipient,
    signature: msg.signature,
    messageId: msg.messageId,
    priority: msg.priority,
    declaredKind: msg.type,
    unfinishedDeliveries: msg.unfinishedDeliveries,
    transport: transportFacts(msg),
  }
}

const short = (v: string | undefined, n = 200): string | undefined => (v === undefined ? undefined : v.length > n ? `${v.slice(0, n)}…` : v)

/** What the AMQP message said about itself, bounded (a refused message's record keeps it; headers by name only). */
export function transportFacts(msg: InboundMessage): JsonObject {
  const names = Object.keys(msg.headers)
  const facts: Record<string, string | number | boolean | string[] | undefined> = {
    queue: short(msg.queue),
    routingKey: short(msg.routingKey),
    messageId: short(msg.messageId),
    type: short(msg.type, 50),
    contentType: short(msg.contentType, 100),
    priority: msg.priority,
    timestamp: msg.timestamp && !Number.isNaN(msg.timestamp.getTime()) ? msg.timestamp.toISOString() : undefined,
    sender: short(msg.sender, 100),
    recipient: short(msg.recipient, 100),
    sha256: short(msg.sha256, 64),
    signatureBytes: msg.signatureBase64?.length,
    redelivered: msg.redelivered,
    deliveryCount: msg.deliveryCount,
    headers: names.slice(0, 32).map((n) => short(n, 64)!),
  }
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as JsonObject
}

export function createIncomingPipeline(deps: IncomingDeps): IncomingPipeline {
  const log = deps.logger ?? silentLog
  const revocation = deps.config.trust?.revocation
  const steps: ReceiveDeps = {
    store: deps.store,
    verifier: deps.verifier,
    statuses: deps.statuses,
    clock: deps.clock ?? (() => new Date()),
    log,
    ...(revocation?.onUnavailable === 'hold' ? { revocationHold: { maxMs: revocation.holdMaxMs, firstSeen: new Map<string, number>() } } : {}),
  }
  const newId = deps.newId ?? randomUUID
  const hosted = hostedAgencies(deps.config.agencies)
  const limits = deps.config.limits
  const events = new EventEmitter()
  // one package per (sender, DocumentId) at a time in this process: the history check and the store stay in step
  const serialised = keyedSerial()

  /** 01 for a stored document; a retryable failure redelivers the message and the keyed send tries again. */
  async function send01(a: Arrival, incoming: StoredIncoming): Promise<void> {
    if (!a.env?.edoc || !a.sender || !a.documentId) return
    try {
      await answerReceived(steps, { recipient: a.recipient, sender: a.sender, documentId: a.documentId, env: a.env, incomingId: incoming.id })
    } catch (e) {
      if (isGatewayError(e) && e.retryable) throw e
      log.error({ err: e, packageId: incoming.id, documentId: a.documentId }, 'cannot send status 01 for a received document')
    }
  }

  /**
   * The 01 for a document about to be stored, signed now so that it is stored with the document in one
   * transaction. A key that cannot sign is retried when retryable (the message is redelivered), else the document
   * is stored without it and the failure logged (it is the recipient's problem, not the sender's).
   */
  async function prepare01(a: Arrival): Promise<PreparedStatus | undefined> {
    if (!a.env?.edoc || !a.sender || !a.documentId) return undefined
    try {
      return await prepareReceived(steps, { recipient: a.recipient, sender: a.sender, documentId: a.documentId, env: a.env, incomingId: a.id })
    } catch (e) {
      if (isGatewayError(e) && e.retryable) throw e
      log.error({ err: e, packageId: a.id, documentId: a.documentId }, 'cannot sign status 01 for a received document')
      return undefined
    }
  }

  async function acceptDocument(a: Arrival, env: Envelope, guard: RecordIncomingInput['guard']): Promise<HandlerResult> {
    const business = await applyBusiness(steps, { id: a.id, env, sender: a.sender!, recipient: a.recipient, documentId: a.documentId })
    const reply = await prepare01(a)
    // the document and its 01: one transaction
    const rec = await recordReceived(steps, a, {
      metadata: { ...describe(env), ...(business.effects.length > 0 ? { effects: business.effects } : {}) },
      relatedId: business.relatedId,
      reply: reply?.record,
      // the REPLAY rule again in the write transaction: another process may have stored this DocumentId meanwhile
      guard,
    })
    if (rec.reply) reply!.stored(rec.reply)
    // stored meanwhile by another delivery of the same package: its keyed 01 (sent with it) is the one
    else if (rec.duplicate) await send01(a, rec.incoming)
    log.info(
      { packageId: rec.incoming.id, documentId: a.documentId, sender: a.sender, recipient: a.recipient, businessType: businessType(env), duplicate: rec.duplicate },
      `document ${a.documentId} from ${a.sender} received for ${a.recipient}`,
    )
    events.emit('received', { incoming: rec.incoming, duplicate: rec.duplicate })
    return 'ack'
  }

  async function acceptStatus(a: Arrival, env: Envelope): Promise<HandlerResult> {
    const planned = await applyStatus(steps, { id: a.id, env, author: a.sender!, recipient: a.recipient })
    // the status package and the move it makes (01–06): one transaction
    const rec = await recordReceived(steps, a, { metadata: planned.metadata, relatedId: planned.relatedId, apply: planned.apply })
    const { statusCode, deliveryId, changed, state } = recordedStatus(planned, rec.applied)
    log.info({ packageId: rec.incoming.id, documentId: a.documentId, sender: a.sender, recipient: a.recipient, statusCode, deliveryId, changed, state }, `status ${statusCode} from ${a.sender} for ${a.documentId}`)
    events.emit('status', { incoming: rec.incoming, statusCode, ...(deliveryId ? { deliveryId } : {}), changed, state })
    return 'ack'
  }

  async function redelivered(a: Arrival, existing: StoredIncoming): Promise<HandlerResult> {
    // a crash may have come between storing and the 01: the keyed send makes sure there is exactly one
    if (existing.kind === 'edoc') await send01(a, existing)
    log.info({ packageId: existing.id, documentId: a.documentId, sender: a.sender, messageId: a.input.messageId }, 'redelivered package already stored; acknowledged without a duplicate')
    events.emit('received', { incoming: existing, duplicate: true })
    return 'ack'
  }

  // ---- the one translating catch ------------------------------------------------------------------------

  /** Whether an accepted copy of this very package is stored: then the refusal answers for nothing (no 02). */
  async function acceptedCopyStored(a: Arrival): Promise<boolean> {
    if (!a.sender || !a.documentId) return false
    const seen = await steps.store.findIncomingByDocument(a.sender, a.documentId)
    return acceptedCopy(seen, { id: a.id, sha256: a.sha256, recipient: a.recipient }) !== undefined
  }

  async function refused(a: Arrival, r: Refusal): Promise<HandlerResult> {
    const rec = await recordRefused(steps, a, r, { keepBytes: limits.refusedKeepBytes })
    log.warn(
      { packageId: rec.incoming.id, documentId: a.documentId, sender: a.sender ?? a.input.sender, recipient: a.recipient, messageId: a.input.messageId, code: r.verdictCode },
      `package rejected: ${r.verdictCode}: ${r.message}`,
    )
    if (answersRefusal(a, r) && !(await acceptedCopyStored(a))) {
      try {
        await answerRefused(steps, { recipient: a.recipient, sender: a.sender!, documentId: a.documentId!, env: a.env!, incomingId: rec.incoming.id }, r)
      } catch (e) {
        if (isGatewayError(e) && e.retryable) throw e
        log.error({ err: e, packageId: rec.incoming.id }, 'cannot send status 02 for a rejected package')
      }
    }
    events.emit('rejected', { incoming: rec.incoming, code: r.verdictCode, message: r.message })
    return r.ack ? 'ack' : 'reject'
  }

  async function translate(a: Arrival, e: unknown): Promise<HandlerResult> {
    try {
      const r = asRefusal(e)
      if (r) return await refused(a, r)
      if (isGatewayError(e) && e.retryable) {
        log.warn({ err: e, documentId: a.documentId, messageId: a.input.messageId, code: e.code }, `transient failure, the message goes back to the queue: ${e.message}`)
        return 'retry'
      }
      log.error({ err: e, documentId: a.documentId, messageId: a.input.messageId }, 'unexpected error processing an incoming package')
      return await refused(a, refuse('INTERNAL', e instanceof Error ? e.message : String(e)))
    } catch (e2) {
      log.warn({ err: e2, messageId: a.input.messageId }, 'cannot store the rejected package; the message goes back to the queue')
      return 'retry'
    }
  }

  /**
   * Whether a package is read by a receive worker: big enough, within limits.packageBytes and under the delivery
   * limit (a package refused before parsing is not worth a copy to a worker).
   */
  const offloaded = (input: ReceiveInput): boolean =>
    deps.offload !== undefined &&
    input.bytes.length >= deps.offload.minBytes &&
    input.bytes.length <= limits.packageBytes &&
    (deps.deliveryLimit === undefined || (input.unfinishedDeliveries ?? 0) < deps.deliveryLimit)

  /** The worker's reading: the envelope over our bytes, or the parse refusal it found (thrown as the same error). */
  function fromReading(input: ReceiveInput, r: PackageReading) {
    if (r.refused) throw gwError(r.refused.code as ErrorCode, r.refused.params)
    return parsed(Envelope.fromTransfer(input.bytes, r.envelope!), input, limits, log)
  }

  async function receive(given: ReceiveInput): Promise<HandlerResult> {
    // A worker that dies or cannot be reached throws here: the consumer counts the delivery as unfinished and
    // retries it, so a package that kills its worker ends at amqp.deliveryLimit. An AMQP message's bytes are
    // moved to the worker and back (a structured-clone copy of 50 MB holds the loop for 100-200 ms); another
    // feed's bytes, which its caller may still use, are copied.
    const reading = offloaded(given)
      ? await deps.offload!.inspector.run(
          {
            op: 'read-package',
            bytes: given.bytes,
            // (a copy: the signature stays here, for the steps and the record)
            ...(given.signature?.length ? { signature: given.signature.slice() } : {}),
            ...(given.sender !== undefined ? { sender: given.sender } : {}),
            limits: { packageBytes: limits.packageBytes, xmlDepth: limits.xmlDepth },
          },
          { transfer: given.source === 'amqp' },
        )
      : undefined
    const input = reading ? { ...given, bytes: reading.bytes } : given
    const a = arrive(newId(), input, hosted, reading?.sha256 ?? (await sha256Stepwise(input.bytes)))
    try {
      checkDeliveries(input, deps.deliveryLimit)
      checkSize(input.bytes, limits)
      const { env, sender, documentId } = reading ? fromReading(input, reading) : parse(input, limits, log)
      Object.assign(a, { env, sender, ...(documentId ? { documentId } : {}) })
      // the national axis carries no detached CMS: its packages' PDF signatures are verified instead (receive-axis.ts)
      const fromAxis = input.source === 'axis' && !input.signature?.length
      if (!fromAxis) a.signature = readHeaders(input)
      checkRecipient(a, env)
      checkSender(input.sender, sender)
      a.verdict = fromAxis
        ? await verifyFromAxis(steps, env, sender, { policy: input.unsigned ?? 'accept', maxBytes: limits.packageBytes })
        : reading?.verdict
          ? judgeVerdict(steps, a.signature as Uint8Array, reading.verdict)
          : await verify(steps, input.bytes, a.signature as Uint8Array, sender)
      return await serialised(`${upper(sender)}|${documentId ?? ''}`, async () => {
        const history = { id: a.id, kind: env.kind, sender, documentId, sha256: a.sha256, recipient: a.recipient, businessType: businessType(env) }
        const existing = await checkHistory(steps, history)
        if (existing) return await redelivered(a, existing)
        return env.kind === 'edoc' ? await acceptDocument(a, env, historyGuard(history)) : await acceptStatus(a, env)
      })
    } catch (e) {
      return translate(a, e)
    }
  }

  const pipeline = {
    handle: (msg: InboundMessage) => receive(inputFromAmqp(msg)),
    receive,
    on(event: string, listener: Parameters<EventEmitter['on']>[1]) {
      events.on(event, listener)
      return pipeline
    },
    off(event: string, listener: Parameters<EventEmitter['off']>[1]) {
      events.off(event, listener)
      return pipeline
    },
  }
  return pipeline as unknown as IncomingPipeline
}
