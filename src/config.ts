/**
 * Configuration: a JSON file plus environment overrides, validated once against schemas/config.json (every problem
 * reported at once, as GW_ERR_CONFIG_INVALID), relative paths resolved, then deep-frozen. Nothing else in the
 * gateway reads process.env: the result is passed explicitly to buildApp, the relay and the transport.
 *
 * Environment overrides are declared in the schema itself (`x-env` on a setting), so the schema is the one place
 * that documents each variable with its default and unit.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import addFormatsImport from 'ajv-formats'
import { gwError } from './errors.js'
import { holidayCalendar } from './pipeline/holidays-vn.js'
import { problemInWords } from './validation-words.js'
import { schemaPath } from './paths.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface ApiKeyConfig {
  readonly id: string
  /** Lower-case hex SHA-256 of the bearer key. */
  readonly keySha256: string
}

export type OperatorRole = 'viewer' | 'operator' | 'admin'

/** An operator: a person with a password (passwordHash) or a tool with an API key (keySha256), and a role. */
export interface OperatorConfig {
  readonly id: string
  readonly name?: string
  readonly role: OperatorRole
  /** Lower-case hex SHA-256 of the bearer key. */
  readonly keySha256?: string
  /** scrypt hash of the password (src/passwords.ts). */
  readonly passwordHash?: string
}

export interface ClientConfig extends ApiKeyConfig {
  readonly webhook?: { readonly url: string; readonly secretEnv?: string; readonly secret?: string }
}

export type SigningConfig =
  | { readonly keyPath: string; readonly certPath: string; readonly chainPath?: string }
  | { readonly p12Path: string; readonly password?: string; readonly passwordEnv?: string }
  | { readonly pkcs11: Pkcs11Config }

/** config.trust.revocation: OCSP and CRL distribution points, and what to do when none answers. */
export interface RevocationConfig {
  readonly order: readonly ('ocsp' | 'crl')[]
  readonly onUnavailable: 'hold' | 'refuse' | 'accept-with-flag'
  readonly holdMaxMs: number
  readonly ocspResponder?: string
  readonly nonce: boolean
  readonly requireNonce: boolean
  readonly timeoutMs: number
  readonly cacheEntries: number
}

/** config.trust.tsa: a time-stamping authority (RFC 3161) and the roots TSAs must chain to. */
export interface TsaConfig {
  readonly url?: string
  readonly anchorsPaths: readonly string[]
  readonly intermediatesPaths: readonly string[]
  readonly certPath?: string
  readonly policy?: string
  readonly timeoutMs: number
  readonly waitMs: number
  readonly onUnavailable: 'wait' | 'send-without'
}

/** A key in a PKCS#11 token (src/signature/pkcs11.ts). `pin` is filled from pinEnv when the configuration loads. */
export interface Pkcs11Config {
  readonly module: string
  readonly tokenLabel?: string
  readonly slot?: number
  readonly keyLabel?: string
  readonly keyId?: string
  readonly pinFile?: string
  readonly pinEnv?: string
  readonly pin?: string
  readonly certPath?: string
  readonly chainPath?: string
  readonly maxSessions?: number
  readonly unavailableWaitMs?: number
}

export interface AgencyConfig {
  readonly organId: string
  readonly name: string
  readonly organizationInCharge: string
  readonly address: string
  readonly email: string
  readonly phone: string
  readonly fax: string
  readonly website: string
  readonly signing: SigningConfig
  /** The next signing identity, used for every signature made at or after `switchAt` (src/signature/rollover.ts). */
  readonly nextSigning?: SigningConfig
  /** ISO 8601 date-time with a zone; set exactly when `nextSigning` is. */
  readonly switchAt?: string
  readonly clients: readonly ClientConfig[]
}

export interface PeerConfig {
  readonly organId: string
  readonly name: string
  readonly organizationInCharge?: string
}

/** A DMS system allowed to connect to the VXP endpoint (src/vxp/server.ts). */
export interface VxpSystemConfig {
  readonly systemId: string
  /** The HMAC key; after loadConfig always set (read from secretFile or secretEnv when given); never logged. */
  readonly secret?: string
  /** Read by loadConfig into `secret`, then removed. */
  readonly secretFile?: string
  /** Read by loadConfig into `secret`, then removed. */
  readonly secretEnv?: string
  readonly organIds: readonly string[]
}

