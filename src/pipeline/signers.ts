/**
 * The signers of the hosted agencies, loaded once at start from what the configuration names: PEM key +
 * certificate + chain, PKCS#12, or a key in a PKCS#11 token. A key file that does not load, or a certificate whose
 * OrganId (subject UID) names another agency, stops the start with GW_ERR_CONFIG_KEY_FILE: signing with the wrong
 * identity would make every recipient reject our packages. A token keeps its own codes
 * (GW_ERR_SIGNATURE_TOKEN_MODULE, _NOT_FOUND, _PIN): a wrong PIN or a missing token is not a file problem.
 */
import { readFile } from 'node:fs/promises'
import type { AgencyConfig, Config, Pkcs11Config } from '../config.js'
import { gwError, isGatewayError } from '../errors.js'
import { loadPkcs11Signer, loadSigner, type Signer } from '../signature/index.js'

const TOKEN_CODES = new Set(['GW_ERR_SIGNATURE_TOKEN_MODULE', 'GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', 'GW_ERR_SIGNATURE_TOKEN_PIN'])

/** True when the agency's key is in a PKCS#11 token (signed on the main thread, never in a worker). */
export const usesToken = (agency: AgencyConfig): boolean => 'pkcs11' in agency.signing

async function tokenSigner(agency: AgencyConfig, p: Pkcs11Config): Promise<Signer> {
  let pin = p.pin
  if (pin === undefined && p.pinFile !== undefined) pin = (await readFile(p.pinFile, 'utf8')).replace(/\r?\n$/, '')
  if (pin === undefined) throw gwError('GW_ERR_SIGNATURE_TOKEN_PIN', { token: `agency ${agency.organId}`, reason: 'no PIN (pinFile, pinEnv)' })
  const [certPem, chainPem] = await Promise.all([
    p.certPath ? readFile(p.certPath, 'utf8') : Promise.resolve(undefined),
    p.chainPath ? readFile(p.chainPath, 'utf8') : Promise.resolve(undefined),
  ])
  return loadPkcs11Signer({
    module: p.module,
    pin,
    name: `agency ${agency.organId}`,
    ...(p.tokenLabel !== undefined ? { tokenLabel: p.tokenLabel } : {}),
    ...(p.slot !== undefined ? { slot: p.slot } : {}),
    ...(p.keyLabel !== undefined ? { keyLabel: p.keyLabel } : {}),
    ...(p.keyId !== undefined ? { keyId: p.keyId } : {}),
    ...(p.maxSessions !== undefined ? { maxSessions: p.maxSessions } : {}),
    ...(p.unavailableWaitMs !== undefined ? { unavailableWaitMs: p.unavailableWaitMs } : {}),
    ...(certPem !== undefined ? { certPem } : {}),
    ...(chainPem !== undefined ? { chainPem } : {}),
  })
}

export async function loadAgencySigner(agency: AgencyConfig): Promise<Signer> {
  const s = agency.signing
  const file = 'pkcs11' in s ? s.pkcs11.module : 'p12Path' in s ? s.p12Path : s.keyPath
  let signer: Signer
  try {
    if ('pkcs11' in s) signer = await tokenSigner(agency, s.pkcs11)
    else if ('p12Path' in s) {
      signer = await loadSigner({ p12: await readFile(s.p12Path), ...(s.password !== undefined ? { password: s.password } : {}) })
    } else {
      const [keyPem, certPem, chainPem] = await Promise.all([
        readFile(s.keyPath, 'utf8'),
        readFile(s.certPath, 'utf8'),
        s.chainPath ? readFile(s.chainPath, 'utf8') : Promise.resolve(undefined),
      ])
      signer = await loadSigner({ keyPem, certPem, ...(chainPem !== undefined ? { chainPem } : {}) })
    }
  } catch (e) {
    if (isGatewayError(e) && TOKEN_CODES.has(e.code)) throw e
    const reason = isGatewayError(e) ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)
    throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: file, reason: `agency ${agency.organId}: ${reason}` }, e)
  }
  if (signer.organId !== undefined && signer.organId.toUpperCase() !== agency.organId.toUpperCase()) {
    signer.token?.close()
    throw gwError('GW_ERR_CONFIG_KEY_FILE', {
      path: file,
      reason: `the certificate belongs to OrganId ${signer.organId}, not to agency ${agency.organId}`,
    })
  }
  return signer
}

/** Signers of every hosted agency, by OrganId. */
export async function loadSigners(config: Config): Promise<Map<string, Signer>> {
  const entries = await Promise.all(config.agencies.map(async (a) => [a.organId, await loadAgencySigner(a)] as const))
  return new Map(entries)
}
