/**
 * The JSON form of a document to send (schemas/api/document-request.json), as a TypeScript type, and what the
 * gateway adds to it: From from the client's agency, defaults, the composite DocumentId.
 */
import type { AgencyConfig } from '../config.js'

export interface OrganRequest {
  organId: string
  name: string
  organizationInCharge: string
  address?: string
  email?: string
  phone?: string
  fax?: string
  website?: string
}

export interface DocumentRequest {
  /** Optional; must be the client's own agency. */
  from?: string
  recipients: OrganRequest[]
  code: { number: string; notation: string }
  promulgation: { place: string; date: string }
  documentType: { type: number; typeDetail?: number; typeName: string }
  subject: string
  content?: string
  signer: { competence?: string; position: string; fullName: string }
  dueDate?: string
  toPlaces?: string[]
  priority?: number
  sphereOfPromulgation?: string
  typerNotation?: string
  promulgationAmount?: number
  pageAmount?: number
  appendixes?: string[]
  responseFor?: { organId: string; code: string; promulgationDate?: string; documentId: string }[]
  steeringType?: number
  documentId?: string
  business?: {
    type?: 0 | 1 | 2 | 3
    reason?: string
    documentId?: string
    paper?: boolean
    documentInfo?: { metadataChanged?: boolean; recipientsChanged?: boolean; receivers?: { organId: string; receiverType?: number }[] }
    replacementInfo?: { documentId: string; organIds?: string[] }[]
    staff?: { department?: string; staff?: string; mobile?: string; email?: string }
  }
  /** JSON form: base64 `data`. The multipart form gives the files as parts instead. */
  attachments?: { name: string; contentType: string; description?: string; data: string }[]
}

/** A file to attach, decoded. */
export interface AttachmentData {
  name: string
  contentType: string
  description?: string
  data: Uint8Array
}

/** `7816/VPCP-TTĐT` → number and notation. */
export function splitCode(code: string): { codeNumber?: string; codeNotation?: string } {
  const i = code.indexOf('/')
  if (code.trim() === '') return {}
  return i < 0 ? { codeNumber: code.trim() } : { codeNumber: code.slice(0, i).trim(), codeNotation: code.slice(i + 1).trim() }
}

/** `2026-11-26` or `2026/11/26` → `2026/11/26`. */
export const edxmlDate = (d: string | undefined): string => (d ?? '').replace(/-/g, '/')

/** The DocumentId the gateway emits: `<From OrganId>,<yyyy/MM/dd>,<number>/<notation>` (docs/edxml.md §a.2). */
export function compositeDocumentId(fromOrganId: string, req: Pick<DocumentRequest, 'promulgation' | 'code'>): string {
  return `${fromOrganId},${edxmlDate(req.promulgation.date)},${req.code.number}/${req.code.notation}`
}

/** Default business reasons (docs/edxml.md §a.3 2.2.2). */
export const BUSINESS_REASONS: Record<number, string> = {
  0: 'Văn bản điện tử mới',
  1: 'Thu hồi văn bản điện tử',
  2: 'Cập nhật văn bản điện tử',
  3: 'Thay thế văn bản điện tử',
}

/** The edXML From of a hosted agency. */
export function fromOrgan(a: AgencyConfig) {
  return {
    organId: a.organId,
    organName: a.name,
    organizationInCharge: a.organizationInCharge,
    organAdd: a.address,
    email: a.email,
    telephone: a.phone,
    fax: a.fax,
    website: a.website,
  }
}

export function toOrgan(o: OrganRequest) {
  return {
    organId: o.organId,
    organName: o.name,
    organizationInCharge: o.organizationInCharge ?? '',
    organAdd: o.address ?? '',
    email: o.email ?? '',
    telephone: o.phone ?? '',
    fax: o.fax ?? '',
    website: o.website ?? '',
  }
}

/**
 * AMQP priority of an edXML Priority (0 normal .. 4 Hỏa tốc hẹn giờ): 0 stays 0, urgent ones get 5..8, which is
 * "high" for RabbitMQ 4 quorum queues too (≥ 5) and within x-max-priority 10 of classic inboxes.
 */
export function amqpPriority(edxmlPriority: number | string | undefined): number {
  const p = Number(edxmlPriority ?? 0)
  if (!Number.isInteger(p) || p <= 0) return 0
  return Math.min(4, p) + 4
}