/** The connector to a national-axis endpoint (src/vxp/connector.ts). */
export interface VxpAxisConfig {
  readonly endpoint: string
  readonly systemId: string
  /** The HMAC key; after loadConfig always set (read from secretFile or secretEnv when given); never logged. */
  readonly secret?: string
  /** Read by loadConfig into `secret`, then removed. */
  readonly secretFile?: string
  /** Read by loadConfig into `secret`, then removed. */
  readonly secretEnv?: string
  readonly organIds: readonly string[]
  readonly pollIntervalMs: number
  readonly retryDelayMs: number
  readonly timeoutMs: number
  readonly unsigned: 'accept' | 'reject'
}

export interface VxpRouteConfig {
  /** OrganIds or patterns (`000.00.*.H29`). */
  readonly organIds: readonly string[]
  readonly via: 'axis' | 'amqp'
}

export interface VxpConfig {
  readonly server?: { readonly path: string; readonly systems: readonly VxpSystemConfig[] }
  readonly axis?: VxpAxisConfig
  readonly routes: readonly VxpRouteConfig[]
}

export interface Config {
  /** Absolute path of the file the configuration came from, if any. */
  readonly file?: string
  readonly http: {
    readonly host: string
    readonly port: number
    readonly bodyLimit: number
    readonly trustProxy: boolean
    readonly docs: boolean
    /** HTTPS directly (PEM files); absent: plain HTTP, e.g. behind a reverse proxy that terminates TLS. */
    readonly tls?: { readonly keyPath: string; readonly certPath: string }
  }
  readonly log: {
    readonly level: LogLevel
    /** Timestamping the delivery log's chain head (src/store/README.md, "Anchors"); needs trust.tsa.url. */
    readonly anchor?: { readonly everyEvents: number; readonly everyMinutes: number }
  }
  readonly amqp: {
    readonly url: string
    readonly exchange: string
    readonly deadLetterExchange: string
    readonly queuePrefix: string
    readonly deadLetterQueuePrefix: string
    readonly queueType: 'classic' | 'quorum'
    readonly prefetch: number
    readonly heartbeatSeconds: number
    /** Deliveries of one inbox message that end without an answer before it is dead-lettered unprocessed. */
    readonly deliveryLimit: number
    /** x-max-length-bytes / x-max-length of the dead-letter queues (x-overflow reject-publish). */
    readonly deadLetterMaxBytes: number
    readonly deadLetterMaxLength: number
    readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number }
    /** TLS files of an amqps:// URL (absolute after loadConfig); absent: Node's default roots, no client certificate. */
    readonly tls?: { readonly caPath?: string; readonly certPath?: string; readonly keyPath?: string; readonly servername?: string }
  }
  readonly store: { readonly driver: 'sqlite' | 'postgres'; readonly url?: string; readonly path: string; readonly synchronous: 'FULL' | 'NORMAL' }
  readonly agencies: readonly AgencyConfig[]
  /** Names of the other agencies (the console's directory). */
  readonly peers: readonly PeerConfig[]
  readonly operators: readonly OperatorConfig[]
  readonly operatorLogin: { readonly sessionMinutes: number; readonly idleMinutes: number; readonly maxFailures: number; readonly lockoutMinutes: number }
  readonly trust: {
    readonly anchorsPaths: readonly string[]
    readonly intermediatesPaths: readonly string[]
    readonly crlPaths: readonly string[]
    /** Signature time rules (src/signature/README.md, "Time"); the schema fills in the defaults. */
    readonly clockSkewMs: number
    readonly signingTimeMaxPastMs: number
    readonly signingTimeMaxFutureMs: number
    /** Revocation fetched online (src/signature/revocation.ts); absent: CRL files only. */
    readonly revocation?: RevocationConfig
    /** Trusted time (src/signature/tsa.ts); absent: nothing stamped, incoming tokens not relied on. */
    readonly tsa?: TsaConfig
    /** Certificate → OrganId rule (src/signature/binding.ts); absent: the subject UID. */
    readonly binding?: {
      readonly attribute: string
      readonly pattern?: string
      readonly table: readonly { readonly organId: string; readonly sha256?: string; readonly issuer?: string; readonly serial?: string }[]
    }
  }
  readonly limits: {
    readonly packageBytes: number
    /** First bytes kept in the store of an unauthenticated or oversized incoming message. */
    readonly refusedKeepBytes: number
    readonly attachmentBytes: number
    readonly attachments: number
    /** Total unzipped bytes of one package, across entries and attachments. */
    readonly unzippedBytes: number
    readonly recipients: number
    readonly requestsPerMinute: number
    /** Failed authentications per client address per minute before 429. */
    readonly authFailuresPerMinute: number
    /** Total bytes of a multipart request (sum of parts). */
    readonly multipartBytes: number
    readonly xmlDepth: number
  }
  readonly pipeline: { readonly workers: number; readonly inspectWorkers: number; readonly inspectQueue: number; readonly receiveWorkers: number; readonly receiveInlineBytes: number }
  /** When an unanswered delivery is overdue (src/pipeline/overdue.ts). */
  readonly overdue: {
    readonly policy: 'next-working-day' | 'hours'
    readonly hours: number
    readonly endOfDay: string
    readonly builtInHolidays: boolean
    readonly holidays: readonly string[]
    readonly extraWorkingDays: readonly string[]
    readonly removeDays: readonly string[]
    readonly utcOffsetMinutes: number
  }
  readonly metrics: { readonly public: boolean }
  readonly relay: {
    readonly batchSize: number
    readonly maxInFlight: number
    readonly maxInFlightBytes: number
    readonly pollIntervalMs: number
    readonly retryDelayMs: number
    /** Lease on the pending deliveries a relay took (several processes on one store share the outbox). */
    readonly leaseMs: number
  }
  /** The time source: `offsetMs` added to the system clock (drills of clock skew). */
  readonly clock: { readonly offsetMs: number }
  /** Retention windows in days (store.purge, src/pipeline/retention.ts); a window left out keeps that kind forever. */
  readonly retention: {
    readonly packageBytesDays?: number
    readonly idempotencyKeysDays?: number
    readonly deadLettersDays?: number
    readonly intervalMinutes: number
  }
  /** The national axis protocol (VXP): server side, connector, routes. */
  readonly vxp: VxpConfig
}

