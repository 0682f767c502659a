/**
 * `lienthong restore --from BACKUP --store FILE [--force] [--json]`
 *
 * Puts a backup made by `lienthong backup` (or any copy of a store file) in place of the SQLite store FILE. Before
 * anything is replaced the backup is checked read-only: it opens as a lienthong store whose schema this version
 * knows, SQLite's quick_check passes, and the log's hash chain verifies from the first row to the last. A backup
 * that fails any check changes nothing (exit 1).
 *
 * FILE that exists is replaced only with --force, and only when no process has it open (the gateway must be
 * stopped: the check takes SQLite's exclusive lock). The replaced store is kept beside it as
 * `FILE.replaced-<time>` (its WAL checkpointed into it first), never deleted. The backup is copied under a
 * temporary name, flushed to disk and renamed to FILE, so FILE is always either the old store or the whole backup;
 * the restored file is checked again and is byte-identical to the backup. A backup of an older schema is upgraded
 * by the next `lienthong serve` (its migrations are logged at startup).
 *
 * PostgreSQL (--store postgres://…): prints the `pg_restore` commands; lienthong does not restore a database itself.
 *
 * Exit 0: restored. 1: the backup failed its checks, or the restored copy did not match. 2: usage error, FILE
 * exists without --force, or FILE is in use.
 */
import { copyFile, rename, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { isPgUrl, quiesceSqliteFile } from '../store/index.js'
import { checkStoreFile, describe, pgCommands, sha256File, syncPath } from './backup.js'

const USAGE = 'usage: lienthong restore --from BACKUP --store FILE [--force] [--json]'

function usage(msg?: string): number {
  if (msg) console.error(`lienthong restore: ${msg}`)
  console.error(USAGE)
  return 2
}

export async function run(argv: string[]): Promise<number> {
  let values: { from?: string; store?: string; force?: boolean; json?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, store: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    return usage((e as Error).message)
  }
  if (!values.store) return usage('--store FILE is required')
  if (isPgUrl(values.store)) {
    console.log(pgCommands(values.store, values.from ?? 'lienthong.pgdump'))
    return 0
  }
  if (!values.from) return usage('--from BACKUP is required')
  if (!existsSync(values.from)) return usage(`backup ${values.from} does not exist`)
  const from = path.resolve(values.from)
  const target = path.resolve(values.store)
  if (from === target) return usage('--from and --store are the same file')
  if (!existsSync(path.dirname(target))) return usage(`directory ${path.dirname(target)} does not exist`)

  // 1. the backup, read-only: a store, undamaged, its log chain intact
  const check = await checkStoreFile(from)
  if (!check.ok) {
    console.error(`lienthong restore: backup ${values.from} ${check.problem}; nothing was changed`)
    return 1
  }
  // 2. the store it replaces: only with --force, only when nobody has it open, kept aside
  let keptAs: string | undefined
  if (existsSync(target)) {
    if (!values.force) return usage(`${values.store} exists; pass --force to replace it (it is kept as ${path.basename(target)}.replaced-<time>)`)
    const busy = quiesceSqliteFile(target)
    if (busy) return usage(busy)
    keptAs = `${target}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await rename(target, keptAs)
    for (const ext of ['-wal', '-shm']) if (existsSync(target + ext)) await rename(target + ext, keptAs + ext)
  }
  for (const ext of ['-wal', '-shm', '-journal']) await rm(target + ext, { force: true })
  // 3. copy under a temporary name, flush, rename: FILE is the old store or the whole backup, never half of it
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.restoring-${process.pid}`)
  await copyFile(from, tmp)
  await syncPath(tmp)
  await rename(tmp, target)
  await syncPath(path.dirname(target))
  // 4. the restored file, checked again
  const [a, b] = await Promise.all([sha256File(from), sha256File(target)])
  const after = await checkStoreFile(target)
  if (a !== b || !after.ok) {
    console.error(`lienthong restore: the restored ${values.store} ${a !== b ? 'differs from the backup' : after.problem}${keptAs ? `; the previous store is ${keptAs}` : ''}`)
    return 1
  }
  if (values.json) console.log(JSON.stringify({ from: values.from, store: values.store, sha256: b, ...(keptAs ? { replacedKeptAs: keptAs } : {}), ...after }))
  else {
    console.log(`RESTORED: ${values.store} from ${values.from} (sha256 ${b}, identical to the backup)`)
    console.log(`  ${describe(after)}`)
    if (keptAs) console.log(`  the store it replaced is kept as ${keptAs}`)
  }
  return 0
}
