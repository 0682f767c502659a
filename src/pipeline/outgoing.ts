/**
 * The outgoing pipeline: what happens to a document a DMS sends, as named steps in this order:
 *
 *   1. checkIdempotency  an Idempotency-Key already used: same body → the original result, nothing sent again;
 *                        another body → GW_ERR_API_IDEMPOTENCY_CONFLICT (the store re-checks atomically in step 5)
 *   2. validate          the client's agency is hosted here and can sign; limits (recipients, attachments, sizes)
 *   3. buildEnvelope     JSON → the builder's input (From = the client's agency); prebuilt edXML → parsed and
 *                        checked (From must be the client's agency, else 403), its bytes kept unchanged
 *   4. sign              JSON: build the edXML bytes (envelope.buildEdoc); then a detached CMS over the exact bytes
 *                        with the agency's key; both in a worker thread when a package pool is configured
 *   5. store             package + one `accepted` delivery per recipient + idempotency key, one transaction
 *   6. wakeRelay         the outbox relay publishes; the API answers 202 without waiting for the broker
 *   3b. checkDocumentId  the DocumentId is the client agency's (`<OrganId>,<yyyy/MM/dd>,<code>`, else
 *                        GW_ERR_API_DOCUMENT_ID_FORM) and not used yet by another document of this agency: the same
 *                        request body again → the package already sent (`replayed`); a different new document (type
 *                        0) → GW_ERR_API_DOCUMENT_ID_USED, before anything is signed or sent. Revoke, update and
 *                        replace (types 1–3) may keep the original's DocumentId. Serialised per agency + DocumentId.
 * Steps 4 (the signature), 5 and 6 are the outbox (`outbox.ts`), shared with status packages and revokes.
 *
 * Nothing is published before it is persisted (outbox): if the process dies after step 5, the relay publishes it
 * on the next start.
 */
import type { Config, AgencyConfig } from '../config.js'
import type { Logger } from '../logger.js'
import { gwError, isGatewayError } from '../errors.js'
import { buildEdoc, checkEmittable, parseEnvelope, type EdocInput } from '../envelope/index.js'
import type { PackagePool } from './package-pool.js'
import { createOutbox, type Outbox, type RelayWake, type SignerLike } from './outbox.js'
import type { Delivery, Store, StoredPackage } from '../store/index.js'
import { keyedSerial } from './serial.js'
import {
  amqpPriority,
  BUSINESS_REASONS,
  compositeDocumentId,
  edxmlDate,
  fromOrgan,
  toOrgan,
  type AttachmentData,
  type DocumentRequest,
} from './document-request.js'

export type { SignerLike } from './outbox.js'

export type SendSource =
  | { form: 'json'; document: DocumentRequest; attachments: AttachmentData[] }
  | { form: 'edxml'; bytes: Uint8Array }

export interface SendInput {
  clientId: string
  /** The hosted agency the client is bound to: the only From it may use. */
  organId: string
  idempotency?: { key: string; requestHash: string }
  /**
   * The request's body hash (media type + SHA-256), stored with the package: the same body sent again for the same
   * DocumentId without an Idempotency-Key answers the package already sent (`replayed`), nothing is sent twice.
   */
  requestHash?: string
  source: SendSource
  /** Who is recorded in the log. Default `client:<clientId>` (a VXP system is `vxp:<systemId>`). */
  actor?: string
}

export interface SendResult {
  id: string
  documentId: string
  sha256: string
  replayed: boolean
  /** Stored while the agency's signing token was unavailable: it is signed and sent when the token is back. */
  awaitingSignature?: boolean
  deliveries: { recipient: string; state: string }[]
}

export interface OutgoingPipeline {
  send(input: SendInput): Promise<SendResult>
}

export interface OutgoingDeps {
  config: Config
  store: Store
  signers: ReadonlyMap<string, SignerLike>
  relay: RelayWake
  clock: () => Date
  newId: () => string
  logger?: Logger
  /** Worker threads that build and sign (optional; without it both happen on the calling thread). */
  packager?: PackagePool
  /** Sign → store → wake; default: one over store, relay and packager. */
  outbox?: Outbox
}

