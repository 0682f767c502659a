// Hostile or damaged signatures always yield a verdict (never an exception), with a known code.
import { randomInt } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { createVerifier, loadSigner, VERDICT_CODES } from '../../../src/signature/index.js'
import { packageRoot } from '../../../src/paths.js'
import { readFileSync } from 'node:fs'

const s = (p: string) => readFileSync(join(packageRoot, 'certs-sample', p), 'utf8')
const content = Buffer.from('<edXML>robustness</edXML>'.repeat(50))

t.test('every truncation and random byte changes give a verdict', async (t) => {
  const verifier = createVerifier({ trustAnchors: s('trust-anchors.pem'), crls: s('crls.pem') })
  const cold = createVerifier({ trustAnchors: s('trust-anchors.pem'), crls: s('crls.pem'), cache: { max: 0 } })
  const signer = await loadSigner({ keyPem: s('agencies/stp-hcm/key.pem'), certPem: s('agencies/stp-hcm/cert.pem'), chainPem: s('agencies/stp-hcm/chain.pem') })
  const sig = Buffer.from(await signer.sign(content))
  t.equal((await verifier.verify(content, sig)).code, 'VALID')
  let truncatedValid = 0
  for (let n = 0; n < sig.length; n++) {
    const v = await verifier.verify(content, sig.subarray(0, n))
    if (v.ok) truncatedValid++
  }
  t.equal(truncatedValid, 0, 'no truncation is valid')
  const codes = new Map<string, number>()
  for (let i = 0; i < 400; i++) {
    const m = Buffer.from(sig)
    const at = randomInt(m.length)
    m[at] = m[at]! ^ (1 << randomInt(8))
    for (const v of [await verifier.verify(content, m), await cold.verify(content, m)]) {
      t.ok(VERDICT_CODES.includes(v.code), v.code)
      codes.set(v.code, (codes.get(v.code) ?? 0) + 1)
    }
  }
  t.equal(codes.get('VALID') ?? 0, 0, `no changed bit leaves the signature valid: ${JSON.stringify([...codes])}`)
  t.ok((codes.get('MALFORMED') ?? 0) > 0 && (codes.get('BAD_SIGNATURE') ?? 0) > 0)
})
