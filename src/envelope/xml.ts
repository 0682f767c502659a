/**
 * Low-level XML handling for edXML packages: the safety pre-scan that runs before any parser sees the bytes, the
 * removal of base64 payloads from the text handed to the parser, the namespace-resolved generic tree built from
 * fast-xml-parser's output, and escaping for the builder.
 */
import { XMLParser } from 'fast-xml-parser'
import { gwError } from '../errors.js'
import { EDXML_NS, type XmlElement } from '../document/edxml.js'

/** A ContentTransferEncoded payload located in the package bytes (content only, tags excluded). */
export interface PayloadRange {
  /** Byte offset of the first content byte (leading whitespace skipped). */
  start: number
  /** Byte offset after the last content byte (trailing whitespace skipped). */
  end: number
}

/** Text placed in the skeleton instead of payload number `i`; `#` is not in the base64 alphabet. */
export const payloadMarker = (i: number): string => `#lienthong-payload-${i}#`
const MARKER_RE = /^#lienthong-payload-(\d+)#$/
export function markerIndex(text: string): number | undefined {
  const m = MARKER_RE.exec(text)
  return m ? Number(m[1]) : undefined
}

const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const COLON = 0x3a
const isWs = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const isNameByte = (b: number | undefined): boolean =>
  b !== undefined &&
  ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d || b === 0x2e || b >= 0x80)

const CTE = 'ContentTransferEncoded'

/**
 * Find every `<[prefix:]ContentTransferEncoded ...>base64</[prefix:]ContentTransferEncoded>` whose content holds no
 * markup, using native byte search only, so that megabytes of base64 never reach the XML parser. Elements with
 * markup inside (comments, CDATA) are left in place for the parser.
 */
export function locatePayloads(buf: Buffer, from: number): PayloadRange[] {
  const out: PayloadRange[] = []
  let pos = from
  for (;;) {
    const idx = buf.indexOf(CTE, pos, 'latin1')
    if (idx < 0) return out
    pos = idx + CTE.length
    // qualified name: walk back over an optional prefix to the '<'
    let lt = idx - 1
    if (buf[lt] === COLON) {
      lt--
      while (lt > from && isNameByte(buf[lt])) lt--
    }
    if (buf[lt] !== LT) continue // not a start tag (a close tag, text, or an attribute)
    const after = buf[pos]
    if (!(after === GT || after === SLASH || isWs(after))) continue // a longer name
    // end of the start tag, honouring quoted attribute values
    let j = pos
    let quote = 0
    for (; j < buf.length; j++) {
      const b = buf[j]!
      if (quote) {
        if (b === quote) quote = 0
      } else if (b === 0x22 || b === 0x27) quote = b
      else if (b === GT) break
    }
    if (j >= buf.length || buf[j - 1] === SLASH) continue // unterminated (the scan reports it) or empty element
    const contentStart = j + 1
    const close = buf.indexOf(LT, contentStart)
    if (close < 0) return out
    const qname = buf.toString('latin1', lt + 1, idx + CTE.length)
    const closeTag = '</' + qname
    if (buf.toString('latin1', close, close + closeTag.length) !== closeTag) continue
    let k = close + closeTag.length
    while (isWs(buf[k])) k++
    if (buf[k] !== GT) continue
    let s = contentStart
    let e = close
    while (s < e && isWs(buf[s])) s++
    while (e > s && isWs(buf[e - 1])) e--
    out.push({ start: s, end: e })
    pos = k + 1
  }
}

const ALLOWED_REF = /^(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+)$/
const REF_RE = /&([^;&<\s]{0,64})(;?)/g

/** Throw GW_ERR_ENVELOPE_ENTITY for any reference other than the 5 predefined entities and character references. */
function checkRefs(text: string): void {
  if (!text.includes('&')) return
  REF_RE.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = REF_RE.exec(text))) {
    const name = m[1]!
    if (m[2] !== ';' || !ALLOWED_REF.test(name)) throw gwError('GW_ERR_ENVELOPE_ENTITY', { entity: `&${name}${m[2]}` })
    if (name.startsWith('#')) {
      const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      if (!isXmlChar(cp)) throw gwError('GW_ERR_ENVELOPE_ENTITY', { entity: `&${name};` })
    }
  }
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  )
}

const notXml = (reason: string): never => {
  throw gwError('GW_ERR_ENVELOPE_NOT_XML', { reason })
}

/**
 * The package text → namespace-resolved tree, in one pass that is also the safety check. Nothing is expanded and no
 * other parser has seen the text before: markup declarations (`<!DOCTYPE`, `<!ENTITY`, ...) →
 * GW_ERR_ENVELOPE_DOCTYPE; references other than the 5 predefined entities and character references →
 * GW_ERR_ENVELOPE_ENTITY; nesting deeper than `maxDepth` → GW_ERR_ENVELOPE_TOO_DEEP; unbalanced tags, text outside
 * the root, several roots, undeclared prefixes, duplicate attributes → GW_ERR_ENVELOPE_NOT_XML.
 *
 * Why not fast-xml-parser here: on this machine it spends ~75 µs per KB of markup (preserveOrder or not), which
 * alone is 3-4x the 5 KB target; this reader needs ~10 µs per KB. `parseTree` below (fast-xml-parser) is kept
 * as the reference implementation; tests check both give the same model on every interop package.
 */
