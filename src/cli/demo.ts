/**
 * `lienthong demo [--amqp URL]`: the whole exchange in one process, for a newcomer. Two gateways (A hosts Văn phòng
 * Chính phủ and UBND TP.HCM, B hosts UBND TP Hà Nội and Sở Nội vụ Hà Nội) on a local RabbitMQ, with temporary SQLite
 * stores and the sample PKI (certs-sample/, NOT for production). A's DMS sends a document with a small generated PDF
 * to UBND TP Hà Nội on B; B verifies it and answers 01; B's DMS registers it (03) and completes it (06); A shows the
 * timeline. Exchange and queue names are random and deleted at the end, so a real setup on the same broker is never
 * disturbed. Exit 0 when the exchange completed; 1 (saying why) when it did not; 2 for bad arguments.
 *
 * `--axis`: a lienthong agency and an agency reachable only through the national axis instead (./demo-axis.ts).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { loadConfig, type Config } from '../config.js'
import { STATUS_CODE_LABELS, STATUS_CODES, type DeliveryState, type StatusCode } from '../document/delivery.js'
import { isGatewayError } from '../errors.js'
import { runAxisDemo } from './demo-axis.js'
import { samplePdf } from './sample-pdf.js'
import { loadSamplePki } from '../signature/pki-sample.js'
import { startGateway, type RunningGateway } from '../server.js'
import { createAmqpConnection, redactUrl } from '../transport/index.js'

const USAGE = 'usage: lienthong demo [--axis] [--amqp URL] [--timeout SECONDS]\n  --axis  a lienthong agency and an agency reachable only through the national axis (VXP) exchange both ways'
const DEFAULT_AMQP = 'amqp://guest:guest@127.0.0.1:5672'

const ENGLISH: Record<StatusCode, string> = {
  '01': 'arrived',
  '02': 'refused',
  '03': 'accepted and registered',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': 'recall requested',
  '15': 'recall agreed',
  '16': 'recall refused',
}
const LABELS: Record<string, string> = Object.fromEntries(STATUS_CODES.map((c) => [c, `${STATUS_CODE_LABELS[c]} (${ENGLISH[c]})`]))
const STATE_LABELS: Record<string, string> = {
  accepted: 'đã ký, lưu (accepted: signed and stored)',
  queued: 'đã gửi (queued: broker confirmed)',
  delivered: 'đã đến (delivered)',
  registered: 'đã tiếp nhận (registered)',
  completed: 'hoàn thành (completed)',
  refused: 'bị từ chối (refused)',
  assigned: 'đã phân công (assigned)',
  processing: 'đang xử lý (processing)',
  failed: 'lỗi (failed)',
} satisfies Partial<Record<DeliveryState, string>>

/** A step of the demo that did not happen (reported, exit 1). */
export class DemoFailure {
  constructor(readonly message: string) {}
}

export interface DemoAgency {
  slug: string
  organId: string
  name: string
}
type Agency = DemoAgency

/**
 * The configuration of one demo gateway: random AMQP names under `tag` (deleted at the end), a temporary SQLite
 * store, the sample PKI's keys for its agencies, the DMS key `clientKey` for the first one (none when undefined),
 * listening on 127.0.0.1 (a free port) only when `http`, and an optional `vxp` section.
 */
export function demoConfig(o: { url: string; tag: string; dir: string; label: string; agencies: DemoAgency[]; clientKey: string | undefined; http?: boolean; vxp?: Record<string, unknown> }): Config {
  const pki = loadSamplePki()
  const sha = (s: string) => createHash('sha256').update(s).digest('hex')
  const { tag } = o
  return loadConfig({
    env: {},
    object: {
      http: { host: '127.0.0.1', port: 0, docs: false },
      log: { level: 'silent' },
      amqp: {
        url: o.url,
        exchange: `lienthong-demo-${tag}.edoc`,
        deadLetterExchange: `lienthong-demo-${tag}.dead`,
        queuePrefix: `lienthong-demo-${tag}.inbox.`,
        deadLetterQueuePrefix: `lienthong-demo-${tag}.dead.`,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      },
      store: { path: path.join(o.dir, `gateway-${o.label}.sqlite`) },
      agencies: o.agencies.map((a, i) => {
        const e = pki.agency(a.organId)
        return {
          organId: a.organId,
          name: a.name,
          organizationInCharge: a.name,
          signing: { keyPath: pki.path(e.files.key), certPath: pki.path(e.files.cert), chainPath: pki.path(e.files.chain) },
          clients: i === 0 && o.clientKey !== undefined ? [{ id: `demo-dms-${a.slug}`, keySha256: sha(o.clientKey) }] : [],
        }
      }),
      operators: [],
      trust: { anchorsPaths: [pki.path(pki.trustAnchors)], crlPaths: [pki.path(pki.crls.all)] },
      relay: { pollIntervalMs: 100, retryDelayMs: 200 },
      // one document: build and sign on the main thread (no worker thread to start)
      pipeline: { workers: 0 },
      ...(o.vxp ? { vxp: o.vxp } : {}),
    },
  })
}

