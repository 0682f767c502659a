/**
 * The error catalogue, served: `GET /v1/errors` lists every code and `GET /v1/errors/:code` one. Public (no key):
 * every error body's `doc` links here, so a DMS developer can read what a code means and how to solve it.
 */
import type { FastifyInstance } from 'fastify'
import { ERRORS, gwError, type ErrorCode } from '../../errors.js'

const entry = (code: ErrorCode) => {
  const d = ERRORS[code]
  return { code, httpStatus: d.httpStatus, retryable: d.retryable, message: d.message, hint: d.solve }
}

const entrySchema = {
  type: 'object',
  required: ['code', 'httpStatus', 'retryable', 'message', 'hint'],
  properties: { code: { type: 'string' }, httpStatus: { type: 'integer' }, retryable: { type: 'boolean' }, message: { type: 'string' }, hint: { type: 'string' } },
} as const

export async function errorRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/v1/errors',
    { schema: { tags: ['errors'], summary: 'The error catalogue: every code, its HTTP status and how to solve it', response: { 200: { type: 'object', properties: { items: { type: 'array', items: entrySchema } } } } } },
    async () => ({ items: (Object.keys(ERRORS) as ErrorCode[]).map(entry) }),
  )
  app.get<{ Params: { code: string } }>(
    '/v1/errors/:code',
    {
      schema: {
        tags: ['errors'],
        summary: 'One error code: what it means and how to solve it',
        params: { type: 'object', properties: { code: { type: 'string', maxLength: 100 } } },
        response: { 200: entrySchema },
      },
    },
    async (req) => {
      const code = req.params.code.toUpperCase()
      if (!Object.hasOwn(ERRORS, code)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `error code ${req.params.code}` })
      return entry(code as ErrorCode)
    },
  )
}
