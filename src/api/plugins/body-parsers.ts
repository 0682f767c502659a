/**
 * Request bodies:
 * - application/json: parsed with Fastify's own (prototype-poisoning safe) JSON parser; the SHA-256 of the raw
 *   bytes is kept as `req.bodySha256` (the Idempotency-Key check compares it).
 * - application/xml, text/xml: kept as the exact bytes (a Buffer); a prebuilt edXML package is relayed unchanged.
 * - multipart/form-data: @fastify/multipart (registered in app.ts); the route reads the parts as a stream, each file
 *   up to limits.attachmentBytes, and all parts together up to limits.multipartBytes: a Content-Length over it is
 *   refused before the body is read (installMultipartLimit), and while streaming the route counts every chunk
 *   (multipartCounter) and stops reading at the first byte past it, so refusing costs no more than what was read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { sha256Hex } from '../../encoding.js'
import { gwError } from '../../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the raw body, for JSON and XML bodies. */
    bodySha256?: string
  }
}

/** The request's media type, lower case, without parameters (`multipart/form-data; boundary=…` → `multipart/form-data`). */
export const mediaType = (req: FastifyRequest): string => String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()

export function installBodyParsers(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'error')
  app.decorateRequest('bodySha256', undefined)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer
    req.bodySha256 = sha256Hex(buf)
    // Fastify's parser guards against prototype poisoning by scanning the text; a native byte search tells first
    // whether there is anything to guard against (large base64 bodies never contain these words)
    if (buf.length > 0 && !buf.includes('__proto__') && !buf.includes('constructor')) {
      try {
        done(null, JSON.parse(buf.toString('utf8')))
      } catch (e) {
        done(Object.assign(e as Error, { statusCode: 400 }), undefined)
      }
      return
    }
    jsonParser(req, buf.toString('utf8'), done)
  })
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer
    req.bodySha256 = sha256Hex(buf)
    done(null, buf)
  })
}

/**
 * The running total of a multipart request's parts (file chunks and field values, as they are read): throws
 * GW_ERR_API_BODY_TOO_LARGE (413) at once when it passes `limit` (limits.multipartBytes).
 */
export function multipartCounter(limit: number): (bytes: number, field: string) => void {
  let total = 0
  return (bytes, field) => {
    total += bytes
    if (total > limit) {
      throw gwError('GW_ERR_API_BODY_TOO_LARGE', { limit, field, reason: `the parts add up to more than limits.multipartBytes (${limit})` })
    }
  }
}

/** A multipart request whose Content-Length is over limits.multipartBytes is refused before its body is read. */
export function installMultipartLimit(app: FastifyInstance, limit: number): void {
  app.addHook('onRequest', async (req) => {
    if (mediaType(req) !== 'multipart/form-data') return
    const len = Number(req.headers['content-length'])
    if (Number.isFinite(len) && len > limit) throw gwError('GW_ERR_API_BODY_TOO_LARGE', { limit, size: len })
  })
}
