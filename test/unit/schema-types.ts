/**
 * Does a TypeScript type say what its JSON Schema says? `schemaTypeProblems` walks a schema and the type (read
 * with the TypeScript compiler's type checker from the source, so the test sees exactly what tsc sees) side by
 * side and lists every difference: a property on one side only, required in one and optional in the other, an
 * enum that is not the same union of literals, a different primitive type, array items and nested objects
 * (also through `$ref`), and `oneOf` branches against the members of a union.
 *
 * Required-ness: a property is required when the schema lists it in `required`, or, with `defaultsFill`, when it
 * has a `default` (the loader fills it in, as config.ts does with ajv's useDefaults).
 */
import path from 'node:path'
import ts from 'typescript'
import { ROOT } from '../helper.js'

export type Schema = {
  type?: string | string[]
  enum?: unknown[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  additionalProperties?: boolean | Schema
  oneOf?: Schema[]
  anyOf?: Schema[]
  $ref?: string
  default?: unknown
  definitions?: Record<string, Schema>
}

export interface CompareOptions {
  /** Properties with a schema `default` are required in the type. */
  defaultsFill: boolean
  /** Paths (`/http/port`) only the schema has, on purpose. */
  schemaOnly?: string[]
  /** Paths only the type has, on purpose. */
  typeOnly?: string[]
}

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  resolveJsonModule: true,
  esModuleInterop: true,
}

/**
 * A checker over `files` (paths relative to the repository); `virtual` adds files that exist only in memory
 * (a drifted copy of a source, for the checker's own test).
 */
export function checkerOf(files: string[], virtual: Record<string, string> = {}): { checker: ts.TypeChecker; typeOf(file: string, name: string): ts.Type } {
  const abs = (f: string) => path.resolve(ROOT, f)
  const mem = new Map(Object.entries(virtual).map(([f, text]) => [abs(f), text]))
  const host = ts.createCompilerHost(compilerOptions)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (f) => mem.has(path.resolve(f)) || fileExists.call(host, f)
  host.readFile = (f) => mem.get(path.resolve(f)) ?? readFile.call(host, f)
  host.getSourceFile = (f, lang, ...rest) => {
    const text = mem.get(path.resolve(f))
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile.call(host, f, lang, ...rest)
  }
  const program = ts.createProgram([...files.map(abs), ...mem.keys()], compilerOptions, host)
  const checker = program.getTypeChecker()
  return {
    checker,
    typeOf(file, name) {
      const sf = program.getSourceFile(abs(file))
      if (!sf) throw new RangeError(`no source file ${file}`)
      const mod = checker.getSymbolAtLocation(sf)
      const sym = mod && checker.getExportsOfModule(mod).find((s) => s.name === name)
      if (!sym) throw new RangeError(`${file} exports no ${name}`)
      return checker.getDeclaredTypeOfSymbol(sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym)
    },
  }
}

function resolve(root: Schema, node: Schema): Schema {
  let n = node
  for (let i = 0; n.$ref && i < 20; i++) {
    const m = /^#\/definitions\/(.+)$/.exec(n.$ref)
    const target = m ? root.definitions?.[m[1]!] : undefined
    if (!target) throw new RangeError(`cannot resolve ${n.$ref}`)
    const { $ref: _ref, ...rest } = n
    n = { ...target, ...rest }
  }
  return n
}

/** Branches of a oneOf/anyOf that describe a value (not the ones that only add `required` constraints). */
const alternatives = (n: Schema): Schema[] => (n.oneOf ?? n.anyOf ?? []).filter((b) => b.type !== undefined || b.properties !== undefined || b.$ref !== undefined)

