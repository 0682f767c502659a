/**
 * Bounded mutation fuzz of the verifier (seeds and budget: test/fuzz.ts). A signed package (RSA, G22) and a signed
 * status package (ECDSA, Sở Tư pháp) are mutated, the package bytes or the detached CMS, and verified as the
 * receiver does (trust anchors, CRLs, the From/OrganId as expected sender). Asserted for every mutation: a verdict,
 * never an exception; within a time bound; and never an accepted invalid package:
 *
 *   - the signature covers every byte of the package (detached CMS over the exact bytes), so a package that is not
 *     byte for byte the one signed never verifies, whatever the mutation;
 *   - some bytes of the CMS are not signed (the certificates set, the SignedData digestAlgorithms set, the
 *     signer identifier, which signing-certificate-v2 binds instead); a mutation there may still verify, but only
 *     if what is signed is unchanged: the same signed attributes and signature value, by the same certificate, at
 *     the same signing time. Anything else that verifies is a forgery and fails the test.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { buildStatus } from '../../../src/envelope/index.js'
import { parseCms } from '../../../src/signature/cms.js'
import { createVerifier, loadSigner, type Verdict } from '../../../src/signature/index.js'
import { fuzzBudget, fuzzSeeds, mutate, rng } from '../../fuzz.js'
import { edocText } from '../envelope/helpers.js'

const CERTS = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'certs-sample')
const read = (p: string) => readFileSync(path.join(CERTS, p), 'utf8')
/** Longest one verification may take; generous (shared 2-core machine), the slowest is printed. */
const PER_INPUT_MS = 2000

const signerOf = (slug: string) => loadSigner({ keyPem: read(`agencies/${slug}/key.pem`), certPem: read(`agencies/${slug}/cert.pem`), chainPem: read(`agencies/${slug}/chain.pem`) })

/** What the signature commits to, or undefined when the CMS does not parse. */
function signedPart(cms: Uint8Array): string | undefined {
  try {
    const p = parseCms(cms)
    return `${p.signedAttrs?.toString('hex')}|${Buffer.from(p.signature).toString('hex')}|${p.digestAlgorithm}|${p.signatureAlgorithm}`
  } catch {
    return undefined
  }
}

t.test('mutated signed packages and signatures never verify unless what is signed is unchanged', async (t) => {
  const now = new Date()
  const g22 = await signerOf('vpcp')
  const stp = await signerOf('stp-hcm')
  const edoc = Buffer.from(edocText())
  const status = Buffer.from(
    buildStatus({
      from: { organId: '000.00.20.H29', organName: 'Sở Tư pháp Thành phố Hồ Chí Minh', organizationInCharge: 'UBND Thành phố Hồ Chí Minh' },
      responseFor: { organId: '000.00.00.G22', code: '77/FUZZ', promulgationDate: '2026/11/25', documentId: '000.00.00.G22,2026/11/25,77/FUZZ' },
      statusCode: '03',
    }).bytes,
  )
  const sources = [
    { name: 'edoc/RSA', content: edoc, cms: Buffer.from(await g22.sign(edoc, { signingTime: now })), organId: '000.00.00.G22' },
    { name: 'status/ECDSA', content: status, cms: Buffer.from(await stp.sign(status, { signingTime: now })), organId: '000.00.20.H29' },
  ]
  const verifier = createVerifier({ trustAnchors: read('trust-anchors.pem'), crls: read('crls.pem'), now: () => now })
  const originals = new Map<string, Verdict>()
  for (const s of sources) {
    const v = await verifier.verify(s.content, s.cms, { expectedOrganId: s.organId })
    t.equal(v.code, 'VALID', `${s.name}: the unmutated signature verifies`)
    originals.set(s.name, v)
  }

  const budget = fuzzBudget(400)
  for (const seed of fuzzSeeds(20261202)) {
    const r = rng(seed)
    const bad: string[] = []
    const codes = new Map<string, number>()
    let slowest = 0
    let validCmsMutations = 0
    const end = Date.now() + budget.timeMs
    let i = 0
    for (; i < budget.count && Date.now() < end; i++) {
      const s = sources[i % sources.length]!
      const onContent = r() < 0.5
      const m = mutate(onContent ? s.content : s.cms, r)
      const content = onContent ? m.bytes : s.content
      const cms = onContent ? s.cms : m.bytes
      const where = `seed ${seed} #${i} ${s.name} ${onContent ? 'package' : 'CMS'} ${m.what}`
      const t0 = performance.now()
      let v: Verdict
      try {
        v = await verifier.verify(content, cms, { expectedOrganId: s.organId })
      } catch (e) {
        bad.push(`${where}: threw ${String(e)}`)
        continue
      }
      const ms = performance.now() - t0
      slowest = Math.max(slowest, ms)
      if (ms > PER_INPUT_MS) bad.push(`${where}: took ${Math.round(ms)} ms`)
      codes.set(v.code, (codes.get(v.code) ?? 0) + 1)
      if (!v.ok) continue
      if (!content.equals(s.content)) {
        bad.push(`${where}: a changed package verified as ${v.code}`)
        continue
      }
      if (cms.equals(s.cms)) continue // the mutation changed nothing (a byte set to its own value)
      const o = originals.get(s.name)!
      if (signedPart(cms) !== signedPart(s.cms) || v.signer?.sha256 !== o.signer?.sha256 || v.signingTime !== o.signingTime) {
        bad.push(`${where}: a CMS whose signed part changed verified (signer ${v.signer?.subject})`)
      } else validCmsMutations++
    }
    t.comment(
      `verifier fuzz seed ${seed}: ${i} mutations, slowest ${Math.round(slowest)} ms, ${validCmsMutations} CMS mutations in unsigned parts still valid; ` +
        [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', '),
    )
    t.same(bad, [], `seed ${seed}: verdicts only, within ${PER_INPUT_MS} ms, no invalid package accepted`)
  }
})
