/**
 * A client that speaks to a VXP endpoint exactly as VNPT's Java SDK (SDKVXP-2.0.1) does: the connector uses it to
 * talk to the national axis, the tests use it to drive our own endpoint.
 *
 * Like one SDK service object it keeps ONE parameter map for its whole life: `timestamp` (fixed at construction, in
 * the SDK's `ddMMyyyy'T'HHmmss+SSSS` form) and `systemid`, then every parameter of every call, never removed
 * (`retain: false` in the options gives a fresh map per call instead). Each call:
 *
 *   1. puts `Content-Type` and the call's parameters in the map (sendEdoc: also `hash-file`, the SHA-256 of the
 *      file in the SDK's unpadded hex)
 *   2. sends every entry as `XroadVnpt-<k>: v`, in the iteration order of a Java HashMap, plus `Content-Type`
 *   3. signs: `XroadVnpt-sign-header` = the map as compact JSON, `XroadVnpt-hash-header` = HMAC-SHA256 of it with the
 *      secret, `XroadVnpt-sign-header-key` = the names; `User-Agent` and `XroadVnpt-version` as the SDK's
 *   4. body: sendEdoc = the file followed by CRLF (application/octet-stream); getEdoc, updateStatus and the counts
 *      `{}` with `Expect: 100-continue`; the lists an empty body; downloadEdoc a GET
 *   5. reads the answer as JSON (sendEdoc's as US-ASCII, like the SDK: anything else becomes U+FFFD)
 *
 * Unlike the SDK it has a time limit per call (`timeoutMs`) and reports transport failures as
 * GW_ERR_VXP_AXIS_UNAVAILABLE. The secret is never part of an error or a log line.
 */
import http from 'node:http'
import https from 'node:https'
import { gwError } from '../errors.js'
import { HEADER_PREFIX, PROTOCOL_VERSION, USER_AGENT, hashFile, hashMapOrder, hmacHex, sdkTimestamp, signedJson } from './protocol.js'

export interface VxpClientOptions {
  /** Base URL; each operation is `<endpoint>/<name>`. */
  endpoint: string
  systemId: string
  secret: string
  /** Per call, ms. Default 60000. */
  timeoutMs?: number
  /** Keep parameters across calls like one SDK service object (default true). */
  retain?: boolean
  clock?: () => Date
}

/** An answer as the SDK reads it. */
export interface VxpAnswer {
  httpStatus: number
  /** The parsed JSON body (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined
  /** The body's bytes. */
  raw: Buffer
  /** The answer's headers (lower-case names). */
  headers: http.IncomingHttpHeaders
}

/** A request as it goes on the wire (tests tamper with it before `send`). */
export interface VxpWireRequest {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body: Buffer | undefined
  /** Send `Expect: 100-continue` and wait for the 100 before the body (HttpClient calls). */
  expectContinue: boolean
  /** Read the answer as US-ASCII (sendEdoc). */
  ascii: boolean
}

export type VxpOperation =
  | 'sendEdoc'
  | 'getReceivedEdocList'
  | 'getEdoc'
  | 'downloadEdoc'
  | 'updateStatus'
  | 'getSentEdocList'
  | 'countReceiveEdoc'
  | 'countReceiveStatus'
  | 'getAgenciesList'
  | 'getAgenciesListQD20'
  | 'getSynchronizeUnit'
  | 'registerAgency'
  | 'deleteAgency'

const CRLF = Buffer.from('\r\n')
const EMPTY_JSON = Buffer.from('{}')

export class VxpClient {
  readonly endpoint: string
  readonly systemId: string
  readonly #secret: string
  readonly #timeoutMs: number
  readonly #retain: boolean
  readonly #clock: () => Date
  #params = new Map<string, string>()

  constructor(o: VxpClientOptions) {
    this.endpoint = o.endpoint.replace(/\/+$/, '')
    this.systemId = o.systemId
    this.#secret = o.secret
    this.#timeoutMs = o.timeoutMs ?? 60_000
    this.#retain = o.retain ?? true
    this.#clock = o.clock ?? (() => new Date())
    this.#reset()
  }

