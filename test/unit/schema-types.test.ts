/** The schema ⇄ type comparison itself (./schema-types.ts) reports drift on either side. */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helper.js'
import { checkerOf, schemaTypeProblems, type Schema } from './schema-types.js'

const configSchema = () => JSON.parse(readFileSync(path.join(ROOT, 'schemas/config.json'), 'utf8')) as any
const opts = { defaultsFill: true, schemaOnly: ['/$schema'], typeOnly: ['/file'] }

t.test('drift on either side is reported, each difference once, with its path', async (t) => {
  const source = readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8')
  const swap = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new RangeError(`src/config.ts no longer has ${from}`)
    return text.replace(from, to)
  }
  let drifted = swap(source, 'readonly docs: boolean', 'readonly docs?: boolean')
  drifted = swap(drifted, "readonly queueType: 'classic' | 'quorum'", "readonly queueType: 'classic' | 'quorum' | 'stream'")
  drifted = swap(drifted, '    readonly xmlDepth: number\n', '')
  drifted = swap(drifted, 'readonly pipeline: { readonly workers: number;', 'readonly pipeline: { readonly workers: string; readonly threads: number;')
  drifted = swap(drifted, 'readonly passwordEnv?: string }', 'readonly passwordEnv?: string; readonly pin: string }')
  const { checker, typeOf } = checkerOf(['src/config.ts'], { 'src/config-drifted.ts': drifted })

  const schema = configSchema()
  t.same(schemaTypeProblems(checker, schema, typeOf('src/config.ts', 'Config'), opts), [], 'the real pair agrees')

  // the type drifts
  t.same(schemaTypeProblems(checker, schema, typeOf('src/config-drifted.ts', 'Config'), opts).sort(), [
    // SigningConfig is the type of both signing identities
    '/agencies/[]/nextSigning: schema alternative 2 matches no member of SigningConfig',
    '/agencies/[]/signing: schema alternative 2 matches no member of SigningConfig',
    '/amqp/queueType: schema enum ["classic","quorum"], type "classic" | "quorum" | "stream"',
    '/http/docs: required in the schema (it has a default), optional in the type',
    '/limits/xmlDepth: in the schema, not in the type',
    '/pipeline/threads: in the type, not in the schema',
    '/pipeline/workers: schema integer, type string',
  ])

  // the schema drifts
  schema.properties.http.properties.keepAlive = { type: 'boolean' }
  schema.properties.log.properties.level.enum.pop()
  delete schema.properties.http.properties.port.default
  schema.properties.limits.properties.xmlDepth.type = 'string'
  schema.definitions.client.required = ['id']
  schema.definitions.client.properties.webhook.properties.url = { type: 'array', items: { type: 'string' } }
  t.same(schemaTypeProblems(checker, schema, typeOf('src/config.ts', 'Config'), opts).sort(), [
    '/agencies/[]/clients/[]/keySha256: optional in the schema, required in the type',
    '/agencies/[]/clients/[]/webhook/url: schema array, type string',
    '/http/keepAlive: in the schema, not in the type',
    '/http/port: optional in the schema, required in the type',
    '/limits/xmlDepth: schema string, type number',
    '/log/level: schema enum ["fatal","error","warn","info","debug","trace"], type LogLevel',
  ])
})

t.test('a DocumentRequest schema with a new required field or a changed enum fails', async (t) => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/document-request.json'), 'utf8')) as any
  const { checker, typeOf } = checkerOf(['src/pipeline/document-request.ts'])
  const type = typeOf('src/pipeline/document-request.ts', 'DocumentRequest')
  schema.required.push('content')
  schema.properties.business.properties.type.enum = [0, 1, 2, 3, 4]
  schema.definitions.organ.required = ['organId']
  t.same(schemaTypeProblems(checker, schema as Schema, type, { defaultsFill: false }).sort(), [
    '/business/type: schema enum [0,1,2,3,4], type 0 | 1 | 2 | 3',
    '/content: required in the schema, optional in the type',
    '/recipients/[]/name: optional in the schema, required in the type',
    '/recipients/[]/organizationInCharge: optional in the schema, required in the type',
  ])
})
