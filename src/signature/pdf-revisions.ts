/**
 * What the incremental updates after a PDF signature changed, and whether a signer may make such changes without
 * changing the signed document (see README.md, "PDF revisions after a signature").
 *
 * The bytes after the signed ranges are cut into revisions at each `%%EOF`. In each, every indirect object
 * (`N G obj`, and the objects inside PDF 1.5 object streams, inflated when FlateDecode) is classified:
 *
 * - allowed: signature and document-timestamp dictionaries, signature fields and widgets, the AcroForm, DSS and VRI
 *   dictionaries, a catalog whose only changes are /AcroForm, /DSS, /Perms, /Extensions, a page whose only change is
 *   /Annots, new auxiliary objects nothing old points to unless it is replaced too (appearance streams, certificates,
 *   CRLs, OCSP answers), cross-reference streams, and Info/XMP metadata when the same revision adds a signature;
 * - not allowed: anything else, in particular any other replaced object (a page content stream rewritten in place),
 *   a page whose /Contents, /Resources, /MediaBox ... changed, an annotation other than a signature widget, an
 *   xref entry that points back into the signed bytes (an old, unreferenced object revived), a form field value.
 *
 * DocMDP (P=1: no change; P=2: form fill-in and signing; P=3: also annotations) and FieldMDP (locked fields) are
 * checked against the same classification.
 */
import { inflateSync } from 'node:zlib'

/** Values produced by pdf.ts's object parser (structural subset used here). */
export type PdfObj =
  | { t: 'dict'; start: number; end: number; entries: Map<string, { keyOffset: number; value: PdfObj }> }
  | { t: 'array'; start: number; end: number; items: PdfObj[] }
  | { t: 'num'; start: number; end: number; value: number; integer: boolean }
  | { t: 'name'; start: number; end: number; value: string }
  | { t: 'str'; start: number; end: number; bytes: Buffer }
  | { t: 'hex'; start: number; end: number }
  | { t: 'ref'; start: number; end: number }
  | { t: 'kw'; start: number; end: number; value: string }

/** Parses one object value at `pos` of `buf` (pdf.ts's parser, bounded), or undefined when it cannot. */
export type ParseAt = (buf: Buffer, pos: number) => PdfObj | undefined

export type ChangeKind =
  | 'signature'
  | 'signature-field'
  | 'acroform'
  | 'dss'
  | 'catalog'
  | 'page-annotations'
  | 'auxiliary'
  | 'structure'
  | 'metadata'
  | 'annotation'
  | 'form-field'
  | 'page'
  | 'object-replaced'
  | 'object-revived'

export interface PdfObjectChange {
  /** 1-based revision after the signature. */
  readonly revision: number
  readonly object: number
  readonly kind: ChangeKind
  readonly allowed: boolean
  readonly detail: string
}

export interface PdfLaterChanges {
  /** Revisions (incremental updates) after the signed ranges. */
  readonly revisions: number
  readonly changes: readonly PdfObjectChange[]
  /** Object numbers of pages whose dictionary changed beyond /Annots. */
  readonly pagesTouched: readonly number[]
  /** Object numbers that existed in the signed revision and were replaced. */
  readonly objectsReplaced: readonly number[]
  /** True when every change is one a signer may add without changing the content. */
  readonly onlySignerUpdates: boolean
  readonly annotationsAdded: boolean
  readonly formFieldsChanged: readonly string[]
}

const WS = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00
const digit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39

/** `N G obj` headers: [object number, offset just after `obj`]. */
export function objectHeadersWithNumbers(buf: Buffer, from = 0, to = buf.length): [number, number][] {
  const out: [number, number][] = []
  for (let p = buf.indexOf('obj', from, 'latin1'); p >= 0 && p < to; p = buf.indexOf('obj', p + 3, 'latin1')) {
    if (p === 0 || !WS(buf[p - 1]) || (buf[p + 3] !== undefined && !WS(buf[p + 3]) && buf[p + 3] !== 0x3c && buf[p + 3] !== 0x5b && buf[p + 3] !== 0x2f)) continue
    let q = p - 1
    while (q >= 0 && WS(buf[q]) && p - q < 16) q--
    let r = q
    while (r >= 0 && digit(buf[r]) && q - r < 10) r--
    if (r === q || !(r >= 0 && WS(buf[r]))) continue
    let s = r
    while (s >= 0 && WS(buf[s]) && r - s < 16) s--
    let n = s
    while (n >= 0 && digit(buf[n]) && s - n < 12) n--
    if (n === s) continue
    out.push([Number(buf.toString('latin1', n + 1, s + 1)), p + 3])
  }
  return out
}

