import t from 'tap'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { loadConfig, environmentVariables, type Config } from '../../../src/config.js'
import { GatewayError } from '../../../src/errors.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

function fixture(t: { testdir: (fixture: any) => string }) {
  const dir = t.testdir({
    keys: { 'a.key.pem': 'k', 'a.cert.pem': 'c', 'b.p12': 'p', 'root.pem': 'r', 'crl.pem': 'l' },
  })
  const base = {
    agencies: [
      {
        organId: '000.00.01.H26',
        name: 'Sở A',
        organizationInCharge: 'UBND A',
        signing: { keyPath: 'keys/a.key.pem', certPath: 'keys/a.cert.pem' },
        clients: [{ id: 'dms-a', keySha256: sha('key-a') }],
      },
      {
        organId: '000.00.02.H26',
        name: 'Sở B',
        organizationInCharge: 'UBND B',
        signing: { p12Path: 'keys/b.p12', password: 'pw' },
        clients: [{ id: 'dms-b', keySha256: sha('key-b') }],
      },
    ],
    operators: [{ id: 'ops', keySha256: sha('key-ops') }],
    trust: { anchorsPaths: ['keys/root.pem'], crlPaths: ['keys/crl.pem'] },
  }
  const file = path.join(dir, 'gw.json')
  const write = (o: unknown) => {
    writeFileSync(file, JSON.stringify(o))
    return file
  }
  return { dir, base, file, write }
}

function problems(fn: () => unknown): string[] {
  try {
    fn()
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'GW_ERR_CONFIG_INVALID') return e.params.list as string[]
    throw e
  }
  throw new Error('expected GW_ERR_CONFIG_INVALID')
}

t.test('a minimal file gets every default, absolute paths, and is frozen', async (t) => {
  const f = fixture(t)
  const c: Config = loadConfig({ file: f.write(f.base), env: {} })
  t.equal(c.http.host, '127.0.0.1')
  t.equal(c.http.port, 8080)
  t.equal(c.amqp.url, 'amqp://guest:guest@127.0.0.1:5672')
  t.equal(c.amqp.exchange, 'lienthong.edoc')
  t.equal(c.amqp.deadLetterExchange, 'lienthong.dead')
  t.equal(c.amqp.queueType, 'classic')
  t.same(c.amqp.reconnect, { initialDelayMs: 500, maxDelayMs: 30000 })
  t.equal(c.store.driver, 'sqlite')
  t.equal(c.store.path, path.join(f.dir, 'lienthong.sqlite'), 'store path relative to the config file')
  t.equal(c.relay.batchSize, 500)
  t.equal(c.relay.pollIntervalMs, 1000)
  t.equal(c.limits.requestsPerMinute, 6000)
  t.equal(c.file, f.file)
  t.equal(c.agencies[0]?.address, '', 'optional From fields default to empty tags')
  const s0 = c.agencies[0]?.signing as { keyPath: string }
  t.equal(s0.keyPath, path.join(f.dir, 'keys/a.key.pem'))
  t.same(c.trust.anchorsPaths, [path.join(f.dir, 'keys/root.pem')])
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.http) && Object.isFrozen(c.agencies[0]?.clients[0]), 'deep-frozen')
  t.throws(() => {
    ;(c.http as { port: number }).port = 1
  }, TypeError)
})

t.test('environment overrides win over the file and are converted to the schema type', async (t) => {
  const f = fixture(t)
  const c = loadConfig({
    file: f.write({ ...f.base, http: { port: 9000 } }),
    env: {
      LIENTHONG_HTTP_PORT: '9100',
      LIENTHONG_HTTP_HOST: '0.0.0.0',
      LIENTHONG_AMQP_URL: 'amqp://u:p@broker:5672/vh',
      LIENTHONG_STORE_PATH: 'data/x.db',
      LIENTHONG_LOG_LEVEL: 'debug',
      LIENTHONG_AMQP_QUEUE_TYPE: 'quorum',
      LIENTHONG_HTTP_TRUST_PROXY: 'true',
      LIENTHONG_TRUST_CRLS: '',
    },
  })
  t.equal(c.http.port, 9100)
  t.equal(c.http.host, '0.0.0.0')
  t.equal(c.amqp.url, 'amqp://u:p@broker:5672/vh')
  t.equal(c.store.path, path.resolve(process.cwd(), 'data/x.db'), 'env paths are relative to the working directory')
  t.equal(c.log.level, 'debug')
  t.equal(c.amqp.queueType, 'quorum')
  t.equal(c.http.trustProxy, true)
  t.equal(c.trust.crlPaths.length, 1, 'an empty variable does not override')
})