export interface LoadConfigOptions {
  /** JSON configuration file; without it the configuration comes from the environment and defaults only. */
  readonly file?: string
  /** Environment used for overrides and PKCS#12 passwordEnv checks. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** An already-parsed object to use instead of reading `file` (tests); `file` still sets the base folder. */
  readonly object?: unknown
}

type Json = Record<string, unknown>
type SchemaNode = {
  type?: string
  properties?: Record<string, SchemaNode>
  'x-env'?: string
  description?: string
  default?: unknown
  items?: SchemaNode
}

let cachedSchema: SchemaNode | undefined
let cachedValidate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined

function schema(): SchemaNode {
  cachedSchema ??= JSON.parse(readFileSync(schemaPath('config.json'), 'utf8')) as SchemaNode
  return cachedSchema
}

function validator(): NonNullable<typeof cachedValidate> {
  if (!cachedValidate) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true })
    const addFormats = addFormatsImport as unknown as (a: Ajv) => void
    addFormats(ajv)
    ajv.addKeyword({ keyword: 'x-env', schemaType: 'string' })
    cachedValidate = ajv.compile(schema())
  }
  return cachedValidate
}

/** Every environment variable the configuration reads, with the setting it overrides and its documentation. */
export function environmentVariables(): { name: string; setting: string; type: string; description: string }[] {
  const out: { name: string; setting: string; type: string; description: string }[] = []
  walkEnv(schema(), [], (node, p) => {
    out.push({ name: node['x-env'] as string, setting: p.join('.'), type: node.type ?? 'string', description: node.description ?? '' })
  })
  return out
}

function walkEnv(node: SchemaNode, at: string[], visit: (node: SchemaNode, at: string[]) => void): void {
  if (node['x-env']) visit(node, at)
  for (const [k, child] of Object.entries(node.properties ?? {})) walkEnv(child, [...at, k], visit)
}

