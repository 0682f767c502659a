// A package over the size limit is refused before a single byte is looked at.
import t from 'tap'
import { DEFAULT_MAX_BYTES, parseEnvelope } from './imports.js'
import { codeOf, edocText } from './helpers.js'

t.test('default limit is 64 MiB and is checked first', async (t) => {
  t.equal(DEFAULT_MAX_BYTES, 64 * 1024 * 1024)
  const big = Buffer.alloc(DEFAULT_MAX_BYTES + 1) // zeros: not XML at all, but size comes first
  const t0 = performance.now()
  let err: unknown
  try {
    parseEnvelope(big)
  } catch (e) {
    err = e
  }
  t.match(err, { code: 'GW_ERR_ENVELOPE_TOO_LARGE', params: { size: DEFAULT_MAX_BYTES + 1, limit: DEFAULT_MAX_BYTES }, httpStatus: 413 })
  t.ok(performance.now() - t0 < 250, 'no scan of the bytes (bound generous for a shared machine)')
  t.equal(codeOf(() => parseEnvelope(big.subarray(0, 1000))), 'GW_ERR_ENVELOPE_NOT_XML', 'under the limit the content is judged')
})

t.test('the limit is configurable and inclusive', async (t) => {
  const pkg = Buffer.from(edocText())
  t.equal(codeOf(() => parseEnvelope(pkg, { maxBytes: pkg.length })), 'no error')
  t.equal(codeOf(() => parseEnvelope(pkg, { maxBytes: pkg.length - 1 })), 'GW_ERR_ENVELOPE_TOO_LARGE')
})
