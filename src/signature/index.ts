/**
 * CMS signatures for edXML packages: detached SignedData creation and verification with verdicts, certificate
 * paths, CRLs, signing keys. See README.md in this folder.
 */
export { loadSigner, loadPkcs11Signer, type FileSigner, type Pkcs11SignerSource, type Signer, type SignerSource, type SignOptions } from './signer.js'
export { openPkcs11Key, type Pkcs11Key, type Pkcs11KeyOptions, type TokenStatus } from './pkcs11.js'
export {
  createVerifier,
  signatureDer,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_SIGNING_TIME_MAX_PAST_MS,
  DEFAULT_SIGNING_TIME_MAX_FUTURE_MS,
  type Verifier,
  type VerifierOptions,
  type VerifyOptions,
} from './verifier.js'
export { VERDICT_CODES, type CertSummary, type RevocationResult, type TimeSource, type Verdict, type VerdictCode } from './verdict.js'
export { parseCertificate, parseCertificates, pemBlocks, formatName, subjectAttribute, KEY_USAGE_BITS, type CertInfo, type KeyUsageName } from './certs.js'
export { parseCrl, parseCrls, type CrlInfo } from './crl.js'
export { type SigningKeyType } from './keys.js'
export { usePkijsEngine } from './engine.js'
export { createRevocationChecker, revocationUrls, type CachedCrl, type RevocationChecker, type RevocationCheckerOptions, type RevocationSourceName, type RevocationStats, type SourceStatus } from './revocation.js'
export { buildOcspRequest, parseOcspResponse, type OcspAnswer, type OcspRequest } from './ocsp.js'
export { createBinding, type Binding, type BindingEntry, type BindingRule, type BoundOrganId } from './binding.js'
export { createTimestamper, type Stamp, type Timestamper, type TimestamperOptions, type TimestamperStatus } from './tsa-client.js'
export { addSignatureTimestamp, buildTimestampRequest, createTsaTrust, signatureTimestampOf, timestampTokenOf, verifyTimestampToken, OID_SIGNATURE_TIMESTAMP, type TimestampCheck, type TimestampFailure, type TsaTrust } from './tsa.js'
export { ETSI_BY_CODE, ETSI_INDICATIONS, etsiOf, withEtsi, type EtsiIndication, type EtsiResult, type EtsiSubIndication } from './etsi.js'
export { rolloverSigner, isRolloverSigner, type RolloverSigner, type SigningIdentity } from './rollover.js'