/** Converts an environment string to the schema type; leaves it a string when it does not convert, so ajv reports it. */
function fromEnv(raw: string, type: string | undefined): unknown {
  const s = raw.trim()
  switch (type) {
    case 'integer':
    case 'number':
      return s !== '' && Number.isFinite(Number(s)) ? Number(s) : raw
    case 'boolean':
      return s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : raw
    case 'array':
      return s === '' ? [] : s.split(',').map((x) => x.trim()).filter(Boolean)
    default:
      return raw
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Where each value came from, to name the environment variable in error messages. */
type Origin = Map<string, string>

function applyEnv(doc: Json, env: LoadConfigOptions['env'], origin: Origin, cwd: string, envPaths: Set<string>): void {
  walkEnv(schema(), [], (node, at) => {
    const name = node['x-env'] as string
    const raw = env?.[name]
    if (raw === undefined || raw === '') return
    let target = doc
    for (const k of at.slice(0, -1)) {
      if (!isObject(target[k])) target[k] = {}
      target = target[k] as Json
    }
    let value = fromEnv(raw, node.type)
    const key = at[at.length - 1] as string
    const setting = at.join('.')
    // paths given in the environment are relative to the working directory
    if (envPaths.has(setting)) {
      value = Array.isArray(value) ? value.map((v) => path.resolve(cwd, String(v))) : typeof value === 'string' ? path.resolve(cwd, value) : value
    }
    target[key] = value
    origin.set('/' + at.join('/'), name)
  })
}

const ENV_PATH_SETTINGS = new Set(['store.path', 'trust.anchorsPaths', 'trust.crlPaths'])

function describe(e: ErrorObject, origin: Origin): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.')
  const env = origin.get(e.instancePath)
  const from = env ? ` (from ${env})` : ''
  switch (e.keyword) {
    case 'required':
      return `${where === '(root)' ? '' : where + '.'}${String(e.params.missingProperty)} is required`
    case 'additionalProperties':
      return `${where}: unknown setting "${String(e.params.additionalProperty)}"`
    case 'enum':
      return `${where}${from} must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`
    default:
      return `${where}${from} ${problemInWords(e)}`
  }
}

/** ajv reports every branch of a failed oneOf; keep the branch that got furthest, as people read the first lines. */
function pruneOneOf(errors: ErrorObject[]): ErrorObject[] {
  const oneOfFailures = errors.filter((e) => e.keyword === 'oneOf')
  if (oneOfFailures.length === 0) return errors
  let out = errors
  for (const of of oneOfFailures) {
    const base = of.schemaPath.replace(/\/oneOf$/, '/oneOf/')
    const inside = out.filter((e) => e !== of && e.schemaPath.startsWith(base))
    if (inside.length === 0) continue
    const byBranch = new Map<string, ErrorObject[]>()
    for (const e of inside) {
      const branch = e.schemaPath.slice(base.length).split('/')[0] as string
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e])
    }
    // the branch with the fewest errors is the one the author meant
    const best = [...byBranch.values()].sort((a, b) => a.length - b.length)[0] ?? []
    out = out.filter((e) => e !== of && (!inside.includes(e) || best.includes(e)))
  }
  return out
}

function resolvePaths(doc: Json, base: string): void {
  const abs = (p: unknown) => (typeof p === 'string' ? path.resolve(base, p) : p)
  const store = doc.store as Json
  store.path = abs(store.path)
  const tls = (doc.http as Json).tls as Json | undefined
  if (tls) for (const k of ['keyPath', 'certPath']) tls[k] = abs(tls[k])
  const amqpTls = (doc.amqp as Json).tls as Json | undefined
  if (amqpTls) for (const k of ['caPath', 'certPath', 'keyPath']) if (typeof amqpTls[k] === 'string') amqpTls[k] = abs(amqpTls[k])
  const trust = doc.trust as Json
  for (const k of ['anchorsPaths', 'intermediatesPaths', 'crlPaths']) trust[k] = (trust[k] as unknown[]).map(abs)
  const tsa = trust.tsa as Json | undefined
  if (tsa) {
    for (const k of ['anchorsPaths', 'intermediatesPaths']) if (Array.isArray(tsa[k])) tsa[k] = (tsa[k] as unknown[]).map(abs)
    tsa.certPath = abs(tsa.certPath)
  }
  for (const a of doc.agencies as Json[]) {
    for (const { s } of signingsOf(a)) {
      for (const k of ['keyPath', 'certPath', 'chainPath', 'p12Path']) if (typeof s[k] === 'string') s[k] = abs(s[k])
      const p = s.pkcs11 as Json | undefined
      // a module given without a folder is left to the dynamic loader's search path
      if (p) for (const k of ['module', 'pinFile', 'certPath', 'chainPath']) if (typeof p[k] === 'string' && (k !== 'module' || p[k].includes('/'))) p[k] = abs(p[k])
    }
  }
  for (const holder of vxpSecretHolders(doc)) if (typeof holder.node.secretFile === 'string') holder.node.secretFile = abs(holder.node.secretFile)
}