export function schemaTypeProblems(checker: ts.TypeChecker, root: Schema, type: ts.Type, opts: CompareOptions): string[] {
  const problems: string[] = []
  const show = (t: ts.Type) => checker.typeToString(t)
  const withoutUndefined = (t: ts.Type): ts.Type => (t.isUnion() && t.types.some((m) => m.flags & ts.TypeFlags.Undefined) ? checker.getNonNullableType(t) : t)

  const walk = (raw: Schema, t0: ts.Type, at: string): void => {
    const node = resolve(root, raw)
    const t = withoutUndefined(t0)
    const where = at || '/'
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return void problems.push(`${where}: the type is ${show(t)}`)

    const alts = alternatives(node)
    if (alts.length > 0) {
      const members = t.isUnion() && !(t.flags & ts.TypeFlags.Boolean) ? t.types : [t]
      if (members.length !== alts.length) problems.push(`${where}: ${alts.length} schema alternatives, ${members.length} union members in ${show(t)}`)
      alts.forEach((b, i) => {
        const base = { ...node, oneOf: undefined, anyOf: undefined }
        const branch = { ...base, ...resolve(root, b) }
        const ok = members.some((m) => {
          const before = problems.length
          walk(branch, m, at)
          const fits = problems.length === before
          problems.length = before
          return fits
        })
        if (!ok) problems.push(`${where}: schema alternative ${i + 1} matches no member of ${show(t)}`)
      })
      return
    }

    if (node.enum) {
      const lits = (t.isUnion() ? t.types : [t]).map((m) => (m.isLiteral() ? (m.value as unknown) : undefined))
      if (lits.some((v) => v === undefined)) return void problems.push(`${where}: schema enum ${JSON.stringify(node.enum)}, type ${show(t)} is not a union of literals`)
      const a = [...node.enum].map(String).sort()
      const b = lits.map(String).sort()
      if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${where}: schema enum ${JSON.stringify(node.enum)}, type ${show(t)}`)
      return
    }

    const isLiteralUnion = (t.isUnion() ? t.types : [t]).every((m) => m.isLiteral())
    switch (node.type) {
      case 'string':
        if (!(t.flags & ts.TypeFlags.String)) problems.push(`${where}: schema string, type ${show(t)}${isLiteralUnion ? ' (literals without a schema enum)' : ''}`)
        return
      case 'integer':
      case 'number':
        if (!(t.flags & ts.TypeFlags.Number)) problems.push(`${where}: schema ${node.type}, type ${show(t)}${isLiteralUnion ? ' (literals without a schema enum)' : ''}`)
        return
      case 'boolean':
        if (!(t.flags & ts.TypeFlags.Boolean)) problems.push(`${where}: schema boolean, type ${show(t)}`)
        return
      case 'array': {
        if (!checker.isArrayType(t)) return void problems.push(`${where}: schema array, type ${show(t)}`)
        const [item] = checker.getTypeArguments(t as ts.TypeReference)
        if (node.items && item) walk(node.items, item, `${at}/[]`)
        return
      }
      case 'object': {
        if (!(t.flags & ts.TypeFlags.Object) || checker.isArrayType(t)) return void problems.push(`${where}: schema object, type ${show(t)}`)
        const props = node.properties ?? {}
        const tsProps = new Map(checker.getPropertiesOfType(t).map((p) => [p.name, p]))
        for (const [name, sub] of Object.entries(props)) {
          const p = `${at}/${name}`
          if (opts.schemaOnly?.includes(p)) continue
          const sym = tsProps.get(name)
          if (!sym) {
            problems.push(`${p}: in the schema, not in the type`)
            continue
          }
          const required = (node.required ?? []).includes(name) || (opts.defaultsFill && (sub.default !== undefined || resolve(root, sub).default !== undefined))
          const optional = (sym.flags & ts.SymbolFlags.Optional) !== 0
          if (required && optional) problems.push(`${p}: required in the schema${(node.required ?? []).includes(name) ? '' : ' (it has a default)'}, optional in the type`)
          if (!required && !optional) problems.push(`${p}: optional in the schema, required in the type`)
          walk(sub, checker.getTypeOfSymbol(sym), p)
        }
        for (const name of tsProps.keys()) {
          const p = `${at}/${name}`
          if (!(name in props) && !opts.typeOnly?.includes(p)) problems.push(`${p}: in the type, not in the schema`)
        }
        if (Object.keys(props).length === 0 && typeof node.additionalProperties === 'object') {
          const index = checker.getIndexInfoOfType(t, ts.IndexKind.String)
          if (!index) problems.push(`${where}: schema map, type ${show(t)} has no string index`)
          else walk(node.additionalProperties, index.type, `${at}/*`)
        }
        return
      }
      default:
        problems.push(`${where}: schema type ${JSON.stringify(node.type)} is not compared`)
    }
  }
  walk(root, type, '')
  return problems
}
