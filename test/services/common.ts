/**
 * Shared by the throwaway service helpers (rabbit-node.ts, pg-cluster.ts): free ports, PATH lookup, and the
 * last-resort cleanup: each helper registers a synchronous function that kills what it started and deletes its
 * folder. They run when the process exits (normally, by an uncaught error, or by
 * SIGINT/SIGTERM/SIGHUP, e.g. tap's timeout), in case a test's own teardown never ran. Nothing can run on SIGKILL.
 */
import { accessSync, constants, readFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Server } from 'node:net'
import { delimiter, join } from 'node:path'

const cleanups = new Set<() => void>()
let installed = false

function runAll(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn)
    try {
      fn()
    } catch {
      // best effort: the next one must still run
    }
  }
}

/** Register `fn` (synchronous) to run at process exit; call the returned function once it is no longer needed. */
export function onProcessExit(fn: () => void): () => void {
  if (!installed) {
    installed = true
    process.on('exit', runAll)
    for (const [signal, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
      process.once(signal, () => {
        runAll()
        process.exit(128 + n)
      })
    }
  }
  cleanups.add(fn)
  return () => void cleanups.delete(fn)
}

/** `n` distinct TCP ports that are free on 127.0.0.1 right now (held open together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => resolve(s))
    })),
  )
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** The directory of `PATH` that holds an executable `name`, if any. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return dir
    } catch {
      // not here
    }
  }
  return undefined
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Wait for `p` at most `ms`; true when it settled in time. The timer is cleared, so it never holds the process up. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([p.then(() => true, () => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/** The last `lines` lines of a text file ('' if it cannot be read), for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

/** What a tap test offers that the helpers need. */
export interface TeardownTarget {
  teardown(fn: () => unknown): void
}