/** An agency's signing identities with their setting names: `signing`, and `nextSigning` when there is one. */
function signingsOf(a: Json): { s: Json; key: 'signing' | 'nextSigning' }[] {
  const out: { s: Json; key: 'signing' | 'nextSigning' }[] = [{ s: a.signing as Json, key: 'signing' }]
  if (isObject(a.nextSigning)) out.push({ s: a.nextSigning, key: 'nextSigning' })
  return out
}

/** ISO 8601 date-time with a time zone (as `switchAt` must be). */
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

/** Rules for a second signing identity (rollover): both settings or neither, a real time, not the same key. */
function rolloverChecks(a: Json, i: number): string[] {
  const problems: string[] = []
  const next = a.nextSigning as Json | undefined
  const at = a.switchAt
  if (next !== undefined && at === undefined) problems.push(`agencies.${i}.nextSigning needs agencies.${i}.switchAt: the time the next identity starts signing, e.g. 2027-01-01T00:00:00+07:00`)
  if (at !== undefined && next === undefined) problems.push(`agencies.${i}.switchAt is set but agencies.${i}.nextSigning (the identity to switch to) is not`)
  if (typeof at === 'string' && (!ZONED_TIME.test(at) || !Number.isFinite(Date.parse(at)))) {
    problems.push(`agencies.${i}.switchAt "${at}" is not an ISO 8601 date-time with a time zone, e.g. 2027-01-01T00:00:00+07:00`)
  }
  if (next !== undefined) {
    const cur = a.signing as Json
    const same = (['keyPath', 'p12Path'] as const).find((k) => typeof cur[k] === 'string' && cur[k] === next[k])
    if (same) problems.push(`agencies.${i}.nextSigning.${same} is the same file as agencies.${i}.signing.${same}: the next identity must be another key or certificate`)
    const cp = cur.pkcs11 as Json | undefined
    const np = next.pkcs11 as Json | undefined
    if (cp && np && cp.module === np.module && (cp.tokenLabel ?? cp.slot) === (np.tokenLabel ?? np.slot) && (cp.keyLabel ?? cp.keyId) === (np.keyLabel ?? np.keyId)) {
      problems.push(`agencies.${i}.nextSigning.pkcs11 names the same key in the same token as agencies.${i}.signing.pkcs11: the next identity must be another key`)
    }
  }
  return problems
}

/** The vxp settings that carry a secret (server systems, the axis), with their setting names. */
function vxpSecretHolders(doc: Json): { node: Json; setting: string }[] {
  const vxp = doc.vxp as Json | undefined
  if (!isObject(vxp)) return []
  const out: { node: Json; setting: string }[] = []
  const server = vxp.server as Json | undefined
  if (isObject(server) && Array.isArray(server.systems)) (server.systems as Json[]).forEach((n, i) => out.push({ node: n, setting: `vxp.server.systems.${i}` }))
  if (isObject(vxp.axis)) out.push({ node: vxp.axis, setting: 'vxp.axis' })
  return out
}

/** Subject attributes trust.binding.attribute may name (src/signature/certs.ts SUBJECT_ATTRIBUTES). */
const BINDING_ATTRIBUTES = new Set(['CN', 'SN', 'serialNumber', 'C', 'L', 'ST', 'street', 'O', 'OU', 'title', 'GN', 'emailAddress', 'DC', 'UID'])

