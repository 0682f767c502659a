/**
 * The edXML (QCVN 102:2016) package model: what a document package ("edoc") and a status package ("status") carry,
 * as plain data. No I/O here; src/envelope/ builds and parses the bytes, schemas/edxml/ holds the JSON Schemas of the
 * same shapes.
 *
 * Conventions of the model:
 * - Every leaf is the string found in the package, trimmed of surrounding XML whitespace. A tag that is missing or
 *   empty gives `''`. Identifiers (DocumentId, OrganId, StatusCode, codes and numbers) are never converted: `"03"`
 *   stays `"03"`, a lowercase `vxp.saas.03` stays lowercase (the parser warns about it).
 * - Groups of docs/edxml.md §a.2 (From, Code, SignerInfo, OtherInfo, ...) are always present; repeated elements are
 *   arrays (possibly empty).
 * - Dates and timestamps are `{ value, raw }`: `value` is normalised (`yyyy/MM/dd`, `yyyy/MM/dd HH:mm:ss`) or `''`
 *   when the package had none or an unreadable one; `raw` is the text as received.
 * - Unknown elements are kept in `extensions` as generic trees (never fatal, never required).
 */

/** QCVN 102 namespace shared by the default namespace and the `edXML` prefix. */
export const EDXML_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016'

/** Status codes of docs/edxml.md §b. */
export const STATUS_CODES = ['01', '02', '03', '04', '05', '06', '13', '15', '16'] as const
export type StatusCode = (typeof STATUS_CODES)[number]

/** A generic XML element kept verbatim in meaning (used for extensions and the package Signature). */
export interface XmlElement {
  /** Qualified name as written in the package (`edXML:Direction`). */
  name: string
  /** Namespace URI resolved from the xmlns declarations in scope (`''` when none). */
  ns: string
  /** Local name (`Direction`). */
  local: string
  /** Attributes by qualified name, values entity-decoded (xmlns declarations excluded). */
  attributes: Record<string, string>
  /** Child elements in document order. */
  children: XmlElement[]
  /** Concatenated character data directly inside this element, entity-decoded and trimmed. */
  text: string
}

/** A date (`yyyy/MM/dd`) or timestamp (`yyyy/MM/dd HH:mm:ss`, UTC+7 without zone). */
export interface DateValue {
  /** Normalised value, or `''` when missing or unreadable. */
  value: string
  /** Text as found in the package (`''` when missing). */
  raw: string
}

/** From / To (§a.2 1.1, 1.2). */
export interface Organ {
  organId: string
  organName: string
  organizationInCharge: string
  organAdd: string
  email: string
  telephone: string
  fax: string
  website: string
  extensions?: XmlElement[]
}

export interface Code {
  codeNumber: string
  codeNotation: string
  extensions?: XmlElement[]
}

export interface PromulgationInfo {
  place: string
  promulgationDate: DateValue
  extensions?: XmlElement[]
}

export interface DocumentType {
  /** `1` or `2` in practice. */
  type: string
  /** Optional: `''` when absent (the builder then leaves the tag out). */
  typeDetail: string
  typeName: string
  extensions?: XmlElement[]
}

export interface SignerInfo {
  competence: string
  position: string
  fullName: string
  extensions?: XmlElement[]
}

export interface OtherInfo {
  /** `0`..`4`. */
  priority: string
  sphereOfPromulgation: string
  typerNotation: string
  promulgationAmount: string
  pageAmount: string
  /** Extension seen in every real package (`true`/`false`); `''` when absent (not emitted then). */
  direction: string
  appendixes: string[]
  extensions?: XmlElement[]
}

/** The document a package or status answers (§a.2 1.12, §b). */
export interface ResponseFor {
  organId: string
  /** Full "số/ký hiệu", e.g. `7816/VPCP-TTĐT`. */
  code: string
  promulgationDate: DateValue
  documentId: string
  extensions?: XmlElement[]
}

/** Document MessageHeader (§a.2). */
export interface MessageHeader {
  from: Organ
  to: Organ[]
  code: Code
  promulgationInfo: PromulgationInfo
  documentType: DocumentType
  subject: string
  content: string
  signerInfo: SignerInfo
  dueDate: DateValue
  toPlaces: string[]
  otherInfo: OtherInfo
  /** Empty `<ResponseFor/>` elements (seen in real traffic) are dropped. */
  responseFor: ResponseFor[]
  steeringType: string
  documentId: string
  extensions?: XmlElement[]
}

