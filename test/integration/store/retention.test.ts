// Retention (store.purge): package bytes of packages in a final state, dead letters and idempotency keys older than
// their windows; rows stay, the log keeps verifying, each purge transaction is a `purged` event, purged bytes read as
// GW_ERR_STORE_PURGED (410) with when and why.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { isGatewayError } from '../../../src/errors.js'
import type { Store } from '../../../src/store/index.js'
import { eachStore, incomingInput, outgoing } from './helpers.js'

const DAY = 86_400_000
const NOW = new Date('2026-12-01T03:00:00.000Z')
const OLD = new Date(NOW.getTime() - 400 * DAY)
const RECENT = new Date(NOW.getTime() - 10 * DAY)
const op = (cause: string, at = OLD) => ({ cause, actor: 'peer:000.00.02.H26', at })

/** One package of each kind of interest, stored 400 days ago unless said otherwise. */
async function scene(store: Store) {
  const out = async (over: Parameters<typeof outgoing>[0] = {}, at = OLD) => store.recordOutgoing(outgoing({ at, ...over }))
  const done = await out() // every delivery final: completed and refused
  await store.transition(done.deliveries[0]!.id, 'completed', { ...op('status 06'), statusCode: '06' })
  await store.transition(done.deliveries[1]!.id, 'refused', { ...op('status 02'), statusCode: '02' })
  const open = await out() // one completed, one still queued: the recipient has not answered
  await store.transition(open.deliveries[0]!.id, 'completed', { ...op('status 06'), statusCode: '06' })
  await store.markQueued(open.deliveries[1]!.id, OLD)
  const dead = await out() // a dead letter: one failed, one completed
  await store.markFailed(dead.deliveries[0]!.id, 'unroutable', 'system:relay', OLD)
  await store.transition(dead.deliveries[1]!.id, 'completed', { ...op('status 06'), statusCode: '06' })
  const status = await out({ package: { kind: 'status', statusCode: '03' }, recipients: ['000.00.02.H26'] }) // a status we sent, taken by the broker
  await store.markQueued(status.deliveries[0]!.id, OLD)
  const fresh = await out({}, RECENT) // final but recent
  for (const d of fresh.deliveries) await store.transition(d.id, 'completed', { ...op('status 06', RECENT), statusCode: '06' })
  const keyed = await out({ idempotency: { clientId: 'dms-hanoi', key: 'k-old', requestHash: 'h1' } })
  const keyedNew = await out({ idempotency: { clientId: 'dms-hanoi', key: 'k-new', requestHash: 'h2' } }, RECENT)

  const inc = async (state: 'arrived' | 'rejected' = 'arrived', over = {}) => (await store.recordIncoming(incomingInput(over, state, OLD))).incoming
  const waiting = await inc() // the DMS has not taken it: never purged
  const fetched = await inc()
  await store.transitionIncoming(fetched.id, 'fetched', { cause: 'fetched by the DMS', actor: 'client:dms-hcm', at: OLD })
  const rejected = await inc('rejected')
  const discarded = await inc('rejected')
  await store.transitionIncoming(discarded.id, 'discarded', { cause: 'discarded by operator', actor: 'operator:an', at: OLD })
  const statusIn = await inc('arrived', { kind: 'status', statusCode: '03' })
  return { done, open, dead, status, fresh, keyed, keyedNew, waiting, fetched, rejected, discarded, statusIn }
}

const counts = async (store: Store) => {
  const s = await store.stats()
  return { deliveries: Object.values(s.deliveriesByState).reduce((a, b) => a + b!, 0), incoming: Object.values(s.incomingByState).reduce((a, b) => a + b!, 0) }
}

const purgedCode = async (p: Promise<unknown>) => {
  try {
    await p
    return 'not thrown'
  } catch (e) {
    return isGatewayError(e) ? { code: e.code, status: e.httpStatus, message: e.message } : String(e)
  }
}

