/**
 * buildEdoc / buildStatus: input → normalised model → schema check → exact bytes (docs/edxml.md §a.1 layout).
 *
 * Output rules: XML declaration, UTF-8, root `edXML` with the QCVN default namespace and `xmlns:edXML` on
 * edXMLEnvelope, prefixed envelope/header elements in QCVN numbering order, no `Signature`, unprefixed
 * AttachmentEncoded subtree with a prefixed ContentTransferEncoded (xmlns:edXML re-declared), `yyyy/MM/dd` dates,
 * `yyyy/MM/dd HH:mm:ss` UTC+7 timestamps, NFC text trimmed of surrounding whitespace, uppercase OrganIds in a strict
 * form, `cid:` ContentIds, empty "tag" elements kept as `<edXML:X/>`. Two-space indentation, LF line ends,
 * base64 on one line.
 */
import { randomUUID } from 'node:crypto'
import { gwError } from '../errors.js'
import {
  EDXML_NS,
  type AttachmentInfo,
  type Bussiness,
  type DateValue,
  type EdocPackage,
  type ManifestReference,
  type Organ,
  type ResponseFor,
  type StaffInfo,
  type StatusPackage,
  type TraceHeaderList,
} from '../document/edxml.js'
import { formatDate, formatTimestamp, normaliseDate } from './dates.js'
import { validateOrganId } from './organ-id.js'
import { escapeText } from './xml.js'
import { HEAD_BYTES, judgeHead, normaliseContentId } from './attachments.js'
import { assertSchema } from './schema.js'
import { checkText, isNumericElement } from './strict.js'
import { Envelope } from './envelope.js'

type Num = number | string
type DateIn = Date | string

export interface OrganInput {
  organId: string
  organName: string
  organizationInCharge: string
  organAdd?: string
  email?: string
  telephone?: string
  fax?: string
  website?: string
}

export interface ResponseForInput {
  organId?: string
  /** Full "số/ký hiệu" of the original, e.g. `7816/VPCP-TTĐT`. */
  code?: string
  promulgationDate?: DateIn
  documentId?: string
}

export interface StaffInfoInput {
  department?: string
  staff?: string
  mobile?: string
  email?: string
}

export interface AttachmentInput {
  /** With or without `cid:`; default a random UUID. */
  contentId?: string
  attachmentName: string
  description?: string
  /** MIME type, used in both the Manifest and the Attachment. */
  contentType: string
  /** The bytes as they travel (zip them first if the ZIP convention applies to you). */
  data: Uint8Array
}

export interface BussinessInput {
  /** 0 new (default), 1 revoke, 2 update, 3 replace. */
  bussinessDocType?: 0 | 1 | 2 | 3 | '0' | '1' | '2' | '3'
  /** Default: the usual Vietnamese label of the type. */
  bussinessDocReason?: string
  bussinessDocumentInfo?: { documentInfo: Num; documentReceiver: Num; receiverList?: { organId: string; receiverType: Num }[] }
  /** Default: the package's own DocumentId. */
  documentId?: string
  staffInfo?: StaffInfoInput
  /** 0 (default) or 1. */
  paper?: Num
  replacementInfoList?: { documentId: string; organIdList: string[] }[]
}

export interface EdocInput {
  from: OrganInput
  to: OrganInput[]
  /** Default: `<From.OrganId>,<yyyy/MM/dd>,<CodeNumber>/<CodeNotation>`. */
  documentId?: string
  code: { codeNumber: Num; codeNotation: string }
  /** A Date is written as its Vietnam calendar day. */
  promulgationInfo: { place: string; promulgationDate: DateIn }
  documentType: { type: Num; typeDetail?: Num; typeName: string }
  subject: string
  content?: string
  signerInfo: { competence?: string; position: string; fullName: string }
  dueDate?: DateIn
  toPlaces?: string[]
  otherInfo: {
    priority?: Num
    sphereOfPromulgation?: string
    typerNotation?: string
    promulgationAmount?: Num
    pageAmount: Num
    /** Extension `OtherInfo/Direction`; left out when undefined. */
    direction?: boolean
    appendixes?: string[]
  }
  responseFor?: ResponseForInput[]
  /** Default 0. */
  steeringType?: Num
  /** Default: one hop, From/OrganId at `now`. */
  traceHeaders?: { organId: string; timestamp: Date }[]
  /** Default: type 0 (new). `null` leaves the block out. */
  bussiness?: BussinessInput | null
  attachments?: AttachmentInput[]
  /** Clock for default timestamps (tests). */
  now?: Date
}