/** Rules a JSON Schema cannot express: uniqueness across lists, orderings, referenced environment variables. */
function crossChecks(doc: Json, env: LoadConfigOptions['env']): string[] {
  const problems: string[] = []
  const agencies = doc.agencies as Json[]
  const seenOrgan = new Map<string, number>()
  const seenKey = new Map<string, string>()
  const seenId = new Map<string, string>()
  const keyOwner = (hash: unknown, who: string) => {
    if (typeof hash !== 'string') return
    const prev = seenKey.get(hash)
    if (prev) problems.push(`${who}.keySha256 is the same key as ${prev}; every client and operator needs its own key`)
    else seenKey.set(hash, who)
  }
  const idOwner = (id: unknown, who: string) => {
    if (typeof id !== 'string') return
    const prev = seenId.get(id)
    if (prev) problems.push(`${who}.id "${id}" is already used by ${prev}`)
    else seenId.set(id, who)
  }
  agencies.forEach((a, i) => {
    const organId = a.organId
    if (typeof organId === 'string') {
      const prev = seenOrgan.get(organId)
      if (prev !== undefined) problems.push(`agencies.${i}.organId ${organId} is already hosted by agencies.${prev}`)
      else seenOrgan.set(organId, i)
    }
    for (const { s, key } of signingsOf(a)) {
      if (typeof s.passwordEnv === 'string' && env?.[s.passwordEnv] === undefined) {
        problems.push(`agencies.${i}.${key}.passwordEnv names ${s.passwordEnv}, which is not set in the environment`)
      }
      const p11 = s.pkcs11 as Json | undefined
      if (p11 && typeof p11.pinEnv === 'string' && env?.[p11.pinEnv] === undefined) {
        problems.push(`agencies.${i}.${key}.pkcs11.pinEnv names ${p11.pinEnv}, which is not set in the environment`)
      }
    }
    problems.push(...rolloverChecks(a, i))
    ;(a.clients as Json[]).forEach((c, j) => {
      keyOwner(c.keySha256, `agencies.${i}.clients.${j}`)
      idOwner(c.id, `agencies.${i}.clients.${j}`)
      const w = c.webhook as Json | undefined
      if (w && typeof w.secretEnv === 'string' && env?.[w.secretEnv] === undefined) {
        problems.push(`agencies.${i}.clients.${j}.webhook.secretEnv names ${w.secretEnv}, which is not set in the environment`)
      }
      if (w && w.secret === undefined && w.secretEnv === undefined) {
        problems.push(`agencies.${i}.clients.${j}.webhook needs secret or secretEnv (the HMAC-SHA256 key that signs every event)`)
      }
    })
  })
  ;(doc.operators as Json[]).forEach((o, i) => {
    keyOwner(o.keySha256, `operators.${i}`)
    idOwner(o.id, `operators.${i}`)
    if (o.keySha256 === undefined && o.passwordHash === undefined) {
      problems.push(`operators.${i} needs passwordHash (a person: add them with \`lienthong operator add\`) or keySha256 (an API key for a tool)`)
    }
  })
  const store = doc.store as Json
  if (store.driver === 'postgres' && typeof store.url !== 'string') {
    problems.push('store.url is required when store.driver is postgres (env LIENTHONG_STORE_URL)')
  }
  const rc = (doc.amqp as Json).reconnect as Json
  if (typeof rc.initialDelayMs === 'number' && typeof rc.maxDelayMs === 'number' && rc.maxDelayMs < rc.initialDelayMs) {
    problems.push(`amqp.reconnect.maxDelayMs (${rc.maxDelayMs}) must be at least initialDelayMs (${rc.initialDelayMs})`)
  }
  const binding = (doc.trust as Json).binding as Json | undefined
  if (binding && typeof binding.pattern === 'string') {
    try {
      new RegExp(binding.pattern, 'u')
    } catch (e) {
      problems.push(`trust.binding.pattern is not a regular expression: ${(e as Error).message}`)
    }
  }
  if (binding && typeof binding.attribute === 'string' && !BINDING_ATTRIBUTES.has(binding.attribute) && !/^\d+(\.\d+)+$/.test(binding.attribute)) {
    problems.push(`trust.binding.attribute ${binding.attribute} is neither one of ${[...BINDING_ATTRIBUTES].join(', ')} nor a dotted OID`)
  }
  const overdue = (doc.overdue ?? {}) as { builtInHolidays?: boolean; holidays?: string[]; extraWorkingDays?: string[]; removeDays?: string[] }
  problems.push(
    ...holidayCalendar({
      builtIn: overdue.builtInHolidays !== false,
      holidays: overdue.holidays ?? [],
      extraWorkingDays: overdue.extraWorkingDays ?? [],
      removeDays: overdue.removeDays ?? [],
    }).problems,
  )
  if ((doc.log as Json).anchor !== undefined && typeof ((doc.trust as Json).tsa as Json | undefined)?.url !== 'string') {
    problems.push('log.anchor needs trust.tsa.url: the chain head is timestamped by that TSA')
  }
  const limits = doc.limits as Json
  if (typeof limits.attachmentBytes === 'number' && typeof limits.packageBytes === 'number' && limits.attachmentBytes > limits.packageBytes) {
    problems.push(`limits.attachmentBytes (${limits.attachmentBytes}) cannot exceed limits.packageBytes (${limits.packageBytes})`)
  }
  problems.push(...vxpChecks(doc, env, new Set(seenOrgan.keys())))
  return problems
}

