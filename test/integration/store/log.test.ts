// The hash-chained event log: verification, tamper detection, the canonical form as documented, log pages.
import t from 'tap'
import { createHash } from 'node:crypto'
import type { LogEvent } from '../../../src/store/types.js'
import { eachStore, outgoing } from './helpers.js'

/** The canonical form exactly as src/store/README.md states it, written independently of the store's code. */
function auditorHash(e: LogEvent): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v
  const n = (v: unknown): unknown => (v === undefined ? null : v)
  const text = JSON.stringify([
    'lienthong-log-v1',
    e.seq,
    e.time,
    e.direction,
    e.type,
    n(e.packageId),
    n(e.deliveryId),
    n(e.documentId),
    n(e.sender),
    n(e.recipient),
    e.actor,
    n(e.fromState),
    n(e.state),
    e.changed ? 1 : 0,
    n(e.statusCode),
    n(e.cause),
    JSON.stringify(sortKeys(e.detail)),
    e.prevHash,
  ])
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

async function fill(store: import('../../../src/store/index.js').Store): Promise<number> {
  for (let i = 0; i < 4; i++) {
    const r = await store.recordOutgoing(outgoing({ recipients: ['B', 'C'] }))
    await store.markQueued(r.deliveries[0]!.id)
    await store.transition(r.deliveries[0]!.id, 'delivered', { cause: 'status 01', actor: 'peer:B', statusCode: '01', detail: { z: 1, a: { y: 'ý', b: [2, 1] } } })
  }
  return (await store.stats()).events
}

eachStore(t, 'the chain verifies, and an auditor can recompute every hash from the README', async (t, { store }) => {
  const n = await fill(store)
  t.equal(n, 16)
  t.match(await store.verifyLog(), { ok: true, checked: 16, lastSeq: 16 })
  const events: LogEvent[] = []
  let cursor: string | undefined
  do {
    const page = await store.listEvents({ limit: 5, ...(cursor ? { cursor } : {}) })
    events.push(...page.items)
    cursor = page.next
  } while (cursor)
  t.same(
    events.map((e) => e.seq),
    Array.from({ length: 16 }, (_, i) => 16 - i),
    'log pages newest first, no gaps or duplicates',
  )
  events.reverse()
  t.equal(events[0]!.prevHash, '0'.repeat(64), 'genesis prev_hash')
  for (const [i, e] of events.entries()) {
    t.equal(auditorHash(e), e.hash, `seq ${e.seq} recomputed`)
    if (i > 0) t.equal(e.prevHash, events[i - 1]!.hash, `seq ${e.seq} links to ${e.seq - 1}`)
  }
  t.match(await store.verifyLog({ fromSeq: 5, toSeq: 9 }), { ok: true, checked: 5, lastSeq: 9 }, 'a range')
  t.match(await store.verifyLog({ fromSeq: 17 }), { ok: true, checked: 0 }, 'an empty range')
})

eachStore(t, 'a changed row is reported at its seq', async (t, s) => {
  await fill(s.store)
  await s.tamperUpdateEvent(7, 'status 06')
  t.same((await s.store.verifyLog()).firstBroken, { seq: 7, reason: 'row content does not match its hash (row changed)' })
  t.match(await s.store.verifyLog(), { ok: false, checked: 6 })
  t.match(await s.store.verifyLog({ fromSeq: 8 }), { ok: true }, 'a range after the change still verifies')
  t.match(await s.store.verifyLog({ fromSeq: 3, toSeq: 10 }), { ok: false, firstBroken: { seq: 7 } })
})

eachStore(t, 'a deleted row is reported', async (t, s) => {
  await fill(s.store)
  await s.tamperDeleteEvent(11)
  const v = await s.store.verifyLog()
  t.equal(v.ok, false)
  t.equal(v.firstBroken?.seq, 11)
  t.match(v.firstBroken?.reason, /row 11 missing/)
  t.equal(v.checked, 10)
  // the first row too
  await s.tamperDeleteEvent(1)
  t.match((await s.store.verifyLog()).firstBroken, { seq: 1, reason: /row 1 missing/ })
  t.match((await s.store.verifyLog({ fromSeq: 2, toSeq: 10 })).firstBroken, { seq: 1, reason: /missing/ }, 'the row before a range is checked too')
})

