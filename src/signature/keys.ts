/**
 * Private keys: PEM (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY", encrypted PKCS#8) through node:crypto.
 * PKCS#12 files are read in pkcs12.ts.
 * Key material never appears in error messages.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { gwError } from '../errors.js'
import type { CertInfo } from './certs.js'

export type SigningKeyType = { kind: 'rsa'; bits: number } | { kind: 'ec'; curve: 'P-256' }

export function keyError(reason: string, cause?: unknown): never {
  throw gwError('GW_ERR_SIGNATURE_KEY', { reason }, cause)
}

/** Reads a PEM private key (any form node:crypto knows). */
export function privateKeyFromPem(pem: string, passphrase?: string): KeyObject {
  if (!/-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.test(pem)) keyError('no PRIVATE KEY PEM block found')
  if (passphrase === undefined && (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(pem))) {
    keyError('the private key is encrypted; give its password')
  }
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase })
  } catch (e) {
    // The message of node:crypto never contains key bytes; keep only its text.
    return keyError(`cannot read the private key (${(e as Error).message})`, undefined)
  }
}

/** Checks the key is RSA ≥ 2048 bits or ECDSA P-256 and returns its type. */
export function keyType(key: KeyObject): SigningKeyType {
  const d = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0
    if (bits < 2048 || bits > 8192) keyError(`RSA key of ${bits} bits; 2048 to 8192 bits are accepted`)
    return { kind: 'rsa', bits }
  }
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve !== 'prime256v1') keyError(`EC key on curve ${d.namedCurve ?? '?'}; only P-256 is accepted`)
    return { kind: 'ec', curve: 'P-256' }
  }
  return keyError(`${key.asymmetricKeyType ?? 'unknown'} keys are not supported; use RSA or ECDSA P-256`)
}

const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' })

/** True when the private key belongs to the certificate. */
export function keyMatches(key: KeyObject, cert: CertInfo): boolean {
  return spki(createPublicKey(key)).equals(spki(cert.publicKey))
}
