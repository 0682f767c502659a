/**
 * Strictness rules shared by the parser and the builder, derived from the model schemas (schemas/edxml/) where
 * possible rather than from hand lists:
 *
 * - which XML elements the standard allows **once** (a non-array property of the model): a second one is refused
 *   with GW_ERR_ENVELOPE_REPEATED_ELEMENT instead of silently reading the first;
 * - which elements are **numeric** (`digits`/`optionalDigits` in the schema): the builder never writes them empty;
 * - which characters a header field may hold: GW_ERR_ENVELOPE_CONTROL_CHARACTER for NUL and C0 controls (TAB, CR
 *   and LF excepted), bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), and, in single-line
 *   fields (every field but the long texts in MULTILINE), line breaks.
 *
 * Model property → XML element: the property name with its first letter upper-cased, except for the array
 * properties in WRAPPERS (a wrapper element around repeated items) and the names in XML_NAMES.
 */
import { readFileSync } from 'node:fs'
import { gwError } from '../errors.js'
import { schemaPath } from '../paths.js'

type Schema = {
  type?: string | string[]
  $ref?: string
  allOf?: Schema[]
  properties?: Record<string, Schema>
  items?: Schema
  definitions?: Record<string, Schema>
}

const HEADER = 'edXML/edXMLEnvelope/edXMLHeader'
/** Where each top-level model property lives in the XML, per package kind. */
const ROOTS: Record<'edoc' | 'status', Record<string, string>> = {
  edoc: {
    messageHeader: `${HEADER}/MessageHeader`,
    traceHeaderList: `${HEADER}/TraceHeaderList`,
    manifest: 'edXML/edXMLEnvelope/edXMLBody/edXMLManifest',
    attachments: 'edXML/AttachmentEncoded/Attachment',
  },
  status: { messageHeader: `${HEADER}/MessageHeader`, traceHeaderList: `${HEADER}/TraceHeaderList` },
}
/** Envelope structure outside the model, each allowed once. */
const SKELETON = [
  'edXML/edXMLEnvelope',
  `${HEADER}`,
  `${HEADER}/Signature`,
  'edXML/edXMLEnvelope/edXMLBody',
  'edXML/AttachmentEncoded',
  'edXML/AttachmentEncoded/Attachment/ContentTransferEncoded',
]
/** Array properties written as a wrapper element around items; `repeats`: the standard allows the wrapper more than once. */
const WRAPPERS: Record<string, { wrapper?: string; item: string; repeats?: boolean }> = {
  toPlaces: { wrapper: 'ToPlaces', item: 'Place' },
  appendixes: { wrapper: 'Appendixes', item: 'Appendix' },
  replacementInfoList: { wrapper: 'ReplacementInfoList', item: 'ReplacementInfo', repeats: true },
  receiverList: { wrapper: 'ReceiverList', item: 'Receiver', repeats: true },
  organIdList: { wrapper: 'OrganIdList', item: 'OrganId' },
  traceHeaders: { item: 'TraceHeader' },
  references: { item: 'Reference' },
}
/** Model properties that are not XML elements (computed, attributes, or kept as raw XML). */
const NOT_ELEMENTS = new Set(['extensions', 'attributes', 'version', 'signature', 'manifestContentType', 'size', 'payloadContentType', 'realContentType', 'zipEntryName', 'contentTypeNote'])

/** Long texts that may span lines. */
export const MULTILINE = new Set(['Subject', 'Content', 'Description', 'OrganAdd', 'BussinessDocReason', 'Appendix', 'Place', 'SphereOfPromulgation'])

export type PackageKind = 'edoc' | 'status'

interface Rules {
  /** Normalised element paths (no [n] indexes) allowed once, per package kind. */
  once: Record<PackageKind, Set<string>>
  /** Local names of numeric elements. */
  numeric: Set<string>
}

let rules: Rules | undefined

const upper = (s: string): string => s[0]!.toUpperCase() + s.slice(1)

