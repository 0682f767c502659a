// OrganId forms of docs/edxml.md §d: strict QCVN 102:2016, Decision 20/2020, lenient inbound.
import t from 'tap'
import { validateOrganId } from './imports.js'

t.test('QCVN 102:2016 form', async (t) => {
  for (const v of ['000.00.00.G22', '000.00.11.H53', '000.46.24.H44']) t.same(validateOrganId(v, 'strict'), { ok: true, form: 'qcvn2016' }, v)
})

t.test('Decision 20/2020 form (A-Z, 0-9, dots, at most 35)', async (t) => {
  for (const v of ['28.22.H17', '01.02.G22', '001.00.20.TT2', '0101234567', 'A'.repeat(35)]) t.same(validateOrganId(v, 'strict'), { ok: true, form: 'qd20' }, v)
})

t.test('lenient inbound form: accepted with a warning in lenient mode, refused in strict mode', async (t) => {
  for (const v of ['vxp.saas.03', 'H37.DN.001_a', 'cn-01.x']) {
    const l = validateOrganId(v, 'lenient')
    t.equal(l.ok, true, v)
    t.equal(l.form, 'lenient')
    t.match(l.warning, /not in the QCVN 102 or Decision 20\/2020 form/)
    t.equal(validateOrganId(v, 'strict').ok, false)
  }
  t.equal(validateOrganId('vxp.saas.03').ok, true, 'lenient is the default mode')
})

t.test('outside every form', async (t) => {
  for (const v of ['', '000 00 00 G22', '000..00', '.000', '000.', 'A'.repeat(36), 'Đ.01', 'a/b', 'null;']) {
    const r = validateOrganId(v, 'lenient')
    t.equal(r.ok, false, JSON.stringify(v))
  }
  t.equal(validateOrganId('', 'lenient').warning, 'empty')
})