const windows = { packageBytesDays: 365, deadLettersDays: 180, idempotencyKeysDays: 30 }

eachStore(t, 'purge: only packages in a final state past their window lose their bytes; rows and the chain stay', async (t, { store, rawSql }) => {
  const s = await scene(store)
  const before = await counts(store)
  const eventsBefore = (await store.stats()).events

  // 1. dry run: what would go, nothing written
  const dry = await store.purge({ ...windows, actor: 'operator:cli', at: NOW, dryRun: true })
  t.match(dry, {
    dryRun: true,
    packageBytes: { outgoing: { packages: 2 }, incoming: { packages: 3 } },
    deadLetters: { outgoing: { packages: 1 }, incoming: { packages: 1 } },
    idempotencyKeys: 1,
    events: [],
  })
  t.equal(dry.packageBytes.outgoing.bytes, 2048, 'bytes counted: the two 1 KB packages')
  t.equal((await store.stats()).events, eventsBefore, 'dry run: no event')
  t.ok(await store.getPackageBytes(s.done.package.id), 'dry run: bytes still there')
  t.ok(await store.findIdempotent('dms-hanoi', 'k-old'))

  // 2. the run, in transactions of 2 packages per window and direction
  const run = await store.purge({ ...windows, actor: 'system:retention', at: NOW, batchSize: 2 })
  t.match(run, { dryRun: false, at: NOW.toISOString(), packageBytes: dry.packageBytes, deadLetters: dry.deadLetters, idempotencyKeys: 1 })
  t.ok(run.events.length >= 2, `purged events written: ${run.events.length}`)
  t.ok(run.events.every((e) => e.type === 'purged' && e.actor === 'system:retention'))
  const inEvents = run.events.filter((e) => e.direction === 'in')
  t.same(inEvents.flatMap((e) => [...(e.detail.packageBytes as { ids: string[] }).ids, ...(e.detail.deadLetters as { ids: string[] }).ids]).sort(), [s.fetched.id, s.discarded.id, s.statusIn.id, s.rejected.id].sort(), 'the events name every purged package')
  t.match(run.events[0]!.detail, { windows })
  t.match(await store.listEvents({ type: 'purged', limit: 50 }), { items: run.events.map((e) => ({ seq: e.seq })).reverse() })

  // 3. rows stay, the log verifies
  t.same(await counts(store), before, 'no delivery or incoming row removed')
  t.ok(await store.getPackage(s.done.package.id), 'the package row stays')
  t.match(await store.getIncoming(s.fetched.id), { state: 'fetched', sha256: s.fetched.sha256 })
  t.match(await store.verifyLog(), { ok: true, checked: eventsBefore + run.events.length })

  // 4. purged bytes: 410 saying when and why; everything else intact
  for (const [p, what] of [
    [() => store.getPackageBytes(s.done.package.id), 'package'],
    [() => store.getPackageBytes(s.status.package.id), 'package'],
    [() => store.getIncomingBytes(s.fetched.id), 'incoming package'],
    [() => store.getIncomingBytes(s.discarded.id), 'incoming package'],
    [() => store.getIncomingBytes(s.statusIn.id), 'incoming package'],
  ] as const) {
    t.match(await purgedCode(p()), { code: 'GW_ERR_STORE_PURGED', status: 410, message: new RegExp(`^the bytes of ${what} .* were purged on ${NOW.toISOString()} by the retention policy \\(retention\\.packageBytesDays = 365`) })
  }
  t.match(await purgedCode(store.getPackageBytes(s.dead.package.id)), { code: 'GW_ERR_STORE_PURGED', message: /retention\.deadLettersDays = 180: a dead letter/ })
  t.match(await purgedCode(store.getIncomingBytes(s.rejected.id)), { code: 'GW_ERR_STORE_PURGED', message: /retention\.deadLettersDays = 180/ })
  for (const id of [s.open.package.id, s.fresh.package.id, s.keyed.package.id, s.keyedNew.package.id]) t.equal((await store.getPackageBytes(id))!.bytes.byteLength, 1024, 'kept: not final, or too recent')
  t.equal((await store.getIncomingBytes(s.waiting.id))!.bytes.byteLength, 2048, 'kept: a document the DMS has not taken, however old')

  // 5. idempotency keys: the old one is gone (a retry now makes a new package), the recent one answers
  t.equal(await store.findIdempotent('dms-hanoi', 'k-old'), undefined)
  t.match(await store.findIdempotent('dms-hanoi', 'k-new'), { packageId: s.keyedNew.package.id })

  // 6. a purged dead letter cannot be re-sent (there is nothing to publish); nothing changes
  t.match(await purgedCode(store.transition(s.dead.deliveries[0]!.id, 'accepted', { cause: 'operator replay', actor: 'operator:an' })), { code: 'GW_ERR_STORE_PURGED' })
  t.match(await store.getDelivery(s.dead.deliveries[0]!.id), { state: 'failed' })

  // 7. a second run finds nothing and writes nothing
  const n = (await store.stats()).events
  const again = await store.purge({ ...windows, actor: 'system:retention', at: NOW })
  t.match(again, { packageBytes: { outgoing: { packages: 0 }, incoming: { packages: 0 } }, deadLetters: { outgoing: { packages: 0 }, incoming: { packages: 0 } }, idempotencyKeys: 0, events: [] })
  t.equal((await store.stats()).events, n)

  // 8. the triggers still refuse any other change of stored bytes, and of the purge records
  await t.rejects(rawSql(`UPDATE package_bytes SET bytes = signature WHERE package_id = '${s.open.package.id}'`), 'bytes of a package not purged are immutable')
  await t.rejects(
    rawSql(`UPDATE package_bytes SET bytes = (SELECT o.bytes FROM package_bytes o WHERE o.package_id = '${s.open.package.id}') WHERE package_id = '${s.done.package.id}'`),
    'a purged package cannot get bytes back',
  )
  await t.rejects(rawSql(`UPDATE incoming_bytes SET bytes = signature WHERE incoming_id = '${s.waiting.id}'`))
  await t.rejects(rawSql(`DELETE FROM purged_bytes WHERE id = '${s.done.package.id}'`), 'purge records are append-only')
  t.ok((await store.verifyLog()).ok)
})

