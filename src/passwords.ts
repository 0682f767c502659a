/**
 * Operator passwords, stored hashed with scrypt (node:crypto, RFC 7914: memory-hard, maintained with Node itself,
 * nothing to install). The stored form names its parameters, so they can be raised later without breaking the
 * hashes already in a config file:
 *
 *     scrypt$ln=15,r=8,p=1$<salt, base64url, 16 bytes>$<key, base64url, 32 bytes>
 *
 * `ln` is log2 of scrypt's N (cost); 15 (N = 32768, 32 MiB of memory) takes about 50-100 ms on a server core, so a
 * login is cheap for a person and guessing is slow. Checks compare in constant time.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))))

export const PASSWORD_HASH = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/

/** The shortest password `lienthong operator add` accepts. */
export const MIN_PASSWORD_LENGTH = 12

export interface ScryptParams {
  ln: number
  r: number
  p: number
}

export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 }

const maxmem = (q: ScryptParams) => 128 * q.r * 2 ** q.ln * 2 + 1024 * 1024

/** The stored form of a new password (a fresh random salt each time). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password.normalize('NFC'), salt, 32, { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: maxmem(params) })
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Whether `password` is the one `stored` was made from; false for a malformed stored form. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PASSWORD_HASH.exec(stored)
  if (!m) return false
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
  if (params.ln < 10 || params.ln > 20 || params.r < 1 || params.p < 1) return false
  const salt = Buffer.from(m[4]!, 'base64url')
  const want = Buffer.from(m[5]!, 'base64url')
  const got = await scrypt(password.normalize('NFC'), salt, want.length, { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: maxmem(params) })
  return timingSafeEqual(got, want)
}

/** A hash no password matches, checked for unknown names so that a wrong name costs as much time as a wrong password. */
export const DUMMY_HASH = `scrypt$ln=${DEFAULT_SCRYPT.ln},r=8,p=1$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`
