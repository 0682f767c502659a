/**
 * Receive-path test helpers: a receiver on the real broker with random names and a fresh SQLite file, raw AMQP
 * publishing (full control over headers), signed sample documents, certificates minted with OpenSSL under the
 * sample intermediate CA (for the interop packages whose From/OrganId is not a sample agency).
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import amqp from 'amqplib'
import { buildEdoc, type EdocInput } from '../../../src/envelope/index.js'
import type { Config } from '../../../src/config.js'
import { startReceiver, verifierFromConfig, type Receiver } from '../../../src/pipeline/receiver.js'
import type { IncomingEvents, IncomingPipeline } from '../../../src/pipeline/incoming.js'
import { loadSigner, type Signer } from '../../../src/signature/index.js'
import { openSqliteStore, type Store, type StoredIncoming } from '../../../src/store/index.js'
import { createAmqpConnection, type AmqpConnection } from '../../../src/transport/index.js'
import { samplePdf } from '../../fixtures/pdf/build.js'
import { AMQP_URL, CERTS, deleteAmqpNames, silentLogger, testConfig } from '../../helper.js'

interface Tap {
  testdir(fixture?: any): string
  teardown(fn: () => unknown): void
}

export const agencySigner = (slug: string, test = false): Promise<Signer> => {
  const dir = path.join(CERTS, test ? 'test' : 'agencies', slug)
  return loadSigner({
    keyPem: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    certPem: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    chainPem: readFileSync(path.join(dir, 'chain.pem'), 'utf8'),
  })
}

/** A key and certificate for `organId` (subject UID), issued by the sample intermediate CA with OpenSSL. */
export async function mintSigner(dir: string, organId: string): Promise<Signer> {
  const base = path.join(dir, `mint-${organId.replace(/[^A-Za-z0-9.]/g, '_')}`)
  const ext = `${base}.ext`
  writeFileSync(ext, 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n')
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${base}.key`])
  run(['req', '-new', '-key', `${base}.key`, '-utf8', '-subj', `/C=VN/O=Interop test agency/CN=${organId}/UID=${organId}`, '-out', `${base}.csr`])
  run([
    'x509', '-req', '-in', `${base}.csr`, '-CA', path.join(CERTS, 'intermediate-ca.pem'), '-CAkey', path.join(CERTS, 'intermediate-ca.key.pem'),
    '-set_serial', '0x' + randomBytes(12).toString('hex'), '-days', '30', '-sha256', '-extfile', ext, '-out', `${base}.crt`,
  ])
  return loadSigner({
    keyPem: readFileSync(`${base}.key`, 'utf8'),
    certPem: readFileSync(`${base}.crt`, 'utf8'),
    chainPem: readFileSync(path.join(CERTS, 'intermediate-ca.pem'), 'utf8'),
  })
}

export interface TestReceiver {
  config: Config
  store: Store
  connection: AmqpConnection
  receiver: Receiver
  pipeline: IncomingPipeline
  publish(m: RawMessage): Promise<void>
  inbox(organId: string): string
  dead(organId: string): string
}

export interface RawMessage {
  body: Uint8Array
  recipient: string
  sender?: string
  signature?: Uint8Array
  type?: 'edoc' | 'status'
  messageId?: string
}

/**
 * A receiver hosting G22, H29 and STC (test/helper.ts configuration), or the given agencies (organId + signer),
 * on a fresh store and random AMQP names; stopped and cleaned up in teardown.
 */
export async function startTestReceiver(
  t: Tap,
  opts: { agencies?: { organId: string; signer: Signer }[]; retryDelayMs?: number; config?: Record<string, any>; amqpUrl?: string } = {},
): Promise<TestReceiver> {
  let config = testConfig(t, opts.config)
  let signers: Map<string, Signer>
  if (opts.agencies) {
    const agencies = opts.agencies.map((a) => ({ ...config.agencies[0]!, organId: a.organId, name: `Agency ${a.organId}`, clients: [] }))
    config = { ...config, agencies } as Config
    signers = new Map(opts.agencies.map((a) => [a.organId, a.signer]))
  } else {
    const { loadSigners } = await import('../../../src/pipeline/signers.js')
    signers = await loadSigners(config)
  }
  const store = await openSqliteStore(config.store.path)
  const connection = createAmqpConnection({ url: opts.amqpUrl ?? AMQP_URL, initialDelayMs: 100, maxDelayMs: 1000, connectionName: 'lienthong receive test' })
  const receiver = startReceiver({
    config,
    store,
    connection,
    verifier: verifierFromConfig(config),
    signers,
    relay: { wake() {} },
    logger: silentLogger(),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
  })
  await receiver.whenConsuming({ timeoutMs: 10_000 })
  const pub = await amqp.connect(AMQP_URL)
  pub.on('error', () => {})
  const ch = await pub.createConfirmChannel()
  ch.on('error', () => {})
  t.teardown(async () => {
    await receiver.stop()
    await connection.close().catch(() => {})
    await ch.close().catch(() => {})
    await pub.close().catch(() => {})
    await deleteAmqpNames(config)
    await store.close()
  })
  return {
    config,
    store,
    connection,
    receiver,
    pipeline: receiver.pipeline,
    inbox: (o) => config.amqp.queuePrefix + o.toUpperCase(),
    dead: (o) => config.amqp.deadLetterQueuePrefix + o.toUpperCase(),
    async publish(m) {
      const headers: Record<string, string> = {}
      if (m.sender !== undefined) headers['x-lienthong-sender'] = m.sender
      headers['x-lienthong-recipient'] = m.recipient
      headers['x-lienthong-sha256'] = createHash('sha256').update(m.body).digest('hex')
      if (m.signature) headers['x-lienthong-signature'] = Buffer.from(m.signature).toString('base64')
      await new Promise<void>((resolve, reject) =>
        ch.publish(config.amqp.exchange, m.recipient.toUpperCase(), Buffer.from(m.body), {
          persistent: true,
          mandatory: true,
          messageId: m.messageId ?? randomBytes(8).toString('hex'),
          type: m.type ?? 'edoc',
          contentType: 'application/xml',
          headers,
        }, (err) => (err ? reject(err) : resolve())),
      )
    },
  }
}

/** The next pipeline event of one of the kinds, with a timeout. */
export interface AnyIncomingEvent {
  incoming?: StoredIncoming
  duplicate?: boolean
  code?: string
  message?: string
  statusCode?: string
  deliveryId?: string
  changed?: boolean
  state?: string
}
export function nextEvent<K extends keyof IncomingEvents>(p: IncomingPipeline, kinds: K[], timeoutMs = 8000): Promise<{ kind: K; event: AnyIncomingEvent }> {
  return new Promise((resolve, reject) => {
    const ls: [K, (e: never) => void][] = []
    const done = () => ls.forEach(([k, l]) => p.off(k, l as never))
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no ${kinds.join('/')} event within ${timeoutMs} ms`))
    }, timeoutMs)
    for (const k of kinds) {
      const l = (e: never) => {
        clearTimeout(timer)
        done()
        resolve({ kind: k, event: e })
      }
      ls.push([k, l])
      p.on(k, l as never)
    }
  })
}

