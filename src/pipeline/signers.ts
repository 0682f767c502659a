/**
 * The signers of the hosted agencies, loaded once at start from what the configuration names: PEM key +
 * certificate + chain, PKCS#12, or a key in a PKCS#11 token. A key file that does not load, or a certificate whose
 * OrganId (subject UID) names another agency, stops the start with GW_ERR_CONFIG_KEY_FILE: signing with the wrong
 * identity would make every recipient reject our packages. A token keeps its own codes
 * (GW_ERR_SIGNATURE_TOKEN_MODULE, _NOT_FOUND, _PIN): a wrong PIN or a missing token is not a file problem.
 *
 * Rollover: an agency with `nextSigning` and `switchAt` gets a signer of both identities (src/signature/rollover.ts)
 * that signs with the next one from switchAt on. Both are loaded at start, and the next one must be another
 * certificate than the current one, name the same OrganId under trust.binding (a certificate that names none is
 * refused too: every recipient would answer SENDER_MISMATCH from the switch on) and be valid at switchAt.
 */
import { readFile } from 'node:fs/promises'
import type { AgencyConfig, Config, Pkcs11Config, SigningConfig } from '../config.js'
import { gwError, isGatewayError } from '../errors.js'
import { createBinding, loadPkcs11Signer, loadSigner, parseCertificate, rolloverSigner, type BindingRule, type Signer } from '../signature/index.js'

const TOKEN_CODES = new Set(['GW_ERR_SIGNATURE_TOKEN_MODULE', 'GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', 'GW_ERR_SIGNATURE_TOKEN_PIN'])

/** True when the agency's key is in a PKCS#11 token (signed on the main thread, never in a worker). */
export const usesToken = (agency: AgencyConfig): boolean => 'pkcs11' in agency.signing || (agency.nextSigning !== undefined && 'pkcs11' in agency.nextSigning)

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

/** What names an identity in messages: its setting and file. */
const fileOf = (s: SigningConfig): string => ('pkcs11' in s ? s.pkcs11.module : 'p12Path' in s ? s.p12Path : s.keyPath)

/**
 * The agency's signer: its one identity, or both with the switch between them. `binding` is config.trust.binding
 * (default: the subject UID), by which each certificate must name the agency.
 */
export async function loadAgencySigner(agency: AgencyConfig, binding?: BindingRule): Promise<Signer> {
  const rule = createBinding(binding ?? {})
  const current = await loadIdentity(agency, agency.signing, 'signing', rule, false)
  if (agency.nextSigning === undefined || agency.switchAt === undefined) return current
  const at = new Date(agency.switchAt)
  let next: Signer
  try {
    next = await loadIdentity(agency, agency.nextSigning, 'nextSigning', rule, true)
  } catch (e) {
    current.token?.close()
    throw e
  }
  const refuse = (reason: string): never => {
    current.token?.close()
    next.token?.close()
    throw gwError('GW_ERR_CONFIG_KEY_FILE', { path: fileOf(agency.nextSigning!), reason: `agency ${agency.organId} nextSigning: ${reason}` })
  }
  if (next.certificate.sha256 === current.certificate.sha256) refuse('it is the same certificate as signing; give the renewed certificate')
  const from = Date.parse(next.certificate.notBefore)
  const until = Date.parse(next.certificate.notAfter)
  if (at.getTime() < from) refuse(`its certificate is valid only from ${next.certificate.notBefore}, after switchAt ${agency.switchAt}: signatures made at the switch would be CERT_NOT_YET_VALID`)
  if (at.getTime() >= until) refuse(`its certificate expires on ${next.certificate.notAfter}, before switchAt ${agency.switchAt}`)
  return rolloverSigner(current, next, at)
}

async function loadIdentity(agency: AgencyConfig, s: SigningConfig, setting: 'signing' | 'nextSigning', rule: ReturnType<typeof createBinding>, strict: boolean): Promise<Signer> {
  const file = fileOf(s)
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
  const bound = signer.certificateDer ? rule.organIdOf(parseCertificate(signer.certificateDer, 'signer certificate')) : { organId: signer.organId, rule: 'subject UID' }
  const named = bound.organId
  const where = setting === 'signing' ? '' : `${setting}: `
  if ((named !== undefined && named.toUpperCase() !== agency.organId.toUpperCase()) || (strict && named === undefined)) {
    signer.token?.close()
    throw gwError('GW_ERR_CONFIG_KEY_FILE', {
      path: file,
      reason:
        named === undefined
          ? `agency ${agency.organId} ${where}the certificate names no OrganId by trust.binding (${bound.rule}); recipients would refuse its signatures as SENDER_MISMATCH`
          : `${where}the certificate belongs to OrganId ${named} (${bound.rule}), not to agency ${agency.organId}`,
    })
  }
  return signer
}

/** Signers of every hosted agency, by OrganId. */
export async function loadSigners(config: Config): Promise<Map<string, Signer>> {
  const entries = await Promise.all(config.agencies.map(async (a) => [a.organId, await loadAgencySigner(a, config.trust.binding)] as const))
  return new Map(entries)
}
