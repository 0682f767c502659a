/**
 * Incoming status packages on the real broker: verified like documents, matched to the delivery they answer (by
 * ResponseFor/DocumentId, else From + code + promulgation date), out-of-order statuses never move a state backwards
 * but all stay in the timeline; 02 keeps its reason; a status for an unknown document is stored rejected
 * (ORPHAN_STATUS) and acknowledged, not dead-lettered nor retried; a forged status (wrong signer) changes nothing.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { buildStatus } from '../../../src/envelope/index.js'
import { queueDepth } from '../../helper.js'
import { agencySigner, nextEvent, sampleEdoc, sleep, startTestReceiver, type TestReceiver } from './helpers.js'
import type { Signer } from '../../../src/signature/index.js'

const G22 = '000.00.00.G22'
const H26 = '000.00.00.H26'

async function sentDocument(rx: TestReceiver) {
  const env = sampleEdoc(G22, [H26])
  const h = env.edoc!.messageHeader
  const rec = await rx.store.recordOutgoing({
    package: {
      id: createHash('sha256').update(env.bytes).digest('hex').slice(0, 32),
      kind: 'edoc',
      documentId: h.documentId,
      senderOrganId: G22,
      bytes: env.bytes,
      signature: new Uint8Array([1]),
      sha256: env.sha256(),
      priority: 0,
      codeNumber: h.code.codeNumber,
      codeNotation: h.code.codeNotation,
      promulgationDate: h.promulgationInfo.promulgationDate.value,
      metadata: {},
    },
    recipients: [H26],
    actor: 'client:test',
  })
  await rx.store.markQueued(rec.deliveries[0]!.id)
  return { h, deliveryId: rec.deliveries[0]!.id, code: `${h.code.codeNumber}/${h.code.codeNotation}` }
}

async function sendStatus(rx: TestReceiver, signer: Signer, code: string, rf: { documentId: string; code: string; promulgationDate?: string }, description = '') {
  const env = buildStatus({
    from: { organId: H26, organName: 'UBND TP Hà Nội', organizationInCharge: 'UBND TP Hà Nội' },
    responseFor: { organId: G22, ...rf },
    statusCode: code,
    description,
  })
  const ev = nextEvent(rx.pipeline, ['status', 'rejected'])
  await rx.publish({ body: env.bytes, recipient: G22, sender: H26, signature: await signer.sign(env.bytes), type: 'status' })
  return ev
}

t.test('statuses move deliveries forward only and stay in the timeline', async (t) => {
  const rx = await startTestReceiver(t)
  const hanoi = await agencySigner('ubnd-hanoi')
  const doc = await sentDocument(rx)
  const rf = { documentId: doc.h.documentId, code: doc.code, promulgationDate: doc.h.promulgationInfo.promulgationDate.value }

  let got = await sendStatus(rx, hanoi, '06', rf)
  t.equal(got.kind, 'status')
  t.equal(got.event.state, 'completed', '06 arriving first moves queued → completed')
  got = await sendStatus(rx, hanoi, '03', rf)
  t.equal(got.event.changed, false, 'a late 03 does not move it back')
  got = await sendStatus(rx, hanoi, '01', rf)
  t.equal(got.event.changed, false, 'a late 01 does not move it back')
  const d = await rx.store.getDelivery(doc.deliveryId)
  t.equal(d?.state, 'completed')
  const tl = await rx.store.timeline(doc.deliveryId)
  t.same(
    tl.filter((e) => e.statusCode).map((e) => [e.statusCode, e.changed]),
    [['06', true], ['03', false], ['01', false]],
    'every status kept in the timeline, in arrival order',
  )
  const stored = await rx.store.listIncoming({ kind: 'status', limit: 10 })
  t.equal(stored.items.length, 3, 'status packages stored')
  t.ok(stored.items.every((s) => s.state === 'arrived' && (s.verdict as { code: string }).code === 'VALID'))

  // 02 with its reason, matched by code + date when the DocumentId does not match (docs/edxml.md §c fallback)
  const doc2 = await sentDocument(rx)
  got = await sendStatus(rx, hanoi, '02', { documentId: 'some-other-id', code: doc2.code, promulgationDate: doc2.h.promulgationInfo.promulgationDate.value }, 'Không đúng thẩm quyền')
  t.equal(got.kind, 'status', 'matched by the code and date fallback')
  const d2 = await rx.store.getDelivery(doc2.deliveryId)
  t.equal(d2?.state, 'refused')
  t.equal(d2?.reason, 'Không đúng thẩm quyền', '02 reason kept on the delivery')

  // a status for a document never sent: stored rejected, acknowledged (not dead-lettered)
  got = await sendStatus(rx, hanoi, '03', { documentId: 'unknown-doc', code: '999/NONE' })
  t.equal(got.kind, 'rejected')
  t.equal(got.event.code, 'ORPHAN_STATUS')
  await sleep(200)
  t.equal(await queueDepth(rx.dead(G22)), 0, 'orphan status acknowledged, not dead-lettered')
  t.equal(await queueDepth(rx.inbox(G22)), 0, 'and not retried')

  // a status signed by someone else than its From: rejected, the delivery does not move
  const doc3 = await sentDocument(rx)
  const vpcp = await agencySigner('vpcp')
  got = await sendStatus(rx, vpcp, '06', { documentId: doc3.h.documentId, code: doc3.code })
  t.equal(got.kind, 'rejected')
  t.equal(got.event.code, 'SENDER_MISMATCH')
  t.equal((await rx.store.getDelivery(doc3.deliveryId))?.state, 'queued', 'forged status changed nothing')
  t.equal((await rx.store.listPackages({ kind: 'status', limit: 10 })).items.length, 0, 'no status is ever answered with a status')
})
