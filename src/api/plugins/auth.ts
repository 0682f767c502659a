/**
 * `Authorization: Bearer <key or session token>`.
 *
 * - API keys: hashed (SHA-256) and compared in constant time (crypto.timingSafeEqual) against every configured
 *   hash, all of them every time, so neither the result nor the position of the matching entry shows in the
 *   timing. Keys themselves are never stored or logged. A key belongs either to a DMS client bound to one hosted
 *   agency (OrganId), or to an operator (config `operators[].keySha256`, a tool's key).
 * - Session tokens of operators who logged in with their password (./sessions.ts), looked up by their SHA-256.
 *
 * An operator has a role: `viewer` reads, `operator` also replays and discards, `admin` also manages the accounts.
 * Routes declare `config: { auth, role? }`; `role` is the least role an operator needs (default viewer).
 *
 * Guessing keys is rate limited per client address (req.ip; behind a proxy only with http.trustProxy): after
 * limits.authFailuresPerMinute failed authentications (no key, unknown key) in a minute, every request from that
 * address to a route that needs a key is answered 429 GW_ERR_API_RATE_LIMITED (Retry-After) until the minute is
 * over, whatever key it carries, so a guess that happens to be right teaches nothing. The per-key budget of
 * @fastify/rate-limit (app.ts) cannot do this: every wrong key is a budget of its own.
 */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config, OperatorRole } from '../../config.js'
import { sha256Hex } from '../../encoding.js'
import { gwError } from '../../errors.js'
import type { OperatorSessions } from './sessions.js'

export type Principal =
  | { readonly kind: 'client'; readonly id: string; readonly organId: string }
  | { readonly kind: 'operator'; readonly id: string; readonly role: OperatorRole; readonly name?: string; readonly via: 'key' | 'session' }

export const ROLES: readonly OperatorRole[] = ['viewer', 'operator', 'admin']

/** Whether `have` allows what `need` does (viewer < operator < admin). */
export const roleAllows = (have: OperatorRole, need: OperatorRole): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need)

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that require a key (config.auth). */
    principal?: Principal
    /** Hex SHA-256 of the bearer key (also the rate-limit key); undefined without a bearer key. */
    keyHash?: string
  }
  interface FastifyContextConfig {
    /** Who may call the route: any key, client keys only, operator keys only; absent: public. */
    auth?: 'any' | 'client' | 'operator'
    /** The least role an operator needs for the route (default viewer: every operator). */
    role?: OperatorRole
  }
}

/** The bearer key of a request, or undefined. */
export function bearerKey(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (typeof h !== 'string') return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
  return m?.[1]
}

/** Hash of the bearer key, computed once per request. */
export function keyHashOf(req: FastifyRequest): string | undefined {
  if (req.keyHash === undefined) {
    const key = bearerKey(req)
    if (key !== undefined) req.keyHash = sha256Hex(key)
  }
  return req.keyHash
}

interface Entry {
  hash: Buffer
  principal: Principal
}

export function createKeyTable(config: Config): (keyHashHex: string) => Principal | undefined {
  const entries: Entry[] = []
  for (const a of config.agencies) {
    for (const c of a.clients) entries.push({ hash: Buffer.from(c.keySha256, 'hex'), principal: Object.freeze({ kind: 'client', id: c.id, organId: a.organId }) })
  }
  for (const o of config.operators) {
    if (!o.keySha256) continue
    entries.push({ hash: Buffer.from(o.keySha256, 'hex'), principal: Object.freeze({ kind: 'operator', id: o.id, role: o.role ?? 'operator', ...(o.name ? { name: o.name } : {}), via: 'key' }) })
  }
  return (keyHashHex) => {
    const h = Buffer.from(keyHashHex, 'hex')
    if (h.length !== 32) return undefined
    let found: Principal | undefined
    for (const e of entries) {
      // no early exit: every entry is compared
      if (timingSafeEqual(e.hash, h) && found === undefined) found = e.principal
    }
    return found
  }
}

/**
 * Failed authentications per address in fixed one-minute windows; `blocked` gives the seconds left when the
 * address used up its failures. At most `maxAddresses` are tracked (the oldest window is dropped first).
 */
export function failureCounter(perMinute: number, now: () => number = Date.now, maxAddresses = 50_000) {
  const windows = new Map<string, { start: number; failures: number }>()
  const current = (addr: string) => {
    const t = now()
    const w = windows.get(addr)
    if (w && t - w.start < 60_000) return w
    if (w) windows.delete(addr)
    return undefined
  }
  return {
    /** Seconds until the address may try again, or 0. */
    blocked(addr: string): number {
      const w = current(addr)
      return w && w.failures >= perMinute ? Math.max(1, Math.ceil((w.start + 60_000 - now()) / 1000)) : 0
    },
    fail(addr: string): void {
      const w = current(addr)
      if (w) w.failures++
      else {
        windows.set(addr, { start: now(), failures: 1 })
        if (windows.size > maxAddresses) windows.delete(windows.keys().next().value!)
      }
    },
  }
}

/** Adds the onRequest hook that authenticates routes declaring `config.auth`. */
export function installAuth(app: FastifyInstance, config: Config, sessions?: OperatorSessions): void {
  const lookup = createKeyTable(config)
  const failures = failureCounter(config.limits.authFailuresPerMinute)
  app.decorateRequest('principal', undefined)
  app.decorateRequest('keyHash', undefined)
  app.addHook('onRequest', async (req) => {
    const need = req.routeOptions.config?.auth
    if (need === undefined) return
    const wait = failures.blocked(req.ip)
    if (wait > 0) throw gwError('GW_ERR_API_RATE_LIMITED', { retryAfter: `${wait} s (too many failed authentications from ${req.ip})`, retryAfterSeconds: wait })
    const hash = keyHashOf(req)
    let principal = hash === undefined ? undefined : lookup(hash)
    if (principal === undefined && hash !== undefined && sessions) {
      const s = sessions.lookup(hash)
      if (s) principal = { kind: 'operator', id: s.operatorId, role: s.role, ...(s.name ? { name: s.name } : {}), via: 'session' }
    }
    if (principal === undefined) {
      failures.fail(req.ip)
      throw gwError('GW_ERR_API_UNAUTHORIZED')
    }
    if (need === 'client' && principal.kind !== 'client') {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: 'this route needs a DMS client key bound to an agency, not an operator key' })
    }
    if (need === 'operator' && principal.kind !== 'operator') {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: 'this route needs an operator key' })
    }
    const role = req.routeOptions.config?.role
    if (role && principal.kind === 'operator' && !roleAllows(principal.role, role)) {
      throw gwError('GW_ERR_API_FORBIDDEN', { reason: `this action needs the ${role} role; operator ${principal.id} is ${principal.role}` })
    }
    req.principal = principal
  })
}
