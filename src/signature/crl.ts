/**
 * Certificate revocation lists from files (PEM or DER), parsed once with PKI.js; the signature over the exact
 * TBSCertList bytes is checked with node:crypto against the issuing CA's key when the CRL is first used for it.
 */
import { verify as nodeVerify, type KeyObject } from 'node:crypto'
import * as pkijs from 'pkijs'
import { gwError } from '../errors.js'
import { derList, formatName } from './certs.js'
import { children, expectTlv, oidString, TAG, value, whole } from './der.js'
import { CERT_SIGNATURE_BY_OID } from './oids.js'

export interface CrlInfo {
  readonly der: Buffer
  /** Whole DER of the issuer Name. */
  readonly issuerDer: Buffer
  readonly issuer: string
  readonly thisUpdateMs: number
  readonly nextUpdateMs?: number
  /** Revoked serials: hex of the INTEGER content octets, uppercase → revocation time. */
  readonly revoked: ReadonlyMap<string, number>
  readonly tbs: Buffer
  readonly sigAlg: string
  readonly signature: Buffer
  /** Delta CRLs are not used for revocation decisions. */
  readonly isDelta: boolean
}

export const CRL_LABELS = ['X509 CRL'] as const

export function parseCrl(input: Uint8Array, what = 'CRL'): CrlInfo {
  const der = Buffer.from(input)
  let crl: pkijs.CertificateRevocationList
  try {
    crl = pkijs.CertificateRevocationList.fromBER(der)
  } catch (e) {
    throw gwError('GW_ERR_SIGNATURE_CRL', { what, reason: (e as Error).message }, e)
  }
  try {
    const top = expectTlv(der, 0, der.length, TAG.SEQUENCE, 'CertificateList')
    const [tbsT, algT, sigT] = children(der, top)
    if (!tbsT || !algT || !sigT || sigT.tag !== TAG.BIT_STRING) throw gwError('GW_ERR_SIGNATURE_CRL', { what, reason: 'bad CertificateList' })
    const tf = children(der, tbsT)
    let i = tf[0]?.tag === TAG.INTEGER ? 1 : 0
    i++ // signature algorithm
    const issuerT = tf[i]
    if (!issuerT) throw gwError('GW_ERR_SIGNATURE_CRL', { what, reason: 'no issuer' })
    const [oidT] = children(der, algT)
    if (!oidT) throw gwError('GW_ERR_SIGNATURE_CRL', { what, reason: 'no signature algorithm' })
    const revoked = new Map<string, number>()
    for (const rc of crl.revokedCertificates ?? []) {
      const serial = Buffer.from(rc.userCertificate.valueBlock.valueHexView).toString('hex').toUpperCase()
      revoked.set(serial, rc.revocationDate.value.getTime())
    }
    const issuerDer = Buffer.from(whole(der, issuerT))
    return {
      der,
      issuerDer,
      issuer: formatName(issuerDer),
      thisUpdateMs: crl.thisUpdate.value.getTime(),
      ...(crl.nextUpdate ? { nextUpdateMs: crl.nextUpdate.value.getTime() } : {}),
      revoked,
      tbs: Buffer.from(whole(der, tbsT)),
      sigAlg: oidString(value(der, oidT)),
      signature: Buffer.from(value(der, sigT).subarray(1)),
      isDelta: (crl.crlExtensions?.extensions ?? []).some((e) => e.extnID === '2.5.29.27'),
    }
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'GW_ERR_SIGNATURE_CRL') throw e
    throw gwError('GW_ERR_SIGNATURE_CRL', { what, reason: (e as Error).message }, e)
  }
}

export function parseCrls(input: string | Uint8Array | readonly Uint8Array[] | undefined): CrlInfo[] {
  return derList(input, CRL_LABELS).map((d, i) => parseCrl(d, `CRL #${i + 1}`))
}

/** True when `crl` is signed by `issuerKey`. */
export function crlSignedBy(crl: CrlInfo, issuerKey: KeyObject): boolean {
  const alg = CERT_SIGNATURE_BY_OID[crl.sigAlg]
  if (!alg || alg.key !== issuerKey.asymmetricKeyType) return false
  try {
    return nodeVerify(alg.hash, crl.tbs, alg.key === 'ec' ? { key: issuerKey, dsaEncoding: 'der' } : issuerKey, crl.signature)
  } catch {
    return false
  }
}