eachStore(t, 'the store refuses to change or delete events', async (t, s) => {
  await fill(s.store)
  // through the store there is no API for it; through the database the triggers refuse (see sqlite.test.ts / pg)
  const before = await s.store.verifyLog()
  await s.store.appendEvent({ direction: 'out', type: 'note', actor: 'operator:an', cause: 'checked by auditor', detail: { ticket: 12 } })
  const after = await s.store.verifyLog()
  t.equal(after.checked, before.checked + 1)
  t.equal(after.ok, true)
})

eachStore(t, 'listEvents filters: organ as sender or recipient, direction, state, type, document, text, time', async (t, { store }) => {
  const t0 = Date.parse('2026-11-26T00:00:00Z')
  const a = await store.recordOutgoing(outgoing({ package: { senderOrganId: 'S1', subject: 'Báo cáo tháng 10', codeNumber: '45', codeNotation: 'BC-STTTT' }, recipients: ['R1'], at: new Date(t0) }))
  const b = await store.recordOutgoing(outgoing({ package: { senderOrganId: 'S2', subject: 'Giấy mời họp', documentId: 'DOC-B' }, recipients: ['S1', 'R2'], at: new Date(t0 + 1000) }))
  await store.markQueued(a.deliveries[0]!.id, new Date(t0 + 2000))
  await store.markFailed(b.deliveries[1]!.id, 'unroutable', 'system', new Date(t0 + 3000))
  await store.recordIncoming({
    package: { id: '7f2c5a7e-0000-4000-8000-000000000001', kind: 'edoc', documentId: 'IN-1', senderOrganId: 'X9', recipient: 'S1', bytes: new Uint8Array([1, 2, 3]), sha256: 'abc', subject: 'Công văn đến', verdict: { ok: true, code: 'VALID' } },
    state: 'arrived',
    actor: 'peer:X9',
    at: new Date(t0 + 4000),
  })
  const seqs = async (f: Omit<Parameters<typeof store.listEvents>[0], 'limit'>): Promise<number[]> =>
    (await store.listEvents({ limit: 100, ...f })).items.map((e) => e.seq)

  t.same(await seqs({}), [6, 5, 4, 3, 2, 1])
  t.same(await seqs({ organId: 'S1' }), [6, 4, 2, 1], 'S1 as sender or as recipient')
  t.same(await seqs({ direction: 'in' }), [6])
  t.same(await seqs({ state: 'failed' }), [5])
  t.same(await seqs({ documentId: 'DOC-B' }), [5, 3, 2])
  t.same(await seqs({ packageId: a.package.id }), [4, 1])
  t.same(await seqs({ text: 'Báo cáo' }), [4, 1], 'text in subject')
  t.same(await seqs({ text: 'BÁO CÁO THÁNG' }), [4, 1], 'case-insensitive, Vietnamese included')
  t.same(await seqs({ text: 'bao cao' }), [4, 1], 'without diacritics')
  t.same(await seqs({ text: 'giay moi' }), [5, 3, 2])
  t.same(await seqs({ text: '45/bc-sttt' }), [4, 1], 'text in number/notation')
  t.same(await seqs({ text: 'đến' }), [6], 'incoming subjects too')
  t.same(await seqs({ text: 'den' }), [6])
  t.same(await seqs({ text: '%' }), [], 'LIKE wildcards are literal')
  t.same(await seqs({ since: new Date(t0 + 1000), until: new Date(t0 + 4000) }), [5, 4, 3, 2])
  t.same(await seqs({ organId: 'S1', direction: 'out', type: 'state' }), [4, 2, 1])

  const p1 = await store.listEvents({ limit: 2, organId: 'S1' })
  const p2 = await store.listEvents({ limit: 2, organId: 'S1', cursor: p1.next! })
  t.same([...p1.items, ...p2.items].map((e) => e.seq), [6, 4, 2, 1], 'organ filter pages')
  t.equal(p2.next, undefined)
})

