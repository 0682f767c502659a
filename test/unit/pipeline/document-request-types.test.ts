/**
 * `DocumentRequest` (src/pipeline/document-request.ts) says what schemas/api/document-request.json says: every
 * field with its required-ness as the client sends it (defaults are the gateway's), enums, nested objects and
 * arrays. This test fails as soon as the two drift (test/unit/schema-types.ts).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../helper.js'
import { checkerOf, schemaTypeProblems, type Schema } from '../schema-types.js'

t.test('DocumentRequest agrees with schemas/api/document-request.json', async (t) => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/document-request.json'), 'utf8')) as Schema
  const { checker, typeOf } = checkerOf(['src/pipeline/document-request.ts'])
  t.same(schemaTypeProblems(checker, schema, typeOf('src/pipeline/document-request.ts', 'DocumentRequest'), { defaultsFill: false }), [], 'no drift')
})