  #reset(): void {
    this.#params = new Map([
      ['timestamp', sdkTimestamp(this.#clock())],
      ['systemid', this.systemId],
    ])
  }

  /** The parameters this client would sign now (names in insertion order). */
  get retained(): ReadonlyMap<string, string> {
    return this.#params
  }

  /** Steps 1-4 for one operation: the wire request, not sent. */
  build(op: VxpOperation, params: Record<string, string>, opts: { contentType?: string; body?: Buffer; method?: 'GET' | 'POST'; expectContinue?: boolean; ascii?: boolean } = {}): VxpWireRequest {
    if (!this.#retain) this.#reset()
    const contentType = opts.contentType ?? 'application/json'
    this.#params.set('Content-Type', contentType)
    for (const [k, v] of Object.entries(params)) this.#params.set(k, v)
    const order = hashMapOrder([...this.#params.keys()])
    const entries = order.map((k) => [k, this.#params.get(k) as string] as const)
    const text = signedJson(entries)
    const headers: Record<string, string> = {}
    for (const [k, v] of entries) headers[HEADER_PREFIX + k] = v
    headers['Content-Type'] = contentType
    headers[`${HEADER_PREFIX}sign-header-key`] = order.join(';')
    headers[`${HEADER_PREFIX}sign-header`] = text
    headers[`${HEADER_PREFIX}hash-header`] = hmacHex(this.#secret, text)
    headers['User-Agent'] = USER_AGENT
    headers[`${HEADER_PREFIX}version`] = PROTOCOL_VERSION
    return { method: opts.method ?? 'POST', headers, body: opts.body, expectContinue: opts.expectContinue ?? false, ascii: opts.ascii ?? false }
  }

  /** Step 5: send a wire request to `<endpoint>/<op>` and read the answer. */
  send(op: VxpOperation | string, req: VxpWireRequest): Promise<VxpAnswer> {
    const url = new URL(`${this.endpoint}/${op}`)
    const lib = url.protocol === 'https:' ? https : http
    // names that differ only in case (`docId` and `docid` kept from two calls) go out as two header lines, like the
    // SDK sends them (Node writes each element of an array value as its own line)
    const headers: Record<string, string | string[]> = {}
    const names = new Map<string, string>()
    for (const [k, v] of Object.entries(req.headers)) {
      const first = names.get(k.toLowerCase())
      if (first === undefined) {
        names.set(k.toLowerCase(), k)
        headers[k] = v
      } else {
        const prev = headers[first] as string | string[]
        headers[first] = [...(Array.isArray(prev) ? prev : [prev]), v]
      }
    }
    if (req.method === 'POST') headers['Content-Length'] = String(req.body?.length ?? 0)
    if (req.expectContinue && req.body && req.body.length > 0) headers['Expect'] = '100-continue'
    return new Promise<VxpAnswer>((resolve, reject) => {
      const fail = (reason: string, cause?: unknown) => reject(gwError('GW_ERR_VXP_AXIS_UNAVAILABLE', { endpoint: shownEndpoint(this.endpoint), reason }, cause))
      const r = lib.request(url, { method: req.method, headers, timeout: this.#timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) => fail(e.message, e))
        res.on('end', () => {
          const raw = Buffer.concat(chunks)
          const text = req.ascii ? raw.toString('latin1').replace(/[\u0080-\u00ff]/g, '\ufffd') : raw.toString('utf8')
          let json: Record<string, unknown> | undefined
          try {
            const v: unknown = JSON.parse(text)
            if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>
          } catch {
            json = undefined
          }
          resolve({ httpStatus: res.statusCode ?? 0, json, raw, headers: res.headers })
        })
      })
      r.on('timeout', () => r.destroy(gwError('GW_ERR_VXP_AXIS_UNAVAILABLE', { endpoint: shownEndpoint(this.endpoint), reason: `no answer within ${this.#timeoutMs} ms` })))
      r.on('error', (e) => (e instanceof Error && 'code' in e && String((e as { code?: unknown }).code).startsWith('GW_ERR_') ? reject(e) : fail(e.message, e)))
      if (req.expectContinue && req.body && req.body.length > 0) {
        // like HttpClient: wait for 100 Continue (or a short while), then send the body
        let sent = false
        const go = () => {
          if (sent) return
          sent = true
          r.end(req.body)
        }
        r.on('continue', go)
        setTimeout(go, 1000).unref()
        r.flushHeaders()
      } else {
        r.end(req.body)
      }
    })
  }

  #call(op: VxpOperation, params: Record<string, string>, o: Parameters<VxpClient['build']>[2] = {}): Promise<VxpAnswer> {
    return this.send(op, this.build(op, params, o))
  }

  /** The file as the SDK sends it: its bytes then CRLF; `hash-file` over the file. */
  sendEdoc(file: Uint8Array, p: { from: string; messagetype?: 'edoc' | 'status'; to?: string[] }): Promise<VxpAnswer> {
    const params: Record<string, string> = { from: p.from, servicetype: 'eDoc', messagetype: p.messagetype ?? 'edoc' }
    if (p.to) params.to = JSON.stringify(p.to)
    params['hash-file'] = hashFile(file)
    return this.#call('sendEdoc', params, { contentType: 'application/octet-stream', body: Buffer.concat([file, CRLF]), ascii: true })
  }

  getReceivedEdocList(messagetype: 'edoc' | 'status' = 'edoc'): Promise<VxpAnswer> {
    return this.#call('getReceivedEdocList', { servicetype: 'eDoc', messagetype })
  }

  getEdoc(docId: string, filePath = '/tmp/edoc'): Promise<VxpAnswer> {
    return this.#call('getEdoc', { docId, filePath }, { body: EMPTY_JSON, expectContinue: true })
  }

  downloadEdoc(docId: string, filePath = '/tmp/edoc'): Promise<VxpAnswer> {
    return this.#call('downloadEdoc', { docId, filePath }, { method: 'GET' })
  }

  /** `key` is how the caller spells the parameter: the SDK's callers use both. */
  updateStatus(docId: string, status: 'done' | 'fail' | 'processing', key: 'docId' | 'docid' = 'docId'): Promise<VxpAnswer> {
    return this.#call('updateStatus', { [key]: docId, status }, { body: EMPTY_JSON, expectContinue: true })
  }

  getSentEdocList(messagetype: 'edoc' | 'status' = 'edoc', docId?: string): Promise<VxpAnswer> {
    return this.#call('getSentEdocList', { servicetype: 'eDoc', messagetype, ...(docId !== undefined ? { docId } : {}) })
  }

  countReceiveEdoc(): Promise<VxpAnswer> {
    return this.#call('countReceiveEdoc', {}, { body: EMPTY_JSON, expectContinue: true })
  }

  countReceiveStatus(): Promise<VxpAnswer> {
    return this.#call('countReceiveStatus', {}, { body: EMPTY_JSON, expectContinue: true })
  }

  getAgenciesList(): Promise<VxpAnswer> {
    return this.#call('getAgenciesList', {})
  }

  getAgenciesListQD20(level = '1'): Promise<VxpAnswer> {
    return this.#call('getAgenciesListQD20', { level })
  }

  getSynchronizeUnit(): Promise<VxpAnswer> {
    return this.#call('getSynchronizeUnit', {})
  }

  registerAgency(agency: Record<string, unknown>): Promise<VxpAnswer> {
    return this.#call('registerAgency', {}, { body: Buffer.from(JSON.stringify(agency), 'utf8'), expectContinue: true })
  }

  deleteAgency(code: string): Promise<VxpAnswer> {
    return this.#call('deleteAgency', { AgencyCode: code }, { body: EMPTY_JSON, expectContinue: true })
  }
}

/** An endpoint URL fit for logs, /readyz and the console: any user:password part removed. */
export function shownEndpoint(endpoint: string): string {
  try {
    const u = new URL(endpoint)
    if (!u.username && !u.password) return endpoint
    u.username = ''
    u.password = ''
    return u.href.replace(/\/$/, endpoint.endsWith('/') ? '/' : '')
  } catch {
    return endpoint.replace(/\/\/[^/@]*@/, '//')
  }
}

/** The answer's JSON when its status is OK; else GW_ERR_VXP_AXIS_REFUSED with the axis's ErrorCode and ErrorDesc. */
export function okAnswer(a: VxpAnswer, operation: string): Record<string, unknown> {
  const j = a.json
  if (!j) throw gwError('GW_ERR_VXP_AXIS_REFUSED', { operation, reason: `HTTP ${a.httpStatus}, the answer is not JSON` })
  if (j.status !== 'OK' || (j.ErrorCode !== undefined && String(j.ErrorCode) !== '0')) {
    const reason = `${String(j.ErrorCode ?? '?')} ${String(j.ErrorDesc ?? '')}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 300)
    const e = gwError('GW_ERR_VXP_AXIS_REFUSED', { operation, reason })
    throw Object.assign(e, { axisErrorCode: String(j.ErrorCode ?? '') })
  }
  return j
}
