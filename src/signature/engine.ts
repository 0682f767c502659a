/**
 * The one place that connects PKI.js to a crypto engine: Node's WebCrypto (`globalThis.crypto`).
 * Nothing happens on import; callers that need PKI.js crypto call `usePkijsEngine()` (idempotent).
 * Hot paths do not need it: they hash and sign with node:crypto directly.
 */
import { webcrypto } from 'node:crypto'
import * as pkijs from 'pkijs'

let installed: pkijs.CryptoEngine | undefined

export function usePkijsEngine(): pkijs.CryptoEngine {
  if (!installed) {
    const crypto = (globalThis as { crypto?: unknown }).crypto ?? webcrypto
    installed = new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: crypto as pkijs.ICryptoEngine['crypto'] })
    pkijs.setEngine('node-webcrypto', installed)
  }
  return installed
}
