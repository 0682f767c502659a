/**
 * PKCS#12 files read with node-forge (node:crypto cannot read PKCS#12); the key is handed to node:crypto at once, so
 * forge never signs anything. Key material never appears in error messages.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { keyError } from './keys.js'

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
