import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { canonicalRow, type ChainRow } from '../../src/store/index.js'
import { auth, buildTestApp, G22, H26, H29, KEYS, ROOT, sampleDocument, STC } from '../helper.js'

const send = (app: any, doc: unknown, key: string = KEYS.g22) =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })

/** A gateway with some traffic: 3 documents from G22 (one to two recipients), 1 from STC, a failure, a rejected incoming. */
async function withTraffic(t: any) {
  const ctx = await buildTestApp(t)
  const { app, store } = ctx
  const a = (await send(app, sampleDocument({ subject: 'Báo cáo tình hình kinh tế - xã hội tháng 11' }))).json()
  const b = (await send(app, sampleDocument({ subject: 'Kế hoạch chuyển đổi số', recipients: [{ organId: H29, name: 'UBND', organizationInCharge: 'CP' }, { organId: H26, name: 'UBND HN', organizationInCharge: 'CP' }] }))).json()
  const c = (await send(app, sampleDocument({ subject: 'Giấy mời họp "giao ban", quý IV\nđịa điểm: Hà Nội' }), KEYS.stc)).json()
  const pb = await store.getDeliveries(b.id)
  await store.markQueued(pb[0]!.id)
  await store.markFailed(pb[1]!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient 000.00.00.H26', 'system')
  const incomingId = randomUUID()
  await store.recordIncoming({
    package: {
      id: incomingId,
      kind: 'edoc',
      documentId: `${H26},2026/11/25,77/BC-UBND`,
      senderOrganId: H26,
      recipient: G22,
      bytes: Buffer.from('<edXML/>'),
      sha256: 'ab'.repeat(32),
      subject: 'Báo cáo kết quả thanh tra',
      codeNumber: '77',
      codeNotation: 'BC-UBND',
      verdict: { ok: false, code: 'UNTRUSTED_CHAIN', message: 'no path to a trust anchor' },
    },
    state: 'rejected',
    reason: 'UNTRUSTED_CHAIN: no path to a trust anchor',
    actor: `peer:${H26}`,
  })
  return { ...ctx, a, b, c, incomingId, failedDelivery: pb[1]!.id }
}

const get = (app: any, url: string, key: string = KEYS.ops) => app.inject({ url, headers: auth(key) })

t.test('GET /v1/log: operator keys only; newest first; every pipeline event with actor and direction', async (t) => {
  const { app, a, b, incomingId } = await withTraffic(t)
  t.equal((await app.inject({ url: '/v1/log' })).statusCode, 401)
  const asClient = await get(app, '/v1/log', KEYS.g22)
  t.equal(asClient.statusCode, 403)
  t.equal(asClient.json().code, 'GW_ERR_API_FORBIDDEN')
  const res = await get(app, '/v1/log')
  t.equal(res.statusCode, 200, res.body)
  const items = res.json().items
  t.equal(items.length, 7, '4 accepted (one per delivery) + queued + failed + rejected')
  t.same(items.map((e: any) => e.seq), [7, 6, 5, 4, 3, 2, 1], 'newest first, gapless')
  t.match(items[0], { direction: 'in', type: 'state', state: 'rejected', actor: `peer:${H26}`, packageId: incomingId, recipient: G22, detail: { verdict: 'UNTRUSTED_CHAIN' } })
  t.match(items[1], { direction: 'out', state: 'failed', actor: 'system', fromState: 'accepted', detail: { reason: /UNROUTABLE/ } })
  t.match(items[2], { direction: 'out', state: 'queued', actor: 'system', packageId: b.id })
  const accepted = items.filter((e: any) => e.state === 'accepted')
  t.equal(accepted.length, 4)
  t.ok(accepted.every((e: any) => /^client:dms-/.test(e.actor) && e.direction === 'out' && e.cause === 'signed and stored'))
  t.ok(items.every((e: any) => /^[0-9a-f]{64}$/.test(e.hash) && /^[0-9a-f]{64}$/.test(e.prevHash)))
  for (let i = 0; i < items.length - 1; i++) t.equal(items[i].prevHash, items[i + 1].hash, `row ${items[i].seq} chains to ${items[i + 1].seq}`)
  t.equal(items[6].prevHash, '0'.repeat(64))
  t.equal(items.find((e: any) => e.packageId === a.id).documentId, a.documentId)
})

t.test('GET /v1/log filters: agency, direction, state, type, q (accent-insensitive), DocumentId, time range; cursor pages', async (t) => {
  const { app, a, b, c, incomingId } = await withTraffic(t)
  const seqs = async (qs: string) => {
    const r = await get(app, `/v1/log?${qs}`)
    t.equal(r.statusCode, 200, `${qs}: ${r.body}`)
    return r.json().items.map((e: any) => e.seq)
  }
  t.same(await seqs(`agency=${STC}`), [4], 'STC as sender')
  t.same(await seqs(`agency=${H26.toLowerCase()}`), [7, 6, 3], 'agency is case-insensitive')
  t.same(await seqs(`agency=${H26}`), [7, 6, 3], 'H26 as recipient (accepted, failed) and as sender (rejected incoming)')
  t.same(await seqs(`agency=${G22}&direction=in`), [7], 'G22 receiving')
  t.same(await seqs('direction=in'), [7])
  t.same(await seqs('state=failed'), [6])
  t.same(await seqs('type=state&state=queued'), [5])
  t.same(await seqs(`q=${encodeURIComponent('bao cao')}`), [7, 1], '"bao cao" finds "Báo cáo" in outgoing and incoming subjects')
  t.same(await seqs(`q=${encodeURIComponent('CHUYỂN ĐỔI')}`), [6, 5, 3, 2], 'upper case with accents')
  t.same(await seqs(`q=${encodeURIComponent('77/bc-ubnd')}`), [7], 'number/notation')
  t.same(await seqs(`q=${encodeURIComponent('100%_x')}`), [], 'LIKE wildcards are literal')
  t.same(await seqs(`q=${encodeURIComponent('bc')}`), [7], 'two letters (shorter than a trigram)')
  t.same(await seqs(`q=${encodeURIComponent('số')}`), [6, 5, 3, 2], 'a short accented word')
  t.same(await seqs(`q=${encodeURIComponent('*?[x]')}`), [], 'GLOB characters are literal')
  t.same(await seqs(`documentId=${encodeURIComponent(b.documentId)}`), [6, 5, 3, 2])
  t.same(await seqs(`packageId=${incomingId}`), [7])
  const all = (await get(app, '/v1/log')).json().items
  const t4 = all.find((e: any) => e.seq === 4).time
  t.same(await seqs(`since=${encodeURIComponent(t4)}&packageId=${c.id}`), [4])
  t.same(await seqs(`until=${encodeURIComponent(all.find((e: any) => e.seq === 2).time)}`).then((s: number[]) => s.every((x) => x <= 2)), true, 'until is exclusive and bounds')
  t.same(await seqs(`since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`), [])
  // pages of 3: no duplicates, nothing skipped, newest first
  const got: number[] = []
  let cursor: string | undefined
  for (let i = 0; i < 10; i++) {
    const r = (await get(app, `/v1/log?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json()
    got.push(...r.items.map((e: any) => e.seq))
    cursor = r.next
    if (!cursor) break
  }
  t.same(got, [7, 6, 5, 4, 3, 2, 1])
  const bad = await get(app, '/v1/log?cursor=garbage')
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'GW_ERR_STORE_INVALID_CURSOR')
  const badDate = await get(app, '/v1/log?since=yesterday')
  t.equal(badDate.statusCode, 400)
  t.equal(badDate.json().code, 'GW_ERR_API_VALIDATION')
  const badDir = await get(app, '/v1/log?direction=sideways')
  t.equal(badDir.statusCode, 400)
  void a
})

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  const endField = () => {
    row.push(field)
    field = ''
  }
  while (i < text.length) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
      } else if (ch === '"') {
        quoted = false
        i++
      } else {
        field += ch
        i++
      }
    } else if (ch === '"') {
      quoted = true
      i++
    } else if (ch === ',') {
      endField()
      i++
    } else if (ch === '\r' && text[i + 1] === '\n') {
      endField()
      rows.push(row)
      row = []
      i += 2
    } else {
      field += ch
      i++
    }
  }
  if (field !== '' || row.length) {
    endField()
    rows.push(row)
  }
  return rows
}

t.test('GET /v1/log/export.csv: BOM, header, RFC 4180 quoting, same filters; every row re-hashes to its hash column', async (t) => {
  const { app } = await withTraffic(t)
  t.equal((await get(app, '/v1/log/export.csv', KEYS.h29)).statusCode, 403)
  const res = await get(app, '/v1/log/export.csv')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/)
  t.match(res.headers['content-disposition'], /^attachment; filename="lienthong-log-\d{8}T\d{6}Z\.csv"$/)
  const raw = res.rawPayload as Buffer
  t.same([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM')
  const rows = parseCsv(raw.toString('utf8').slice(1))
  t.same(rows[0], ['seq', 'time', 'direction', 'type', 'package_id', 'delivery_id', 'document_id', 'sender', 'recipient', 'actor', 'from_state', 'state', 'changed', 'status_code', 'cause', 'detail', 'prev_hash', 'hash'])
  t.equal(rows.length, 8, 'header + 7 events')
  const api = (await get(app, '/v1/log')).json().items
  for (const [k, r] of rows.slice(1).entries()) {
    const o = Object.fromEntries(rows[0]!.map((h, j) => [h, r[j] === '' ? null : r[j]!])) as Record<string, string | null>
    t.equal(Number(o.seq), api[k].seq)
    const chain: ChainRow = {
      seq: Number(o.seq),
      time: o.time!,
      direction: o.direction!,
      type: o.type!,
      package_id: o.package_id ?? null,
      delivery_id: o.delivery_id ?? null,
      document_id: o.document_id ?? null,
      sender: o.sender ?? null,
      recipient: o.recipient ?? null,
      actor: o.actor!,
      from_state: o.from_state ?? null,
      state: o.state ?? null,
      changed: Number(o.changed),
      status_code: o.status_code ?? null,
      cause: o.cause ?? null,
      detail: o.detail!,
      prev_hash: o.prev_hash!,
    }
    const { createHash } = await import('node:crypto')
    t.equal(createHash('sha256').update(canonicalRow(chain), 'utf8').digest('hex'), o.hash, `CSV row seq ${o.seq} re-hashes`)
  }
  // filters apply, and max caps
  const failed = parseCsv((await get(app, '/v1/log/export.csv?state=failed')).body.slice(1))
  t.equal(failed.length, 2)
  t.equal(failed[1]![11], 'failed')
  t.match(failed[1]![15], /UNROUTABLE/)
  const two = parseCsv((await get(app, '/v1/log/export.csv?max=2&limit=1')).body.slice(1))
  t.equal(two.length, 3, 'header + 2 rows')
  const badCursor = await get(app, '/v1/log/export.csv?cursor=nope')
  t.equal(badCursor.statusCode, 400, 'a bad cursor fails before the CSV starts')
})

t.test('CSV quoting of quotes, commas and line breaks round-trips', async (t) => {
  const { app, store } = await buildTestApp(t)
  await store.appendEvent({ direction: 'out', type: 'note', actor: 'operator:ops', cause: 'He said "hi", then\r\nleft; Tiếng Việt: đã nhận', detail: { x: 'a,b' } })
  const rows = parseCsv((await get(app, '/v1/log/export.csv')).body.slice(1))
  t.equal(rows.length, 2)
  t.equal(rows[1]![14], 'He said "hi", then\r\nleft; Tiếng Việt: đã nhận')
  t.equal(rows[1]![15], '{"x":"a,b"}')
})

t.test('GET /v1/log/verify and `lienthong log verify`: intact, then a row changed through a raw connection is found', async (t) => {
  const { app, config, store } = await withTraffic(t)
  const ok = (await get(app, '/v1/log/verify')).json()
  t.match(ok, { ok: true, checked: 7, lastSeq: 7 })
  t.notOk(ok.firstBroken)
  t.equal((await get(app, '/v1/log/verify', KEYS.g22)).statusCode, 403)
  t.match((await get(app, '/v1/log/verify?fromSeq=3&toSeq=5')).json(), { ok: true, checked: 3, lastSeq: 5, fromSeq: 3, toSeq: 5 })
  t.equal((await get(app, '/v1/log/verify?fromSeq=5&toSeq=3')).statusCode, 400)

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'log', 'verify', '--store', config.store.path, ...args], { encoding: 'utf8', cwd: ROOT })
  const good = cli('--json')
  t.equal(good.status, 0, good.stderr)
  t.match(JSON.parse(good.stdout.trim()), { ok: true, checked: 7, lastSeq: 7 })
  const text = cli()
  t.equal(text.status, 0)
  t.match(text.stdout, /^INTACT: 7 rows checked/)

  // an attacker with the file: drops the append-only trigger and rewrites the failure reason of row 6
  const raw = new Database(config.store.path)
  raw.exec('DROP TRIGGER events_no_update')
  raw.prepare("UPDATE events SET cause = 'delivered fine' WHERE seq = 6").run()
  raw.close()
  const broken = (await get(app, '/v1/log/verify')).json()
  t.match(broken, { ok: false, checked: 5, lastSeq: 5, firstBroken: { seq: 6, reason: /row changed/ } })
  t.match((await get(app, '/v1/log/verify?toSeq=5')).json(), { ok: true, checked: 5 }, 'the range before it is intact')
  const bad = cli('--json')
  t.equal(bad.status, 1, 'exit 1 when broken')
  t.match(JSON.parse(bad.stdout.trim()), { ok: false, firstBroken: { seq: 6 } })
  t.match(cli().stdout, /^BROKEN at seq 6: row content does not match its hash/)
  t.equal(cli('--from', '1', '--to', '5').status, 0, 'a range before the edit is intact')

  // a deleted row (and the next one re-linked by hand) is reported as missing
  const raw2 = new Database(config.store.path)
  raw2.exec('DROP TRIGGER events_no_delete')
  raw2.prepare('DELETE FROM events WHERE seq = 3').run()
  raw2.close()
  t.match((await get(app, '/v1/log/verify')).json(), { ok: false, firstBroken: { seq: 3, reason: /missing \(deleted\)/ } })
  t.equal(cli('--store').status, 2, 'usage error')
  t.equal(spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'log', 'verify', '--store', '/nonexistent.sqlite'], { encoding: 'utf8', cwd: ROOT }).status, 2)
  void store
})

t.test('export.csv streams the whole log page by page (more rows than one store page), as a stream', async (t) => {
  const { app, store } = await buildTestApp(t)
  const writes: Promise<unknown>[] = []
  for (let i = 0; i < 2500; i++) writes.push(store.appendEvent({ direction: i % 2 ? 'in' : 'out', type: 'note', actor: 'system', cause: `row ${i}` }))
  await Promise.all(writes)
  const res = await app.inject({ url: '/v1/log/export.csv', headers: auth(KEYS.ops), payloadAsStream: true })
  t.equal(res.statusCode, 200)
  const chunks: Buffer[] = []
  for await (const c of res.stream()) chunks.push(Buffer.from(c))
  t.ok(chunks.length >= 3, `${chunks.length} chunks: written as the pages are read`)
  const rows = parseCsv(Buffer.concat(chunks).toString('utf8').slice(1))
  t.equal(rows.length, 2501)
  t.same(rows.slice(1).map((r) => Number(r[0])), Array.from({ length: 2500 }, (_, i) => 2500 - i), 'newest first, every row once')
  const half = parseCsv((await get(app, '/v1/log/export.csv?direction=in')).body.slice(1))
  t.equal(half.length, 1251)
})
