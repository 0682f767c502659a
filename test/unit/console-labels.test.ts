/** The console's labels (src/api/console-labels.ts) cover every code and state of their sources. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { consoleLabels, consoleLabelsModule, errorLabel } from '../../src/api/console-labels.js'
import { DELIVERY_STATES, INCOMING_STATES, STATUS_CODE_INCOMING_STATE, STATUS_CODE_LABELS, STATUS_CODE_STATE, STATUS_CODES } from '../../src/document/delivery.js'
import { ERRORS, storedRefusalCode, type ErrorCode } from '../../src/errors.js'
import { ETSI_BY_CODE, ETSI_INDICATIONS, VERDICT_CODES } from '../../src/signature/index.js'
import { PDF_VERDICT_CODES } from '../../src/signature/pdf.js'
import { EXPIRY_LEVELS, TRUST_ITEM_KINDS } from '../../src/pipeline/trust-watch.js'
import { ROOT } from '../helper.js'

/** Letters only Vietnamese uses: a label without one of them is probably English left untranslated. */
const VIETNAMESE = /[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]/i

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const full = path.join(dir, n)
    return statSync(full).isDirectory() ? files(full) : [full]
  })

const TONES = ['ok', 'info', 'warn', 'err', 'neutral']

t.test('every catalogue code has its Vietnamese label, the English message and how-to, status and retryable flag', async (t) => {
  const l = consoleLabels()
  t.same(Object.keys(l.errors).sort(), Object.keys(ERRORS).sort(), 'exactly the catalogue codes')
  for (const [code, d] of Object.entries(ERRORS)) {
    const e = l.errors[code]!
    t.match(e.label, VIETNAMESE, `${code}: Vietnamese label "${e.label}"`)
    t.notMatch(e.label, /[{}]/, `${code}: no placeholder left`)
    if (e.solve !== undefined) t.match(e.solve, VIETNAMESE, `${code}: Vietnamese solve`)
    t.equal(e.en, errorLabel(d.message), `${code}: English message kept for the fold`)
    t.equal(e.solveEn, d.solve)
    t.equal(e.httpStatus, d.httpStatus)
    t.equal(e.retryable, d.retryable)
  }
  // every refusal stored for an incoming package tells the operator what to do, in Vietnamese
  for (const code of Object.keys(ERRORS).filter((c) => c.startsWith('GW_ERR_RECEIVE_') || c.startsWith('GW_ERR_TRANSPORT_'))) {
    t.ok(l.errors[code]!.solve, `${code}: cách khắc phục`)
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
  // one name, one meaning in both directions (docs/design.md "Delivery states"): 03 is registered both ways
  t.match(l.states.out.registered, { label: 'Đã tiếp nhận', code: '03' })
  t.match(l.states.in.registered, { label: 'Đã tiếp nhận', code: '03' })
  t.match(l.states.in.arrived, { label: 'Đã nhận về, chữ ký hợp lệ' })
  t.match(l.states.out.accepted, { label: 'Đã nhận từ DMS' })
  for (const old of ['received']) t.notOk(old in l.states.out || old in l.states.in, `${old} is no state name any more`)
  t.notOk('accepted' in l.states.in, 'accepted is the outbox only')
  t.match(l.states.in['recall-requested'], { code: '13' })
  t.same(l.statusCodes, STATUS_CODE_LABELS)
})

t.test('every verdict code and stored refusal code has a Vietnamese label; event types, directions, actors are named', async (t) => {
  const l = consoleLabels()
  for (const c of [...VERDICT_CODES, ...PDF_VERDICT_CODES]) t.match(l.verdicts[c]?.label, VIETNAMESE, `verdict ${c}`)
  t.equal(l.verdicts.VALID!.tone, 'ok')
  for (const code of Object.keys(ERRORS).filter((c) => c.startsWith('GW_ERR_RECEIVE_')) as ErrorCode[]) {
    t.match(l.verdicts[storedRefusalCode(code)]?.label, VIETNAMESE, `stored refusal ${storedRefusalCode(code)}`)
  }
  for (const type of ['state', 'status', 'replayed', 'replay-failed', 'discarded', 'recall-requested', 'note', 'revoke', 'updated', 'superseded', 'webhook-delivered', 'webhook-abandoned', 'axis-attempt', 'signed']) {
    t.match(l.eventTypes[type], VIETNAMESE, type)
  }
  t.same(Object.keys(l.directions).sort(), ['in', 'out'])
  t.same(Object.keys(l.actors).sort(), ['client', 'operator', 'peer', 'system', 'vxp'])
  t.match(l.verdicts.AXIS_UNSIGNED?.label, VIETNAMESE, 'verdict AXIS_UNSIGNED (a package from the national axis)')
  for (const s of ['starting', 'connected', 'unreachable', 'refused']) t.match(l.axis.states[s], VIETNAMESE, `axis connector state ${s}`)
  for (const v of ['axis', 'amqp']) t.match(l.axis.via[v], VIETNAMESE, `via ${v}`)
})

t.test('every ETSI indication and sub-indication a verdict can carry has a Vietnamese label; the table by code is the signature module\'s', async (t) => {
  const l = consoleLabels()
  for (const i of ETSI_INDICATIONS) t.match(l.etsi.indications[i], VIETNAMESE, i)
  for (const e of Object.values(ETSI_BY_CODE)) if (e.subIndication) t.match(l.etsi.subIndications[e.subIndication], VIETNAMESE, e.subIndication)
  t.match(l.etsi.subIndications.TRY_LATER, VIETNAMESE)
  t.same(l.etsi.byCode, ETSI_BY_CODE)
  t.notMatch(l.etsi.subIndications.REVOKED_NO_POE, /thu hồi/i, 'a certificate is "chấm dứt hiệu lực", never "thu hồi"')
})

t.test('every kind of item and every expiry level of the trust watch has a Vietnamese label', async (t) => {
  const l = consoleLabels()
  t.same(Object.keys(l.trust.kinds), [...TRUST_ITEM_KINDS], 'exactly the kinds the watch lists')
  t.same(Object.keys(l.trust.levels), [...EXPIRY_LEVELS], 'exactly its levels')
  for (const [k, v] of [...Object.entries(l.trust.kinds), ...Object.entries(l.trust.levels), ...Object.entries(l.trust.health)]) t.match(v, VIETNAMESE, `trust ${k}: ${v}`)
  for (const c of ['crl', 'crl-fetched']) t.notMatch(l.trust.kinds[c]!, /thu hồi/i, `${c}: a certificate's status is never "thu hồi"`)
  // the health view uses the labels, not words of its own, for every level
  const view = readFileSync(path.join(ROOT, 'src', 'console', 'views', 'health.js'), 'utf8')
  t.match(view, /LABELS\.trust\.levels/)
  t.match(view, /LABELS\.trust\.kinds/)
})

t.test('terms: "trục" only for the national axis, never the local broker; a certificate\'s status never "thu hồi"', async (t) => {
  const l = consoleLabels()
  const texts = [
    ...Object.values(l.states.out).map((s) => s.label),
    ...Object.values(l.states.in).map((s) => s.label),
    ...Object.values(l.verdicts).map((v) => v.label),
    ...Object.values(l.etsi.indications),
    ...Object.values(l.etsi.subIndications),
    ...Object.values(l.errors).flatMap((e) => [e.label, e.solve ?? '']),
    ...Object.values(l.eventTypes),
    ...l.causes.map(([, vi]) => vi),
    ...Object.values(l.axis.states),
    ...Object.values(l.axis.via),
    l.axis.queued,
    ...Object.values(l.axis.health),
    ...Object.values(l.trust.kinds),
    ...Object.values(l.trust.levels),
    ...Object.values(l.trust.health),
  ]
  // "trục" is the national axis only: every use names it in full
  for (const x of texts) t.notMatch(x.replace(/trục liên thông văn bản quốc gia/gi, '').replace(/^Xem ErrorCode\/ErrorDesc của trục/, ''), /trục/i, `"trục" only for the national axis: ${x}`)
  for (const c of ['REVOKED', 'CRL_EXPIRED']) {
    t.notMatch(l.verdicts[c]!.label, /thu hồi/i, `${c}: not "thu hồi"`)
    t.match(l.verdicts[c]!.label, /tình trạng chứng thư \(CRL\/OCSP\)/i)
  }
  t.match(l.states.out.queued!.label, /mạng liên thông lienthong/)
  // the console's own files: no "trục", no English beside the Vietnamese (English only in title= tooltips and folds)
  for (const f of files(path.join(ROOT, 'src', 'console')).filter((f) => /\.(js|html)$/.test(f))) {
    const text = readFileSync(f, 'utf8')
    t.notMatch(text, /trục/i, `${path.relative(ROOT, f)}: no "trục"`)
    t.notMatch(text, /<span lang="en"/, `${path.relative(ROOT, f)}: no visible English term`)
    t.notMatch(text, / \((?:more|ok|out|in|degraded|broker|store)\)|unauthorized\)|forbidden\)/, `${path.relative(ROOT, f)}: no English in parentheses`)
  }
})

