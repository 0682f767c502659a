/**
 * The VXP operations on this gateway's own pipeline and store, one method per operation of the SDK (the HTTP edge
 * is server.ts). A system (vxp.server.systems[]) acts only for its `organIds`.
 *
 * - sendEdoc, messagetype `edoc`: the package (trailing CRLF stripped, hash-file checked by the edge) goes through
 *   the outgoing pipeline exactly as `POST /v1/documents` with application/xml: parsed strictly, From must be one of
 *   the system's agencies, signed with that agency's key, stored with one delivery per To, relayed (AMQP or the
 *   axis connector). Idempotent on the bytes: the same bytes again return the same DocId and send nothing.
 * - sendEdoc, messagetype `status`: the DMS's own status package, kept byte for byte and signed by the gateway,
 *   through the path of `POST /v1/inbox/:id/status` (src/pipeline/inbox.ts): its From must be one of the system's
 *   agencies and its ResponseFor a document that agency received; the inbox item moves with it.
 * - getReceivedEdocList / countReceiveEdoc / countReceiveStatus: what arrived for the system's agencies (documents,
 *   or status packages: the peers' statuses and automatic 01s) and is still `received`, i.e. not yet taken.
 * - getEdoc / downloadEdoc: the exact stored bytes of one of those items.
 * - updateStatus: `done` = taken (the REST ack, `fetched`); `fail` = refused: a 02 to the sender saying the
 *   receiving system reported a failure (on a status item: taken); `processing` = taken, recorded only. Every one
 *   removes the item from the list; repeating one changes nothing.
 * - getSentEdocList: the system's sent packages, one row per recipient with its latest state and status code.
 * - getAgenciesList, getAgenciesListQD20, getSynchronizeUnit: the directory (hosted agencies and known peers).
 *
 * Everything recorded has the actor `vxp:<systemId>`. Parameters the SDK keeps from earlier calls (`docId`,
 * `status`, `filePath`...) never filter a list unless the operation defines them.
 */
import type { Config, VxpSystemConfig } from '../config.js'
import { isStatusCode, STATUS_CODE_LABELS, type StatusCode } from '../document/delivery.js'
import { sha256Hex } from '../encoding.js'
import { parseEnvelope, type Envelope } from '../envelope/index.js'
import { gwError } from '../errors.js'
import type { Inbox } from '../pipeline/inbox.js'
import type { OutgoingPipeline } from '../pipeline/outgoing.js'
import { STATUS_CLIENT_ID } from '../pipeline/statuses.js'
import type { Store, StoredIncoming, StoredPackage } from '../store/index.js'
import type { VxpParams } from './auth.js'

export interface VxpServiceDeps {
  config: Config
  store: Store
  outgoing: OutgoingPipeline
  inbox: Inbox
}

type Json = Record<string, unknown>

const up = (s: string | undefined): string => (s ?? '').trim().toUpperCase()
const HIDDEN = new Set(['rejected', 'discarded'])
/** Status codes a DMS may send itself (the gateway sends 01 and 13 on its own). */
const DMS_STATUS_CODES: ReadonlySet<string> = new Set(['02', '03', '04', '05', '06', '15', '16'])
const LIST_LIMIT = 500

export interface SendEdocResult {
  docId: string
  /** Human-readable outcome (ASCII). */
  desc: string
}

export interface VxpService {
  sendEdoc(system: VxpSystemConfig, params: VxpParams, pkg: Uint8Array): Promise<SendEdocResult>
  receivedList(system: VxpSystemConfig, params: VxpParams): Promise<Json[]>
  count(system: VxpSystemConfig, kind: 'edoc' | 'status'): Promise<number>
  getEdoc(system: VxpSystemConfig, params: VxpParams): Promise<Uint8Array>
  updateStatus(system: VxpSystemConfig, params: VxpParams): Promise<string>
  sentList(system: VxpSystemConfig, params: VxpParams): Promise<Json[]>
  agencies(): Promise<{ code: string; name: string; mail: string; hosted: boolean }[]>
}

export const actorOf = (system: VxpSystemConfig) => `vxp:${system.systemId}`

