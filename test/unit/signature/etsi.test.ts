// Every verdict code has its ETSI EN 319 102-1 indication (a new code without one fails here, and does not
// compile), the table is the one docs/trust.md shows, and the report schema lists every value used.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ETSI_BY_CODE, ETSI_INDICATIONS, etsiOf, VERDICT_CODES, withEtsi } from '../../../src/signature/index.js'
import { PDF_VERDICT_CODES } from '../../../src/signature/pdf.js'
import { ROOT } from '../../helper.js'

const ALL = [...VERDICT_CODES, ...PDF_VERDICT_CODES]

t.test('every verdict code maps to an indication, and nothing else does', async (t) => {
  for (const code of ALL) {
    const e = (ETSI_BY_CODE as Record<string, { indication: string; subIndication?: string } | undefined>)[code]
    t.ok(e, `${code} has an ETSI indication`)
    if (!e) continue
    t.ok((ETSI_INDICATIONS as readonly string[]).includes(e.indication), `${code}: ${e.indication} is a main indication`)
    if (e.indication === 'TOTAL_PASSED') t.equal(e.subIndication, undefined, `${code}: TOTAL_PASSED has no sub-indication`)
    else t.match(e.subIndication, /^[A-Z_]+$/, `${code}: ${e.indication} has a sub-indication`)
  }
  t.same(Object.keys(ETSI_BY_CODE).sort(), [...ALL].sort(), 'the table has exactly the verdict codes')
  t.same(etsiOf({ code: 'VALID', revocation: { status: 'good' } }), { indication: 'TOTAL_PASSED' })
  t.same(etsiOf({ code: 'VALID', revocation: { status: 'unknown' } }), { indication: 'INDETERMINATE', subIndication: 'TRY_LATER' }, 'accepted without an established revocation status')
  t.same(etsiOf({ code: 'REVOKED' }), { indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' })
  t.equal(etsiOf({ code: 'AXIS_UNSIGNED' }), undefined, 'not a signature verdict: no indication')
  t.same(withEtsi({ code: 'DIGEST_MISMATCH', ok: false }), { code: 'DIGEST_MISMATCH', ok: false, etsi: { indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' } })
  t.same(withEtsi({ code: 'NO_SIGNATURE' }), { code: 'NO_SIGNATURE' })
})

t.test('docs/trust.md shows the same table', async (t) => {
  const md = readFileSync(path.join(ROOT, 'docs/trust.md'), 'utf8')
  const rows = new Map<string, string>()
  for (const m of md.matchAll(/^\| `([A-Z_]+)`[^|]*\| ([A-Z_]+)(?: \/ ([A-Z_]+))? \|/gm)) rows.set(m[1]!, m[3] ? `${m[2]} / ${m[3]}` : m[2]!)
  for (const code of ALL) {
    const e = ETSI_BY_CODE[code]
    t.equal(rows.get(code), e.subIndication ? `${e.indication} / ${e.subIndication}` : e.indication, `docs/trust.md row of ${code}`)
  }
})

t.test('the /v1/verify report schema lists every indication and sub-indication used', async (t) => {
  const report = JSON.parse(readFileSync(path.join(ROOT, 'schemas/api/verify-report.json'), 'utf8'))
  const etsi = report.definitions.signature.properties.etsi
  t.same([...etsi.properties.indication.enum].sort(), [...ETSI_INDICATIONS].sort())
  const used = new Set([...Object.values(ETSI_BY_CODE).flatMap((e) => (e.subIndication ? [e.subIndication] : [])), 'TRY_LATER'])
  t.same([...etsi.properties.subIndication.enum].sort(), [...used].sort())
})
