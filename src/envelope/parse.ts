/**
 * parseEnvelope: edXML bytes → Envelope. Lenient where peers are messy, strict where safety needs it (see README.md
 * in this folder for the decisions). Order of work:
 *   1. size limit (before looking at any byte);
 *   2. start of the XML (BOM, junk before `<?xml`);
 *   3. locate base64 payloads by byte search and cut them out (the parser only sees the small rest);
 *   4. UTF-8 decoding, then one pass over the payload-free text that is both the safety check (DOCTYPE, entities,
 *      depth, balance; nothing expanded) and the namespace-resolved tree (readXml in xml.ts);
 *   5. mapping to the model;
 *   6. payload checks (base64, Manifest ↔ Attachment), sniffing of the first bytes only; decoding stays lazy.
 */
import { gwError } from '../errors.js'
import {
  EDXML_NS,
  STATUS_CODES,
  type AttachmentInfo,
  type Bussiness,
  type DateValue,
  type EdocPackage,
  type ManifestReference,
  type MessageHeader,
  type Organ,
  type ResponseFor,
  type StaffInfo,
  type StatusPackage,
  type TraceHeaderList,
  type XmlElement,
} from '../document/edxml.js'
import { normaliseDate, normaliseTimestamp } from './dates.js'
import { validateOrganId } from './organ-id.js'
import { locatePayloads, markerIndex, parseTree, payloadMarker, readXml, type PayloadRange } from './xml.js'
import { HEAD_BYTES, base64Length, checkBase64, decodeHead, decodeRange, judgeHead, normaliseContentId, promisedType, sameFamily } from './attachments.js'
import { Envelope, type EnvelopeWarning, type PayloadLocation } from './envelope.js'
import { checkRepeated, checkText, type PackageKind } from './strict.js'

