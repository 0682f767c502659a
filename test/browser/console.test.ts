/**
 * The operator console in a real browser: Debian's chromium (headless) driven by playwright-core, against a gateway
 * listening on 127.0.0.1 with a real SQLite store. Seeded through the API and the store: documents with timelines
 * (01, 03), an overdue delivery, a failed delivery, a rejected incoming package that verifies once replayed, and an
 * unparseable one. The walk is an operator's day at 1366×768: log in with a personal account, find a document by its
 * number, open its timeline and attachments, see the overdue ones, replay a dead letter with a note, check the
 * chain, log out; then a viewer's view. Everything read is checked to be Vietnamese, with one date format.
 * Screenshots go to test-output/browser/ (gitignored; the folder for CI to keep as an artefact).
 */
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { createHash } from 'node:crypto'
import { auth, buildTestApp, G22, H26, H29, KEYS, ROOT, sampleDocument, STC } from '../helper.js'
import { hashPassword } from '../../src/passwords.js'

const CHROMIUM = process.env.LIENTHONG_CHROMIUM ?? '/usr/bin/chromium'
const SHOTS = path.join(ROOT, 'test-output', 'browser')

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the console browser test`)
} else {
  t.test('operator console: login, log filters, document timeline, overdue, dead-letter replay, health', async (t) => {
    const { chromium } = await import('playwright-core')
    // personal accounts: minh (operator) does the day's work, lan (viewer) only looks; ops is a tool's API key
    const quick = { ln: 10, r: 8, p: 1 }
    const operators = [
      { id: 'minh', name: 'Trần Văn Minh', role: 'operator', passwordHash: await hashPassword('minh-van-hanh-2026', quick) },
      { id: 'lan', name: 'Nguyễn Thị Lan', role: 'viewer', passwordHash: await hashPassword('lan-chi-xem-2026', quick) },
      { id: 'ops', keySha256: createHash('sha256').update(KEYS.ops).digest('hex') },
    ]
    const { app, store } = await buildTestApp(t, { config: { operators } })
    const send = async (doc: unknown, key: string = KEYS.g22) => {
      const r = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(key), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
      t.equal(r.statusCode, 202, r.body)
      return r.json()
    }

    // ---- seed ----
    // older operator notes first, so that the log needs a second page
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000)
    for (let i = 1; i <= 45; i++) {
      await store.appendEvent({ direction: 'out', type: 'note', actor: 'operator:ops', sender: G22, cause: `Ghi chú vận hành số ${i}`, at: tenDaysAgo })
    }
    const report = await send(sampleDocument({ subject: 'Báo cáo tình hình kinh tế - xã hội tháng 11' }))
    const [dReport] = await store.getDeliveries(report.id)
    await store.markQueued(dReport!.id)
    await store.transition(dReport!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01', detail: { description: 'Đã đến' } })
    await store.transition(dReport!.id, 'registered', { cause: 'status 03 from peer', actor: `peer:${H29}`, statusCode: '03', detail: { staff: 'Trần Thị B, Văn thư' } })
    // a repeated 01 after 03: kept for the record, state unchanged
    await store.transition(dReport!.id, 'delivered', { cause: 'status 01 from peer', actor: `peer:${H29}`, statusCode: '01' })

    const plan = await send(
      sampleDocument({
        subject: 'Kế hoạch chuyển đổi số năm 2027',
        recipients: [
          { organId: H29, name: 'UBND TP HCM', organizationInCharge: 'Chính phủ' },
          { organId: STC, name: 'Sở Tài chính TP HCM', organizationInCharge: 'UBND TP HCM' },
        ],
      }),
    )
    const dPlan = await store.getDeliveries(plan.id)
    for (const d of dPlan) await store.markQueued(d.id, new Date(Date.now() - 6 * 86_400_000)) // overdue: no 01 for 6 days

    const hostile = '<img src=x onerror="window.__pwned=1"> Giấy mời "họp" & <b>giao ban</b>'
    const invite = await send(sampleDocument({ subject: hostile, recipients: [{ organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'Chính phủ' }] }), KEYS.stc)
    const [dInvite] = await store.getDeliveries(invite.id)
    await store.markFailed(dInvite!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient 000.00.00.H26', 'system')

    // a real package signed by H29 for G22, stored as rejected (trust anchor was missing at the time)
    const proposal = await send(sampleDocument({ subject: 'Tờ trình dự án đường sắt đô thị', recipients: [{ organId: G22, name: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' }] }), KEYS.h29)
    const pkg = (await store.getPackage(proposal.id))!
    const bytes = (await store.getPackageBytes(proposal.id))!
    const incomingId = randomUUID()
    await store.recordIncoming({
      package: {
        id: incomingId,
        kind: 'edoc',
        documentId: pkg.documentId,
        senderOrganId: H29,
        recipient: G22,
        messageId: proposal.id,
        bytes: bytes.bytes,
        signature: bytes.signature,
        sha256: pkg.sha256,
        ...(pkg.subject ? { subject: pkg.subject } : {}),
        ...(pkg.codeNumber ? { codeNumber: pkg.codeNumber } : {}),
        ...(pkg.codeNotation ? { codeNotation: pkg.codeNotation } : {}),
        verdict: { ok: false, code: 'UNTRUSTED_CHAIN', message: 'the chain does not end at a trust anchor' },
      },
      state: 'rejected',
      reason: 'UNTRUSTED_CHAIN: the chain does not end at a trust anchor',
      actor: `peer:${H29}`,
    })
    // and one that can never pass (not edXML)
    const junkId = randomUUID()
    await store.recordIncoming({
      package: {
        id: junkId,
        kind: 'unknown',
        senderOrganId: H26,
        recipient: STC,
        bytes: Buffer.from('not xml at all'),
        sha256: 'cd'.repeat(32),
        verdict: { ok: false, code: 'GW_ERR_ENVELOPE_NOT_XML', message: 'the package is not XML' },
      },
      state: 'rejected',
      reason: 'GW_ERR_ENVELOPE_NOT_XML: the package is not XML',
      actor: `peer:${H26}`,
    })

    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new TypeError('no TCP address')
    const base = `http://127.0.0.1:${address.port}`

    // ---- browser ----
    mkdirSync(SHOTS, { recursive: true })
    const profile = path.join(t.testdir({}), 'chromium-profile')
    const context: BrowserContext = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1366, height: 768 }, // the operator's usual laptop screen
      locale: 'vi-VN',
      timezoneId: 'Asia/Ho_Chi_Minh',
    })
    t.teardown(() => context.close())
    const page: Page = context.pages()[0] ?? (await context.newPage())
    /** The gateway's English words that must never be what an operator reads (tooltips and closed folds aside). */
    const ENGLISH = /\b(delivered|accepted|queued|rejected|failed|received|registered|arrived|broker|verified|replayed|discarded|publish|trust anchor|not found|unauthorized)\b/i
    const readsVietnamese = async (where: string) => t.notMatch(await page.locator('#main').innerText(), ENGLISH, `${where}: no English to read`)
    page.setDefaultTimeout(15_000)
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('console', (m) => {
      // the wrong and the DMS key are expected to be refused (the browser logs those 401/403 responses)
      if (m.type() === 'error' && !/status of 40[13] /.test(m.text())) pageErrors.push(m.text())
    })
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })

    await page.goto(`${base}/console`)
    await page.getByRole('heading', { name: /Đăng nhập vận hành/ }).waitFor()
    t.equal(await page.locator('#nav').isVisible(), false, 'no navigation before login')

    // a wrong password, then a DMS key in the key fold, then minh's own account
    const loginError = page.locator('#login-error')
    await page.getByLabel('Tên đăng nhập').fill('minh')
    await page.getByLabel('Mật khẩu').fill('not-the-password')
    await page.getByRole('button', { name: 'Đăng nhập', exact: true }).click()
    await loginError.filter({ hasText: 'Sai tên đăng nhập hoặc mật khẩu' }).waitFor()
    t.match(await loginError.textContent(), /GW_ERR_API_LOGIN_FAILED/, 'wrong password: Vietnamese message with the code')
    t.equal(await page.getByLabel('Mật khẩu').getAttribute('aria-invalid'), 'true')
    await shot('01-login-wrong-password')
    t.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('lienthong.operatorKey')), null, 'nothing kept')

    await page.getByText('Đăng nhập bằng khóa API vận hành').click()
    await page.getByLabel('Khóa vận hành').fill(KEYS.g22)
    await page.getByRole('button', { name: 'Đăng nhập bằng khóa' }).click()
    await loginError.filter({ hasText: 'không phải khóa vận hành' }).waitFor()
    await page.getByText('Đăng nhập bằng khóa API vận hành').click() // close the fold again

    await page.getByLabel('Mật khẩu').fill('minh-van-hanh-2026')
    await page.getByRole('button', { name: 'Đăng nhập', exact: true }).click()
    await page.getByRole('heading', { name: /Nhật ký chuyển phát/ }).waitFor()
    await page.locator('#log-table tbody tr').first().waitFor()
    t.match(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('lienthong.operatorKey')), /^lts_/, 'the session token kept in sessionStorage')
    await page.locator('#whoami').filter({ hasText: 'Trần Văn Minh · vận hành' }).waitFor()
    const logRows = page.locator('#log-table tbody tr')
    const total = (await app.inject({ url: '/v1/log?limit=1000', headers: auth(KEYS.ops) })).json().items.length
    t.ok(total > 50, `${total} events: more than a page`)
    t.equal(await logRows.count(), 50, 'first page of the log')
    t.ok(await page.locator('#log-table').getByText('Đã đến (01)').first().isVisible(), 'Vietnamese state label with the code')
    t.ok(await page.locator('#log-table').getByText('Bị từ chối', { exact: true }).first().isVisible(), 'rejected incoming in the log')
    t.equal(await page.locator('#log-table .badge', { hasText: 'Đã đến (01)' }).first().getAttribute('title'), 'delivered', 'the English state name only as a tooltip')
    // Vietnamese only: what the operator reads (innerText leaves out tooltips and the closed "chi tiết kỹ thuật" folds)
    const visible = await page.locator('#main').innerText()
    t.notMatch(visible, /\b(delivered|accepted|queued|rejected|broker confirmed|signed and stored|status 0\d from peer|verified and stored|publish failed)\b/, 'no English state or cause on the log screen')
    t.notMatch(visible, /trục/, 'the local broker is not called "trục"')
    t.match(visible, /Đã ký số và lưu/, 'causes in Vietnamese')
    t.match(visible, /Văn phòng Chính phủ 000\.00\.00\.G22/, 'agencies by name beside their code')
    t.ok((await page.locator('#log-table details.tech').count()) > 0, 'the English cause kept in a fold')
    // one date format throughout: dd/MM/yyyy HH:mm
    const times = await page.locator('#main time').allTextContents()
    t.ok(times.length > 0 && times.every((x) => /^\d\d\/\d\d\/\d{4} \d\d:\d\d$/.test(x)), `dates as dd/MM/yyyy HH:mm (${times[0]})`)
    // the main column fits a 1366 px screen: no horizontal scrolling of the page
    const widths = await page.evaluate(() => ({ doc: (globalThis as any).document.documentElement.scrollWidth, main: (globalThis as any).document.getElementById('main').getBoundingClientRect().right }))
    t.ok(widths.doc <= 1366 && widths.main <= 1366, `page ${widths.doc} px, main column ends at ${widths.main} px`)
    // data from the API is text, never markup
    t.equal(await page.locator('#log-table img').count(), 0, 'no element injected by a subject')
    await shot('02-log')
    // cursor paging
    const more = page.getByRole('button', { name: /Xem thêm/ })
    await more.click()
    await page.getByRole('status').filter({ hasText: `Đang hiển thị ${total} sự kiện` }).waitFor()
    t.equal(await logRows.count(), total, 'second page appended')
    t.equal(await more.isVisible(), false, 'no more pages')
    t.match(await logRows.last().textContent(), /Ghi chú vận hành số 1(?!\d)/, 'oldest event last')
    t.same(
      await logRows.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))),
      Array.from({ length: total }, (_, i) => total - i),
      'every seq once, newest first',
    )

    // time range (Vietnam time in the form): the old notes drop out
    const vnLocal = (d: Date) => new Date(d.getTime() + 7 * 3_600_000).toISOString().slice(0, 19)
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000)
    const recent = (await app.inject({ url: `/v1/log?limit=1000&since=${encodeURIComponent(threeDaysAgo.toISOString())}`, headers: auth(KEYS.ops) })).json().items.length
    t.equal(recent, total - 45 - 2, 'the API agrees: without the 45 notes and the 2 queued events of 6 days ago')
    await page.getByLabel(/Từ lúc/).fill(vnLocal(threeDaysAgo))
    await page.getByRole('button', { name: 'Lọc', exact: true }).click()
    await page.getByRole('status').filter({ hasText: `Đang hiển thị ${recent} sự kiện` }).waitFor()
    t.match(decodeURIComponent(await page.evaluate(() => (globalThis as any).location.hash as string)), /since=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00/, 'since sent with the Vietnam offset')
    await page.getByLabel(/Đến trước/).fill(vnLocal(new Date(Date.now() - 2 * 86_400_000)))
    await page.getByRole('button', { name: 'Lọc', exact: true }).click()
    await page.getByRole('status').filter({ hasText: 'Không có sự kiện nào khớp bộ lọc' }).waitFor()
    await page.getByRole('button', { name: 'Xóa bộ lọc' }).click()
    await page.waitForFunction(() => (globalThis as any).location.hash === '#/log')
    await page.getByRole('status').filter({ hasText: 'Đang hiển thị 50 sự kiện' }).waitFor()
    t.equal(await page.getByLabel(/Từ lúc/).inputValue(), '', 'reset clears the form')

    // filter: accent-insensitive text + direction
    await page.getByLabel(/Trích yếu hoặc số\/ký hiệu/).fill('tinh hinh kinh te')
    await page.getByLabel(/^Chiều/).selectOption('out')
    await page.getByRole('button', { name: 'Lọc', exact: true }).click()
    await page.waitForFunction(() => /#\/log\?.*q=/.test((globalThis as any).location.hash))
    await page.getByRole('status').filter({ hasText: /Đang hiển thị 5 sự kiện/ }).waitFor()
    const docCells = await page.locator('#log-table tbody tr td.doc').allTextContents()
    t.same([...new Set(docCells)], [report.documentId], 'only the report’s events (accepted, queued, 01, 03, repeated 01)')
    t.ok(await page.getByText('không đổi trạng thái').first().isVisible(), 'the repeated 01 is marked as not changing the state')
    const exportHref = await page.locator('#log-export').getAttribute('href')
    t.match(exportHref, /^\/v1\/log\/export\.csv\?.*q=tinh\+hinh\+kinh\+te/, 'CSV export carries the filters')
    await shot('03-log-filtered')

    // CSV export through the page (Bearer header, downloaded as a file)
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#log-export').click()])
    t.match(download.suggestedFilename(), /^lienthong-log-.*\.csv$/)
    const csvPath = path.join(SHOTS, 'export.csv')
    await download.saveAs(csvPath)
    const { readFileSync } = await import('node:fs')
    const csv = readFileSync(csvPath, 'utf8')
    t.equal(csv.trim().split('\r\n').length, 1 + 5, 'header + the 5 filtered rows')

    // filter by agency and DocumentId fields too
    await page.getByRole('button', { name: 'Xóa bộ lọc' }).click()
    await page.waitForFunction(() => (globalThis as any).location.hash === '#/log')
    await page.getByLabel(/Mã văn bản/).fill(invite.documentId)
    await page.getByRole('button', { name: 'Lọc', exact: true }).click()
    await page.getByRole('status').filter({ hasText: /Đang hiển thị 2 sự kiện/ }).waitFor()
    t.ok(await page.locator('#log-table').getByText('Lỗi', { exact: true }).isVisible(), 'failed delivery of the invitation')
    t.match(await page.locator('#log-table').innerText(), /Không có hàng đợi nào nhận gói cho cơ quan này \(GW_ERR_TRANSPORT_UNROUTABLE\)/, 'the failure as a Vietnamese label plus the code')

    // find a document by its number (số/ký hiệu), open it from the log: its per-recipient timeline
    await page.getByLabel(/Mã văn bản/).fill('')
    await page.getByLabel(/Trích yếu hoặc số\/ký hiệu/).fill(report.documentId.split(',').at(-1)!)
    await page.getByRole('button', { name: 'Lọc', exact: true }).click()
    await page.getByRole('status').filter({ hasText: /Đang hiển thị 5 sự kiện/ }).waitFor()
    await page.locator('#log-table tbody tr').first().getByRole('link').click()
    await page.getByRole('heading', { name: /Văn bản gửi đi/ }).waitFor()
    const delivery = page.getByRole('region', { name: `Nơi nhận ${H29}` })
    await delivery.waitFor()
    t.ok(await delivery.getByText('Đã tiếp nhận (03)').first().isVisible(), 'current state 03')
    t.match(await delivery.locator('h3').innerText(), /Ủy ban nhân dân Thành phố Hồ Chí Minh/, 'the recipient by name')
    const timelineRows = delivery.locator('tbody tr')
    t.equal(await timelineRows.count(), 5, 'accepted, queued, 01, 03, repeated 01')
    t.match(await timelineRows.nth(0).textContent(), /Đã nhận từ DMS/)
    t.match(await timelineRows.nth(2).textContent(), /Đã đến \(01\)/)
    t.match(await timelineRows.nth(2).innerText(), /↘ Nhận từ Ủy ban nhân dân Thành phố Hồ Chí Minh \(000\.00\.00\.H29\)/, 'a status that came in: received from the peer')
    t.match(await timelineRows.nth(3).textContent(), /Trần Thị B, Văn thư/)
    t.match(await page.locator('#doc-body').textContent(), new RegExp(report.documentId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    const docText = await page.locator('#doc-body').innerText()
    t.notMatch(docText, /[{}"]\w+"?:/, 'no raw JSON in the timeline')
    t.match(docText, /Loại văn bản\s+Công văn/, 'document type')
    t.match(docText, /Người ký\s+KT\. BỘ TRƯỞNG Thứ trưởng Nguyễn Văn A/, 'signer')
    t.match(docText, /Tệp đính kèm\s+cong-van\.pdf/, 'attachments listed')
    const [pdfDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Tải về: cong-van.pdf' }).click()])
    t.equal(pdfDownload.suggestedFilename(), 'cong-van.pdf', 'an attachment downloads with the session credentials')
    const docWidth = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)
    t.ok(docWidth <= 1366, `document page fits 1366 px (${docWidth})`)
    await readsVietnamese('document page')
    await shot('04-document')

    // overdue list
    await page.getByRole('link', { name: /Quá hạn/ }).click()
    await page.locator('#overdue-table tbody tr').first().waitFor()
    t.equal(await page.locator('#overdue-table tbody tr').count(), 2, 'both recipients of the plan are overdue')
    t.match(await page.locator('#overdue-table').textContent(), /Kế hoạch chuyển đổi số năm 2027/)
    t.match(await page.locator('#overdue-body').innerText(), /Quy định về hạn: trước 17:00 .* ngày làm việc kế tiếp/, 'the due rule in Vietnamese')
    t.match(await page.locator('#overdue-table').innerText(), /Sở Tài chính Thành phố Hồ Chí Minh 000\.00\.11\.H29/, 'recipients by name')
    await readsVietnamese('overdue')
    await shot('05-overdue')

    // dead letters: replay the rejected package (now verifiable), see it leave the list
    await page.getByRole('link', { name: /Gói lỗi/ }).click()
    const deadRows = page.locator('#dead-table tbody tr')
    await deadRows.first().waitFor()
    t.equal(await deadRows.count(), 3, 'two rejected incoming packages and one failed delivery')
    t.equal(await page.locator('#dead-table img').count(), 0, 'hostile subject shown as text')
    t.ok(await page.locator('#dead-table').getByText(hostile).isVisible(), 'hostile subject shown literally')
    await readsVietnamese('dead letters')
    await shot('06-dead-letters')
    const row = page.locator(`#dead-table tr[data-id="${incomingId}"]`)
    t.match(await row.textContent(), /Chứng thư không được tin cậy \(UNTRUSTED_CHAIN\)/)
    t.match(await row.innerText(), /Cách khắc phục: Thêm chứng thư CA/, 'what to do, in Vietnamese')
    t.match(await row.innerText(), /Ủy ban nhân dân Thành phố Hồ Chí Minh/, 'the sender by name')
    await row.getByRole('button', { name: /Gửi lại/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    t.match(await dialog.textContent(), /kiểm tra lại chữ ký/)
    await shot('07-confirm-replay')
    // cancelling does nothing
    await dialog.getByRole('button', { name: 'Thôi' }).click()
    await dialog.waitFor({ state: 'hidden' })
    t.equal((await store.getIncoming(incomingId))?.state, 'rejected', 'cancel: nothing replayed')
    await row.getByRole('button', { name: /Gửi lại/ }).click()
    await dialog.getByLabel(/Ghi chú/).fill('Đã thêm CA của UBND TP HCM vào danh sách tin cậy')
    await dialog.getByRole('button', { name: 'Gửi lại' }).click()
    await page.locator('#dead-result').filter({ hasText: 'Đã gửi lại' }).waitFor()
    await row.waitFor({ state: 'detached' })
    t.equal(await deadRows.count(), 2, 'the replayed package left the list')
    t.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.id), 'dead-result', 'keyboard focus on the result')
    t.match(await page.locator('#dead-result').textContent(), /trạng thái mới Đã nhận về, chữ ký hợp lệ/)
    t.equal((await store.getIncoming(incomingId))?.state, 'arrived', 'stored as arrived')
    const replayEvent = (await store.listEvents({ limit: 5, packageId: incomingId })).items[0]
    t.match(replayEvent, { type: 'replayed', actor: 'operator:minh', state: 'arrived', detail: { note: 'Đã thêm CA của UBND TP HCM vào danh sách tin cậy' } }, 'logged with the operator and the note')
    await shot('08-dead-letters-after-replay')

    // replaying the unparseable one fails and says why; it stays in the list
    const junkRow = page.locator(`#dead-table tr[data-id="${junkId}"]`)
    await junkRow.getByRole('button', { name: /Gửi lại/ }).click()
    await dialog.getByRole('button', { name: 'Gửi lại' }).click()
    await page.locator('#dead-result.err').filter({ hasText: 'Gửi lại không thành' }).waitFor()
    t.match(await page.locator('#dead-result').textContent(), /vẫn bị từ chối — Gói tin không phải XML hợp lệ \(GW_ERR_ENVELOPE_NOT_XML\)/)
    await junkRow.waitFor()
    t.equal(await deadRows.count(), 2, 'still listed')
    await shot('08b-replay-still-rejected')

    // discard it, with a note
    await junkRow.getByRole('button', { name: /Hủy bỏ/ }).click()
    await dialog.getByLabel(/Ghi chú/).fill('Gói rác, đã báo bên gửi')
    await dialog.getByRole('button', { name: 'Hủy bỏ' }).click()
    await page.locator('#dead-result').filter({ hasText: 'Đã hủy bỏ' }).waitFor()
    await junkRow.waitFor({ state: 'detached' })
    t.equal((await store.getIncoming(junkId))?.state, 'discarded')

    // the replayed package's detail: verdict and timeline
    await page.goto(`${base}/console#/doc/${incomingId}?dir=in`)
    await page.getByRole('heading', { name: /Văn bản nhận về/ }).waitFor()
    await page.locator('#doc-body').getByText('Vận hành gửi lại').first().waitFor()
    t.match(await page.locator('#doc-body').textContent(), /Tờ trình dự án đường sắt đô thị/)
    t.match(await page.locator('#doc-body').innerText(), /Ghi chú\s+Đã thêm CA của UBND TP HCM/, 'the replay note on the document page')
    t.match(
      await page.locator('#doc-body').innerText(),
      /Kết luận theo ETSI EN 319 102-1\s+Chưa xác định được: không dựng được chuỗi chứng thư đến tổ chức được tin cậy — INDETERMINATE \/ NO_CERTIFICATE_CHAIN_FOUND/,
      'the verdict\'s ETSI indication on one line: Vietnamese, then the ETSI terms',
    )
    await readsVietnamese('incoming document page')
    await shot('09-incoming-document')

    // health
    await page.getByRole('link', { name: /Tình trạng/ }).click()
    await page.getByRole('heading', { name: /Chứng thư ký/ }).waitFor()
    const health = await page.locator('#health-body').textContent()
    t.match(health, /Đã kết nối/, 'broker state')
    for (const id of [G22, H29, STC]) t.match(health, new RegExp(id.replace(/\./g, '\\.')), `certificate of ${id}`)
    t.match(health, /\d+ ngày/, 'days to expiry')
    // the trust watch: every own certificate, anchor and CRL with its days left, in Vietnamese
    t.match(health, /Hạn của chứng thư và danh sách CRL/, 'the trust watch section')
    t.match(health, /Chứng thư gốc tin cậy/, 'the trust anchor listed')
    t.match(health, /Danh sách chứng thư bị chấm dứt hiệu lực \(CRL, tệp\)/, 'the CRL file listed')
    await readsVietnamese('health page')
    await page.getByRole('button', { name: 'Kiểm tra chuỗi băm nhật ký' }).click()
    await page.getByText(/Chuỗi nguyên vẹn/).waitFor()
    await shot('10-health')

    // logging out ends the session on the gateway and forgets the token
    const token = await page.evaluate(() => (globalThis as any).sessionStorage.getItem('lienthong.operatorKey') as string)
    await page.getByRole('button', { name: 'Đăng xuất' }).click()
    await page.getByRole('heading', { name: /Đăng nhập vận hành/ }).waitFor()
    t.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('lienthong.operatorKey')), null)
    t.match((await app.inject({ url: '/v1/log?limit=1', headers: auth(token) })).json(), { code: 'GW_ERR_API_SESSION_EXPIRED' }, 'the token no longer works')

    // a viewer sees the dead letters but is offered no action
    await page.getByLabel('Tên đăng nhập').fill('lan')
    await page.getByLabel('Mật khẩu').fill('lan-chi-xem-2026')
    await page.getByRole('button', { name: 'Đăng nhập', exact: true }).click()
    await page.locator('#whoami').filter({ hasText: 'Nguyễn Thị Lan · chỉ xem' }).waitFor()
    await page.getByRole('link', { name: /Gói lỗi/ }).click()
    await page.locator('#dead-table tbody tr').first().waitFor()
    t.equal(await page.locator('#dead-table button').count(), 0, 'no replay or discard button for a viewer')
    t.match(await page.locator('#dead-table').innerText(), /Vai trò chỉ xem/)
    await shot('11-viewer-dead-letters')

    t.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined, 'no script ran from API data')
    t.same(pageErrors, [], 'no errors in the page')
  })
}
