/**
 * `lienthong demo --axis`: a lienthong agency and an agency reachable only through the national axis exchange a
 * document both ways, in one process.
 *
 * - Gateway A (lienthong) hosts Văn phòng Chính phủ (000.00.00.G22); its axis connector (vxp.axis) points at the
 *   "axis", and `vxp.routes` sends UBND TP Hà Nội (000.00.00.H26) through it.
 * - The axis is played by gateway X, a lienthong gateway whose /vxp endpoint is a faithful VXP server: it hosts
 *   H26 and, for the system A connects as, G22 (as the national axis holds every agency). It has its own AMQP
 *   names, so A's network and the axis do not share a queue.
 * - UBND TP Hà Nội's DMS is an unmodified-SDK DMS: the project's SDK-compatible client (src/vxp/client.ts, the same
 *   headers, HMAC, CRLF and hash as VNPT's SDK) talking to X's /vxp.
 *
 * The document goes A → sendEdoc → X → the DMS (getReceivedEdocList, getEdoc, updateStatus done); the automatic 01
 * and the DMS's 03 (a status package sent with sendEdoc) come back through A's poller. Then the way back: the DMS
 * sends a document to G22 with sendEdoc, A's poller takes it (verdict AXIS_UNSIGNED: the axis carries no detached
 * CMS), A's DMS answers 03 through the REST API, and the DMS sees 01 and 03 in its status list. Exit 0 when all of
 * that happened; 1 (saying which step did not) otherwise.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { STATUS_CODE_LABELS, type StatusCode } from '../document/delivery.js'
import { buildEdoc, buildStatus } from '../envelope/index.js'
import { isGatewayError } from '../errors.js'
import { startGateway, type RunningGateway } from '../server.js'
import type { Delivery } from '../store/index.js'
import { VxpClient, type VxpAnswer } from '../vxp/client.js'
import { cleanup, demoConfig, DemoFailure, type DemoAgency } from './demo.js'
import { samplePdf } from './sample-pdf.js'

const G22: DemoAgency = { slug: 'vpcp', organId: '000.00.00.G22', name: 'Văn phòng Chính phủ' }
const H26: DemoAgency = { slug: 'ubnd-hanoi', organId: '000.00.00.H26', name: 'Ủy ban nhân dân Thành phố Hà Nội' }
const ASCII_H26 = 'UBND TP Ha Noi'

const status = (c: string) => `${c} ${STATUS_CODE_LABELS[c as StatusCode] ?? ''}`

export async function runAxisDemo(url: string, shown: string, timeoutS: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lienthong-demo-axis-'))
  const tags = { a: randomBytes(4).toString('hex'), x: randomBytes(4).toString('hex') }
  const dmsKey = randomBytes(16).toString('hex')
  const systems = {
    // the system gateway A's connector signs in as on the axis
    gateway: { systemId: 'lienthong.demo-a', secret: randomBytes(18).toString('base64'), organIds: [G22.organId] },
    // the SDK-based DMS of UBND TP Hà Nội, on the axis
    dms: { systemId: 'vxp.dms-hanoi', secret: randomBytes(18).toString('base64'), organIds: [H26.organId] },
  }
  const t0 = Date.now()
  const say = (who: string, text: string) => console.log(`+${((Date.now() - t0) / 1000).toFixed(3)}s  ${who.padEnd(4)} ${text}`)
  const quiet = pino({ level: 'silent' })
  let a: RunningGateway | undefined
  let x: RunningGateway | undefined
  let cleaning: Promise<void> | undefined
  const exchanges = Object.values(tags).flatMap((t) => [`lienthong-demo-${t}.edoc`, `lienthong-demo-${t}.dead`])
  const cleanOnce = () => (cleaning ??= cleanup(x, a, dir, exchanges))
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`lienthong demo: ${sig}, removing the demo's queues and temporary stores`)
    void cleanOnce().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.stdout.on('error', () => {})
  let step = 'starting the axis'
  const deadline = Date.now() + timeoutS * 1000
  /** `fn` until it returns a value (not undefined), or a DemoFailure naming `what` at the deadline. */
  const until = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    step = what
    for (;;) {
      const v = await fn()
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new DemoFailure(`timed out after ${timeoutS}s ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const okOf = (r: VxpAnswer, what: string): Record<string, unknown> => {
    if (r.json?.status !== 'OK') throw new DemoFailure(`${what}: the axis answered ${r.httpStatus} ${String(r.json?.ErrorCode ?? '')} ${String(r.json?.ErrorDesc ?? r.raw.toString('latin1').slice(0, 200))}`)
    return r.json
  }
  try {
    console.log(`lienthong demo --axis: a lienthong agency and an agency reachable only through the national axis (RabbitMQ ${shown}, temporary stores in ${dir})`)
    console.log('  sample PKI from certs-sample/ (public keys and CAs: NEVER use it in production)')
    console.log(`  gateway A (lienthong) hosts ${G22.organId} ${G22.name}; vxp.routes sends ${H26.organId} through the national axis`)
    console.log(`  the axis: a VXP endpoint (a second lienthong gateway's /vxp, a faithful VXP server) where ${H26.organId} ${H26.name} is registered`)
    console.log(`  ${H26.name}'s DMS is an SDK client of the axis (system ${systems.dms.systemId}: the VXP SDK's headers, HMAC and hash)`)
    console.log('')

    // the axis first: A's connector needs its address
    x = await startGateway(
      demoConfig({ url, tag: tags.x, dir, label: 'axis', agencies: [H26, G22], clientKey: undefined, http: true, vxp: { server: { path: '/vxp', systems: [systems.gateway, systems.dms] } } }),
      { logger: quiet, listen: true },
    )
    const endpoint = `${x.url}/vxp`
    step = 'starting gateway A'
    a = await startGateway(
      demoConfig({
        url,
        tag: tags.a,
        dir,
        label: 'a',
        agencies: [G22],
        clientKey: dmsKey,
        vxp: {
          axis: { endpoint, systemId: systems.gateway.systemId, secret: systems.gateway.secret, organIds: [G22.organId], pollIntervalMs: 250, retryDelayMs: 250, timeoutMs: 10_000 },
          routes: [{ organIds: [H26.organId], via: 'axis' }],
        },
      }),
      { logger: quiet, listen: false },
    )
    const within = () => ({ timeoutMs: Math.max(1, deadline - Date.now()) })
    step = 'connecting to RabbitMQ'
    await Promise.all([a.publisher.whenReady(within()), x.publisher.whenReady(within()), a.receiver?.whenConsuming(within()), x.receiver?.whenConsuming(within())])
    say('A+X', `both up; A's axis connector polls ${endpoint} as ${systems.gateway.systemId} (the secret stays in A's configuration)`)
    const dms = new VxpClient({ endpoint, ...systems.dms })
    const rest = (method: 'GET' | 'POST', u: string, payload?: unknown) =>
      a!.app.inject({ method, url: u, headers: { authorization: `Bearer ${dmsKey}` }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) })

    // 1. A's DMS sends to an agency that is only on the axis
    step = 'sending the document through gateway A'
    const pdf = samplePdf('Cong van so 01/VPCP-TRUC: thu nghiem truc lien thong van ban quoc gia')
    const res = await rest('POST', '/v1/documents', {
      recipients: [{ organId: H26.organId, name: H26.name, organizationInCharge: H26.name }],
      code: { number: String(Math.floor(Math.random() * 9000) + 1000), notation: 'VPCP-TRUC' },
      promulgation: { place: 'Hà Nội', date: new Date().toISOString().slice(0, 10) },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: 'V/v thử nghiệm gửi văn bản qua trục liên thông văn bản quốc gia',
      signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
      attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: Buffer.from(pdf).toString('base64') }],
    })
    if (res.statusCode !== 202) throw new DemoFailure(`gateway A refused the document: ${res.statusCode} ${res.body}`)
    const sent = res.json() as { id: string; documentId: string }
    say('A', `${G22.name}'s DMS sent DocumentId ${sent.documentId} (cong-van.pdf, ${pdf.length} bytes) to ${H26.organId}: built, signed, stored (accepted)`)
    say('A', `  ${H26.organId} is routed via the axis: the delivery waits in A's outbox for the axis connector, not for RabbitMQ`)

    const deliveryOf = async () => (await a!.store.getDeliveries(sent.id))[0]
    const queued = await until('waiting for the axis connector to send it (sendEdoc)', async () => {
      const d = await deliveryOf()
      if (!d || d.state === 'accepted') return undefined
      return (await a!.store.timeline(d.id)).find((e) => e.state === 'queued')
    })
    say('A', `→ sendEdoc to the axis (the file + CRLF, hash-file, HMAC-signed headers): the axis answered DocId ${String(queued.detail.axisDocId)}; delivery queued (via: ${String(queued.detail.via)})`)

    // 2. the axis-only agency's DMS takes it as the SDK does
    const item = await until(`waiting for ${H26.organId}'s DMS to see it in getReceivedEdocList`, async () => {
      const l = okOf(await dms.getReceivedEdocList('edoc'), 'getReceivedEdocList')
      return (l.data as Record<string, string>[]).find((i) => i.from === G22.organId)
    })
    say('DMS', `${ASCII_H26}'s DMS: getReceivedEdocList lists docId ${item.docId} from ${item.from}`)
    step = 'fetching the document from the axis (getEdoc)'
    const got = Buffer.from(String(okOf(await dms.getEdoc(item.docId!), 'getEdoc').data), 'base64')
    const ours = await a.store.getPackageBytes(sent.id)
    const same = ours !== undefined && Buffer.compare(got, Buffer.from(ours.bytes)) === 0
    say('DMS', `  getEdoc: the edXML package, ${got.length} bytes, ${same ? 'byte for byte the package gateway A signed' : 'DIFFERENT from what gateway A sent'}`)
    if (!same) throw new DemoFailure('the package the DMS got is not the one gateway A sent')
    okOf(await dms.updateStatus(item.docId!, 'done'), 'updateStatus')
    say('DMS', '  updateStatus done: taken (it leaves the list)')

    // 3. the 01 and the DMS's 03 come back to A through its poller
    const waitStatus = (code: StatusCode, state: Delivery['state']) =>
      until(`waiting for status ${code} to reach gateway A through the axis`, async () => {
        const d = await deliveryOf()
        return d && d.statusCode === code && d.state === state ? d : undefined
      })
    await waitStatus('01', 'delivered')
    say('A', `← status ${status('01')} from ${H26.organId}: polled from the axis (getReceivedEdocList status, getEdoc), stored, then updateStatus done; delivery delivered`)
    const meta = await a.store.getPackage(sent.id)
    const st03 = buildStatus({
      from: { organId: H26.organId, organName: H26.name, organizationInCharge: H26.name },
      responseFor: { organId: G22.organId, code: `${meta?.codeNumber ?? ''}/${meta?.codeNotation ?? ''}`, promulgationDate: meta?.promulgationDate ?? '', documentId: sent.documentId },
      staffInfo: { department: 'Văn thư', staff: 'Trần Thị B', mobile: '0240000000', email: 'vanthu@example.vn' },
      statusCode: '03',
      description: 'Đã tiếp nhận, vào sổ văn bản đến',
    })
    step = 'sending status 03 from the DMS (sendEdoc messagetype=status)'
    const s = okOf(await dms.sendEdoc(Buffer.from(st03.bytes), { from: H26.organId, messagetype: 'status' }), 'sendEdoc status')
    say('DMS', `${ASCII_H26}'s DMS: sendEdoc messagetype=status, its own status package ${status('03')}: DocId ${String(s.DocId)}`)
    await waitStatus('03', 'registered')
    say('A', `← status ${status('03')} from ${H26.organId} through the axis: delivery registered`)

    // 4. the way back: the axis-only DMS sends to G22 on lienthong
    const back = buildEdoc({
      from: { organId: H26.organId, organName: H26.name, organizationInCharge: H26.name },
      to: [{ organId: G22.organId, organName: G22.name, organizationInCharge: G22.name }],
      code: { codeNumber: String(Math.floor(Math.random() * 9000) + 1000), codeNotation: 'UBND-VP' },
      promulgationInfo: { place: 'Hà Nội', promulgationDate: new Date().toISOString().slice(0, 10).replace(/-/g, '/') },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: 'V/v phúc đáp văn bản qua trục liên thông văn bản quốc gia',
      signerInfo: { position: 'Chánh Văn phòng', fullName: 'Lê Văn C' },
      otherInfo: { pageAmount: 1 },
      attachments: [{ contentId: 'cid:1', attachmentName: 'phuc-dap.pdf', contentType: 'application/pdf', description: 'Công văn phúc đáp', data: Buffer.from(samplePdf('Phuc dap')) }],
    })
    step = 'sending the answer from the DMS (sendEdoc)'
    const backSent = okOf(await dms.sendEdoc(Buffer.from(back.bytes), { from: H26.organId, to: [G22.organId] }), 'sendEdoc')
    const backDocId = String(backSent.DocId)
    say('DMS', `${ASCII_H26}'s DMS: sendEdoc of its own edXML package to ${G22.organId} (DocumentId ${back.edoc!.messageHeader.documentId}): DocId ${backDocId}`)
    const inc = await until('waiting for gateway A to take the answer from the axis', async () => {
      const r = await rest('GET', `/v1/inbox?documentId=${encodeURIComponent(back.edoc!.messageHeader.documentId)}`)
      return (r.json() as { items?: { id: string; state: string; verdict?: { code?: string } }[] }).items?.[0]
    })
    const incoming = await a.store.getIncoming(inc.id)
    const verdict = incoming?.verdict as { code?: string; pdf?: unknown[] } | undefined
    say('A', `← document from ${H26.organId} polled from the axis, stored in A's inbox: verdict ${verdict?.code} (the axis carries no detached CMS; ${verdict?.pdf?.length ?? 0} PDF checked), 01 sent back through the axis`)
    const r03 = await rest('POST', `/v1/inbox/${inc.id}/status`, { code: '03', staff: { department: 'Văn thư', name: 'Phạm Thị D' } })
    if (r03.statusCode >= 300) throw new DemoFailure(`A's inbox API refused status 03: ${r03.statusCode} ${r03.body}`)
    say('A', `${G22.name}'s DMS posts status ${status('03')} (REST): signed by A and sent back through the axis`)
    const codes = await until(`waiting for ${H26.organId}'s DMS to see 01 and 03`, async () => {
      const rows = okOf(await dms.getSentEdocList('edoc', backDocId), 'getSentEdocList').data as Record<string, string>[]
      if (rows[0]?.receiveStatus !== '03') return undefined
      const l = okOf(await dms.getReceivedEdocList('status'), 'getReceivedEdocList status').data as Record<string, string>[]
      const c = l.filter((i) => i.from === G22.organId).map((i) => i.status)
      return c.includes('01') && c.includes('03') ? c : undefined
    })
    say('DMS', `${ASCII_H26}'s DMS: getReceivedEdocList status has ${codes.sort().join(' and ')} from ${G22.organId}; getSentEdocList shows receiveStatus 03`)

    // 5. A's timeline of the first document, as its DMS (and the console) reads it
    const doc = await rest('GET', `/v1/documents/${sent.id}`)
    const d = (doc.json() as { deliveries: { state: string; timeline: { time: string; state?: string; statusCode?: string; actor: string; detail?: Record<string, unknown> }[] }[] }).deliveries[0]
    console.log('')
    console.log(`Timeline at gateway A for ${H26.organId} (GET /v1/documents/${sent.id}):`)
    for (const e of d?.timeline ?? []) {
      const via = e.detail?.via === 'axis' ? `  via the national axis, DocId ${String(e.detail.axisDocId)}` : ''
      console.log(`  ${e.time}  ${e.statusCode ? `${e.statusCode} ` : '   '}${e.state ?? ''}  by ${e.actor}${via}`)
    }
    console.log('')
    if (d?.state !== 'registered') {
      console.error(`lienthong demo: the exchange did not complete: the delivery is ${d?.state}`)
      return 1
    }
    console.log(`Exchange with the axis-only agency completed in ${((Date.now() - t0) / 1000).toFixed(1)} s: the document, 01 and 03 both ways, through sendEdoc, getReceivedEdocList, getEdoc and updateStatus.`)
    console.log('Next: README, "Connecting to the national axis" (vxp.axis, vxp.routes, vxp.server.systems)')
    return 0
  } catch (e) {
    const why = isGatewayError(e) ? `${e.code}: ${e.message}` : e instanceof DemoFailure || e instanceof Error ? e.message : String(e)
    console.error(`lienthong demo --axis: failed while ${step}: ${why}`)
    return 1
  } finally {
    await cleanOnce()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
