/**
 * Mutations of a signed two-revision PDF (truncations, byte flips, inserted delimiters, duplicated slices): the
 * scanner answers with verdicts or a GatewayError, never another exception, and quickly.
 */
import t from 'tap'
import { isGatewayError } from '../../../src/errors.js'
import { verifyPdf } from '../../../src/signature/pdf.js'
import { addSignature, createPdf } from '../../fixtures/pdf/build.js'
import { sampleSigner, sampleVerifier } from '../../fixtures/pdf/pki.js'
import { rng } from '../../fuzz.js'

t.test('mutated PDFs: verdicts or GatewayErrors only', async (t) => {
  const vpcp = await sampleSigner('vpcp')
  const ubnd = await sampleSigner('ubnd-hcm')
  let state = await addSignature(createPdf('Bản gốc'), (c) => vpcp.sign(c), { contentsBytes: 4096 })
  state = await addSignature(state, (c) => ubnd.sign(c), { contentsBytes: 4096, layout: 'newlines' })
  const original = state.bytes
  const verifier = sampleVerifier()
  const rand = rng(20261126)
  const pick = (n: number) => Math.floor(rand() * n)
  const delims = ['<<', '>>', '[', ']', '(', ')', '<', '>', '/', '%', ' obj ', 'endobj', '/ByteRange', '/Contents', '\\']
  const mutations: [string, (b: Buffer) => Buffer][] = [
    ['truncate', (b) => b.subarray(0, pick(b.length))],
    ['flip', (b) => { const c = Buffer.from(b); for (let i = 0; i < 1 + pick(8); i++) { const k = pick(c.length); c[k] = c[k]! ^ (1 << pick(8)) }; return c }],
    ['insert', (b) => { const at = pick(b.length); return Buffer.concat([b.subarray(0, at), Buffer.from(delims[pick(delims.length)]!), b.subarray(at)]) }],
    ['delete', (b) => { const at = pick(b.length); return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + pick(64))]) }],
    ['duplicate', (b) => { const at = pick(b.length); const len = pick(4096); return Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]) }],
  ]
  const seen = new Map<string, number>()
  let others = 0
  const t0 = performance.now()
  for (let i = 0; i < 600; i++) {
    const [name, fn] = mutations[i % mutations.length]!
    const input = fn(original)
    try {
      const r = await verifyPdf(input, verifier)
      for (const s of r.signatures) seen.set(s.verdict.code, (seen.get(s.verdict.code) ?? 0) + 1)
    } catch (e) {
      if (isGatewayError(e)) seen.set(e.code, (seen.get(e.code) ?? 0) + 1)
      else {
        others++
        t.fail(`${name} #${i}: ${String(e)}`)
      }
    }
  }
  const ms = performance.now() - t0
  t.equal(others, 0, 'no exception other than GatewayError')
  t.ok(seen.get('VALID'), 'some signatures survive mutations outside their ranges')
  t.ok(seen.get('DIGEST_MISMATCH') || seen.get('MALFORMED'), 'mutations inside the ranges are caught')
  t.ok(ms < 20_000, `600 mutated PDFs in ${ms.toFixed(0)} ms (${JSON.stringify(Object.fromEntries(seen))})`)
})
