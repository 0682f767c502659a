/**
 * The catalogue of bad input (test/cases/README.md): every case of cases.json through the real path it names.
 *
 * Two gateways on the machine's RabbitMQ with random names (test/integration/e2e/helpers.ts): A hosts G22 and H29
 * (http.bodyLimit 1 MiB, a VXP system for G22), B hosts H26 and Sở Nội vụ Hà Nội (limits.packageBytes 2 MiB).
 *
 *   api     an HTTP request to A's (or B's) API: method, URL, key, body file
 *   vxp     a VXP SDK request to A's /vxp, built as the SDK signs it (src/vxp/client.ts), then tampered with
 *   amqp    a message published to B's inbox exchange as a peer on the broker could: body, headers, signature
 *   verify  POST /v1/verify on A: an edXML package and a detached signature
 *   cli     `lienthong verify` / `lienthong parse`, spawned as a user runs them
 *
 * For every case: the exact code (and HTTP status or exit code); nothing accepted (A's packages and every delivery
 * state unchanged, B's accepted inbox unchanged, no status sent by B); nothing lost (a genuine document sent by G22
 * right after the case reaches H26's inbox once and its 01 comes back to A); both gateways answer /healthz.
 *
 * Signatures whose verdict depends on the clock are made now (`{ "signer": ... }`), from certs-sample/ or from a
 * certificate minted now under the sample CA (`mint:not-yet-valid`); the rest are committed files (generate.ts).
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { CERTS, peerChannel, ROOT } from '../helper.js'
import { bearer, E2E_KEYS, H26, startTwoGateways, waitFor, type Gateway } from '../integration/e2e/helpers.js'
import { agencySigner, nextEvent } from '../integration/receive/helpers.js'
import { existingCa, issue, days, osslTime } from '../unit/signature/openssl-pki.js'
import { SYS_A } from '../vxp/helpers.js'
import { hashFile } from '../../src/vxp/protocol.js'
import { VxpClient } from '../../src/vxp/client.js'
import { loadSigner, type Signer } from '../../src/signature/index.js'
import { ERRORS } from '../../src/errors.js'
import { FILES, packages, readmeTable, requests, TABLE_END, TABLE_START } from './generate.js'

type SignatureSpec = string | { signer: string } | null
type BodySpec = string | { padded: string; bytes: number }
interface ApiRequest {
  gateway?: 'a' | 'b'
  method: 'GET' | 'POST'
  url: string
  key?: string | null
  contentType?: string
  body?: BodySpec
  json?: string
  text?: string
  headers?: Record<string, string>
}
interface Case {
  id: string
  title: string
  path: 'api' | 'vxp' | 'amqp' | 'verify' | 'cli'
  request?: ApiRequest
  before?: ApiRequest[] | { send: string }
  vxp?: { operation: 'sendEdoc'; body: string; from: string; secret?: string; systemId?: string; tamper?: 'header' | 'no-hmac' | 'hmac-of-other' | 'body' }
  message?: { body: BodySpec; recipient: string; sender?: string; type?: 'edoc' | 'status'; signature?: SignatureSpec; signatureHeader?: string }
  verify?: { edxml?: string; signature?: SignatureSpec; json?: string; key?: string | null }
  cli?: { command: 'verify' | 'parse'; file: string; signature?: SignatureSpec; crl?: boolean }
  expect: { code: string; httpStatus?: number; exit?: number }
}

const HERE = path.dirname(new URL(import.meta.url).pathname)
const CASES = JSON.parse(readFileSync(path.join(HERE, 'cases.json'), 'utf8')) as Case[]
const file = (name: string): Buffer => readFileSync(path.join(FILES, name))
const body = (b: BodySpec): Buffer => {
  if (typeof b === 'string') return file(b)
  const bytes = file(b.padded)
  return Buffer.concat([bytes, Buffer.alloc(b.bytes - bytes.length, 0x20)])
}
const KEYS: Record<string, string> = { ...E2E_KEYS, ops: 'ops-a', opsb: 'ops-b', wrong: 'lt-no-such-key-0123456789' }
const MiB = 1048576

// 117 cases, each followed by a genuine document delivered end to end, and a dozen CLI processes: about 30 s on a
// quiet machine, many times that while the rest of the suite runs beside it
t.setTimeout(1_200_000)

t.test('the catalogue is well-formed and its files are the ones generate.ts writes', async (t) => {
  const ids = CASES.map((c) => c.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  t.ok(CASES.length >= 60, `${CASES.length} cases`)
  for (const c of CASES) {
    t.ok(c.title && c.expect?.code, `${c.id}: a title and an expected code`)
    const known = c.expect.code.startsWith('GW_ERR_') ? c.expect.code in ERRORS : `GW_ERR_RECEIVE_${c.expect.code}` in ERRORS
    t.ok(known, `${c.id}: ${c.expect.code} is in the error catalogue`)
  }
  for (const [name, bytes] of Object.entries(packages())) t.ok(bytes.equals(file(name)), `files/${name} is what generate.ts writes`)
  for (const [name, json] of Object.entries(requests())) t.same(JSON.parse(file(name).toString('utf8')), json, `files/${name} is what generate.ts writes`)
  const readme = readFileSync(path.join(HERE, 'README.md'), 'utf8')
  t.ok(readme.includes(`${TABLE_START}\n${readmeTable(CASES)}\n${TABLE_END}`), 'README.md lists every case (npx tsx test/cases/generate.ts)')
})

t.test('every case: its exact code, nothing accepted, nothing lost, still serving', async (t) => {
  const { a, b } = await startTwoGateways(t, {
    configure: (label, raw) => {
      if (label === 'a') {
        raw.http = { ...raw.http, bodyLimit: MiB }
        raw.vxp = { server: { systems: [SYS_A] } }
      } else raw.limits = { ...raw.limits, packageBytes: 2 * MiB, attachmentBytes: MiB }
    },
  })
  const tmp = t.testdir({})
  const signers = new Map<string, Promise<Signer>>()
  const signer = (spec: string): Promise<Signer> => {
    let s = signers.get(spec)
    if (!s) {
      if (spec === 'mint:not-yet-valid') {
        const ca = existingCa(path.join(tmp, 'ca'), path.join(CERTS, 'intermediate-ca.key.pem'), path.join(CERTS, 'intermediate-ca.pem'))
        const leaf = issue(ca, path.join(tmp, 'not-yet-valid'), '/C=VN/O=Văn phòng Chính phủ/CN=Văn phòng Chính phủ/UID=000.00.00.G22', {
          startdate: osslTime(days(30)),
          enddate: osslTime(days(400)),
        })
        s = loadSigner({ keyPem: leaf.keyPem, certPem: leaf.certPem, chainPem: ca.certPem })
      } else {
        const [kind, slug] = spec.split('/') as ['agencies' | 'test', string]
        s = agencySigner(slug, kind === 'test')
      }
      signers.set(spec, s)
    }
    return s
  }
  const signature = async (spec: SignatureSpec | undefined, content: Uint8Array): Promise<Buffer | undefined> => {
    if (spec === null || spec === undefined) return undefined
    if (typeof spec === 'string') return file(spec)
    return Buffer.from(await (await signer(spec.signer)).sign(content))
  }

  // ---- the genuine traffic: G22 → H26 through A's API, delivered with its 01 -----------------------------------
  const gw = (label: 'a' | 'b' | undefined): Gateway => (label === 'b' ? b : a)
  let genuineCount = 0
  async function genuine(): Promise<{ id: string; documentId: string; inboxId: string | undefined; delivered: boolean }> {
    genuineCount++
    const res = await a.app.inject({
      method: 'POST',
      url: '/v1/documents',
      headers: bearer(E2E_KEYS.g22),
      payload: {
        recipients: [{ organId: H26, name: 'Ủy ban nhân dân Thành phố Hà Nội', organizationInCharge: 'Chính phủ' }],
        code: { number: String(genuineCount), notation: `THAT-${randomInt(100_000, 1_000_000)}` },
        promulgation: { place: 'Hà Nội', date: '2026/11/25' },
        documentType: { type: 1, typeName: 'Công văn' },
        subject: 'V/v văn bản thật sau một trường hợp xấu',
        signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
        attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n%%EOF\n').toString('base64') }],
      },
    })
    if (res.statusCode !== 202) throw new Error(`genuine document refused: ${res.statusCode} ${res.body}`)
    const { id, documentId } = res.json() as { id: string; documentId: string }
    const delivered = await waitFor(async () => (await a.store.getDeliveries(id)).every((d) => d.state === 'delivered'), 15_000)
    const inbox = await b.store.listIncoming({ documentId, limit: 10 })
    return { id, documentId, inboxId: inbox.items.find((i) => i.state !== 'rejected')?.id, delivered: Boolean(delivered) }
  }
  const first = await genuine()
  t.ok(first.delivered && first.inboxId, 'the first genuine document is delivered')
  const places: Record<string, string> = { 'sent:g22': first.id, 'inbox:h26': first.inboxId ?? 'none' }
  const fill = (url: string) => url.replace(/\{([a-z0-9:]+)\}/g, (_, k: string) => places[k] ?? k)

  // ---- what "nothing accepted" compares ------------------------------------------------------------------------
  async function snapshot() {
    const sent = await a.store.listPackages({ limit: 1000 })
    const accepted = (await b.store.listIncoming({ limit: 1000 })).items.filter((i) => i.state !== 'rejected')
    const bSent = await b.store.listPackages({ limit: 1000 })
    return {
      aPackages: sent.items.length,
      aDeliveries: sent.items.flatMap((p) => p.deliveries.map((d) => `${p.id}/${d.recipient}:${d.state}`)).sort(),
      bAccepted: accepted.map((i) => `${i.id}:${i.state}`).sort(),
      bSent: bSent.items.map((p) => p.id),
    }
  }

  // ---- the paths -----------------------------------------------------------------------------------------------
  async function api(r: ApiRequest): Promise<{ status: number; code: string | undefined; body: string }> {
    const headers: Record<string, string> = { ...(r.key ? bearer(KEYS[r.key] ?? r.key) : {}), ...(r.headers ?? {}) }
    let payload: Buffer | string | undefined
    if (r.json !== undefined) {
      payload = file(r.json)
      headers['content-type'] = 'application/json'
    } else if (r.body !== undefined) payload = body(r.body)
    else if (r.text !== undefined) payload = r.text
    if (r.contentType) headers['content-type'] = r.contentType
    const res = await gw(r.gateway).app.inject({ method: r.method, url: fill(r.url), headers, ...(payload !== undefined ? { payload } : {}) })
    let code: string | undefined
    try {
      code = (res.json() as { code?: string }).code
    } catch {
      code = undefined
    }
    return { status: res.statusCode, code, body: res.body.slice(0, 400) }
  }

  async function vxp(v: NonNullable<Case['vxp']>): Promise<{ status: number; code: string | undefined; body: string }> {
    const client = new VxpClient({ endpoint: 'http://gateway/vxp', ...SYS_A, ...(v.secret ? { secret: v.secret } : {}), ...(v.systemId ? { systemId: v.systemId } : {}) })
    const bytes = file(v.body)
    const params = { from: v.from, servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': hashFile(bytes) }
    const req = client.build(v.operation, params, { contentType: 'application/octet-stream', body: Buffer.concat([bytes, Buffer.from('\r\n')]), ascii: true })
    if (v.tamper === 'header') req.headers['XroadVnpt-from'] = '000.00.00.H29'
    if (v.tamper === 'no-hmac') delete req.headers['XroadVnpt-hash-header']
    if (v.tamper === 'hmac-of-other') req.headers['XroadVnpt-hash-header'] = client.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }).headers['XroadVnpt-hash-header']!
    if (v.tamper === 'body') {
      const b = req.body as Buffer
      b[200] = b[200]! ^ 0x01
    }
    const res = await a.app.inject({ method: req.method, url: `/vxp/${v.operation}`, headers: req.headers, payload: req.body })
    let code: string | undefined
    try {
      const j = res.json() as { ErrorCode?: string; status?: string }
      code = j.status === 'OK' ? 'accepted' : j.ErrorCode
    } catch {
      code = undefined
    }
    return { status: res.statusCode, code, body: res.body.slice(0, 400) }
  }

  const ch = await peerChannel(t)
  async function publish(m: NonNullable<Case['message']>): Promise<{ code: string | undefined; kind: string }> {
    const bytes = body(m.body)
    const sig = await signature(m.signature, bytes)
    const headers: Record<string, string> = { 'x-lienthong-recipient': m.recipient, 'x-lienthong-sha256': createHash('sha256').update(bytes).digest('hex') }
    if (m.sender !== undefined) headers['x-lienthong-sender'] = m.sender
    if (sig) headers['x-lienthong-signature'] = sig.toString('base64')
    if (m.signatureHeader !== undefined) headers['x-lienthong-signature'] = m.signatureHeader
    const ev = nextEvent(b.receiver!.pipeline, ['received', 'rejected', 'status'], 20_000)
    await new Promise<void>((resolve, reject) =>
      ch.publish(b.config.amqp.exchange, m.recipient.toUpperCase(), bytes, { persistent: true, messageId: randomBytes(8).toString('hex'), type: m.type ?? 'edoc', contentType: 'application/xml', headers }, (e) =>
        e ? reject(e) : resolve(),
      ),
    )
    const got = await ev
    return { kind: got.kind, code: got.kind === 'rejected' ? (got.event.code ?? (got.event.incoming?.verdict as { code?: string } | undefined)?.code) : got.kind }
  }

  async function verify(v: NonNullable<Case['verify']>): Promise<{ status: number; code: string | undefined; body: string }> {
    const key = v.key === null ? undefined : bearer(KEYS[v.key ?? 'g22']!)
    let payload: Buffer | Record<string, string>
    if (v.json) payload = file(v.json)
    else {
      const edxml = file(v.edxml!)
      payload = { edxml: edxml.toString('base64'), signature: (await signature(v.signature, edxml))!.toString('base64') }
    }
    const res = await a.app.inject({ method: 'POST', url: '/v1/verify', headers: { ...key, 'content-type': 'application/json' }, payload })
    const j = res.json() as { code?: string; signatures?: { code: string }[] }
    return { status: res.statusCode, code: res.statusCode === 200 ? j.signatures?.[0]?.code : j.code, body: res.body.slice(0, 400) }
  }

  function spawnCli(args: string[]): Promise<{ exit: number; stdout: string; stderr: string }> {
    return new Promise((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        resolve({ exit: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    )
  }
  async function cli(c: NonNullable<Case['cli']>): Promise<{ exit: number; code: string | undefined; body: string }> {
    const target = path.join(FILES, c.file)
    if (c.command === 'parse') {
      const r = await spawnCli(['parse', target])
      return { exit: r.exit, code: /^(GW_ERR_[A-Z0-9_]+):/m.exec(r.stderr)?.[1], body: r.stderr.slice(0, 400) }
    }
    const sigFile = path.join(tmp, `cli-${randomBytes(4).toString('hex')}.p7s`)
    writeFileSync(sigFile, (await signature(c.signature, file(c.file)))!)
    const r = await spawnCli(['verify', target, '--signature', sigFile, '--trust', path.join(CERTS, 'trust-anchors.pem'), ...(c.crl ? ['--crl', path.join(CERTS, 'crls.pem')] : []), '--json'])
    let code: string | undefined
    try {
      code = (JSON.parse(r.stdout) as { code?: string }).code
    } catch {
      code = undefined
    }
    return { exit: r.exit, code, body: (r.stdout + r.stderr).slice(0, 400) }
  }

  // ---- run every case -------------------------------------------------------------------------------------------
  const tally: Record<string, { cases: number; passed: number }> = {}
  for (const c of CASES) {
    const row = (tally[c.path] ??= { cases: 0, passed: 0 })
    row.cases++
    await t.test(`${c.id} ${c.path}: ${c.title} → ${c.expect.code}`, async (t) => {
      // what the case needs to exist first (a document under the same DocumentId, an Idempotency-Key used)
      const setup = Array.isArray(c.before) ? c.before : c.before ? [{ method: 'POST' as const, url: '/v1/documents', key: 'g22', contentType: 'application/xml', body: c.before.send }] : []
      for (const r of setup) {
        const res = await api(r)
        t.equal(res.status, 202, `set-up request accepted (${res.body})`)
        const id = (JSON.parse(res.body) as { id: string }).id
        t.ok(await waitFor(async () => (await a.store.getDeliveries(id)).every((d) => d.state === 'delivered'), 15_000), 'set-up document delivered')
      }
      const before = await snapshot()

      // 1. the exact code
      if (c.path === 'api' || c.path === 'vxp' || c.path === 'verify') {
        const got = c.path === 'api' ? await api(c.request!) : c.path === 'vxp' ? await vxp(c.vxp!) : await verify(c.verify!)
        t.equal(got.code, c.expect.code, `code ${c.expect.code} (${got.body})`)
        if (c.expect.httpStatus !== undefined) t.equal(got.status, c.expect.httpStatus, `HTTP ${c.expect.httpStatus}`)
      } else if (c.path === 'amqp') {
        const got = await publish(c.message!)
        t.equal(got.kind, 'rejected', 'refused')
        t.equal(got.code, c.expect.code, `code ${c.expect.code}`)
      } else {
        const got = await cli(c.cli!)
        t.equal(got.code, c.expect.code, `code ${c.expect.code} (${got.body})`)
        t.equal(got.exit, c.expect.exit, `exit ${c.expect.exit}`)
      }

      // 2. nothing accepted
      const after = await snapshot()
      t.equal(after.aPackages, before.aPackages, 'A stored no package')
      t.same(after.aDeliveries, before.aDeliveries, 'no delivery of A moved')
      t.same(after.bAccepted, before.bAccepted, "nothing entered B's inbox")
      const answers = (await b.store.listPackages({ kind: 'status', limit: 1000 })).items.filter((p) => !before.bSent.includes(p.id))
      t.same(answers.map((p) => p.statusCode), [], 'B sent no status (a 02 names a DocumentId: it would refuse what B accepted under it)')

      // 3. nothing lost, still serving
      const g = await genuine()
      t.ok(g.delivered, 'a genuine document sent after the case gets its 01')
      t.ok(g.inboxId, "and is in H26's inbox")
      t.equal((await b.store.listIncoming({ documentId: g.documentId, limit: 10 })).items.length, 1, 'exactly once')
      t.equal((await a.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'A serves /healthz')
      t.equal((await b.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'B serves /healthz')
      if (t.passing()) row.passed++
    })
  }
  const total = Object.values(tally).reduce((n, r) => n + r.cases, 0)
  const passed = Object.values(tally).reduce((n, r) => n + r.passed, 0)
  t.comment(`catalogue: ${passed}/${total} cases passed; ${Object.entries(tally).map(([p, r]) => `${p} ${r.passed}/${r.cases}`).join(', ')}; ${genuineCount} genuine documents delivered around them`)
})
