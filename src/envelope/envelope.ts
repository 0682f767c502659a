/**
 * The Envelope: one edXML package as exact bytes plus what was learnt from them. What is signed, stored and sent is
 * `bytes`, never a re-serialisation of the model.
 */
import { createHash } from 'node:crypto'
import { gwError, isGatewayError } from '../errors.js'
import type { AttachmentInfo, EdocPackage, StatusPackage } from '../document/edxml.js'
import { DEFAULT_MAX_UNZIPPED_BYTES, applyZipConvention, normaliseContentId, promisedType, sameFamily, sniffContentType, unzipBudget, type UnzipBudget, type Unzipped } from './attachments.js'

/** A non-fatal finding while parsing: the package was accepted, but something is worth logging. */
export interface EnvelopeWarning {
  /**
   * JUNK_BEFORE_XML, UNDECLARED_PREFIX, ORGANID_LENIENT, TRACE_ORGANID_MISSING, DATE_UNREADABLE, BUSINESS_SPELLING, STATUS_HEADER_NAME,
   * CONTENT_TYPE_DECLARED_MISMATCH, ZIP_CONVENTION, CONTENT_TYPE_MISMATCH, ZIP_UNREADABLE, ZIP_TOO_LARGE.
   */
  code: string
  message: string
  /** Element path (`MessageHeader/To[1]/OrganId`) when the warning is about one element. */
  path?: string
  contentId?: string
}

/** What is known about one attachment once its payload has been decoded (`Envelope.describeAttachment`). */
export interface AttachmentReport {
  contentId: string
  attachmentName: string
  /** Declared content types: in the Manifest Reference and in the Attachment element. */
  declared: { manifest: string; attachment: string }
  /** The decoded payload as it travelled. */
  payload: { contentType: string; size: number }
  /** What the receiver should use (ZIP convention applied): its real (sniffed) type and size. */
  content: { contentType: string; size: number; zipEntryName?: string }
  /** True when the real content type differs from what the declarations and the name promise. */
  mismatch: boolean
  warnings: EnvelopeWarning[]
}

type PayloadSource = () => Uint8Array

/**
 * Where a parsed payload is: a checked byte range of the package (the usual case) or, for a payload the byte scan
 * left to the parser, its whitespace-free base64 text.
 */
export type PayloadLocation = { start: number; end: number } | { base64: string }

/**
 * A parsed Envelope as plain data (structured-clone safe, without the package bytes): what a worker thread that
 * parsed a package hands back, so the main thread gets the same Envelope over its own copy of the bytes
 * ({@link Envelope.fromTransfer}) without parsing again.
 */
export interface EnvelopeTransfer {
  kind: 'edoc' | 'status'
  edoc?: EdocPackage
  status?: StatusPackage
  warnings: EnvelopeWarning[]
  payloads: { key: string; info: AttachmentInfo; at: PayloadLocation }[]
  maxUnzippedBytes: number
  sha256?: string
}

type PayloadEntry = { info: AttachmentInfo; decode: PayloadSource; at?: PayloadLocation }

const decodeAt = (bytes: Uint8Array, at: PayloadLocation): Uint8Array => {
  if ('base64' in at) return Buffer.from(at.base64, 'base64')
  return Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', at.start, at.end), 'base64')
}

export class Envelope {
  readonly bytes: Uint8Array
  readonly kind: 'edoc' | 'status'
  readonly edoc?: EdocPackage
  readonly status?: StatusPackage
  readonly warnings: EnvelopeWarning[]
  #sha256: string | undefined
  readonly #payloads: Map<string, PayloadEntry>
  readonly #reports = new Map<string, AttachmentReport>()
  readonly #maxUnzippedBytes: number

  /** @internal use parseEnvelope / buildEdoc / buildStatus. */
  constructor(init: {
    bytes: Uint8Array
    kind: 'edoc' | 'status'
    edoc?: EdocPackage
    status?: StatusPackage
    warnings: EnvelopeWarning[]
    payloads?: Map<string, PayloadEntry>
    maxUnzippedBytes?: number
    sha256?: string
  }) {
    this.bytes = init.bytes
    this.kind = init.kind
    if (init.edoc) this.edoc = init.edoc
    if (init.status) this.status = init.status
    this.warnings = init.warnings
    this.#payloads = init.payloads ?? new Map()
    this.#maxUnzippedBytes = init.maxUnzippedBytes ?? DEFAULT_MAX_UNZIPPED_BYTES
    this.#sha256 = init.sha256
  }