/** What step 3 produces: the edXML package (exact bytes) and what the store keeps about it. */
interface Built {
  /** Exact package bytes, when already built (prebuilt edXML); the JSON form is built together with its signature. */
  bytes?: Uint8Array
  sha256?: string
  /** JSON form: the builder's input (built in step 4, in a worker when there is a pool). */
  edocInput?: EdocInput
  documentId: string
  recipients: string[]
  priority: number
  metadata: Record<string, unknown>
  subject?: string
  codeNumber?: string
  codeNotation?: string
  promulgationDate?: string
}

const resultOf = (pkg: StoredPackage, deliveries: Delivery[], replayed: boolean, awaitingSignature = false): SendResult => ({
  id: pkg.id,
  documentId: pkg.documentId,
  sha256: pkg.sha256,
  replayed,
  ...(awaitingSignature ? { awaitingSignature: true } : {}),
  deliveries: deliveries.map((d) => ({ recipient: d.recipient, state: d.state })),
})

export function createOutgoingPipeline(deps: OutgoingDeps): OutgoingPipeline {
  const { config, store } = deps
  const agencies = new Map(config.agencies.map((a) => [a.organId, a]))
  const limits = config.limits
  const outbox = deps.outbox ?? createOutbox({ store, relay: deps.relay, ...(deps.packager ? { packager: deps.packager } : {}) })

  async function checkIdempotency(input: SendInput): Promise<SendResult | undefined> {
    if (!input.idempotency) return undefined
    const rec = await store.findIdempotent(input.clientId, input.idempotency.key)
    if (!rec) return undefined
    if (rec.requestHash !== input.idempotency.requestHash) {
      throw gwError('GW_ERR_API_IDEMPOTENCY_CONFLICT', { key: input.idempotency.key })
    }
    const pkg = await store.getPackage(rec.packageId)
    if (!pkg) return undefined
    return resultOf(pkg, await store.getDeliveries(pkg.id), true, (await store.getAwaitingSignature(pkg.id)) !== undefined)
  }

  function validate(input: SendInput): { agency: AgencyConfig; signer: SignerLike } {
    const agency = agencies.get(input.organId)
    const signer = deps.signers.get(input.organId)
    if (!agency || !signer) {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: `agency ${input.organId} is not hosted by this gateway or has no signing key` })
    }
    if (input.source.form === 'json') {
      const { document, attachments } = input.source
      if (document.from !== undefined && document.from.trim().toUpperCase() !== input.organId.toUpperCase()) {
        throw gwError('GW_ERR_API_FORBIDDEN', { reason: `this API key sends for ${input.organId} only, not for ${document.from}` })
      }
      const problems: { field: string; problem: string }[] = []
      if (document.recipients.length > limits.recipients) problems.push({ field: 'body.recipients', problem: `at most ${limits.recipients} recipients` })
      if (attachments.length > limits.attachments) problems.push({ field: 'body.attachments', problem: `at most ${limits.attachments} attachments` })
      const seen = new Set<string>()
      document.recipients.forEach((r, i) => {
        const k = r.organId.toUpperCase()
        if (seen.has(k)) problems.push({ field: `body.recipients.${i}.organId`, problem: `${r.organId} is listed twice` })
        seen.add(k)
      })
      attachments.forEach((a, i) => {
        if (a.data.length > limits.attachmentBytes) {
          problems.push({ field: `attachments.${i}`, problem: `${a.name} is ${a.data.length} bytes, over limits.attachmentBytes ${limits.attachmentBytes}` })
        }
      })
      const dates: [string, string | undefined][] = [
        ['body.promulgation.date', document.promulgation.date],
        ['body.dueDate', document.dueDate],
        ...(document.responseFor ?? []).map((r, i): [string, string | undefined] => [`body.responseFor.${i}.promulgationDate`, r.promulgationDate]),
      ]
      for (const [field, d] of dates) {
        if (d !== undefined && !isRealDate(d)) problems.push({ field, problem: `${d} is not a real calendar date` })
      }
      if (problems.length > 0) {
        throw gwError('GW_ERR_API_VALIDATION', { problems: problems.map((p) => `${p.field} ${p.problem}`).join('; '), details: problems })
      }
    }
    return { agency, signer }
  }

  function buildEnvelope(input: SendInput, agency: AgencyConfig): Built {
    const src = input.source
    if (src.form === 'edxml') return fromPrebuilt(src.bytes, input.organId)
    const d = src.document
    const now = deps.clock()
    const businessType = d.business?.type ?? 0
    const edocInput: EdocInput = {
      from: fromOrgan(agency),
      to: d.recipients.map(toOrgan),
      ...(d.documentId ? { documentId: d.documentId } : {}),
      code: { codeNumber: d.code.number, codeNotation: d.code.notation },
      promulgationInfo: { place: d.promulgation.place, promulgationDate: edxmlDate(d.promulgation.date) },
      documentType: {
        type: d.documentType.type,
        ...(d.documentType.typeDetail !== undefined ? { typeDetail: d.documentType.typeDetail } : {}),
        typeName: d.documentType.typeName,
      },
      subject: d.subject,
      content: d.content ?? d.subject,
      signerInfo: { competence: d.signer.competence ?? '', position: d.signer.position, fullName: d.signer.fullName },
      ...(d.dueDate ? { dueDate: edxmlDate(d.dueDate) } : {}),
      toPlaces: d.toPlaces ?? [],
      otherInfo: {
        priority: d.priority ?? 0,
        sphereOfPromulgation: d.sphereOfPromulgation ?? '',
        typerNotation: d.typerNotation ?? '',
        ...(d.promulgationAmount !== undefined ? { promulgationAmount: d.promulgationAmount } : {}),
        pageAmount: d.pageAmount ?? 1,
        appendixes: d.appendixes ?? [],
      },
      responseFor: (d.responseFor ?? []).map((r) => ({
        organId: r.organId,
        code: r.code,
        ...(r.promulgationDate ? { promulgationDate: edxmlDate(r.promulgationDate) } : {}),
        documentId: r.documentId,
      })),
      steeringType: d.steeringType ?? 0,
      traceHeaders: [{ organId: agency.organId, timestamp: now }],
      bussiness: {
        bussinessDocType: businessType,
        bussinessDocReason: d.business?.reason ?? BUSINESS_REASONS[businessType] ?? '',
        ...(d.business?.documentInfo
          ? {
              bussinessDocumentInfo: {
                documentInfo: d.business.documentInfo.metadataChanged ? 1 : 0,
                documentReceiver: d.business.documentInfo.recipientsChanged ? 1 : 0,
                receiverList: (d.business.documentInfo.receivers ?? []).map((r) => ({ organId: r.organId, receiverType: r.receiverType ?? 0 })),
              },
            }
          : {}),
        ...(d.business?.documentId ? { documentId: d.business.documentId } : {}),
        staffInfo: d.business?.staff ?? {},
        paper: d.business?.paper ? 1 : 0,
        replacementInfoList: (d.business?.replacementInfo ?? []).map((r) => ({ documentId: r.documentId, organIdList: r.organIds ?? [] })),
      },
      attachments: src.attachments.map((a) => ({
        attachmentName: a.name,
        contentType: a.contentType,
        description: a.description ?? '',
        data: a.data,
      })),
      now,
    }
    return {
      edocInput,
      documentId: d.documentId ?? compositeDocumentId(agency.organId.toUpperCase(), d),
      recipients: d.recipients.map((r) => r.organId.trim().toUpperCase()),
      priority: amqpPriority(d.priority),
      subject: d.subject,
      codeNumber: d.code.number,
      codeNotation: d.code.notation,
      promulgationDate: edxmlDate(d.promulgation.date),
      metadata: {
        form: 'json',
        subject: d.subject,
        code: `${d.code.number}/${d.code.notation}`,
        documentType: d.documentType,
        priority: d.priority ?? 0,
        business: { type: businessType, ...(d.business?.documentId ? { documentId: d.business.documentId } : {}) },
        recipients: d.recipients.map((r) => ({ organId: r.organId, name: r.name })),
        attachments: src.attachments.map((a) => ({ name: a.name, contentType: a.contentType, size: a.data.length })),
      },
    }
  }

  function fromPrebuilt(bytes: Uint8Array, organId: string): Built {
    const envelope = parseEnvelope(bytes, { maxBytes: limits.packageBytes, maxDepth: limits.xmlDepth, junkPrefix: 'refuse' })
    if (envelope.kind !== 'edoc' || !envelope.edoc) {
      throw gwError('GW_ERR_API_VALIDATION', {
        problems: 'body is a status package; send documents here (statuses have their own route)',
        details: [{ field: 'body', problem: 'is a status package, not a document package' }],
      })
    }
    const h = envelope.edoc.messageHeader
    if (h.from.organId.trim().toUpperCase() !== organId.toUpperCase()) {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: `From/OrganId ${h.from.organId} is not the agency of this API key (${organId})` })
    }
    const recipients = h.to.map((t) => t.organId.trim().toUpperCase()).filter((x) => x !== '')
    if (recipients.length === 0) {
      throw gwError('GW_ERR_ENVELOPE_MISSING_FIELD', { path: 'MessageHeader/To/OrganId' })
    }
    if (recipients.length > limits.recipients) {
      throw gwError('GW_ERR_API_VALIDATION', { problems: `at most ${limits.recipients} recipients`, details: [{ field: 'To', problem: `at most ${limits.recipients} recipients` }] })
    }
    if (h.documentId.trim() === '') throw gwError('GW_ERR_ENVELOPE_MISSING_FIELD', { path: 'MessageHeader/DocumentId' })
    // what the builder never writes, refused here too: the SDK's Java library cannot open it
    checkEmittable(envelope)
    return {
      bytes: envelope.bytes,
      sha256: envelope.sha256(),
      documentId: h.documentId,
      recipients,
      priority: amqpPriority(h.otherInfo.priority),
      subject: h.subject,
      codeNumber: h.code.codeNumber,
      codeNotation: h.code.codeNotation,
      promulgationDate: h.promulgationInfo.promulgationDate.value,
      metadata: {
        form: 'edxml',
        subject: h.subject,
        code: `${h.code.codeNumber}/${h.code.codeNotation}`,
        priority: Number(h.otherInfo.priority) || 0,
        business: { type: Number(envelope.edoc.traceHeaderList.bussiness?.bussinessDocType ?? 0) || 0 },
        recipients: h.to.map((t) => ({ organId: t.organId, name: t.organName })),
        attachments: envelope.edoc.attachments.map((a) => ({ name: a.attachmentName, contentType: a.contentType, size: a.size })),
        warnings: envelope.warnings.map((w) => w.code),
      },
    }
  }

  /**
   * Step 4 (first half): the exact bytes — built for the JSON form, in the pool when there is one, where they are
   * signed in the same job; the outbox signs what is not signed yet.
   */
  async function build(organId: string, built: Built, at: Date): Promise<{ bytes: Uint8Array; signature?: Uint8Array; sha256: string; documentId: string }> {
    if (!built.edocInput) return { bytes: built.bytes as Uint8Array, sha256: built.sha256 as string, documentId: built.documentId }
    try {
      const out = deps.packager
        ? await deps.packager.buildAndSign(organId, built.edocInput, at)
        : (() => {
            const env = buildEdoc(built.edocInput)
            return { bytes: env.bytes, sha256: env.sha256(), documentId: env.edoc?.messageHeader.documentId ?? built.documentId }
          })()
      if (out.bytes.length > limits.packageBytes) {
        throw gwError('GW_ERR_ENVELOPE_TOO_LARGE', { size: out.bytes.length, limit: limits.packageBytes })
      }
      return out
    } catch (e) {
      if (isGatewayError(e)) throw e
      throw gwError('GW_ERR_SIGNATURE_KEY', { reason: (e as Error).message }, e)
    }
  }

  /**
   * Step 3b: the DocumentId is this agency's and free. A package already sent with the same request body is the
   * answer (an identical resend without an Idempotency-Key: the recipient would take the second copy for a
   * redelivery, answer one 01, and the other package would wait forever). A new document (type 0) reusing a
   * DocumentId is refused: the recipient would refuse it as a replay.
   */
  async function checkDocumentId(input: SendInput, agency: AgencyConfig, built: Built): Promise<SendResult | undefined> {
    const form = documentIdProblem(built.documentId, agency.organId)
    if (form) throw gwError('GW_ERR_API_DOCUMENT_ID_FORM', { documentId: built.documentId, reason: form })
    const sent = (await store.listPackages({ senderOrganId: agency.organId, documentId: built.documentId, kind: 'edoc', limit: 100 })).items
    if (input.requestHash) {
      const same = sent.find((p) => p.metadata.requestSha256 === input.requestHash && p.clientId === input.clientId)
      if (same) return resultOf(same, await store.getDeliveries(same.id), true, (await store.getAwaitingSignature(same.id)) !== undefined)
    }
    const type = Number((built.metadata.business as { type?: unknown } | undefined)?.type ?? 0) || 0
    if (type === 1 || type === 2 || type === 3) return undefined
    const other = sent[0]
    if (other) throw gwError('GW_ERR_API_DOCUMENT_ID_USED', { documentId: built.documentId, packageId: other.id })
    return undefined
  }

  // one send per agency + DocumentId at a time in this process: the check and the store stay in step
  const serialised = keyedSerial()

  return {
    async send(input) {
      const replay = await checkIdempotency(input)
      if (replay) return replay
      const { agency, signer } = validate(input)
      const built = buildEnvelope(input, agency)
      return serialised(`${agency.organId.toUpperCase()}|${built.documentId}`, async () => {
        const resent = await checkDocumentId(input, agency, built)
        if (resent) return resent
        const at = deps.clock()
        const out = await build(agency.organId, built, at)
        // steps 4 (sign), 5 (store) and 6 (wake the relay): the outbox
        const recorded = await outbox.put({
          package: {
            id: deps.newId(),
            kind: 'edoc',
            documentId: out.documentId,
            senderOrganId: agency.organId,
            clientId: input.clientId,
            bytes: out.bytes,
            sha256: out.sha256,
            priority: built.priority,
            ...(built.subject !== undefined ? { subject: built.subject } : {}),
            ...(built.codeNumber !== undefined ? { codeNumber: built.codeNumber } : {}),
            ...(built.codeNotation !== undefined ? { codeNotation: built.codeNotation } : {}),
            ...(built.promulgationDate ? { promulgationDate: built.promulgationDate } : {}),
            metadata: { ...built.metadata, ...(input.requestHash ? { requestSha256: input.requestHash } : {}) },
          },
          ...(out.signature ? { signature: out.signature } : {}),
          signer,
          recipients: built.recipients,
          actor: input.actor ?? `client:${input.clientId}`,
          ...(input.idempotency ? { idempotency: { clientId: input.clientId, key: input.idempotency.key, requestHash: input.idempotency.requestHash } } : {}),
          at,
        })
        return resultOf(recorded.package, recorded.deliveries, recorded.replayed, recorded.awaitingSignature === true)
      })
    },
  }
}