const nameOf = (d: PdfObj | undefined, key: string): string | undefined => {
  if (d?.t !== 'dict') return undefined
  const v = d.entries.get(key)?.value
  return v?.t === 'name' ? v.value : undefined
}
const text = (buf: Buffer, v: PdfObj | undefined): string => (v ? buf.toString('latin1', v.start, v.end).replace(/\s+/g, ' ') : '')

interface Obj {
  num: number
  value: PdfObj
  buf: Buffer
  isStream: boolean
}

/** The objects defined in `buf[from, to)`, including those inside object streams. */
function objectsIn(buf: Buffer, from: number, to: number, parse: ParseAt): Obj[] {
  const out: Obj[] = []
  for (const [num, at] of objectHeadersWithNumbers(buf, from, to)) {
    const v = parse(buf, at)
    if (!v) continue
    let q = v.end
    while (q < buf.length && WS(buf[q]) && q - v.end < 64) q++
    const isStream = buf.toString('latin1', q, q + 6) === 'stream'
    out.push({ num, value: v, buf, isStream })
    if (isStream && nameOf(v, 'Type') === 'ObjStm') out.push(...objectStream(buf, v, q + 6, parse))
  }
  return out
}

/** The objects of an object stream (PDF 1.5): raw or FlateDecode, without predictors. */
function objectStream(buf: Buffer, dict: PdfObj, dataAt: number, parse: ParseAt): Obj[] {
  if (dict.t !== 'dict') return []
  const len = dict.entries.get('Length')?.value
  const first = dict.entries.get('First')?.value
  const n = dict.entries.get('N')?.value
  if (len?.t !== 'num' || first?.t !== 'num' || n?.t !== 'num' || n.value > 100_000) return []
  let p = dataAt
  if (buf[p] === 0x0d) p++
  if (buf[p] === 0x0a) p++
  let data = buf.subarray(p, Math.min(buf.length, p + len.value))
  const filter = nameOf(dict, 'Filter')
  if (filter === 'FlateDecode') {
    try {
      data = inflateSync(data, { maxOutputLength: 64 * 1024 * 1024 })
    } catch {
      return []
    }
  } else if (filter !== undefined) return []
  const head = data.toString('latin1', 0, Math.min(first.value, data.length)).trim().split(/\s+/).map(Number)
  const out: Obj[] = []
  for (let i = 0; i + 1 < head.length && i / 2 < n.value; i += 2) {
    const v = parse(data, first.value + head[i + 1]!)
    if (v) out.push({ num: head[i]!, value: v, buf: data, isStream: false })
  }
  return out
}

export interface MdpRules {
  /** DocMDP P value of the signature (1, 2 or 3), when it has one. */
  docMdp?: number
  /** FieldMDP: fields locked by the signature. */
  fieldMdp?: { action: 'All' | 'Include' | 'Exclude'; fields: string[] }
}

/**
 * Classifies what the bytes after `signedEnd` change. `parse` reads one object value at an offset.
 */
