/**
 * Two gateways on one PostgreSQL database consume the same agency's inbox queue. Round after round, two different
 * packages under one DocumentId from the same sender are published at the same moment, so that each gateway
 * receives one of them: exactly one is accepted (and answered 01), the other is stored refused as a REPLAY and
 * dead-lettered, never answered with a 02; nothing is lost.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startGateway, type RunningGateway } from '../../../src/server.js'
import { deleteAmqpNames, eventually, G22, H29, queueDepth, silentLogger } from '../../helper.js'
import { agencySigner, sampleEdoc } from '../receive/helpers.js'
import { freshDatabase, pgSkip, rawPublisher, scaleConfig } from './helpers.js'

const ROUNDS = Number(process.env.LIENTHONG_RACE_ROUNDS ?? 40)

t.test('two packages under one DocumentId at two gateways at once: one accepted, one REPLAY, no 02', { skip: pgSkip, timeout: 60_000 }, async (t) => {
  const { url, sql } = await freshDatabase(t)
  const config = scaleConfig(t, url, { amqp: { prefetch: 4 } })
  const gws: RunningGateway[] = []
  t.teardown(async () => {
    for (const g of gws) await g.close()
    await deleteAmqpNames(config)
  })
  for (let i = 0; i < 2; i++) {
    const gw = await startGateway(config, { logger: silentLogger(), listen: false, receive: true })
    gws.push(gw)
    await gw.receiver!.whenConsuming({ timeoutMs: 10_000 })
  }
  const handled = [0, 0]
  gws.forEach((g, i) => {
    g.receiver!.pipeline.on('received', (e) => e.incoming.recipient === H29 && handled[i]!++)
    g.receiver!.pipeline.on('rejected', (e) => e.incoming?.recipient === H29 && handled[i]!++)
  })
  const publish = await rawPublisher(t, config.amqp.exchange)
  const signer = await agencySigner('vpcp')
  const run = randomBytes(3).toString('hex')
  const ids: string[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const documentId = `${G22},race-${run}-${round}`
    ids.push(documentId)
    const pair = [0, 1].map((k) => sampleEdoc(G22, [H29], { documentId, subject: `V/v bản ${k === 0 ? "thứ nhất" : "thứ hai"} của vòng ${round}` }).bytes)
    const signed = await Promise.all(pair.map(async (bytes) => ({ body: bytes, signature: await signer.sign(bytes), sender: G22, recipient: H29 })))
    await Promise.all(signed.map((m) => publish(m)))
    // both stored (one way or the other) before the next round
    await eventually(async () => Number((await sql.query('SELECT count(*) AS n FROM incoming WHERE document_id = $1', [documentId])).rows[0].n) >= 2 || undefined, 15_000)
  }
  const rows = (await sql.query(`SELECT document_id, state, reason FROM incoming WHERE kind = 'edoc' AND recipient = $1 ORDER BY seq`, [H29])).rows as { document_id: string; state: string; reason: string | null }[]
  let doubles = 0
  let lost = 0
  for (const id of ids) {
    const mine = rows.filter((r) => r.document_id === id)
    const accepted = mine.filter((r) => r.state !== 'rejected')
    const replays = mine.filter((r) => r.state === 'rejected' && /^REPLAY:/.test(r.reason ?? ''))
    if (accepted.length > 1) doubles++
    if (mine.length !== 2 || accepted.length !== 1 || replays.length !== 1) lost++
  }
  t.equal(doubles, 0, `no DocumentId accepted twice (${ROUNDS} rounds)`)
  t.equal(lost, 0, 'every round: one accepted, one REPLAY, nothing else')
  t.equal(rows.length, 2 * ROUNDS, 'every package stored')
  t.ok(handled[0]! > 0 && handled[1]! > 0, `both gateways received packages (${handled.join(' / ')})`)
  // the accepted copy is answered 01 once; a REPLAY is never answered with a 02
  const statuses = (await sql.query(`SELECT status_code, count(*) AS n FROM packages WHERE kind = 'status' AND sender = $1 GROUP BY status_code`, [H29])).rows as { status_code: string; n: string }[]
  const count = (code: string) => Number(statuses.find((s) => s.status_code === code)?.n ?? 0)
  t.equal(count('01'), ROUNDS, 'one 01 per DocumentId')
  t.equal(count('02'), 0, 'no 02 for a REPLAY')
  // the refused copies are in the dead-letter queue
  const dlq = `${config.amqp.deadLetterQueuePrefix}${H29}`
  const depth = await eventually(async () => {
    const n = await queueDepth(dlq)
    return n >= ROUNDS ? n : undefined
  }, 10_000)
  t.equal(depth, ROUNDS, 'each REPLAY dead-lettered')
  t.ok((await gws[0]!.store.verifyLog()).ok, 'one hash chain across both writers')
})
