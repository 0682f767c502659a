/**
 * A small pool of worker threads that build and sign packages (the two CPU-heavy steps of the outgoing pipeline:
 * about 1 ms each for a 10 KB document), so the API's event loop keeps parsing requests and committing to the
 * store while another core signs. Jobs go to the worker with the fewest outstanding jobs. Errors thrown in a worker
 * come back as the same GatewayError code. A worker that dies fails its outstanding jobs (GW_ERR_API_INTERNAL) and
 * is replaced.
 */
import { Worker } from 'node:worker_threads'
import type { AgencyConfig } from '../config.js'
import type { EdocInput } from '../envelope/index.js'
import { ERRORS, gwError, type ErrorCode } from '../errors.js'
import type { BindingRule } from '../signature/index.js'
import type { Job, JobResult } from './package-worker.js'
import { ownBuffers } from './transfer.js'

/** From this size an attachment moves to the signing worker instead of being copied (the API does not read it again). */
const LARGE = 1024 * 1024


export interface BuiltAndSigned {
  bytes: Uint8Array
  /** Absent for an agency whose key is in a PKCS#11 token: the outbox has the token sign. */
  signature?: Uint8Array
  sha256: string
  documentId: string
}

export interface PackagePool {
  buildAndSign(organId: string, input: EdocInput, at: Date): Promise<BuiltAndSigned>
  sign(organId: string, bytes: Uint8Array, at: Date): Promise<Uint8Array>
  readonly size: number
  close(): Promise<void>
}

type NoId<T> = T extends unknown ? Omit<T, 'id'> : never

type Pending = { resolve: (r: Extract<JobResult, { ok: true }>) => void; reject: (e: unknown) => void }

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
}

const fromSource = import.meta.url.endsWith('.ts')
const workerUrl = new URL(`./package-worker${fromSource ? '.ts' : '.js'}`, import.meta.url)

/** From the compiled package: the worker file itself. From source (tsx, tests): register tsx in the worker first. */
function newWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData })
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}) })`
  return new Worker(boot, { eval: true, workerData })
}

function toError(r: Extract<JobResult, { ok: false }>): Error {
  if (r.code && r.code in ERRORS) return gwError(r.code as ErrorCode, r.params ?? {})
  return gwError('GW_ERR_API_INTERNAL', { reason: r.message })
}

/** Start `size` workers and wait until each has loaded the agencies' signers (checked by `binding`, config.trust.binding). */
export async function createPackagePool(agencies: readonly AgencyConfig[], size: number, binding?: BindingRule): Promise<PackagePool> {
  const data = { agencies: JSON.parse(JSON.stringify(agencies)) as AgencyConfig[], ...(binding ? { binding: JSON.parse(JSON.stringify(binding)) as BindingRule } : {}) }
  const slots: Slot[] = []
  let nextId = 1
  let closing = false

  const spawn = (): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const worker = newWorker(data)
      const slot: Slot = { worker, pending: new Map() }
      let ready = false
      worker.on('message', (m: JobResult | { ready: boolean; message?: string }) => {
        if ('ready' in m) {
          if (m.ready) {
            ready = true
            resolve(slot)
          } else reject(gwError('GW_ERR_CONFIG_KEY_FILE', { path: 'signing worker', reason: m.message ?? 'cannot load keys' }))
          return
        }
        const p = slot.pending.get(m.id)
        if (!p) return
        slot.pending.delete(m.id)
        if (m.ok) p.resolve(m)
        else p.reject(toError(m))
      })
      const fail = (e: unknown) => {
        const err = gwError('GW_ERR_API_INTERNAL', { reason: `signing worker stopped: ${e instanceof Error ? e.message : String(e)}` }, e)
        for (const p of slot.pending.values()) p.reject(err)
        slot.pending.clear()
        if (!ready) return reject(err)
        const i = slots.indexOf(slot)
        if (i >= 0) slots.splice(i, 1)
        if (!closing) {
          spawn().then(
            (s) => slots.push(s),
            () => {},
          )
        }
      }
      worker.on('error', fail)
      worker.on('exit', (code) => {
        if (!closing) fail(new Error(`exit code ${code}`))
      })
    })

  const started = await Promise.allSettled(Array.from({ length: size }, () => spawn()))
  for (const s of started) if (s.status === 'fulfilled') slots.push(s.value)
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) {
    closing = true
    await Promise.all(slots.map((s) => s.worker.terminate()))
    throw failed.reason
  }

  const run = (job: NoId<Job>): Promise<Extract<JobResult, { ok: true }>> => {
    const slot = slots.reduce<Slot | undefined>((best, s) => (best === undefined || s.pending.size < best.pending.size ? s : best), undefined)
    if (!slot) return Promise.reject(gwError('GW_ERR_API_INTERNAL', { reason: 'no signing worker' }))
    const id = nextId++
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ ...job, id }, job.op === 'build-sign' ? ownBuffers((job.input.attachments ?? []).map((a) => a.data), LARGE) : [])
    })
  }

  return {
    get size() {
      return slots.length
    },
    async buildAndSign(organId, input, at) {
      const r = await run({ op: 'build-sign', organId, input, at: at.getTime() })
      return { bytes: r.bytes!, ...(r.signature ? { signature: r.signature } : {}), sha256: r.sha256!, documentId: r.documentId! }
    },
    async sign(organId, bytes, at) {
      const r = await run({ op: 'sign', organId, bytes, at: at.getTime() })
      if (!r.signature) throw gwError('GW_ERR_API_INTERNAL', { reason: `the signing worker returned no signature for ${organId}` })
      return r.signature
    },
    async close() {
      closing = true
      await Promise.all(slots.map((s) => s.worker.terminate()))
    },
  }
}
