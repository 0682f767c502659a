/**
 * A rejected copy must never shadow the genuine document (issue "fail safe against hostile peers"). Two gateways on
 * the real RabbitMQ: A hosts G22 (the sender) and H29, B hosts H26 (the recipient). A hostile or buggy peer on the
 * same broker holds the bytes of a genuine package (any co-recipient has them) and publishes copies of them with a
 * wrong sender header, a garbage signature, no signature, or its own signature; or it writes a package naming a
 * third agency as From. Properties asserted for every variant:
 *
 *   - the genuine document is in the DMS inbox of H26 exactly once, and A's delivery gets its 01 (delivered);
 *   - no copy that failed verification makes B send a 02 (to the genuine sender or to anybody else);
 *   - every refused copy is its own rejected row (a dead letter with its verdict), never a duplicate of another;
 *   - a copy refused before a trust change and redelivered after it is received (not taken for the refused row).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import amqp from 'amqplib'
import t from 'tap'
import { AMQP_URL, CERTS } from '../helper.js'
import { agencySigner, sampleEdoc } from '../integration/receive/helpers.js'
import { bearer, E2E_KEYS, G22, H26, H29, startTwoGateways, waitFor, type Gateway } from '../integration/e2e/helpers.js'

interface Raw {
  body: Uint8Array
  sender?: string
  signature?: Uint8Array
}

/** Publish as a peer on the broker would: to the shared exchange, routing key = recipient, our headers or none. */
async function publishRaw(gw: Gateway, recipient: string, m: Raw): Promise<void> {
  const conn = await amqp.connect(AMQP_URL)
  try {
    const ch = await conn.createConfirmChannel()
    const headers: Record<string, string> = { 'x-lienthong-recipient': recipient, 'x-lienthong-sha256': createHash('sha256').update(m.body).digest('hex') }
    if (m.sender !== undefined) headers['x-lienthong-sender'] = m.sender
    if (m.signature) headers['x-lienthong-signature'] = Buffer.from(m.signature).toString('base64')
    await new Promise<void>((resolve, reject) =>
      ch.publish(gw.config.amqp.exchange, recipient.toUpperCase(), Buffer.from(m.body), { persistent: true, messageId: randomBytes(8).toString('hex'), type: 'edoc', contentType: 'application/xml', headers }, (e) =>
        e ? reject(e) : resolve(),
      ),
    )
    await ch.close()
  } finally {
    await conn.close()
  }
}

async function sendPrebuilt(a: Gateway, bytes: Uint8Array): Promise<{ id: string; documentId: string }> {
  const res = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: { ...bearer(E2E_KEYS.g22), 'content-type': 'application/xml' }, payload: Buffer.from(bytes) })
  if (res.statusCode !== 202) throw new Error(`send failed ${res.statusCode} ${res.body}`)
  return res.json() as { id: string; documentId: string }
}

async function inboxItems(b: Gateway, documentId: string) {
  const res = await b.app.inject({ method: 'GET', url: `/v1/inbox?documentId=${encodeURIComponent(documentId)}`, headers: bearer(E2E_KEYS.h26) })
  return ((res.json() as { items?: { id: string; kind: string; state: string }[] }).items ?? []).filter((i) => i.kind === 'edoc')
}

async function delivery(a: Gateway, id: string, recipient = H26) {
  const res = await a.app.inject({ method: 'GET', url: `/v1/documents/${id}`, headers: bearer(E2E_KEYS.g22) })
  const doc = res.json() as { deliveries: { recipient: string; state: string; timeline: { statusCode?: string; type: string }[] }[] }
  return doc.deliveries.find((d) => d.recipient.toUpperCase() === recipient.toUpperCase())
}

/** Status packages B signed and sent, by code. */
async function sentStatuses(b: Gateway, code: string) {
  return (await b.store.listPackages({ kind: 'status', limit: 200 })).items.filter((p) => p.statusCode === code)
}