t.test('every cause the pipeline and the store write into the log has its Vietnamese text', async (t) => {
  const l = consoleLabels()
  const patterns = l.causes.map(([p, vi]) => [new RegExp(`^(?:${p})$`, 's'), vi] as const)
  const viOf = (cause: string) => patterns.find(([re]) => re.test(cause))?.[1]
  // every `cause: '…'` / `cause: \`…\`` literal of src/, with each ${…} given a sample value of its kind
  const causes = new Set<string>()
  for (const f of files(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/\bcause: (?:'([^']+)'|`([^`]+)`)/g)) {
      const lit = m[1] ?? m[2]!
      if (m[2] !== undefined && /^\$\{[^}]+\}$/.test(lit)) continue // a whole variable: the peer's or the DMS's words
      causes.add(
        lit
          .replace(/\$\{code\}/g, '02')
          .replace(/\$\{author\}/g, '000.00.00.H29')
          .replace(/\$\{type === 2 \? 'updated' : 'replaced'\}/g, 'updated')
          .replace(/\$\{r\.verdictCode\}/g, 'UNTRUSTED_CHAIN')
          .replace(/\$\{doc\.id\}/g, '0b8f6c2e-1111-4222-8333-944445555666')
          .replace(/\$\{[^}]+\}/g, 'x'),
      )
    }
  }
  t.ok(causes.size >= 12, `${causes.size} cause literals found in src/`)
  for (const c of causes) t.match(viOf(c), VIETNAMESE, `cause "${c}" → ${viOf(c)}`)
  // what the log holds besides: refusal reasons (code: message), webhook event types
  for (const c of ['UNTRUSTED_CHAIN: the chain does not end at a trust anchor', 'GW_ERR_ENVELOPE_NOT_XML: not XML', 'document.received', 'status.changed', 'recall.requested', 'replaced by package p1 (DocumentId 000.00.00.G22,2026/11/25,12/VPCP-TH)']) {
    t.ok(viOf(c), `cause "${c}"`)
  }
  t.equal(viOf('status 01 from peer'), 'Trạng thái {code} nhận từ cơ quan nhận')
})

t.test('every detail field of a log event has a Vietnamese name', async (t) => {
  const l = consoleLabels()
  const keys = new Set<string>()
  for (const f of files(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.includes(`${path.sep}migrations${path.sep}`))) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/\bdetail(?: =|:) \{([^\n]*)\}/g)) {
      for (const k of m[1]!.matchAll(/(?:^|[{,]\s*)(?:\.\.\.\(\w+(?:\.\w+)* \? \{ )?(\w+):/g)) keys.add(k[1]!)
    }
  }
  t.ok(keys.size >= 10, `${keys.size} detail keys found in src/: ${[...keys].join(', ')}`)
  for (const k of keys) t.match(l.detailKeys[k], VIETNAMESE, `detail ${k}`)
})

t.test('the module text is JavaScript exporting the labels', async (t) => {
  const text = consoleLabelsModule()
  const mod = await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`)
  t.same(mod.default, consoleLabels())
})
