/**
 * The receive steps, one module-level function each, in the order of src/pipeline/RECEIVE.md:
 *
 *   checkSize → parse → readHeaders → checkRecipient → checkSender → verify → checkHistory
 *   → business type (receive-business.ts) | status handling (receive-status.ts) → record → answer
 *
 * Each takes explicit inputs and, where it needs the outside world, a small deps object (`Pick<ReceiveDeps, ...>`).
 * None knows AMQP: a package arrives as a {@link ReceiveInput} (bytes plus the facts its transport gave: sender,
 * recipient, signature, messageId, source), so the consumer (incoming.ts), the operator's replay (deadletter.ts)
 * and any other feed run the very same checks. A step that refuses the package throws a {@link Refusal} (a
 * GatewayError of the catalogue's RECEIVE area, or GW_ERR_ENVELOPE_*); the caller's one translating catch decides
 * what a refusal means there (stored `rejected` + dead-lettered for the consumer, `still-rejected` for a replay).
 */
import { createHash } from 'node:crypto'
import type { Config } from '../config.js'
import { STATUS_CODE_LABELS, isStatusCode } from '../document/delivery.js'
import { ERRORS, GatewayError, gwError, isGatewayError, storedRefusalCode, type ErrorCode } from '../errors.js'
import { parseEnvelope, type Envelope } from '../envelope/index.js'
import type { Logger } from '../logger.js'
import { withEtsi, type Verdict, type VerdictCode, type Verifier } from '../signature/index.js'
import type { JsonObject, RecordIncomingInput, RecordOutgoingInput, Store, StoredIncoming } from '../store/index.js'
import { splitCode } from './document-request.js'
import { responseForHeader, type PreparedStatus, type SendStatusInput, type StatusSender } from './statuses.js'

// ---- inputs and deps ----------------------------------------------------------------------------------------

/** Where a package came from: the AMQP consumer, an operator replaying a stored dead letter, or the axis connector. */
export type ReceiveSource = 'amqp' | 'replay' | 'axis'

/** One package to receive, as its transport delivered it (nothing here is trusted until verified). */
export interface ReceiveInput {
  source: ReceiveSource
  /** The exact bytes (the edXML package), verified and stored as they are. */
  bytes: Uint8Array
  /** The sender the transport names (AMQP `x-lienthong-sender`); must equal From/OrganId. */
  sender?: string | undefined
  /** The agency it was delivered to (AMQP routing key, else the recipient header). */
  recipient?: string | undefined
  /** The detached CMS signature (AMQP `x-lienthong-signature`, decoded); absent when missing or not base64. */
  signature?: Uint8Array | undefined
  messageId?: string | undefined
  /** AMQP priority (0..9). */
  priority?: number | undefined
  /** The kind the transport labels it with (AMQP `type`): logged when the signed bytes say otherwise. */
  declaredKind?: string | undefined
  /** Source `axis` without a signature: accept (flagged) or reject it (receive-axis.ts). Default accept. */
  unsigned?: 'accept' | 'reject' | undefined
  /**
   * Earlier deliveries of this message that came to no end (the gateway stopped, hung or failed while handling
   * it; src/transport/consumer.ts counts them). At the delivery limit the package is refused unread (DELIVERY_LIMIT).
   */
  unfinishedDeliveries?: number | undefined
  /** What the transport said about the message (queue, properties, header names), bounded, for a refused record. */
  transport?: JsonObject | undefined
}

export type ReceiveLog = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
export const silentLog: ReceiveLog = { info() {}, warn() {}, error() {}, debug() {} }

/** What the steps use; each step names the part it needs. */
/**
 * `trust.revocation.onUnavailable: hold`: when a signature gets REVOCATION_UNAVAILABLE the package is not refused
 * but goes back to the queue (a retryable error), until `maxMs` after it was first held; `firstSeen` is kept per
 * signature in memory (a restart starts the wait again), at most 10000 packages.
 */
