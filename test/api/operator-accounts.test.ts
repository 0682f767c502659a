/**
 * Personal operator accounts: each operator logs in with their own password and has a role; the API refuses what
 * the role may not do, the log names who did what, sessions end, wrong passwords lock the account.
 * Operators of the test gateway: lan (viewer), minh (operator), hoa (admin), all with passwords; `ops` is the old
 * kind of operator, an API key in the config without a role (so: operator, as before roles).
 */
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { auth, buildTestApp, H26, KEYS, sampleDocument } from '../helper.js'
import { hashPassword } from '../../src/passwords.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

const PW = { lan: 'lan-xem-nhat-ky-2026', minh: 'minh-van-hanh-2026', hoa: 'hoa-quan-tri-2026' }

async function accounts() {
  const quick = { ln: 10, r: 8, p: 1 } // cheap for the test; the stored form names its own cost
  return [
    { id: 'lan', name: 'Nguyễn Thị Lan', role: 'viewer', passwordHash: await hashPassword(PW.lan, quick) },
    { id: 'minh', name: 'Trần Văn Minh', role: 'operator', passwordHash: await hashPassword(PW.minh, quick) },
    { id: 'hoa', name: 'Lê Thu Hoa', role: 'admin', passwordHash: await hashPassword(PW.hoa, quick) },
    { id: 'ops', keySha256: sha(KEYS.ops) },
  ]
}

async function setup(t: Test, operatorLogin: Record<string, number> = {}) {
  let now = new Date('2026-12-02T08:00:00+07:00')
  const built = await buildTestApp(t, { config: { operators: await accounts(), operatorLogin }, deps: { clock: () => now } })
  const { app } = built
  const login = (id: string, password: string) => app.inject({ method: 'POST', url: '/v1/operator/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ id, password }) })
  const tokenOf = async (id: keyof typeof PW) => {
    const r = await login(id, PW[id])
    t.equal(r.statusCode, 200, `${id} logs in: ${r.body}`)
    return r.json().token as string
  }
  return { ...built, login, tokenOf, advance: (minutes: number) => (now = new Date(now.getTime() + minutes * 60_000)) }
}

t.test('every role through the API: viewer reads, operator also replays and discards, admin also manages accounts; the log names each', async (t) => {
  const { app, store, tokenOf } = await setup(t)
  // two failed deliveries to act on
  const send = async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument({ recipients: [{ organId: H26, name: 'UBND TP Hà Nội', organizationInCharge: 'Chính phủ' }] })) })
    const [d] = await store.getDeliveries(r.json().id)
    await store.markFailed(d!.id, 'GW_ERR_TRANSPORT_UNROUTABLE: no queue accepts messages for recipient 000.00.00.H26', 'system')
    return d!.id
  }
  const [first, second, third] = [await send(), await send(), await send()]
  const bearer = { lan: auth(await tokenOf('lan')), minh: auth(await tokenOf('minh')), hoa: auth(await tokenOf('hoa')), ops: auth(KEYS.ops), dms: auth(KEYS.g22) }

  const me = async (who: keyof typeof bearer) => (await app.inject({ url: '/v1/operator/me', headers: bearer[who] })).json()
  t.same(await me('lan'), { id: 'lan', name: 'Nguyễn Thị Lan', role: 'viewer', via: 'session' })
  t.same(await me('hoa'), { id: 'hoa', name: 'Lê Thu Hoa', role: 'admin', via: 'session' })
  t.same(await me('ops'), { id: 'ops', role: 'operator', via: 'key' }, 'an operator key without a role keeps what it could do: operator')

  const reads = ['/v1/log?limit=5', '/v1/log/verify', '/v1/operator/dead-letters', '/v1/operator/overdue', '/v1/operator/health', '/v1/operator/agencies', '/v1/inbox?state=rejected', '/metrics']
  for (const who of ['lan', 'minh', 'hoa', 'ops'] as const) {
    for (const url of reads) t.equal((await app.inject({ url, headers: bearer[who] })).statusCode, 200, `${who} reads ${url}`)
  }
  for (const url of reads.slice(0, 6)) t.equal((await app.inject({ url, headers: bearer.dms })).statusCode, 403, `a DMS key cannot read ${url}`)

  const act = (who: keyof typeof bearer, id: string, action: 'replay' | 'discard', note: string) =>
    app.inject({ method: 'POST', url: `/v1/operator/dead-letters/${id}/${action}`, headers: { ...bearer[who], 'content-type': 'application/json' }, payload: JSON.stringify({ note }) })
  // viewer: refused, nothing changes
  for (const action of ['replay', 'discard'] as const) {
    const r = await act('lan', first, action, 'thử')
    t.equal(r.statusCode, 403, `viewer cannot ${action}`)
    t.match(r.json(), { code: 'GW_ERR_API_FORBIDDEN', message: /needs the operator role; operator lan is viewer/ })
  }
  t.equal((await store.getDelivery(first))!.state, 'failed', 'untouched')
  // operator, admin and the old key may act; each is named in the log
  t.equal((await act('minh', first, 'replay', 'Hà Nội đã đăng ký hàng đợi')).statusCode, 200)
  t.equal((await act('hoa', second, 'discard', 'Gửi nhầm')).statusCode, 200)
  t.equal((await act('ops', third, 'replay', 'công cụ giám sát')).statusCode, 200)
  const byType = async (type: string) => (await app.inject({ url: `/v1/log?type=${type}`, headers: bearer.hoa })).json().items
  const replays = await byType('replayed')
  t.match(replays.find((e: any) => e.deliveryId === first), { actor: 'operator:minh', detail: { note: 'Hà Nội đã đăng ký hàng đợi' } }, 'the log shows who replayed')
  t.match(replays.find((e: any) => e.deliveryId === third), { actor: 'operator:ops' })
  t.match((await byType('discarded')).find((e: any) => e.deliveryId === second), { actor: 'operator:hoa', detail: { note: 'Gửi nhầm' } }, 'and who discarded')

  // admin only: the accounts
  for (const who of ['lan', 'minh', 'ops'] as const) {
    t.equal((await app.inject({ url: '/v1/operator/accounts', headers: bearer[who] })).statusCode, 403, `${who} cannot list the accounts`)
    t.equal((await app.inject({ method: 'POST', url: '/v1/operator/accounts/lan/unlock', headers: bearer[who] })).statusCode, 403, `${who} cannot unlock`)
    t.equal((await app.inject({ method: 'POST', url: '/v1/operator/accounts/lan/logout', headers: bearer[who] })).statusCode, 403, `${who} cannot end sessions`)
  }
  const list = await app.inject({ url: '/v1/operator/accounts', headers: bearer.hoa })
  t.equal(list.statusCode, 200)
  t.same(
    list.json().items.map((a: any) => [a.id, a.role, a.kind, a.sessions]),
    [
      ['lan', 'viewer', 'password', 1],
      ['minh', 'operator', 'password', 1],
      ['hoa', 'admin', 'password', 1],
      ['ops', 'operator', 'key', 0],
    ],
  )
  t.notMatch(list.body, /scrypt|passwordHash|keySha256/, 'no hash leaves the gateway')
  // admin ends lan's sessions: lan's token stops working at once, and says so
  t.same((await app.inject({ method: 'POST', url: '/v1/operator/accounts/lan/logout', headers: bearer.hoa })).json(), { id: 'lan', ended: 1 })
  const ended = await app.inject({ url: '/v1/log?limit=1', headers: bearer.lan })
  t.equal(ended.statusCode, 401)
  t.match(ended.json(), { code: 'GW_ERR_API_SESSION_EXPIRED', message: /ended by an admin/ })
  t.equal((await app.inject({ method: 'POST', url: '/v1/operator/accounts/nobody/unlock', headers: bearer.hoa })).statusCode, 404)
})