export function laterChanges(buf: Buffer, signedEnd: number, parse: ParseAt): PdfLaterChanges {
  // revisions: cut at each %%EOF after the signed ranges
  const cuts: number[] = []
  for (let p = buf.indexOf('%%EOF', signedEnd, 'latin1'); p >= 0 && cuts.length < 10_000; p = buf.indexOf('%%EOF', p + 5, 'latin1')) cuts.push(p + 5)
  if (cuts.length === 0 || cuts[cuts.length - 1]! < buf.length) {
    let tail = cuts.length ? cuts[cuts.length - 1]! : signedEnd
    while (tail < buf.length && WS(buf[tail])) tail++
    if (tail < buf.length) cuts.push(buf.length)
  }
  const before = new Map<number, Obj>()
  for (const o of objectsIn(buf, 0, signedEnd, parse)) before.set(o.num, o)
  const changes: PdfObjectChange[] = []
  const pagesTouched = new Set<number>()
  const replaced = new Set<number>()
  const formFields: string[] = []
  let annotationsAdded = false
  let start = signedEnd
  cuts.forEach((end, i) => {
    const revision = i + 1
    const objs = objectsIn(buf, start, end, parse)
    const section = buf.toString('latin1', start, end)
    const info = /\/Info\s+(\d+)\s+\d+\s+R/.exec(section.slice(Math.max(0, section.lastIndexOf('trailer'))))?.[1]
    const kinds: { o: Obj; kind: ChangeKind; allowed: boolean; detail: string }[] = []
    for (const o of objs) {
      const old = before.get(o.num)
      const c = classify(o, old, info !== undefined && Number(info) === o.num)
      if (old) replaced.add(o.num)
      if (c.kind === 'page') pagesTouched.add(o.num)
      if (c.kind === 'annotation') annotationsAdded = true
      if (c.kind === 'form-field' && c.field) formFields.push(c.field)
      kinds.push({ o, ...c })
    }
    // metadata is bookkeeping of a signing tool only in a revision that signs
    const signs = kinds.some((k) => k.kind === 'signature' || k.kind === 'dss')
    for (const k of kinds) {
      const allowed = k.kind === 'metadata' ? signs : k.allowed
      changes.push({ revision, object: k.o.num, kind: k.kind, allowed, detail: k.kind === 'metadata' && !signs ? `${k.detail} in a revision that adds no signature` : k.detail })
    }
    // classic xref entries that point back into the signed bytes revive an old object under a number
    for (const m of section.matchAll(/(?:^|\n|\r)xref\s+([\s\S]*?)trailer/g)) {
      const rows = m[1]!.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean)
      let num = 0
      for (const row of rows) {
        const sub = /^(\d+)\s+(\d+)$/.exec(row)
        if (sub) {
          num = Number(sub[1])
          continue
        }
        const e = /^(\d{10})\s+(\d{5})\s+([nf])$/.exec(row)
        if (!e) continue
        const off = Number(e[1])
        if (e[3] === 'n' && off < signedEnd && !objs.some((o) => o.num === num)) {
          changes.push({ revision, object: num, kind: 'object-revived', allowed: false, detail: `xref entry of object ${num} points to offset ${off}, inside the signed revision` })
        }
        num++
      }
    }
    if (objs.length === 0 && changes.every((c) => c.revision !== revision) && /\S/.test(section.replace(/%%EOF|startxref\s*\d+|xref[\s\S]*?trailer\s*<<[\s\S]*?>>/g, ''))) {
      changes.push({ revision, object: 0, kind: 'structure', allowed: false, detail: 'bytes that are not objects or cross-reference data' })
    }
    start = end
  })
  return {
    revisions: cuts.length,
    changes,
    pagesTouched: [...pagesTouched],
    objectsReplaced: [...replaced].sort((a, b) => a - b),
    onlySignerUpdates: changes.every((c) => c.allowed),
    annotationsAdded,
    formFieldsChanged: formFields,
  }
}

const CATALOG_SIGNER_KEYS = new Set(['AcroForm', 'DSS', 'Perms', 'Extensions'])

