// The minimal DER reader/writer used on the hot paths.
import t from 'tap'
import { isGatewayError } from '../../../src/errors.js'
import { children, compareDer, definiteLengths, encodeLength, encodeTlv, oidBytes, oidString, readTlv } from '../../../src/signature/der.js'
import { parseCms } from '../../../src/signature/cms.js'

const malformed = (fn: () => unknown) => {
  try {
    fn()
    return false
  } catch (e) {
    return isGatewayError(e, 'GW_ERR_SIGNATURE_MALFORMED')
  }
}

t.test('lengths and TLVs round trip', async (t) => {
  for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24]) {
    const v = Buffer.alloc(n, 1)
    const tlv = encodeTlv(0x04, v)
    const r = readTlv(tlv, 0)
    t.equal(r.end, tlv.length)
    t.equal(r.end - r.valueStart, n)
    t.equal(r.valueStart, 1 + encodeLength(n).length)
  }
  const seq = encodeTlv(0x30, encodeTlv(0x02, Buffer.of(1)), encodeTlv(0x05))
  t.same(children(seq, readTlv(seq, 0)).map((c) => c.tag), [0x02, 0x05])
})

t.test('non-DER and truncated input is GW_ERR_SIGNATURE_MALFORMED', async (t) => {
  t.ok(malformed(() => readTlv(Buffer.of(0x30), 0)), 'truncated header')
  t.ok(malformed(() => readTlv(Buffer.of(0x30, 0x05, 0x01), 0)), 'length past the end')
  t.ok(malformed(() => readTlv(Buffer.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0)), 'non-minimal length')
  t.ok(malformed(() => readTlv(Buffer.of(0x04, 0x82, 0x00, 0x81, ...Buffer.alloc(0x81)), 0)), 'leading zero length octet')
  t.ok(malformed(() => readTlv(Buffer.of(0x1f, 0x81, 0x01, 0x00), 0)), 'high tag number')
  t.ok(malformed(() => readTlv(Buffer.of(0x30, 0x85, 1, 1, 1, 1, 1), 0)), 'oversized length')
  t.ok(malformed(() => parseCms(Buffer.of(0x30, 0x80, 0x00, 0x00))), 'empty indefinite ContentInfo')
})

t.test('OIDs', async (t) => {
  for (const oid of ['1.2.840.113549.1.7.2', '2.16.840.1.101.3.4.2.1', '0.9.2342.19200300.100.1.1', '2.999.3', '1.2.840.10045.4.3.2']) {
    t.equal(oidString(oidBytes(oid)), oid)
  }
  t.equal(oidBytes('1.2.840.113549').toString('hex'), '2a864886f70d')
})

t.test('DER SET OF order pads the shorter with zeros', async (t) => {
  t.ok(compareDer(Buffer.of(1, 2), Buffer.of(1, 2, 0)) === 0)
  t.ok(compareDer(Buffer.of(1, 2), Buffer.of(1, 2, 1)) < 0)
  t.ok(compareDer(Buffer.of(2), Buffer.of(1, 9, 9)) > 0)
})

t.test('indefinite lengths are made definite, definite TLVs copied as they are', async (t) => {
  const inner = encodeTlv(0x30, encodeTlv(0x02, Buffer.of(5)))
  const ber = Buffer.concat([Buffer.of(0x30, 0x80, 0xa0, 0x80), inner, Buffer.of(0, 0, 0, 0)])
  t.equal(definiteLengths(ber).toString('hex'), encodeTlv(0x30, encodeTlv(0xa0, inner)).toString('hex'))
  t.ok(malformed(() => definiteLengths(Buffer.of(0x30, 0x80, 0x02, 0x01, 0x01))), 'missing end-of-contents')
  t.ok(malformed(() => definiteLengths(Buffer.of(0x04, 0x80, 0x00, 0x00))), 'indefinite primitive')
})
