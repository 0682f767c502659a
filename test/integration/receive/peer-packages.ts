/**
 * What the receive path must do with the packages peers send, as functions over a set of packages, so it is run
 * both over the interop set (../shared/interop/edxml/, when present) and over our own fixtures with the same
 * quirks (test/fixtures/peers/). Not a test file itself: interop*.test.ts and peers*.test.ts call these.
 */
import type { Test } from 'tap'
import { parseEnvelope } from '../../../src/envelope/index.js'
import type { Signer } from '../../../src/signature/index.js'
import { agencySigner, mintSigner, nextEvent, startTestReceiver } from './helpers.js'
import { ownDir } from '../../helper.js'

export interface NamedPackage {
  name: string
  bytes: Buffer
}

/**
 * Every document package of `set`, signed and sent through the broker, is received. Their From/OrganIds are mostly
 * not sample agencies, so each package is signed with a certificate minted here by the sample intermediate CA whose
 * subject UID is that From/OrganId (VPCP's sample key for 000.00.00.G22); the recipient (its first To) is hosted by
 * a receiver of its own (a fresh store per package: the SDK samples reuse one DocumentId for different packages,
 * which one gateway would rightly refuse as a replay). `junk` names the package that starts with junk before
 * `<?xml`: it is recovered with a JUNK_BEFORE_XML warning. Returns how many document packages there were.
 */
export async function receiveEveryDocument(t: Test, set: NamedPackage[], junk: string): Promise<number> {
  const certDir = ownDir(t)
  const minted = new Map<string, Promise<Signer>>()
  const signerFor = (organId: string) => {
    if (organId.toUpperCase() === '000.00.00.G22') return agencySigner('vpcp')
    if (!minted.has(organId)) minted.set(organId, mintSigner(certDir, organId))
    return minted.get(organId)!
  }
  let documents = 0
  for (const { name: f, bytes } of set) {
    const env = parseEnvelope(bytes)
    if (env.kind !== 'edoc') continue
    documents++
    await t.test(f, async (t) => {
      const h = env.edoc!.messageHeader
      const from = h.from.organId
      const to = h.to[0]!.organId
      const rx = await startTestReceiver(t, { agencies: [{ organId: to, signer: await signerFor(to) }] })
      const signature = await (await signerFor(from)).sign(bytes)
      const ev = nextEvent(rx.pipeline, ['received', 'rejected'])
      await rx.publish({ body: bytes, recipient: to, sender: from, signature })
      const got = await ev
      t.equal(got.kind, 'received', `${f} received (${got.event.code ?? ''} ${got.event.message ?? ''})`)
      const inc = got.event.incoming!
      t.equal(inc.state, 'arrived')
      t.equal((inc.verdict as { code: string }).code, 'VALID')
      t.equal(inc.senderOrganId, from)
      t.equal(inc.documentId, h.documentId)
      const stored = await rx.store.getIncomingBytes(inc.id)
      t.same(Buffer.from(stored!.bytes), bytes, 'exact bytes, junk included')
      const warnings = (inc.metadata.warnings as { code: string }[]).map((w) => w.code)
      if (f === junk) t.ok(warnings.includes('JUNK_BEFORE_XML'), 'junk prefix recovered with a warning')
      t.equal(inc.metadata.businessType, Number(env.edoc!.traceHeaderList.bussiness?.bussinessDocType ?? 0) || 0, 'business type recorded')
      const ones = (await rx.store.listPackages({ kind: 'status', limit: 10 })).items.filter((p) => p.statusCode === '01')
      t.equal(ones.length, 1, '01 queued to the sender')
    })
  }
  return documents
}

const G22 = '000.00.00.G22'
const H41 = '000.00.00.H41'

/** The SDK-shaped status packages of a set, by status code, and the update package they answer. */
export interface StatusSet {
  read(name: string): Buffer
  /** The document package from G22 to H41 (first To) whose DocumentId the statuses answer. */
  original: string
  documentId: string
  codeNumber: string
  codeNotation: string
  promulgationDate: string
  /** File name per status code 01, 02, 03, 04, 05, 06, 13, 15, 16. */
  files: Record<string, string>
}