for (const tuning of [{ textScanWindow: 3, textDenseMatches: 0 }, { textScanWindow: 0, textDenseMatches: 1000 }, { textScanWindow: 1000, textDenseMatches: 5 }]) {
eachStore(
  t,
  `text search, pages without gaps (${JSON.stringify(tuning)})`,
  async (t, { store }) => {
    const subjects = ['Giấy mời họp giao ban', 'Báo cáo quý', 'Báo cáo năm', 'Tờ trình [*?] đặc biệt']
    for (let i = 0; i < 24; i++) {
      const r = await store.recordOutgoing(outgoing({ package: { subject: subjects[i % 4] }, recipients: ['R'] }))
      if (i % 3 === 0) await store.markQueued(r.deliveries[0]!.id)
    }
    const all = (await store.listEvents({ limit: 1000 })).items
    const pkgSubject = new Map<string, string>()
    for (const p of (await store.listPackages({ limit: 1000 })).items) pkgSubject.set(p.id, p.subject!)
    const expect = (re: RegExp): number[] => all.filter((e) => re.test(pkgSubject.get(e.packageId!)!)).map((e) => e.seq)
    const walk = async (text: string, limit: number): Promise<number[]> => {
      const out: number[] = []
      let cursor: string | undefined
      do {
        const p = await store.listEvents({ text, limit, ...(cursor ? { cursor } : {}) })
        out.push(...p.items.map((e) => e.seq))
        cursor = p.next
      } while (cursor)
      return out
    }
    t.same(await walk('bao cao', 2), expect(/Báo cáo/), 'common words across the window')
    t.same(await walk('báo cáo năm', 3), expect(/năm/))
    t.same(await walk('GIAO BAN', 50), expect(/giao ban/))
    t.same(await walk('[*?]', 4), expect(/\[\*\?\]/), 'glob characters are literal')
    t.same(await walk('*', 4), expect(/\*/), 'a lone star is literal too')
    t.same(await walk('không có', 5), [])
  },
  tuning,
)
}

// `until` pages use a seq bound computed from the time index (sqlite-store untilBound); log times follow seq only
// roughly, so late rows with old times must still be found, page after page, exactly as a brute-force filter would.
eachStore(t, 'until pages over out-of-order times match a brute-force filter', async (t, s) => {
  const base = Date.parse('2026-01-01T00:00:00Z')
  const minute = 60_000
  // 100 events a minute apart, then 20 late ones carrying old times that decrease as seq grows (a clock set back,
  // a caller's `at`), then 400 more on time: the newest time before a bound is not the highest seq before it
  const note = (cause: string, at: number) => s.store.appendEvent({ direction: 'out', type: 'note', actor: 'system', cause, at: new Date(at) })
  for (let i = 0; i < 100; i++) await note(`on time ${i}`, base + i * minute)
  for (let i = 0; i < 20; i++) await note(`late ${i}`, base + (19 - i) * minute + 30_000)
  for (let i = 100; i < 500; i++) await note(`on time ${i}`, base + i * minute)
  const all: LogEvent[] = []
  for (let cursor: string | undefined, guard = 0; guard < 100; guard++) {
    const page = await s.store.listEvents({ limit: 200, ...(cursor ? { cursor } : {}) })
    all.push(...page.items)
    if (!page.next) break
    cursor = page.next
  }
  t.equal(all.length, 520, 'whole log read')
  for (const minutes of [0, 5, 10, 10.5, 25, 150, 450, 600]) {
    const until = new Date(base + minutes * minute)
    const expected = all.filter((e) => Date.parse(e.time) < until.getTime()).map((e) => e.seq)
    const got: number[] = []
    for (let cursor: string | undefined, guard = 0; guard < 100; guard++) {
      const page = await s.store.listEvents({ until, limit: 50, ...(cursor ? { cursor } : {}) })
      got.push(...page.items.map((e) => e.seq))
      if (!page.next) break
      cursor = page.next
    }
    t.same(got, expected, `until +${minutes} min: ${expected.length} events, newest first, none missed`)
  }
})
