import t from 'tap'
import { decodeBase64 } from '../../src/api/routes/documents.js'

t.test('strict base64: standard alphabet, padded, nothing else', async (t) => {
  for (const [s, out] of [['', ''], ['YQ==', 'a'], ['YWI=', 'ab'], ['YWJj', 'abc'], ['YWJjZA==', 'abcd'], ['+/+/', '\u00fb\u00ff\u00bf']] as const) {
    t.equal(decodeBase64(s, 'f').toString('latin1'), out, JSON.stringify(s))
  }
  for (const s of ['YQ=', 'YQ', 'Y Q==', 'YQ==YQ==', 'YW-j', 'YW_j', 'YWJj\n', 'YQ=a', 'Y===', '====', 'YW!j', 'YWJjZA=\n']) {
    t.throws(() => decodeBase64(s, 'body.x'), { code: 'GW_ERR_API_VALIDATION' }, JSON.stringify(s))
  }
  const big = Buffer.alloc(3 * 1024 * 1024 + 1, 0xab)
  t.ok(decodeBase64(big.toString('base64'), 'f').equals(big), 'megabytes round-trip')
})