export interface RevocationHold {
  readonly maxMs: number
  readonly firstSeen: Map<string, number>
}

export interface ReceiveDeps {
  store: Store
  verifier: Pick<Verifier, 'verify'>
  revocationHold?: RevocationHold
  /** Sends 01/02 (src/pipeline/statuses.ts); `prepare` signs a 01 stored together with its document. */
  statuses: Pick<StatusSender, 'send' | 'prepare'>
  clock: () => Date
  log: ReceiveLog
}

export type ReceiveLimits = Pick<Config['limits'], 'packageBytes' | 'xmlDepth'> & Partial<Pick<Config['limits'], 'attachments'>>

export const upper = (s: string | undefined): string => (s ?? '').trim().toUpperCase()

/** Hosted agencies: uppercase OrganId → OrganId as configured. */
export type HostedAgencies = ReadonlyMap<string, string>
export const hostedAgencies = (agencies: readonly { organId: string }[]): HostedAgencies => new Map(agencies.map((a) => [upper(a.organId), a.organId]))

// ---- refusals -----------------------------------------------------------------------------------------------

/** Receive codes as stored in verdicts: the catalogue's GW_ERR_RECEIVE_* names without the prefix. */
export type ReceiveCode = { [K in ErrorCode]: K extends `GW_ERR_RECEIVE_${infer N}` ? N : never }[ErrorCode]

/** A package refused for a reason that retrying cannot change. */
export class Refusal extends GatewayError {
  /** What the package's verdict stores: `NO_SIGNATURE`, `UNTRUSTED_CHAIN`, `GW_ERR_ENVELOPE_DOCTYPE`... */
  readonly verdictCode: string
  /** The signature verdict, when verification ran. */
  readonly verdict: Verdict | undefined
  /** Acknowledge instead of dead-lettering (orphan statuses: retrying cannot help, redelivery neither). */
  readonly ack: boolean

