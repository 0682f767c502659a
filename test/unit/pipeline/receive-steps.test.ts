/**
 * The receive steps without a broker: each check's refusal code (as the catalogue names it and as it is stored),
 * the history decisions (redelivery, REPLAY, revoke exemption, refused copies never count), the business-type
 * effects and the status matching on a real SQLite store, and what a replay takes as its input.
 */
import path from 'node:path'
import t from 'tap'
import { buildEdoc, buildStatus, parseEnvelope, type EdocInput } from '../../../src/envelope/index.js'
import { ERRORS } from '../../../src/errors.js'
import { replayInput } from '../../../src/pipeline/deadletter.js'
import { inputFromAmqp } from '../../../src/pipeline/incoming.js'
import { applyBusiness, businessType } from '../../../src/pipeline/receive-business.js'
import { applyStatus } from '../../../src/pipeline/receive-status.js'
import {
  Refusal,
  answersRefusal,
  arrive,
  asRefusal,
  checkHistory,
  checkRecipient,
  checkSender,
  checkSize,
  hostedAgencies,
  parse,
  readHeaders,
  recordReceived,
  recordRefused,
  refuse,
  verify,
  type HistoryQuery,
  type ReceiveInput,
} from '../../../src/pipeline/receive-steps.js'
import { openSqliteStore, type Store, type StoredIncoming } from '../../../src/store/index.js'
import { sampleSigner, sampleVerifier } from '../../fixtures/pdf/pki.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const STC = '000.00.11.H29'
const limits = { packageBytes: 1_000_000, xmlDepth: 64 }
const hosted = hostedAgencies([{ organId: H29 }, { organId: STC }])

