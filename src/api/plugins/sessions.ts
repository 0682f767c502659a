/**
 * Operators who log in with a password (config `operators[].passwordHash`, made by `lienthong operator add`):
 *
 * - `login(id, password)`: checks the scrypt hash (src/passwords.ts; an unknown name is checked against a dummy
 *   hash, so it costs the same time and gets the same answer), and opens a session: a random 256-bit token the
 *   console sends as `Authorization: Bearer <token>`. Only the token's SHA-256 is kept, in memory: a restart ends
 *   every session (operators log in again), and each gateway process has its own.
 * - A session ends `operatorLogin.sessionMinutes` after the login, after `idleMinutes` without a request, or at
 *   logout; its end is told apart from an unknown token (GW_ERR_API_SESSION_EXPIRED, so the console can say so).
 * - Lockout: `maxFailures` wrong passwords in a row lock the name for `lockoutMinutes`; while locked every login is
 *   refused, with the right password too (GW_ERR_API_ACCOUNT_LOCKED, 423); an admin can unlock it. A success
 *   clears the count. Names that are not accounts are counted too (at most 10 000 of them are remembered).
 */
import { randomBytes } from 'node:crypto'
import type { Config, OperatorConfig, OperatorRole } from '../../config.js'
import { sha256Hex } from '../../encoding.js'
import { gwError } from '../../errors.js'
import { DUMMY_HASH, verifyPassword } from '../../passwords.js'

export interface Session {
  readonly operatorId: string
  readonly name?: string
  readonly role: OperatorRole
  readonly createdAt: Date
  readonly expiresAt: Date
  lastSeen: Date
}

export interface AccountView {
  id: string
  name?: string
  role: OperatorRole
  /** `password`: a person who logs in; `key`: an API key. */
  kind: 'password' | 'key'
  failures: number
  lockedUntil?: string
  sessions: number
}

const MAX_TRACKED = 10_000
const MAX_SESSIONS_PER_OPERATOR = 20

export class OperatorSessions {
  readonly #accounts = new Map<string, OperatorConfig>()
  readonly #all: readonly OperatorConfig[]
  readonly #sessions = new Map<string, Session>()
  /** Ended sessions (token hash → why), so that a late request hears "expired", not "unknown"; bounded. */
  readonly #ended = new Map<string, string>()
  readonly #failures = new Map<string, { count: number; lockedUntil?: Date }>()
  readonly #cfg: Config['operatorLogin']
  readonly #clock: () => Date

  constructor(config: Pick<Config, 'operators' | 'operatorLogin'>, clock: () => Date = () => new Date()) {
    this.#all = config.operators
    for (const o of config.operators) if (o.passwordHash) this.#accounts.set(o.id, o)
    this.#cfg = config.operatorLogin ?? { sessionMinutes: 480, idleMinutes: 60, maxFailures: 5, lockoutMinutes: 15 }
    this.#clock = clock
  }

