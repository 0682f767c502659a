/**
 * The gateway's error catalogue: every error the gateway reports has a stable code `GW_ERR_<AREA>_<WHAT>`,
 * an HTTP status, a retryable flag, a message template (with `{name}` placeholders) and a "how to solve" line.
 * The README's error table is generated from this file (`npm run docs:errors`) and a test keeps them in sync.
 *
 * Signature failures are verdicts (see src/signature/verdict.ts), not exceptions; only the pipeline turns a
 * failed verdict into GW_ERR_SIGNATURE_INVALID (API) or a receive refusal (below).
 *
 * RECEIVE: why the receive path (src/pipeline/receive-*.ts) refused an incoming package. These are stored, not
 * thrown to a caller: the package's verdict keeps the code WITHOUT the `GW_ERR_RECEIVE_` prefix (`NO_SIGNATURE`,
 * `REPLAY`, `UNTRUSTED_CHAIN`...), the form existing rows, operators' filters and the 02 Description sent to the
 * peer gateway already use; `refusalCode` / `storedRefusalCode` convert. Every signature verdict code except VALID
 * has an entry (test/unit/errors.test.ts checks it). GW_ERR_ENVELOPE_* refusals are stored under their own name.
 * Their httpStatus is what an HTTP receive endpoint answers when it refuses a package for that reason.
 */

export interface ErrorDef {
  readonly httpStatus: number
  readonly retryable: boolean
  /** Message template; `{name}` is replaced by the parameter of that name. */
  readonly message: string
  /** What the caller or operator should do about it. */
  readonly solve: string
  /** Values of message parameters a thrower may leave out. */
  readonly defaults?: Readonly<Record<string, string>>
}

const def = (httpStatus: number, message: string, solve: string, retryable = false, defaults?: Record<string, string>): ErrorDef => ({
  httpStatus,
  retryable,
  message,
  solve,
  ...(defaults ? { defaults } : {}),
})

