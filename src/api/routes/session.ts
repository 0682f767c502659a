/**
 * Personal operator accounts (../plugins/sessions.ts):
 *
 * - `POST /v1/operator/login` `{ id, password }` (no key): a session token for `Authorization: Bearer`, its end
 *   time and who logged in; 401 GW_ERR_API_LOGIN_FAILED, 423 GW_ERR_API_ACCOUNT_LOCKED (with Retry-After).
 * - `POST /v1/operator/logout`: ends the session the request came with.
 * - `GET /v1/operator/me`: who the key or session is, with their role (the console shows it and hides what the role
 *   may not do; the routes refuse it anyway).
 * - admin: `GET /v1/operator/accounts` (every operator, kind, role, wrong-password count, lock, open sessions),
 *   `POST /v1/operator/accounts/:id/unlock`, `POST /v1/operator/accounts/:id/logout` (ends all their sessions).
 *
 * Logins, failures, lockouts and admin actions are written to the gateway's own log with the operator's id (never
 * the password).
 */
import type { FastifyInstance } from 'fastify'
import { gwError } from '../../errors.js'
import type { Principal } from '../plugins/auth.js'
import { keyHashOf } from '../plugins/auth.js'
import type { OperatorSessions } from '../plugins/sessions.js'
import { itemsOf, ref } from '../schemas.js'

export interface SessionRoutesOptions {
  sessions: OperatorSessions
}

const errors = { 400: ref('Error'), 401: ref('Error'), 403: ref('Error'), 404: ref('Error'), 423: ref('Error'), 429: ref('Error') }

const operatorView = {
  type: 'object',
  required: ['id', 'role'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
    via: { type: 'string', enum: ['key', 'session'] },
  },
}

export async function sessionRoutes(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  const { sessions } = opts

  app.post<{ Body: { id: string; password: string } }>(
    '/v1/operator/login',
    {
      schema: {
        tags: ['operators'],
        summary: 'Log in with a personal operator account: a session token for Authorization: Bearer',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'password'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['token', 'expiresAt', 'operator'],
            properties: { token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' }, idleMinutes: { type: 'integer' }, operator: operatorView },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { id, password } = req.body
      try {
        const { token, session } = await sessions.login(id, password)
        req.log.info({ operator: id, role: session.role }, 'operator logged in')
        return {
          token,
          expiresAt: session.expiresAt.toISOString(),
          operator: { id: session.operatorId, ...(session.name ? { name: session.name } : {}), role: session.role, via: 'session' },
        }
      } catch (e) {
        req.log.warn({ operator: id, code: (e as { code?: string }).code }, 'operator login refused')
        throw e
      }
    },
  )

  app.post(
    '/v1/operator/logout',
    { config: { auth: 'operator' }, schema: { tags: ['operators'], summary: 'End this session', response: { 200: { type: 'object', properties: { ended: { type: 'boolean' } } }, ...errors } } },
    async (req) => {
      const p = req.principal as Extract<Principal, { kind: 'operator' }>
      const ended = p.via === 'session' ? sessions.logout(keyHashOf(req) as string) : false
      if (ended) req.log.info({ operator: p.id }, 'operator logged out')
      return { ended }
    },
  )

  app.get(
    '/v1/operator/me',
    { config: { auth: 'operator' }, schema: { tags: ['operators'], summary: 'Who this key or session is, and their role', response: { 200: operatorView, ...errors } } },
    async (req) => {
      const p = req.principal as Extract<Principal, { kind: 'operator' }>
      return { id: p.id, ...(p.name ? { name: p.name } : {}), role: p.role, via: p.via }
    },
  )

  app.get(
    '/v1/operator/accounts',
    {
      config: { auth: 'operator', role: 'admin' },
      schema: {
        tags: ['operators'],
        summary: 'Every operator: kind, role, wrong passwords in a row, lock, open sessions (admin)',
        response: {
          200: itemsOf(['id', 'role', 'kind', 'failures', 'sessions'], {
            id: { type: 'string' },
            name: { type: 'string' },
            role: { type: 'string' },
            kind: { type: 'string', enum: ['password', 'key'] },
            failures: { type: 'integer' },
            lockedUntil: { type: 'string', format: 'date-time' },
            sessions: { type: 'integer' },
          }),
          ...errors,
        },
      },
    },
    async () => ({ items: sessions.accounts() }),
  )

  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } }

  app.post<{ Params: { id: string } }>(
    '/v1/operator/accounts/:id/unlock',
    {
      config: { auth: 'operator', role: 'admin' },
      schema: { tags: ['operators'], summary: 'Clear the wrong-password count and lock of an account (admin)', params: idParams, response: { 200: { type: 'object', properties: { id: { type: 'string' }, unlocked: { type: 'boolean' } } }, ...errors } },
    },
    async (req) => {
      const { id } = req.params
      if (!sessions.has(id)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `operator ${id}` })
      const unlocked = sessions.unlock(id)
      req.log.info({ operator: id, by: (req.principal as Principal).id, unlocked }, 'operator account unlocked')
      return { id, unlocked }
    },
  )

  app.post<{ Params: { id: string } }>(
    '/v1/operator/accounts/:id/logout',
    {
      config: { auth: 'operator', role: 'admin' },
      schema: { tags: ['operators'], summary: 'End every session of an operator (admin)', params: idParams, response: { 200: { type: 'object', properties: { id: { type: 'string' }, ended: { type: 'integer' } } }, ...errors } },
    },
    async (req) => {
      const { id } = req.params
      if (!sessions.has(id)) throw gwError('GW_ERR_API_NOT_FOUND', { what: `operator ${id}` })
      const ended = sessions.endSessionsOf(id)
      req.log.info({ operator: id, by: (req.principal as Principal).id, ended }, 'operator sessions ended by an admin')
      return { id, ended }
    },
  )
}