export async function run(argv: string[]): Promise<number> {
  let url = DEFAULT_AMQP
  let timeoutS: number | undefined
  let axis = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--amqp') url = argv[++i] ?? ''
    else if (a.startsWith('--amqp=')) url = a.slice('--amqp='.length)
    else if (a === '--timeout') timeoutS = Number(argv[++i])
    else if (a === '--axis') axis = true
    else if (a === '-h' || a === '--help') {
      console.log(USAGE)
      return 0
    } else {
      console.error(`lienthong demo: unknown argument ${a}\n${USAGE}`)
      return 2
    }
  }
  if (!/^amqps?:\/\//.test(url) || (timeoutS !== undefined && (!Number.isFinite(timeoutS) || timeoutS <= 0))) {
    console.error(`lienthong demo: --amqp needs an amqp:// URL and --timeout a number of seconds\n${USAGE}`)
    return 2
  }
  const shown = redactUrl(url)

  // 1. is RabbitMQ there? (a short, separate check so that the answer is quick and clear)
  const probe = createAmqpConnection({ url, initialDelayMs: 100, maxDelayMs: 500, connectionName: 'lienthong demo probe' })
  let reachable = true
  try {
    await probe.whenConnected({ timeoutMs: 3000 })
  } catch {
    reachable = false
  } finally {
    await probe.close().catch(() => {})
  }
  if (!reachable) {
    console.error(
      `lienthong demo: RabbitMQ is not reachable at ${shown}.\n` +
        `  Start it, e.g. "sudo systemctl start rabbitmq-server" or "docker run -d --name rabbitmq -p 5672:5672 rabbitmq:3",\n` +
        `  or point the demo at your broker: lienthong demo --amqp amqp://USER:PASSWORD@HOST:5672`,
    )
    return 1
  }

  if (axis) {
    return runAxisDemo(url, shown, timeoutS ?? 30)
  }
  const timeout = timeoutS ?? 10
  const dir = mkdtempSync(path.join(tmpdir(), 'lienthong-demo-'))
  const tag = randomBytes(4).toString('hex')
  const keys = { a: randomBytes(16).toString('hex'), b: randomBytes(16).toString('hex') }
  const A: Agency[] = [
    { slug: 'vpcp', organId: '000.00.00.G22', name: 'Văn phòng Chính phủ' },
    { slug: 'ubnd-hcm', organId: '000.00.00.H29', name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh' },
  ]
  const B: Agency[] = [
    { slug: 'ubnd-hanoi', organId: '000.00.00.H26', name: 'Ủy ban nhân dân Thành phố Hà Nội' },
    { slug: 'snv-hanoi', organId: '000.00.12.H26', name: 'Sở Nội vụ Thành phố Hà Nội' },
  ]
  const configOf = (label: 'a' | 'b', agencies: Agency[]): Config => demoConfig({ url, tag, dir, label, agencies, clientKey: keys[label] })

  const t0 = Date.now()
  const say = (who: string, text: string) => console.log(`+${((Date.now() - t0) / 1000).toFixed(3)}s  ${who}  ${text}`)
  const quiet = pino({ level: 'silent' })
  let a: RunningGateway | undefined
  let b: RunningGateway | undefined
  // leave nothing behind on the broker, also when interrupted or when stdout goes away (demo | head)
  let cleaning: Promise<void> | undefined
  const cleanOnce = () => (cleaning ??= cleanup(a, b, dir, [`lienthong-demo-${tag}.edoc`, `lienthong-demo-${tag}.dead`]))
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`lienthong demo: ${sig}, removing the demo's queues and temporary stores`)
    void cleanOnce().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.stdout.on('error', () => {})
  let step = 'starting the gateways'
  try {
    const ca = configOf('a', A)
    const cb = configOf('b', B)
    console.log(`lienthong demo: two gateways on RabbitMQ ${shown}, temporary stores in ${dir}`)
    console.log('  sample PKI from certs-sample/ (public keys and CAs: NEVER use it in production)')
    console.log(`  gateway A hosts ${A.map((x) => `${x.organId} ${x.name}`).join(', ')}`)
    console.log(`  gateway B hosts ${B.map((x) => `${x.organId} ${x.name}`).join(', ')}`)
    console.log('')
    const started = await Promise.allSettled([startGateway(ca, { logger: quiet, listen: false }), startGateway(cb, { logger: quiet, listen: false })])
    if (started[0].status === 'fulfilled') a = started[0].value
    if (started[1].status === 'fulfilled') b = started[1].value
    for (const r of started) if (r.status === 'rejected') throw r.reason
    if (!a || !b) return 1
    const deadline = Date.now() + timeout * 1000
    const within = (ms = deadline - Date.now()) => ({ timeoutMs: Math.max(1, ms) })
    await Promise.all([a.publisher.whenReady(within()), b.publisher.whenReady(within()), a.receiver?.whenConsuming(within()), b.receiver?.whenConsuming(within())])
    say('A+B', 'both gateways connected: inbox queues declared and consumed, confirm channels open')

    const from = A[0] as Agency
    const to = B[0] as Agency
    const pdf = samplePdf('Cong van so 01/VPCP-DEMO: thu nghiem lien thong van ban')
    let packageId = ''
    const waiters = new Map<string, () => void>()
    const reached = (key: string) => new Promise<void>((resolve) => waiters.set(key, resolve))
    const fire = (key: string) => waiters.get(key)?.()

    a.relay.on('queued', (d) => {
      if (d.packageId === packageId) say('A', `RabbitMQ confirmed the message for ${d.recipient}: ${STATE_LABELS.queued}`)
    })
    b.receiver?.pipeline.on('received', ({ incoming, duplicate }) => {
      if (duplicate || incoming.kind !== 'edoc') return
      const v = incoming.verdict as { code?: string; signer?: { subject?: string; organId?: string }; revocation?: { status?: string } }
      const att = (incoming.metadata.attachments as { name: string; size: number; contentType: string }[] | undefined) ?? []
      say('B', `received for ${incoming.recipient}: signature ${v.code} (signer UID ${v.signer?.organId}, chain to the sample root, CRL ${v.revocation?.status ?? '?'})`)
      say('B', `  "${incoming.subject}" with ${att.map((x) => `${x.name} (${x.contentType}, ${x.size} bytes)`).join(', ')}; stored, then acknowledged; 01 sent back`)
      fire(`in:${incoming.id}`)
      fire('received')
    })
    b.receiver?.pipeline.on('rejected', ({ code, message }) => say('B', `REJECTED ${code}: ${message}`))
    a.receiver?.pipeline.on('status', ({ incoming, statusCode, changed, state }) => {
      say('A', `← status ${statusCode} ${LABELS[statusCode] ?? ''} from ${incoming.senderOrganId}, signature verified; delivery ${changed ? 'now' : 'stays'} ${STATE_LABELS[state ?? ''] ?? state}`)
      fire(`status:${statusCode}`)
    })

    // 2. A's DMS sends
    step = 'sending the document through gateway A'
    const gotReceived = reached('received')
    const got01 = reached('status:01')
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/documents',
      headers: { authorization: `Bearer ${keys.a}` },
      payload: {
        recipients: [{ organId: to.organId, name: to.name, organizationInCharge: to.name }],
        code: { number: String(Math.floor(Math.random() * 9000) + 1000), notation: 'VPCP-DEMO' },
        promulgation: { place: 'Hà Nội', date: new Date().toISOString().slice(0, 10) },
        documentType: { type: 1, typeName: 'Công văn' },
        subject: 'V/v thử nghiệm liên thông văn bản điện tử',
        signer: { competence: 'KT. BỘ TRƯỞNG, CHỦ NHIỆM', position: 'Phó Chủ nhiệm', fullName: 'Nguyễn Văn A' },
        attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: Buffer.from(pdf).toString('base64') }],
      },
    })
    if (res.statusCode !== 202) throw new DemoFailure(`gateway A refused the document: ${res.statusCode} ${res.body}`)
    const sent = res.json() as { id: string; documentId: string }
    packageId = sent.id
    say('A', `${from.name}'s DMS sent DocumentId ${sent.documentId} with cong-van.pdf (${pdf.length} bytes) to ${to.organId} ${to.name}`)
    say('A', `  built the edXML package, signed it (detached CMS, key of ${from.organId}), stored it: ${STATE_LABELS.accepted}`)

    const wait = async (p: Promise<void>, what: string) => {
      step = what
      let timer: NodeJS.Timeout | undefined
      await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new DemoFailure(`timed out after ${timeout}s ${what}`)), Math.max(1, deadline - Date.now()))))])
      clearTimeout(timer)
    }
    await wait(gotReceived, 'waiting for gateway B to receive the document')
    await wait(got01, 'waiting for status 01 at gateway A')

    // 3. B's DMS registers (03) and completes (06)
    const inbox = await b.app.inject({ method: 'GET', url: `/v1/inbox?documentId=${encodeURIComponent(sent.documentId)}`, headers: { authorization: `Bearer ${keys.b}` } })
    const item = (inbox.json() as { items: { id: string }[] }).items[0]
    if (!item) throw new DemoFailure('the document is not in B\'s inbox API')
    const file = await b.app.inject({ method: 'GET', url: `/v1/inbox/${item.id}`, headers: { authorization: `Bearer ${keys.b}` } })
    const detail = file.json() as { attachments?: { contentId: string }[] }
    const cid = detail.attachments?.[0]?.contentId?.replace(/^cid:/, '')
    if (cid) {
      const f = await b.app.inject({ method: 'GET', url: `/v1/inbox/${item.id}/attachments/${encodeURIComponent(cid)}`, headers: { authorization: `Bearer ${keys.b}` } })
      say('B', `${to.name}'s DMS downloads the PDF: ${f.rawPayload.length} bytes, ${Buffer.compare(f.rawPayload, Buffer.from(pdf)) === 0 ? 'identical to what A sent' : 'DIFFERENT from what A sent'}`)
    }
    for (const code of ['03', '06'] as const) {
      const got = reached(`status:${code}`)
      const r = await b.app.inject({ method: 'POST', url: `/v1/inbox/${item.id}/status`, headers: { authorization: `Bearer ${keys.b}` }, payload: { code, staff: { department: 'Văn thư', name: 'Trần Thị B' } } })
      if (r.statusCode >= 300) throw new DemoFailure(`B's inbox API refused status ${code}: ${r.statusCode} ${r.body}`)
      say('B', `${to.name}'s DMS posts status ${code} ${LABELS[code]}: signed and sent back to ${from.organId}`)
      await wait(got, `waiting for status ${code} at gateway A`)
    }

    // 4. the timeline as A's DMS reads it
    const doc = await a.app.inject({ method: 'GET', url: `/v1/documents/${sent.id}`, headers: { authorization: `Bearer ${keys.a}` } })
    const d = (doc.json() as { deliveries: { recipient: string; state: string; timeline: { time: string; state?: string; statusCode?: string; changed: boolean; actor: string }[] }[] }).deliveries[0]
    console.log('')
    console.log(`Timeline at gateway A for ${to.organId} (GET /v1/documents/${sent.id}):`)
    for (const e of d?.timeline ?? []) {
      console.log(`  ${e.time}  ${(e.statusCode ? `${e.statusCode} ` : '   ') + (STATE_LABELS[e.state ?? ''] ?? e.state ?? '')}${e.changed ? '' : '  (kept, state unchanged)'}  by ${e.actor}`)
    }
    const ok = d?.state === 'completed'
    console.log('')
    if (!ok) {
      console.error(`lienthong demo: the exchange did not complete: the delivery is ${d?.state}`)
      return 1
    }
    console.log(`Exchange completed in ${((Date.now() - t0) / 1000).toFixed(1)} s: document, 01, 03 and 06, each signed and verified on both sides.`)
    console.log('Next: lienthong serve --config config/sample.json, and the API at http://127.0.0.1:8080/docs')
    return 0
  } catch (e) {
    const why = isGatewayError(e) ? `${e.code}: ${e.message}` : e instanceof DemoFailure || e instanceof Error ? e.message : String(e)
    console.error(`lienthong demo: failed while ${step}: ${why}`)
    return 1
  } finally {
    await cleanOnce()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

export async function cleanup(a: RunningGateway | undefined, b: RunningGateway | undefined, dir: string, exchanges: string[]): Promise<void> {
  const gateways = [a, b].filter((g): g is RunningGateway => g !== undefined)
  for (const [i, gw] of gateways.entries()) {
    try {
      await gw.receiver?.stop()
      // delete the demo's random queues (and, last, its exchanges) so that nothing is left on the broker
      const model = await gw.connection.whenConnected({ timeoutMs: 1000 })
      const ch = await model.createChannel()
      ch.on('error', () => {})
      for (const q of gw.receiver?.queues ?? []) {
        await ch.deleteQueue(q).catch(() => {})
        await ch.deleteQueue(q.replace('.inbox.', '.dead.')).catch(() => {})
      }
      if (i === gateways.length - 1) for (const x of exchanges) await ch.deleteExchange(x).catch(() => {})
      await ch.close().catch(() => {})
    } catch {
      // the broker went away: nothing to clean there
    }
  }
  for (const gw of gateways) await gw.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
