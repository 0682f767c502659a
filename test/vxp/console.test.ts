/**
 * What the operator console reads about the axis and the VXP endpoint, at the API level:
 *
 * - `GET /v1/operator/health` `axis`: the connector's state (reachable or not), last poll, last send, last error,
 *   the deliveries waiting for the axis; it follows the axis going down and coming back;
 * - deliveries the axis confirmed are `queued` with `detail.via: axis` in the document timeline and the log, and
 *   the console's labels name that state, the transport and the AXIS_UNSIGNED verdict in Vietnamese;
 * - `vxpSystems`: the VXP systems with their agencies and their last call (operation, result), counted only once
 *   authenticated;
 * - no secret (inline, or a password in the endpoint URL) in any of it, nor in /readyz, /metrics or the log.
 */
import net from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { VxpClient } from '../../src/vxp/client.js'
import { auth, G22, H29, KEYS, sampleDocument } from '../helper.js'
import { startVxpGateway, SYS_A, SYS_B, until } from './helpers.js'

const AXIS_SECRET = 'axis-secret-never-shown-1f3a'
const URL_PASSWORD = 'url-password-never-shown-9c2e'

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

t.test('the axis connector in the operator health, the timeline and the labels', async (t) => {
  const port = await freePort()
  // every line A and the axis log, at debug level, for the secret check at the end
  let logged = ''
  const capture = () => createLogger({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => ((logged += c.toString()), cb()) }))
  const a = await startVxpGateway(
    t,
    {
      axis: { endpoint: `http://gw:${URL_PASSWORD}@127.0.0.1:${port}/vxp`, systemId: 'lienthong.gw-a', secret: AXIS_SECRET, organIds: [G22], pollIntervalMs: 200, retryDelayMs: 100 },
      routes: [{ organIds: ['000.00.*.H29'], via: 'axis' }],
    },
    { only: [G22], logger: capture() },
  )
  const health = async () => {
    const r = await a.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })
    t.equal(r.statusCode, 200)
    return r
  }
  t.equal((await a.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.g22) })).statusCode, 403, 'operators only')

  // 1. the axis is down: the delivery waits, the console says why
  const res = await a.app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: sampleDocument() })
  t.equal(res.statusCode, 202, res.body)
  const id = res.json().id as string
  const down = await until(async () => {
    const r = await health()
    const ax = r.json().axis
    if (ax?.state !== 'unreachable' || ax.backlog !== 1) throw new Error(`axis: ${JSON.stringify(ax)}`)
    return r
  })
  const ax = down.json().axis
  t.match(ax, { ok: false, state: 'unreachable', systemId: 'lienthong.gw-a', organIds: [G22], backlog: 1, pollIntervalMs: 200 })
  t.equal(ax.endpoint, `http://127.0.0.1:${port}/vxp`, 'the endpoint without its user:password')
  t.equal(ax.lastError.code, 'GW_ERR_VXP_AXIS_UNAVAILABLE', 'last error')
  t.ok(!Number.isNaN(Date.parse(ax.lastError.at)), 'when it happened')
  t.notOk(ax.lastSentAt, 'nothing sent yet')
  t.equal(down.json().status, 'ok', 'an axis down does not degrade the gateway: its deliveries wait')
  const [waiting] = await a.store.getDeliveries(id)
  t.equal(waiting?.state, 'accepted', 'the delivery waits in the outbox')
  const attempts = (await a.app.inject({ url: `/v1/log?packageId=${id}&type=axis-attempt`, headers: auth(KEYS.ops) })).json()
  t.ok(attempts.items.length > 0, 'each failed attempt is in the log')
  const tries = await until(async () => {
    const x = (await a.store.listEvents({ packageId: id, type: 'axis-attempt', limit: 50 })).items
    if (x.length < 3) throw new Error('fewer than 3 attempts yet')
    return x.map((e) => e.detail as { attempt: number; retryInMs: number }).sort((p, q) => p.attempt - q.attempt)
  })
  t.same(tries.slice(0, 3).map((d) => d.retryInMs), [100, 200, 400], 'backoff: retryDelayMs, doubled per attempt')

  const readyz = await a.app.inject({ url: '/readyz' })
  const metrics = await a.app.inject({ url: '/metrics', headers: auth(KEYS.ops) })
  const log = (await a.app.inject({ url: '/v1/log?limit=200', headers: auth(KEYS.ops) })).body
  for (const [what, body] of [['operator health', down.body], ['/readyz', readyz.body], ['/metrics', metrics.body], ['/v1/log', log]] as const) {
    t.notMatch(body, AXIS_SECRET, `${what}: no axis secret`)
    t.notMatch(body, URL_PASSWORD, `${what}: no password of the endpoint URL`)
  }

  // 2. the axis comes up (a gateway serving /vxp on that port): sent, confirmed, polled
  await startVxpGateway(t, { server: { systems: [{ systemId: 'lienthong.gw-a', secret: AXIS_SECRET, organIds: [G22] }] } }, { only: [G22, H29], http: { port }, logger: capture() })
  // a stranger tries a secret on the axis: refused, logged, the secret tried is not logged either
  t.equal((await new VxpClient({ endpoint: `http://127.0.0.1:${port}/vxp`, systemId: 'lienthong.gw-a', secret: 'tried-secret-5b1c' }).getReceivedEdocList()).json?.ErrorCode, 'GW_ERR_VXP_UNAUTHORIZED')
  const up = await until(async () => {
    const r = await health()
    const x = r.json().axis
    if (x?.state !== 'connected' || x.backlog !== 0 || !x.lastSentAt || !x.lastPollAt) throw new Error(`axis: ${JSON.stringify(x)}`)
    return x
  }, 30_000)
  t.match(up, { ok: true, state: 'connected', backlog: 0 })
  t.ok(up.sent >= 1, 'counted as sent')
  t.ok(Date.parse(up.lastPollAt) >= Date.parse(ax.lastError.at), 'last poll after the outage')

  // 3. the timeline and the log show the delivery went through the axis
  const doc = (await a.app.inject({ url: `/v1/documents/${id}`, headers: auth(KEYS.g22) })).json()
  const queued = (doc.deliveries[0].timeline as { state?: string; detail: Record<string, unknown> }[]).find((e) => e.state === 'queued')
  t.match(queued?.detail, { via: 'axis' }, 'timeline: queued via the axis')
  t.match(String(queued?.detail.axisDocId), /^[0-9a-f-]{36}$/, 'with the axis DocId')
  t.notMatch(JSON.stringify(doc), URL_PASSWORD, 'the endpoint in the timeline has no password')
  const events = (await a.app.inject({ url: `/v1/log?packageId=${id}`, headers: auth(KEYS.ops) })).json().items as { state?: string; detail?: Record<string, unknown> }[]
  t.ok(events.some((e) => e.state === 'queued' && e.detail?.via === 'axis'), 'the log too')

  // 4. the console's labels say it in Vietnamese ("trục" for the national axis)
  const labels = (await a.app.inject({ url: '/console/labels.js' })).body
  const L = JSON.parse(labels.slice(labels.indexOf('Object.freeze(') + 'Object.freeze('.length, labels.lastIndexOf(')'))) as {
    axis: { states: Record<string, string>; via: Record<string, string>; queued: string }
    verdicts: Record<string, { label: string }>
    eventTypes: Record<string, string>
    actors: Record<string, string>
  }
  t.match(L.axis.queued, /trục liên thông văn bản quốc gia/, 'queued via the axis')
  t.match(L.axis.via.axis, /Trục liên thông văn bản quốc gia/)
  t.notMatch(L.axis.via.amqp, /trục/i, 'the local broker is not called trục')
  for (const s of ['starting', 'connected', 'unreachable', 'refused']) t.ok(L.axis.states[s], `connector state ${s} labelled`)
  t.match(L.verdicts.AXIS_UNSIGNED?.label, /trục liên thông văn bản quốc gia/, 'AXIS_UNSIGNED labelled')
  t.ok(L.eventTypes['axis-attempt'], 'axis-attempt labelled')
  t.ok(L.actors.vxp, 'the vxp:<systemId> actor labelled')

  // the logs of both gateways, the outage and the exchange included
  t.match(logged, /cannot be reached/, 'the outage was logged')
  t.match(logged, /VXP request refused/, 'the refusal was logged')
  for (const secret of [AXIS_SECRET, URL_PASSWORD, 'tried-secret-5b1c']) t.notMatch(logged, secret, `no ${secret.split('-')[0]} secret in the logs`)
})