async function rejectedRows(b: Gateway, documentId: string) {
  return (await b.store.listIncoming({ documentId, state: 'rejected', limit: 100 })).items
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('refused copies published before the genuine one never shadow it', async (t) => {
  const { a, b } = await startTwoGateways(t)
  const stc = await agencySigner('stc-hcm')
  const variants: { name: string; code: string; copy: (bytes: Uint8Array) => Promise<Raw> }[] = [
    { name: 'wrong sender header', code: 'SENDER_MISMATCH', copy: async (body) => ({ body, sender: H29, signature: randomBytes(600) }) },
    { name: 'garbage signature', code: 'MALFORMED', copy: async (body) => ({ body, sender: G22, signature: randomBytes(600) }) },
    { name: 'no signature', code: 'NO_SIGNATURE', copy: async (body) => ({ body, sender: G22 }) },
    { name: 'signed by a co-recipient', code: 'SENDER_MISMATCH', copy: async (body) => ({ body, sender: G22, signature: await stc.sign(body) }) },
    { name: 'lowercased sender header, garbage signature', code: 'MALFORMED', copy: async (body) => ({ body, sender: G22.toLowerCase(), signature: randomBytes(600) }) },
  ]
  for (const v of variants) {
    const doc = sampleEdoc(G22, [H26])
    const documentId = doc.edoc!.messageHeader.documentId
    // 1. the hostile copies arrive first (twice: each its own dead letter)
    await publishRaw(b, H26, await v.copy(doc.bytes))
    await publishRaw(b, H26, await v.copy(doc.bytes))
    const refused = await waitFor(async () => ((await rejectedRows(b, documentId)).length === 2 ? rejectedRows(b, documentId) : undefined), 8000)
    t.equal(refused?.length, 2, `${v.name}: both copies stored rejected, each its own row`)
    t.ok(refused?.every((r) => (r.verdict as { code?: string }).code === v.code), `${v.name}: verdict ${v.code} (${refused?.map((r) => (r.verdict as { code?: string }).code).join(', ')})`)
    // 2. the genuine copy, sent by A's DMS through A (signed by G22)
    const sent = await sendPrebuilt(a, doc.bytes)
    t.equal(sent.documentId, documentId)
    const delivered = await waitFor(async () => ((await delivery(a, sent.id))?.state === 'delivered' ? true : undefined), 8000)
    t.ok(delivered, `${v.name}: A's delivery gets its 01`)
    const items = await inboxItems(b, documentId)
    t.equal(items.length, 1, `${v.name}: the DMS inbox has the document exactly once`)
    t.equal(items[0]?.state, 'arrived', `${v.name}: received`)
    t.equal((await rejectedRows(b, documentId)).length, 2, `${v.name}: the refused copies stay refused, untouched`)
  }
  await settle(300)
  t.equal((await sentStatuses(b, '02')).length, 0, 'B never answered a refused copy with a 02')
  t.equal((await sentStatuses(b, '01')).length, variants.length, 'one 01 per genuine document')
})

t.test('after a genuine receipt, refused copies send no 02 and leave the delivery delivered', async (t) => {
  const { a, b } = await startTwoGateways(t)
  const stc = await agencySigner('stc-hcm')
  const doc = sampleEdoc(G22, [H26])
  const documentId = doc.edoc!.messageHeader.documentId
  const sent = await sendPrebuilt(a, doc.bytes)
  t.ok(await waitFor(async () => ((await delivery(a, sent.id))?.state === 'delivered' ? true : undefined), 8000), 'delivered')
  const stored = (await a.store.getPackageBytes(sent.id))!
  const copies: Raw[] = [
    { body: stored.bytes, sender: G22, signature: randomBytes(600) },
    { body: stored.bytes, sender: G22 },
    { body: stored.bytes, sender: H29, signature: stored.signature },
    { body: stored.bytes, sender: G22, signature: await stc.sign(stored.bytes) },
    // the genuine signature with one character of the subject changed
    { body: Buffer.from(Buffer.from(stored.bytes).toString('utf8').replace('V/v thử nghiệm', 'V/w thử nghiệm')), sender: G22, signature: stored.signature },
  ]
  for (const c of copies) await publishRaw(b, H26, c)
  const all = await waitFor(async () => {
    const rows = await b.store.listIncoming({ state: 'rejected', limit: 100 })
    return rows.items.length === copies.length ? rows.items : undefined
  }, 8000)
  t.equal(all?.length, copies.length, 'every copy stored as its own rejected row')
  t.same(new Set(all?.map((r) => (r.verdict as { code?: string }).code)), new Set(['MALFORMED', 'NO_SIGNATURE', 'SENDER_MISMATCH', 'DIGEST_MISMATCH']), 'with its own verdict')
  await settle(1500)
  t.equal((await sentStatuses(b, '02')).length, 0, 'no 02')
  const d = await delivery(a, sent.id)
  t.equal(d?.state, 'delivered', "the sender's delivery stays delivered")
  t.notOk(d?.timeline.some((e) => e.statusCode === '02'), 'no 02 in its timeline')
  const items = await inboxItems(b, documentId)
  t.equal(items.length, 1, 'the DMS inbox has it once')
  t.equal(items[0]?.state, 'arrived', 'still received')
})

t.test('a package naming a third agency as From with a bad signature: no 02 to that agency', async (t) => {
  const { b } = await startTwoGateways(t)
  // From = H29 (hosted on A), sent by somebody else: header and From agree, the signature is junk or someone else's
  const stc = await agencySigner('stc-hcm')
  const doc = sampleEdoc(H29, [H26])
  await publishRaw(b, H26, { body: doc.bytes, sender: H29, signature: randomBytes(600) })
  await publishRaw(b, H26, { body: doc.bytes, sender: H29, signature: await stc.sign(doc.bytes) })
  await publishRaw(b, H26, { body: doc.bytes, sender: H29 })
  const rows = await waitFor(async () => ((await rejectedRows(b, doc.edoc!.messageHeader.documentId)).length === 3 ? true : undefined), 8000)
  t.ok(rows, 'three rejected rows')
  await settle(300)
  t.equal((await sentStatuses(b, '02')).length, 0, 'B signed no refusal for H29')
})

t.test('a lowercased From cannot open a second DocumentId', async (t) => {
  const { a, b } = await startTwoGateways(t)
  const vpcp = await agencySigner('vpcp')
  const doc = sampleEdoc(G22, [H26])
  const documentId = doc.edoc!.messageHeader.documentId
  const sent = await sendPrebuilt(a, doc.bytes)
  t.ok(await waitFor(async () => ((await delivery(a, sent.id))?.state === 'delivered' ? true : undefined), 8000), 'delivered')
  // other bytes, same DocumentId, From written in lower case, validly signed with G22's key (a buggy sender)
  // (the builder writes OrganIds upper-cased: the From is lowercased in the bytes, as another implementation may)
  const built = Buffer.from(sampleEdoc(G22, [H26], { documentId, subject: 'Nội dung khác' }).bytes).toString('utf8')
  const xml = built.replace(/(<(?:edXML:)?From>\s*<(?:edXML:)?OrganId>)000\.00\.00\.G22/, `$1${G22.toLowerCase()}`)
  t.not(xml, built, 'From lowercased')
  const other = Buffer.from(xml)
  await publishRaw(b, H26, { body: other, sender: G22.toLowerCase(), signature: await vpcp.sign(other) })
  const rows = await waitFor(async () => {
    const r = await rejectedRows(b, documentId)
    return r.length === 1 ? r : undefined
  }, 8000)
  t.equal((rows?.[0]?.verdict as { code?: string } | undefined)?.code, 'REPLAY', 'refused as a replay of the DocumentId')
  t.equal(rows?.[0]?.senderOrganId, G22.toLowerCase(), 'stored with the sender as written')
  t.equal((await inboxItems(b, documentId)).length, 1, 'one document in the inbox')
})

t.test('a copy refused before a trust change and redelivered after it is received', async (t) => {
  const anchors = { file: '' }
  const { a, b } = await startTwoGateways(t, {
    configure: (label, raw, dir) => {
      if (label !== 'b') return
      // B starts trusting another root only: A's packages are UNTRUSTED_CHAIN
      anchors.file = path.join(dir, 'anchors.pem')
      writeFileSync(anchors.file, readFileSync(path.join(CERTS, 'untrusted-root-ca.pem')))
      raw.trust = { ...raw.trust, anchorsPaths: [anchors.file] }
    },
  })
  const doc = sampleEdoc(G22, [H26])
  const documentId = doc.edoc!.messageHeader.documentId
  const sent = await sendPrebuilt(a, doc.bytes)
  const refused = await waitFor(async () => {
    const r = await rejectedRows(b, documentId)
    return r.length === 1 ? r : undefined
  }, 8000)
  t.equal((refused?.[0]?.verdict as { code?: string } | undefined)?.code, 'UNTRUSTED_CHAIN', 'refused: B does not trust the root yet')
  await settle(500)
  t.equal((await sentStatuses(b, '02')).length, 0, 'no 02: the signature did not verify')
  t.equal((await delivery(a, sent.id))?.state, 'queued', "A's delivery waits (no 01, no 02)")

  // the trust file is fixed; the dead-lettered message comes back (a shovel, or the broker redelivering)
  writeFileSync(anchors.file, readFileSync(path.join(CERTS, 'trust-anchors.pem')))
  b.gateway.trust.refresh(Date.now(), { force: true })
  const conn = await amqp.connect(AMQP_URL)
  const ch = await conn.createChannel()
  const dead = await waitFor(async () => (await ch.get(b.config.amqp.deadLetterQueuePrefix + H26, { noAck: true })) || undefined, 5000)
  t.ok(dead, 'the refused message is in the dead-letter queue')
  await ch.close()
  await conn.close()
  const h = dead!.properties.headers as Record<string, unknown>
  await publishRaw(b, H26, { body: dead!.content, sender: String(h['x-lienthong-sender']), signature: Buffer.from(String(h['x-lienthong-signature']), 'base64') })

  t.ok(await waitFor(async () => ((await delivery(a, sent.id))?.state === 'delivered' ? true : undefined), 8000), "A's delivery gets its 01")
  const items = await inboxItems(b, documentId)
  t.equal(items.length, 1, 'the DMS inbox has it exactly once')
  t.equal(items[0]?.state, 'arrived')
  t.equal((await rejectedRows(b, documentId)).length, 1, 'the refused copy stays its own dead letter')
})
