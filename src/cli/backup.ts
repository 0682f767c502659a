/**
 * `lienthong backup --store FILE|postgres://URL --out FILE [--force] [--json]`
 *
 * SQLite: an online copy of the store file through SQLite's backup API (SqliteStore.backup): consistent with the
 * WAL, taken while the gateway runs and writes (the copy is the store as of one read transaction). The copy is
 * written beside --out under a temporary name, then checked as `restore` checks it (it opens as a store, SQLite's
 * quick_check, the log's hash chain verifies), flushed to disk and renamed to --out, so a file named --out is
 * always a complete, verified backup. Prints its size, sha256, counts and the log's last seq and hash.
 *
 * PostgreSQL: prints the `pg_dump` / `pg_restore` commands to use (pg_dump takes a consistent snapshot while the
 * gateway runs); lienthong does not copy a database itself.
 *
 * Exit 0: backup written and verified (or the PostgreSQL commands printed). 1: the copy failed its checks (nothing
 * is left at --out). 2: usage error, the store cannot be opened, --out exists without --force.
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { isGatewayError } from '../errors.js'
import { isPgUrl, openSqliteStore, type StoreStats } from '../store/index.js'

const USAGE = 'usage: lienthong backup --store FILE|postgres://URL --out FILE [--force] [--json]'

function usage(msg?: string): number {
  if (msg) console.error(`lienthong backup: ${msg}`)
  console.error(USAGE)
  return 2
}

const why = (e: unknown): string => (isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message)

/** What `checkStoreFile` found in a file that opens as a store. */
export interface StoreFileCheck {
  ok: boolean
  /** Why not, when not ok. */
  problem?: string
  schemaVersion?: number
  stats?: StoreStats
  log?: { checked: number; lastSeq?: number; lastHash?: string }
}

/**
 * Open `file` read-only as a store and check it: a lienthong store (schema version 1 or later, not newer than
 * this code), SQLite's quick_check, and the whole hash chain of the log. Never writes to the file.
 */
export async function checkStoreFile(file: string): Promise<StoreFileCheck> {
  let store
  try {
    store = await openSqliteStore(file, { readonly: true })
  } catch (e) {
    return { ok: false, problem: `does not open as a store: ${why(e)}` }
  }
  try {
    const schemaVersion = await store.schemaVersion()
    if (schemaVersion < 1) return { ok: false, problem: 'is an SQLite file but not a lienthong store (no schema_version)', schemaVersion }
    const qc = await store.quickCheck()
    if (qc !== 'ok') return { ok: false, problem: `SQLite quick_check: ${qc}`, schemaVersion }
    const stats = await store.stats()
    const r = await store.verifyLog()
    const log = { checked: r.checked, ...(r.lastSeq !== undefined ? { lastSeq: r.lastSeq, lastHash: r.lastHash! } : {}) }
    if (!r.ok) return { ok: false, problem: `log chain broken at seq ${r.firstBroken?.seq}: ${r.firstBroken?.reason}`, schemaVersion, stats, log }
    return { ok: true, schemaVersion, stats, log }
  } catch (e) {
    return { ok: false, problem: why(e) }
  } finally {
    await store.close()
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** fsync a file (or a directory, so a rename in it is durable). */
export async function syncPath(p: string): Promise<void> {
  const fh = await open(p, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** The URL without its password (printed commands should take it from ~/.pgpass or PGPASSWORD). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = ''
    return u.toString().replace(/:@/, '@')
  } catch {
    return url
  }
}

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The PostgreSQL backup and restore commands for `url`. */
export function pgCommands(url: string, out: string): string {
  const u = sq(redactUrl(url))
  return [
    'PostgreSQL store: back it up with pg_dump (a consistent snapshot, taken while the gateway runs):',
    `  pg_dump --format=custom --no-owner --file=${sq(out)} ${u}`,
    'Restore into an empty database (stop the gateways using it first), then check the log:',
    `  pg_restore --no-owner --exit-on-error --dbname=${u} ${sq(out)}`,
    `  lienthong log verify --store ${u}`,
    'The password comes from ~/.pgpass or PGPASSWORD; add --schema=NAME to both if the gateway uses a schema of its own.',
  ].join('\n')
}

export function describe(c: StoreFileCheck): string {
  const s = c.stats
  const out = s ? Object.values(s.deliveriesByState).reduce((a, b) => a + (b ?? 0), 0) : 0
  const inc = s ? Object.values(s.incomingByState).reduce((a, b) => a + (b ?? 0), 0) : 0
  return (
    `schema version ${c.schemaVersion}, ${out} outgoing deliveries, ${inc} incoming packages, ${s?.events ?? 0} log events` +
    (c.log?.lastSeq !== undefined ? `\n  log intact: last row seq ${c.log.lastSeq}, hash ${c.log.lastHash}` : '\n  log intact (empty)')
  )
}

export async function run(argv: string[]): Promise<number> {
  let values: { store?: string; out?: string; force?: boolean; json?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { store: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    return usage((e as Error).message)
  }
  if (!values.store) return usage('--store FILE|postgres://URL is required')
  if (isPgUrl(values.store)) {
    console.log(pgCommands(values.store, values.out ?? 'lienthong.pgdump'))
    return 0
  }
  if (!values.out) return usage('--out FILE is required')
  const src = values.store
  const out = path.resolve(values.out)
  if (!existsSync(src)) return usage(`store file ${src} does not exist`)
  if (path.resolve(src) === out) return usage('--out must not be the store file itself')
  if (existsSync(out) && !values.force) return usage(`${values.out} exists; pass --force to replace it`)
  if (!existsSync(path.dirname(out))) return usage(`directory ${path.dirname(out)} does not exist`)

  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.partial-${process.pid}`)
  let store
  try {
    store = await openSqliteStore(src, { readonly: true })
  } catch (e) {
    return usage(`cannot open ${src}: ${why(e)}`)
  }
  const t0 = Date.now()
  try {
    await rm(tmp, { force: true })
    await store.backup(tmp)
  } catch (e) {
    await rm(tmp, { force: true })
    console.error(`lienthong backup: copy failed: ${why(e)}`)
    return 1
  } finally {
    await store.close()
  }
  const check = await checkStoreFile(tmp)
  if (!check.ok) {
    await rm(tmp, { force: true })
    console.error(`lienthong backup: the copy ${check.problem}; nothing was written to ${values.out}`)
    return 1
  }
  await syncPath(tmp)
  await rename(tmp, out)
  await syncPath(path.dirname(out))
  const size = statSync(out).size
  const sha256 = await sha256File(out)
  const ms = Date.now() - t0
  if (values.json) console.log(JSON.stringify({ store: src, out: values.out, size, sha256, ...check, durationMs: ms }))
  else {
    console.log(`BACKUP WRITTEN: ${values.out} (${size} bytes, sha256 ${sha256}, ${ms} ms)`)
    console.log(`  ${describe(check)}`)
    console.log(`  restore with: lienthong restore --from ${values.out} --store FILE`)
  }
  return 0
}
