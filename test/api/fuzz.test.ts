/**
 * Bounded mutation fuzz of the HTTP API (seeds and budget: test/fuzz.ts): valid requests mutated byte by byte and
 * sent to a gateway built as the other API tests do (buildTestApp: the real routes, store and verifier, no broker).
 *
 *   - POST /v1/documents with a JSON document and with a prebuilt edXML package;
 *   - POST /v1/verify with a package and its detached signature, mutated as JSON text or inside the decoded
 *     package or signature.
 *
 * Every answer: no 5xx, a status the route documents, an error body with a GW_ERR_ code, within a time bound. A
 * prebuilt package is accepted (202) only when the parser takes it, and the verify endpoint reports VALID only for
 * the package that was signed and the signed part of its signature unchanged (see test/unit/signature/fuzz.test.ts
 * for why a change elsewhere in the CMS may still verify).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { auth, buildTestApp, KEYS, ROOT, sampleDocument } from '../helper.js'
import { agencySigner } from '../integration/receive/helpers.js'
import { parseEnvelope } from '../../src/envelope/index.js'
import { parseCms } from '../../src/signature/cms.js'
import { decodeBase64Strict } from '../../src/encoding.js'
import { fuzzBudget, fuzzSeeds, mutate, rng } from '../fuzz.js'

/** Longest one request may take (the shared 2-core machine: generous); the slowest is printed. */
const PER_REQUEST_MS = 5000
const ALLOWED = new Set([200, 202, 400, 403, 409, 413, 415, 422])

const signedPart = (cms: Uint8Array): string | undefined => {
  try {
    const p = parseCms(cms)
    return `${p.signedAttrs?.toString('hex')}|${Buffer.from(p.signature).toString('hex')}`
  } catch {
    return undefined
  }
}

t.test('mutated API requests: no 5xx, coded errors, bounded time, nothing invalid accepted', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { requestsPerMinute: 1_000_000 } } })
  const pkg = readFileSync(path.join(ROOT, 'test/cases/files/signed/from-g22.edxml'))
  const sig = Buffer.from(await (await agencySigner('vpcp')).sign(pkg))
  const json = Buffer.from(JSON.stringify(sampleDocument({ recipients: [{ organId: '000.00.00.H26', name: 'UBND Thành phố Hà Nội', organizationInCharge: 'Chính phủ' }] })))
  type Target = { name: string; url: string; contentType: string; make: (r: () => number) => { payload: Buffer; what: string; edxml?: Buffer; signature?: Buffer } }
  const targets: Target[] = [
    { name: 'documents/json', url: '/v1/documents', contentType: 'application/json', make: (r) => { const m = mutate(json, r); return { payload: m.bytes, what: m.what } } },
    { name: 'documents/xml', url: '/v1/documents', contentType: 'application/xml', make: (r) => { const m = mutate(pkg, r); return { payload: m.bytes, what: m.what, edxml: m.bytes } } },
    {
      name: 'verify',
      url: '/v1/verify',
      contentType: 'application/json',
      make: (r) => {
        const choice = r()
        if (choice < 0.34) {
          const m = mutate(Buffer.from(JSON.stringify({ edxml: pkg.toString('base64'), signature: sig.toString('base64') })), r)
          let body: { edxml?: unknown; signature?: unknown } = {}
          try {
            body = JSON.parse(m.bytes.toString('utf8')) as typeof body
          } catch {
            // not JSON: refused whatever it says
          }
          const dec = (v: unknown) => (typeof v === 'string' ? decodeBase64Strict(v) ?? undefined : undefined)
          return { payload: m.bytes, what: `json ${m.what}`, edxml: dec(body.edxml), signature: dec(body.signature) }
        }
        const onPkg = choice < 0.67
        const m = mutate(onPkg ? pkg : sig, r)
        const edxml = onPkg ? m.bytes : pkg
        const signature = onPkg ? sig : m.bytes
        return { payload: Buffer.from(JSON.stringify({ edxml: edxml.toString('base64'), signature: signature.toString('base64') })), what: `${onPkg ? 'edxml' : 'signature'} ${m.what}`, edxml, signature }
      },
    },
  ]

  // warm-up, not timed: the first request of a route starts its worker threads and compiles their code (another
  // document than the fuzzed one, so that its DocumentId stays free)
  const warm = JSON.stringify(sampleDocument({ recipients: [{ organId: '000.00.00.H26', name: 'UBND Thành phố Hà Nội', organizationInCharge: 'Chính phủ' }] }))
  await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: warm })
  await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: { edxml: pkg.toString('base64'), signature: sig.toString('base64') } })

  const budget = fuzzBudget(150)
  for (const seed of fuzzSeeds(20261203)) {
    const r = rng(seed)
    const bad: string[] = []
    const statuses = new Map<string, number>()
    let slowest = 0
    const end = Date.now() + budget.timeMs
    let i = 0
    for (; i < budget.count && Date.now() < end; i++) {
      const target = targets[i % targets.length]!
      const m = target.make(r)
      const where = `seed ${seed} #${i} ${target.name} ${m.what}`
      const t0 = performance.now()
      const res = await app.inject({ method: 'POST', url: target.url, headers: { ...auth(KEYS.g22), 'content-type': target.contentType }, payload: m.payload })
      const ms = performance.now() - t0
      slowest = Math.max(slowest, ms)
      const key = `${target.name} ${res.statusCode}`
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
      if (ms > PER_REQUEST_MS) bad.push(`${where}: took ${Math.round(ms)} ms`)
      if (!ALLOWED.has(res.statusCode)) bad.push(`${where}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`)
      let body: { code?: string; signatures?: { code: string }[] }
      try {
        body = res.json()
      } catch {
        bad.push(`${where}: the answer is not JSON`)
        continue
      }
      if (res.statusCode >= 400 && !/^GW_ERR_/.test(body.code ?? '')) bad.push(`${where}: error without a code: ${res.body.slice(0, 200)}`)
      if (target.name === 'documents/xml' && res.statusCode === 202) {
        try {
          parseEnvelope(m.edxml!)
        } catch (e) {
          bad.push(`${where}: accepted a package the parser refuses (${String(e)})`)
        }
      }
      if (target.name === 'verify' && res.statusCode === 200 && body.signatures?.[0]?.code === 'VALID') {
        if (!m.edxml?.equals(pkg)) bad.push(`${where}: a changed package reported VALID`)
        else if (!m.signature || signedPart(m.signature) !== signedPart(sig)) bad.push(`${where}: a changed signed part reported VALID`)
      }
    }
    t.comment(`API fuzz seed ${seed}: ${i} requests, slowest ${Math.round(slowest)} ms; ${[...statuses].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}`)
    t.same(bad, [], `seed ${seed}: no 5xx, coded errors, within ${PER_REQUEST_MS} ms, nothing invalid accepted`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still serving')
})