export function createVxpService(deps: VxpServiceDeps): VxpService {
  const { config, store, outgoing, inbox } = deps
  const limits = config.limits

  /** The system's agency named `organId`, in the configured spelling; else GW_ERR_VXP_FORBIDDEN. */
  function ownAgency(system: VxpSystemConfig, organId: string, what: string): string {
    const found = system.organIds.find((o) => up(o) === up(organId))
    if (!found) throw gwError('GW_ERR_VXP_FORBIDDEN', { reason: `${what} ${organId || '(empty)'} is not an agency of system ${system.systemId} (${system.organIds.join(', ')})` })
    return config.agencies.find((a) => up(a.organId) === up(found))?.organId ?? found
  }

  function messageType(params: VxpParams): 'edoc' | 'status' {
    const t = (params.get('messagetype') ?? 'edoc').trim().toLowerCase()
    if (t !== 'edoc' && t !== 'status') throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: `messagetype must be edoc or status, not ${t}` })
    return t
  }

  function recipientsParam(params: VxpParams): string[] | undefined {
    const raw = params.get('to')
    if (raw === undefined || raw.trim() === '') return undefined
    let v: unknown
    try {
      v = JSON.parse(raw)
    } catch {
      v = raw.split(/[,;]/)
    }
    // the SDK keeps the caller's JSON text: an array, or a string holding one
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v)
      } catch {
        v = [v]
      }
      if (typeof v === 'string') v = [v]
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: 'to must be a JSON array of OrganIds' })
    return (v as string[]).map(up).filter((x) => x !== '')
  }

  async function loadItem(system: VxpSystemConfig, params: VxpParams, preferLower = false): Promise<StoredIncoming> {
    // the SDK's callers write docId or docid; the signed JSON keeps the case. updateStatus callers use docid.
    const id = (preferLower ? (params.exact('docid') ?? params.get('docId')) : (params.exact('docId') ?? params.get('docId')))?.trim()
    if (!id) throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: 'docId is required' })
    const inc = /^[\x21-\x7e]{1,100}$/.test(id) ? await store.getIncoming(id) : undefined
    if (!inc || HIDDEN.has(inc.state) || !system.organIds.some((o) => up(o) === up(inc.recipient))) {
      throw gwError('GW_ERR_VXP_NOT_FOUND', { what: `received item ${id.replace(/[^\x20-\x7e]/g, '?')}` })
    }
    return inc
  }

  /** The received document a status package of `from` answers (ResponseFor), else GW_ERR_VXP_NOT_FOUND. */
  async function answered(env: Envelope, from: string): Promise<StoredIncoming> {
    const rf = env.status!.messageHeader.responseFor
    const candidates = [
      ...(await store.findIncomingByDocument(rf.organId.trim(), rf.documentId.trim())),
      ...(rf.organId.trim() !== up(rf.organId) ? await store.findIncomingByDocument(up(rf.organId), rf.documentId.trim()) : []),
    ]
    const inc = candidates.find((i) => i.kind === 'edoc' && up(i.recipient) === up(from) && !HIDDEN.has(i.state))
    if (!inc) throw gwError('GW_ERR_VXP_NOT_FOUND', { what: `a document ${rf.documentId} from ${rf.organId} received by ${from} (ResponseFor of the status)` })
    return inc
  }

  /**
   * A 01 from a DMS (DMSs on the axis send one): the gateway sent its own 01 when it stored the document, so this
   * one is not sent again; the answer is the gateway's 01.
   */
  async function arrived(system: VxpSystemConfig, env: Envelope, from: string): Promise<SendEdocResult> {
    const inc = await answered(env, from)
    const own = await store.findIdempotent(STATUS_CLIENT_ID, `01:${inc.id}`)
    return { docId: own?.packageId ?? '', desc: `Success (the gateway sent status 01 for ${system.organIds.length > 1 ? from : 'it'} itself when the document arrived)` }
  }

  async function sendStatus(system: VxpSystemConfig, env: Envelope, sha256: string): Promise<SendEdocResult> {
    const h = env.status!.messageHeader
    const from = ownAgency(system, h.from.organId, 'From/OrganId')
    const code = h.statusCode.trim()
    if (code === '01') return arrived(system, env, from)
    if (!isStatusCode(code) || !DMS_STATUS_CODES.has(code)) {
      throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: `StatusCode ${code} cannot be sent by a DMS (01, 02, 03, 04, 05, 06, 15 or 16; 13 is a recall, sent with the REST API)` })
    }
    // a repeat of the same bytes: the status package stored the first time
    const key = `vxp-status:${sha256}`
    const seen = await store.findIdempotent(STATUS_CLIENT_ID, key)
    if (seen) return { docId: seen.packageId, desc: 'Success (already received: nothing sent again)' }
    const inc = await answered(env, from)
    const description = h.description.trim()
    const staff = h.staffInfo
    const r = await inbox.reportStatus({
      id: inc.id,
      clientId: actorOf(system),
      actor: actorOf(system),
      authorise: () => true,
      code: code as StatusCode,
      ...(description ? { description } : {}),
      ...(staff && (staff.staff || staff.department || staff.email || staff.mobile)
        ? { staff: { department: staff.department, name: staff.staff, mobile: staff.mobile, email: staff.email } }
        : {}),
      prebuilt: { bytes: env.bytes, sha256 },
      key,
    })
    if (!r.sent) return { docId: '', desc: `the document is already ${r.incoming.state}: status ${code} changes nothing and was not sent` }
    return { docId: r.status.id, desc: 'Success' }
  }

  function itemView(i: StoredIncoming): Json {
    const code = i.statusCode
    return {
      docId: i.id,
      serviceType: 'eDoc',
      messageType: i.kind === 'status' ? 'status' : 'edoc',
      from: i.senderOrganId ?? '',
      to: i.recipient ?? '',
      status: i.kind === 'status' ? (code ?? '') : 'initial',
      status_desc: i.kind === 'status' && code ? `${code} ${STATUS_CODE_LABELS[code]}` : (i.subject ?? ''),
      created_time: i.receivedAt,
      updated_time: i.updatedAt,
    }
  }

  async function waiting(system: VxpSystemConfig, kind: 'edoc' | 'status', max: number): Promise<StoredIncoming[]> {
    const out: StoredIncoming[] = []
    for (const organId of system.organIds) {
      let cursor: string | undefined
      do {
        const page = await store.listIncoming({ recipient: ownAgency(system, organId, 'agency'), kind, state: 'arrived', limit: Math.min(1000, max - out.length), ...(cursor ? { cursor } : {}) })
        out.push(...page.items)
        cursor = page.next
      } while (cursor && out.length < max)
      if (out.length >= max) break
    }
    return out
  }

  return {
    async sendEdoc(system, params, pkg) {
      const type = messageType(params)
      if (pkg.length === 0) throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: 'the body is empty: send the edXML file' })
      const env = parseEnvelope(pkg, { maxBytes: limits.packageBytes, maxDepth: limits.xmlDepth, junkPrefix: 'refuse' })
      if (env.kind !== type) {
        throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: `messagetype is ${type} but the body is a ${env.kind === 'edoc' ? 'document' : 'status'} package` })
      }
      const sha = env.sha256()
      if (env.kind === 'status') return sendStatus(system, env, sha)
      const h = env.edoc!.messageHeader
      const from = ownAgency(system, h.from.organId, 'From/OrganId')
      const to = recipientsParam(params)
      if (to) {
        const listed = new Set(h.to.map((t) => up(t.organId)))
        const extra = to.filter((x) => !listed.has(x))
        if (extra.length > 0) throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: `to names ${extra.join(', ')}, not among the package's To` })
      }
      const r = await outgoing.send({
        clientId: actorOf(system),
        actor: actorOf(system),
        organId: from,
        idempotency: { key: `vxp-sendEdoc:${sha}`, requestHash: `application/xml:${sha}` },
        source: { form: 'edxml', bytes: env.bytes },
      })
      return { docId: r.id, desc: r.replayed ? 'Success (already received: nothing sent again)' : 'Success' }
    },

    async receivedList(system, params) {
      return (await waiting(system, messageType(params), LIST_LIMIT)).map(itemView)
    },

    async count(system, kind) {
      return (await waiting(system, kind, 100_000)).length
    },

    async getEdoc(system, params) {
      const inc = await loadItem(system, params)
      const stored = await store.getIncomingBytes(inc.id)
      if (!stored) throw gwError('GW_ERR_VXP_NOT_FOUND', { what: `bytes of received item ${inc.id}` })
      return stored.bytes
    },

    async updateStatus(system, params) {
      const inc = await loadItem(system, params, true)
      const status = (params.get('status') ?? '').trim().toLowerCase()
      const actor = actorOf(system)
      const base = { id: inc.id, clientId: actor, actor, authorise: () => true }
      if (status !== 'done' && status !== 'fail' && status !== 'processing') {
        throw gwError('GW_ERR_VXP_INVALID_REQUEST', { problems: `status must be done, fail or processing, not ${status || '(none)'}` })
      }
      if (status === 'fail' && inc.kind === 'edoc') {
        if (inc.state === 'refused') return 'Success (already refused)'
        if (inc.state !== 'arrived' && inc.state !== 'fetched') {
          throw gwError('GW_ERR_API_CONFLICT', { reason: `received item ${inc.id} is ${inc.state}; it can no longer be refused` })
        }
        await inbox.reportStatus({ ...base, code: '02', description: `the receiving system ${system.systemId} reported a failure (updateStatus fail)` })
        return 'Success'
      }
      const r = await inbox.acknowledge(base)
      if (status !== 'done' && r.changed) {
        await store.appendEvent({
          direction: 'in',
          type: 'note',
          packageId: inc.id,
          ...(inc.documentId ? { documentId: inc.documentId } : {}),
          ...(inc.senderOrganId ? { sender: inc.senderOrganId } : {}),
          ...(inc.recipient ? { recipient: inc.recipient } : {}),
          actor,
          cause: `updateStatus ${status} from VXP system ${system.systemId}`,
          detail: { vxpStatus: status },
        })
      }
      return r.changed ? 'Success' : 'Success (already taken)'
    },

    async sentList(system, params) {
      const kind = messageType(params)
      // a docId kept from an earlier call filters only when it names one of this system's sent packages
      const docId = params.get('docId')?.trim()
      let only: StoredPackage | undefined
      if (docId && /^[\x21-\x7e]{1,100}$/.test(docId)) {
        const p = await store.getPackage(docId)
        if (p && p.kind === kind && system.organIds.some((o) => up(o) === up(p.senderOrganId))) only = p
      }
      const rows: Json[] = []
      const pkgs = only
        ? [{ ...only, deliveries: await store.getDeliveries(only.id) }]
        : (
            await Promise.all(
              system.organIds.map(async (o) => (await store.listPackages({ senderOrganId: ownAgency(system, o, 'agency'), kind, limit: 200 })).items),
            )
          ).flat()
      for (const p of pkgs) {
        for (const d of p.deliveries) {
          const answered = d.statusCode !== undefined
          rows.push({
            senderDocId: p.id,
            receiverDocId: d.id,
            fromCode: p.senderOrganId,
            toCode: d.recipient,
            title: p.subject ?? '',
            notation: p.codeNumber || p.codeNotation ? `${p.codeNumber ?? ''}/${p.codeNotation ?? ''}` : '',
            messageType: p.kind,
            serviceType: 'eDoc',
            sentTime: p.createdAt,
            receivedTime: answered ? d.updatedAt : '',
            sendStatus: d.state,
            sendStatusDesc: d.reason ?? '',
            receiveStatus: d.statusCode ?? '',
            receiveStatusDesc: d.statusCode ? STATUS_CODE_LABELS[d.statusCode] : '',
          })
        }
      }
      return rows
    },

    async agencies() {
      const out = new Map<string, { code: string; name: string; mail: string; hosted: boolean }>()
      for (const a of config.agencies) out.set(up(a.organId), { code: a.organId, name: a.name, mail: a.email, hosted: true })
      const add = (code: string | undefined) => {
        const c = (code ?? '').trim()
        if (c && !out.has(up(c))) out.set(up(c), { code: c, name: c, mail: '', hosted: false })
      }
      for (const r of config.vxp?.routes ?? []) for (const o of r.organIds) if (!o.includes('*')) add(o)
      // peers exchanged with lately
      const sent = await store.listPackages({ limit: 500 })
      for (const p of sent.items) for (const d of p.deliveries) add(d.recipient)
      const got = await store.listIncoming({ limit: 500 })
      for (const i of got.items) if (!HIDDEN.has(i.state)) add(i.senderOrganId)
      return [...out.values()]
    },
  }
}

/** A stable short id for a directory entry. */
export const directoryId = (code: string) => sha256Hex(code.toUpperCase()).slice(0, 12)