/**
 * Why `documentId` is not one this agency may send (undefined when it is): `<OrganId>,<yyyy/MM/dd>,<code>` with the
 * agency's OrganId (any case), a real date and a code, printable and at most 100 characters.
 */
export function documentIdProblem(documentId: string, organId: string): string | undefined {
  if (documentId.length > 100) return 'longer than 100 characters'
  // C0 controls, DEL and the bidi overrides: a DocumentId is shown to people and compared as text
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(documentId)) return 'contains control characters'
  const parts = documentId.split(',')
  if (parts[0]!.trim().toUpperCase() !== organId.toUpperCase()) return `it must start with this agency's OrganId ${organId} and a comma`
  if (parts.length < 3) return 'expected <OrganId>,<yyyy/MM/dd>,<number>/<notation>'
  if (!/^\d{4}\/\d{2}\/\d{2}$/.test(parts[1]!) || !isRealDate(parts[1]!)) return `${parts[1]} is not a date written yyyy/MM/dd`
  if (parts.slice(2).join(',').trim() === '') return 'the code (<number>/<notation>) is missing'
  return undefined
}

function isRealDate(s: string): boolean {
  const m = /^(\d{4})[/-](\d{2})[/-](\d{2})$/.exec(s)
  if (!m) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const dt = new Date(Date.UTC(y, mo - 1, d))
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d
}