eachStore(t, 'purge: windows left out purge nothing of their kind; a package becomes purgeable when its last delivery ends', async (t, { store }) => {
  const s = await scene(store)
  const only = await store.purge({ idempotencyKeysDays: 30, actor: 'system:retention', at: NOW })
  t.match(only, { packageBytes: { outgoing: { packages: 0 }, incoming: { packages: 0 } }, deadLetters: { outgoing: { packages: 0 } }, idempotencyKeys: 1 })
  t.equal(only.events.length, 1, 'keys only: one outgoing event')
  t.match(only.events[0], { direction: 'out', cause: 'retention: bytes of 0 sent package(s) purged, 1 idempotency key(s) removed' })
  t.ok(await store.getPackageBytes(s.done.package.id))

  await store.transition(s.open.deliveries[1]!.id, 'completed', { cause: 'status 06', actor: 'peer:000.00.03.H26', statusCode: '06' })
  const r = await store.purge({ packageBytesDays: 365, actor: 'system:retention', at: NOW })
  t.equal(r.packageBytes.outgoing.packages, 3, 'done, status and now the formerly open one')
  t.match(await purgedCode(store.getPackageBytes(s.open.package.id)), { code: 'GW_ERR_STORE_PURGED' })
  t.ok(await store.getPackageBytes(s.dead.package.id), 'a dead letter waits for its own window')
  t.equal(await store.getPackageBytes(randomUUID()), undefined, 'unknown: still undefined')
})
