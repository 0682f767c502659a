/**
 * The interop status packages (../shared/interop/edxml/sdk-status_*.edxml), byte for byte, signed by their author
 * (UBND Nghệ An 000.00.00.H41: a certificate minted here under the sample intermediate CA; VPCP for the 13) and sent
 * through the broker: at VPCP's gateway they move the delivery of the document they answer (DocumentId
 * `000.00.00.G22,2015/09/30,7816/VPCP-TTĐT` to H41) forward only, every one kept in the timeline; the 13 (from VPCP
 * to H41) marks the document H41's gateway received recall-requested.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../helper.js'
import { agencySigner, mintSigner, nextEvent, startTestReceiver } from './helpers.js'

const DIR = path.join(ROOT, '../shared/interop/edxml/')
const read = (f: string) => readFileSync(path.join(DIR, f))
const G22 = '000.00.00.G22'
const H41 = '000.00.00.H41'
const DOC = '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT'

t.test('interop statuses move VPCP\'s delivery to H41', async (t) => {
  const rx = await startTestReceiver(t) // hosts G22
  const nghean = await mintSigner(t.testdir({}), H41)
  const original = read('sdk-edoc_update.edxml')
  const rec = await rx.store.recordOutgoing({
    package: { id: 'interop-7816', kind: 'edoc', documentId: DOC, senderOrganId: G22, bytes: original, signature: new Uint8Array([1]), sha256: 'x'.repeat(64), priority: 0, codeNumber: '7816', codeNotation: 'VPCP-TTĐT', promulgationDate: '2015/09/30', metadata: {} },
    recipients: [H41],
    actor: 'client:test',
  })
  const deliveryId = rec.deliveries[0]!.id
  await rx.store.markQueued(deliveryId)

  const steps: [file: string, state: string, changed: boolean][] = [
    ['sdk-status_inbox_01.edxml', 'delivered', true],
    ['sdk-status_acceptance_03.edxml', 'received', true],
    ['sdk-status_assignment_04.edxml', 'assigned', true],
    ['sdk-status_processing_05.edxml', 'processing', true],
    ['sdk-status_finish_06.edxml', 'completed', true],
    ['sdk-status_rejection_02.edxml', 'completed', false],
    ['sdk-status_change-rejection_16.edxml', 'recall-refused', true],
    ['sdk-status_change-acceptance_15.edxml', 'recalled', true],
  ]
  for (const [file, state, changed] of steps) {
    const body = read(file)
    const ev = nextEvent(rx.pipeline, ['status', 'rejected'])
    await rx.publish({ body, recipient: G22, sender: H41, signature: await nghean.sign(body), type: 'status' })
    const got = await ev
    t.equal(got.kind, 'status', `${file} accepted (${got.event.code ?? ''} ${got.event.message ?? ''})`)
    t.equal(got.event.changed, changed, `${file}: ${changed ? 'moves' : 'does not move'} the delivery`)
    t.equal((await rx.store.getDelivery(deliveryId))?.state, state, `${file}: delivery ${state}`)
  }
  const tl = await rx.store.timeline(deliveryId)
  t.same(tl.filter((e) => e.statusCode).map((e) => e.statusCode), ['01', '03', '04', '05', '06', '02', '16', '15'], 'every status in the timeline')
})

t.test('interop 13 marks the received document recall-requested', async (t) => {
  const nghean = await mintSigner(t.testdir({}), H41)
  const rx = await startTestReceiver(t, { agencies: [{ organId: H41, signer: nghean }] })
  const vpcp = await agencySigner('vpcp')
  const doc = read('sdk-edoc_update.edxml')
  let ev = nextEvent<'received' | 'rejected' | 'status'>(rx.pipeline, ['received', 'rejected'])
  await rx.publish({ body: doc, recipient: H41, sender: G22, signature: await vpcp.sign(doc) })
  const got = await ev
  t.equal(got.kind, 'received')
  const thirteen = read('sdk-status_cancellation_13.edxml')
  ev = nextEvent(rx.pipeline, ['status', 'rejected'])
  await rx.publish({ body: thirteen, recipient: H41, sender: G22, signature: await vpcp.sign(thirteen), type: 'status' })
  const st = await ev
  t.equal(st.kind, 'status', `13 accepted (${st.event.code ?? ''} ${st.event.message ?? ''})`)
  t.equal(st.event.state, 'recall-requested')
  t.equal((await rx.store.getIncoming(got.event.incoming!.id))?.state, 'recall-requested', 'the received document awaits the DMS answer (15/16)')
})
