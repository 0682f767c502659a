/** The console's labels (src/api/console-labels.ts) cover every code and state of their sources. */
import t from 'tap'
import { consoleLabels, consoleLabelsModule, errorLabel } from '../../src/api/console-labels.js'
import { DELIVERY_STATES, INCOMING_STATES, STATUS_CODE_INCOMING_STATE, STATUS_CODE_LABELS, STATUS_CODE_STATE, STATUS_CODES } from '../../src/document/delivery.js'
import { ERRORS } from '../../src/errors.js'
import { VERDICT_CODES } from '../../src/signature/index.js'

const TONES = ['ok', 'info', 'warn', 'err', 'neutral']

t.test('every catalogue code has its label, how to solve it, status and retryable flag', async (t) => {
  const l = consoleLabels()
  t.same(Object.keys(l.errors).sort(), Object.keys(ERRORS).sort(), 'exactly the catalogue codes')
  for (const [code, d] of Object.entries(ERRORS)) {
    const e = l.errors[code]!
    t.equal(e.label, errorLabel(d.message), code)
    t.notMatch(e.label, /[{}]/, `${code}: no placeholder left`)
    t.equal(e.solve, d.solve)
    t.equal(e.httpStatus, d.httpStatus)
    t.equal(e.retryable, d.retryable)
  }
  t.equal(errorLabel('package is {size} bytes, over the limit of {limit}'), 'package is … bytes, over the limit of …')
  t.equal(errorLabel('{reason}'), '', 'a message that is only a placeholder says nothing')
})

t.test('every delivery and incoming state has a label, a tone and the status code leading to it', async (t) => {
  const l = consoleLabels()
  t.same(Object.keys(l.states.out), [...DELIVERY_STATES])
  t.same(Object.keys(l.states.in), [...INCOMING_STATES])
  for (const [dir, states, map] of [
    ['out', l.states.out, STATUS_CODE_STATE],
    ['in', l.states.in, STATUS_CODE_INCOMING_STATE],
  ] as const) {
    for (const [state, s] of Object.entries(states)) {
      t.ok(s.label.trim() !== '', `${dir} ${state} labelled`)
      t.ok(TONES.includes(s.tone), `${dir} ${state} tone ${s.tone}`)
      const codes = STATUS_CODES.filter((c) => map[c] === state)
      t.equal(s.code, codes[0], `${dir} ${state}: code ${s.code ?? 'none'}`)
    }
  }
  t.match(l.states.out.delivered, { label: 'Đã đến', code: '01' })
  t.match(l.states.in['recall-requested'], { code: '13' })
  t.same(l.statusCodes, STATUS_CODE_LABELS)
})

t.test('every verdict code has a label; event types and directions are named', async (t) => {
  const l = consoleLabels()
  for (const c of VERDICT_CODES) t.ok(l.verdicts[c]?.label, `verdict ${c}`)
  t.equal(l.verdicts.VALID!.tone, 'ok')
  for (const c of ['NO_SIGNATURE', 'REPLAY']) t.ok(l.verdicts[c]?.label, `receive code ${c}`)
  for (const type of ['state', 'status', 'replayed', 'replay-failed', 'discarded', 'recall-requested', 'note']) t.ok(l.eventTypes[type], type)
  t.same(Object.keys(l.directions).sort(), ['in', 'out'])
})

t.test('the module text is JavaScript exporting the labels', async (t) => {
  const text = consoleLabelsModule()
  const mod = await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`)
  t.same(mod.default, consoleLabels())
})