export interface ParseOptions {
  /** Largest accepted package in bytes (default 64 MiB). Checked before anything else. */
  maxBytes?: number
  /** Deepest accepted element nesting (default 64; edXML needs about 8). */
  maxDepth?: number
  /**
   * What to do with bytes before `<?xml` (the SDK sample `edoc_new` starts with `1212`): `recover` (default) skips
   * up to 1 KiB of junk with a JUNK_BEFORE_XML warning; `refuse` throws GW_ERR_ENVELOPE_NOT_XML.
   */
  junkPrefix?: 'recover' | 'refuse'
  /**
   * Tree builder after the safety scan: the built-in single-pass reader (default, ~10x faster) or fast-xml-parser
   * (the reference implementation, kept to cross-check the built-in one in tests).
   */
  xmlReader?: 'builtin' | 'fast-xml-parser'
  /** Most bytes the ZIP attachments may unzip to in one reading of the package (default 256 MiB; ZIP bomb guard; limits.unzippedBytes). */
  maxUnzippedBytes?: number
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
export const DEFAULT_MAX_DEPTH = 64
const MAX_JUNK = 1024

const isWs = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function parseEnvelope(bytes: Uint8Array, opts: ParseOptions = {}): Envelope {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  if (bytes.length > maxBytes) throw gwError('GW_ERR_ENVELOPE_TOO_LARGE', { size: bytes.length, limit: maxBytes })
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const warnings: EnvelopeWarning[] = []

  // 2. where the XML starts
  let start = 0
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3
  else if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason: 'UTF-16 packages are not accepted, send UTF-8' })
  }
  let k = start
  while (isWs(buf[k])) k++
  if (buf[k] !== 0x3c) {
    const decl = buf.indexOf('<?xml', start, 'latin1')
    if (opts.junkPrefix !== 'refuse' && decl >= 0 && decl - start <= MAX_JUNK) {
      warnings.push({
        code: 'JUNK_BEFORE_XML',
        message: `skipped ${decl - start} byte(s) before the XML declaration: ${JSON.stringify(buf.toString('latin1', start, Math.min(decl, start + 32)))}`,
      })
      start = decl
    } else if (k >= buf.length) {
      throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason: 'empty package' })
    } else {
      throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason: `content before the first element: ${JSON.stringify(buf.toString('latin1', k, k + 16))}` })
    }
  } else start = k

  // 3. payloads out
  const ranges = locatePayloads(buf, start)
  let text: string
  try {
    if (ranges.length === 0) text = utf8.decode(buf.subarray(start))
    else {
      const parts: string[] = []
      let p = start
      ranges.forEach((r, i) => {
        parts.push(utf8.decode(buf.subarray(p, r.start)), payloadMarker(i))
        p = r.end
      })
      parts.push(utf8.decode(buf.subarray(p)))
      text = parts.join('')
    }
  } catch (e) {
    throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason: 'not valid UTF-8' }, e)
  }
  const enc = /^<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']/.exec(text.slice(0, 200))?.[1]
  if (enc !== undefined && !/^utf-?8$/i.test(enc)) {
    throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason: `encoding ${enc} is not accepted, send UTF-8` })
  }

  // 4. safety scan, then 5. parse
  let undeclaredSeen = false
  const onUndeclared = (name: string): void => {
    if (undeclaredSeen) return
    undeclaredSeen = true
    warnings.push({ code: 'UNDECLARED_PREFIX', message: `prefix edXML used without xmlns:edXML in scope (first on <${name}>): read as the QCVN namespace` })
  }
  let root = readXml(text, maxDepth, onUndeclared)
  if (opts.xmlReader === 'fast-xml-parser') {
    undeclaredSeen = true
    root = parseTree(text, onUndeclared)
  }
  if (root.local !== 'edXML' || root.ns !== EDXML_NS) {
    throw gwError('GW_ERR_ENVELOPE_NOT_EDXML', { root: root.ns ? `{${root.ns}}${root.local}` : root.name })
  }
  const ctx: Ctx = { warnings, buf, ranges }
  const r = new R(root, 'edXML', ctx)
  const envEl = r.sub('edXMLEnvelope') ?? missing('edXML/edXMLEnvelope')
  const headerEl = envEl.sub('edXMLHeader') ?? missing('edXML/edXMLEnvelope/edXMLHeader')
  const mh = headerEl.sub('MessageHeader', 'Status') ?? missing('edXML/edXMLEnvelope/edXMLHeader/MessageHeader')
  const isStatus = mh.el.local === 'Status' || mh.has('StatusCode')
  ctx.kind = isStatus ? 'status' : 'edoc'
  if (mh.el.local === 'Status') warnings.push({ code: 'STATUS_HEADER_NAME', message: 'MessageHeader is named Status (Bkav style)', path: mh.path })

  const tr = headerEl.sub('TraceHeaderList')
  const sigEl = headerEl.anyNs('Signature') // unprefixed in the QCVN namespace in practice, xmldsig in some
  if (isStatus) {
    const status: StatusPackage = { messageHeader: readStatusHeader(mh) }
    if (tr) status.traceHeaderList = readTrace(tr)
    if (sigEl) status.signature = sigEl
    const ext = [...(headerEl.extensions() ?? []), ...(envEl.extensions() ?? []), ...(r.extensions() ?? [])]
    if (ext.length) status.extensions = ext
    return new Envelope({ bytes, kind: 'status', status, warnings })
  }

  const messageHeader = readMessageHeader(mh)
  const manifestEl = envEl.sub('edXMLBody')?.sub('edXMLManifest')
  const references: ManifestReference[] = (manifestEl?.all('Reference') ?? []).map((el, i) => {
    const rr = new R(el, `${manifestEl!.path}/Reference[${i + 1}]`, ctx)
    const ref: ManifestReference = {
      contentId: rr.text('ContentId'),
      contentType: rr.text('ContentType'),
      description: rr.text('Description'),
      attachmentName: rr.text('AttachmentName'),
    }
    if (Object.keys(el.attributes).length) ref.attributes = el.attributes
    if (ref.contentId === '' && el.attributes['xlink:href']) ref.contentId = el.attributes['xlink:href']
    withExt(ref, rr)
    return ref
  })
  const { attachments, payloads } = readAttachments(r.sub('AttachmentEncoded'), references, ctx)
  const edoc: EdocPackage = {
    messageHeader,
    traceHeaderList: tr ? readTrace(tr) : { traceHeaders: [] },
    manifest: { version: manifestEl?.el.attributes['version'] ?? '', references },
    attachments,
  }
  if (sigEl) edoc.signature = sigEl
  const ext = [...(headerEl.extensions() ?? []), ...(envEl.extensions() ?? []), ...(r.extensions() ?? [])]
  if (ext.length) edoc.extensions = ext
  return new Envelope({ bytes, kind: 'edoc', edoc, warnings, payloads, ...(opts.maxUnzippedBytes ? { maxUnzippedBytes: opts.maxUnzippedBytes } : {}) })
}

