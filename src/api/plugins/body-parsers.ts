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
import type { Readable } from 'node:stream'
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

/**
 * Read a request body into one buffer as it arrives, for a route whose body goes to a worker thread whole: with a
 * Content-Length the buffer is allocated once at that size and every chunk is copied to its place (no list of
 * chunks, no concatenation at the end, a buffer of its own that can be transferred to a worker); without one it
 * grows by doubling. Past `limit` (or past the declared length) reading stops at once: 413
 * GW_ERR_API_BODY_TOO_LARGE naming `setting`; a body shorter than its Content-Length is GW_ERR_API_VALIDATION.
 */
export function collectBody(req: FastifyRequest, payload: Readable, limit: number, setting: string, done: (err: Error | null, body?: Buffer) => void): void {
  const declared = Number(req.headers['content-length'])
  const known = Number.isSafeInteger(declared) && declared >= 0
  const tooLarge = (size?: number) => gwError('GW_ERR_API_BODY_TOO_LARGE', { what: 'the request body', limit, setting, ...(size !== undefined ? { size } : {}) })
  if (known && declared > limit) return done(tooLarge(declared))
  let buf = Buffer.allocUnsafeSlow(known ? declared : Math.min(limit, 64 * 1024))
  let n = 0
  const stop = () => {
    payload.removeListener('data', onData)
    payload.removeListener('end', onEnd)
    payload.removeListener('error', onError)
  }
  const onData = (chunk: Buffer | string) => {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (n + c.length > limit) {
      stop()
      return done(tooLarge())
    }
    if (n + c.length > buf.length) {
      if (known) {
        stop()
        return done(gwError('GW_ERR_API_VALIDATION', { problems: `the body is longer than its Content-Length (${declared})`, details: [{ field: 'body', problem: 'is longer than its Content-Length' }] }))
      }
      const grown = Buffer.allocUnsafeSlow(Math.min(limit, Math.max(buf.length * 2, n + c.length)))
      buf.copy(grown, 0, 0, n)
      buf = grown
    }
    c.copy(buf, n)
    n += c.length
  }
  const onEnd = () => {
    stop()
    if (known && n !== declared) {
      return done(gwError('GW_ERR_API_VALIDATION', { problems: `the body has ${n} bytes, its Content-Length says ${declared}`, details: [{ field: 'body', problem: 'is shorter than its Content-Length' }] }))
    }
    done(null, n === buf.length ? buf : buf.subarray(0, n))
  }
  const onError = (e: Error) => {
    stop()
    const status = (e as Error & { statusCode?: unknown }).statusCode
    done(Object.assign(e, { statusCode: typeof status === 'number' ? status : 400 }))
  }
  payload.on('data', onData)
  payload.on('end', onEnd)
  payload.on('error', onError)
  payload.resume()
}
