import t from 'tap'
import { buildEdoc, parseEnvelope } from '../../src/envelope/index.js'
import { createPackagePool } from '../../src/pipeline/package-pool.js'
import { createVerifier } from '../../src/signature/index.js'
import { auth, buildTestApp, G22, H29, KEYS, sampleDocument, testConfig, trustAnchorsPem } from '../helper.js'

const input = (organId = H29) => ({
  from: { organId: G22, organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
  to: [{ organId, organName: 'UBND', organizationInCharge: 'Chính phủ' }],
  code: { codeNumber: '5', codeNotation: 'VPCP-W' },
  promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/25' },
  documentType: { type: 1, typeName: 'Công văn' },
  subject: 'Ký trong luồng phụ',
  signerInfo: { position: 'Bộ trưởng', fullName: 'A' },
  otherInfo: { pageAmount: 1 },
  attachments: [{ contentId: 'a1', attachmentName: 'a.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4 x') }],
  traceHeaders: [{ organId: G22, timestamp: new Date('2026-11-26T01:00:00Z') }],
  now: new Date('2026-11-26T01:00:00Z'),
})

t.test('worker pool: builds the same bytes as buildEdoc and signs them verifiably; worker errors keep their code', async (t) => {
  const config = testConfig(t)
  const pool = await createPackagePool(config.agencies, 2)
  t.teardown(() => pool.close())
  t.equal(pool.size, 2)
  const at = new Date()
  const out = await pool.buildAndSign(G22, input(), at)
  t.ok(Buffer.from(out.bytes).equals(Buffer.from(buildEdoc(input()).bytes)), 'same bytes as on the main thread')
  t.equal(out.documentId, `${G22},2026/11/25,5/VPCP-W`)
  t.equal(out.sha256, parseEnvelope(out.bytes).sha256())
  const verifier = createVerifier({ trustAnchors: trustAnchorsPem() })
  const v = await verifier.verify(out.bytes, out.signature!, { expectedOrganId: G22 })
  t.equal(v.code, 'VALID', v.message)
  const sig = await pool.sign(H29, out.bytes, at)
  t.equal((await verifier.verify(out.bytes, sig, { expectedOrganId: H29 })).code, 'VALID', 'sign with another hosted agency')
  await t.rejects(pool.buildAndSign(G22, input('not an organ id'), at), { code: 'GW_ERR_ENVELOPE_INVALID_ORGANID' })
  const many = await Promise.all(Array.from({ length: 40 }, () => pool.buildAndSign(G22, input(), at)))
  t.equal(many.length, 40, 'many jobs in parallel')
})

t.test('the API sends through the pool', async (t) => {
  const config = testConfig(t)
  const pool = await createPackagePool(config.agencies, 1)
  t.teardown(() => pool.close())
  const { app, store } = await buildTestApp(t, { deps: { packager: pool } })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
  t.equal(res.statusCode, 202, res.body)
  const stored = (await store.getPackageBytes(res.json().id))!
  const v = await createVerifier({ trustAnchors: trustAnchorsPem() }).verify(stored.bytes, stored.signature, { expectedOrganId: G22 })
  t.equal(v.code, 'VALID')
  const bad = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument({ recipients: [{ organId: 'x..y', name: 'n', organizationInCharge: 'o' }] })) })
  t.equal(bad.json().code, 'GW_ERR_ENVELOPE_INVALID_ORGANID', 'builder errors from the worker reach the client with their code')
})