function vxpChecks(doc: Json, env: LoadConfigOptions['env'], hosted: Set<string>): string[] {
  const problems: string[] = []
  const vxp = doc.vxp as Json
  const hostedUpper = new Set([...hosted].map((h) => h.toUpperCase()))
  const checkHosted = (ids: unknown, setting: string) => {
    ;(ids as string[]).forEach((id, j) => {
      if (!hostedUpper.has(id.toUpperCase())) problems.push(`${setting}.organIds.${j} ${id} is not a hosted agency (agencies[].organId)`)
    })
  }
  const server = vxp.server as Json | undefined
  if (server) {
    const seen = new Map<string, number>()
    ;(server.systems as Json[]).forEach((sys, i) => {
      const id = sys.systemId as string
      const prev = seen.get(id)
      if (prev !== undefined) problems.push(`vxp.server.systems.${i}.systemId ${id} is already used by vxp.server.systems.${prev}`)
      else seen.set(id, i)
      checkHosted(sys.organIds, `vxp.server.systems.${i}`)
    })
  }
  if (vxp.axis) checkHosted((vxp.axis as Json).organIds, 'vxp.axis')
  const routes = (vxp.routes as Json[] | undefined) ?? []
  if (routes.some((r) => r.via === 'axis') && !vxp.axis) problems.push('vxp.routes send recipients via axis, but vxp.axis (the connector) is not configured')
  for (const h of vxpSecretHolders(doc)) {
    if (typeof h.node.secretEnv === 'string' && !env?.[h.node.secretEnv]) problems.push(`${h.setting}.secretEnv names ${h.node.secretEnv}, which is not set in the environment`)
  }
  return problems
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o as object)) deepFreeze(v)
  }
  return o
}

