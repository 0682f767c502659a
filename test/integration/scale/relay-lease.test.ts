/**
 * Two gateway processes (`lienthong serve`) on one PostgreSQL database and one broker: their relays share the
 * outbox through leases (store migration 012) and publish every delivery once; their consumers share the hosted
 * agency's queue and store every document once. Then one process is SIGKILLed in the middle of a burst: its leased
 * deliveries are taken over by the other once the lease expires, and nothing it accepted is lost.
 */
import t from 'tap'
import { auth, drainQueue, eventually, H26, H29, KEYS, observerQueue, sampleDocument } from '../../helper.js'
import { freshDatabase, kill, pgSkip, processesOf, rawScaleConfig, serve, type Child } from './helpers.js'

const LEASE_MS = 3000
const recipients = [
  { organId: H26, name: 'Ủy ban nhân dân Thành phố Hà Nội', organizationInCharge: 'Chính phủ' },
  { organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh', organizationInCharge: 'Chính phủ' },
]

async function post(url: string, i: number): Promise<string | undefined> {
  try {
    const r = await fetch(`${url}/v1/documents`, {
      method: 'POST',
      headers: { ...auth(KEYS.g22), 'content-type': 'application/json' },
      body: JSON.stringify(sampleDocument({ recipients, subject: `V/v văn bản số ${i} gửi qua hai tiến trình` })),
    })
    return r.status === 202 ? ((await r.json()) as { id: string }).id : undefined
  } catch {
    return undefined // the process was killed
  }
}

t.test('two processes share the outbox and the inbox; SIGKILL of one loses nothing', { skip: pgSkip, timeout: 90_000 }, async (t) => {
  const { url, sql } = await freshDatabase(t)
  const dir = t.testdir({})
  const raw = rawScaleConfig(dir, url, { relay: { pollIntervalMs: 100, retryDelayMs: 200, leaseMs: LEASE_MS } })
  const { file, config, children } = processesOf(t, dir, raw)
  // H26 is not hosted: the test reads what the relays publish to it (one message per delivery, messageId = package id)
  const observer = await observerQueue(config, H26)
  const a = await serve(file)
  children.push(a)
  const b = await serve(file)
  children.push(b)

  const pending = async () => Number((await sql.query(`SELECT count(*) AS n FROM deliveries WHERE state = 'accepted'`)).rows[0].n)
  const published = new Map<string, number>()
  const drain = async () => {
    for (const m of await drainQueue(observer)) published.set(String(m.properties.messageId), (published.get(String(m.properties.messageId)) ?? 0) + 1)
  }
  const received = async (ids: string[]) => {
    const rows = (await sql.query(`SELECT message_id, count(*) AS n FROM incoming WHERE kind = 'edoc' AND recipient = $1 AND state <> 'rejected' GROUP BY message_id`, [H29])).rows as { message_id: string; n: string }[]
    const by = new Map(rows.map((r) => [r.message_id, Number(r.n)]))
    return ids.map((id) => by.get(id) ?? 0)
  }

  // 1. both running: documents accepted by either API
  const N = 40
  const first = (await Promise.all(Array.from({ length: N }, (_, i) => post(i % 2 ? b.url : a.url, i)))).filter((x): x is string => !!x)
  t.equal(first.length, N, `${N} documents accepted by the two APIs`)
  await eventually(async () => ((await pending()) === 0 && (await received(first)).every((n) => n >= 1)) || undefined, 30_000, 100)
  await drain()
  const once = first.filter((id) => published.get(id) === 1).length
  t.equal(once, N, `every delivery to ${H26} published exactly once (${once}/${N})`)
  t.same(await received(first), first.map(() => 1), `every document stored once at ${H29}`)
  const owners = (await sql.query(`SELECT lease_owner, count(*) AS n FROM deliveries d JOIN packages p ON p.id = d.package_id WHERE p.kind = 'edoc' GROUP BY lease_owner`)).rows as { lease_owner: string | null; n: string }[]
  t.equal(owners.filter((o) => o.lease_owner !== null).length, 2, `both relays published: ${owners.map((o) => `${o.lease_owner}=${o.n}`).join(', ')}`)
  const inboxed = (await sql.query(`SELECT count(*) AS n FROM incoming WHERE kind = 'edoc' AND recipient = $1`, [H29])).rows[0].n
  t.equal(Number(inboxed), N, 'no package processed twice')

  // 2. a burst to both; A is SIGKILLed once it accepted half of its share, while it publishes and receives
  const M = 120
  const owner = (c: Child) => /"owner":"([^"]+)"/.exec(c.output())?.[1]
  let accepted = 0
  let killed: Promise<number | null> | undefined
  let dead = false
  let held: { id: string; lease_until: string }[] = []
  const heldByA = async () => (await sql.query(`SELECT id, lease_until FROM deliveries WHERE state = 'accepted' AND lease_owner = $1`, [owner(a) ?? ''])).rows as { id: string; lease_until: string }[]
  // SIGKILL at a moment A's relay holds leases (rows it read and has not recorded as published yet), the rows B must
  // take over: on a quiet machine A's relay often publishes each document before the next arrives
  const killA = async (): Promise<number | null> => {
    const until = Date.now() + 10_000
    while (Date.now() < until && (await heldByA()).length === 0);
    const code = await kill(a, 'SIGKILL')
    dead = true
    // what A's relay held when it died: the other relay takes it once the lease expires
    held = await heldByA()
    return code
  }
  const queue = (target: Child, from: number) => async (): Promise<string[]> => {
    const got: string[] = []
    // A goes on receiving documents (past M if need be) until it is dead, so its relay has work when it dies
    for (let i = from; target === a ? !dead && i < 4 * M : i < M; i += 8) {
      const batch = await Promise.all([0, 2, 4, 6].filter((k) => target === a || i + k < M).map((k) => post(target.url, N + i + k)))
      for (const id of batch) if (id) got.push(id)
      if (target === a && (accepted += batch.filter(Boolean).length) >= M / 4 && !killed) killed = killA()
    }
    return got
  }
  const [fromA, fromB] = await Promise.all([queue(a, 0)(), queue(b, 1)()])
  t.equal(await killed, null, 'A was killed with SIGKILL')
  t.comment(`A accepted ${fromA.length}, B ${fromB.length}; deliveries leased by A when it died: ${held.length}`)
  const second = [...fromA, ...fromB]
  const t0 = Date.now()
  await eventually(async () => ((await pending()) === 0 && (await received(second)).every((n) => n >= 1)) || undefined, 40_000, 200)
  const drainMs = Date.now() - t0
  await drain()
  const lost = second.filter((id) => !published.get(id)).length
  const twice = second.filter((id) => (published.get(id) ?? 0) > 1).length
  t.equal(lost, 0, `every one of the ${second.length} accepted documents reached ${H26} (after the kill: ${drainMs} ms to drain)`)
  t.ok(twice <= held.length, `published twice at most what A held when it died: ${twice} of ${held.length}`)
  t.same(await received(second), second.map(() => 1), `every document stored once at ${H29} (redelivered copies are duplicates)`)
  t.comment(`counts: accepted ${N + second.length}, published to ${H26} ${[...published.values()].reduce((s, n) => s + n, 0)}, published twice ${twice}, drain after kill ${drainMs} ms`)
  // B's relay took over A's leases, and only once they had expired. A delivery A had published just before it
  // died (the broker had it, A had not recorded it yet) may instead have had its 01 back from H29 meanwhile: it is
  // then delivered straight from accepted, still under A's lease (B never leased it, so never published it)
  const after = (await sql.query(`SELECT id, recipient, state, lease_owner, queued_at FROM deliveries WHERE id = ANY($1::text[])`, [held.map((h) => h.id)])).rows as { id: string; recipient: string; state: string; lease_owner: string; queued_at: string | null }[]
  const byB = after.filter((r) => r.lease_owner === owner(b))
  const early = byB.filter((r) => !r.queued_at || r.queued_at < held.find((h) => h.id === r.id)!.lease_until)
  t.ok(held.length > 0, `A died holding leases (${held.length}): the takeover is exercised`)
  t.ok(byB.length > 0, `B took over deliveries A held (${byB.length} of ${held.length})`)
  t.same(after.filter((r) => r.lease_owner !== owner(b) && !(r.lease_owner === owner(a) && r.state === 'delivered' && r.recipient === H29)), [], `each of the ${held.length} deliveries A held was published by B (${owner(b)}) or answered with its 01 to what A had published`)
  t.equal(early.length, 0, 'none of them published by B before the lease of A expired')
  const left = (await sql.query(`SELECT count(*) AS n FROM deliveries WHERE state = 'accepted'`)).rows[0].n
  t.equal(Number(left), 0, 'nothing left pending')
})