/**
 * The status packages, byte for byte, signed by their author (UBND Nghệ An 000.00.00.H41: a certificate minted
 * here under the sample intermediate CA) and sent through the broker: at VPCP's gateway they move the delivery of
 * the document they answer forward only, every one kept in the timeline.
 */
export async function statusesMoveTheDelivery(t: Test, s: StatusSet): Promise<void> {
  const rx = await startTestReceiver(t) // hosts G22
  const nghean = await mintSigner(ownDir(t), H41)
  const rec = await rx.store.recordOutgoing({
    package: {
      id: `peer-${s.codeNumber}`, kind: 'edoc', documentId: s.documentId, senderOrganId: G22, bytes: s.read(s.original), signature: new Uint8Array([1]), sha256: 'x'.repeat(64),
      priority: 0, codeNumber: s.codeNumber, codeNotation: s.codeNotation, promulgationDate: s.promulgationDate, metadata: {},
    },
    recipients: [H41],
    actor: 'client:test',
  })
  const deliveryId = rec.deliveries[0]!.id
  await rx.store.markQueued(deliveryId)

  const steps: [code: string, state: string, changed: boolean][] = [
    ['01', 'delivered', true],
    ['03', 'registered', true],
    ['04', 'assigned', true],
    ['05', 'processing', true],
    ['06', 'completed', true],
    ['02', 'completed', false],
    ['16', 'recall-refused', true],
    ['15', 'recalled', true],
  ]
  for (const [code, state, changed] of steps) {
    const file = s.files[code]!
    const body = s.read(file)
    const ev = nextEvent(rx.pipeline, ['status', 'rejected'])
    await rx.publish({ body, recipient: G22, sender: H41, signature: await nghean.sign(body), type: 'status' })
    const got = await ev
    t.equal(got.kind, 'status', `${file} accepted (${got.event.code ?? ''} ${got.event.message ?? ''})`)
    t.equal(got.event.changed, changed, `${file}: ${changed ? 'moves' : 'does not move'} the delivery`)
    t.equal((await rx.store.getDelivery(deliveryId))?.state, state, `${file}: delivery ${state}`)
  }
  const tl = await rx.store.timeline(deliveryId)
  t.same(tl.filter((e) => e.statusCode).map((e) => e.statusCode), ['01', '03', '04', '05', '06', '02', '16', '15'], 'every status in the timeline')
}

/** The 13 (from VPCP to H41) marks the document H41's gateway received recall-requested. */
export async function thirteenMarksRecallRequested(t: Test, s: StatusSet): Promise<void> {
  const nghean = await mintSigner(ownDir(t), H41)
  const rx = await startTestReceiver(t, { agencies: [{ organId: H41, signer: nghean }] })
  const vpcp = await agencySigner('vpcp')
  const doc = s.read(s.original)
  let ev = nextEvent<'received' | 'rejected' | 'status'>(rx.pipeline, ['received', 'rejected'])
  await rx.publish({ body: doc, recipient: H41, sender: G22, signature: await vpcp.sign(doc) })
  const got = await ev
  t.equal(got.kind, 'received')
  const thirteen = s.read(s.files['13']!)
  ev = nextEvent(rx.pipeline, ['status', 'rejected'])
  await rx.publish({ body: thirteen, recipient: H41, sender: G22, signature: await vpcp.sign(thirteen), type: 'status' })
  const st = await ev
  t.equal(st.kind, 'status', `13 accepted (${st.event.code ?? ''} ${st.event.message ?? ''})`)
  t.equal(st.event.state, 'recall-requested')
  t.equal((await rx.store.getIncoming(got.event.incoming!.id))?.state, 'recall-requested', 'the received document awaits the DMS answer (15/16)')
}
