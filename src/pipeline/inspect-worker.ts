/**
 * Worker thread of the inspector (inspect.ts): runs one job at a time (inspect-jobs.ts) off the API's event loop.
 * It builds its own verifier over config.trust (the files re-read when they change, as the main thread's), on the
 * first verify job: a gateway without trust anchors still unzips attachments here.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { Config } from '../config.js'
import { isGatewayError } from '../errors.js'
import { runInspectJob, type InspectJob } from './inspect-jobs.js'
import { ownBuffers } from './transfer.js'
import { trustVerifier, type TrustVerifier } from './trust.js'

export type WorkerJob = InspectJob & { id: number }
export type WorkerResult =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code?: string; params?: Record<string, unknown>; message: string }

const port = parentPort
if (port) {
  const { trust: trustConfig } = workerData as { trust: Config['trust'] }
  let trust: TrustVerifier | undefined
  const verifier = () => (trust ??= trustVerifier({ trust: trustConfig })).current()
  port.on('message', (job: WorkerJob) => {
    runInspectJob(job, verifier).then(
      (value) => {
        // the unzipped content moves to the main thread without a copy (only when it owns its whole buffer: small
        // Buffers share Node's pool, which must not be detached)
        // (and so do a package's bytes that came moved, and decoded JSON fields)
        const out =
          job.op === 'attachment'
            ? [(value as { content: Uint8Array }).content]
            : job.op === 'read-package'
              ? [(value as { bytes: Uint8Array }).bytes]
              : job.op === 'read-json'
                ? Object.values((value as { bytes: Record<string, Uint8Array> }).bytes)
                : []
        port.postMessage({ id: job.id, ok: true, value } satisfies WorkerResult, ownBuffers(out))
      },
      (e: unknown) => {
        const out: WorkerResult = isGatewayError(e)
          ? { id: job.id, ok: false, code: e.code, params: { ...e.params }, message: e.message }
          : { id: job.id, ok: false, message: e instanceof Error ? e.message : String(e) }
        port.postMessage(out)
      },
    )
  })
  port.postMessage({ ready: true })
}
