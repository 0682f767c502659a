/**
 * The API's one translating edge for errors: everything a route or hook throws becomes `{ code, message, details? }`
 * with the catalogue's HTTP status (src/errors.ts). Fastify's own errors (validation, body size, media type, JSON
 * syntax, multipart limits, unknown routes) are mapped to GW_ERR_API_* codes. 5xx messages are replaced by a
 * generic one naming the request id; the full error is logged with that id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, GatewayError, gwError, isGatewayError } from '../errors.js'
import { problemInWords } from '../validation-words.js'

export interface ErrorBody {
  code: string
  message: string
  /** The catalogue's "how to solve". */
  hint: string
  /** Where the code is documented: the gateway's own catalogue entry (GET, no key needed). */
  doc: string
  details?: unknown
}

/** The documentation link of a code (served by src/api/routes/errors.ts). */
export const errorDoc = (code: string): string => `/v1/errors/${code}`

interface ValidationIssue {
  instancePath?: string
  message?: string
  keyword?: string
  params?: Record<string, unknown>
}

/** Fastify/ajv validation errors as `{ field, problem }`, field in dotted form prefixed by where it was (body, query...). */
function validationDetails(err: FastifyError): { field: string; problem: string }[] {
  const ctx = (err as { validationContext?: string }).validationContext ?? 'body'
  return ((err.validation ?? []) as ValidationIssue[]).map((v) => {
    let field = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')
    let problem = problemInWords(v)
    if (v.keyword === 'required' && v.params?.missingProperty) {
      field = field ? `${field}.${String(v.params.missingProperty)}` : String(v.params.missingProperty)
      problem = 'is required'
    } else if (v.keyword === 'additionalProperties' && v.params?.additionalProperty) {
      field = field ? `${field}.${String(v.params.additionalProperty)}` : String(v.params.additionalProperty)
      problem = 'is not a known field'
    } else if (v.keyword === 'enum' && Array.isArray(v.params?.allowedValues)) {
      problem = `must be one of ${(v.params.allowedValues as unknown[]).map(String).join(', ')}`
    }
    return { field: field ? `${ctx}.${field}` : ctx, problem }
  })
}