export interface StatusInput {
  from: OrganInput
  responseFor: ResponseForInput
  staffInfo?: StaffInfoInput
  /** `01`..`06`, `13`, `15`, `16`. */
  statusCode: string
  description?: string
  /** Default: now. */
  timestamp?: Date
}

const REASONS: Record<string, string> = {
  '0': 'Văn bản điện tử mới',
  '1': 'Thu hồi văn bản điện tử',
  '2': 'Cập nhật văn bản điện tử',
  '3': 'Thay thế văn bản điện tử',
}

// ---- normalisation ----------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/

function txt(v: Num | undefined | null, path: string): string {
  if (v === undefined || v === null) return ''
  const s = String(v).normalize('NFC').replace(/\r\n?/g, '\n').trim()
  if (FORBIDDEN.test(s)) throw gwError('GW_ERR_ENVELOPE_INVALID_FIELD', { path, reason: 'contains a control character not allowed in XML' })
  // the same rule as for incoming packages: no bidi overrides; line breaks only in long texts
  checkText(s, path, path.slice(path.lastIndexOf('/') + 1).replace(/\[\d+\]$/, ''))
  return s
}

function organId(v: string | undefined, path: string, optional = false): string {
  const s = txt(v, path).toUpperCase()
  if (s === '' && optional) return ''
  const c = validateOrganId(s, 'strict')
  if (!c.ok) throw gwError('GW_ERR_ENVELOPE_INVALID_ORGANID', { value: v ?? '', path, reason: c.warning ?? c.form })
  return s
}

function date(v: DateIn | undefined, path: string): DateValue {
  if (v === undefined || v === '') return { value: '', raw: '' }
  let value: string | undefined
  if (v instanceof Date) value = Number.isNaN(v.getTime()) ? undefined : formatDate(v)
  else value = normaliseDate(v)
  if (value === undefined) throw gwError('GW_ERR_ENVELOPE_INVALID_DATE', { value: String(v), path })
  return { value, raw: value }
}

function timestamp(v: Date, path: string): DateValue {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw gwError('GW_ERR_ENVELOPE_INVALID_DATE', { value: String(v), path })
  const value = formatTimestamp(v)
  return { value, raw: value }
}

function organ(o: OrganInput, path: string): Organ {
  return {
    organId: organId(o.organId, `${path}/OrganId`),
    organName: txt(o.organName, `${path}/OrganName`),
    organizationInCharge: txt(o.organizationInCharge, `${path}/OrganizationInCharge`),
    organAdd: txt(o.organAdd, `${path}/OrganAdd`),
    email: txt(o.email, `${path}/Email`),
    telephone: txt(o.telephone, `${path}/Telephone`),
    fax: txt(o.fax, `${path}/Fax`),
    website: txt(o.website, `${path}/Website`),
  }
}

function staff(s: StaffInfoInput | undefined, path: string): StaffInfo {
  return {
    department: txt(s?.department, `${path}/Department`),
    staff: txt(s?.staff, `${path}/Staff`),
    mobile: txt(s?.mobile, `${path}/Mobile`),
    email: txt(s?.email, `${path}/Email`),
  }
}

function responseFor(r: ResponseForInput, path: string): ResponseFor {
  return {
    organId: organId(r.organId, `${path}/OrganId`, true),
    code: txt(r.code, `${path}/Code`),
    promulgationDate: date(r.promulgationDate, `${path}/PromulgationDate`),
    documentId: txt(r.documentId, `${path}/DocumentId`),
  }
}