t.test('login: a wrong password and an unknown name get the same answer; the answer never carries the hash', async (t) => {
  const { login } = await setup(t)
  const wrong = await login('minh', 'not-the-password')
  const unknown = await login('nobody', 'not-the-password')
  t.equal(wrong.statusCode, 401)
  t.equal(unknown.statusCode, 401)
  t.equal(wrong.json().code, 'GW_ERR_API_LOGIN_FAILED')
  t.equal(wrong.json().message, unknown.json().message, 'no telling whether the name exists')
  const ok = await login('minh', PW.minh)
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { token: /^lts_[A-Za-z0-9_-]{43}$/, expiresAt: '2026-12-02T09:00:00.000Z', operator: { id: 'minh', role: 'operator', name: 'Trần Văn Minh' } })
  t.notMatch(ok.body, /scrypt/)
  t.equal((await login('minh', '')).statusCode, 400, 'an empty password is a bad request')
  t.equal((await login('ops', 'anything-at-all')).json().code, 'GW_ERR_API_LOGIN_FAILED', 'a key-only operator has no password to log in with')
})

t.test('lockout: maxFailures wrong passwords lock the account, even for the right password, until the time passes or an admin unlocks it', async (t) => {
  const { app, login, tokenOf, advance } = await setup(t, { maxFailures: 3, lockoutMinutes: 15 })
  const admin = auth(await tokenOf('hoa'))
  t.match((await login('lan', 'wrong-1')).json(), { code: 'GW_ERR_API_LOGIN_FAILED' })
  t.match((await login('lan', 'wrong-2')).json(), { code: 'GW_ERR_API_LOGIN_FAILED' })
  const third = await login('lan', 'wrong-3')
  t.equal(third.statusCode, 423, 'the third wrong password locks')
  t.match(third.json(), { code: 'GW_ERR_API_ACCOUNT_LOCKED', message: /lan is locked after 3 wrong passwords until 2026-12-02T01:15:00.000Z/ })
  t.equal(third.headers['retry-after'], String(15 * 60))
  const right = await login('lan', PW.lan)
  t.equal(right.statusCode, 423, 'locked: the right password is refused too')
  t.match((await app.inject({ url: '/v1/operator/accounts', headers: admin })).json().items[0], { id: 'lan', failures: 3, lockedUntil: '2026-12-02T01:15:00.000Z' })
  // the time passes: the account opens again
  advance(15)
  t.equal((await login('lan', PW.lan)).statusCode, 200, 'after lockoutMinutes the right password works')
  t.match((await app.inject({ url: '/v1/operator/accounts', headers: admin })).json().items[0], { id: 'lan', failures: 0 })
  // locked again, then an admin unlocks it at once (after checking who it is)
  for (const n of [1, 2, 3]) await login('lan', `wrong-${n}`)
  t.equal((await login('lan', PW.lan)).statusCode, 423)
  t.same((await app.inject({ method: 'POST', url: '/v1/operator/accounts/lan/unlock', headers: admin })).json(), { id: 'lan', unlocked: true })
  t.equal((await login('lan', PW.lan)).statusCode, 200, 'unlocked by the admin')
  // a success clears the count: two wrong, one right, two wrong is no lock
  for (const n of [1, 2]) await login('minh', `wrong-${n}`)
  t.equal((await login('minh', PW.minh)).statusCode, 200)
  for (const n of [3, 4]) t.equal((await login('minh', `wrong-${n}`)).statusCode, 401)
  // a name that is no account is locked the same way (no telling it apart)
  for (const n of [1, 2]) await login('ghost', `wrong-${n}`)
  t.equal((await login('ghost', 'wrong-3')).statusCode, 423)
})

