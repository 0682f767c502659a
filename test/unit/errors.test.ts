import t from 'tap'
import { readFileSync } from 'node:fs'
import { ERRORS, GatewayError, gwError, formatMessage, refusalCode, storedRefusalCode, type ErrorCode } from '../../src/errors.js'
import { VERDICT_CODES } from '../../src/signature/index.js'
import { errorsTable } from '../../src/errors-table.js'

t.test('every code is GW_ERR_<AREA>_<WHAT> with a known area', async (t) => {
  for (const code of Object.keys(ERRORS)) {
    t.match(code, /^GW_ERR_(CONFIG|API|ENVELOPE|SIGNATURE|STORE|TRANSPORT|RECEIVE|VXP)_[A-Z0-9_]+$/, code)
    const d = ERRORS[code as ErrorCode]
    t.ok(d.httpStatus >= 400 && d.httpStatus < 600, `${code} has an HTTP error status`)
    t.ok(d.solve.length > 10, `${code} says how to solve it`)
  }
})

t.test('README error table is the catalogue (run npm run docs:errors after changing src/errors.ts)', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const a = readme.indexOf('<!-- errors-table:start -->')
  const b = readme.indexOf('<!-- errors-table:end -->')
  t.ok(a > 0 && b > a, 'README has the errors-table markers')
  t.equal(readme.slice(a, b).split('\n').slice(1).join('\n').trim(), errorsTable().trim())
})

t.test('GatewayError carries code, status, params and cause', async (t) => {
  const cause = new Error('boom')
  const e = gwError('GW_ERR_ENVELOPE_TOO_LARGE', { size: 10, limit: 5 }, cause)
  t.ok(e instanceof GatewayError)
  t.equal(e.code, 'GW_ERR_ENVELOPE_TOO_LARGE')
  t.equal(e.httpStatus, 413)
  t.equal(e.message, 'package is 10 bytes, over the limit of 5')
  t.equal(e.cause, cause)
  t.equal(formatMessage('a {x} {y}', { x: 1 }), 'a 1 {y}')
})

t.test('every refusal the receive path stores is a catalogue entry; stored codes keep their names', async (t) => {
  // the pipeline's own codes, as stored in verdicts (and in rows stored before they joined the catalogue)
  for (const stored of ['NO_SIGNATURE', 'RECIPIENT_NOT_HOSTED', 'RECIPIENT_NOT_ADDRESSED', 'SENDER_MISMATCH', 'REPLAY', 'ORPHAN_STATUS', 'INTERNAL', 'NOT_A_DOCUMENT']) {
    const code = refusalCode(stored)
    t.equal(code, `GW_ERR_RECEIVE_${stored}`, stored)
    t.equal(storedRefusalCode(code!), stored, `${stored} round trip`)
    t.equal(ERRORS[code!].retryable, false, `${stored} is not retryable`)
  }
  // every failed signature verdict is stored as a refusal too
  for (const v of VERDICT_CODES.filter((c) => c !== 'VALID')) t.ok(refusalCode(v), `verdict ${v} has an entry`)
  t.equal(refusalCode('VALID'), undefined, 'VALID is no refusal')
  t.equal(refusalCode('GW_ERR_ENVELOPE_DOCTYPE'), 'GW_ERR_ENVELOPE_DOCTYPE', 'envelope refusals are stored under their own name')
  t.equal(storedRefusalCode('GW_ERR_ENVELOPE_DOCTYPE'), 'GW_ERR_ENVELOPE_DOCTYPE')
  t.equal(refusalCode('constructor'), undefined, 'no prototype keys')
  t.equal(refusalCode('NO_SUCH_THING'), undefined)
})