function classify(o: Obj, old: Obj | undefined, isInfo: boolean): { kind: ChangeKind; allowed: boolean; detail: string; field?: string } {
  const v = o.value
  const type = nameOf(v, 'Type')
  const ft = nameOf(v, 'FT')
  const sub = nameOf(v, 'Subtype')
  const num = o.num
  if (type === 'Sig' || type === 'DocTimeStamp' || (v.t === 'dict' && v.entries.has('ByteRange') && v.entries.has('Contents'))) {
    return { kind: 'signature', allowed: true, detail: `${type === 'DocTimeStamp' ? 'document timestamp' : 'signature'} dictionary ${num}` }
  }
  if (type === 'DSS' || type === 'VRI' || (v.t === 'dict' && (v.entries.has('VRI') || v.entries.has('OCSPs') || v.entries.has('CRLs')) && !type)) {
    return { kind: 'dss', allowed: true, detail: `document security store (DSS/VRI) ${num}` }
  }
  if (type === 'XRef' || type === 'ObjStm') return { kind: 'structure', allowed: true, detail: `${type} stream ${num}` }
  if (ft === 'Sig' || (sub === 'Widget' && ft === undefined && v.t === 'dict' && v.entries.has('Parent') && !old)) {
    if (!old || ft === 'Sig') return { kind: 'signature-field', allowed: true, detail: `signature field / widget ${num}` }
  }
  if (type === 'Catalog') {
    if (!old) return { kind: 'catalog', allowed: false, detail: `a new catalog ${num}` }
    const diff = differing(o, old).filter((k) => !CATALOG_SIGNER_KEYS.has(k))
    return diff.length
      ? { kind: 'catalog', allowed: false, detail: `catalog ${num} changed: /${diff.join(', /')}` }
      : { kind: 'catalog', allowed: true, detail: `catalog ${num}: only /AcroForm, /DSS, /Perms or /Extensions changed` }
  }
  if (type === 'Page' || type === 'Pages') {
    if (!old) return { kind: 'page', allowed: false, detail: `a new ${type === 'Page' ? 'page' : 'page tree node'} ${num}` }
    const diff = differing(o, old)
    if (diff.length === 1 && diff[0] === 'Annots' && type === 'Page') return { kind: 'page-annotations', allowed: true, detail: `page ${num}: only /Annots changed` }
    if (diff.length === 0) return { kind: 'page-annotations', allowed: true, detail: `page ${num} written again unchanged` }
    return { kind: 'page', allowed: false, detail: `${type === 'Page' ? 'page' : 'page tree'} ${num} changed: /${diff.join(', /')}` }
  }
  if (type === 'Annot' || sub !== undefined && ['Text', 'FreeText', 'Link', 'Square', 'Circle', 'Line', 'Ink', 'Highlight', 'Underline', 'StrikeOut', 'Stamp', 'Popup', 'FileAttachment', 'Polygon', 'PolyLine', 'Caret', 'Squiggly', 'Redact', 'Widget'].includes(sub)) {
    if (sub === 'Widget') {
      const field = fieldName(o)
      return { kind: 'form-field', allowed: false, detail: `form field widget ${num}${field ? ` (${field})` : ''}`, ...(field ? { field } : {}) }
    }
    return { kind: 'annotation', allowed: false, detail: `${sub ?? 'an'} annotation ${num}` }
  }
  if (ft !== undefined) {
    const field = fieldName(o)
    return { kind: 'form-field', allowed: false, detail: `form field ${num} (${ft}${field ? ` ${field}` : ''})`, ...(field ? { field } : {}) }
  }
  if (v.t === 'dict' && v.entries.has('Fields') && !type) return { kind: 'acroform', allowed: true, detail: `AcroForm ${num}` }
  if (isInfo || type === 'Metadata') return { kind: 'metadata', allowed: true, detail: `document information ${num}` }
  if (old) return { kind: 'object-replaced', allowed: false, detail: `object ${num}${o.isStream ? ' (a stream)' : ''} of the signed revision replaced` }
  return { kind: 'auxiliary', allowed: true, detail: `new ${o.isStream ? 'stream' : 'object'} ${num}` }
}

function fieldName(o: Obj): string | undefined {
  const t = o.value.t === 'dict' ? o.value.entries.get('T')?.value : undefined
  if (t?.t === 'str') return t.bytes.length >= 2 && t.bytes[0] === 0xfe && t.bytes[1] === 0xff ? Buffer.from(t.bytes.subarray(2)).swap16().toString('utf16le') : t.bytes.toString('latin1')
  return undefined
}

/** Keys whose value text differs between two versions of a dictionary. */
function differing(a: Obj, b: Obj): string[] {
  if (a.value.t !== 'dict' || b.value.t !== 'dict') return ['(whole object)']
  const keys = new Set([...a.value.entries.keys(), ...b.value.entries.keys()])
  const out: string[] = []
  for (const k of keys) {
    if (text(a.buf, a.value.entries.get(k)?.value) !== text(b.buf, b.value.entries.get(k)?.value)) out.push(k)
  }
  if (a.isStream !== b.isStream) out.push('(stream data)')
  return out
}

/** Checks DocMDP / FieldMDP permissions of a signature against the later changes: a message when violated. */
export function mdpViolation(rules: MdpRules, later: PdfLaterChanges): string | undefined {
  if (later.revisions === 0) return undefined
  if (rules.docMdp === 1 && later.changes.length > 0) return `the signature allows no change (DocMDP P=1) but ${later.revisions} later revision(s) change the document`
  if (rules.docMdp === 1 && later.revisions > 0) return `the signature allows no change (DocMDP P=1) but ${later.revisions} later revision(s) follow`
  if (rules.fieldMdp) {
    const { action, fields } = rules.fieldMdp
    const locked = (f: string): boolean => (action === 'All' ? true : action === 'Include' ? fields.includes(f) : !fields.includes(f))
    const hit = later.formFieldsChanged.filter(locked)
    if (hit.length) return `field(s) ${hit.join(', ')} locked by the signature (FieldMDP ${action}) changed in a later revision`
  }
  return undefined
}

/** Whether the later changes are permitted by the signature: DocMDP P=2 adds form filling, P=3 annotations. */
export function permitted(rules: MdpRules, later: PdfLaterChanges): boolean {
  return later.changes.every((c) => c.allowed || ((rules.docMdp === 2 || rules.docMdp === 3) && c.kind === 'form-field') || (rules.docMdp === 3 && c.kind === 'annotation'))
}
