/**
 * The SDK's wire conventions, with fixed vectors. The HashMap orders and the unpadded hash below were produced by
 * Java 17 itself (`new HashMap<String,String>()`, keys put in the order given, `keySet()` iterated;
 * `Integer.toHexString(b & 0xff)` per SHA-256 byte), so the client's header order is the SDK's.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { asciiJson, gsonString, hashFile, hashMapOrder, hmacHex, javaHashCode, sdkTimestamp, signedJson, stripTrailingCrlf, unpaddedHex } from '../../src/vxp/protocol.js'
import { VxpClient } from '../../src/vxp/client.js'
import { authenticate, systemTable } from '../../src/vxp/auth.js'

t.test('Java String.hashCode', async (t) => {
  t.equal(javaHashCode(''), 0)
  t.equal(javaHashCode('a'), 97)
  t.equal(javaHashCode('timestamp'), 55126294)
  t.equal(javaHashCode('Content-Type'), 949037134)
  t.equal(javaHashCode('servicetype'), -1927416977, 'overflows like a Java int (values from Java 17)')
  t.equal(javaHashCode('filePath'), -735662143)
})

t.test('HashMap iteration order, as Java 17 iterates it', async (t) => {
  t.same(
    hashMapOrder(['timestamp', 'systemid', 'Content-Type', 'from', 'servicetype', 'messagetype', 'to', 'hash-file']),
    ['systemid', 'servicetype', 'messagetype', 'hash-file', 'from', 'to', 'timestamp', 'Content-Type'],
    'sendEdoc',
  )
  t.same(
    hashMapOrder('timestamp systemid Content-Type servicetype messagetype docId filePath status docid level AgencyCode a b c d e f g'.split(' ')),
    'a;systemid;b;c;d;messagetype;level;e;docId;docid;f;filePath;g;servicetype;AgencyCode;timestamp;Content-Type;status'.split(';'),
    '18 keys: the table has grown to 32 buckets',
  )
})

t.test('hash-file is the unpadded hex of the SDK', async (t) => {
  t.equal(hashFile(Buffer.from('edXML test package')), '3d49a3f8ae2fa250177c87b285604655cd343367bbe86b68558d4557b088efa', 'as Java printed it (63 digits)')
  t.equal(unpaddedHex(Uint8Array.of(0x00, 0x0a, 0x10, 0xff)), '0a10ff')
  const d = createHash('sha256').update('edXML test package').digest('hex')
  t.not(hashFile(Buffer.from('edXML test package')), d, 'not the padded hex')
})

t.test('signed JSON is compact Gson without HTML escaping', async (t) => {
  t.equal(gsonString('a"b\\c<d>&=\'\n\u0001\u2028'), '"a\\"b\\\\c<d>&=\'\\n\\u0001\\u2028"')
  t.equal(signedJson([['systemid', 'vxp.saas.02'], ['to', '["000.00.00.H29"]']]), '{"XroadVnpt-systemid":"vxp.saas.02","XroadVnpt-to":"[\\"000.00.00.H29\\"]"}')
  t.match(hmacHex('secret', 'text'), /^[0-9a-f]{64}$/)
})

t.test('timestamp is ddMMyyyy\'T\'HHmmss+SSSS (milliseconds, not an offset)', async (t) => {
  t.equal(sdkTimestamp(new Date(2026, 11, 2, 13, 38, 22, 268)), '02122026T133822+0268')
})

t.test('exactly one trailing CRLF is stripped', async (t) => {
  t.same(stripTrailingCrlf(Buffer.from('<x/>\r\n\r\n')), Buffer.from('<x/>\r\n'))
  t.same(stripTrailingCrlf(Buffer.from('<x/>\n')), Buffer.from('<x/>\n'), 'a lone LF stays')
  t.same(stripTrailingCrlf(Buffer.from('<x/>')), Buffer.from('<x/>'))
})

t.test('answers are ASCII', async (t) => {
  const s = asciiJson({ ErrorDesc: 'Hà Nội — ok' })
  t.ok([...Buffer.from(s)].every((b) => b < 0x80))
  t.same(JSON.parse(s), { ErrorDesc: 'Hà Nội — ok' })
})

t.test('client and server agree: a request verifies; each change to it does not', async (t) => {
  const sys = { systemId: 'vxp.saas.02', secret: 'c2VjcmV0', organIds: ['000.00.00.G22'] }
  const table = systemTable([sys])
  const c = new VxpClient({ endpoint: 'http://127.0.0.1:1/vxp', ...sys })
  const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))
  c.build('getEdoc', { docId: 'abc', filePath: 'C:\\edoc' })
  const req = c.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' })
  const ok = authenticate(lower(req.headers), table)
  t.equal(ok.params.get('docid'), 'abc', 'retained docId is signed and read case-insensitively')
  t.equal(ok.params.get('messagetype'), 'edoc')
  t.equal(req.headers['XroadVnpt-sign-header-key'], hashMapOrder([...c.retained.keys()]).join(';'))
  t.equal(req.headers['User-Agent'], 'JAVASDKAgent/1.0.0 XRoad/VPCP')
  const tamper: [string, (h: Record<string, string>) => void][] = [
    ['a signed header changed', (h) => (h['xroadvnpt-messagetype'] = 'status')],
    ['a signed header removed', (h) => delete h['xroadvnpt-docid']],
    ['the signed text changed', (h) => (h['xroadvnpt-sign-header'] = h['xroadvnpt-sign-header']!.replace('edoc', 'stat'))],
    ['the HMAC changed', (h) => (h['xroadvnpt-hash-header'] = h['xroadvnpt-hash-header']!.replace(/^./, (x) => (x === '0' ? '1' : '0')))],
    ['another system named', (h) => (h['xroadvnpt-systemid'] = 'vxp.saas.03')],
  ]
  for (const [what, change] of tamper) {
    const h = lower(req.headers)
    change(h)
    t.throws(() => authenticate(h, table), { code: 'GW_ERR_VXP_UNAUTHORIZED' }, what)
  }
  const wrong = new VxpClient({ endpoint: 'http://127.0.0.1:1/vxp', ...sys, secret: 'other' }).build('getAgenciesList', {})
  t.throws(() => authenticate(lower(wrong.headers), table), { code: 'GW_ERR_VXP_UNAUTHORIZED', message: /not the HMAC/ }, 'wrong secret')
})
