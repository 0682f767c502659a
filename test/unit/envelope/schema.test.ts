// schemas/edxml/ are plain JSON Schemas (draft-07) usable by any ajv; they describe what the gateway emits.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { assertSchema, buildEdoc, parseEnvelope } from './imports.js'
import { codeOf, edocInput, peerAndInterop } from './helpers.js'

const schema = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../schemas/edxml/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>

t.test('a fresh ajv compiles the schemas and accepts a built model', async (t) => {
  const ajv = new Ajv({ allErrors: true })
  ajv.addSchema(schema('common.json'))
  const edoc = ajv.compile(schema('edoc.json'))
  const status = ajv.compile(schema('status.json'))
  t.ok(edoc(buildEdoc(edocInput()).edoc), JSON.stringify(edoc.errors))
  for (const { name, bytes } of peerAndInterop('status-06-finish.edxml', 'sdk-status_finish_06.edxml')) {
    t.ok(status(parseEnvelope(bytes).status), `${name}: a status package shaped like the official samples fits the output schema`)
  }
})

t.test('lenient input has the shape but not always the output constraints', async (t) => {
  for (const { name, bytes } of peerAndInterop('axis-2025-zip-pdf.edxml', 'axis-2025-874e0f18.edxml')) {
    const lenient = parseEnvelope(bytes).edoc!
    let err: unknown
    try {
      assertSchema('edoc', lenient)
    } catch (e) {
      err = e
    }
    t.match(err, { code: 'GW_ERR_ENVELOPE_SCHEMA', message: /\/messageHeader\/from\/organId must match pattern/ }, `${name}: lowercase OrganId`)
  }
  for (const { name, bytes } of peerAndInterop('status-01-inbox.edxml', 'sdk-status_inbox_01.edxml')) {
    t.equal(codeOf(() => assertSchema('status', parseEnvelope(bytes).status!)), 'no error', name)
  }
})
