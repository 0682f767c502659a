/**
 * A SIGKILL of gateway A between getEdoc and updateStatus loses and duplicates nothing. A runs as its own process
 * (`lienthong serve`), its connector pointing at B's /vxp through a small proxy that holds A's updateStatus calls:
 * when the proxy sees one, A has fetched the document and committed it (updateStatus follows the store commit).
 * A is killed there; restarted on the same store, it fetches the item again, recognises the bytes, and only then
 * tells B it is done.
 *
 * The sending side: A is killed after B accepted its sendEdoc but before A heard the answer (the proxy keeps B's
 * answer from A), the one window where a delivery is sent again; restarted, A sends the same bytes, B answers the
 * same DocId, and B holds the document once. A confirmed delivery (its axis DocId stored) is never sent again.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import t, { type Test } from 'tap'
import { VxpClient } from '../../src/vxp/client.js'
import { openSqliteStore } from '../../src/store/index.js'
import { deleteAmqpNames, G22, H29, KEYS, rawTestConfig, ROOT, sampleDocument } from '../helper.js'
import { edocPackage, startVxpGateway, until } from './helpers.js'
import { loadConfig } from '../../src/config.js'

const SYS_GW_A = { systemId: 'lienthong.gateway-a', secret: 'YS1jb25uZWN0b3Itc2VjcmV0', organIds: [G22] }
const SYS_DMS_B = { systemId: 'vxp.saas.03', secret: 'ZG1zLWItc2VjcmV0', organIds: [H29] }

/** Gateway A's config file (G22 only, H29 routed to the axis behind `proxyUrl`) and a way to start A as a process. */
function gatewayA(t: Test, dir: string, proxyUrl: string, axis: Record<string, number>, extra: Record<string, unknown> = {}) {
  const raw = rawTestConfig(dir, extra)
  const configA = {
    ...raw,
    agencies: (raw.agencies as { organId: string }[]).filter((a) => a.organId === G22),
    vxp: {
      axis: { endpoint: `${proxyUrl}/vxp`, systemId: SYS_GW_A.systemId, secret: SYS_GW_A.secret, organIds: [G22], ...axis },
      routes: [{ organIds: [H29], via: 'axis' }],
    },
  }
  const file = path.join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(configA))
  const loaded = loadConfig({ file, env: {} })
  t.teardown(() => deleteAmqpNames(loaded))
  const children: ChildProcess[] = []
  t.teardown(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')))
  const startA = () => {
    const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', '--config', file], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, LIENTHONG_LOG_LEVEL: 'silent' } })
    children.push(c)
    return c
  }
  return { loaded, startA }
}

