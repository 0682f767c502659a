/**
 * Test helper: a SoftHSM2 token of its own in a temporary folder (SOFTHSM2_CONF points to a softhsm2.conf written
 * there, set in this process before the module is first initialised), keys generated inside the token with
 * pkcs11-tool (OpenSC), certificates for them issued by the sample PKI's signing CA with openssl.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openssl } from './openssl-pki.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'
export const SAMPLE = join(ROOT, 'certs-sample')

export interface SoftHsm {
  readonly dir: string
  readonly conf: string
  readonly module: string
  readonly tokenLabel: string
  readonly pin: string
}

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv): string => {
  try {
    return execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8')
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${String(err.stderr ?? '')}${String(err.stdout ?? '')}`, { cause: e })
  }
}

/**
 * Creates the token folder and configuration and sets process.env.SOFTHSM2_CONF (every token of one test process
 * lives in the same folder: SoftHSM reads its configuration once, at C_Initialize).
 */
export function softhsmDir(dir: string): string {
  const tokens = join(dir, 'tokens')
  mkdirSync(tokens, { recursive: true })
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`)
  process.env.SOFTHSM2_CONF = conf
  return conf
}

/** Initialises a new token with `label` in the folder set up by `softhsmDir`. */
export function initToken(dir: string, label: string, pin = '123456', soPin = '87654321'): SoftHsm {
  const conf = process.env.SOFTHSM2_CONF ?? softhsmDir(dir)
  run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { ...process.env, SOFTHSM2_CONF: conf })
  return { dir, conf, module: SOFTHSM_MODULE, tokenLabel: label, pin }
}

const p11 = (h: SoftHsm, args: string[]): string =>
  run('pkcs11-tool', ['--module', h.module, '--token-label', h.tokenLabel, '--login', '--pin', h.pin, ...args], { ...process.env, SOFTHSM2_CONF: h.conf })

/** Generates a key pair inside the token (the private key is never outside it); returns the public key, PEM. */
export function generateKey(h: SoftHsm, o: { label: string; id: string; type: 'rsa:2048' | 'EC:prime256v1' }): string {
  p11(h, ['--keypairgen', '--key-type', o.type, '--label', o.label, '--id', o.id, '--usage-sign'])
  const der = join(h.dir, `pub-${o.id}.der`)
  p11(h, ['--read-object', '--type', 'pubkey', '--id', o.id, '--output-file', der])
  return openssl(['pkey', '-pubin', '-inform', 'DER', '-in', der]).toString('utf8')
}

/** Stores a certificate (PEM) in the token next to the key with `id`. */
export function storeCertificate(h: SoftHsm, certPem: string, o: { label: string; id: string }): void {
  const der = join(h.dir, `cert-${o.id}.der`)
  writeFileSync(der, openssl(['x509', '-outform', 'DER'], { input: certPem }))
  p11(h, ['--write-object', der, '--type', 'cert', '--label', o.label, '--id', o.id])
}

/**
 * A certificate for `publicKeyPem` issued by the sample signing CA (certs-sample/intermediate-ca.*), with the
 * agency's OrganId as subject UID, keyUsage digitalSignature + nonRepudiation. openssl needs a request signed by
 * some key: a throwaway key signs it and -force_pubkey puts the token's key in the certificate.
 */
export function issueSampleCertificate(dir: string, publicKeyPem: string, organId: string, cn: string): string {
  mkdirSync(dir, { recursive: true })
  const tag = `${organId}-${Math.random().toString(36).slice(2)}`
  const pub = join(dir, `pub-${tag}.pem`)
  const throwaway = join(dir, `throwaway-${tag}.pem`)
  const csr = join(dir, `req-${tag}.csr`)
  const ext = join(dir, `ext-${tag}.cnf`)
  const out = join(dir, `cert-${tag}.pem`)
  writeFileSync(pub, publicKeyPem)
  writeFileSync(ext, '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n')
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', throwaway, '-out', csr, '-subj', `/C=VN/O=${cn}/CN=${cn}/UID=${organId}`, '-utf8'])
  openssl(['x509', '-req', '-in', csr, '-CA', join(SAMPLE, 'intermediate-ca.pem'), '-CAkey', join(SAMPLE, 'intermediate-ca.key.pem'),
    '-force_pubkey', pub, '-days', '30', '-sha256', '-extfile', ext, '-extensions', 'v3', '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, '-out', out])
  return readFileSync(out, 'utf8')
}

/**
 * A SoftHSM2 token in `dir` (its own softhsm2.conf) with an RSA-2048 key and a sample certificate for `organId`
 * under the label `vpcp-sign`, that a test can pull out and put back (its folder moved away and back, as a USB
 * token taken out of its slot).
 */
export function removableToken(dir: string, o: { label: string; pin: string; keyId: string; organId: string; cn: string }): { token: SoftHsm; pullOut(): void; putBack(): void } {
  softhsmDir(dir)
  const token = initToken(dir, o.label, o.pin)
  const pub = generateKey(token, { label: 'vpcp-sign', id: o.keyId, type: 'rsa:2048' })
  storeCertificate(token, issueSampleCertificate(join(dir, 'certs'), pub, o.organId, o.cn), { label: 'vpcp-sign', id: o.keyId })
  const tokensDir = join(dir, 'tokens')
  const folder = readdirSync(tokensDir)[0]!
  const away = join(dir, 'pulled-out')
  return { token, pullOut: () => renameSync(join(tokensDir, folder), away), putBack: () => renameSync(away, join(tokensDir, folder)) }
}