/** Map anything thrown to a GatewayError. */
export function toGatewayError(err: unknown, bodyLimit: number, fileLimit: number = bodyLimit, contentType?: string): GatewayError {
  const sent = contentType ? `"${contentType.slice(0, 100)}"` : '(none sent)'
  if (isGatewayError(err)) return err
  const e = err as FastifyError & { validationContext?: string }
  if (e && Array.isArray(e.validation)) {
    const details = validationDetails(e)
    return gwError('GW_ERR_API_VALIDATION', { problems: details.map((d) => `${d.field} ${d.problem}`).join('; '), details }, err)
  }
  switch (e?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return gwError('GW_ERR_API_BODY_TOO_LARGE', { what: 'a file part', limit: fileLimit, setting: 'limits.attachmentBytes', reason: e.message }, err)
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return gwError('GW_ERR_API_BODY_TOO_LARGE', { what: 'the request body', limit: bodyLimit, setting: 'http.bodyLimit', reason: e.message }, err)
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return gwError('GW_ERR_API_VALIDATION', { problems: `too many multipart parts: ${e.message} (files: limits.attachments)`, details: [{ field: 'body', problem: e.message }] }, err)
    case 'FST_ERR_BAD_URL':
      return gwError('GW_ERR_API_VALIDATION', { problems: 'the URL is not valid (a broken percent-encoding)', details: [{ field: 'url', problem: 'is not valid percent-encoding' }] }, err)
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return gwError('GW_ERR_API_VALIDATION', { problems: 'a path parameter is too long (at most 100 characters)', details: [{ field: 'url', problem: 'has a path parameter over 100 characters' }] }, err)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return gwError('GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', { contentType: sent }, err)
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_INVALID_JSON_FIELD_ERROR':
    case 'FST_PROTO_VIOLATION':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_MP_PREMATURE_CLOSE':
      return gwError('GW_ERR_API_VALIDATION', { problems: e.message, details: [{ field: 'body', problem: e.message }] }, err)
  }
  if (e instanceof SyntaxError) {
    return gwError('GW_ERR_API_VALIDATION', { problems: `body is not valid JSON: ${e.message}`, details: [{ field: 'body', problem: e.message }] }, err)
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (status === 413) return gwError('GW_ERR_API_BODY_TOO_LARGE', { limit: bodyLimit }, err)
  if (status === 415) return gwError('GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', { contentType: sent }, err)
  if (status === 404) return gwError('GW_ERR_API_NOT_FOUND', { what: 'resource' }, err)
  if (status === 429) return gwError('GW_ERR_API_RATE_LIMITED', { retryAfter: 'a moment' }, err)
  if (status >= 400 && status < 500) {
    return gwError('GW_ERR_API_VALIDATION', { problems: e?.message ?? 'bad request', details: [{ field: 'request', problem: e?.message }] }, err)
  }
  return gwError('GW_ERR_API_INTERNAL', {}, err)
}

/** The response body of an error; 5xx messages do not leak internals. */
export function errorBody(ge: GatewayError, requestId: string): ErrorBody {
  if (ge.httpStatus >= 500) {
    // keep the catalogue's fixed part ("store unavailable"), drop the parameters that may hold internals
    const fixed = ERRORS[ge.code].message.split(':')[0]?.replace(/\s*\{\w+\}/g, '').trim() || 'internal error'
    return { code: ge.code, message: `${fixed} (request id ${requestId})`, hint: ERRORS[ge.code].solve, doc: errorDoc(ge.code) }
  }
  const body: ErrorBody = { code: ge.code, message: ge.message, hint: ERRORS[ge.code].solve, doc: errorDoc(ge.code) }
  const details = ge.params.details ?? ge.params.list
  if (details !== undefined) body.details = details
  return body
}

/**
 * Fastify's `frameworkErrors`: the errors its router raises before any route or hook runs (a broken
 * percent-encoding, a path parameter over maxParamLength, an async constraint) answer `{ code, message }` like
 * every other error, never Fastify's own shape.
 */
export function frameworkErrors(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const ge = toGatewayError(err, 0)
  req.log.info({ code: ge.code, message: ge.message }, 'request refused')
  void reply.code(ge.httpStatus).type('application/json; charset=utf-8').send(errorBody(ge, req.id))
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number, fileLimit: number = bodyLimit): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const ge = toGatewayError(err, bodyLimit, fileLimit, req.headers['content-type'])
    if (ge.httpStatus >= 500) req.log.error({ err, code: ge.code, reqId: req.id }, 'request failed')
    else req.log.info({ code: ge.code, message: ge.message }, 'request refused')
    if ((ge.code === 'GW_ERR_API_RATE_LIMITED' || ge.code === 'GW_ERR_API_ACCOUNT_LOCKED' || ge.code === 'GW_ERR_API_BUSY') && ge.params.retryAfterSeconds !== undefined) {
      reply.header('retry-after', String(ge.params.retryAfterSeconds))
    }
    // a signing token that is down comes back by itself (src/signature/pkcs11.ts): what still fails on it (sends
    // wait in the outbox instead, src/pipeline/outbox.ts) is tried again later
    if (ge.code === 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE' || ge.code === 'GW_ERR_SIGNATURE_TSA_UNAVAILABLE' || ge.code === 'GW_ERR_SIGNATURE_TSA') reply.header('retry-after', '5')
    if (ge.code === 'GW_ERR_API_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="lienthong"')
    return reply.code(ge.httpStatus).type('application/json; charset=utf-8').send(errorBody(ge, req.id))
  })
  app.setNotFoundHandler((req, reply) => {
    const ge = gwError('GW_ERR_API_NOT_FOUND', { what: `route ${req.method} ${req.url.split('?')[0]}` })
    return reply.code(404).send(errorBody(ge, req.id))
  })
}