/**
 * Loads, validates and freezes the configuration.
 * @throws GatewayError GW_ERR_CONFIG_FILE when the file cannot be read or is not JSON;
 *   GW_ERR_CONFIG_INVALID listing every problem (params.problems is the list, joined in the message).
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env
  const file = opts.file === undefined ? undefined : path.resolve(opts.file)
  let raw: unknown = opts.object
  if (raw === undefined && file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      throw gwError('GW_ERR_CONFIG_FILE', { path: file, reason: (e as NodeJS.ErrnoException).code ?? String(e) }, e)
    }
    try {
      raw = JSON.parse(text)
    } catch (e) {
      throw gwError('GW_ERR_CONFIG_FILE', { path: file, reason: `not valid JSON: ${(e as Error).message}` }, e)
    }
  }
  raw ??= {}
  if (!isObject(raw)) throw gwError('GW_ERR_CONFIG_INVALID', { problems: 'the configuration must be a JSON object', list: ['the configuration must be a JSON object'] })
  const doc = structuredClone(raw) as Json
  const origin: Origin = new Map()
  applyEnv(doc, env, origin, process.cwd(), ENV_PATH_SETTINGS)

  const validate = validator()
  const problems: string[] = []
  if (!validate(doc)) problems.push(...pruneOneOf(validate.errors ?? []).map((e) => describe(e, origin)))
  // cross checks need the shape to be right; run them when it is, so their messages are meaningful
  if (problems.length === 0) problems.push(...crossChecks(doc, env))
  if (problems.length > 0) {
    const unique = [...new Set(problems)]
    throw gwError('GW_ERR_CONFIG_INVALID', { problems: unique.join('; '), list: unique })
  }
  resolvePaths(doc, file ? path.dirname(file) : process.cwd())
  const missing = missingFiles(doc)
  if (missing.length > 0) throw gwError('GW_ERR_CONFIG_INVALID', { problems: missing.join('; '), list: missing })
  resolveSecrets(doc, env)
  delete doc.$schema
  if (file) doc.file = file
  return deepFreeze(doc as unknown as Config)
}

/** Files the configuration names must exist (keys, certificates, trust anchors, CRLs); all missing ones are listed. */
function missingFiles(doc: Json): string[] {
  const out: string[] = []
  const check = (p: unknown, setting: string) => {
    if (typeof p === 'string' && !existsSync(p)) out.push(`${setting}: file ${p} does not exist`)
  }
  ;(doc.agencies as Json[]).forEach((a, i) => {
    for (const { s, key } of signingsOf(a)) {
      for (const k of ['keyPath', 'certPath', 'chainPath', 'p12Path']) check(s[k], `agencies.${i}.${key}.${k}`)
      const p = s.pkcs11 as Json | undefined
      if (p) for (const k of ['module', 'pinFile', 'certPath', 'chainPath']) if (k !== 'module' || path.isAbsolute(String(p[k]))) check(p[k], `agencies.${i}.${key}.pkcs11.${k}`)
    }
  })
  const trust = doc.trust as Json
  for (const k of ['anchorsPaths', 'intermediatesPaths', 'crlPaths']) (trust[k] as unknown[]).forEach((p, i) => check(p, `trust.${k}.${i}`))
  const tsa = trust.tsa as Json | undefined
  if (tsa) {
    for (const k of ['anchorsPaths', 'intermediatesPaths']) if (Array.isArray(tsa[k])) (tsa[k] as unknown[]).forEach((p, i) => check(p, `trust.tsa.${k}.${i}`))
    check(tsa.certPath, 'trust.tsa.certPath')
  }
  const tls = (doc.http as Json).tls as Json | undefined
  if (tls) for (const k of ['keyPath', 'certPath']) check(tls[k], `http.tls.${k}`)
  const amqpTls = (doc.amqp as Json).tls as Json | undefined
  if (amqpTls) for (const k of ['caPath', 'certPath', 'keyPath']) check(amqpTls[k], `amqp.tls.${k}`)
  return out
}

/** Secrets named by environment variable (passwordEnv, secretEnv) are read here, once, like every other setting. */
function resolveSecrets(doc: Json, env: LoadConfigOptions['env']): void {
  for (const a of doc.agencies as Json[]) {
    for (const { s } of signingsOf(a)) {
      if (typeof s.passwordEnv === 'string') s.password = env?.[s.passwordEnv]
      const p11 = s.pkcs11 as Json | undefined
      if (p11 && typeof p11.pinEnv === 'string') p11.pin = env?.[p11.pinEnv]
    }
    for (const c of a.clients as Json[]) {
      const w = c.webhook as Json | undefined
      if (w && typeof w.secretEnv === 'string') w.secret = env?.[w.secretEnv]
    }
  }
  // VXP secrets: from the environment or a file, once; only `secret` stays in the frozen configuration
  const problems: string[] = []
  for (const h of vxpSecretHolders(doc)) {
    if (typeof h.node.secretEnv === 'string') h.node.secret = env?.[h.node.secretEnv]
    else if (typeof h.node.secretFile === 'string') {
      try {
        h.node.secret = readFileSync(h.node.secretFile, 'utf8').trim()
      } catch (e) {
        problems.push(`${h.setting}.secretFile ${h.node.secretFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
        continue
      }
      if (h.node.secret === '') problems.push(`${h.setting}.secretFile ${h.node.secretFile} is empty`)
    }
    delete h.node.secretEnv
    delete h.node.secretFile
  }
  if (problems.length > 0) throw gwError('GW_ERR_CONFIG_INVALID', { problems: problems.join('; '), list: problems })
}
