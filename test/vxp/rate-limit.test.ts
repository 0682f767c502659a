/**
 * Rate limits of the VXP endpoint: a budget per authenticated systemId (limits.requestsPerMinute), and failed
 * authentications counted per address (limits.authFailuresPerMinute) as for the REST API. Over a limit the SDK
 * reads a JSON FAIL (`GW_ERR_API_RATE_LIMITED`, DocId "" for sendEdoc) with HTTP 429 and Retry-After; another
 * system, another address, are not affected; requests that do not authenticate spend no system's budget.
 */
import http from 'node:http'
import t from 'tap'
import { VxpClient, type VxpAnswer, type VxpWireRequest } from '../../src/vxp/client.js'
import { systemBudget } from '../../src/vxp/server.js'
import { G22, H29 } from '../helper.js'
import { edocPackage, sdkReadable, startVxpGateway, SYS_A, SYS_B } from './helpers.js'

/** A wire request sent from another loopback address (the gateway sees another client). */
function sendFrom(localAddress: string, endpoint: string, op: string, req: VxpWireRequest): Promise<VxpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers, 'Content-Length': String(req.body?.length ?? 0) }
    const r = http.request(new URL(`${endpoint}/${op}`), { method: req.method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const raw = Buffer.concat(chunks)
        let json: Record<string, unknown> | undefined
        try {
          json = JSON.parse(raw.toString('latin1')) as Record<string, unknown>
        } catch {
          json = undefined
        }
        resolve({ httpStatus: res.statusCode ?? 0, json, raw, headers: res.headers })
      })
    })
    r.on('error', reject)
    r.end(req.body)
  })
}

t.test('per systemId and per address for failed authentications', async (t) => {
  const gw = await startVxpGateway(t, { server: { systems: [SYS_A, SYS_B] } }, { limits: { requestsPerMinute: 6, authFailuresPerMinute: 3 } })
  const endpoint = `${gw.url}/vxp`

  // 1. from 127.0.0.2, someone tries secrets as system A: counted per address, then that address is refused
  const impostor = new VxpClient({ endpoint, ...SYS_A, secret: 'guessed-secret' })
  for (let i = 0; i < 3; i++) {
    const r = await sendFrom('127.0.0.2', endpoint, 'getReceivedEdocList', impostor.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }))
    t.equal(r.httpStatus, 401, `wrong secret ${i + 1}: 401`)
    t.equal(r.json?.ErrorCode, 'GW_ERR_VXP_UNAUTHORIZED')
  }
  const right = new VxpClient({ endpoint, ...SYS_A })
  const blocked = await sendFrom('127.0.0.2', endpoint, 'getReceivedEdocList', right.build('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }))
  t.equal(blocked.httpStatus, 429, 'after limits.authFailuresPerMinute failures the address is refused, even with the right secret')
  t.same(sdkReadable(blocked), [], 'readable by the SDK')
  t.equal(blocked.json?.status, 'FAIL')
  t.equal(blocked.json?.ErrorCode, 'GW_ERR_API_RATE_LIMITED')
  t.match(String(blocked.json?.ErrorDesc), /too many failed VXP authentications from 127\.0\.0\.2/)
  t.ok(Number(blocked.headers['retry-after']) > 0, 'Retry-After')
  t.notMatch(blocked.raw.toString('latin1'), new RegExp(SYS_A.secret), 'no secret in the answer')

  // 2. from 127.0.0.1 system A still has its whole budget: the impostor spent none of it
  const a = new VxpClient({ endpoint, ...SYS_A })
  for (let i = 0; i < 6; i++) {
    const r = await a.getReceivedEdocList('edoc')
    t.equal(r.json?.status, 'OK', `call ${i + 1} of 6: OK`)
  }
  // 3. over its budget: sendEdoc answers the SDK's FAIL with DocId "" and 429; nothing is stored
  const doc = edocPackage(G22, [H29])
  const over = await a.sendEdoc(doc.bytes, { from: G22 })
  t.equal(over.httpStatus, 429, 'HTTP 429')
  t.same(sdkReadable(over), [], 'readable by the SDK')
  t.equal(over.json?.status, 'FAIL')
  t.equal(over.json?.ErrorCode, 'GW_ERR_API_RATE_LIMITED')
  t.match(String(over.json?.ErrorDesc), /system vxp\.saas\.02 made limits\.requestsPerMinute calls/)
  t.equal(over.json?.DocId, '', 'DocId ""')
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await gw.store.listPackages({ limit: 10 })).items.length, 0, 'nothing stored')
  const dl = await a.downloadEdoc('00000000-0000-0000-0000-000000000000')
  t.equal(dl.httpStatus, 429)
  t.equal(dl.raw.length, 0, 'downloadEdoc over the limit: an empty body (the SDK takes any body for the file)')

  // 4. another system on the same address is not affected
  const b = new VxpClient({ endpoint, ...SYS_B })
  t.equal((await b.getReceivedEdocList('edoc')).json?.status, 'OK', 'system B unaffected')
  t.equal((await b.countReceiveEdoc()).json?.status, 'OK')
  // and the REST API's budgets are its own
  t.equal((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the gateway keeps serving')
})

t.test('the budget: a fixed window of one minute per system', async (t) => {
  let now = 1_000_000
  const b = systemBudget(2, () => now)
  t.equal(b.take('a'), 0)
  t.equal(b.take('a'), 0)
  t.equal(b.take('a'), 60, 'third call in the minute: wait 60 s')
  t.equal(b.take('b'), 0, 'another system has its own budget')
  now += 30_000
  t.equal(b.take('a'), 30, 'still the same window')
  now += 30_000
  t.equal(b.take('a'), 0, 'a new minute')
})