t.test('sessions end: idle, at the end of their time, at logout; each end is told apart from an unknown token', async (t) => {
  const { app, tokenOf, advance } = await setup(t, { sessionMinutes: 120, idleMinutes: 30 })
  const get = (h: Record<string, string>) => app.inject({ url: '/v1/log?limit=1', headers: h })
  // idle
  const idle = auth(await tokenOf('minh'))
  advance(29)
  t.equal((await get(idle)).statusCode, 200, 'used within 30 minutes: alive, and the idle time starts again')
  advance(29)
  t.equal((await get(idle)).statusCode, 200)
  advance(30)
  const r1 = await get(idle)
  t.equal(r1.statusCode, 401)
  t.match(r1.json(), { code: 'GW_ERR_API_SESSION_EXPIRED', message: /30 minutes without a request/ })
  // the end of its time, however busy
  const busy = auth(await tokenOf('minh'))
  for (let i = 0; i < 4; i++) {
    advance(25)
    t.equal((await get(busy)).statusCode, 200, `busy at ${(i + 1) * 25} min`)
  }
  advance(25) // 125 minutes after the login
  t.match((await get(busy)).json(), { code: 'GW_ERR_API_SESSION_EXPIRED', message: /120 minutes after the login/ })
  // logout
  const mine = auth(await tokenOf('lan'))
  t.same((await app.inject({ method: 'POST', url: '/v1/operator/logout', headers: mine })).json(), { ended: true })
  t.match((await get(mine)).json(), { code: 'GW_ERR_API_SESSION_EXPIRED', message: /logged out/ })
  // a token that never was one
  t.match((await get(auth('lts_' + 'x'.repeat(43)))).json(), { code: 'GW_ERR_API_UNAUTHORIZED' })
  // an operator key has no session to end, and keeps working
  t.same((await app.inject({ method: 'POST', url: '/v1/operator/logout', headers: auth(KEYS.ops) })).json(), { ended: false })
  t.equal((await get(auth(KEYS.ops))).statusCode, 200)
})

t.test('config: an operator needs a password hash or a key; the role is one of three; the old config still loads', async (t) => {
  await t.rejects(buildTestApp(t, { config: { operators: [{ id: 'x' }] } }), { code: 'GW_ERR_CONFIG_INVALID', message: /operators\.0 needs passwordHash .* or keySha256/ })
  await t.rejects(buildTestApp(t, { config: { operators: [{ id: 'x', role: 'root', keySha256: sha('k') }] } }), { code: 'GW_ERR_CONFIG_INVALID', message: /role/ })
  await t.rejects(buildTestApp(t, { config: { operators: [{ id: 'x', passwordHash: 'plain text' }] } }), { code: 'GW_ERR_CONFIG_INVALID', message: /passwordHash/ })
  const { config } = await buildTestApp(t)
  t.same(config.operators, [{ id: 'ops', keySha256: sha(KEYS.ops), role: 'operator' }], 'the default role is filled in')
  t.same(config.operatorLogin, { sessionMinutes: 480, idleMinutes: 60, maxFailures: 5, lockoutMinutes: 15 })
})