const withCid = (id: string): string => 'cid:' + normaliseContentId(id)

const ZIP_MAGIC = {
  test: (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 0x03 && b[3] === 0x04) || (b[2] === 0x05 && b[3] === 0x06)),
  want: 'a ZIP starts with PK\\x03\\x04 (or PK\\x05\\x06 when empty)',
}

/**
 * Types whose first bytes are checked at build time: a peer trusts the declared type to open the file. The ZIP
 * family is every name browsers and DMSs give a ZIP (Windows uploads say application/x-zip-compressed): the SDK
 * libraries unzip what their ZIP convention takes for one, and a "ZIP" that is not one fails to open there.
 */
const MAGIC: Record<string, { test: (b: Uint8Array) => boolean; want: string }> = {
  'application/zip': ZIP_MAGIC,
  'application/x-zip': ZIP_MAGIC,
  'application/x-zip-compressed': ZIP_MAGIC,
  'application/zip-compressed': ZIP_MAGIC,
  'multipart/x-zip': ZIP_MAGIC,
  'application/pdf': { test: (b) => Buffer.from(b.subarray(0, 5)).toString('latin1') === '%PDF-', want: 'a PDF starts with %PDF-' },
}

/**
 * GW_ERR_ENVELOPE_ATTACHMENT_TYPE when a declared application/zip or application/pdf is not one. Under the ZIP
 * convention (docs/edxml.md §a.4) a PDF may travel as a single-entry ZIP: accepted when the entry is not known to be
 * something else.
 */