t.test('SIGKILL between getEdoc and updateStatus: nothing lost, nothing twice', async (t) => {
  const b = await startVxpGateway(t, { server: { systems: [SYS_GW_A, SYS_DMS_B] } }, { only: [G22, H29] })
  const target = new URL(b.url)

  // the proxy in front of B: forwards everything, holds updateStatus while `hold` is on
  let hold = true
  let held = 0
  const parked: http.ServerResponse[] = []
  const proxy = http.createServer((req, res) => {
    if (hold && req.url?.endsWith('/updateStatus')) {
      held++
      parked.push(res)
      return
    }
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => (proxy.closeAllConnections(), proxy.close(() => r()))))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`

  // A's configuration file: G22 only, the axis behind the proxy
  const dir = t.testdir({})
  const { loaded, startA } = gatewayA(t, dir, proxyUrl, { pollIntervalMs: 200, retryDelayMs: 200 })

  // 1. A runs; B's DMS sends H29 → G22; A fetches it, stores it, and is held in updateStatus
  const a1 = startA()
  const doc = edocPackage(H29, [G22])
  const dmsB = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_DMS_B })
  t.equal((await dmsB.sendEdoc(doc.bytes, { from: H29 })).json?.status, 'OK')
  await until(async () => {
    if (held === 0) throw new Error('A has not called updateStatus yet')
  }, 60_000)

  // 2. SIGKILL A right there
  a1.kill('SIGKILL')
  await new Promise((r) => a1.once('exit', r))
  for (const r of parked.splice(0)) r.destroy()
  hold = false
  const onB = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_GW_A })
  const listed = (await onB.getReceivedEdocList('edoc')).json?.data as unknown[]
  t.equal(listed.length, 1, 'B still lists the document for A (its updateStatus never arrived)')

  // 3. A again, same store: it takes the item again and this time tells B
  const a2 = startA()
  await until(async () => {
    const l = (await onB.getReceivedEdocList('edoc')).json?.data as unknown[]
    if (l.length > 0) throw new Error('still listed on B')
  }, 60_000)
  a2.kill('SIGTERM')
  await new Promise((r) => a2.once('exit', r))

  const store = await openSqliteStore(loaded.store.path)
  t.teardown(() => store.close())
  const inbox = (await store.listIncoming({ kind: 'edoc', limit: 10 })).items
  t.equal(inbox.length, 1, 'A stored the document exactly once')
  t.equal(inbox[0]?.documentId, doc.documentId)
  t.same(Buffer.from((await store.getIncomingBytes(inbox[0]!.id))!.bytes), doc.bytes, 'the exact bytes')
  const sent01 = (await store.listPackages({ kind: 'status', limit: 10 })).items.filter((p) => p.statusCode === '01')
  t.equal(sent01.length, 1, 'one 01 for it, not two')
})

t.test('SIGKILL after the axis accepted sendEdoc, before A stored its DocId: sent again, stored once on the axis', async (t) => {
  const b = await startVxpGateway(t, { server: { systems: [SYS_GW_A, SYS_DMS_B] } }, { only: [G22, H29] })
  const target = new URL(b.url)
  // the proxy: forwards everything; while `swallow` is on, forwards sendEdoc to B but keeps B's answer from A
  let swallow = true
  const swallowed: string[] = []
  const parked: http.ServerResponse[] = []
  let sends = 0
  const proxy = http.createServer((req, res) => {
    const isSend = req.url?.endsWith('/sendEdoc') ?? false
    // once B has taken the send A is not to hear of, A hears nothing more from B until it is killed (on a loaded
    // machine A could otherwise fetch B's 01 for the document in that window and finish the delivery by it)
    if (!isSend && swallow && sends > 0) {
      req.resume()
      parked.push(res)
      return
    }
    if (isSend) sends++
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      if (isSend && swallow) {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => swallowed.push(Buffer.concat(chunks).toString('latin1')))
        parked.push(res)
        return
      }
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => (proxy.closeAllConnections(), proxy.close(() => r()))))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`

  const port = await new Promise<number>((resolve) => {
    const s = http.createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const dir = t.testdir({})
  const { loaded, startA } = gatewayA(t, dir, proxyUrl, { pollIntervalMs: 300, retryDelayMs: 200, timeoutMs: 60_000 }, { http: { port } })
  const api = `http://127.0.0.1:${port}`

  // 1. A's DMS sends to H29; A's connector sends it; B accepts it; A never hears the answer
  const a1 = startA()
  const sent = await until(async () => {
    const r = await fetch(`${api}/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.g22}`, 'content-type': 'application/json' }, body: JSON.stringify(sampleDocument()) })
    if (r.status !== 202) throw new Error(`A answered ${r.status}`)
    return (await r.json()) as { id: string }
  }, 60_000)
  await until(async () => {
    if (swallowed.length === 0) throw new Error('B has not answered a sendEdoc yet')
  }, 60_000)
  const firstDocId = JSON.parse(swallowed[0]!).DocId as string
  t.match(firstDocId, /^[0-9a-f-]{36}$/, 'B accepted it')

  // 2. SIGKILL A right there: its delivery is still accepted in its store
  a1.kill('SIGKILL')
  await new Promise((r) => a1.once('exit', r))
  for (const r of parked.splice(0)) r.destroy()
  swallow = false
  const before = await openSqliteStore(loaded.store.path)
  const [d1] = await before.getDeliveries(sent.id)
  t.equal(d1?.state, 'accepted', 'A had not stored the axis DocId')
  await before.close()

  // 3. A again: it sends the same bytes again, B answers the same DocId
  const sendsBefore = sends
  const a2 = startA()
  const store = await (async () => {
    await until(async () => {
      const s = await openSqliteStore(loaded.store.path)
      try {
        const [d] = await s.getDeliveries(sent.id)
        if (d?.state === 'accepted') throw new Error('not yet confirmed')
      } finally {
        await s.close()
      }
    }, 60_000)
    // a confirmed delivery is not sent again: let A run a few more rounds
    await new Promise((r) => setTimeout(r, 1500))
    a2.kill('SIGTERM')
    await new Promise((r) => a2.once('exit', r))
    return openSqliteStore(loaded.store.path)
  })()
  t.teardown(() => store.close())
  const [d2] = await store.getDeliveries(sent.id)
  const queued = (await store.timeline(d2!.id)).filter((e) => e.state === 'queued')
  t.equal(queued.length, 1, 'queued once')
  t.equal(queued[0]?.detail.axisDocId, firstDocId, 'the same DocId as the first send: the axis recognised the bytes')
  t.equal(sends - sendsBefore, 1, 'sent once more after the restart, then never again')
  const onB = (await b.store.listPackages({ senderOrganId: G22, kind: 'edoc', limit: 10 })).items
  t.equal(onB.length, 1, 'the axis holds the document once')
  const dms = new VxpClient({ endpoint: `${b.url}/vxp`, ...SYS_DMS_B })
  const items = await until(async () => {
    const l = (await dms.getReceivedEdocList('edoc')).json?.data as unknown[]
    if (l.length === 0) throw new Error('not yet')
    return l
  })
  t.equal(items.length, 1, 'the recipient\'s DMS sees it once')
})