t.test('every problem is reported at once, naming the environment variable it came from', async (t) => {
  const f = fixture(t)
  const bad = {
    ...f.base,
    bogus: true,
    http: { port: 'x' },
    amqp: { queueType: 'mirrored' },
    agencies: [{ organId: 'bad id!', name: '', signing: { keyPath: 'keys/a.key.pem' }, clients: [{ id: 'c', keySha256: 'ABC' }] }],
  }
  const list = problems(() => loadConfig({ file: f.write(bad), env: { LIENTHONG_AMQP_URL: 'http://nope', LIENTHONG_LOG_LEVEL: 'loud' } }))
  const joined = list.join('\n')
  t.match(joined, /unknown setting "bogus"/)
  t.match(joined, /http\.port must be integer/)
  t.match(joined, /amqp\.queueType must be one of classic, quorum/)
  t.match(joined, /amqp\.url \(from LIENTHONG_AMQP_URL\)/)
  t.match(joined, /log\.level \(from LIENTHONG_LOG_LEVEL\) must be one of/)
  t.match(joined, /agencies\.0\.organizationInCharge is required/)
  t.match(joined, /agencies\.0\.name must NOT have fewer than 1 characters/)
  t.match(joined, /agencies\.0\.organId must be an OrganId: 1 to 35 letters/)
  t.match(joined, /agencies\.0\.signing\.certPath is required/)
  t.match(joined, /agencies\.0\.clients\.0\.keySha256 must be a SHA-256 as 64 lowercase hexadecimal digits/)
  t.notMatch(joined, /p12Path/, 'only the signing variant the author meant is reported')
  t.ok(list.length >= 10)
})

t.test('the message of GW_ERR_CONFIG_INVALID lists the problems', async (t) => {
  const f = fixture(t)
  const e = t.throws(() => loadConfig({ file: f.write({ ...f.base, http: { port: -1 } }), env: {} })) as GatewayError
  t.equal(e.code, 'GW_ERR_CONFIG_INVALID')
  t.match(e.message, /configuration is invalid: http\.port must be >= 0/)
})

t.test('agencies are required and must not be empty', async (t) => {
  t.match(problems(() => loadConfig({ object: {}, env: {} })).join(), /agencies is required/)
  t.match(problems(() => loadConfig({ object: { agencies: [] }, env: {} })).join(), /agencies must NOT have fewer than 1 items/)
})

t.test('PKCS#12 signing needs exactly one of password and passwordEnv; passwordEnv must be set', async (t) => {
  const f = fixture(t)
  const withSigning = (signing: unknown) => ({ ...f.base, agencies: [{ ...f.base.agencies[1], signing }] })
  t.match(problems(() => loadConfig({ file: f.write(withSigning({ p12Path: 'keys/b.p12' })), env: {} })).join(), /password/)
  t.match(
    problems(() => loadConfig({ file: f.write(withSigning({ p12Path: 'keys/b.p12', passwordEnv: 'B_PW' })), env: {} })).join(),
    /passwordEnv names B_PW, which is not set/,
  )
  const c = loadConfig({ file: f.write(withSigning({ p12Path: 'keys/b.p12', passwordEnv: 'B_PW' })), env: { B_PW: 'secret' } })
  t.equal((c.agencies[0]?.signing as { password?: string }).password, 'secret', 'read once from the environment at load')
})

