/**
 * `Config` (src/config.ts) says what schemas/config.json says: every setting, required or filled by its default,
 * every enum, nested sections, the agencies with their signing alternatives and clients. Written by hand for
 * readable types; this test fails as soon as the two drift (test/unit/schema-types.ts).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../helper.js'
import { checkerOf, schemaTypeProblems, type Schema } from '../schema-types.js'

t.test('Config agrees with schemas/config.json', async (t) => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/config.json'), 'utf8')) as Schema
  const { checker, typeOf } = checkerOf(['src/config.ts'])
  const problems = schemaTypeProblems(checker, schema, typeOf('src/config.ts', 'Config'), {
    defaultsFill: true,
    // `$schema` lets editors find the schema and is ignored; `file` is where the loader read the configuration from
    schemaOnly: ['/$schema'],
    typeOnly: ['/file'],
  })
  t.same(problems, [], 'no drift')
})
