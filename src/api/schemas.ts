/**
 * The API's JSON Schemas live in schemas/api/*.json (language-neutral, the same files DMS integrators validate
 * against). They are loaded at run time and added to Fastify by their `$id`; routes refer to them as `{ $ref: 'Id#' }`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { schemaPath } from '../paths.js'

let cached: { $id: string; [k: string]: unknown }[] | undefined

export function apiSchemas(): { $id: string; [k: string]: unknown }[] {
  if (!cached) {
    const dir = schemaPath('api')
    cached = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { $id: string })
  }
  return cached
}

export function addApiSchemas(app: FastifyInstance): void {
  for (const s of apiSchemas()) {
    const { $schema: _ignored, ...rest } = s as { $schema?: string; $id: string }
    app.addSchema(rest)
  }
}

export const ref = (id: string) => ({ $ref: `${id}#` })

/** A response `{ items: [...] }` whose items are objects with these required and listed properties. */
export const itemsOf = (required: string[], properties: Record<string, unknown>) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: { type: 'object', required, properties } } },
})
