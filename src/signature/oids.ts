/** Object identifiers used by the CMS signer and verifier. */
import { oidBytes } from './der.js'

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  uid: '0.9.2342.19200300.100.1.1',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
} as const

/** Hash name (node:crypto) for a digest algorithm OID. */
export const DIGEST_BY_OID: Readonly<Record<string, string>> = {
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
}

/** For signature algorithm OIDs: key type and fixed hash (undefined = the SignerInfo digest algorithm's). */
export const SIGNATURE_BY_OID: Readonly<Record<string, { key: 'rsa' | 'ec'; hash?: string }>> = {
  [OID.rsaEncryption]: { key: 'rsa' },
  [OID.sha256WithRSA]: { key: 'rsa', hash: 'sha256' },
  [OID.sha384WithRSA]: { key: 'rsa', hash: 'sha384' },
  [OID.sha512WithRSA]: { key: 'rsa', hash: 'sha512' },
  [OID.ecPublicKey]: { key: 'ec' },
  [OID.ecdsaWithSha256]: { key: 'ec', hash: 'sha256' },
  [OID.ecdsaWithSha384]: { key: 'ec', hash: 'sha384' },
  [OID.ecdsaWithSha512]: { key: 'ec', hash: 'sha512' },
}

/** Certificate/CRL signature algorithms (hash is always fixed there); sha1 accepted for legacy CA material only. */
export const CERT_SIGNATURE_BY_OID: Readonly<Record<string, { key: 'rsa' | 'ec'; hash: string }>> = {
  [OID.sha1WithRSA]: { key: 'rsa', hash: 'sha1' },
  [OID.sha256WithRSA]: { key: 'rsa', hash: 'sha256' },
  [OID.sha384WithRSA]: { key: 'rsa', hash: 'sha384' },
  [OID.sha512WithRSA]: { key: 'rsa', hash: 'sha512' },
  [OID.ecdsaWithSha256]: { key: 'ec', hash: 'sha256' },
  [OID.ecdsaWithSha384]: { key: 'ec', hash: 'sha384' },
  [OID.ecdsaWithSha512]: { key: 'ec', hash: 'sha512' },
}

/** OID content bytes, precomputed for fast comparison while walking DER. */
export const OID_BYTES = {
  data: oidBytes(OID.data),
  signedData: oidBytes(OID.signedData),
  contentType: oidBytes(OID.contentType),
  messageDigest: oidBytes(OID.messageDigest),
  signingTime: oidBytes(OID.signingTime),
  signingCertificate: oidBytes(OID.signingCertificate),
  signingCertificateV2: oidBytes(OID.signingCertificateV2),
} as const
