/**
 * Signing identity rollover mid-traffic, two gateways on the real broker: A's VPCP (G22) and B's UBND TP Hà Nội
 * (H26) each have a renewed certificate (issued by the sample CA in this test's folder) as `nextSigning`, with the
 * same `switchAt` 3 seconds into a stream of documents from G22 to H26. Every document arrives on B with a valid
 * verdict and every one gets its 01 back on A; the signer certificate of the documents (seen by B) and of the 01s
 * (seen by A) is the current one for signing times before the switch and the next one from it on, both kinds occur,
 * and neither gateway is restarted or told anything about the other's new certificate. A signs in its package
 * worker, B on the main thread (workers: 0).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { sampleDocument } from '../../helper.js'
import { issueNextIdentity } from '../../rollover-pki.js'
import { isRolloverSigner, type RolloverSigner } from '../../../src/signature/index.js'
import { bearer, E2E_KEYS, G22, H26, startTwoGateways, waitFor, type Gateway } from './helpers.js'

const recipient = { organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'UBND TP Hà Nội' }

async function send(a: Gateway, i: number) {
  const res = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: bearer(E2E_KEYS.g22), payload: { ...sampleDocument({ subject: `Văn bản số ${i} qua thời điểm chuyển khóa` } as never), recipients: [recipient] } })
  if (res.statusCode !== 202) throw new Error(`send failed ${res.statusCode} ${res.body}`)
  return res.json() as { id: string; documentId: string }
}

type V = { ok?: boolean; code?: string; signer?: { sha256: string }; signingTime?: string; etsi?: { indication: string } }

t.test('a switch of signing identity in the middle of a stream loses nothing and every package verifies', async (t) => {
  // not t.testdir: the gateways' own folders are made (and emptied) by startTwoGateways
  const pki = mkdtempSync(path.join(tmpdir(), 'lt-rollover-'))
  t.teardown(() => rmSync(pki, { recursive: true, force: true }))
  const nextG22 = issueNextIdentity(path.join(pki, 'g22'), G22, 'Van phong Chinh phu')
  const nextH26 = issueNextIdentity(path.join(pki, 'h26'), H26, 'UBND TP Ha Noi')
  // a whole second, after both gateways are up (two gateways with a worker thread take 3-12 s to start on the shared
  // 2-core machine); the stream starts 3 s before it
  const switchMs = Math.ceil(Date.now() / 1000) * 1000 + 25_000
  const switchAt = new Date(switchMs).toISOString()
  const { a, b } = await startTwoGateways(t, {
    configure(label, raw) {
      const [organId, next] = label === 'a' ? [G22, nextG22] : [H26, nextH26]
      raw.agencies = raw.agencies.map((ag: Record<string, unknown>) => (ag.organId === organId ? { ...ag, nextSigning: next, switchAt } : ag))
      raw.pipeline = { ...(raw.pipeline ?? {}), workers: label === 'a' ? 1 : 0 }
    },
  })
  const sa = a.gateway.signers.get(G22) as RolloverSigner
  const sb = b.gateway.signers.get(H26) as RolloverSigner
  t.ok(isRolloverSigner(sa) && isRolloverSigner(sb), 'both agencies have two identities')
  t.ok(Date.now() < switchMs - 1500, `gateways started before the switch (${switchMs - Date.now()} ms to go)`)
  await new Promise((r) => setTimeout(r, Math.max(0, switchMs - 3000 - Date.now())))
  const [oldA, newA] = sa.identities.map((i) => i.certificate.sha256)
  const [oldB, newB] = sb.identities.map((i) => i.certificate.sha256)

  // a stream: one document every 80 ms from 3 s before until 3 s after the switch
  const sent: { id: string; documentId: string }[] = []
  let i = 0
  while (Date.now() < switchMs + 3000) {
    sent.push(await send(a, i++))
    await new Promise((r) => setTimeout(r, 80))
  }
  t.comment(`${sent.length} documents sent around the switch at ${switchAt}`)

  // every one delivered: its 01 came back to A and verified
  const states = async () => {
    const out: Record<string, string> = {}
    for (const s of sent) {
      const doc = (await a.app.inject({ method: 'GET', url: `/v1/documents/${s.id}`, headers: bearer(E2E_KEYS.g22) })).json() as { deliveries: { recipient: string; state: string }[] }
      out[s.id] = doc.deliveries.find((d) => d.recipient === H26)?.state ?? 'none'
    }
    return out
  }
  const all = await waitFor(async () => {
    const s = await states()
    return Object.values(s).every((x) => x === 'delivered') ? s : undefined
  }, 30_000, 250)
  if (!all) t.comment(JSON.stringify(await states()))
  t.ok(all, `all ${sent.length} documents delivered (01 received by A)`)

  // on B: every document with a valid verdict, signed by the identity of its signing time
  const onB = (await b.store.listIncoming({ recipient: H26, kind: 'edoc', limit: 1000 })).items
  t.equal(onB.length, sent.length, 'B received each document once')
  const docIds = new Set(sent.map((s) => s.documentId))
  let before = 0
  let after = 0
  for (const inc of onB) {
    t.ok(docIds.has(inc.documentId ?? ''), 'a document of the stream')
    const v = inc.verdict as V
    if (v.code !== 'VALID') t.fail(`${inc.documentId}: ${v.code}`)
    if (v.etsi?.indication !== 'TOTAL_PASSED') t.fail(`${inc.documentId}: ETSI ${JSON.stringify(v.etsi)}`)
    const st = Date.parse(v.signingTime ?? '')
    const want = st < switchMs ? oldA : newA
    if (v.signer?.sha256 !== want) t.fail(`${inc.documentId} signed at ${v.signingTime} by ${v.signer?.sha256}, expected ${want}`)
    if (st < switchMs) before++
    else after++
  }
  t.ok(onB.every((x) => (x.verdict as V).code === 'VALID' && (x.verdict as V).etsi?.indication === 'TOTAL_PASSED'), 'every document verified on B (VALID, TOTAL_PASSED)')
  t.ok(before > 0 && after > 0, `documents signed before (${before}) and after (${after}) the switch, each by its identity`)

  // on A: every 01 verified, B's signer certificate changes at the switch too
  const statuses = (await a.store.listIncoming({ recipient: G22, kind: 'status', senderOrganId: H26, limit: 1000 })).items
  t.equal(statuses.length, sent.length, 'one 01 per document')
  let sBefore = 0
  let sAfter = 0
  for (const inc of statuses) {
    const v = inc.verdict as V
    if (v.code !== 'VALID') t.fail(`status for ${inc.documentId}: ${v.code}`)
    const st = Date.parse(v.signingTime ?? '')
    if (v.signer?.sha256 !== (st < switchMs ? oldB : newB)) t.fail(`01 signed at ${v.signingTime} by the wrong identity`)
    if (st < switchMs) sBefore++
    else sAfter++
  }
  t.ok(statuses.every((x) => (x.verdict as V).code === 'VALID'), 'every 01 verified on A')
  t.ok(sBefore > 0 && sAfter > 0, `01s signed before (${sBefore}) and after (${sAfter}) the switch by B's two identities`)
  t.equal(sa.certificate.sha256, newA, 'after the switch A reports the next certificate as its own')
  t.not(oldA, newA)
})
