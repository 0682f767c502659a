/**
 * The national axis in the operator console, in headless Chromium: the health screen shows the axis connector
 * (unreachable, the delivery waiting for it, the last error in Vietnamese) and the DMSs calling the gateway with the
 * VXP protocol (their agencies, their last call); once the axis answers, the document page's timeline shows the
 * delivery sent to the axis, not to the local broker. No secret on any screen. Screenshots in test-output/browser/.
 */
import { existsSync, mkdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { VxpClient } from '../../src/vxp/client.js'
import { auth, G22, H29, KEYS, ROOT, sampleDocument } from '../helper.js'
import { startVxpGateway, SYS_A, until } from '../vxp/helpers.js'

const CHROMIUM = process.env.LIENTHONG_CHROMIUM ?? '/usr/bin/chromium'
const SHOTS = path.join(ROOT, 'test-output', 'browser')
const AXIS_SECRET = 'axis-secret-never-on-screen-77d1'

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the console browser test`)
} else {
  t.test('the axis connector and the VXP systems on the health screen; a delivery via the axis on the document page', async (t) => {
    const { chromium } = await import('playwright-core')
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer()
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const gw = await startVxpGateway(
      t,
      {
        server: { systems: [SYS_A] },
        axis: { endpoint: `http://127.0.0.1:${port}/vxp`, systemId: 'lienthong.gw-a', secret: AXIS_SECRET, organIds: [G22], pollIntervalMs: 300, retryDelayMs: 150 },
        routes: [{ organIds: [H29], via: 'axis' }],
      },
      { only: [G22] },
    )
    const res = await gw.app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: sampleDocument() })
    t.equal(res.statusCode, 202, res.body)
    const id = res.json().id as string
    t.equal((await new VxpClient({ endpoint: `${gw.url}/vxp`, ...SYS_A }).getReceivedEdocList()).json?.status, 'OK', 'a VXP system calls once')
    await until(async () => {
      if (gw.gateway.axis?.status().state !== 'unreachable' || gw.gateway.axis.status().backlog !== 1) throw new Error('not yet')
    })

    mkdirSync(SHOTS, { recursive: true })
    const context: BrowserContext = await chromium.launchPersistentContext(path.join(t.testdir({}), 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1366, height: 768 },
      locale: 'vi-VN',
      timezoneId: 'Asia/Ho_Chi_Minh',
    })
    t.teardown(() => context.close())
    const page: Page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(15_000)
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })

    await page.goto(`${gw.url}/console`)
    await page.getByText('Đăng nhập bằng khóa API vận hành').click()
    await page.getByLabel('Khóa vận hành').fill(KEYS.ops)
    await page.getByRole('button', { name: 'Đăng nhập bằng khóa' }).click()
    await page.getByRole('heading', { name: /Nhật ký chuyển phát/ }).waitFor()

    // the health screen: the axis is down, one delivery waits for it
    await page.goto(`${gw.url}/console#/health`)
    await page.getByRole('heading', { name: 'Trục liên thông văn bản quốc gia', exact: true }).waitFor()
    const main = page.locator('#main')
    await page.locator('#axis-state').getByText('Không kết nối được').waitFor()
    t.equal((await page.locator('#axis-backlog .stat').innerText()).trim(), '1', 'one delivery waiting for the axis')
    let text = await main.innerText()
    t.match(text, /Không kết nối được trục liên thông văn bản quốc gia \(GW_ERR_VXP_AXIS_UNAVAILABLE\)/, 'the last error in Vietnamese with its code')
    t.match(text, new RegExp(`127\\.0\\.0\\.1:${port}/vxp`), 'the endpoint')
    t.match(text, /Lần lấy văn bản từ trục liên thông văn bản quốc gia gần nhất\s+chưa lấy được lần nào/, 'no poll answered yet')
    // the DMSs calling with the VXP protocol
    t.match(text, /Hệ thống DMS kết nối qua giao thức VXP/)
    const row = page.locator('tr', { hasText: SYS_A.systemId })
    t.match(await row.innerText(), /Văn phòng Chính phủ\s+000\.00\.00\.G22/, 'the system with its agency by name')
    t.match(await row.innerText(), /getReceivedEdocList/, 'its last call')
    t.match(await row.innerText(), /Thành công/, 'answered OK')
    const html = await page.content()
    t.notMatch(html, AXIS_SECRET, 'no axis secret on the page')
    t.notMatch(html, SYS_A.secret, 'no system secret on the page')
    await shot('axis-01-health-axis-down')

    // the axis comes up: the delivery goes, and the document page says it went through the axis
    await startVxpGateway(t, { server: { systems: [{ systemId: 'lienthong.gw-a', secret: AXIS_SECRET, organIds: [G22] }] } }, { only: [G22, H29], http: { port } })
    await until(async () => {
      const [d] = await gw.store.getDeliveries(id)
      if (d?.state !== 'delivered') throw new Error(`delivery is ${d?.state}`)
    }, 30_000)
    await page.getByRole('button', { name: 'Làm mới' }).click()
    await page.locator('#axis-state').getByText('Đã kết nối').waitFor()
    t.equal((await page.locator('#axis-backlog .stat').innerText()).trim(), '0', 'nothing waiting any more')
    await shot('axis-02-health-axis-up')

    await page.goto(`${gw.url}/console#/doc/${id}`)
    await page.getByText('Đã gửi lên trục liên thông văn bản quốc gia').first().waitFor()
    text = await main.innerText()
    t.match(text, /Gửi qua: Trục liên thông văn bản quốc gia \(VXP\)/, 'the transport in the detail')
    t.match(text, /Mã văn bản trên trục liên thông văn bản quốc gia: [0-9a-f-]{36}/, 'the axis DocId')
    t.notMatch(text, /Đã phát lên mạng liên thông lienthong/, 'not shown as sent over the local broker')
    await shot('axis-03-document-via-axis')
    t.same(pageErrors, [], 'no script error')
  })
}