  /** A new session for the operator, or GW_ERR_API_LOGIN_FAILED / GW_ERR_API_ACCOUNT_LOCKED. */
  async login(id: string, password: string): Promise<{ token: string; session: Session }> {
    const now = this.#clock()
    const f = this.#failures.get(id)
    if (f?.lockedUntil && f.lockedUntil > now) {
      throw gwError('GW_ERR_API_ACCOUNT_LOCKED', { id, failures: f.count, until: f.lockedUntil.toISOString(), retryAfterSeconds: Math.ceil((f.lockedUntil.getTime() - now.getTime()) / 1000) })
    }
    const account = this.#accounts.get(id)
    const ok = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH)
    if (!ok || !account) {
      const count = (f?.lockedUntil ? 0 : (f?.count ?? 0)) + 1
      const entry: { count: number; lockedUntil?: Date } = { count }
      if (count >= this.#cfg.maxFailures) entry.lockedUntil = new Date(now.getTime() + this.#cfg.lockoutMinutes * 60_000)
      this.#failures.delete(id)
      this.#failures.set(id, entry)
      if (this.#failures.size > MAX_TRACKED) this.#failures.delete(this.#failures.keys().next().value as string)
      if (entry.lockedUntil) {
        throw gwError('GW_ERR_API_ACCOUNT_LOCKED', { id, failures: count, until: entry.lockedUntil.toISOString(), retryAfterSeconds: this.#cfg.lockoutMinutes * 60 })
      }
      throw gwError('GW_ERR_API_LOGIN_FAILED', { attemptsLeft: this.#cfg.maxFailures - count })
    }
    this.#failures.delete(id)
    this.#prune(now)
    const mine = [...this.#sessions.entries()].filter(([, s]) => s.operatorId === id)
    if (mine.length >= MAX_SESSIONS_PER_OPERATOR) this.#end(mine[0]![0], 'too many sessions')
    const token = `lts_${randomBytes(32).toString('base64url')}`
    const session: Session = {
      operatorId: id,
      ...(account.name ? { name: account.name } : {}),
      role: account.role ?? 'operator',
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.#cfg.sessionMinutes * 60_000),
      lastSeen: now,
    }
    this.#sessions.set(sha256Hex(token), session)
    return { token, session }
  }

  /**
   * The session of a bearer token's hash, its idle time renewed; undefined for a token that never was one;
   * GW_ERR_API_SESSION_EXPIRED for one that ended.
   */
  lookup(tokenHash: string): Session | undefined {
    const s = this.#sessions.get(tokenHash)
    if (!s) {
      const why = this.#ended.get(tokenHash)
      if (why) throw gwError('GW_ERR_API_SESSION_EXPIRED', { reason: why })
      return undefined
    }
    const now = this.#clock()
    if (now >= s.expiresAt) {
      this.#end(tokenHash, `${this.#cfg.sessionMinutes} minutes after the login`)
      throw gwError('GW_ERR_API_SESSION_EXPIRED', { reason: `${this.#cfg.sessionMinutes} minutes after the login` })
    }
    if (now.getTime() - s.lastSeen.getTime() >= this.#cfg.idleMinutes * 60_000) {
      this.#end(tokenHash, `${this.#cfg.idleMinutes} minutes without a request`)
      throw gwError('GW_ERR_API_SESSION_EXPIRED', { reason: `${this.#cfg.idleMinutes} minutes without a request` })
    }
    s.lastSeen = now
    return s
  }

  logout(tokenHash: string): boolean {
    if (!this.#sessions.has(tokenHash)) return false
    this.#end(tokenHash, 'logged out')
    return true
  }

  /** Ends every session of the operator (admin); returns how many. */
  endSessionsOf(id: string): number {
    let n = 0
    for (const [h, s] of [...this.#sessions]) {
      if (s.operatorId === id) {
        this.#end(h, 'ended by an admin')
        n++
      }
    }
    return n
  }

  /** Clears the wrong-password count and lock of a name; false when it had none. */
  unlock(id: string): boolean {
    return this.#failures.delete(id)
  }

  has(id: string): boolean {
    return this.#all.some((o) => o.id === id)
  }

  accounts(): AccountView[] {
    const now = this.#clock()
    this.#prune(now)
    return this.#all.map((o) => {
      const f = this.#failures.get(o.id)
      const locked = f?.lockedUntil && f.lockedUntil > now ? f.lockedUntil.toISOString() : undefined
      return {
        id: o.id,
        ...(o.name ? { name: o.name } : {}),
        role: o.role ?? 'operator',
        kind: o.passwordHash ? 'password' : 'key',
        failures: f?.count ?? 0,
        ...(locked ? { lockedUntil: locked } : {}),
        sessions: [...this.#sessions.values()].filter((s) => s.operatorId === o.id).length,
      }
    })
  }

  #end(tokenHash: string, why: string): void {
    this.#sessions.delete(tokenHash)
    this.#ended.set(tokenHash, why)
    if (this.#ended.size > MAX_TRACKED) this.#ended.delete(this.#ended.keys().next().value as string)
  }

  #prune(now: Date): void {
    for (const [h, s] of this.#sessions) {
      if (now >= s.expiresAt || now.getTime() - s.lastSeen.getTime() >= this.#cfg.idleMinutes * 60_000) this.#end(h, 'expired')
    }
  }
}
