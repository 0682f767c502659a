/**
 * Every document package of ../shared/interop/edxml/ (real packages from other implementations), signed and sent
 * through the broker, is received. Their From/OrganIds are not sample agencies (only the SDK update / replace /
 * revoke come from 000.00.00.G22 = the sample VPCP), so each package is signed with a certificate minted here by
 * the sample intermediate CA whose subject UID is that From/OrganId; the recipient (its first To) is hosted by a
 * receiver of its own (a fresh store per package: the SDK samples reuse one DocumentId for different packages, which
 * one gateway would rightly refuse as a replay). The junk-prefixed sdk-edoc_new is recovered with a JUNK_BEFORE_XML
 * warning, as the envelope module decided.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseEnvelope } from '../../../src/envelope/index.js'
import { ROOT } from '../../helper.js'
import { agencySigner, mintSigner, nextEvent, startTestReceiver } from './helpers.js'
import type { Signer } from '../../../src/signature/index.js'

const DIR = path.join(ROOT, '../shared/interop/edxml/')
const files = readdirSync(DIR).filter((f) => f.endsWith('.edxml')).sort()

t.test('interop document packages are received', async (t) => {
  const certDir = t.testdir({})
  const minted = new Map<string, Promise<Signer>>()
  const signerFor = (organId: string) => {
    if (organId.toUpperCase() === '000.00.00.G22') return agencySigner('vpcp')
    if (!minted.has(organId)) minted.set(organId, mintSigner(certDir, organId))
    return minted.get(organId)!
  }
  let documents = 0
  for (const f of files) {
    const bytes = readFileSync(path.join(DIR, f))
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
      t.equal(inc.state, 'received')
      t.equal((inc.verdict as { code: string }).code, 'VALID')
      t.equal(inc.senderOrganId, from)
      t.equal(inc.documentId, h.documentId)
      const stored = await rx.store.getIncomingBytes(inc.id)
      t.same(Buffer.from(stored!.bytes), bytes, 'exact bytes, junk included')
      const warnings = (inc.metadata.warnings as { code: string }[]).map((w) => w.code)
      if (f === 'sdk-edoc_new.edxml') t.ok(warnings.includes('JUNK_BEFORE_XML'), 'junk prefix recovered with a warning')
      t.equal(inc.metadata.businessType, Number(env.edoc!.traceHeaderList.bussiness?.bussinessDocType ?? 0) || 0, 'business type recorded')
      const ones = (await rx.store.listPackages({ kind: 'status', limit: 10 })).items.filter((p) => p.statusCode === '01')
      t.equal(ones.length, 1, '01 queued to the sender')
    })
  }
  t.equal(documents, 7, 'seven document packages in the interop set')
})