function load(): Rules {
  if (rules) return rules
  const read = (n: string): Schema => JSON.parse(readFileSync(schemaPath(`edxml/${n}`), 'utf8')) as Schema
  const common = read('common.json')
  const resolve = (s: Schema, depth = 0): Schema => {
    if (depth > 8) return s
    if (s.$ref) {
      const def = common.definitions?.[s.$ref.split('/').pop()!]
      return def ? resolve(def, depth + 1) : s
    }
    if (s.allOf) {
      // properties of every part (a later part only narrows, e.g. minItems)
      const parts = s.allOf.map((p) => resolve(p, depth + 1))
      const properties: Record<string, Schema> = {}
      for (const p of parts) for (const [k, v] of Object.entries(p.properties ?? {})) properties[k] ??= v
      const type = parts.find((p) => p.type)?.type
      return { ...(type ? { type } : {}), properties }
    }
    return s
  }
  const isNumeric = (s: Schema): boolean => /\/(optionalDigits|digits)$/.test(s.$ref ?? '')
  const numeric = new Set<string>()
  let once = new Set<string>()
  let repeatable = new Set<string>()
  const walk = (node: Schema, path: string): void => {
    const props = resolve(node).properties ?? {}
    for (const [prop, raw] of Object.entries(props)) {
      if (NOT_ELEMENTS.has(prop)) continue
      const s = resolve(raw)
      // `xList` beside `x`: the element of `x` may repeat (e.g. staffInfo + staffInfoList).
      if (prop.endsWith('List') && props[prop.slice(0, -4)] && s.type === 'array') {
        repeatable.add(`${path}/${upper(prop.slice(0, -4))}`)
        continue
      }
      const w = WRAPPERS[prop]
      if (s.type === 'array') {
        const item = w?.item ?? upper(prop)
        const base = w?.wrapper ? `${path}/${w.wrapper}` : path
        if (w?.wrapper && !w.repeats) once.add(base)
        if (s.items) {
          if (isNumeric(s.items)) numeric.add(item)
          walk(s.items, `${base}/${item}`)
        }
        continue
      }
      const name = upper(prop)
      once.add(`${path}/${name}`)
      if (isNumeric(raw)) numeric.add(name)
      // dates are {value, raw}: one element, not a structure
      if (s.properties && !('raw' in s.properties)) walk(s, `${path}/${name}`)
    }
  }
  const byKind = {} as Record<PackageKind, Set<string>>
  for (const kind of ['edoc', 'status'] as const) {
    once = new Set<string>(SKELETON)
    repeatable = new Set<string>()
    byKind[kind] = once
    const top = read(`${kind}.json`)
    for (const [prop, xmlPath] of Object.entries(ROOTS[kind])) {
      once.add(xmlPath.endsWith('/Attachment') ? xmlPath.slice(0, -'/Attachment'.length) : xmlPath)
      const s = top.properties?.[prop]
      if (!s) continue
      const r = resolve(s)
      walk(r.type === 'array' && r.items ? r.items : s, xmlPath)
    }
    for (const p of repeatable) once.delete(p)
  }
  rules = { once: byKind, numeric }
  return rules
}

/** A parser path (`.../To[2]/OrganId`, `Business`, `Status`) in the normalised form of the rules. */
export function normalisePath(path: string): string {
  return path
    .replace(/\[\d+\]/g, '')
    .replace(/Business/g, 'Bussiness')
    .replace(/\/Status(?=\/|$)/, '/MessageHeader')
}

/**
 * True when the standard allows the element at `path` (parent path + `/` + canonical local name) only once in a
 * package of `kind` (kind not known yet: once in both kinds).
 */
export function allowedOnce(path: string, kind?: PackageKind): boolean {
  const p = normalisePath(path)
  const o = load().once
  return kind ? o[kind].has(p) : o.edoc.has(p) && o.status.has(p)
}

/** Throws GW_ERR_ENVELOPE_REPEATED_ELEMENT when an element allowed once appears `count` > 1 times. */
export function checkRepeated(path: string, count: number, kind?: PackageKind): void {
  if (count > 1 && allowedOnce(path, kind)) throw gwError('GW_ERR_ENVELOPE_REPEATED_ELEMENT', { path, count })
}

/** Local names of the elements the schema types as numbers (never written empty). */
export function isNumericElement(local: string): boolean {
  return load().numeric.has(local)
}

/** The elements allowed once in a package of `kind`, for tests and documentation. */
export function onceElements(kind: PackageKind): readonly string[] {
  return [...load().once[kind]].sort()
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u0008\u000a-\u001f\u007f\u0085\u2028\u2029\u202a-\u202e\u2066-\u2069]/

const describe = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`

/**
 * Throws GW_ERR_ENVELOPE_CONTROL_CHARACTER when `value` (the text of the element or field at `path`) holds a
 * control or bidirectional-formatting character, or a line break in a single-line field. `local` is the element's
 * name (decides single-line vs long text); `multiline` overrides.
 */
export function checkText(value: string, path: string, local: string, multiline = MULTILINE.has(local)): void {
  if (value === '') return
  const m = (multiline ? CONTROL : CONTROL_OR_BREAK).exec(value)
  if (!m) return
  // a TAB is allowed everywhere but a line break only in long texts
  const c = m[0]
  const kind = c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029' ? 'a line break (single-line field)' : /[\u202a-\u202e\u2066-\u2069]/.test(c) ? 'a bidirectional override' : 'a control character'
  throw gwError('GW_ERR_ENVELOPE_CONTROL_CHARACTER', { path, char: `${describe(c)}, ${kind}` })
}
