/**
 * VXP test helpers: edXML packages as a DMS builds them (buildEdoc / buildStatus, optionally ending in CRLF like
 * VNPT's edXML library writes them), the systems of the test configuration, and a check that an answer is what the
 * SDK can read (ASCII bytes, status/ErrorCode/ErrorDesc strings, no JSON null).
 */
import { randomInt } from 'node:crypto'
import { buildEdoc, buildStatus } from '../../src/envelope/index.js'
import { G22, H26, H29, ownDir, STC } from '../helper.js'
import type { VxpAnswer } from '../../src/vxp/client.js'

export const SYS_A = { systemId: 'vxp.saas.02', secret: 'c2VjcmV0LW9mLXN5c3RlbS1h', organIds: [G22] }
export const SYS_B = { systemId: 'vxp.saas.03', secret: 'c2VjcmV0LW9mLXN5c3RlbS1i', organIds: [H29, STC] }

const NAMES: Record<string, string> = {
  [G22]: 'Văn phòng Chính phủ',
  [H29]: 'Ủy ban nhân dân Thành phố Hồ Chí Minh',
  [STC]: 'Sở Tài chính Thành phố Hồ Chí Minh',
  [H26]: 'Ủy ban nhân dân Thành phố Hà Nội',
}
const organ = (organId: string) => ({ organId, organName: NAMES[organId] ?? organId, organizationInCharge: NAMES[organId] ?? organId })

let n = 0
/** A document package from `from` to `to`, as a DMS's edXML library builds it. */
export function edocPackage(from: string, to: string[], o: { crlf?: boolean; subject?: string } = {}): { bytes: Buffer; documentId: string; code: string } {
  n++
  const codeNumber = String(randomInt(1000, 9999))
  const codeNotation = `VXP-T${n}`
  const env = buildEdoc({
    from: organ(from),
    to: to.map(organ),
    code: { codeNumber, codeNotation },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/30' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: o.subject ?? `V/v thử nghiệm trục liên thông số ${n}`,
    signerInfo: { position: 'Chánh Văn phòng', fullName: 'Lê Thị Cúc' },
    otherInfo: { pageAmount: 1 },
    attachments: [{ contentId: 'cid:1', attachmentName: 'cong-van.pdf', contentType: 'application/pdf', description: 'Công văn', data: Buffer.from('%PDF-1.4\n% thử\n%%EOF\n') }],
  })
  const bytes = Buffer.from(env.bytes)
  return { bytes: o.crlf ? Buffer.concat([bytes, Buffer.from('\r\n')]) : bytes, documentId: env.edoc!.messageHeader.documentId, code: `${codeNumber}/${codeNotation}` }
}

/** A status package answering a document, as the receiving DMS builds it. */
export function statusPackage(from: string, original: { sender: string; documentId: string; code: string }, statusCode: string, description = ''): Buffer {
  return Buffer.from(
    buildStatus({
      from: organ(from),
      responseFor: { organId: original.sender, code: original.code, promulgationDate: '2026/11/30', documentId: original.documentId },
      staffInfo: { department: 'Văn thư', staff: 'Phạm Văn Dũng', mobile: '0900000000', email: 'vt@example.vn' },
      statusCode,
      description,
    }).bytes,
  )
}

function hasNull(v: unknown): boolean {
  if (v === null) return true
  if (Array.isArray(v)) return v.some(hasNull)
  if (typeof v === 'object') return Object.values(v as object).some(hasNull)
  return false
}

/** The SDK can read it: JSON object, ASCII bytes, string status/ErrorCode/ErrorDesc, no null anywhere. */
export function sdkReadable(a: VxpAnswer): string[] {
  const problems: string[] = []
  if (!a.json) return [`not JSON: ${a.raw.toString('latin1').slice(0, 200)}`]
  if (a.raw.some((b) => b > 0x7e)) problems.push('answer bytes are not ASCII')
  for (const k of ['status', 'ErrorCode', 'ErrorDesc']) if (typeof a.json[k] !== 'string') problems.push(`${k} is not a string`)
  if (a.json.status !== 'OK' && a.json.status !== 'FAIL') problems.push(`status is ${String(a.json.status)}`)
  if (hasNull(a.json)) problems.push('a JSON null')
  return problems
}

import path from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { startGateway, type RunningGateway } from '../../src/server.js'
import type { Logger } from '../../src/logger.js'
import { deleteAmqpNames, freshPgDatabase, rawTestConfig, silentLogger } from '../helper.js'

interface Tap {
  testdir(fixture?: any): string
  teardown(fn: () => unknown): void
}

/** The configuration of a test gateway (G22, H29, STC hosted) with a `vxp` section. */
export function vxpConfig(t: Tap, vxp: Record<string, unknown>, over: Record<string, any> = {}, env: Record<string, string> = {}): Config {
  const dir = ownDir(t)
  const raw = rawTestConfig(dir, over)
  if (over.store) raw.store = over.store
  const agencies = over.only ? (raw.agencies as { organId: string }[]).filter((a) => (over.only as string[]).includes(a.organId)) : raw.agencies
  return loadConfig({ object: { ...raw, vxp, agencies }, file: path.join(dir, 'config.json'), env })
}

/** The PostgreSQL server the store tests use (LIENTHONG_TEST_PG_URL, `off` to skip them). */
export { PG_ADMIN_URL } from '../helper.js'

/**
 * With LIENTHONG_TEST_VXP_STORE=postgres (test/vxp/postgres.test.ts runs the VXP tests so), every gateway of these
 * tests stores in a fresh PostgreSQL database of a random name, dropped in teardown.
 */
async function storeOverride(t: Tap): Promise<Record<string, unknown> | undefined> {
  if (process.env.LIENTHONG_TEST_VXP_STORE !== 'postgres') return undefined
  const url = new URL(await freshPgDatabase(t, 'lt_vxp'))
  return { driver: 'postgres', url: url.href }
}

/** A listening gateway on the real broker, receiving, with the given vxp section; closed in teardown. */
export async function startVxpGateway(t: Tap, vxp: Record<string, unknown>, over: Record<string, any> = {}): Promise<RunningGateway & { config: Config }> {
  const store = await storeOverride(t)
  const config = vxpConfig(t, vxp, { ...over, ...(store ? { store } : {}) })
  const gw = await startGateway(config, { logger: (over.logger as Logger | undefined) ?? silentLogger(), listen: true, receive: true })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })
  t.teardown(async () => {
    await gw.close()
    await deleteAmqpNames(config)
  })
  return Object.assign(gw, { config })
}

/** Retry `fn` until it returns without throwing (the last error when the time is up). */
export async function until<T>(fn: () => Promise<T>, timeoutMs = 15_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      if (Date.now() > end) throw e
      await new Promise((r) => setTimeout(r, stepMs))
    }
  }
}
