/**
 * trust.revocation.onUnavailable on the receive path, with a revocation source that cannot answer (an OCSP
 * responder on a closed port of 127.0.0.1): `hold` sends the message back to the queue (retry) until holdMaxMs
 * after the first check, then refuses it with REVOCATION_UNAVAILABLE; `refuse` refuses at once; `accept-with-flag`
 * stores it received with the flag in its verdict. Once the source answers again a held package is received.
 */
import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import type { Config, RevocationConfig } from '../../../src/config.js'
import { createIncomingPipeline } from '../../../src/pipeline/incoming.js'
import { createStatusSender } from '../../../src/pipeline/statuses.js'
import { createRevocationChecker, createVerifier } from '../../../src/signature/index.js'
import { openSqliteStore } from '../../../src/store/index.js'
import { crlsPem, testConfig, testSigners, trustAnchorsPem } from '../../helper.js'
import { agencySigner, inbound, sampleEdoc } from './helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'

const closedPort = await new Promise<number>((resolve) => {
  const s = createServer()
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port
    s.close(() => resolve(p))
  })
})

const policy = (onUnavailable: RevocationConfig['onUnavailable']): RevocationConfig => ({
  order: ['ocsp'], onUnavailable, holdMaxMs: 60_000, ocspResponder: `http://127.0.0.1:${closedPort}/`, nonce: true, requireNonce: false, timeoutMs: 2000, cacheEntries: 100,
})

async function setup(t: Test, onUnavailable: RevocationConfig['onUnavailable']) {
  const config: Config = testConfig(t)
  const store = await openSqliteStore(config.store.path)
  t.teardown(() => store.close())
  let now = Date.now()
  const clock = () => new Date(now)
  // the OCSP source can be switched to the sample CRL files (as if the responder came back)
  let responderUp = false
  const dead = createRevocationChecker({ ocspResponder: `http://127.0.0.1:${closedPort}/`, failureTtlMs: 0, timeoutMs: 2000 })
  const checker = {
    ocsp: async (c: Parameters<typeof dead.ocsp>[0], i: Parameters<typeof dead.ocsp>[1]) => (responderUp ? { status: 'good' as const, source: 'responder back' } : dead.ocsp(c, i)),
    crl: dead.crl,
    stats: dead.stats,
    clear: dead.clear,
  }
  const verifier = createVerifier({
    trustAnchors: trustAnchorsPem(), crls: crlsPem(), now: clock,
    revocation: { checker, order: ['ocsp'], onUnavailable: onUnavailable === 'accept-with-flag' ? 'accept' : 'fail' },
  })
  const statuses = createStatusSender({ store, agencies: config.agencies, signers: await testSigners(config), relay: { wake() {} }, clock })
  const pipeline = createIncomingPipeline({ config: { ...config, trust: { ...config.trust, revocation: policy(onUnavailable) } }, store, verifier, statuses, clock })
  const vpcp = await agencySigner('vpcp')
  const doc = sampleEdoc(G22, [H29])
  const msg = inbound({ body: doc.bytes, recipient: H29, sender: G22, signature: await vpcp.sign(doc.bytes, { signingTime: clock() }) })
  return { store, pipeline, msg, advance: (ms: number) => void (now += ms), bringBack: () => void (responderUp = true) }
}

t.test('hold: back to the queue until holdMaxMs, then refused with REVOCATION_UNAVAILABLE', async (t) => {
  const s = await setup(t, 'hold')
  t.equal(await s.pipeline.handle(s.msg), 'retry', 'first check: held')
  s.advance(30_000)
  t.equal(await s.pipeline.handle(s.msg), 'retry', 'still within holdMaxMs')
  t.equal((await s.store.listIncoming({ limit: 10 })).items.length, 0, 'nothing stored while held')
  s.advance(31_000)
  t.equal(await s.pipeline.handle(s.msg), 'reject', 'after holdMaxMs: refused')
  const rows = (await s.store.listIncoming({ limit: 10 })).items
  t.equal(rows.length, 1)
  t.equal(rows[0]?.state, 'rejected')
  t.match(rows[0]?.verdict, { code: 'REVOCATION_UNAVAILABLE' })
  t.match((rows[0]?.verdict as { message?: string }).message, new RegExp(`OCSP http://127\\.0\\.0\\.1:${closedPort}/`))
})

t.test('hold: a held package is received once the source answers', async (t) => {
  const s = await setup(t, 'hold')
  t.equal(await s.pipeline.handle(s.msg), 'retry')
  s.advance(10_000)
  s.bringBack()
  t.equal(await s.pipeline.handle(s.msg), 'ack')
  const rows = (await s.store.listIncoming({ limit: 10 })).items
  t.equal(rows[0]?.state, 'arrived')
  t.match(rows[0]?.verdict, { code: 'VALID', revocation: { status: 'good', source: /responder back/ } })
})

t.test('refuse: refused at once; accept-with-flag: received with the flag', async (t) => {
  const r = await setup(t, 'refuse')
  t.equal(await r.pipeline.handle(r.msg), 'reject')
  t.match((await r.store.listIncoming({ limit: 10 })).items[0]?.verdict, { code: 'REVOCATION_UNAVAILABLE' })
  const a = await setup(t, 'accept-with-flag')
  t.equal(await a.pipeline.handle(a.msg), 'ack')
  t.match((await a.store.listIncoming({ limit: 10 })).items[0]?.verdict, { code: 'VALID', revocation: { status: 'unknown', unavailable: true } })
})
