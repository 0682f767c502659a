/**
 * JSON Schema validation of the model before a package leaves the builder. The schemas (schemas/edxml/) are compiled
 * once, on first use.
 */
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import { gwError } from '../errors.js'
import { schemaPath } from '../paths.js'
import type { EdocPackage, StatusPackage } from '../document/edxml.js'

let compiled: { edoc: ValidateFunction; status: ValidateFunction } | undefined

function load(): { edoc: ValidateFunction; status: ValidateFunction } {
  if (compiled) return compiled
  const read = (name: string): Record<string, unknown> => JSON.parse(readFileSync(schemaPath(`edxml/${name}`), 'utf8')) as Record<string, unknown>
  const ajv = new Ajv({ allErrors: true, strict: false })
  ajv.addSchema(read('common.json'))
  compiled = { edoc: ajv.compile(read('edoc.json')), status: ajv.compile(read('status.json')) }
  return compiled
}

/** Throw GW_ERR_ENVELOPE_SCHEMA listing every problem when `model` does not match the schema of its kind. */
export function assertSchema(kind: 'edoc', model: EdocPackage): void
export function assertSchema(kind: 'status', model: StatusPackage): void
export function assertSchema(kind: 'edoc' | 'status', model: EdocPackage | StatusPackage): void {
  const v = load()[kind]
  if (v(model)) return
  const problems = (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
  throw gwError('GW_ERR_ENVELOPE_SCHEMA', { problems: [...new Set(problems)].join('; ') })
}