let n = 0
/** A document package from `from` to `to` (sample agency names), with a small PDF. */
export function sampleEdoc(from: string, to: string[], over: Partial<EdocInput> = {}) {
  n++
  const code = { codeNumber: String(100 + n), codeNotation: `TEST-${randomBytes(3).toString('hex').toUpperCase()}` }
  return buildEdoc({
    from: { organId: from, organName: `Cơ quan ${from}`, organizationInCharge: 'Chính phủ' },
    to: to.map((o) => ({ organId: o, organName: `Cơ quan ${o}`, organizationInCharge: 'Chính phủ' })),
    code,
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: 'V/v thử nghiệm nhận văn bản',
    signerInfo: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    otherInfo: { pageAmount: 1 },
    attachments: [{ attachmentName: 'van-ban.pdf', contentType: 'application/pdf', data: samplePdf('Văn bản thử nghiệm') }],
    ...over,
  })
}

export { samplePdf }
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** An InboundMessage as the consumer would hand it to the pipeline (for direct handle() calls). */
export function inbound(m: RawMessage & { queue?: string }): import('../../../src/transport/index.js').InboundMessage {
  return {
    queue: m.queue ?? 'direct',
    routingKey: m.recipient.toUpperCase(),
    body: m.body,
    messageId: m.messageId ?? randomBytes(8).toString('hex'),
    type: m.type ?? 'edoc',
    contentType: 'application/xml',
    correlationId: undefined,
    priority: 0,
    timestamp: undefined,
    sender: m.sender,
    recipient: m.recipient,
    sha256: createHash('sha256').update(m.body).digest('hex'),
    signature: m.signature,
    signatureBase64: m.signature ? Buffer.from(m.signature).toString('base64') : undefined,
    redelivered: false,
    deliveryCount: undefined,
    headers: {},
  }
}