export const ERRORS = {
  // ---- CONFIG -------------------------------------------------------------------------------------------
  GW_ERR_CONFIG_INVALID: def(500, 'configuration is invalid: {problems}', 'Fix every listed setting in the config file or environment and start again.'),
  GW_ERR_CONFIG_FILE: def(500, 'cannot read configuration file {path}: {reason}', 'Check the path given with --config and that the file is readable JSON.'),
  GW_ERR_CONFIG_KEY_FILE: def(500, 'cannot load key or certificate {path}: {reason}', 'Check the key, certificate or PKCS#12 path and password of the agency in the config.'),

  // ---- API ----------------------------------------------------------------------------------------------
  GW_ERR_API_UNAUTHORIZED: def(401, 'missing or unknown API key', 'Send `Authorization: Bearer <key>` with a key configured for your DMS client.'),
  GW_ERR_API_LOGIN_FAILED: def(401, 'unknown operator or wrong password', 'Check the login name and the password; after operatorLogin.maxFailures wrong passwords in a row the account is locked for a while.'),
  GW_ERR_API_ACCOUNT_LOCKED: def(423, 'the account {id} is locked after {failures} wrong passwords until {until}', 'Wait until the time given (operatorLogin.lockoutMinutes), or ask an admin to unlock the account (POST /v1/operator/accounts/:id/unlock).', true),
  GW_ERR_API_SESSION_EXPIRED: def(401, 'the session has ended ({reason})', 'Log in again: a session ends operatorLogin.sessionMinutes after the login, after operatorLogin.idleMinutes without a request, or at logout.'),
  GW_ERR_API_FORBIDDEN: def(403, '{reason}', 'Use a key bound to the agency you act for, or an operator key for operator routes.'),
  GW_ERR_API_NOT_FOUND: def(404, '{what} not found', 'Check the id; a client only sees its own agency\'s documents.'),
  GW_ERR_API_VALIDATION: def(400, 'invalid request: {problems}', 'Correct the listed fields; the OpenAPI document at /docs describes every body.'),
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE: def(415, 'unsupported content type {contentType}', 'Send application/json, multipart/form-data or application/xml.'),
  GW_ERR_API_BODY_TOO_LARGE: def(
    413,
    '{what} exceeds the limit of {limit} bytes ({setting})',
    'Send large attachments as multipart/form-data, or raise the setting the message names: http.bodyLimit (LIENTHONG_HTTP_BODY_LIMIT) for a whole body, limits.attachmentBytes for each file part, limits.packageBytes for a package.',
    false,
    { what: 'the request body', setting: 'http.bodyLimit' },
  ),
  GW_ERR_API_IDEMPOTENCY_CONFLICT: def(409, 'Idempotency-Key {key} was already used with a different request body', 'Use a new Idempotency-Key for a different document, or resend the identical body.'),
  GW_ERR_API_DOCUMENT_ID_FORM: def(400, 'DocumentId {documentId} is not in this agency\'s edXML form: {reason}', 'A DocumentId starts with your agency\'s OrganId: `<OrganId>,<yyyy/MM/dd>,<number>/<notation>`, e.g. `000.00.00.G22,2026/11/25,12/QĐ-UBND`. Leave `documentId` out and the gateway writes it from From, the promulgation date and the code.'),
  GW_ERR_API_DOCUMENT_ID_USED: def(409, 'DocumentId {documentId} was already sent as another document (package {packageId})', 'Give every new document its own DocumentId (another code or date). To change a document already sent, send an update: `business: { type: 2, documentId: "<the original DocumentId>" }` (it may keep the same code, date and DocumentId), or a replacement (type 3 with `replacementInfo`); to take it back, POST /v1/documents/{id}/recall. Resending the identical body returns the package already sent.'),
  GW_ERR_API_RATE_LIMITED: def(429, 'rate limit exceeded, retry in {retryAfter}', 'Slow down; the limit is per API key (limits.requestsPerMinute).', true),
  GW_ERR_API_CONFLICT: def(409, '{reason}', 'The resource is not in a state that allows this action; read it again and retry if still relevant.'),
  GW_ERR_API_BUSY: def(503, 'too many {what} in progress, retry in {retryAfter} s', 'Retry later (the answer carries Retry-After); the gateway runs at most pipeline.inspectWorkers such jobs at once and queues pipeline.inspectQueue more.', true),
  GW_ERR_API_INTERNAL: def(500, 'internal error', 'Look up the request id in the gateway log and report it.', true),

  // ---- ENVELOPE (edXML) ---------------------------------------------------------------------------------
  GW_ERR_ENVELOPE_NOT_XML: def(400, 'package is not well-formed XML: {reason}', 'Send a UTF-8 edXML package that starts with `<?xml` or `<edXML`.'),
  GW_ERR_ENVELOPE_DOCTYPE: def(400, 'package contains a DOCTYPE or entity declaration', 'Remove the DOCTYPE; edXML packages never need one and it is refused for safety.'),
  GW_ERR_ENVELOPE_ENTITY: def(400, 'package uses the undeclared or external entity {entity}', 'Write the character itself or use a numeric character reference.'),
  GW_ERR_ENVELOPE_TOO_DEEP: def(400, 'XML nesting deeper than {limit} levels', 'edXML is shallow; fix the producer that nests elements this deep.'),
  GW_ERR_ENVELOPE_TOO_LARGE: def(413, 'package is {size} bytes, over the limit of {limit}', 'Split the document or raise limits.packageBytes on both gateways.'),
  GW_ERR_ENVELOPE_NOT_EDXML: def(400, 'root element is {root}, not edXML in namespace http://www.mic.gov.vn/TBT/QCVN_102_2016', 'Produce a QCVN 102:2016 package (root `edXML`).'),
  GW_ERR_ENVELOPE_MISSING_FIELD: def(400, 'required element {path} is missing or empty', 'Fill in the element; see docs/edxml.md §a.2 / §b for required fields.'),
  GW_ERR_ENVELOPE_INVALID_FIELD: def(400, 'element {path} is invalid: {reason}', 'Correct the value to the format given in the message.'),
  GW_ERR_ENVELOPE_INVALID_ORGANID: def(400, 'OrganId {value} at {path} is not a valid identifier code: {reason}', 'Use a QCVN 102 (`000.00.00.G22`) or Decision 20/2020 code (A-Z, 0-9 and dots, at most 35 characters).'),
  GW_ERR_ENVELOPE_INVALID_DATE: def(400, 'date {value} at {path} is not a valid date', 'Write dates as yyyy/MM/dd and timestamps as yyyy/MM/dd HH:mm:ss.'),
  GW_ERR_ENVELOPE_INVALID_STATUS_CODE: def(400, 'status code {value} is not one of 01-06, 13, 15, 16', 'Use a status code of QCVN 102 (docs/edxml.md §b).'),
  GW_ERR_ENVELOPE_BAD_BASE64: def(400, 'attachment {contentId} is not valid base64: {reason}', 'Encode attachments with the standard base64 alphabet.'),
  GW_ERR_ENVELOPE_ATTACHMENT_UNLISTED: def(400, 'attachment {contentId} has no Manifest Reference', 'List every attachment in edXMLManifest/Reference with the same ContentId.'),
  GW_ERR_ENVELOPE_REFERENCE_MISSING: def(400, 'Manifest Reference {contentId} has no attachment', 'Include an AttachmentEncoded/Attachment for every Manifest Reference.'),
  GW_ERR_ENVELOPE_DUPLICATE_CONTENT_ID: def(400, 'ContentId {contentId} is used more than once', 'Give every attachment its own ContentId.'),
  GW_ERR_ENVELOPE_SCHEMA: def(400, 'package model does not match the edXML schema: {problems}', 'Correct the listed fields (schemas/edxml/ has the JSON Schema).'),
  GW_ERR_ENVELOPE_REPEATED_ELEMENT: def(400, 'element {path} appears {count} times; the standard allows it once', 'Send the element once: a second From, DocumentId, Code ... would be read by some gateways and ignored by others.'),
  GW_ERR_ENVELOPE_CONTROL_CHARACTER: def(400, 'element {path} contains {char}', 'Remove control characters and bidirectional overrides from the field; line breaks are allowed only in long texts (Subject, Content, Description, addresses).'),
  GW_ERR_ENVELOPE_ATTACHMENT_TYPE: def(400, 'attachment {name} is declared {declared} but its content is not: {reason}', 'Declare the real content type of the file (or send the file the type names).'),
  GW_ERR_ENVELOPE_ZIP_TOO_LARGE: def(413, 'attachment {contentId} unzips to {size} bytes, over the limit of {limit}', 'Send the file itself instead of a ZIP, or raise limits.unzippedBytes (the total for all ZIP attachments of a package); a small ZIP that claims a huge entry is refused as a ZIP bomb.'),
  GW_ERR_ENVELOPE_TOO_MANY_ATTACHMENTS: def(413, 'package has {count} attachments, over the limit of {limit}', 'Send fewer attachments per document (or raise limits.attachments on the receiving gateway).'),

  // ---- SIGNATURE ----------------------------------------------------------------------------------------
  GW_ERR_SIGNATURE_INVALID: def(422, 'signature rejected: {verdict}', 'See the verdict code: re-sign with a valid, trusted certificate of the sending agency.'),
  GW_ERR_SIGNATURE_MALFORMED: def(400, 'signature is not a DER CMS SignedData: {reason}', 'Send a detached CMS (PKCS#7) signature in DER or PEM.'),
  GW_ERR_SIGNATURE_KEY: def(500, 'cannot use signing key: {reason}', 'Check the agency key: PKCS#8 PEM or PKCS#12 with the right password, RSA 2048/3072 or ECDSA P-256, matching its certificate.'),
  GW_ERR_SIGNATURE_CERTIFICATE: def(400, 'cannot read certificate {what}: {reason}', 'Provide X.509 certificates in PEM or DER.'),
  GW_ERR_SIGNATURE_CRL: def(400, 'cannot read CRL {what}: {reason}', 'Provide CRLs in PEM or DER, signed by the issuing CA.'),
  GW_ERR_SIGNATURE_UNSUPPORTED: def(400, 'unsupported algorithm {algorithm}', 'Sign with SHA-256 and RSA PKCS#1 v1.5 (2048/3072) or ECDSA P-256.'),
  GW_ERR_SIGNATURE_PDF: def(400, 'PDF signature cannot be read: {reason}', 'Send a PDF whose signature dictionaries have /ByteRange and /Contents.'),
  GW_ERR_SIGNATURE_REVOCATION: def(503, 'revocation status unavailable: {reason}', 'The OCSP responder or CRL distribution point did not give a usable answer (unreachable, stale, wrong signer); the package is checked again (trust.revocation.onUnavailable). Check the network path to the CA and its responder.', true),
  GW_ERR_SIGNATURE_TOKEN_MODULE: def(500, 'cannot load PKCS#11 module {module}: {reason}', 'Check signing.pkcs11.module: the path of the vendor\'s PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so), readable, for this CPU.'),
  GW_ERR_SIGNATURE_TOKEN_NOT_FOUND: def(500, 'PKCS#11 {token}: {reason}', 'Check the token is inserted and initialised, and tokenLabel (or slot) and keyLabel (or keyId) name it and its private key (pkcs11-tool --list-slots, --list-objects).'),
  GW_ERR_SIGNATURE_TOKEN_PIN: def(500, 'PKCS#11 {token} refused the PIN: {reason}', 'Check signing.pkcs11.pinFile or pinEnv holds the user PIN; a locked PIN must be unblocked with the SO PIN before the gateway starts.'),
  GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: def(503, 'the signing token is unavailable ({token}): {reason}', 'The token or HSM was removed or failed; the gateway reopens it by itself. A document or status sent meanwhile is accepted and waits in the outbox for its signature (sent when the token is back); check /readyz and the token.', true),
  GW_ERR_SIGNATURE_TSA: def(502, 'the time-stamping authority gave no usable timestamp: {reason}', 'Check trust.tsa: the TSA URL, its certificate (trust.tsa.anchorsPaths must hold its root; extendedKeyUsage critical id-kp-timeStamping) and trust.tsa.policy. The signature waits and is stamped again (trust.tsa.onUnavailable).', true),
  GW_ERR_SIGNATURE_TSA_UNAVAILABLE: def(503, 'the time-stamping authority {url} is unavailable: {reason}', 'The TSA did not answer within trust.tsa.timeoutMs; the send waits and is retried (send again with the same Idempotency-Key). Check the network path to the TSA, or set trust.tsa.onUnavailable to send-without.', true),

  // ---- STORE --------------------------------------------------------------------------------------------
  GW_ERR_STORE_UNAVAILABLE: def(503, 'store unavailable: {reason}', 'Check the database (file permissions, disk space, PostgreSQL reachable); the request can be retried.', true),
  GW_ERR_STORE_CONFLICT: def(409, '{reason}', 'The record already exists with different content; do not reuse identifiers.'),
  GW_ERR_STORE_CORRUPT: def(500, 'store integrity check failed: {reason}', 'Run `lienthong log verify` and restore from backup if the chain is broken.'),
  GW_ERR_STORE_NOT_FOUND: def(404, '{what} {id} not found in the store', 'Check the id; it may belong to another gateway or have been purged.'),
  GW_ERR_STORE_INVALID_CURSOR: def(400, 'page cursor {cursor} is not valid here', 'Pass back the `next` value of the previous page unchanged, with the same filters.'),
  GW_ERR_STORE_PURGED: def(
    410,
    'the bytes of {what} {id} were purged on {purgedAt} by the retention policy ({reason})',
    'The exact package and its attachments are gone; its metadata, states and log remain. Ask the sender for a copy, or restore a backup taken before that date. The windows are set under retention in the config.',
  ),
  GW_ERR_STORE_SCHEMA: def(500, 'store schema version {found} is newer than this gateway supports ({supported})', 'Run the gateway version that created the store, or restore a backup made for this version.'),

  // ---- RECEIVE (refusals of incoming packages; stored without the GW_ERR_RECEIVE_ prefix) ------------------
  GW_ERR_RECEIVE_NO_SIGNATURE: def(400, 'the AMQP message has no x-lienthong-signature header (or it is not base64)', 'The sending gateway must send the detached CMS signature of the exact bytes, base64, in x-lienthong-signature.'),
  GW_ERR_RECEIVE_RECIPIENT_NOT_HOSTED: def(421, 'the recipient is not hosted by this gateway', 'Check the recipient OrganId and the broker bindings: only agencies in `agencies` are received here.'),
  GW_ERR_RECEIVE_RECIPIENT_NOT_ADDRESSED: def(421, 'the recipient is not among the document\'s To', 'The sender routed the package to an agency its To does not list: the sender fixes To or the routing.'),
  GW_ERR_RECEIVE_SENDER_MISMATCH: def(403, 'the sender header, From/OrganId and the certificate UID do not name the same agency', 'The sending agency signs with its own certificate (subject UID = its OrganId) and its gateway sends its OrganId as sender.'),
  GW_ERR_RECEIVE_REPLAY: def(409, 'this DocumentId was already received from this sender with different content', 'The sender gives every new document its own DocumentId; to change a document it sends an update (2) or replace (3).'),
  GW_ERR_RECEIVE_ORPHAN_STATUS: def(422, 'the status answers no document known here', 'Check the status\'s ResponseFor (DocumentId, Code, PromulgationDate): nothing was sent to its author with them. Stored and acknowledged, not dead-lettered.'),
  GW_ERR_RECEIVE_NOT_A_DOCUMENT: def(409, 'the stored bytes are a status package', 'Operators replay documents only; the peer can send its status again.'),
  GW_ERR_RECEIVE_DELIVERY_LIMIT: def(422, 'the message was delivered again and again and no delivery came to an end (the gateway stopped, hung or failed while handling it)', 'Dead-lettered unprocessed so that it cannot stall the gateway in a loop: find the cause in the log (the message id), fix it, then move the message from the dead-letter queue back to the inbox queue.'),
  GW_ERR_RECEIVE_INTERNAL: def(500, 'unexpected error while processing the package', 'Look up the package id in the gateway log, fix the cause and replay it from the dead letters.'),
  GW_ERR_RECEIVE_MALFORMED: def(422, 'the signature is not a usable detached CMS SignedData', 'The sender signs with a detached DER CMS SignedData, one SignerInfo, well-formed signed attributes (src/signature/README.md).'),
  GW_ERR_RECEIVE_UNSUPPORTED_ALGORITHM: def(422, 'the signature uses an algorithm this gateway does not accept', 'Sign with SHA-256/384/512 and RSA PKCS#1 v1.5 (2048 bits or more) or ECDSA.'),
  GW_ERR_RECEIVE_MISSING_SIGNED_ATTRIBUTES: def(422, 'the signature has no signed attributes (content-type, message-digest)', 'Sign with signed attributes, as every CMS library does by default.'),
  GW_ERR_RECEIVE_NO_SIGNER_CERTIFICATE: def(422, 'no certificate in the signature matches its signer', 'Include the signer certificate (and intermediates) in the CMS, or configure the intermediates in trust.'),
  GW_ERR_RECEIVE_DIGEST_MISMATCH: def(422, 'the package bytes are not the bytes that were signed', 'The package was changed after signing: the sender signs and sends the exact same bytes.'),
  GW_ERR_RECEIVE_BAD_SIGNATURE: def(422, 'the signature does not verify with the signer\'s key', 'The sender re-signs with the private key of the certificate it includes.'),
  GW_ERR_RECEIVE_SIGNING_CERTIFICATE_MISMATCH: def(422, 'the signing-certificate attribute names another certificate', 'The sender signs with the certificate its signing-certificate attribute names.'),
  GW_ERR_RECEIVE_TIMESTAMP_INVALID: def(422, 'the signature timestamp token is not a valid RFC 3161 token (unreadable, altered, or its signature does not verify)', 'The sending gateway stamps its signatures with a working TSA and sends the token unchanged (id-aa-signatureTimeStampToken); or it sends without a token.'),
  GW_ERR_RECEIVE_TIMESTAMP_MISMATCH: def(422, 'the signature timestamp token covers other data than this signature', 'The token must be over the SignerInfo\'s signature value (CAdES-T); a token copied from another signature is refused. The sender stamps the signature again.'),
  GW_ERR_RECEIVE_TIMESTAMP_UNTRUSTED: def(422, 'the signature timestamp token is not from a trusted TSA (chain, validity at its time, or id-kp-timeStamping)', 'Add the TSA\'s root to trust.tsa.anchorsPaths if it is a TSA you trust, then move the message from the dead-letter queue back to the inbox queue.'),
  GW_ERR_RECEIVE_SIGNING_TIME_IN_FUTURE: def(422, 'the signing time is in the future', 'Fix the clock of the sending gateway (NTP); the allowed skew is trust.signingTimeMaxFutureMs (default 5 minutes).'),
  GW_ERR_RECEIVE_SIGNING_TIME_OUT_OF_RANGE: def(422, 'the signing time is too far before the time of receipt to be relied on without a trusted timestamp', 'The sender signs again now (its clock must be right); a package cannot be re-sent with an old signature.'),
  GW_ERR_RECEIVE_UNTRUSTED_CHAIN: def(422, 'the signer certificate does not chain to a trust anchor', 'Add the issuing CA to trust.anchorsPaths (or its intermediates to trust.intermediatesPaths), then move the message from the dead-letter queue back to the inbox queue (the store keeps only the first bytes of a package refused before its signature verified).'),
  GW_ERR_RECEIVE_CERT_NOT_YET_VALID: def(422, 'a certificate of the chain is not yet valid at the validation time (the time of receipt)', 'The sender signs with a certificate already valid (or fixes its clock).'),
  GW_ERR_RECEIVE_CERT_EXPIRED: def(422, 'a certificate of the chain had expired at the validation time (the time of receipt)', 'The sender renews its certificate and signs again.'),
  GW_ERR_RECEIVE_KEY_USAGE: def(422, 'the signer certificate is not allowed to sign (keyUsage)', 'The sender uses a certificate with digitalSignature or nonRepudiation key usage.'),
  GW_ERR_RECEIVE_REVOKED: def(422, 'a certificate of the chain is revoked', 'The sender gets a new certificate; if the CRL is wrong, fix the file in trust.crlPaths and move the message from the dead-letter queue back to the inbox queue.'),
  GW_ERR_RECEIVE_REVOCATION_UNAVAILABLE: def(422, 'no revocation source (OCSP, CRL) gave a usable status for a certificate of the chain', 'The CA\'s OCSP responder and CRL distribution points must be reachable from the gateway (trust.revocation); replay the package once they answer, or set trust.revocation.onUnavailable.'),
  GW_ERR_RECEIVE_CRL_EXPIRED: def(422, 'the issuer\'s newest CRL is past its nextUpdate', 'Put a current CRL in trust.crlPaths (the files are read again when they change), then move the message from the dead-letter queue back to the inbox queue.'),

  // ---- TRANSPORT (AMQP) ---------------------------------------------------------------------------------
  GW_ERR_TRANSPORT_UNAVAILABLE: def(503, 'message broker {url} unreachable: {reason}', 'Start RabbitMQ or fix amqp.url; documents wait in the outbox meanwhile.', true),
  GW_ERR_TRANSPORT_UNROUTABLE: def(502, 'no queue accepts messages for recipient {recipient}', 'The recipient OrganId is unknown to the broker: check the OrganId or ask its gateway to bind its queue.'),
  GW_ERR_TRANSPORT_NACKED: def(502, 'broker refused the message: {reason}', 'Check the broker (disk/memory alarms, queue limits); the delivery can be retried.', true),
  GW_ERR_TRANSPORT_INVALID_MESSAGE: def(500, 'message {messageId} cannot be published: {reason}', 'The message itself is unusable (e.g. headers over 64 KiB because of a huge signature chain, bad priority); fix the producer, retrying will not help.'),

  // ---- VXP (the national axis protocol, src/vxp/) -------------------------------------------------------
  GW_ERR_VXP_UNAUTHORIZED: def(401, 'VXP request not authenticated: {reason}', 'Send the SDK\'s XroadVnpt-systemid, -sign-header and -hash-header; the systemid must be one of vxp.server.systems and the secret the one configured for it.'),
  GW_ERR_VXP_FORBIDDEN: def(403, '{reason}', 'A system acts only for the agencies of its vxp.server.systems[].organIds: send as one of them and read only their documents.'),
  GW_ERR_VXP_HASH_MISMATCH: def(400, 'the body does not match XroadVnpt-hash-file: {reason}', 'Send the file\'s bytes as the SDK does (the file, then CRLF) with hash-file = its SHA-256; the body was changed on the way.'),
  GW_ERR_VXP_INVALID_REQUEST: def(400, 'invalid VXP request: {problems}', 'Correct the listed parameter (XroadVnpt-* headers) or body.'),
  GW_ERR_VXP_NOT_FOUND: def(404, '{what} not found', 'Use a docId from getReceivedEdocList (or getSentEdocList) of the same system.'),
  GW_ERR_VXP_UNSUPPORTED: def(501, 'operation {operation} is not supported by this gateway: {reason}', 'Manage agencies in the gateway configuration (agencies, vxp.server.systems) instead.'),
  GW_ERR_VXP_AXIS_UNAVAILABLE: def(503, 'the axis at {endpoint} cannot be reached: {reason}', 'Check vxp.axis.endpoint and the network; documents wait in the outbox and go out when the axis answers again.', true),
  GW_ERR_VXP_AXIS_REFUSED: def(502, 'the axis refused {operation}: {reason}', 'Read the axis\'s ErrorCode/ErrorDesc: a wrong vxp.axis.secret or systemId, or an agency the axis does not know.'),
} as const satisfies Record<string, ErrorDef>

