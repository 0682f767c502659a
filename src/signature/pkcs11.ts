/**
 * Signing keys held in a PKCS#11 token or HSM, through the maintained `pkcs11js` binding (loaded only when a
 * token is configured). The private key never leaves the token: the signed attributes are hashed here (SHA-256)
 * and the token signs the hash (CKM_RSA_PKCS over the DER DigestInfo, or CKM_ECDSA over the hash, whose raw r‖s
 * is DER-encoded for CMS).
 *
 * - The module is loaded and initialised once per process and path; each key opens its sessions on its token,
 *   logs in once (a login holds for every session of the application) and reuses them. At most `maxSessions`
 *   signatures are in the token at once (each in its own session, `C_SignAsync` on libuv's pool); more wait.
 * - A token error while signing (session closed, token removed, device error...) closes every session of the key
 *   and reopens: the slot is found again by its token label (a re-inserted token may get a new slot), a session
 *   is opened, the user logged in, the key found again. Callers wait up to `unavailableWaitMs` for the token to
 *   come back, then get GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE (retryable; the outbox then stores the package awaiting
 *   its signature, signed by src/pipeline/resigner.ts once the token is back). `status()` says whether the token
 *   is usable now, since when, and why not.
 * - `probe()` (called every few seconds by src/pipeline/trust-watch.ts) asks the token for its information when it
 *   is up, so a token pulled out while nothing is signed is marked down at once, and tries to reopen it when it is
 *   down, so it is back before the next signature needs it.
 * - A module may not see a token again once it was gone (SoftHSM2 keeps a removed token's slot broken until the
 *   library is initialised again): when reopening fails, the module is finalised and initialised again (at most
 *   every 5 reopen intervals, never while a signature is in a token of that module); every key of that module then
 *   opens its sessions again.
 * - At start (`openPkcs11Key`): a module that does not load is GW_ERR_SIGNATURE_TOKEN_MODULE, no such token or no
 *   such key GW_ERR_SIGNATURE_TOKEN_NOT_FOUND, a refused PIN GW_ERR_SIGNATURE_TOKEN_PIN. A first signature is made
 *   and verified with the certificate's key, so a key that does not match its certificate stops the start too.
 */