export function readXml(s: string, maxDepth: number, onUndeclaredEdxml?: (name: string) => void): XmlElement {
  interface Frame {
    el: XmlElement
    scope: Map<string, string>
    text: string
  }
  const stack: Frame[] = []
  let root: XmlElement | undefined
  let i = 0
  const n = s.length
  for (;;) {
    const lt = s.indexOf('<', i)
    const text = lt < 0 ? s.slice(i) : s.slice(i, lt)
    if (text.length) {
      const top = stack[stack.length - 1]
      if (!top) {
        if (text.trim() !== '') notXml('text outside the root element')
      } else {
        if (text.includes(']]>')) notXml('"]]>" in text')
        checkRefs(text)
        top.text += text
      }
    }
    if (lt < 0) break
    const c = s.charCodeAt(lt + 1)
    if (c === 0x3f /* ? */) {
      const end = s.indexOf('?>', lt + 2)
      if (end < 0) notXml('unterminated processing instruction')
      if (lt > 0 && /^<\?xml[\s?]/i.test(s.slice(lt, lt + 6))) notXml('XML declaration not at the start')
      i = end + 2
      continue
    }
    if (c === 0x21 /* ! */) {
      if (s.startsWith('<!--', lt)) {
        const end = s.indexOf('-->', lt + 4)
        if (end < 0) notXml('unterminated comment')
        i = end + 3
        continue
      }
      if (s.startsWith('<![CDATA[', lt)) {
        const top = stack[stack.length - 1]
        if (!top) notXml('CDATA outside the root element')
        const end = s.indexOf(']]>', lt + 9)
        if (end < 0) notXml('unterminated CDATA section')
        top!.text += s.slice(lt + 9, end).replace(/&/g, '&amp;').replace(/</g, '&lt;')
        i = end + 3
        continue
      }
      // <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST ... : refused before anything can be expanded
      throw gwError('GW_ERR_ENVELOPE_DOCTYPE', { declaration: s.slice(lt, lt + 12) })
    }
    if (c === 0x2f /* / */) {
      const end = s.indexOf('>', lt + 2)
      if (end < 0) notXml('unterminated end tag')
      const name = s.slice(lt + 2, end).trimEnd()
      const open = stack.pop()
      if (!open || open.el.name !== name) {
        notXml(open === undefined ? `unexpected end tag </${name}>` : `end tag </${name}> does not match <${open.el.name}>`)
      }
      open!.el.text = decodeEntities(normaliseNewlines(open!.text)).trim()
      i = end + 1
      continue
    }
    // start tag
    let j = lt + 1
    while (j < n) {
      const b = s.charCodeAt(j)
      if (b === 0x3e || b === 0x2f || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) break
      j++
    }
    const name = s.slice(lt + 1, j)
    if (name === '' || /[<&"'=]/.test(name)) notXml('invalid tag name')
    const parent = stack[stack.length - 1]
    if (!parent && root) notXml('more than one root element')
    if (stack.length + 1 > maxDepth) throw gwError('GW_ERR_ENVELOPE_TOO_DEEP', { limit: maxDepth })
    const inherited = parent ? parent.scope : XML_SCOPE
    let scope = inherited
    const attributes: Record<string, string> = {}
    const seen = new Set<string>()
    let selfClosing = false
    // attributes
    for (;;) {
      while (j < n && isWsCode(s.charCodeAt(j))) j++
      if (j >= n) notXml(`unterminated start tag <${name}>`)
      const b = s.charCodeAt(j)
      if (b === 0x3e) break
      if (b === 0x2f) {
        if (s.charCodeAt(j + 1) !== 0x3e) notXml(`unexpected "/" in <${name}>`)
        selfClosing = true
        j++
        break
      }
      const eq = s.indexOf('=', j)
      if (eq < 0) notXml(`attribute without value in <${name}>`)
      const an = s.slice(j, eq).trim()
      if (an === '' || /[\s<>"'/]/.test(an)) notXml(`invalid attribute in <${name}>`)
      j = eq + 1
      while (j < n && isWsCode(s.charCodeAt(j))) j++
      const q = s[j]
      if (q !== '"' && q !== "'") notXml(`unquoted attribute ${an} in <${name}>`)
      const close = s.indexOf(q!, j + 1)
      if (close < 0) notXml(`unterminated attribute ${an} in <${name}>`)
      const raw = s.slice(j + 1, close)
      if (raw.includes('<')) notXml(`"<" in attribute ${an} of <${name}>`)
      checkRefs(raw)
      const value = decodeEntities(raw)
      if (seen.has(an)) notXml(`duplicate attribute ${an} in <${name}>`)
      seen.add(an)
      if (an === 'xmlns' || an.startsWith('xmlns:')) {
        if (scope === inherited) scope = new Map(scope)
        scope.set(an === 'xmlns' ? '' : an.slice(6), value)
      } else attributes[an] = value
      j = close + 1
      const nb = s.charCodeAt(j)
      if (!(isWsCode(nb) || nb === 0x3e || nb === 0x2f)) notXml(`missing space after attribute ${an} in <${name}>`)
    }
    const colon = name.indexOf(':')
    const prefix = colon < 0 ? '' : name.slice(0, colon)
    const ns = scope.get(prefix) ?? undeclared(prefix, name, onUndeclaredEdxml)
    const el: XmlElement = { name, ns, local: colon < 0 ? name : name.slice(colon + 1), attributes, children: [], text: '' }
    if (parent) parent.el.children.push(el)
    else root = el
    if (!selfClosing) stack.push({ el, scope, text: '' })
    i = j + 1
  }
  if (stack.length) notXml(`element <${stack[stack.length - 1]!.el.name}> is not closed`)
  if (!root) notXml('no root element')
  return root!
}

/**
 * An element prefix with no xmlns declaration in scope: `edXML:` is resolved to the QCVN namespace (SDK-made packages
 * put `edXML:AttachmentEncoded` outside the element that declares the prefix) and reported; any other is an error.
 */
function undeclared(prefix: string, name: string, report?: (name: string) => void): string {
  if (prefix === '') return ''
  if (prefix !== 'edXML' || !report) return notXml(`undeclared namespace prefix "${prefix}" on <${name}>`)
  report(name)
  return EDXML_NS
}

const XML_SCOPE = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']])
const isWsCode = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09

/** XML 1.0 §2.11: CRLF and lone CR in character data read as LF (before references are decoded, so &#13; survives). */
const normaliseNewlines = (s: string): string => (s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s)

const ENTITY_RE = /&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Decode the 5 predefined entities and numeric character references (the only ones the scan lets through). */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(ENTITY_RE, (_, name: string) => {
    if (name[0] !== '#') return PREDEFINED[name]!
    return String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10))
  })
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
})

