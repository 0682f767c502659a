/**
 * CMS signatures for edXML packages: detached SignedData creation and verification with verdicts.
 * See README.md in this folder.
 */
export { loadSigner, type Signer, type SignerSource, type SignOptions } from './signer.js'
export { createVerifier, signatureDer, type Verifier, type VerifierOptions, type VerifyOptions } from './verifier.js'
export { VERDICT_CODES, type CertSummary, type RevocationResult, type Verdict, type VerdictCode } from './verdict.js'
export { parseCertificate, parseCertificates, pemBlocks, type CertInfo } from './certs.js'
export { parseCrl, parseCrls, type CrlInfo } from './crl.js'
