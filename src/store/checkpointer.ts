/**
 * WAL checkpoints off the event loop (SQLite store, synchronous FULL). SQLite's automatic checkpoint runs inside
 * the COMMIT that takes the WAL past 1,000 pages: it copies the WAL's pages into the database file and fsyncs
 * both, on the event loop (a 50 MB package: its 50 MB written twice before the loop moves on; 10 KB documents: a
 * few MB every few hundred documents). The store turns it off on its connection and has this worker thread, with a
 * connection of its own to the same file, run `PRAGMA wal_checkpoint(PASSIVE)` instead when the WAL has grown:
 * PASSIVE never waits for the writer, and in WAL mode the writer never waits for it.
 *
 * The worker starts on the first checkpoint needed. If it cannot start or fails, the store's connection gets its
 * automatic checkpoint back (the WAL never grows without bound).
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** The worker: CommonJS, better-sqlite3 by absolute path (resolved here), so it runs from any working directory. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.path, { fileMustExist: true, timeout: 5000 })
db.pragma('synchronous = FULL')
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    parentPort.close()
    return
  }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0]
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed })
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String(e && e.message || e) })
  }
})
`

export interface Checkpointer {
  /** Run a checkpoint unless one is running; resolves when it is done (false: failed, the store checkpoints itself). */
  checkpoint(): Promise<boolean>
  close(): Promise<void>
}

/** `fallback` is called once if the worker cannot run checkpoints (the store turns its own back on). */
export function createCheckpointer(path: string, fallback: (reason: string) => void): Checkpointer {
  let worker: Worker | undefined
  let running: Promise<boolean> | undefined
  let failed = false
  let closed = false
  const fail = (reason: string): false => {
    if (!failed) {
      failed = true
      fallback(reason)
    }
    return false
  }
  const start = (): Worker => {
    const w = new Worker(WORKER, { eval: true, workerData: { path, module: createRequire(import.meta.url).resolve('better-sqlite3') } })
    w.unref()
    w.on('error', (e) => fail(`checkpoint worker: ${e.message}`))
    w.on('exit', () => {
      if (!closed) fail('checkpoint worker stopped')
    })
    return w
  }
  return {
    checkpoint() {
      if (failed || closed) return Promise.resolve(false)
      running ??= new Promise<boolean>((resolve) => {
        try {
          worker ??= start()
        } catch (e) {
          return resolve(fail(`checkpoint worker: ${(e as Error).message}`))
        }
        const w = worker
        const done = (ok: boolean) => {
          w.off('message', onMessage)
          w.off('exit', onExit)
          running = undefined
          resolve(ok)
        }
        const onMessage = (m: { ok: boolean; message?: string }) => done(m.ok ? true : fail(`checkpoint: ${m.message ?? 'failed'}`))
        const onExit = () => done(false)
        w.on('message', onMessage)
        w.on('exit', onExit)
        w.postMessage('checkpoint')
      })
      return running
    },
    async close() {
      closed = true
      const w = worker
      worker = undefined
      if (!w) return
      await running
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve())
        w.ref() // the process waits for the worker's connection to close
        w.postMessage('close')
      })
    },
  }
}