type FxpNode = Record<string, unknown> & { ':@'?: Record<string, string> }

/** Parse pre-scanned, payload-free XML text into a namespace-resolved tree; returns the root element. */
export function parseTree(s: string, onUndeclaredEdxml?: (name: string) => void): XmlElement {
  let out: FxpNode[]
  try {
    out = parser.parse(s) as FxpNode[]
  } catch (e) {
    return notXml((e as Error).message)
  }
  const scope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']])
  for (const node of out) {
    const el = convert(node, scope, onUndeclaredEdxml)
    if (el) return el
  }
  return notXml('no root element')
}

function convert(node: FxpNode, parentScope: Map<string, string>, onUndeclaredEdxml?: (name: string) => void): XmlElement | undefined {
  let name: string | undefined
  for (const k of Object.keys(node)) {
    if (k !== ':@' && k !== '#text' && k !== '#cdata') {
      name = k
      break
    }
  }
  if (name === undefined) return undefined
  const rawAttrs = node[':@']
  let scope = parentScope
  const attributes: Record<string, string> = {}
  if (rawAttrs) {
    for (const [k, v] of Object.entries(rawAttrs)) {
      const value = decodeEntities(String(v))
      if (k === 'xmlns' || k.startsWith('xmlns:')) {
        if (scope === parentScope) scope = new Map(parentScope)
        scope.set(k === 'xmlns' ? '' : k.slice(6), value)
      } else attributes[k] = value
    }
  }
  const colon = name.indexOf(':')
  const prefix = colon < 0 ? '' : name.slice(0, colon)
  const local = colon < 0 ? name : name.slice(colon + 1)
  const ns = scope.get(prefix) ?? undeclared(prefix, name, onUndeclaredEdxml)
  const children: XmlElement[] = []
  let text = ''
  const kids = node[name] as FxpNode[]
  for (const k of kids) {
    if ('#text' in k) text += decodeEntities(normaliseNewlines(String(k['#text'])))
    else if ('#cdata' in k) {
      for (const t of k['#cdata'] as FxpNode[]) text += normaliseNewlines(String(t['#text'] ?? ''))
    } else {
      const c = convert(k, scope, onUndeclaredEdxml)
      if (c) children.push(c)
    }
  }
  return { name, ns, local, attributes, children, text: text.trim() }
}

/** Escape character data for element content (also `>` and `"`, so a `]]>` never appears). */
export function escapeText(s: string): string {
  if (!/[&<>"]/.test(s)) return s
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