let n = 0
function edoc(over: Partial<EdocInput> = {}) {
  n++
  return buildEdoc({
    from: { organId: G22, organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    to: [{ organId: H29, organName: 'UBND TP HCM', organizationInCharge: 'Chính phủ' }],
    code: { codeNumber: String(500 + n), codeNotation: 'VPCP-UNIT' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/25' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: `Văn bản ${n}`,
    signerInfo: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    otherInfo: { pageAmount: 1 },
    ...over,
  })
}

const input = (bytes: Uint8Array, over: Partial<ReceiveInput> = {}): ReceiveInput => ({ source: 'amqp', bytes, sender: G22, recipient: H29, signature: new Uint8Array([1]), ...over })

/** Runs fn, returns the Refusal it throws. */
async function refusal(fn: () => unknown): Promise<Refusal> {
  try {
    await fn()
  } catch (e) {
    if (e instanceof Refusal) return e
    const r = asRefusal(e)
    if (r) return r
    throw e
  }
  throw new Error('no refusal')
}

t.test('the checks refuse with catalogue codes, stored without the GW_ERR_RECEIVE_ prefix', async (t) => {
  const doc = edoc()
  const r1 = await refusal(() => checkSize(doc.bytes, { packageBytes: 100 }))
  t.match(r1, { code: 'GW_ERR_ENVELOPE_TOO_LARGE', verdictCode: 'GW_ERR_ENVELOPE_TOO_LARGE', message: `package is ${doc.bytes.length} bytes, over the limit of 100` })

  const r2 = await refusal(() => parse({ bytes: Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edXML/>') }, limits))
  t.equal(r2.verdictCode, 'GW_ERR_ENVELOPE_DOCTYPE', 'envelope errors become refusals under their own name')

  const r3 = await refusal(() => readHeaders({ signature: undefined }))
  t.match(r3, { code: 'GW_ERR_RECEIVE_NO_SIGNATURE', verdictCode: 'NO_SIGNATURE', message: ERRORS.GW_ERR_RECEIVE_NO_SIGNATURE.message, retryable: false, ack: false })
  t.equal((await refusal(() => readHeaders({ signature: new Uint8Array() }))).verdictCode, 'NO_SIGNATURE', 'an empty signature is none')

  const { env } = parse(input(doc.bytes), limits)
  t.equal((await refusal(() => checkRecipient(arrive('x', input(doc.bytes, { recipient: '000.00.00.H26' }), hosted), env))).verdictCode, 'RECIPIENT_NOT_HOSTED')
  const notInTo = await refusal(() => checkRecipient(arrive('x', input(doc.bytes, { recipient: STC.toLowerCase() }), hosted), env))
  t.match(notInTo, { verdictCode: 'RECIPIENT_NOT_ADDRESSED', message: `the recipient is not among the document's To: ${STC} is not in To (${H29})` })
  t.doesNotThrow(() => checkRecipient(arrive('x', input(doc.bytes, { recipient: H29.toLowerCase() }), hosted), env), 'case-insensitive, configured spelling')

  t.match(await refusal(() => checkSender(STC, G22)), { verdictCode: 'SENDER_MISMATCH', message: /sender header 000.00.11.H29, From\/OrganId 000.00.00.G22$/ })
  t.equal((await refusal(() => checkSender(undefined, G22))).verdictCode, 'SENDER_MISMATCH', 'no sender header')
  t.doesNotThrow(() => checkSender(' 000.00.00.g22', G22))
})

t.test('parse: the fallback DocumentId, the status identity, a wrong transport label only logged', async (t) => {
  const warned: unknown[] = []
  const log = { info() {}, error() {}, debug() {}, warn: (o: unknown) => void warned.push(o) }
  const doc = edoc()
  const p = parse({ bytes: doc.bytes, declaredKind: 'status' }, limits, log)
  t.equal(p.sender, G22)
  t.equal(p.documentId, doc.edoc!.messageHeader.documentId)
  t.equal(warned.length, 1, 'AMQP type status on a document: logged, handled as a document')
  const st = buildStatus({ from: { organId: H29, organName: 'UBND TP HCM', organizationInCharge: 'Chính phủ' }, responseFor: { organId: G22, code: '1/VPCP', promulgationDate: '2026/11/25', documentId: 'D-1' }, statusCode: '03' })
  t.match(parse({ bytes: st.bytes }, limits), { sender: H29, documentId: 'D-1' })
})

t.test('verify: the verdict when valid, a refusal carrying the verdict otherwise', async (t) => {
  const doc = edoc()
  const verifier = sampleVerifier()
  const vpcp = await sampleSigner('vpcp')
  const stc = await sampleSigner('stc-hcm')
  const v = await verify({ verifier }, doc.bytes, await vpcp.sign(doc.bytes), G22)
  t.equal(v.code, 'VALID')
  const bad = await refusal(async () => verify({ verifier }, doc.bytes, await stc.sign(doc.bytes), G22))
  t.match(bad, { code: 'GW_ERR_RECEIVE_SENDER_MISMATCH', verdictCode: 'SENDER_MISMATCH', verdict: { ok: false, code: 'SENDER_MISMATCH' } })
  t.equal(bad.message, bad.verdict!.message, 'the verdict message is the refusal message')
})

/** A store that only answers findIncomingByDocument, from a list. */
function historyStore(rows: Partial<StoredIncoming>[]): Pick<Store, 'findIncomingByDocument'> {
  const full = rows.map((r, i) => ({ id: `row-${i}`, kind: 'edoc', senderOrganId: G22, documentId: 'D', recipient: H29, sha256: 'a', state: 'arrived', metadata: {}, verdict: {}, receivedAt: '2026-11-25T00:00:00Z', ...r }) as StoredIncoming)
  return { findIncomingByDocument: async (s, d) => full.filter((r) => r.senderOrganId === s && r.documentId === d) }
}

t.test('checkHistory: redelivery, REPLAY, revoke exemption, refused copies and the package itself never count', async (t) => {
  const q: HistoryQuery = { id: 'new', kind: 'edoc', sender: G22, documentId: 'D', sha256: 'a', recipient: H29, businessType: 0 }
  const check = (rows: Partial<StoredIncoming>[], over: Partial<HistoryQuery> = {}) => checkHistory({ store: historyStore(rows) as Store }, { ...q, ...over })

  t.equal(await check([]), undefined, 'first time: nothing')
  t.equal((await check([{ id: 'first' }]))?.id, 'first', 'same bytes, same recipient: the stored copy (a redelivery)')
  t.equal((await check([{ id: 'first', recipient: H29.toLowerCase() }]))?.id, 'first', 'recipient compared case-insensitively')
  t.equal(await check([{ recipient: STC }]), undefined, 'same bytes for another hosted recipient: a package of its own')
  t.match(await refusal(() => check([{ id: 'first', sha256: 'b' }])), { verdictCode: 'REPLAY', message: /DocumentId D from 000.00.00.G22 was received at .* \(package first\) with sha256 b$/ })
  t.match(await refusal(() => check([{ sha256: 'b', recipient: STC }])), { verdictCode: 'REPLAY' }, 'other bytes under the same DocumentId to any recipient')
  t.equal(await check([{ sha256: 'b' }], { businessType: 1 }), undefined, 'a revoke keeps the DocumentId of the original')
  t.equal(await check([{ sha256: 'b', metadata: { businessType: 1 } }]), undefined, 'a stored revoke does not make the original a replay')
  t.equal(await check([{ sha256: 'b', kind: 'status' }]), undefined, 'statuses sharing the DocumentId do not count')
  t.equal(await check([{ sha256: 'b' }], { kind: 'status' }), undefined, 'a status is never a REPLAY')
  t.equal(await check([{ state: 'rejected' }]), undefined, 'a refused copy of the same bytes is no redelivery')
  t.equal(await check([{ state: 'discarded' }]), undefined, 'nor a discarded one')
  t.equal(await check([{ state: 'rejected', sha256: 'b' }, { state: 'discarded', sha256: 'c' }]), undefined, 'refused copies with other bytes are no REPLAY')
  t.equal(await check([{ id: 'new', sha256: 'b' }]), undefined, 'a replayed row is not its own history')
  t.equal((await check([{ id: 'first', state: 'fetched' }]))?.id, 'first', 'any state after received counts')
  t.equal(await check([{ id: 'first' }], { documentId: undefined }), undefined, 'no DocumentId: nothing to compare')
})

async function store(t: { testdir(): string; teardown(fn: () => unknown): void }) {
  const s = await openSqliteStore(path.join(t.testdir(), 'gw.db'))
  t.teardown(() => s.close())
  return s
}

/** A document from G22 stored as received for H29, as the consumer stores it. */
async function received(s: Store, doc = edoc()) {
  const a = arrive(crypto.randomUUID(), input(doc.bytes), hosted)
  Object.assign(a, parse(a.input, limits), { verdict: { ok: true, code: 'VALID', message: 'ok', chain: [] } })
  return (await recordReceived({ store: s, clock: () => new Date() }, a, { metadata: { businessType: businessType(a.env!) } })).incoming
}

t.test('business type: revoke → recall-requested, update → updated, replace → superseded, missing targets recorded', async (t) => {
  const s = await store(t)
  const orig = await received(s)
  const other = await received(s)
  const deps = { store: s }
  const base = (d: ReturnType<typeof edoc>) => ({ id: crypto.randomUUID(), env: d, sender: G22, recipient: H29, documentId: d.edoc!.messageHeader.documentId })

  const plain = edoc()
  t.same(await applyBusiness(deps, base(plain)), { effects: [] }, 'a new document changes nothing')

  const h = parseEnvelope(Buffer.from(await s.getIncomingBytes(orig.id).then((b) => b!.bytes))).edoc!.messageHeader
  const revoke = edoc({ documentId: orig.documentId!, code: { codeNumber: h.code.codeNumber, codeNotation: h.code.codeNotation }, bussiness: { bussinessDocType: 1, bussinessDocReason: 'Ban hành nhầm' } })
  const rv = base(revoke)
  t.same(await applyBusiness(deps, rv), { relatedId: orig.id, effects: [{ type: 'revoke', target: orig.id }] })
  t.equal((await s.getIncoming(orig.id))!.state, 'recall-requested')
  t.match((await s.listEvents({ packageId: orig.id, limit: 1 })).items[0], { state: 'recall-requested',  statusCode: '13', actor: `peer:${G22}`, detail: { revokePackageId: rv.id, reason: 'Ban hành nhầm' } })

  const upd = edoc({ bussiness: { bussinessDocType: 2, documentId: other.documentId! } })
  const u = base(upd)
  t.same(await applyBusiness(deps, u), { relatedId: other.id, effects: [{ type: 'update', documentId: other.documentId, target: other.id }] })
  const rep = edoc({ bussiness: { bussinessDocType: 3, replacementInfoList: [{ documentId: 'NO-SUCH-DOC', organIdList: [H29] }, { documentId: other.documentId!, organIdList: [H29] }] } })
  const r = base(rep)
  t.same(await applyBusiness(deps, r), { relatedId: other.id, effects: [{ type: 'replace', documentId: 'NO-SUCH-DOC', found: false }, { type: 'replace', documentId: other.documentId, target: other.id }] })
  const log = await s.listEvents({ packageId: other.id, limit: 10 })
  t.same(log.items.map((e) => e.type).filter((x) => x !== 'state').sort(), ['superseded', 'updated'])

  t.same(await applyBusiness(deps, { ...base(edoc({ bussiness: { bussinessDocType: 1 } })), recipient: STC }), { effects: [{ type: 'revoke', found: false }] }, 'a revoke for another recipient finds nothing')
})

t.test('status: a status that answers nothing is ORPHAN_STATUS, acknowledged', async (t) => {
  const s = await store(t)
  const st = buildStatus({ from: { organId: G22, organName: 'VPCP', organizationInCharge: 'Chính phủ' }, responseFor: { organId: H29, code: '9/UBND', promulgationDate: '2026/11/25', documentId: 'NOTHING' }, statusCode: '03' })
  const r = await refusal(() => applyStatus({ store: s }, { id: 'st', env: st, author: G22, recipient: H29 }))
  t.match(r, { verdictCode: 'ORPHAN_STATUS', ack: true, message: /^the status answers no document known here: status 03 for DocumentId NOTHING/ })
  const thirteen = buildStatus({ from: { organId: G22, organName: 'VPCP', organizationInCharge: 'Chính phủ' }, responseFor: { organId: G22, code: '9/VPCP', promulgationDate: '2026/11/25', documentId: 'NOTHING' }, statusCode: '13' })
  t.match(await refusal(() => applyStatus({ store: s }, { id: 'st', env: thirteen, author: G22, recipient: H29 })), { verdictCode: 'ORPHAN_STATUS', ack: true })
  const orig = await received(s)
  const h = parseEnvelope(Buffer.from((await s.getIncomingBytes(orig.id))!.bytes)).edoc!.messageHeader
  const recall = buildStatus({ from: { organId: G22, organName: 'VPCP', organizationInCharge: 'Chính phủ' }, responseFor: { organId: G22, code: `${h.code.codeNumber}/${h.code.codeNotation}`, promulgationDate: '2026/11/25', documentId: orig.documentId! }, statusCode: '13' })
  t.match(await applyStatus({ store: s }, { id: 'st2', env: recall, author: G22, recipient: H29 }), { statusCode: '13', relatedId: orig.id, changed: true, state: 'recall-requested', metadata: { statusCode: '13', from: { organId: G22 } } })
})

t.test('refusals are stored with what the transport said; 02 only to a verified sender of a document', async (t) => {
  const s = await store(t)
  const doc = edoc()
  const a = arrive(crypto.randomUUID(), input(doc.bytes, { sender: STC }), hosted)
  Object.assign(a, parse(a.input, limits))
  const r = refuse('SENDER_MISMATCH', 'x')
  t.equal(answersRefusal(a, r), false, 'the sender header names another agency than From: no 02')
  const rec = await recordRefused({ store: s, clock: () => new Date() }, a, r)
  t.match(rec.incoming, { state: 'rejected', senderOrganId: G22, reason: /^SENDER_MISMATCH: /, verdict: { ok: false, code: 'SENDER_MISMATCH' }, metadata: { input: { source: 'amqp', sender: STC } } })
  // a replay checks the sender the transport named again, not the stored From
  const again = replayInput(rec.incoming, (await s.getIncomingBytes(rec.incoming.id))!)
  t.match(again, { source: 'replay', sender: STC, recipient: H29 })
  t.equal((await refusal(() => checkSender(again.sender, G22))).verdictCode, 'SENDER_MISMATCH', 'still refused on replay')
  t.equal(replayInput({ ...rec.incoming, metadata: {} }, { bytes: doc.bytes }).sender, G22, 'rows stored before: the stored sender stands in')

  const ok = arrive('y', input(doc.bytes), hosted)
  Object.assign(ok, parse(ok.input, limits))
  t.equal(answersRefusal(ok, refuse('REPLAY')), false, 'identified sender but the signature not verified (yet): an unauthenticated claim, no 02')
  t.equal(answersRefusal(ok, refuse('BAD_SIGNATURE')), false, 'a signature that does not verify: no 02 on behalf of the claimed From')
  const verdict = { ok: true, code: 'VALID', message: 'ok' } as unknown as NonNullable<typeof ok.verdict>
  const verified = { ...ok, verdict }
  t.equal(answersRefusal(verified, refuse('INTERNAL')), true, 'signature verified as From, refused by a later rule: 02')
  t.equal(answersRefusal(verified, refuse('REPLAY')), false, 'a REPLAY: a 02 naming the DocumentId would refuse the accepted document on the sender\'s books, no 02')
  t.equal(answersRefusal(verified, refuse('UNTRUSTED_CHAIN', undefined, { verdict: { ...verdict, ok: false, code: 'UNTRUSTED_CHAIN' } as typeof verdict })), false, 'a refusal carrying a failed verdict: no 02')
  ok.verdict = verdict
  t.equal(answersRefusal(ok, refuse('ORPHAN_STATUS', undefined, { ack: true })), false, 'an acknowledged refusal is not answered')
  t.equal(answersRefusal({ ...ok, hosted: false }, refuse('RECIPIENT_NOT_HOSTED')), false, 'not hosted here: no 02')
  t.equal(answersRefusal(arrive('z', input(doc.bytes), hosted), refuse('NO_SIGNATURE')), false, 'not parsed: nobody to answer')
})

t.test('inputFromAmqp: the routing key names the recipient, the body is the bytes', async (t) => {
  const body = Buffer.from('x')
  const i = inputFromAmqp({ queue: 'q', routingKey: H29, body, messageId: 'm', type: 'edoc', contentType: undefined, correlationId: undefined, priority: 3, timestamp: undefined, sender: G22, recipient: 'header', sha256: undefined, signature: undefined, signatureBase64: 'bad', redelivered: false, deliveryCount: undefined, headers: {} })
  const { transport, ...rest } = i
  t.same(rest, { source: 'amqp', bytes: body, sender: G22, recipient: H29, signature: undefined, messageId: 'm', priority: 3, declaredKind: 'edoc', unfinishedDeliveries: undefined })
  t.same(transport, { queue: 'q', routingKey: H29, messageId: 'm', type: 'edoc', priority: 3, sender: G22, recipient: 'header', signatureBytes: 3, redelivered: false, headers: [] }, 'what the transport said, for a refused record')
})
