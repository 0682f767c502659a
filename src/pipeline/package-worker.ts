/**
 * Worker thread of the package pool: builds edXML packages and signs them, off the API's event loop. It loads the
 * hosted agencies' signers itself (keys never cross threads) and answers one message per job. Agencies whose key
 * is in a PKCS#11 token are not loaded here (a token is opened once per process, on the main thread): their
 * packages are built here and come back unsigned, and the outbox has the token sign them.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { AgencyConfig } from '../config.js'
import { buildEdoc, type EdocInput } from '../envelope/index.js'
import { isGatewayError } from '../errors.js'
import { loadAgencySigner, usesToken } from './signers.js'
import { ownBuffers } from './transfer.js'
import type { BindingRule, Signer } from '../signature/index.js'

export type Job =
  | { id: number; op: 'build-sign'; organId: string; input: EdocInput; at: number }
  | { id: number; op: 'sign'; organId: string; bytes: Uint8Array; at: number }

export type JobResult =
  | { id: number; ok: true; bytes?: Uint8Array; signature?: Uint8Array; sha256?: string; documentId?: string }
  | { id: number; ok: false; code?: string; params?: Record<string, unknown>; message: string }

async function main(): Promise<void> {
  const port = parentPort
  if (!port) return
  const { agencies, binding } = workerData as { agencies: AgencyConfig[]; binding?: BindingRule }
  const signers = new Map<string, Signer>()
  const tokens = new Set(agencies.filter(usesToken).map((a) => a.organId))
  try {
    for (const a of agencies) if (!tokens.has(a.organId)) signers.set(a.organId, await loadAgencySigner(a, binding))
  } catch (e) {
    port.postMessage({ ready: false, message: e instanceof Error ? e.message : String(e) })
    return
  }
  port.postMessage({ ready: true })
  port.on('message', (job: Job) => {
    let out: JobResult
    try {
      const signer = signers.get(job.organId)
      const signSync = signer?.signSync?.bind(signer)
      if (!signSync && !(job.op === 'build-sign' && tokens.has(job.organId))) throw new TypeError(`no signer for ${job.organId} in this worker`)
      const signingTime = new Date(job.at)
      if (job.op === 'build-sign') {
        const env = buildEdoc(job.input)
        const built = { bytes: env.bytes, sha256: env.sha256(), documentId: env.edoc?.messageHeader.documentId ?? '' }
        out = signSync ? { id: job.id, ok: true, ...built, signature: signSync(env.bytes, { signingTime }) } : { id: job.id, ok: true, ...built }
      } else {
        out = { id: job.id, ok: true, signature: signSync!(job.bytes, { signingTime }) }
      }
    } catch (e) {
      out = isGatewayError(e)
        ? { id: job.id, ok: false, code: e.code, params: { ...e.params }, message: e.message }
        : { id: job.id, ok: false, message: e instanceof Error ? e.message : String(e) }
    }
    // the built package moves back (its worker copy is not needed): large bytes are held once, not twice
    port.postMessage(out, out.ok && out.bytes ? ownBuffers([out.bytes]) : [])
  })
}

void main()