t.test('hosted OrganIds, client ids and key hashes must be unique', async (t) => {
  const f = fixture(t)
  const [a, b] = f.base.agencies
  const dup = {
    ...f.base,
    agencies: [a, { ...b, organId: a!.organId, clients: [{ id: 'dms-a', keySha256: a!.clients[0]!.keySha256 }] }],
    operators: [{ id: 'ops', keySha256: a!.clients[0]!.keySha256 }],
  }
  const joined = problems(() => loadConfig({ file: f.write(dup), env: {} })).join('\n')
  t.match(joined, /agencies\.1\.organId 000\.00\.01\.H26 is already hosted by agencies\.0/)
  t.match(joined, /agencies\.1\.clients\.0\.keySha256 is the same key as agencies\.0\.clients\.0/)
  t.match(joined, /operators\.0\.keySha256 is the same key/)
  t.match(joined, /agencies\.1\.clients\.0\.id "dms-a" is already used/)
})

t.test('reconnect delays and limits must be consistent', async (t) => {
  const f = fixture(t)
  const joined = problems(() =>
    loadConfig({
      file: f.write({ ...f.base, amqp: { reconnect: { initialDelayMs: 5000, maxDelayMs: 1000 } }, limits: { packageBytes: 2048, attachmentBytes: 4096 } }),
      env: {},
    }),
  ).join('\n')
  t.match(joined, /maxDelayMs \(1000\) must be at least initialDelayMs \(5000\)/)
  t.match(joined, /attachmentBytes \(4096\) cannot exceed limits\.packageBytes/)
})

t.test('files the configuration names must exist, all listed', async (t) => {
  const f = fixture(t)
  const cfg = { ...f.base, trust: { anchorsPaths: ['nope/root.pem'], crlPaths: ['nope/crl.pem'] } }
  const joined = problems(() => loadConfig({ file: f.write(cfg), env: {} })).join('\n')
  t.match(joined, /trust\.anchorsPaths\.0: file .*nope\/root\.pem does not exist/)
  t.match(joined, /trust\.crlPaths\.0: file .*nope\/crl\.pem does not exist/)
})

t.test('unreadable or non-JSON file gives GW_ERR_CONFIG_FILE', async (t) => {
  const f = fixture(t)
  t.throws(() => loadConfig({ file: path.join(f.dir, 'missing.json'), env: {} }), { code: 'GW_ERR_CONFIG_FILE' })
  writeFileSync(f.file, '{ nope')
  t.throws(() => loadConfig({ file: f.file, env: {} }), { code: 'GW_ERR_CONFIG_FILE', message: /not valid JSON/ })
})

t.test('every environment variable is documented with its default', async (t) => {
  const vars = environmentVariables()
  const names = vars.map((v) => v.name)
  for (const n of ['LIENTHONG_HTTP_PORT', 'LIENTHONG_AMQP_URL', 'LIENTHONG_STORE_PATH', 'LIENTHONG_LOG_LEVEL']) t.ok(names.includes(n), n)
  for (const v of vars) {
    t.match(v.description, new RegExp(`Env ${v.name}\\b`), `${v.name} named in its description`)
    t.match(v.description, /Default/, `${v.name} says its default`)
  }
  t.equal(new Set(names).size, names.length, 'no variable used twice')
})

t.test('the sample configuration is valid', async (t) => {
  const c = loadConfig({ file: new URL('../../../config/sample.json', import.meta.url).pathname, env: {} })
  t.ok(c.agencies.length >= 2, 'hosts two or more agencies')
  t.ok(c.agencies.every((a) => a.clients.length >= 1), 'a client per agency')
  t.ok(c.operators.length >= 1, 'an operator key')
  const vanhanh = c.operators.find((o) => o.id === 'vanhanh')
  t.match(vanhanh, { role: 'admin', passwordHash: /^scrypt\$/ }, 'a personal sample account')
  const { verifyPassword } = await import('../../../src/passwords.js')
  t.equal(await verifyPassword('lt-sample-operator-password', vanhanh!.passwordHash!), true, 'its password is the one config/README.md gives')
})
