/**
 * Private keys: PEM (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY", encrypted PKCS#8) through node:crypto,
 * and PKCS#12 read with node-forge (node:crypto cannot read PKCS#12), the key then handed to node:crypto.
 * Key material never appears in error messages.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { gwError } from '../errors.js'
import type { CertInfo } from './certs.js'

export type SigningKeyType = { kind: 'rsa'; bits: number } | { kind: 'ec'; curve: 'P-256' }

function keyError(reason: string, cause?: unknown): never {
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

/** The key and the certificate DERs held by a PKCS#12 file. */
export function readPkcs12(p12: Uint8Array, password: string): { key: KeyObject; certs: Buffer[] } {
  let parsed: forge.pkcs12.Pkcs12Pfx
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(p12).toString('binary')))
    parsed = forge.pkcs12.pkcs12FromAsn1(asn1, false, password)
  } catch (e) {
    return keyError(`cannot read PKCS#12 (wrong password or not a PKCS#12 file: ${(e as Error).message})`)
  }
  const keys: Buffer[] = []
  const certs: Buffer[] = []
  for (const sc of parsed.safeContents) {
    for (const bag of sc.safeBags) {
      const b = bag as forge.pkcs12.Bag & { asn1?: forge.asn1.Asn1 }
      if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        // bag.asn1 is the PrivateKeyInfo when forge cannot model the key (EC); otherwise rebuild PKCS#8 from RSA.
        const info = b.asn1 ?? (bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key as forge.pki.rsa.PrivateKey)) : undefined)
        if (info) keys.push(Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary'))
      } else if (bag.type === forge.pki.oids.certBag) {
        // certificateToAsn1 reuses the parsed TBSCertificate, so the DER is the original one.
        const asn1 = b.asn1 ?? (bag.cert ? forge.pki.certificateToAsn1(bag.cert) : undefined)
        if (asn1) certs.push(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'))
      }
    }
  }
  if (keys.length !== 1) keyError(`PKCS#12 holds ${keys.length} private keys; exactly one is expected`)
  let key: KeyObject
  try {
    key = createPrivateKey({ key: keys[0]!, format: 'der', type: 'pkcs8' })
  } catch (e) {
    return keyError(`cannot use the PKCS#12 private key (${(e as Error).message})`)
  }
  return { key, certs }
}
