// Operator passwords: the stored scrypt form, its check, and what it refuses.
import t from 'tap'
import { DUMMY_HASH, hashPassword, PASSWORD_HASH, verifyPassword } from '../../src/passwords.js'

t.test('a password verifies against its hash only; every hash has its own salt', async (t) => {
  const a = await hashPassword('Mật khẩu rất dài 2026')
  const b = await hashPassword('Mật khẩu rất dài 2026')
  t.match(a, PASSWORD_HASH)
  t.match(a, /^scrypt\$ln=15,r=8,p=1\$/, 'default cost N = 2^15')
  t.not(a, b, 'two hashes of the same password differ (random salt)')
  t.notMatch(a, /Mật khẩu/, 'the password is not in the stored form')
  t.equal(await verifyPassword('Mật khẩu rất dài 2026', a), true)
  t.equal(await verifyPassword('Mật khẩu rất dài 2026', b), true)
  t.equal(await verifyPassword('mật khẩu rất dài 2026', a), false, 'case matters')
  t.equal(await verifyPassword('', a), false)
  // the same text typed as decomposed Unicode (NFD, as some keyboards send Vietnamese) is the same password
  t.equal(await verifyPassword('Mật khẩu rất dài 2026'.normalize('NFD'), a), true, 'NFC and NFD are one password')
})

t.test('cheaper parameters are named in the stored form and still checked; malformed or absurd forms never match', async (t) => {
  const quick = await hashPassword('correct horse battery', { ln: 10, r: 8, p: 1 })
  t.match(quick, /^scrypt\$ln=10,/)
  t.equal(await verifyPassword('correct horse battery', quick), true)
  t.equal(await verifyPassword('correct horse battery', quick.replace('ln=10', 'ln=11')), false, 'the cost is part of what is checked')
  t.equal(await verifyPassword('correct horse battery', quick.replace('ln=10', 'ln=9')), false, 'below the floor: refused')
  t.equal(await verifyPassword('x', 'not a hash'), false)
  t.equal(await verifyPassword('x', `sha256$${'a'.repeat(64)}`), false)
  t.equal(await verifyPassword('', DUMMY_HASH), false, 'the dummy hash matches nothing')
})