export interface TraceHeader {
  /** May be `''` or the text `null`: the axis appends hops without a proper OrganId. */
  organId: string
  timestamp: DateValue
  extensions?: XmlElement[]
}

export interface StaffInfo {
  department: string
  staff: string
  mobile: string
  email: string
  extensions?: XmlElement[]
}

export interface Receiver {
  organId: string
  receiverType: string
}

export interface BussinessDocumentInfo {
  /** `0`/`1`: metadata changed. */
  documentInfo: string
  /** `0`/`1`: recipient list changed. */
  documentReceiver: string
  receiverList: Receiver[]
}

export interface ReplacementInfo {
  documentId: string
  organIdList: string[]
}

/** `Bussiness` block (§a.3 2.2); `Business*` spellings are accepted on input. */
export interface Bussiness {
  /** `0` new, `1` revoke, `2` update, `3` replace (§c). */
  bussinessDocType: string
  bussinessDocReason: string
  bussinessDocumentInfo?: BussinessDocumentInfo
  documentId: string
  staffInfo: StaffInfo
  /** Every StaffInfo when the package has more than one (`staffInfo` is the first). */
  staffInfoList?: StaffInfo[]
  paper: string
  replacementInfoList: ReplacementInfo[]
  extensions?: XmlElement[]
}

export interface TraceHeaderList {
  traceHeaders: TraceHeader[]
  bussiness?: Bussiness
  /** Attributes some builders put on the element (SOAP style `id`, `version`, ...). */
  attributes?: Record<string, string>
  extensions?: XmlElement[]
}

/** edXMLManifest/Reference (§a.4). */
export interface ManifestReference {
  /** As written, normally `cid:<id>`. */
  contentId: string
  contentType: string
  description: string
  attachmentName: string
  /** XLink or other attributes on Reference. */
  attributes?: Record<string, string>
  extensions?: XmlElement[]
}

export interface Manifest {
  version: string
  references: ManifestReference[]
}

/** Metadata of one AttachmentEncoded/Attachment (the payload itself is read through the Envelope). */
export interface AttachmentInfo {
  /** As written in the Attachment, normally `cid:<id>`. */
  contentId: string
  attachmentName: string
  description: string
  /** ContentType declared in the Attachment element. */
  contentType: string
  /** ContentType declared by the matching Manifest Reference. */
  manifestContentType: string
  /** Length of the decoded payload in bytes (before the ZIP convention). */
  size: number
  /** Content type sniffed from the first decoded bytes (`application/zip`, `application/pdf`, ...; `''` if empty). */
  payloadContentType: string
  /**
   * Content type of what the receiver will use, judged at parse time from the first bytes: the payload's own type,
   * or for a ZIP under a non-`.zip` name (ZIP convention) the type of its first entry (`''` if unreachable).
   * `Envelope.describeAttachment` decodes and unzips in full and is authoritative (e.g. entry count).
   */
  realContentType: string
  /** Name of the first ZIP entry when the ZIP convention applies. */
  zipEntryName?: string
}

/** Document package (messagetype `edoc`). */
export interface EdocPackage {
  messageHeader: MessageHeader
  traceHeaderList: TraceHeaderList
  manifest: Manifest
  attachments: AttachmentInfo[]
  /** The unprefixed `Signature` of edXMLHeader when present (placeholder in practice, docs/edxml.md §e.2). */
  signature?: XmlElement
  /** Unknown elements under edXMLHeader / edXMLEnvelope / the root. */
  extensions?: XmlElement[]
}

/** Status MessageHeader (§b). */
export interface StatusHeader {
  from: Organ
  responseFor: ResponseFor
  staffInfo: StaffInfo
  /** Every StaffInfo when the package has more than one (`staffInfo` is the first). */
  staffInfoList?: StaffInfo[]
  /** Two-digit string, one of STATUS_CODES. */
  statusCode: string
  description: string
  timestamp: DateValue
  extensions?: XmlElement[]
}

/** Status package (messagetype `status`). */
export interface StatusPackage {
  messageHeader: StatusHeader
  /** Present only if the sender added one (the official samples have none). */
  traceHeaderList?: TraceHeaderList
  signature?: XmlElement
  extensions?: XmlElement[]
}