t.test('the VXP systems with their agencies and last call; never their secrets', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } })
  const endpoint = `${gw.url}/vxp`
  const systems = async () => (await gw.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).json().vxpSystems as Record<string, any>[]

  const before = await systems()
  t.same(
    before.map((s) => [s.systemId, s.agencies.map((x: { organId: string }) => x.organId), s.calls]),
    [
      [SYS_A.systemId, SYS_A.organIds, 0],
      [SYS_B.systemId, SYS_B.organIds, 0],
    ],
    'every configured system with its agencies, no call yet',
  )
  t.equal(before[0]!.agencies[0].name, 'Văn phòng Chính phủ', 'agencies by name')
  t.notOk(before[0]!.lastCallAt)

  const a = new VxpClient({ endpoint, ...SYS_A })
  t.equal((await a.getReceivedEdocList()).json?.status, 'OK')
  t.equal((await a.getEdoc('00000000-0000-0000-0000-000000000000')).json?.ErrorCode, 'GW_ERR_VXP_NOT_FOUND')
  // wrong secrets naming B are not B's calls
  t.equal((await new VxpClient({ endpoint, ...SYS_B, secret: 'wrong' }).getReceivedEdocList()).json?.ErrorCode, 'GW_ERR_VXP_UNAUTHORIZED')

  const after = await systems()
  t.match(after[0], { systemId: SYS_A.systemId, calls: 2, failures: 1, lastOperation: 'getEdoc', lastErrorCode: 'GW_ERR_VXP_NOT_FOUND' })
  t.ok(Date.parse(after[0]!.lastCallAt) > 0 && after[0]!.lastFailureAt === after[0]!.lastCallAt, 'when')
  t.match(after[1], { systemId: SYS_B.systemId, calls: 0, failures: 0 }, 'an unauthenticated request is no call of the system it names')
  t.equal((await a.getAgenciesList()).json?.status, 'OK')
  t.match((await systems())[0], { calls: 3, lastOperation: 'getAgenciesList', lastErrorCode: '0' }, 'last call OK')

  const body = (await gw.app.inject({ url: '/v1/operator/health', headers: auth(KEYS.ops) })).body
  for (const s of [SYS_A, SYS_B]) t.notMatch(body, s.secret, `no secret of ${s.systemId}`)
  t.notMatch(body, /secret/i, 'no secret field at all')
})
