// POST /v1/verify reports the ETSI EN 319 102-1 indication beside each verdict code: passed, revoked, expired,
// untrusted, tampered content, a broken signature, the wrong sender, and a signature accepted without a
// revocation status (no CRL configured).
import path from 'node:path'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { auth, buildTestApp, CERTS, KEYS, ROOT } from '../helper.js'
import { sampleSigner } from '../fixtures/pdf/pki.js'

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const EDOC = readFileSync(path.join(ROOT, 'test/fixtures/edxml/golden-edoc.edxml'))
const content = Buffer.from('Nội dung văn bản cần kiểm tra chữ ký')

t.test('each case with its indication and sub-indication', async (t) => {
  const { app } = await buildTestApp(t)
  const post = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as { ok: boolean; signatures: { code: string; etsi: { indication: string; subIndication?: string } }[] }
  }
  const cms = async (dir: string, bytes: Uint8Array = content) => (await sampleSigner(dir)).sign(bytes)

  const passed = await post({ signature: b64(await cms('vpcp')), content: b64(content) })
  t.match(passed, { ok: true, signatures: [{ code: 'VALID', etsi: { indication: 'TOTAL_PASSED' } }] }, 'passed')
  t.notOk('subIndication' in passed.signatures[0]!.etsi, 'TOTAL_PASSED has no sub-indication')

  const cases = [
    ['revoked', { signature: b64(await cms('test/revoked')), content: b64(content) }, 'REVOKED', 'INDETERMINATE', 'REVOKED_NO_POE'],
    ['expired', { signature: b64(await cms('test/expired')), content: b64(content) }, 'CERT_EXPIRED', 'INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE'],
    ['not yet valid', { signature: b64(await cms('test/not-yet-valid')), content: b64(content) }, 'CERT_NOT_YET_VALID', 'INDETERMINATE', 'OUT_OF_BOUNDS_NO_POE'],
    ['untrusted', { signature: b64(await cms('test/untrusted')), content: b64(content) }, 'UNTRUSTED_CHAIN', 'INDETERMINATE', 'NO_CERTIFICATE_CHAIN_FOUND'],
    ['tampered content', { signature: b64(await cms('vpcp')), content: b64(Buffer.concat([content, Buffer.from('!')])) }, 'DIGEST_MISMATCH', 'TOTAL_FAILED', 'HASH_FAILURE'],
    ['garbled CMS', { signature: b64(Buffer.from(await cms('vpcp')).subarray(0, 120)), content: b64(content) }, 'MALFORMED', 'TOTAL_FAILED', 'FORMAT_FAILURE'],
    ['no key usage', { signature: b64(await cms('test/no-digital-signature')), content: b64(content) }, 'KEY_USAGE', 'INDETERMINATE', 'CHAIN_CONSTRAINTS_FAILURE'],
    ['wrong sender (edXML From is G22, signed by H29)', { edxml: b64(EDOC), signature: b64(await cms('ubnd-hcm', EDOC)) }, 'SENDER_MISMATCH', 'INDETERMINATE', 'SIG_CONSTRAINTS_FAILURE'],
  ] as const
  for (const [name, payload, code, indication, subIndication] of cases) {
    const r = await post(payload)
    t.equal(r.ok, false, name)
    t.match(r.signatures[0], { code, etsi: { indication, subIndication } }, `${name}: ${code} → ${indication} / ${subIndication}`)
  }

  // a broken signature value: flip a byte of the RSA signature at the end of the CMS
  const bad = Buffer.from(await cms('vpcp'))
  bad[bad.length - 10] = bad[bad.length - 10]! ^ 0xff
  t.match(await post({ signature: b64(bad), content: b64(content) }), { signatures: [{ code: 'BAD_SIGNATURE', etsi: { indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' } }] }, 'broken signature value')
})

t.test('accepted without a revocation status (no CRL configured): VALID, INDETERMINATE / TRY_LATER', async (t) => {
  const { app } = await buildTestApp(t, { config: { trust: { anchorsPaths: [path.join(CERTS, 'trust-anchors.pem')], crlPaths: [] } } })
  const sig = await (await sampleSigner('vpcp')).sign(content)
  const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth(KEYS.g22), payload: { signature: b64(sig), content: b64(content) } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { ok: true, signatures: [{ code: 'VALID', revocation: { status: 'unknown' }, etsi: { indication: 'INDETERMINATE', subIndication: 'TRY_LATER' } }] })
})

t.test('OpenAPI documents the indication', async (t) => {
  const { app } = await buildTestApp(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  const sig = doc.components.schemas['VerifyReport-signature']
  t.ok(sig.required.includes('etsi'), 'every signature entry has one')
  t.match(sig.properties.etsi.properties.indication.enum, ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'])
})
