/** Every pattern and format in schemas/ has its words, and validation errors use them, never the raw expression. */
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { FORMAT_WORDS, PATTERN_WORDS, problemInWords } from '../../src/validation-words.js'
import { auth, buildTestApp, KEYS, sampleDocument } from '../helper.js'

const root = path.resolve(import.meta.dirname, '../../schemas')
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith('.json') ? [path.join(dir, d.name)] : []))

function collect(node: unknown, key: string, out: Set<string>): void {
  if (Array.isArray(node)) for (const n of node) collect(n, key, out)
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key && typeof v === 'string') out.add(v)
      else collect(v, key, out)
    }
  }
}

t.test('every pattern and format of the schemas has words', async (t) => {
  const patterns = new Set<string>()
  const formats = new Set<string>()
  for (const f of files(root)) {
    const json = JSON.parse(readFileSync(f, 'utf8'))
    collect(json, 'pattern', patterns)
    collect(json, 'format', formats)
  }
  t.ok(patterns.size > 10, `${patterns.size} patterns found`)
  for (const p of patterns) t.ok(PATTERN_WORDS[p], `pattern ${p} has words`)
  for (const f of formats) t.ok(FORMAT_WORDS[f], `format ${f} has words`)
  t.equal(problemInWords({ keyword: 'pattern', params: { pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } }), 'must be a date as yyyy-MM-dd')
})

t.test('the API says what a value must look like, with the hint and the documentation link', async (t) => {
  const { app } = await buildTestApp(t)
  const doc: any = sampleDocument()
  doc.promulgation.date = '01/12/2026'
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: doc })
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.code, 'GW_ERR_API_VALIDATION')
  t.notMatch(body.message, /\^|\$|\[0-9\]|\\d/, `no regular expression in: ${body.message}`)
  t.match(body.message, /yyyy\/MM\/dd/)
  t.type(body.hint, 'string')
  t.equal(body.doc, '/v1/errors/GW_ERR_API_VALIDATION')
  const entry = await app.inject({ method: 'GET', url: body.doc })
  t.equal(entry.statusCode, 200, 'the documentation link answers without a key')
  t.match(entry.json(), { code: 'GW_ERR_API_VALIDATION', httpStatus: 400, retryable: false, hint: body.hint })
  const all = await app.inject({ method: 'GET', url: '/v1/errors' })
  t.ok(all.json().items.length > 50, 'the whole catalogue is listed')
  const unknown = await app.inject({ method: 'GET', url: '/v1/errors/GW_ERR_NO_SUCH' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'GW_ERR_API_NOT_FOUND')
})