  constructor(code: ErrorCode, message: string, opts: { verdict?: Verdict | undefined; ack?: boolean; cause?: unknown } = {}) {
    super(code, {}, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'Refusal'
    this.message = message
    this.verdictCode = storedRefusalCode(code)
    this.verdict = opts.verdict
    this.ack = opts.ack ?? false
  }
}

/** A receive refusal with the catalogue message, `: detail` appended when given. */
export function refuse(code: ReceiveCode, detail?: string, opts: { verdict?: Verdict | undefined; ack?: boolean } = {}): Refusal {
  const full = `GW_ERR_RECEIVE_${code}` as const
  const base = ERRORS[full].message
  return new Refusal(full, detail ? `${base}: ${detail}` : base, opts)
}

/** A Refusal, or a non-retryable GW_ERR_ENVELOPE_* error (the bytes cannot be a package) as one; else undefined. */
export function asRefusal(e: unknown): Refusal | undefined {
  if (e instanceof Refusal) return e
  if (isGatewayError(e) && !e.retryable && e.code.startsWith('GW_ERR_ENVELOPE_')) return new Refusal(e.code, e.message, { cause: e })
  return undefined
}

// ---- what is known about a package so far -------------------------------------------------------------------

/**
 * The facts a caller collects from the steps (each step returns its part); the record step stores whatever is
 * known, so a refusal at any step still stores the package with what could be read.
 */
export interface Arrival {
  /** Our id for the package (a new uuid; a replay keeps the stored id). */
  id: string
  input: ReceiveInput
  sha256: string
  /** The recipient in the configured spelling when hosted here, else as received. */
  recipient: string
  hosted: boolean
  env?: Envelope
  /** From/OrganId as written. */
  sender?: string
  documentId?: string
  signature?: Uint8Array
  verdict?: Verdict
}

export function arrive(id: string, input: ReceiveInput, hosted: HostedAgencies, sha256?: string): Arrival {
  const key = upper(input.recipient)
  return {
    id,
    input,
    sha256: sha256 ?? createHash('sha256').update(input.bytes).digest('hex'),
    recipient: hosted.get(key) ?? input.recipient ?? '',
    hosted: hosted.has(key),
  }
}

// ---- 1..6: the checks ---------------------------------------------------------------------------------------

/** SHA-256 of the bytes in 1 MiB steps that give the event loop back in between (a 100 MB message never holds it). */
export async function sha256Stepwise(bytes: Uint8Array, step = 1 << 20): Promise<string> {
  const h = createHash('sha256')
  for (let off = 0; off < bytes.length; off += step) {
    h.update(bytes.subarray(off, off + step))
    if (off + step < bytes.length) await new Promise<void>((r) => setImmediate(r))
  }
  return h.digest('hex')
}

/** 0. A message whose earlier deliveries came to no end `limit` times is refused unread: it never loops. */
export function checkDeliveries(input: Pick<ReceiveInput, 'unfinishedDeliveries'>, limit: number | undefined): void {
  const n = input.unfinishedDeliveries ?? 0
  if (limit !== undefined && n >= limit) throw refuse('DELIVERY_LIMIT', `${n} earlier deliveries came to no end (limit amqp.deliveryLimit = ${limit})`)
}

/** 1. `limits.packageBytes`, before anything reads the bytes. */
export function checkSize(bytes: Uint8Array, limits: Pick<ReceiveLimits, 'packageBytes'>): void {
  if (bytes.length > limits.packageBytes) {
    throw new Refusal('GW_ERR_ENVELOPE_TOO_LARGE', `package is ${bytes.length} bytes, over the limit of ${limits.packageBytes}`)
  }
}

export interface Parsed {
  env: Envelope
  /** From/OrganId as written. */
  sender: string
  /** DocumentId; for a document without one, `<From>,<PromulgationDate>,<Code>` (the fallback identity). */
  documentId: string | undefined
}

/** 2. envelope.parseEnvelope with the configured limits (throws the GW_ERR_ENVELOPE_* code). */
export function parse(input: Pick<ReceiveInput, 'bytes' | 'declaredKind' | 'messageId'>, limits: ReceiveLimits, log: ReceiveLog = silentLog): Parsed {
  return parsed(parseEnvelope(input.bytes, { maxBytes: limits.packageBytes, maxDepth: limits.xmlDepth }), input, limits, log)
}

/** The rest of step 2 over an Envelope parsed elsewhere (a receive worker, incoming.ts): the attachment count, the kind. */
export function parsed(env: Envelope, input: Pick<ReceiveInput, 'declaredKind' | 'messageId'>, limits: ReceiveLimits, log: ReceiveLog = silentLog): Parsed {
  const count = env.edoc?.attachments.length ?? 0
  if (limits.attachments !== undefined && count > limits.attachments) {
    throw new Refusal('GW_ERR_ENVELOPE_TOO_MANY_ATTACHMENTS', `package has ${count} attachments, over the limit of ${limits.attachments}`)
  }
  if ((input.declaredKind === 'edoc' || input.declaredKind === 'status') && input.declaredKind !== env.kind) {
    // the signed body decides; the transport's label is only the sender's word
    log.warn({ messageId: input.messageId, amqpType: input.declaredKind, kind: env.kind }, `AMQP type ${input.declaredKind} but the package is a ${env.kind} package; handled as ${env.kind}`)
  }
  if (env.kind === 'edoc' && env.edoc) {
    const h = env.edoc.messageHeader
    const documentId = h.documentId.trim() !== '' ? h.documentId : `${h.from.organId},${h.promulgationInfo.promulgationDate.value},${h.code.codeNumber}/${h.code.codeNotation}`
    return { env, sender: h.from.organId, documentId }
  }
  const s = env.status!.messageHeader
  return { env, sender: s.from.organId, documentId: s.responseFor.documentId || undefined }
}

/** 3. The detached signature must have come with the package. */
export function readHeaders(input: Pick<ReceiveInput, 'signature'>): Uint8Array {
  if (!input.signature || input.signature.length === 0) throw refuse('NO_SIGNATURE')
  return input.signature
}

/** 4. Hosted here, and (a document) addressed to it in To. */
export function checkRecipient(to: { recipient: string; hosted: boolean }, env: Envelope): void {
  if (!to.hosted) throw refuse('RECIPIENT_NOT_HOSTED', to.recipient || '(no recipient)')
  if (env.edoc && !env.edoc.messageHeader.to.some((t) => upper(t.organId) === upper(to.recipient))) {
    throw refuse('RECIPIENT_NOT_ADDRESSED', `${to.recipient} is not in To (${env.edoc.messageHeader.to.map((t) => t.organId).join(', ')})`)
  }
}

/** 5. The sender the transport names is From/OrganId. */
export function checkSender(transportSender: string | undefined, from: string | undefined): void {
  if (upper(transportSender) !== upper(from)) {
    throw refuse('SENDER_MISMATCH', `sender header ${transportSender ?? '(none)'}, From/OrganId ${from ?? '(none)'}`)
  }
}

/**
 * 6. CMS over the exact bytes, chain, validity, key usage, revocation, certificate UID = From/OrganId. With a
 * revocation hold, REVOCATION_UNAVAILABLE is a retryable GW_ERR_SIGNATURE_REVOCATION until the hold expires.
 */
export async function verify(deps: Pick<ReceiveDeps, 'verifier'> & Partial<Pick<ReceiveDeps, 'revocationHold' | 'clock'>>, bytes: Uint8Array, signature: Uint8Array, from: string): Promise<Verdict> {
  return judgeVerdict(deps, signature, await deps.verifier.verify(bytes, signature, { expectedOrganId: from }))
}

/** What step 6 makes of a verdict (the main thread's or a receive worker's): the revocation hold, else a refusal when not ok. */
export function judgeVerdict(deps: Partial<Pick<ReceiveDeps, 'revocationHold' | 'clock'>>, signature: Uint8Array, verdict: Verdict): Verdict {
  const hold = deps.revocationHold
  if (hold) {
    const key = createHash('sha256').update(signature).digest('base64')
    if (verdict.code === 'REVOCATION_UNAVAILABLE') {
      const now = (deps.clock ?? (() => new Date()))().getTime()
      let first = hold.firstSeen.get(key)
      if (first === undefined) {
        if (hold.firstSeen.size >= 10_000) hold.firstSeen.delete(hold.firstSeen.keys().next().value!)
        first = now
        hold.firstSeen.set(key, now)
      }
      if (now - first < hold.maxMs) {
        throw gwError('GW_ERR_SIGNATURE_REVOCATION', {
          reason: `held since ${new Date(first).toISOString()} (until ${new Date(first + hold.maxMs).toISOString()}): ${verdict.message}`,
        })
      }
    }
    hold.firstSeen.delete(key)
  }
  if (!verdict.ok) throw new Refusal(`GW_ERR_RECEIVE_${verdict.code as Exclude<VerdictCode, 'VALID'>}`, verdict.message, { verdict })
  return verdict
}

// ---- 7: history ---------------------------------------------------------------------------------------------

/** A stored copy that counts as received: refused (`rejected`) and discarded copies never do. */
export const counts = (s: StoredIncoming): boolean => s.state !== 'rejected' && s.state !== 'discarded'

/**
 * Business types that keep a received document's DocumentId by design: revoke (1), and update (2) / replace (3)
 * as the public SDK writes them (the same DocumentId, the target named in Bussiness or ReplacementInfoList).
 */
export const keepsDocumentId = (businessType: number): boolean => businessType === 1 || businessType === 2 || businessType === 3

/** The same package (canonical sender, DocumentId, bytes, recipient) among stored copies, accepted ones only. */
export const acceptedCopy = (seen: readonly StoredIncoming[], q: { id: string; sha256: string; recipient: string }): StoredIncoming | undefined =>
  seen.find((s) => s.id !== q.id && counts(s) && s.sha256 === q.sha256 && upper(s.recipient) === upper(q.recipient))

export interface HistoryQuery {
  /** The package's own id (a replay's row is in the store already and is not its own history). */
  id: string
  kind: 'edoc' | 'status'
  sender: string | undefined
  documentId: string | undefined
  sha256: string
  recipient: string
  /** BussinessDocType (receive-business.ts `businessType`): revoke, update and replace may keep the DocumentId. */
  businessType: number
}

/**
 * 7. The stored copy when these bytes were already received for this recipient (a redelivery: ack, no second 01);
 * refuses REPLAY when the sender's DocumentId was received with other bytes. Only copies that passed verification
 * count (a refused copy, whatever it claims, neither makes a redelivery nor a replay), the sender compares
 * canonically (case-insensitively: a lowercased From is the same sender), and a revoke, update or replace (types
 * 1–3, {@link keepsDocumentId}) is exempt both ways. Run it serialised per sender + DocumentId in the process, and
 * store an accepted document with {@link historyGuard}: the store checks the REPLAY rule again inside its write
 * transaction, so other processes on the same database stay in step too.
 */
export async function checkHistory(deps: Pick<ReceiveDeps, 'store'>, q: HistoryQuery): Promise<StoredIncoming | undefined> {
  if (!q.sender || !q.documentId) return undefined
  return historyOf(await deps.store.findIncomingByDocument(q.sender, q.documentId), q)
}

/** The rule of {@link checkHistory} over the stored copies under the package's (sender, DocumentId). */
export function historyOf(stored: readonly StoredIncoming[], q: HistoryQuery): StoredIncoming | undefined {
  const seen = stored.filter((s) => s.id !== q.id && counts(s) && upper(s.senderOrganId) === upper(q.sender))
  const same = acceptedCopy(seen, q)
  if (same) return same
  if (q.kind === 'edoc' && !keepsDocumentId(q.businessType)) {
    const other = seen.find((s) => s.kind === 'edoc' && s.sha256 !== q.sha256 && !keepsDocumentId(Number(s.metadata.businessType ?? 0) || 0))
    if (other) throw refuse('REPLAY', `DocumentId ${q.documentId} from ${q.sender} was received at ${other.receivedAt} (package ${other.id}) with sha256 ${other.sha256}`)
  }
  return undefined
}

/**
 * The REPLAY half of step 7 again, inside the transaction that stores an accepted document (`recordIncoming`'s
 * `guard`): two different packages under one DocumentId received at the same time (two consumers, two gateway
 * processes on one database) both pass the check before the write, and only one of them may be stored. Undefined
 * when the rule cannot refuse the package (a status, no DocumentId, a revoke, update or replace).
 */
export function historyGuard(q: HistoryQuery): RecordIncomingInput['guard'] {
  if (q.kind !== 'edoc' || !q.sender || !q.documentId || keepsDocumentId(q.businessType)) return undefined
  const sender = q.sender
  const documentId = q.documentId
  return { sender, documentId, check: (stored) => void historyOf(stored, q) }
}

// ---- record -------------------------------------------------------------------------------------------------

/**
 * The document's metadata as stored: header in friendly names, business part, attachments, warnings. Nothing is
 * decoded or unzipped here: the attachments are described by what parsing learnt from their first bytes (declared
 * and sniffed type, payload size, the ZIP convention's entry); the full reading (`Envelope.describeAttachment`,
 * streamed within limits.unzippedBytes) happens when the DMS asks for an attachment, in a worker thread.
 */
export function describe(env: Envelope): JsonObject {
  const e = env.edoc
  if (!e) return {}
  const h = e.messageHeader
  const b = e.traceHeaderList.bussiness
  const type = Number(b?.bussinessDocType ?? 0) || 0
  const attachments = e.attachments.map((info) => ({
    contentId: info.contentId,
    name: info.attachmentName,
    declared: { manifest: info.manifestContentType, attachment: info.contentType },
    contentType: info.realContentType,
    payloadSize: info.size,
    ...(info.zipEntryName !== undefined ? { zipEntryName: info.zipEntryName } : {}),
  }))
  return {
    subject: h.subject,
    code: `${h.code.codeNumber}/${h.code.codeNotation}`,
    from: { organId: h.from.organId, name: h.from.organName },
    to: h.to.map((t) => ({ organId: t.organId, name: t.organName })),
    promulgation: { place: h.promulgationInfo.place, date: h.promulgationInfo.promulgationDate.value },
    documentType: h.documentType,
    priority: Number(h.otherInfo.priority) || 0,
    signer: h.signerInfo,
    businessType: type,
    business: b
      ? {
          type,
          reason: b.bussinessDocReason,
          documentId: b.documentId,
          replacementInfo: b.replacementInfoList.map((r) => ({ documentId: r.documentId, organIds: r.organIdList })),
          ...(b.bussinessDocumentInfo ? { documentInfo: b.bussinessDocumentInfo } : {}),
        }
      : { type: 0 },
    attachments,
    warnings: env.warnings.map((w) => ({ code: w.code, message: w.message })),
  }
}

/** The identifying columns of the package, from whatever is known. */
export function basePackage(a: Arrival) {
  const env = a.env
  const h = env?.edoc?.messageHeader
  const s = env?.status?.messageHeader
  const code = h ? { codeNumber: h.code.codeNumber, codeNotation: h.code.codeNotation } : s ? splitCode(s.responseFor.code) : {}
  const date = h ? h.promulgationInfo.promulgationDate.value : s?.responseFor.promulgationDate.value
  const sender = a.sender ?? a.input.sender
  const signature = a.signature ?? a.input.signature
  return {
    id: a.id,
    kind: env?.kind ?? ('unknown' as const),
    ...(a.documentId ? { documentId: a.documentId } : {}),
    ...(sender ? { senderOrganId: sender } : {}),
    ...(a.recipient ? { recipient: a.recipient } : {}),
    ...(a.input.messageId ? { messageId: a.input.messageId } : {}),
    bytes: a.input.bytes,
    ...(signature ? { signature } : {}),
    sha256: a.sha256,
    priority: a.input.priority ?? 0,
    ...(h?.subject ? { subject: h.subject } : {}),
    ...(code.codeNumber ? { codeNumber: code.codeNumber } : {}),
    ...(code.codeNotation ? { codeNotation: code.codeNotation } : {}),
    ...(date ? { promulgationDate: date } : {}),
    ...(s && isStatusCode(s.statusCode) ? { statusCode: s.statusCode } : {}),
  }
}

/**
 * Store a verified package `received` (nothing is acknowledged before this commits), with its `reply` (the signed
 * 01 of {@link prepareReceived}) or the delivery move it makes (`apply`, a status's) in the same transaction: a
 * stored document always has its 01 in the outbox, a stored status has moved its delivery.
 */
export function recordReceived(
  deps: Pick<ReceiveDeps, 'store' | 'clock'>,
  a: Arrival,
  extra: { metadata: JsonObject; relatedId?: string | undefined; reply?: RecordOutgoingInput | undefined; apply?: RecordIncomingInput['apply']; guard?: RecordIncomingInput['guard'] },
) {
  return deps.store.recordIncoming({
    package: { ...basePackage(a), metadata: extra.metadata, verdict: (a.verdict ? withEtsi(a.verdict) : a.verdict) as unknown as JsonObject, ...(extra.relatedId ? { relatedId: extra.relatedId } : {}) },
    ...(extra.reply ? { reply: extra.reply } : {}),
    ...(extra.apply ? { apply: extra.apply } : {}),
    ...(extra.guard ? { guard: extra.guard } : {}),
    state: 'arrived',
    actor: `peer:${a.sender}`,
    at: deps.clock(),
  })
}

/**
 * The verdict a refused package is stored with: `{ ok: false, code, message, signature? }`; the signature's verdict
 * carries its ETSI indication (`signature.etsi`), the refusal itself none (it may be about the package, not the
 * signature: REPLAY, an envelope error).
 */
export function refusalVerdict(a: Pick<Arrival, 'verdict'>, r: Refusal): JsonObject {
  const signature = r.verdict ?? a.verdict
  return { ok: false, code: r.verdictCode, message: r.message, ...(signature ? { signature: withEtsi(signature) as unknown as JsonObject } : {}) }
}

/** Whether the package passed verification (step 6): only then are its bytes and what it says kept in full. */
export const authenticated = (a: Pick<Arrival, 'verdict'>): boolean => a.verdict?.ok === true

const clip = (v: string | undefined, n: number): string | undefined => (v === undefined || v.length <= n ? v : `${v.slice(0, n)}…`)

/**
 * Store a refused package `rejected` with its verdict and `reason = "<code>: <message>"`. Its metadata keeps what
 * the transport said (`input`: source and sender) so an operator's replay checks the same facts again.
 *
 * A package refused before its signature verified (over limits.packageBytes, unparsable, unsigned, not for us,
 * a failed verdict, a delivery loop) is someone's claim, not a document: it is stored as a bounded record, never
 * described, with only its first `keepBytes` bytes (`metadata.received`: size, SHA-256 of the whole, bytes kept;
 * `metadata.transport`: the message's properties and header names) and clipped header columns. Its whole bytes
 * stay only in the dead-letter queue (bounded by queue arguments, src/transport/README.md). Without `keepBytes`
 * the bytes are kept whole (tests, callers with their own bound).
 */
export function recordRefused(deps: Pick<ReceiveDeps, 'store' | 'clock'>, a: Arrival, r: Refusal, opts: { keepBytes?: number | undefined } = {}) {
  const trusted = authenticated(a)
  const bounded = !trusted && opts.keepBytes !== undefined && a.input.bytes.length > opts.keepBytes
  const described = trusted && a.env ? (a.env.kind === 'edoc' ? describe(a.env) : { statusCode: a.env.status?.messageHeader.statusCode }) : {}
  const base = basePackage(a)
  const pkg = trusted
    ? base
    : {
        ...base,
        ...(base.documentId ? { documentId: clip(base.documentId, 200)! } : {}),
        ...(base.senderOrganId ? { senderOrganId: clip(base.senderOrganId, 100)! } : {}),
        ...(base.subject ? { subject: clip(base.subject, 300)! } : {}),
        ...(base.codeNumber ? { codeNumber: clip(base.codeNumber, 100)! } : {}),
        ...(base.codeNotation ? { codeNotation: clip(base.codeNotation, 100)! } : {}),
        ...(base.messageId ? { messageId: clip(base.messageId, 200)! } : {}),
        ...(bounded ? { bytes: a.input.bytes.subarray(0, opts.keepBytes), size: a.input.bytes.length } : {}),
      }
  const sender = a.input.sender !== undefined ? clip(a.input.sender, 100) : undefined
  return deps.store.recordIncoming({
    package: {
      ...pkg,
      metadata: {
        ...described,
        input: { source: a.input.source, ...(sender !== undefined ? { sender } : {}) },
        ...(trusted ? {} : { received: { size: a.input.bytes.length, sha256: a.sha256, kept: bounded ? opts.keepBytes! : a.input.bytes.length }, ...(a.input.transport ? { transport: a.input.transport } : {}) }),
      },
      verdict: refusalVerdict(a, r),
    },
    state: 'rejected',
    reason: `${r.verdictCode}: ${clip(r.message, 1000)}`,
    actor: `peer:${clip(a.sender ?? a.input.sender, 100) ?? 'unknown'}`,
    at: deps.clock(),
  })
}

// ---- answer -------------------------------------------------------------------------------------------------

export interface Answered {
  /** The hosted recipient that authors the status. */
  recipient: string
  /** From/OrganId of the document answered. */
  sender: string
  documentId: string
  env: Envelope
  /** The stored incoming package (keys the status: `01:<id>`, `02:<id>`). */
  incomingId: string
}

const received01 = (d: Answered, metadata: JsonObject): SendStatusInput => ({
  from: d.recipient,
  to: d.sender,
  statusCode: '01',
  responseFor: responseForHeader(d.env.edoc!.messageHeader, d.sender, d.documentId),
  description: STATUS_CODE_LABELS['01'],
  actor: 'system',
  key: `01:${d.incomingId}`,
  metadata: { incomingId: d.incomingId, ...metadata },
})

/** 01 for a received document, keyed `01:<incoming id>` so it is never sent twice. Throws what the sender throws. */
export async function answerReceived(deps: Pick<ReceiveDeps, 'statuses'>, d: Answered, metadata: JsonObject = {}): Promise<void> {
  await deps.statuses.send(received01(d, metadata))
}

/**
 * The same 01, built and signed but not stored: {@link recordReceived} stores it with the document in one
 * transaction; call `stored` with the result's `reply` after the commit (it wakes the relay).
 */
export function prepareReceived(deps: Pick<ReceiveDeps, 'statuses'>, d: Answered, metadata: JsonObject = {}): Promise<PreparedStatus> {
  return deps.statuses.prepare(received01(d, metadata))
}

/**
 * Whether a refusal may be answered with a 02 (RECEIVE.md "Who is told"): a document (never a status for a status:
 * no ping-pong between gateways) for a hosted recipient whose signature **verified as its From** (the verdict is
 * VALID: CMS over the exact bytes, trusted chain, certificate UID = From = the transport's sender), refused by a
 * later rule (an internal error after verification), and not an acknowledged refusal. Never a REPLAY: a status
 * names its document by DocumentId only, and a REPLAY means a document under that DocumentId from that sender was
 * accepted here (and answered 01), so a 02 would refuse that accepted document on the sender's books (its
 * delivery moved to refused while the recipient holds it); the refused copy is a dead letter for the operator.
 * Anything refused
 * up to and including verification is an unauthenticated claim: its From may name any agency, and bytes copied
 * from a genuine package name the genuine sender. It is stored and dead-lettered, never answered, so junk cannot
 * make this gateway sign refusals to arbitrary agencies (or refuse a genuine document on its sender's books).
 * The caller also checks that no accepted copy of the same package is stored ({@link acceptedCopy}).
 */
export function answersRefusal(a: Arrival, r: Refusal): boolean {
  return (
    a.env?.kind === 'edoc' && !!a.sender && upper(a.sender) === upper(a.input.sender) && !!a.documentId && a.hosted && !r.ack && a.verdict?.ok === true && r.verdict === undefined && r.verdictCode !== 'REPLAY'
  )
}

/** 02 `Từ chối tiếp nhận (<code>): <message>`, keyed `02:<incoming id>`. Throws what the sender throws. */
export async function answerRefused(deps: Pick<ReceiveDeps, 'statuses'>, d: Answered, r: Refusal): Promise<void> {
  await deps.statuses.send({
    from: d.recipient,
    to: d.sender,
    statusCode: '02',
    responseFor: responseForHeader(d.env.edoc!.messageHeader, d.sender, d.documentId),
    description: `${STATUS_CODE_LABELS['02']} (${r.verdictCode}): ${r.message}`.slice(0, 2000),
    actor: 'system',
    key: `02:${d.incomingId}`,
    metadata: { incomingId: d.incomingId, code: r.verdictCode },
  })
}