import { createHash, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { gwError, isGatewayError } from '../errors.js'
import type * as Pkcs11Js from 'pkcs11js'

type Lib = typeof Pkcs11Js
type Module = Pkcs11Js.PKCS11
type Handle = Buffer

export interface Pkcs11KeyOptions {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string
  /** Token label (as set at initialisation); or `slot`. */
  tokenLabel?: string
  /** Slot ID, when no label is given (or to pick one of several tokens with the same label). */
  slot?: number
  /** CKA_LABEL of the private key; or `keyId`. */
  keyLabel?: string
  /** CKA_ID of the private key, hex. */
  keyId?: string
  /** User PIN. */
  pin: string
  /** Most signatures in the token at once (one session each). Default 4. */
  maxSessions?: number
  /** How long a signature waits for a failed token to come back before GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE. Default 10 s. */
  unavailableWaitMs?: number
  /** Pause between two reopen attempts while the token is down. Default 1 s. */
  reopenIntervalMs?: number
  /** Used to name the token in messages (e.g. the agency). */
  name?: string
  /**
   * Wraps the module's functions (tests inject faults over the real token with it): receives the loaded module
   * and returns the object the key calls.
   */
  wrap?: (m: Module) => Module
}

export interface TokenStatus {
  readonly ok: boolean
  /** Why the token is not usable (the last error). */
  readonly detail?: string
  /** Since when the token has been in this state (ISO). */
  readonly since: string
  readonly signatures: number
  readonly errors: number
  readonly reopens: number
}

export interface Pkcs11Key {
  /** `rsa` or `ec` (CKA_KEY_TYPE). */
  readonly keyKind: 'rsa' | 'ec'
  /** The certificate stored in the token with the key (same CKA_ID, else same label), DER, when there is one. */
  readonly certificateDer?: Buffer
  /** A CMS signature value (SHA-256) over `data`, made in the token. */
  sign(data: Uint8Array): Promise<Buffer>
  /** Checks the token signs for `publicKey` (a signature over random bytes, verified here). */
  checkKey(publicKey: KeyObject): Promise<void>
  status(): TokenStatus
  /** Asks the token whether it is still there (marks it down if not), or tries to reopen it when it is down. */
  probe(): Promise<void>
  close(): void
}

const require = createRequire(import.meta.url)
let lib: Lib | undefined
const modules = new Map<string, Module>()
/** Per module path: re-initialisations so far, signatures in progress, when it was last re-initialised. */
const moduleState = new Map<string, { gen: number; inflight: number; reinitAt: number }>()
const stateOf = (path: string) => {
  let st = moduleState.get(path)
  if (!st) moduleState.set(path, (st = { gen: 0, inflight: 0, reinitAt: 0 }))
  return st
}
/**
 * The PIN each token (module + slot) was logged in with in this process: a PKCS#11 login holds for the whole
 * application, so a second key on the same token gets CKR_USER_ALREADY_LOGGED_IN whatever PIN it gives; its PIN is
 * compared with this one instead, so a wrong PIN in the configuration is still found at start.
 */
const logins = new Map<string, string>()

function loadLib(): Lib {
  lib ??= require('pkcs11js') as Lib
  return lib
}

/** The module at `path`, loaded and initialised once per process. */
function moduleAt(path: string): Module {
  const known = modules.get(path)
  if (known) return known
  let L: Lib
  try {
    L = loadLib()
  } catch (e) {
    throw gwError('GW_ERR_SIGNATURE_TOKEN_MODULE', { module: path, reason: `the pkcs11js binding does not load (${(e as Error).message})` }, e)
  }
  const m = new L.PKCS11()
  try {
    m.load(path)
  } catch (e) {
    throw gwError('GW_ERR_SIGNATURE_TOKEN_MODULE', { module: path, reason: (e as Error).message }, e)
  }
  try {
    m.C_Initialize({ flags: L.CKF_OS_LOCKING_OK })
  } catch (e) {
    if (ckr(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw gwError('GW_ERR_SIGNATURE_TOKEN_MODULE', { module: path, reason: (e as Error).message }, e)
  }
  modules.set(path, m)
  return m
}

/** The CKR_ name of a PKCS#11 error, if it is one. */
export function ckr(e: unknown): string | undefined {
  const m = /CKR_[A-Z_]+/.exec(e instanceof Error ? e.message : String(e))
  return m?.[0]
}

const PIN_ERRORS = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_LEN_RANGE', 'CKR_PIN_INVALID', 'CKR_PIN_EXPIRED'])

/** DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex')

/** ECDSA raw r‖s → DER Ecdsa-Sig-Value. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2
  const int = (b: Buffer): Buffer => {
    let i = 0
    while (i < b.length - 1 && b[i] === 0) i++
    let v = b.subarray(i)
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v])
    return Buffer.concat([Buffer.from([0x02, v.length]), v])
  }
  const body = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

const handleNumber = (h: Handle): bigint => (h.length >= 8 ? h.readBigUInt64LE(0) : BigInt(h.readUInt32LE(0)))
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

class TokenKey implements Pkcs11Key {
  keyKind: 'rsa' | 'ec' = 'rsa'
  certificateDer?: Buffer
  readonly #o: Pkcs11KeyOptions
  readonly #L: Lib
  readonly #m: Module
  readonly #max: number
  readonly #label: string
  #slot?: Handle
  #key?: Handle
  /** Sessions of the current generation, idle ones ready for a signature. */
  #idle: Handle[] = []
  #open = 0
  #gen = 0
  #waiters: (() => void)[] = []
  #up = false
  #detail: string | undefined
  #since = new Date()
  #signatures = 0
  #errors = 0
  #reopens = 0
  #reopening: Promise<void> | undefined
  #lastAttempt = 0
  #closed = false
  /** The module's re-initialisation count when the sessions were opened. */
  #modGen = 0

  constructor(o: Pkcs11KeyOptions) {
    this.#o = o
    this.#L = loadLib()
    const m = moduleAt(o.module)
    this.#m = o.wrap ? o.wrap(m) : m
    this.#max = Math.max(1, o.maxSessions ?? 4)
    this.#label = `${o.name ? `${o.name}: ` : ''}${o.tokenLabel !== undefined ? `token "${o.tokenLabel}"` : `slot ${o.slot}`}, key ${o.keyLabel !== undefined ? `"${o.keyLabel}"` : `id ${o.keyId}`}`
  }

  /** First opening (start): errors keep their own code. */
  async open(): Promise<void> {
    this.#connect()
    this.#setUp(true)
  }

  #findSlot(): Handle {
    const L = this.#L
    const slots = this.#m.C_GetSlotList(true)
    for (const s of slots) {
      if (this.#o.slot !== undefined && handleNumber(s) !== BigInt(this.#o.slot)) continue
      if (this.#o.tokenLabel !== undefined) {
        const info = this.#m.C_GetTokenInfo(s)
        if (info.label.trim() !== this.#o.tokenLabel) continue
        if (!(info.flags & L.CKF_TOKEN_INITIALIZED)) continue
      }
      return s
    }
    throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: `no such token among ${slots.length} slot(s) with a token present` })
  }

  /** Finds the slot, opens one session, logs in, finds the key (and its certificate). Throws coded errors. */
  #connect(): void {
    const L = this.#L
    const m = this.#m
    let slot: Handle
    try {
      slot = this.#findSlot()
    } catch (e) {
      if (isGatewayError(e)) throw e
      throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: (e as Error).message }, e)
    }
    let session: Handle
    try {
      session = m.C_OpenSession(slot, L.CKF_SERIAL_SESSION)
    } catch (e) {
      throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: `cannot open a session (${(e as Error).message})` }, e)
    }
    try {
      const loginKey = `${this.#o.module}\0${handleNumber(slot)}`
      try {
        m.C_Login(session, L.CKU_USER, this.#o.pin)
        logins.set(loginKey, this.#o.pin)
      } catch (e) {
        const code = ckr(e)
        if (code === 'CKR_USER_ALREADY_LOGGED_IN') {
          // another key of this application on the same token logged in already
          const known = logins.get(loginKey)
          if (known !== undefined && known !== this.#o.pin) {
            throw gwError('GW_ERR_SIGNATURE_TOKEN_PIN', { token: this.#label, reason: 'CKR_PIN_INCORRECT (not the PIN this token was logged in with)' })
          }
        } else if (code && PIN_ERRORS.has(code)) {
          throw gwError('GW_ERR_SIGNATURE_TOKEN_PIN', { token: this.#label, reason: code }, e)
        } else throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: `login failed (${(e as Error).message})` }, e)
      }
      const sel: Pkcs11Js.Attribute[] = []
      if (this.#o.keyLabel !== undefined) sel.push({ type: L.CKA_LABEL, value: this.#o.keyLabel })
      if (this.#o.keyId !== undefined) sel.push({ type: L.CKA_ID, value: Buffer.from(this.#o.keyId, 'hex') })
      const keys = this.#find(session, [{ type: L.CKA_CLASS, value: L.CKO_PRIVATE_KEY }, ...sel])
      if (keys.length === 0) throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: 'no private key with that label/id in the token' })
      if (keys.length > 1) throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: `${keys.length} private keys match; give keyId as well` })
      const key = keys[0]!
      const [typeAttr, idAttr, labelAttr] = m.C_GetAttributeValue(session, key, [{ type: L.CKA_KEY_TYPE }, { type: L.CKA_ID }, { type: L.CKA_LABEL }])
      const kt = Buffer.isBuffer(typeAttr?.value) ? typeAttr.value.readUInt32LE(0) : Number(typeAttr?.value)
      if (kt === L.CKK_RSA) this.keyKind = 'rsa'
      else if (kt === L.CKK_EC) this.keyKind = 'ec'
      else throw gwError('GW_ERR_SIGNATURE_KEY', { reason: `${this.#label}: key type ${kt} is not supported; use RSA or ECDSA P-256` })
      // The certificate kept with the key: same CKA_ID, else same label.
      const idValue = idAttr?.value
      const labelValue = labelAttr?.value
      const byId = Buffer.isBuffer(idValue) && idValue.length > 0 ? this.#find(session, [{ type: L.CKA_CLASS, value: L.CKO_CERTIFICATE }, { type: L.CKA_ID, value: idValue }]) : []
      const certs = byId.length > 0 ? byId : labelValue !== undefined ? this.#find(session, [{ type: L.CKA_CLASS, value: L.CKO_CERTIFICATE }, { type: L.CKA_LABEL, value: labelValue }]) : []
      if (certs[0]) {
        const [v] = m.C_GetAttributeValue(session, certs[0], [{ type: L.CKA_VALUE }])
        if (Buffer.isBuffer(v?.value)) this.certificateDer = Buffer.from(v.value)
      }
      this.#slot = slot
      this.#key = key
      this.#modGen = stateOf(this.#o.module).gen
      this.#gen++
      this.#idle = [session]
      this.#open = 1
    } catch (e) {
      try {
        m.C_CloseSession(session)
      } catch {
        // already gone
      }
      if (isGatewayError(e)) throw e
      throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: this.#label, reason: (e as Error).message }, e)
    }
  }

  #find(session: Handle, template: Pkcs11Js.Template): Handle[] {
    this.#m.C_FindObjectsInit(session, template)
    try {
      return this.#m.C_FindObjects(session, 16)
    } finally {
      this.#m.C_FindObjectsFinal(session)
    }
  }

  #setUp(up: boolean, detail?: string): void {
    if (up !== this.#up) this.#since = new Date()
    this.#up = up
    this.#detail = up ? undefined : detail
  }

  /** Marks the token down and drops every session of the current generation. */
  #fault(e: unknown): void {
    this.#errors++
    this.#setUp(false, isGatewayError(e) ? e.message : (e as Error).message)
    this.#gen++
    this.#idle = []
    this.#open = 0
    if (this.#slot) {
      try {
        this.#m.C_CloseAllSessions(this.#slot)
      } catch {
        // the token may be gone
      }
    }
    for (const w of this.#waiters.splice(0)) w()
  }

  /** Reopens after a fault (one attempt at a time, at most one per `reopenIntervalMs`). */
  async #reopen(): Promise<void> {
    if (this.#up) return
    if (this.#reopening) return this.#reopening
    const interval = this.#o.reopenIntervalMs ?? 1000
    const wait = this.#lastAttempt + interval - Date.now()
    this.#reopening = (async () => {
      if (wait > 0) await sleep(wait)
      this.#lastAttempt = Date.now()
      try {
        try {
          this.#connect()
        } catch (e) {
          if ((isGatewayError(e) && e.code === 'GW_ERR_SIGNATURE_TOKEN_PIN') || !this.#reinitModule(interval)) throw e
          this.#connect()
        }
        this.#reopens++
        this.#setUp(true)
      } catch (e) {
        this.#errors++
        this.#setUp(false, isGatewayError(e) ? e.message : (e as Error).message)
        throw e
      }
    })().finally(() => {
      this.#reopening = undefined
    })
    return this.#reopening
  }

  /**
   * Finalises and initialises the module again (its tokens are looked for anew), unless it was done less than 5
   * reopen intervals ago or a signature is in progress in one of its tokens. True when done.
   */
  #reinitModule(interval: number): boolean {
    const st = stateOf(this.#o.module)
    if (st.inflight > 0 || Date.now() - st.reinitAt < 5 * interval) return false
    st.reinitAt = Date.now()
    try {
      this.#m.C_Finalize()
    } catch {
      // not initialised any more
    }
    try {
      this.#m.C_Initialize({ flags: this.#L.CKF_OS_LOCKING_OK })
    } catch (e) {
      if (ckr(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false
    }
    st.gen++
    for (const k of [...logins.keys()]) if (k.startsWith(`${this.#o.module}\0`)) logins.delete(k)
    return true
  }

  /** The module was initialised again since the sessions were opened: they are gone. */
  #moduleChanged(): boolean {
    return this.#up && this.#modGen !== stateOf(this.#o.module).gen
  }

  async #acquire(): Promise<{ session: Handle; gen: number }> {
    for (;;) {
      if (this.#moduleChanged()) this.#fault(new Error('the PKCS#11 module was initialised again'))
      if (!this.#up) await this.#reopen()
      const s = this.#idle.pop()
      if (s) return { session: s, gen: this.#gen }
      if (this.#open < this.#max) {
        this.#open++
        const gen = this.#gen
        try {
          return { session: this.#m.C_OpenSession(this.#slot!, this.#L.CKF_SERIAL_SESSION), gen }
        } catch (e) {
          if (gen === this.#gen) this.#open--
          throw e
        }
      }
      await new Promise<void>((r) => this.#waiters.push(r))
    }
  }

  #release(session: Handle, gen: number): void {
    if (gen !== this.#gen) return
    this.#idle.push(session)
    this.#waiters.shift()?.()
  }

  async #signOnce(input: Buffer): Promise<Buffer> {
    const L = this.#L
    const { session, gen } = await this.#acquire()
    const st = stateOf(this.#o.module)
    st.inflight++
    try {
      this.#m.C_SignInit(session, { mechanism: this.keyKind === 'rsa' ? L.CKM_RSA_PKCS : L.CKM_ECDSA }, this.#key!)
      const out = await this.#m.C_SignAsync(session, input, Buffer.alloc(1024))
      this.#release(session, gen)
      return Buffer.from(out)
    } catch (e) {
      // Any failure inside the token (session closed, device removed or failing) drops the sessions: they are
      // reopened before the next signature.
      if (gen === this.#gen) this.#fault(e)
      throw e
    } finally {
      st.inflight--
    }
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    if (this.#closed) throw gwError('GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE', { token: this.#label, reason: 'closed' })
    const digest = createHash('sha256').update(data).digest()
    const input = this.keyKind === 'rsa' ? Buffer.concat([SHA256_DIGEST_INFO, digest]) : digest
    const deadline = Date.now() + (this.#o.unavailableWaitMs ?? 10_000)
    let last: unknown
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.#signOnce(input)
        this.#signatures++
        return this.keyKind === 'ec' ? ecdsaRawToDer(out) : out
      } catch (e) {
        last = e
      }
      // The first retry is at once (a stale session after the token came back); then every reopen interval.
      if (this.#closed || Date.now() >= deadline) break
      if (attempt > 0) await sleep(Math.min(this.#o.reopenIntervalMs ?? 1000, Math.max(0, deadline - Date.now())))
    }
    const reason = isGatewayError(last) ? String(last.params.reason ?? last.message) : (last as Error).message
    throw gwError('GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE', { token: this.#label, reason }, last)
  }

  async checkKey(publicKey: KeyObject): Promise<void> {
    const probe = randomBytes(32)
    const sig = await this.sign(probe)
    const key = this.keyKind === 'ec' ? { key: publicKey, dsaEncoding: 'der' as const } : publicKey
    if (!nodeVerify('sha256', probe, key, sig)) {
      throw gwError('GW_ERR_SIGNATURE_KEY', { reason: `${this.#label}: the key in the token does not match the certificate` })
    }
  }

  async probe(): Promise<void> {
    if (this.#closed) return
    if (this.#moduleChanged()) this.#fault(new Error('the PKCS#11 module was initialised again'))
    if (!this.#up) {
      await this.#reopen()
      return
    }
    let problem: string | undefined
    let cause: unknown
    try {
      const label = this.#m.C_GetTokenInfo(this.#slot!).label.trim()
      if (this.#o.tokenLabel !== undefined && label !== this.#o.tokenLabel) problem = `another token (${label}) is in the slot`
    } catch (e) {
      problem = `the token does not answer (${(e as Error).message})`
      cause = e
    }
    if (problem !== undefined) this.#fault(gwError('GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE', { token: this.#label, reason: problem }, cause))
  }

  status(): TokenStatus {
    return {
      ok: this.#up,
      ...(this.#detail !== undefined ? { detail: this.#detail } : {}),
      since: this.#since.toISOString(),
      signatures: this.#signatures,
      errors: this.#errors,
      reopens: this.#reopens,
    }
  }

  close(): void {
    this.#closed = true
    const slot = this.#slot
    this.#fault(new Error('closed'))
    this.#errors--
    if (slot) {
      try {
        this.#m.C_CloseAllSessions(slot)
      } catch {
        // gone
      }
    }
  }
}

/** Opens a key in a PKCS#11 token (see the file comment for the errors). */
export async function openPkcs11Key(o: Pkcs11KeyOptions): Promise<Pkcs11Key> {
  if (o.tokenLabel === undefined && o.slot === undefined) throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: o.module, reason: 'give tokenLabel or slot' })
  if (o.keyLabel === undefined && o.keyId === undefined) throw gwError('GW_ERR_SIGNATURE_TOKEN_NOT_FOUND', { token: o.tokenLabel ?? String(o.slot), reason: 'give keyLabel or keyId' })
  const k = new TokenKey(o)
  await k.open()
  return k
}
