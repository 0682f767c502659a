/**
 * The inspector: where the API verifies signatures (POST /v1/verify: PDF byte ranges hashed at length, CMS,
 * certificate paths) and unzips attachments (GET /v1/inbox/:id and its attachments), off the event loop, so that
 * /healthz and every other route keep answering while a 40 MB PDF with many signatures or a ZIP is read.
 *
 * - `pipeline.inspectWorkers` worker threads (inspect-worker.ts), started on first use (a gateway that never
 *   verifies starts none); each runs one job at a time, so at most that many run at once.
 * - Up to `pipeline.inspectQueue` more jobs wait; one more is refused at once with GW_ERR_API_BUSY (503,
 *   Retry-After): a burst of big requests cannot pile up memory behind the workers.
 * - In-process instead (still one job at a time, same bound) when `inspectWorkers` is 0, or when a verifier is
 *   injected (tests, a gateway given its own `trust` or `verifier`): the worker cannot share an object, only
 *   config.trust, from which it builds its own verifier.
 * A job's GatewayError comes back with its code and parameters; a worker that dies fails its job
 * (GW_ERR_API_INTERNAL) and the next job starts a new one.
 */
import { Worker } from 'node:worker_threads'
import type { Config } from '../config.js'
import { ERRORS, gwError, type ErrorCode } from '../errors.js'
import type { Verifier } from '../signature/index.js'
import { runInspectJob, type InspectJob, type InspectResults } from './inspect-jobs.js'
import type { WorkerJob, WorkerResult } from './inspect-worker.js'
import { ownBuffers } from './transfer.js'
import { trustVerifier, type TrustVerifier } from './trust.js'

export interface Inspector {
  /**
   * Run a job. `transfer`: its byte inputs that own their whole buffer move to the worker instead of being
   * copied, and are empty (detached) afterwards: only for bytes the caller is done with.
   */
  run<J extends InspectJob>(job: J, opts?: { transfer?: boolean }): Promise<InspectResults[J['op']]>
  /** Jobs running and waiting. */
  readonly load: { running: number; waiting: number }
  close(): Promise<void>
}

export interface InspectorOptions {
  config: Pick<Config, 'trust' | 'pipeline'>
  /** Verify in-process with this verifier instead of the workers' own over config.trust. */
  verifier?: () => Verifier
}

const fromSource = import.meta.url.endsWith('.ts')
const workerUrl = new URL(`./inspect-worker${fromSource ? '.ts' : '.js'}`, import.meta.url)

function newWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData })
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}) })`
  return new Worker(boot, { eval: true, workerData })
}

interface Waiting {
  job: InspectJob
  transfer: boolean
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

interface Slot {
  worker: Worker
  ready: Promise<void>
  busy: Waiting | undefined
}

/** The job's byte inputs (an uploaded PDF, a package read from the store) move to the worker: the caller does not use them afterwards. */
const transferable = (job: InspectJob): ArrayBuffer[] => ownBuffers(Object.values(job).filter((v): v is Uint8Array => v instanceof Uint8Array))

export function createInspector(opts: InspectorOptions): Inspector {
  const size = opts.verifier ? 1 : Math.max(1, opts.config.pipeline.inspectWorkers)
  const inProcess = opts.verifier !== undefined || opts.config.pipeline.inspectWorkers === 0
  const maxWaiting = opts.config.pipeline.inspectQueue
  const waiting: Waiting[] = []
  const slots: Slot[] = []
  let running = 0
  let closed = false
  let nextId = 1
  let own: TrustVerifier | undefined
  // in-process without an injected verifier: one over config.trust, built on the first verify job
  const localVerifier = (): Verifier => (opts.verifier ? opts.verifier() : (own ??= trustVerifier({ trust: opts.config.trust })).current())

  const spawn = (): Slot => {
    const worker = newWorker({ trust: JSON.parse(JSON.stringify(opts.config.trust)) as Config['trust'] })
    let readyResolve!: () => void
    const slot: Slot = { worker, ready: new Promise((r) => (readyResolve = r)), busy: undefined }
    worker.on('message', (m: WorkerResult | { ready: true }) => {
      if ('ready' in m) return readyResolve()
      const w = slot.busy
      slot.busy = undefined
      slot.worker.unref()
      if (!w) return
      if (m.ok) w.resolve(m.value)
      else w.reject(m.code && m.code in ERRORS ? gwError(m.code as ErrorCode, m.params ?? {}) : gwError('GW_ERR_API_INTERNAL', { reason: m.message }))
      done()
    })
    const fail = (e: unknown) => {
      const i = slots.indexOf(slot)
      if (i >= 0) slots.splice(i, 1)
      readyResolve()
      const w = slot.busy
      slot.busy = undefined
      if (w) {
        w.reject(gwError('GW_ERR_API_INTERNAL', { reason: `inspect worker stopped: ${e instanceof Error ? e.message : String(e)}` }, e))
        done()
      }
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`exit code ${code}`))
    })
    // (after the listeners: adding a 'message' listener refs the worker again) an idle worker keeps no process
    // alive; a busy one does (ref'd while it has a job)
    worker.unref()
    slots.push(slot)
    return slot
  }

  const start = (w: Waiting): void => {
    running++
    if (inProcess) {
      runInspectJob(w.job, localVerifier).then(w.resolve, w.reject).finally(done)
      return
    }
    const slot = slots.find((s) => s.busy === undefined) ?? spawn()
    slot.busy = w
    slot.worker.ref()
    const id = nextId++
    void slot.ready.then(() => {
      if (slot.busy !== w) return
      slot.worker.postMessage({ ...w.job, id } as WorkerJob, w.transfer ? transferable(w.job) : [])
    })
  }

  function done(): void {
    running--
    const next = waiting.shift()
    if (next) start(next)
  }

  return {
    get load() {
      return { running, waiting: waiting.length }
    },
    run<J extends InspectJob>(job: J, runOpts: { transfer?: boolean } = {}): Promise<InspectResults[J['op']]> {
      if (closed) return Promise.reject(gwError('GW_ERR_API_INTERNAL', { reason: 'inspector closed' }))
      return new Promise((resolve, reject) => {
        const w: Waiting = { job, transfer: runOpts.transfer === true, resolve: resolve as (v: unknown) => void, reject }
        if (running < size) start(w)
        else if (waiting.length < maxWaiting) waiting.push(w)
        else reject(gwError('GW_ERR_API_BUSY', { what: 'signature verifications and attachment readings', retryAfter: 5, retryAfterSeconds: 5 }))
      })
    },
    async close() {
      closed = true
      for (const w of waiting.splice(0)) w.reject(gwError('GW_ERR_API_INTERNAL', { reason: 'inspector closed' }))
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()))
    },
  }
}