export function checkDeclaredType(contentType: string, data: Uint8Array, name: string): void {
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  const m = MAGIC[type]
  if (!m || m.test(data)) return
  if (type === 'application/pdf' && MAGIC['application/zip']!.test(data)) {
    const j = judgeHead(data.subarray(0, HEAD_BYTES), name)
    if (j.zipEntryName !== undefined && (j.realContentType === '' || j.realContentType === 'application/pdf')) return
  }
  const head = Buffer.from(data.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim()
  throw gwError('GW_ERR_ENVELOPE_ATTACHMENT_TYPE', { name, declared: contentType, reason: `${m.want}, this starts with ${head || '(empty)'}` })
}

/**
 * What the builder guarantees, checked on a package built elsewhere (a client's prebuilt edXML) before we sign and
 * send it: no element the schema types as a number written empty (`<SteeringType/>`: GW_ERR_ENVELOPE_SCHEMA naming
 * it), and every attachment declared (Manifest or Attachment) as a ZIP-family type or application/pdf is one
 * (GW_ERR_ENVELOPE_ATTACHMENT_TYPE). The header is scanned up to the attachments; payloads are decoded here.
 */
export function checkEmittable(env: Envelope): void {
  const buf = Buffer.from(env.bytes.buffer, env.bytes.byteOffset, env.bytes.byteLength)
  const end = buf.indexOf('AttachmentEncoded', 0, 'latin1')
  const head = buf.toString('utf8', 0, end < 0 ? buf.length : end)
  const empty: string[] = []
  for (const m of head.matchAll(/<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(?:\s[^>]*)?(?:\/>|>\s*<\/(?:[A-Za-z_][\w.-]*:)?\1\s*>)/g)) {
    if (isNumericElement(m[1]!)) empty.push(m[1]!)
  }
  if (empty.length) {
    throw gwError('GW_ERR_ENVELOPE_SCHEMA', { problems: [...new Set(empty)].map((n) => `${n} is empty: the schema types it as a number (leave the element out or give a number)`).join('; ') })
  }
  for (const a of env.edoc?.attachments ?? []) {
    for (const declared of new Set([a.contentType, a.manifestContentType])) {
      if (declared && MAGIC[declared.split(';')[0]!.trim().toLowerCase()]) checkDeclaredType(declared, env.rawAttachment(a.contentId), a.attachmentName || a.contentId)
    }
  }
}

/** The normalised model of a document package (what buildEdoc emits and what parsing its bytes gives back). */
export function edocModel(input: EdocInput): { model: EdocPackage; data: Uint8Array[] } {
  const H = 'MessageHeader'
  const from = organ(input.from, `${H}/From`)
  const code = { codeNumber: txt(input.code.codeNumber, `${H}/Code/CodeNumber`), codeNotation: txt(input.code.codeNotation, `${H}/Code/CodeNotation`) }
  const promulgationDate = date(input.promulgationInfo.promulgationDate, `${H}/PromulgationInfo/PromulgationDate`)
  const documentId =
    txt(input.documentId, `${H}/DocumentId`) || `${from.organId},${promulgationDate.value},${code.codeNumber}/${code.codeNotation}`
  const now = input.now ?? new Date()
  const traceHeaders = (input.traceHeaders ?? [{ organId: from.organId, timestamp: now }]).map((h, i) => ({
    organId: organId(h.organId, `TraceHeaderList/TraceHeader[${i + 1}]/OrganId`),
    timestamp: timestamp(h.timestamp, `TraceHeaderList/TraceHeader[${i + 1}]/Timestamp`),
  }))
  const traceHeaderList: TraceHeaderList = { traceHeaders }
  if (input.bussiness !== null) {
    const b = input.bussiness ?? {}
    const P = 'TraceHeaderList/Bussiness'
    const type = txt(b.bussinessDocType ?? 0, `${P}/BussinessDocType`)
    const bus: Bussiness = {
      bussinessDocType: type,
      bussinessDocReason: txt(b.bussinessDocReason ?? REASONS[type] ?? '', `${P}/BussinessDocReason`),
      documentId: txt(b.documentId ?? documentId, `${P}/DocumentId`),
      staffInfo: staff(b.staffInfo, `${P}/StaffInfo`),
      paper: txt(b.paper ?? 0, `${P}/Paper`),
      replacementInfoList: (b.replacementInfoList ?? []).map((r, i) => ({
        documentId: txt(r.documentId, `${P}/ReplacementInfoList/ReplacementInfo[${i + 1}]/DocumentId`),
        organIdList: r.organIdList.map((o, j) => organId(o, `${P}/ReplacementInfoList/ReplacementInfo[${i + 1}]/OrganIdList/OrganId[${j + 1}]`)),
      })),
    }
    if (b.bussinessDocumentInfo) {
      const d = b.bussinessDocumentInfo
      bus.bussinessDocumentInfo = {
        documentInfo: txt(d.documentInfo, `${P}/BussinessDocumentInfo/DocumentInfo`),
        documentReceiver: txt(d.documentReceiver, `${P}/BussinessDocumentInfo/DocumentReceiver`),
        receiverList: (d.receiverList ?? []).map((r, i) => ({
          organId: organId(r.organId, `${P}/BussinessDocumentInfo/ReceiverList/Receiver[${i + 1}]/OrganId`),
          receiverType: txt(r.receiverType, `${P}/BussinessDocumentInfo/ReceiverList/Receiver[${i + 1}]/ReceiverType`),
        })),
      }
    }
    traceHeaderList.bussiness = bus
  }
  const references: ManifestReference[] = []
  const attachments: AttachmentInfo[] = []
  const data: Uint8Array[] = []
  for (const [i, a] of (input.attachments ?? []).entries()) {
    const P = `AttachmentEncoded/Attachment[${i + 1}]`
    const contentId = withCid(txt(a.contentId ?? randomUUID(), `${P}/ContentId`))
    const contentType = txt(a.contentType, `${P}/ContentType`).toLowerCase()
    const attachmentName = txt(a.attachmentName, `${P}/AttachmentName`)
    const description = txt(a.description, `${P}/Description`)
    checkDeclaredType(contentType, a.data, attachmentName || contentId)
    references.push({ contentId, contentType, description, attachmentName })
    attachments.push({
      contentId,
      attachmentName,
      description,
      contentType,
      manifestContentType: contentType,
      size: a.data.length,
      ...judgeHead(a.data.subarray(0, HEAD_BYTES), attachmentName),
    })
    data.push(a.data)
  }
  const model: EdocPackage = {
    messageHeader: {
      from,
      to: input.to.map((o, i) => organ(o, `${H}/To[${i + 1}]`)),
      code,
      promulgationInfo: { place: txt(input.promulgationInfo.place, `${H}/PromulgationInfo/Place`), promulgationDate },
      documentType: {
        type: txt(input.documentType.type, `${H}/DocumentType/Type`),
        typeDetail: txt(input.documentType.typeDetail, `${H}/DocumentType/TypeDetail`),
        typeName: txt(input.documentType.typeName, `${H}/DocumentType/TypeName`),
      },
      subject: txt(input.subject, `${H}/Subject`),
      content: txt(input.content, `${H}/Content`),
      signerInfo: {
        competence: txt(input.signerInfo.competence, `${H}/SignerInfo/Competence`),
        position: txt(input.signerInfo.position, `${H}/SignerInfo/Position`),
        fullName: txt(input.signerInfo.fullName, `${H}/SignerInfo/FullName`),
      },
      dueDate: date(input.dueDate, `${H}/DueDate`),
      toPlaces: (input.toPlaces ?? []).map((p, i) => txt(p, `${H}/ToPlaces/Place[${i + 1}]`)),
      otherInfo: {
        priority: txt(input.otherInfo.priority ?? 0, `${H}/OtherInfo/Priority`),
        sphereOfPromulgation: txt(input.otherInfo.sphereOfPromulgation, `${H}/OtherInfo/SphereOfPromulgation`),
        typerNotation: txt(input.otherInfo.typerNotation, `${H}/OtherInfo/TyperNotation`),
        promulgationAmount: txt(input.otherInfo.promulgationAmount, `${H}/OtherInfo/PromulgationAmount`),
        pageAmount: txt(input.otherInfo.pageAmount, `${H}/OtherInfo/PageAmount`),
        direction: input.otherInfo.direction === undefined ? '' : String(input.otherInfo.direction),
        appendixes: (input.otherInfo.appendixes ?? []).map((p, i) => txt(p, `${H}/OtherInfo/Appendixes/Appendix[${i + 1}]`)),
      },
      responseFor: (input.responseFor ?? []).map((r, i) => responseFor(r, `${H}/ResponseFor[${i + 1}]`)),
      steeringType: txt(input.steeringType ?? 0, `${H}/SteeringType`),
      documentId,
    },
    traceHeaderList,
    manifest: { version: '1.0', references },
    attachments,
  }
  return { model, data }
}

/** The normalised model of a status package. */
export function statusModel(input: StatusInput): StatusPackage {
  const H = 'MessageHeader'
  return {
    messageHeader: {
      from: organ(input.from, `${H}/From`),
      responseFor: responseFor(input.responseFor, `${H}/ResponseFor`),
      staffInfo: staff(input.staffInfo, `${H}/StaffInfo`),
      statusCode: txt(input.statusCode, `${H}/StatusCode`),
      description: txt(input.description, `${H}/Description`),
      timestamp: timestamp(input.timestamp ?? new Date(), `${H}/Timestamp`),
    },
  }
}

// ---- serialisation ----------------------------------------------------------------------------------------------

class Out {
  readonly parts: string[] = []
  constructor(private readonly pfx: string) {}
  leaf(depth: number, name: string, value: string): void {
    // a number written as an empty element (`<SteeringType/>`) is not a number: numeric elements are left out
    if (value === '' && isNumericElement(name)) return
    const q = this.pfx + name
    this.parts.push(value === '' ? `${'  '.repeat(depth)}<${q}/>\n` : `${'  '.repeat(depth)}<${q}>${escapeText(value)}</${q}>\n`)
  }
  open(depth: number, name: string, attrs = ''): void {
    this.parts.push(`${'  '.repeat(depth)}<${this.pfx}${name}${attrs}>\n`)
  }
  close(depth: number, name: string): void {
    this.parts.push(`${'  '.repeat(depth)}</${this.pfx}${name}>\n`)
  }
  empty(depth: number, name: string, attrs = ''): void {
    this.parts.push(`${'  '.repeat(depth)}<${this.pfx}${name}${attrs}/>\n`)
  }
  raw(s: string): void {
    this.parts.push(s)
  }
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
const ROOT_OPEN = `<edXML xmlns="${EDXML_NS}">\n`
const ENV_OPEN = `  <edXML:edXMLEnvelope xmlns:edXML="${EDXML_NS}">\n`

function writeOrgan(o: Out, d: number, name: string, g: Organ): void {
  o.open(d, name)
  o.leaf(d + 1, 'OrganId', g.organId)
  o.leaf(d + 1, 'OrganName', g.organName)
  o.leaf(d + 1, 'OrganizationInCharge', g.organizationInCharge)
  o.leaf(d + 1, 'OrganAdd', g.organAdd)
  o.leaf(d + 1, 'Email', g.email)
  o.leaf(d + 1, 'Telephone', g.telephone)
  o.leaf(d + 1, 'Fax', g.fax)
  o.leaf(d + 1, 'Website', g.website)
  o.close(d, name)
}

function writeStaff(o: Out, d: number, s: StaffInfo): void {
  o.open(d, 'StaffInfo')
  o.leaf(d + 1, 'Department', s.department)
  o.leaf(d + 1, 'Staff', s.staff)
  o.leaf(d + 1, 'Mobile', s.mobile)
  o.leaf(d + 1, 'Email', s.email)
  o.close(d, 'StaffInfo')
}

function writeResponseFor(o: Out, d: number, r: ResponseFor): void {
  o.open(d, 'ResponseFor')
  o.leaf(d + 1, 'OrganId', r.organId)
  o.leaf(d + 1, 'Code', r.code)
  o.leaf(d + 1, 'PromulgationDate', r.promulgationDate.value)
  o.leaf(d + 1, 'DocumentId', r.documentId)
  o.close(d, 'ResponseFor')
}

function writeList(o: Out, d: number, name: string, item: string, values: string[]): void {
  if (values.length === 0) return o.empty(d, name)
  o.open(d, name)
  for (const v of values) o.leaf(d + 1, item, v)
  o.close(d, name)
}

/** Serialise a (validated) document model and its payloads to the exact package bytes. */
export function serialiseEdoc(m: EdocPackage, data: Uint8Array[]): Buffer {
  const o = new Out('edXML:')
  const h = m.messageHeader
  o.raw(DECL + ROOT_OPEN + ENV_OPEN)
  o.open(2, 'edXMLHeader')
  o.open(3, 'MessageHeader')
  writeOrgan(o, 4, 'From', h.from)
  for (const t of h.to) writeOrgan(o, 4, 'To', t)
  o.open(4, 'Code')
  o.leaf(5, 'CodeNumber', h.code.codeNumber)
  o.leaf(5, 'CodeNotation', h.code.codeNotation)
  o.close(4, 'Code')
  o.open(4, 'PromulgationInfo')
  o.leaf(5, 'Place', h.promulgationInfo.place)
  o.leaf(5, 'PromulgationDate', h.promulgationInfo.promulgationDate.value)
  o.close(4, 'PromulgationInfo')
  o.open(4, 'DocumentType')
  o.leaf(5, 'Type', h.documentType.type)
  if (h.documentType.typeDetail !== '') o.leaf(5, 'TypeDetail', h.documentType.typeDetail)
  o.leaf(5, 'TypeName', h.documentType.typeName)
  o.close(4, 'DocumentType')
  o.leaf(4, 'Subject', h.subject)
  o.leaf(4, 'Content', h.content)
  o.open(4, 'SignerInfo')
  o.leaf(5, 'Competence', h.signerInfo.competence)
  o.leaf(5, 'Position', h.signerInfo.position)
  o.leaf(5, 'FullName', h.signerInfo.fullName)
  o.close(4, 'SignerInfo')
  o.leaf(4, 'DueDate', h.dueDate.value)
  writeList(o, 4, 'ToPlaces', 'Place', h.toPlaces)
  const oi = h.otherInfo
  o.open(4, 'OtherInfo')
  o.leaf(5, 'Priority', oi.priority)
  o.leaf(5, 'SphereOfPromulgation', oi.sphereOfPromulgation)
  o.leaf(5, 'TyperNotation', oi.typerNotation)
  o.leaf(5, 'PromulgationAmount', oi.promulgationAmount)
  o.leaf(5, 'PageAmount', oi.pageAmount)
  if (oi.direction !== '') o.leaf(5, 'Direction', oi.direction)
  writeList(o, 5, 'Appendixes', 'Appendix', oi.appendixes)
  o.close(4, 'OtherInfo')
  for (const r of h.responseFor) writeResponseFor(o, 4, r)
  o.leaf(4, 'SteeringType', h.steeringType)
  o.leaf(4, 'DocumentId', h.documentId)
  o.close(3, 'MessageHeader')
  const tl = m.traceHeaderList
  o.open(3, 'TraceHeaderList')
  for (const t of tl.traceHeaders) {
    o.open(4, 'TraceHeader')
    o.leaf(5, 'OrganId', t.organId)
    o.leaf(5, 'Timestamp', t.timestamp.value)
    o.close(4, 'TraceHeader')
  }
  const b = tl.bussiness
  if (b) {
    o.open(4, 'Bussiness')
    o.leaf(5, 'BussinessDocType', b.bussinessDocType)
    o.leaf(5, 'BussinessDocReason', b.bussinessDocReason)
    const bdi = b.bussinessDocumentInfo
    if (bdi) {
      o.open(5, 'BussinessDocumentInfo')
      o.leaf(6, 'DocumentInfo', bdi.documentInfo)
      o.leaf(6, 'DocumentReceiver', bdi.documentReceiver)
      if (bdi.receiverList.length === 0) o.empty(6, 'ReceiverList')
      else {
        o.open(6, 'ReceiverList')
        for (const r of bdi.receiverList) {
          o.open(7, 'Receiver')
          o.leaf(8, 'OrganId', r.organId)
          o.leaf(8, 'ReceiverType', r.receiverType)
          o.close(7, 'Receiver')
        }
        o.close(6, 'ReceiverList')
      }
      o.close(5, 'BussinessDocumentInfo')
    }
    o.leaf(5, 'DocumentId', b.documentId)
    writeStaff(o, 5, b.staffInfo)
    o.leaf(5, 'Paper', b.paper)
    if (b.replacementInfoList.length) {
      o.open(5, 'ReplacementInfoList')
      for (const r of b.replacementInfoList) {
        o.open(6, 'ReplacementInfo')
        o.leaf(7, 'DocumentId', r.documentId)
        writeList(o, 7, 'OrganIdList', 'OrganId', r.organIdList)
        o.close(6, 'ReplacementInfo')
      }
      o.close(5, 'ReplacementInfoList')
    }
    o.close(4, 'Bussiness')
  }
  o.close(3, 'TraceHeaderList')
  o.close(2, 'edXMLHeader')
  o.open(2, 'edXMLBody')
  const refs = m.manifest.references
  if (refs.length === 0) o.empty(3, 'edXMLManifest', ' version="1.0"')
  else {
    o.open(3, 'edXMLManifest', ' version="1.0"')
    for (const r of refs) {
      o.open(4, 'Reference')
      o.leaf(5, 'ContentId', r.contentId)
      o.leaf(5, 'ContentType', r.contentType)
      o.leaf(5, 'Description', r.description)
      o.leaf(5, 'AttachmentName', r.attachmentName)
      o.close(4, 'Reference')
    }
    o.close(3, 'edXMLManifest')
  }
  o.close(2, 'edXMLBody')
  o.raw('  </edXML:edXMLEnvelope>\n')
  if (m.attachments.length === 0) {
    o.raw('  <AttachmentEncoded/>\n</edXML>\n')
    return Buffer.from(o.parts.join(''), 'utf8')
  }
  // AttachmentEncoded: unprefixed, except ContentTransferEncoded. The package is written into one buffer of its exact
  // size: the text parts as UTF-8, each payload as base64 a slice at a time, so that a 50 MB attachment is never
  // also a 67 MB string and a second copy of its base64 (peak: the payload and the package, nothing more)
  const a = new Out('')
  const pieces: (string | Uint8Array)[] = []
  a.raw('  <AttachmentEncoded>\n')
  for (const [i, at] of m.attachments.entries()) {
    a.open(2, 'Attachment')
    a.leaf(3, 'ContentId', at.contentId)
    a.leaf(3, 'AttachmentName', at.attachmentName)
    a.leaf(3, 'Description', at.description)
    a.leaf(3, 'ContentType', at.contentType)
    a.raw(`      <edXML:ContentTransferEncoded xmlns:edXML="${EDXML_NS}">`)
    pieces.push((i === 0 ? o.parts.join('') : '') + a.parts.join(''), data[i]!)
    a.parts.length = 0
    a.raw('</edXML:ContentTransferEncoded>\n')
    a.close(2, 'Attachment')
  }
  a.raw('  </AttachmentEncoded>\n</edXML>\n')
  pieces.push(a.parts.join(''))
  return joinWithBase64(pieces)
}

/** Bytes of base64 encoded per step: a multiple of 3, so that the pieces' base64 is the whole payload's. */
const BASE64_SLICE = 3 * 256 * 1024

/** Text pieces (UTF-8) and payloads (as base64, one line) written into one buffer of the exact total size. */
function joinWithBase64(pieces: readonly (string | Uint8Array)[]): Buffer {
  const size = pieces.reduce((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : 4 * Math.ceil(p.byteLength / 3)), 0)
  const out = Buffer.allocUnsafeSlow(size)
  let at = 0
  for (const p of pieces) {
    if (typeof p === 'string') {
      at += out.write(p, at, 'utf8')
      continue
    }
    const d = Buffer.from(p.buffer, p.byteOffset, p.byteLength)
    for (let off = 0; off < d.length; off += BASE64_SLICE) at += out.write(d.toString('base64', off, Math.min(d.length, off + BASE64_SLICE)), at, 'latin1')
  }
  if (at !== size) throw gwError('GW_ERR_API_INTERNAL', { reason: `the package serialised to ${at} bytes, expected ${size}` })
  return out
}

/** Serialise a (validated) status model to the exact package bytes. */
export function serialiseStatus(m: StatusPackage): Buffer {
  const o = new Out('edXML:')
  const h = m.messageHeader
  o.raw(DECL + ROOT_OPEN + ENV_OPEN)
  o.open(2, 'edXMLHeader')
  o.open(3, 'MessageHeader')
  writeOrgan(o, 4, 'From', h.from)
  writeResponseFor(o, 4, h.responseFor)
  writeStaff(o, 4, h.staffInfo)
  o.leaf(4, 'StatusCode', h.statusCode)
  o.leaf(4, 'Description', h.description)
  o.leaf(4, 'Timestamp', h.timestamp.value)
  o.close(3, 'MessageHeader')
  o.close(2, 'edXMLHeader')
  o.raw('  </edXML:edXMLEnvelope>\n</edXML>\n')
  return Buffer.from(o.parts.join(''), 'utf8')
}

/** Build a document package: normalise, validate against schemas/edxml/edoc.json, serialise. */
export function buildEdoc(input: EdocInput): Envelope {
  const { model, data } = edocModel(input)
  assertSchema('edoc', model)
  const bytes = serialiseEdoc(model, data)
  const payloads = new Map(
    model.attachments.map((info, i) => [normaliseContentId(info.contentId), { info, decode: (): Uint8Array => data[i]! }] as const),
  )
  return new Envelope({ bytes, kind: 'edoc', edoc: model, warnings: [], payloads })
}

/** Build a status package: normalise, validate against schemas/edxml/status.json, serialise. */
export function buildStatus(input: StatusInput): Envelope {
  const model = statusModel(input)
  assertSchema('status', model)
  return new Envelope({ bytes: serialiseStatus(model), kind: 'status', status: model, warnings: [] })
}
