// Nesting deeper than the limit (default 64) is refused before any tree is handed on.
import t from 'tap'
import { DEFAULT_MAX_DEPTH, parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const pkg = edocText()
// OtherInfo is at depth 5 (edXML/edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo); nested extensions go below it
const nest = (levels: number): Buffer =>
  Buffer.from(pkg.replace('<edXML:OtherInfo>', `<edXML:OtherInfo>${'<x>'.repeat(levels)}${'</x>'.repeat(levels)}`))

t.test('the default limit is 64', async (t) => {
  t.equal(DEFAULT_MAX_DEPTH, 64)
  t.equal(codeOf(() => parseEnvelope(nest(64 - 5))), 'no error', 'exactly 64 levels pass')
  t.equal(codeOf(() => parseEnvelope(nest(64 - 5 + 1))), 'GW_ERR_ENVELOPE_TOO_DEEP', '65 levels do not')
})

t.test('a very deep document fails fast without recursion trouble', async (t) => {
  const t0 = performance.now()
  t.equal(codeOf(() => parseEnvelope(nest(100_000))), 'GW_ERR_ENVELOPE_TOO_DEEP')
  t.ok(performance.now() - t0 < 2000, 'bounded time')
})

t.test('the limit is configurable', async (t) => {
  // the deepest element of a built package is TraceHeaderList/Bussiness/StaffInfo/Department, at level 7
  t.equal(codeOf(() => parseEnvelope(nest(2), { maxDepth: 7 })), 'no error', 'OtherInfo/x/x is level 7')
  t.equal(codeOf(() => parseEnvelope(nest(3), { maxDepth: 7 })), 'GW_ERR_ENVELOPE_TOO_DEEP')
  let err: unknown
  try {
    parseEnvelope(nest(3), { maxDepth: 7 })
  } catch (e) {
    err = e
  }
  t.match(err, { params: { limit: 7 } })
})

t.test('self-closing elements count as a level', async (t) => {
  const b = Buffer.from(pkg.replace('<edXML:OtherInfo>', `<edXML:OtherInfo>${'<x>'.repeat(58)}<y/>${'</x>'.repeat(58)}`))
  t.equal(codeOf(() => parseEnvelope(b)), 'no error', '<y/> at level 64')
  const c = Buffer.from(pkg.replace('<edXML:OtherInfo>', `<edXML:OtherInfo>${'<x>'.repeat(59)}<y/>${'</x>'.repeat(59)}`))
  t.equal(codeOf(() => parseEnvelope(c)), 'GW_ERR_ENVELOPE_TOO_DEEP', '<y/> at level 65')
})

t.test('unknown nested elements within the limit are kept as extensions', async (t) => {
  const env = parseEnvelope(nest(3))
  const ext = env.edoc!.messageHeader.otherInfo.extensions!
  t.equal(ext.length, 1)
  t.equal(ext[0]!.children[0]!.children[0]!.local, 'x')
})
