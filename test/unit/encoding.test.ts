import t from 'tap'
import { decodeBase64Strict, sha256Hex } from '../../src/encoding.js'

t.test('strict base64: standard alphabet, padding only at the end, no whitespace or URL-safe characters', async (t) => {
  t.same(decodeBase64Strict('aGVsbG8='), Buffer.from('hello'))
  t.same(decodeBase64Strict('aGk='), Buffer.from('hi'))
  t.same(decodeBase64Strict('+/+/'), Buffer.from([0xfb, 0xff, 0xbf]))
  t.same(decodeBase64Strict(''), Buffer.alloc(0))
  for (const bad of ['aGVsbG8', 'aGVs bG8=', 'aGVs\nbG8=', 'a=Vs', 'aG==aGk=', '-_-_', 'aGk*', 'aGVsbG8=='])
    t.equal(decodeBase64Strict(bad), undefined, JSON.stringify(bad))
})

t.test('sha256Hex', async (t) => {
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), sha256Hex('abc'))
})