export type ErrorCode = keyof typeof ERRORS

/** An error the gateway reports: a catalogue code plus parameters, wrapping its cause. */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly httpStatus: number
  readonly retryable: boolean
  readonly params: Readonly<Record<string, unknown>>

  constructor(code: ErrorCode, params: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const d: ErrorDef = ERRORS[code]
    super(formatMessage(d.message, d.defaults ? { ...d.defaults, ...params } : params), options)
    this.name = 'GatewayError'
    this.code = code
    this.httpStatus = d.httpStatus
    this.retryable = d.retryable
    this.params = Object.freeze({ ...params })
  }
}

export function formatMessage(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : `{${k}}`))
}

/** Shorthand: `throw gwError('GW_ERR_ENVELOPE_DOCTYPE')`. */
export function gwError(code: ErrorCode, params: Record<string, unknown> = {}, cause?: unknown): GatewayError {
  return new GatewayError(code, params, cause === undefined ? undefined : { cause })
}

export function isGatewayError(e: unknown, code?: ErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code)
}

const RECEIVE_PREFIX = 'GW_ERR_RECEIVE_'

/**
 * The catalogue code of a refusal code stored in an incoming package's verdict (`NO_SIGNATURE` →
 * GW_ERR_RECEIVE_NO_SIGNATURE, `GW_ERR_ENVELOPE_DOCTYPE` → itself); undefined for `VALID` or an unknown code.
 */
export function refusalCode(stored: string): ErrorCode | undefined {
  const code = stored.startsWith('GW_ERR_') ? stored : RECEIVE_PREFIX + stored
  return Object.hasOwn(ERRORS, code) ? (code as ErrorCode) : undefined
}

/** The code stored in the verdict for a refusal with this catalogue code (the inverse of `refusalCode`). */
export function storedRefusalCode(code: ErrorCode): string {
  return code.startsWith(RECEIVE_PREFIX) ? code.slice(RECEIVE_PREFIX.length) : code
}
