/**
 * A PostgreSQL cluster of the test's own, from the machine's installed binaries (`initdb`, `pg_ctl`): a temporary
 * folder, a free port on 127.0.0.1, its Unix socket in that folder, trust authentication for the `postgres`
 * superuser. Tests that make the database unavailable stop and start this one, never the machine's server.
 *
 * initdb refuses to run as root: as root the folder is given to the `postgres` user and every command runs as it
 * (`runuser -u postgres --`); as anyone else, as that user.
 *
 * `startPgCluster(t)` resolves once the server accepts connections and removes it in `t`'s teardown (stop, delete
 * the folder); if that never runs, the process's exit does it (common.ts).
 */
import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePorts, onPath, onProcessExit, tail, type TeardownTarget } from './common.js'

const run = promisify(execFile)

export interface PgCluster {
  /** Port on 127.0.0.1. */
  readonly port: number
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  /** The cluster's temporary folder (`data/`, `postgres.log`, the socket). */
  readonly dir: string
  /** `pg_ctl stop`: `fast` (sessions are terminated, clean shutdown) or `immediate` (like a crash: WAL replay on start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** `pg_ctl start`, waiting until the server accepts connections. */
  start(): Promise<void>
  /** Stop the server and delete its folder (idempotent). */
  remove(): Promise<void>
}

/**
 * Where initdb and pg_ctl are: LIENTHONG_TEST_PG_BIN, the newest /usr/lib/postgresql/<version>/bin (Debian), or
 * the PATH.
 */
export function pgBinDir(): string | undefined {
  const debian = (() => {
    try {
      return readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    } catch {
      return []
    }
  })()
  const candidates = [process.env.LIENTHONG_TEST_PG_BIN, ...debian, onPath('initdb')]
  return candidates.find((d): d is string => d !== undefined && existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl')))
}

const isRoot = () => process.getuid?.() === 0

/** Why a test cluster cannot be made here (a skip reason), or undefined when it can. */
export function pgClusterUnavailable(): string | undefined {
  if (pgBinDir() === undefined) return 'PostgreSQL server binaries (initdb, pg_ctl) are not installed (or set LIENTHONG_TEST_PG_BIN)'
  if (isRoot() && postgresUser() === undefined) return 'running as root and there is no postgres user to run initdb as'
  return undefined
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8' }).trim()))
    return uid === undefined || gid === undefined ? undefined : { uid, gid }
  } catch {
    return undefined
  }
}

/** Make, start and return a throwaway cluster; removed in `t`'s teardown (and at process exit). */
export async function startPgCluster(t?: TeardownTarget): Promise<PgCluster> {
  const bin = pgBinDir()
  const why = pgClusterUnavailable()
  if (bin === undefined || why !== undefined) throw new Error(why)
  const dir = mkdtempSync(path.join(tmpdir(), 'lt-pg-'))
  const data = path.join(dir, 'data')
  const log = path.join(dir, 'postgres.log')
  const [port] = (await freePorts(1)) as [number]
  // as root: the folder belongs to postgres and every command runs as it
  const owner = isRoot() ? postgresUser() : undefined
  if (owner) chownSync(dir, owner.uid, owner.gid)
  const command = (tool: string, args: string[]): [string, string[]] =>
    owner ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] : [path.join(bin, tool), args]
  const pg = async (tool: string, ...args: string[]): Promise<void> => {
    const [file, argv] = command(tool, args)
    await run(file, argv, { cwd: dir, timeout: 120_000 })
  }

  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  const unregister = onProcessExit(() => {
    const [file, argv] = command('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '10'])
    try {
      if (existsSync(path.join(data, 'postmaster.pid'))) execFileSync(file, argv, { cwd: dir, stdio: 'ignore', timeout: 15_000 })
    } catch {
      // not running
    }
    removeDir()
  })
  const start = () => pg('pg_ctl', 'start', '-D', data, '-l', log, '-w', '-t', '60')
  const stop = (mode: 'fast' | 'immediate' = 'fast') => pg('pg_ctl', 'stop', '-D', data, '-m', mode, '-w', '-t', '60')

  let removed: Promise<void> | undefined
  const remove = (): Promise<void> =>
    (removed ??= (async () => {
      if (existsSync(path.join(data, 'postmaster.pid'))) await stop('fast').catch(() => stop('immediate').catch(() => {}))
      removeDir()
      unregister()
    })())

  try {
    // --no-sync: a throwaway cluster need not survive a power cut during initdb; the server itself keeps fsync on
    await pg('initdb', '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync')
    appendFileSync(
      path.join(data, 'postgresql.conf'),
      [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir.replace(/'/g, "''")}'`, 'shared_buffers = 16MB', ''].join('\n'),
    )
    await start()
  } catch (e) {
    const logTail = tail(log)
    await remove()
    throw new Error(`PostgreSQL test cluster in ${dir} did not start: ${(e as Error).message}\n${logTail}`, { cause: e })
  }
  t?.teardown(remove)
  return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop, start, remove }
}