  /**
   * This parsed Envelope as plain data (no bytes): {@link Envelope.fromTransfer} over the same bytes gives it back.
   * Only for parsed envelopes (a built one keeps its payloads as buffers, not as places in the bytes).
   */
  toTransfer(): EnvelopeTransfer {
    const payloads = [...this.#payloads.entries()].map(([key, e]) => {
      if (!e.at) throw new TypeError('only a parsed Envelope can be transferred')
      return { key, info: e.info, at: e.at }
    })
    return {
      kind: this.kind,
      ...(this.edoc ? { edoc: this.edoc } : {}),
      ...(this.status ? { status: this.status } : {}),
      warnings: this.warnings,
      payloads,
      maxUnzippedBytes: this.#maxUnzippedBytes,
      sha256: this.sha256(),
    }
  }

  /** The Envelope of {@link toTransfer}, over `bytes` (the very bytes that were parsed, or a copy of them). */
  static fromTransfer(bytes: Uint8Array, t: EnvelopeTransfer): Envelope {
    // the infos in `payloads` are the objects of edoc.attachments (structured clone keeps shared references)
    const payloads = new Map<string, PayloadEntry>(t.payloads.map((p) => [p.key, { info: p.info, at: p.at, decode: () => decodeAt(bytes, p.at) }]))
    return new Envelope({
      bytes,
      kind: t.kind,
      ...(t.edoc ? { edoc: t.edoc } : {}),
      ...(t.status ? { status: t.status } : {}),
      warnings: t.warnings,
      payloads,
      maxUnzippedBytes: t.maxUnzippedBytes,
      ...(t.sha256 ? { sha256: t.sha256 } : {}),
    })
  }

  /** SHA-256 of the exact bytes, lowercase hex (computed once). */
  sha256(): string {
    this.#sha256 ??= createHash('sha256').update(this.bytes).digest('hex')
    return this.#sha256
  }

  /** ContentIds of the attachments (as written in the package). */
  attachmentIds(): string[] {
    return [...this.#payloads.values()].map((p) => p.info.contentId)
  }

  #entry(contentId: string): { info: AttachmentInfo; decode: PayloadSource } {
    const e = this.#payloads.get(normaliseContentId(contentId))
    if (!e) throw gwError('GW_ERR_ENVELOPE_REFERENCE_MISSING', { contentId })
    return e
  }

  /** The decoded payload exactly as it travelled (no ZIP convention). Decoded on each call; not cached. */
  rawAttachment(contentId: string): Uint8Array {
    return this.#entry(contentId).decode()
  }

  /**
   * The attachment content (`cid:` optional): decoded, ZIP convention of docs/edxml.md §a.4 applied (streamed, at most
   * the unzip limit, ParseOptions.maxUnzippedBytes, or what is left of `budget`). Throws
   * GW_ERR_ENVELOPE_ZIP_TOO_LARGE past it.
   */
  attachment(contentId: string, budget: UnzipBudget = unzipBudget(this.#maxUnzippedBytes)): Uint8Array {
    const e = this.#entry(contentId)
    return applyZipConvention(e.decode(), e.info.attachmentName, budget, e.info.contentId).content
  }

  /**
   * Decode one attachment and report declared versus real content type (cached per attachment). It unzips (the
   * ZIP convention) within `budget`, by default a budget of its own of the unzip limit; past it the report has a
   * ZIP_TOO_LARGE warning and describes the payload as it travelled.
   */
  describeAttachment(contentId: string, budget: UnzipBudget = unzipBudget(this.#maxUnzippedBytes)): AttachmentReport {
    const key = normaliseContentId(contentId)
    const cached = this.#reports.get(key)
    if (cached) return cached
    const { report } = this.readAttachment(contentId, budget)
    this.#reports.set(key, report)
    return report
  }

  /**
   * One pass over an attachment: its report (as describeAttachment) and its content (as attachment()), unzipped
   * once within `budget`. Over the budget: `tooLarge` is the GW_ERR_ENVELOPE_ZIP_TOO_LARGE error that
   * attachment() would throw, and `content` is the payload as it travelled.
   */
  readAttachment(contentId: string, budget: UnzipBudget = unzipBudget(this.#maxUnzippedBytes)): { report: AttachmentReport; content: Uint8Array; tooLarge?: Error } {
    const e = this.#entry(contentId)
    const { info } = e
    const payload = e.decode()
    const warnings: EnvelopeWarning[] = []
    let un: Unzipped
    let tooLarge: Error | undefined
    try {
      un = applyZipConvention(payload, info.attachmentName, budget, info.contentId)
    } catch (err) {
      if (!isGatewayError(err, 'GW_ERR_ENVELOPE_ZIP_TOO_LARGE')) throw err
      warnings.push({ code: 'ZIP_TOO_LARGE', message: err.message, contentId: info.contentId })
      tooLarge = err
      un = { content: payload }
    }
    const contentType = sniffContentType(un.content)
    if (un.note) warnings.push({ code: 'ZIP_UNREADABLE', message: un.note, contentId: info.contentId })
    const promised = promisedType(info.attachmentName, info.manifestContentType, info.contentType)
    const mismatch = promised !== '' && !sameFamily(promised, contentType)
    if (mismatch) {
      warnings.push({
        code: 'CONTENT_TYPE_MISMATCH',
        message: `attachment ${info.attachmentName} should be ${promised} but its content is ${contentType} (${un.content.length} bytes)`,
        contentId: info.contentId,
      })
    }
    const report: AttachmentReport = {
      contentId: info.contentId,
      attachmentName: info.attachmentName,
      declared: { manifest: info.manifestContentType, attachment: info.contentType },
      payload: { contentType: sniffContentType(payload), size: payload.length },
      content: { contentType, size: un.content.length, ...(un.entryName !== undefined ? { zipEntryName: un.entryName } : {}) },
      mismatch,
      warnings,
    }
    return { report, content: un.content, ...(tooLarge ? { tooLarge } : {}) }
  }

  /** A fresh unzip budget of this package's unzip limit (to share between several readings). */
  unzipBudget(): UnzipBudget {
    return unzipBudget(this.#maxUnzippedBytes)
  }

  /** describeAttachment for every attachment, in package order, all within one unzip budget (the unzip limit). */
  describeAttachments(): AttachmentReport[] {
    const budget = unzipBudget(this.#maxUnzippedBytes)
    return this.attachmentIds().map((id) => this.describeAttachment(id, budget))
  }

  /** JSON view (model, warnings, hash); never the payloads. */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      sha256: this.sha256(),
      size: this.bytes.length,
      ...(this.edoc ? { edoc: this.edoc } : {}),
      ...(this.status ? { status: this.status } : {}),
      warnings: this.warnings,
    }
  }
}
