/**
 * The signers of the hosted agencies, loaded once at start from the files the configuration names (PEM key +
 * certificate + chain, or PKCS#12). A key that does not load, or a certificate whose OrganId (subject UID) names
 * another agency, stops the start with GW_ERR_CONFIG_KEY_FILE: signing with the wrong identity would make every
 * recipient reject our packages.
 */
import { readFile } from 'node:fs/promises'
import type { AgencyConfig, Config } from '../config.js'
import { gwError, isGatewayError } from '../errors.js'
import { loadSigner, type Signer } from '../signature/index.js'

export async function loadAgencySigner(agency: AgencyConfig): Promise<Signer> {
  const s = agency.signing
  const file = 'p12Path' in s ? s.p12Path : s.keyPath
  let signer: Signer
  try {
    if ('p12Path' in s) {
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
    const reason = isGatewayError(e) ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)
    throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: file, reason: `agency ${agency.organId}: ${reason}` }, e)
  }
  if (signer.organId !== undefined && signer.organId.toUpperCase() !== agency.organId.toUpperCase()) {
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