// ---------------------------------------------------------------------------------------------------------------

interface Ctx {
  /** Package kind, once the header says it (decides which elements are allowed once). */
  kind?: PackageKind
  warnings: EnvelopeWarning[]
  buf: Buffer
  ranges: PayloadRange[]
}

const missing = (path: string): never => {
  throw gwError('GW_ERR_ENVELOPE_MISSING_FIELD', { path })
}

const inEdxml = (el: XmlElement): boolean => el.ns === EDXML_NS || el.ns === ''

/** Reads the QCVN children of one element by local name and remembers which were used (the rest are extensions). */
class R {
  readonly #used = new Set<XmlElement>()
  constructor(
    readonly el: XmlElement,
    readonly path: string,
    readonly ctx: Ctx,
  ) {}

  all(...locals: string[]): XmlElement[] {
    const out = this.el.children.filter((c) => inEdxml(c) && locals.includes(c.local))
    for (const c of out) this.#used.add(c)
    return out
  }
  /** The child element (aliases allowed; `locals[0]` is the standard's name); refused when repeated but allowed once. */
  one(...locals: string[]): XmlElement | undefined {
    const all = this.all(...locals)
    checkRepeated(`${this.path}/${locals[0]!}`, all.length, this.ctx.kind)
    return all[0]
  }
  /** First child with this local name in any namespace (refused when repeated but allowed once). */
  anyNs(local: string): XmlElement | undefined {
    const all = this.el.children.filter((c) => c.local === local)
    checkRepeated(`${this.path}/${local}`, all.length, this.ctx.kind)
    const el = all[0]
    if (el) this.#used.add(el)
    return el
  }
  has(local: string): boolean {
    return this.el.children.some((c) => inEdxml(c) && c.local === local)
  }
  sub(...locals: string[]): R | undefined {
    const el = this.one(...locals)
    return el && new R(el, `${this.path}/${el.local}`, this.ctx)
  }
  /** The text of a header field, refused when it holds control or bidi-override characters (line breaks: long texts only). */
  text(...locals: string[]): string {
    const el = this.one(...locals)
    const value = el?.text ?? ''
    checkText(value, `${this.path}/${el?.local ?? locals[0]!}`, locals[0]!)
    return value
  }
  date(local: string, kind: 'date' | 'timestamp' = 'date'): DateValue {
    const raw = this.text(local)
    if (raw === '') return { value: '', raw }
    const value = (kind === 'date' ? normaliseDate(raw) : normaliseTimestamp(raw)) ?? ''
    if (value === '') this.ctx.warnings.push({ code: 'DATE_UNREADABLE', message: `unreadable date ${JSON.stringify(raw)}`, path: `${this.path}/${local}` })
    return { value, raw }
  }
  extensions(): XmlElement[] | undefined {
    const ext = this.el.children.filter((c) => !this.#used.has(c))
    return ext.length ? ext : undefined
  }
}

function withExt<T extends object>(obj: T, r: R | undefined): T {
  const ext = r?.extensions()
  if (ext) (obj as T & { extensions?: XmlElement[] }).extensions = ext
  return obj
}

function readOrgan(r: R | undefined): Organ {
  return withExt<Organ>({
    organId: r?.text('OrganId') ?? '',
    organName: r?.text('OrganName') ?? '',
    organizationInCharge: r?.text('OrganizationInCharge', 'OrganInCharge') ?? '',
    organAdd: r?.text('OrganAdd') ?? '',
    email: r?.text('Email') ?? '',
    telephone: r?.text('Telephone') ?? '',
    fax: r?.text('Fax') ?? '',
    website: r?.text('Website') ?? '',
  }, r)
}

/** OrganIds that route or authenticate (From, To): refused outside the lenient form. */
function checkOrganId(ctx: Ctx, value: string, path: string, required: boolean): void {
  if (value === '') {
    if (required) missing(path)
    return
  }
  const c = validateOrganId(value, 'lenient')
  if (!c.ok) throw gwError('GW_ERR_ENVELOPE_INVALID_ORGANID', { value, path, reason: c.warning ?? c.form })
  if (c.warning) ctx.warnings.push({ code: 'ORGANID_LENIENT', message: c.warning, path })
}

/** OrganIds that are informative only (trace hops, receiver lists): a warning at most. */
function noteOrganId(ctx: Ctx, value: string, path: string): void {
  if (value === '') return
  const c = validateOrganId(value, 'lenient')
  if (c.form !== 'qcvn2016' && c.form !== 'qd20') {
    ctx.warnings.push({ code: 'ORGANID_LENIENT', message: `OrganId ${JSON.stringify(value)}: ${c.warning ?? c.form}`, path })
  }
}

function readStaff(r: R | undefined): StaffInfo {
  return withExt<StaffInfo>({ department: r?.text('Department') ?? '', staff: r?.text('Staff') ?? '', mobile: r?.text('Mobile') ?? '', email: r?.text('Email') ?? '' }, r)
}

function readResponseFor(r: R): ResponseFor {
  return withExt<ResponseFor>({ organId: r.text('OrganId'), code: r.text('Code'), promulgationDate: r.date('PromulgationDate'), documentId: r.text('DocumentId') }, r)
}

function readMessageHeader(mh: R): MessageHeader {
  const ctx = mh.ctx
  const fromR = mh.sub('From')
  const from = readOrgan(fromR)
  checkOrganId(ctx, from.organId, `${mh.path}/From/OrganId`, true)
  const toEls = mh.all('To')
  if (toEls.length === 0) missing(`${mh.path}/To`)
  const to = toEls.map((el, i) => {
    const o = readOrgan(new R(el, `${mh.path}/To[${i + 1}]`, ctx))
    checkOrganId(ctx, o.organId, `${mh.path}/To[${i + 1}]/OrganId`, true)
    return o
  })
  const codeR = mh.sub('Code')
  const piR = mh.sub('PromulgationInfo')
  const dtR = mh.sub('DocumentType')
  const siR = mh.sub('SignerInfo')
  const oiR = mh.sub('OtherInfo')
  const header: MessageHeader = {
    from,
    to,
    code: withExt({ codeNumber: codeR?.text('CodeNumber') ?? '', codeNotation: codeR?.text('CodeNotation') ?? '' }, codeR),
    promulgationInfo: withExt({ place: piR?.text('Place') ?? '', promulgationDate: piR?.date('PromulgationDate') ?? { value: '', raw: '' } }, piR),
    documentType: withExt({ type: dtR?.text('Type') ?? '', typeDetail: dtR?.text('TypeDetail') ?? '', typeName: dtR?.text('TypeName') ?? '' }, dtR),
    subject: mh.text('Subject'),
    content: mh.text('Content'),
    signerInfo: withExt({ competence: siR?.text('Competence') ?? '', position: siR?.text('Position') ?? '', fullName: siR?.text('FullName') ?? '' }, siR),
    dueDate: mh.date('DueDate'),
    toPlaces: listTexts(mh.sub('ToPlaces'), 'Place'),
    otherInfo: {
      priority: oiR?.text('Priority') ?? '',
      sphereOfPromulgation: oiR?.text('SphereOfPromulgation') ?? '',
      typerNotation: oiR?.text('TyperNotation') ?? '',
      promulgationAmount: oiR?.text('PromulgationAmount') ?? '',
      pageAmount: oiR?.text('PageAmount') ?? '',
      direction: oiR?.text('Direction') ?? '',
      appendixes: listTexts(oiR?.sub('Appendixes'), 'Appendix'),
    },
    responseFor: mh
      .all('ResponseFor')
      .map((el, i) => readResponseFor(new R(el, `${mh.path}/ResponseFor[${i + 1}]`, ctx)))
      .filter((x) => x.organId || x.code || x.documentId || x.promulgationDate.raw),
    steeringType: mh.text('SteeringType'),
    documentId: mh.text('DocumentId'),
  }
  if (oiR) withExt(header.otherInfo, oiR)
  for (const [i, rf] of header.responseFor.entries()) noteOrganId(ctx, rf.organId, `${mh.path}/ResponseFor[${i + 1}]/OrganId`)
  if (header.documentId === '' && header.code.codeNumber === '') missing(`${mh.path}/DocumentId`)
  return withExt(header, mh)
}

function listTexts(w: R | undefined, item: string): string[] {
  return (w?.all(item) ?? []).map((el, i) => textOf(el, `${w!.path}/${item}[${i + 1}]`))
}

const BZ = (local: string): string[] => [local, local.replace('Bussiness', 'Business')]

function readTrace(tr: R): TraceHeaderList {
  const ctx = tr.ctx
  const out: TraceHeaderList = {
    traceHeaders: tr.all('TraceHeader').map((el, i) => {
      const h = new R(el, `${tr.path}/TraceHeader[${i + 1}]`, ctx)
      const organId = h.text('OrganId')
      if (organId === 'null' || organId === '') {
        ctx.warnings.push({ code: 'TRACE_ORGANID_MISSING', message: `trace hop ${i + 1} has ${organId ? 'OrganId "null"' : 'no OrganId'}`, path: h.path })
      } else noteOrganId(ctx, organId, `${h.path}/OrganId`)
      return withExt({ organId, timestamp: h.date('Timestamp', 'timestamp') }, h)
    }),
  }
  const bzEl = tr.one(...BZ('Bussiness'))
  if (bzEl) {
    const b = new R(bzEl, `${tr.path}/${bzEl.local}`, ctx)
    if (bzEl.local === 'Business') ctx.warnings.push({ code: 'BUSINESS_SPELLING', message: 'Business spelled with one s (accepted)', path: b.path })
    const bus: Bussiness = {
      bussinessDocType: b.text(...BZ('BussinessDocType')),
      bussinessDocReason: b.text(...BZ('BussinessDocReason')),
      documentId: b.text('DocumentId'),
      staffInfo: readStaff(undefined),
      paper: b.text('Paper'),
      // the standard allows ReplacementInfoList more than once: the items of all of them, in order
      replacementInfoList: subs(b, 'ReplacementInfoList').flatMap((w) =>
        w.all('ReplacementInfo').map((el, i) => {
          const ri = new R(el, `${w.path}/ReplacementInfo[${i + 1}]`, ctx)
          const ol = ri.sub('OrganIdList')
          return { documentId: ri.text('DocumentId'), organIdList: (ol?.all('OrganId') ?? []).map((o, j) => textOf(o, `${ol!.path}/OrganId[${j + 1}]`)) }
        }),
      ),
    }
    staffInfos(b, bus)
    const bdi = b.sub(...BZ('BussinessDocumentInfo'))
    if (bdi) {
      bus.bussinessDocumentInfo = {
        documentInfo: bdi.text('DocumentInfo'),
        documentReceiver: bdi.text('DocumentReceiver'),
        // ReceiverList may repeat too: the receivers of all of them
        receiverList: subs(bdi, 'ReceiverList').flatMap((w) =>
          w.all('Receiver').map((el, i) => {
            const rr = new R(el, `${w.path}/Receiver[${i + 1}]`, ctx)
            return { organId: rr.text('OrganId'), receiverType: rr.text('ReceiverType') }
          }),
        ),
      }
    }
    out.bussiness = withExt(bus, b)
  }
  if (Object.keys(tr.el.attributes).length) out.attributes = tr.el.attributes
  return withExt(out, tr)
}

function readStatusHeader(mh: R): StatusPackage['messageHeader'] {
  const ctx = mh.ctx
  const from = readOrgan(mh.sub('From'))
  checkOrganId(ctx, from.organId, `${mh.path}/From/OrganId`, true)
  const rfR = mh.sub('ResponseFor')
  if (!rfR) missing(`${mh.path}/ResponseFor`)
  const responseFor = readResponseFor(rfR!)
  if (responseFor.documentId === '' && responseFor.code === '') missing(`${mh.path}/ResponseFor/DocumentId`)
  noteOrganId(ctx, responseFor.organId, `${mh.path}/ResponseFor/OrganId`)
  const statusCode = mh.text('StatusCode')
  if (statusCode === '') missing(`${mh.path}/StatusCode`)
  if (!(STATUS_CODES as readonly string[]).includes(statusCode)) throw gwError('GW_ERR_ENVELOPE_INVALID_STATUS_CODE', { value: statusCode })
  const staffs: { staffInfo: StaffInfo; staffInfoList?: StaffInfo[] } = { staffInfo: readStaff(undefined) }
  staffInfos(mh, staffs)
  return withExt<StatusPackage['messageHeader']>(
    {
      from,
      responseFor,
      ...staffs,
      statusCode,
      description: mh.text('Description'),
      timestamp: mh.date('Timestamp', 'timestamp'),
    },
    mh,
  )
}

/** Every child `local` of `r` as a reader (for elements the standard allows more than once). */
function subs(r: R, local: string): R[] {
  return r.all(local).map((el, i, a) => new R(el, `${r.path}/${local}${a.length > 1 ? `[${i + 1}]` : ''}`, r.ctx))
}

/** The text of a list item element, checked like a field. */
function textOf(el: XmlElement, path: string): string {
  checkText(el.text, path, el.local)
  return el.text
}

/** StaffInfo may repeat: `staffInfo` is the first (as before), `staffInfoList` all of them when there are several. */
function staffInfos(r: R, into: { staffInfo: StaffInfo; staffInfoList?: StaffInfo[] }): void {
  const all = subs(r, 'StaffInfo').map((s) => readStaff(s))
  if (all[0]) into.staffInfo = all[0]
  if (all.length > 1) into.staffInfoList = all
}

function readAttachments(
  ae: R | undefined,
  references: ManifestReference[],
  ctx: Ctx,
): { attachments: AttachmentInfo[]; payloads: Map<string, { info: AttachmentInfo; decode: () => Uint8Array; at: PayloadLocation }> } {
  const byCid = new Map<string, ManifestReference>()
  for (const ref of references) {
    const cid = normaliseContentId(ref.contentId)
    if (byCid.has(cid)) throw gwError('GW_ERR_ENVELOPE_DUPLICATE_CONTENT_ID', { contentId: ref.contentId })
    byCid.set(cid, ref)
  }
  const payloads = new Map<string, { info: AttachmentInfo; decode: () => Uint8Array; at: PayloadLocation }>()
  const attachments: AttachmentInfo[] = []
  for (const [i, el] of (ae?.all('Attachment') ?? []).entries()) {
    const a = new R(el, `${ae!.path}/Attachment[${i + 1}]`, ctx)
    const contentId = a.text('ContentId')
    if (contentId === '') missing(`${a.path}/ContentId`)
    const cid = normaliseContentId(contentId)
    if (payloads.has(cid)) throw gwError('GW_ERR_ENVELOPE_DUPLICATE_CONTENT_ID', { contentId })
    const ref = byCid.get(cid)
    if (!ref) throw gwError('GW_ERR_ENVELOPE_ATTACHMENT_UNLISTED', { contentId })
    const cte = a.one('ContentTransferEncoded')
    if (!cte) missing(`${a.path}/ContentTransferEncoded`)
    const idx = markerIndex(cte!.text)
    let size: number
    let decode: () => Uint8Array
    let head: Uint8Array
    let at: PayloadLocation
    if (idx !== undefined) {
      const range = ctx.ranges[idx]!
      size = checkBase64(ctx.buf, range, contentId)
      decode = () => decodeRange(ctx.buf, range)
      at = { start: range.start, end: range.end }
      head = decodeHead(ctx.buf, range)
    } else {
      // a payload the byte scan left to the parser (markup inside, e.g. CDATA): small by nature
      const s = cte!.text.replace(/[\t\n\r ]+/g, '')
      if (/[^A-Za-z0-9+/=]/.test(s)) throw gwError('GW_ERR_ENVELOPE_BAD_BASE64', { contentId, reason: 'character outside the standard base64 alphabet' })
      size = base64Length(s, contentId)
      decode = () => Buffer.from(s, 'base64')
      at = { base64: s }
      head = Buffer.from(s.slice(0, (HEAD_BYTES / 3) * 4), 'base64')
    }
    const attachmentName = a.text('AttachmentName') || ref.attachmentName
    const info: AttachmentInfo = {
      contentId,
      attachmentName,
      description: a.text('Description'),
      contentType: a.text('ContentType'),
      manifestContentType: ref.contentType,
      size,
      ...judgeHead(head, attachmentName),
    }
    attachmentWarnings(ctx, info)
    attachments.push(info)
    payloads.set(cid, { info, decode, at })
  }
  for (const ref of references) {
    if (!payloads.has(normaliseContentId(ref.contentId))) throw gwError('GW_ERR_ENVELOPE_REFERENCE_MISSING', { contentId: ref.contentId })
  }
  return { attachments, payloads }
}

function attachmentWarnings(ctx: Ctx, info: AttachmentInfo): void {
  const contentId = info.contentId
  const declared = info.contentType.toLowerCase()
  const manifest = info.manifestContentType.toLowerCase()
  if (declared !== manifest && declared !== '' && manifest !== '') {
    ctx.warnings.push({
      code: 'CONTENT_TYPE_DECLARED_MISMATCH',
      message: `Manifest declares ${info.manifestContentType} but the Attachment declares ${info.contentType}`,
      contentId,
    })
  }
  const real = info.realContentType
  if (info.zipEntryName !== undefined) {
    ctx.warnings.push({
      code: 'ZIP_CONVENTION',
      message: `payload of ${info.attachmentName} is a ZIP (declared ${info.contentType || info.manifestContentType}); its entry ${JSON.stringify(info.zipEntryName)} (${real || 'type unknown'}) is the content`,
      contentId,
    })
  }
  const promised = promisedType(info.attachmentName, info.manifestContentType, info.contentType)
  if (promised !== '' && real !== '' && !sameFamily(promised, real)) {
    ctx.warnings.push({
      code: 'CONTENT_TYPE_MISMATCH',
      message: `${info.attachmentName} should be ${promised} but its content is ${real}`,
      contentId,
    })
  }
}
