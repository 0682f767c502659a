/**
 * Personal operator accounts in a config file:
 *
 *     lienthong operator add --config FILE --id ID [--name "Full name"] [--role viewer|operator|admin] [--password-stdin] [--force]
 *     lienthong operator list --config FILE
 *     lienthong operator hash [--password-stdin]      print the stored form of a password (for config tools)
 *
 * `add` asks for the password twice on a terminal (nothing is echoed), or reads one line from stdin with
 * `--password-stdin`; it must be at least 12 characters. Only its scrypt hash (src/passwords.ts) is written, into
 * `operators` of the file (the rest of the file is kept; the file is replaced atomically). `--force` replaces an
 * account of the same id (a new password, role or name). The gateway reads accounts at start: restart it to apply.
 *
 * Exit 0: done. 1: the file cannot be read or written. 2: usage error (bad id, role, short password, id taken).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { hashPassword, MIN_PASSWORD_LENGTH } from '../passwords.js'

const USAGE = [
  'usage: lienthong operator add --config FILE --id ID [--name NAME] [--role viewer|operator|admin] [--password-stdin] [--force]',
  '       lienthong operator list --config FILE',
  '       lienthong operator hash [--password-stdin]',
].join('\n')

const ROLES = ['viewer', 'operator', 'admin']
const ID = /^[A-Za-z0-9._-]{1,64}$/

function usage(msg?: string): number {
  if (msg) console.error(`lienthong operator: ${msg}`)
  console.error(USAGE)
  return 2
}

/** One line from stdin; on a terminal, with a prompt and without echo. */
async function readSecret(prompt: string): Promise<string> {
  const tty = process.stdin.isTTY === true
  const rl = createInterface({ input: process.stdin, output: tty ? process.stderr : undefined, terminal: tty })
  if (tty) {
    process.stderr.write(prompt)
    ;(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {}
  }
  try {
    const line = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve)
      rl.once('close', () => reject(Object.assign(new Error('no password given on stdin'), { code: 'NO_INPUT' })))
    })
    if (tty) process.stderr.write('\n')
    return line.replace(/\r$/, '')
  } finally {
    rl.close()
  }
}

async function askPassword(fromStdin: boolean): Promise<string | number> {
  let password: string
  try {
    password = await readSecret('Mật khẩu (password): ')
    if (!fromStdin && process.stdin.isTTY) {
      const again = await readSecret('Nhập lại (again): ')
      if (again !== password) return usage('the two passwords differ')
    }
  } catch (e) {
    return usage((e as Error).message)
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) return usage(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`)
  return password
}

type Json = Record<string, unknown>

function readConfig(file: string): Json | number {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      console.error(`lienthong operator: ${file} is not a JSON object`)
      return 1
    }
    return doc as Json
  } catch (e) {
    console.error(`lienthong operator: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    return 1
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'add' && sub !== 'list' && sub !== 'hash') return usage(sub ? `unknown subcommand "${sub}"` : 'missing subcommand')
  let values: { config?: string; id?: string; name?: string; role?: string; 'password-stdin'?: boolean; force?: boolean }
  try {
    ;({ values } = parseArgs({
      args: rest,
      options: { config: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, 'password-stdin': { type: 'boolean' }, force: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    return usage((e as Error).message)
  }

  if (sub === 'hash') {
    const pw = await askPassword(values['password-stdin'] === true)
    if (typeof pw === 'number') return pw
    console.log(await hashPassword(pw))
    return 0
  }

  if (!values.config) return usage('--config FILE is required')
  const file = path.resolve(values.config)
  const doc = readConfig(file)
  if (typeof doc === 'number') return doc
  const operators = (Array.isArray(doc.operators) ? doc.operators : []) as Json[]

  if (sub === 'list') {
    for (const o of operators) {
      console.log([o.id, o.role ?? 'operator', o.passwordHash ? 'password' : 'key', o.name ?? ''].join('\t'))
    }
    return 0
  }

  if (!values.id || !ID.test(values.id)) return usage('--id must be 1-64 letters, digits, dots, dashes or underscores')
  const role = values.role ?? 'operator'
  if (!ROLES.includes(role)) return usage(`--role must be one of ${ROLES.join(', ')}, not "${role}"`)
  if (values.name !== undefined && (values.name.trim() === '' || values.name.length > 100)) return usage('--name must have 1-100 characters')
  const at = operators.findIndex((o) => o.id === values.id)
  if (at >= 0 && !values.force) return usage(`operator "${values.id}" already exists in ${file} (use --force to replace it)`)
  const taken = (doc.agencies as Json[] | undefined)?.some((a) => ((a.clients as Json[] | undefined) ?? []).some((c) => c.id === values.id))
  if (taken) return usage(`"${values.id}" is the id of a DMS client in ${file}; choose another`)

  const pw = await askPassword(values['password-stdin'] === true)
  if (typeof pw === 'number') return pw
  const entry: Json = { id: values.id, ...(values.name ? { name: values.name.trim() } : {}), role, passwordHash: await hashPassword(pw) }
  const next = [...operators]
  if (at >= 0) next[at] = entry
  else next.push(entry)
  const out = { ...doc, operators: next }
  const tmp = `${file}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`, { mode: statSync(file).mode & 0o777 })
    renameSync(tmp, file)
  } catch (e) {
    console.error(`lienthong operator: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    return 1
  }
  console.log(`operator ${values.id} ${at >= 0 ? 'replaced' : 'added'} (role ${role}) in ${file}; restart the gateway to apply`)
  return 0
}
