// config/production.example.json, the configuration the container image and compose.yaml start from, stays valid
// as the schema moves, and says what the image relies on (test/container/ runs it inside the image).
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { loadConfig } from '../../../src/config.js'
import { ROOT } from '../../helper.js'

const FILE = path.join(ROOT, 'config', 'production.example.json')
const P12_ENV = 'LIENTHONG_P12_PASSWORD_UBND_HCM'

/** The example in a folder laid out like the /etc/lienthong it expects (files it names, with dummy contents). */
function deployment(t: Test): string {
  const dir = t.testdir({
    keys: { vpcp: { 'key.pem': 'k', 'cert.pem': 'c', 'chain.pem': 'c' }, 'ubnd-hcm': { 'bundle.p12': 'p' } },
    trust: { 'anchors.pem': 'a', 'intermediates.pem': 'i', 'crls.pem': 'l' },
  })
  const file = path.join(dir, 'config.json')
  writeFileSync(file, readFileSync(FILE))
  return file
}

t.test('the production example loads with its secrets from the environment', async (t) => {
  const c = loadConfig({ file: deployment(t), env: { [P12_ENV]: 'from-the-environment' } })
  t.equal(c.http.host, '0.0.0.0', 'listens on every address of the container')
  t.equal(c.http.trustProxy, false, 'trusts no X-Forwarded-For until a proxy is put in front')
  t.equal(c.store.driver, 'sqlite')
  t.match(c.store.path, /^\/var\/lib\/lienthong\//, 'the store is on the data volume of the image')
  const raw = JSON.parse(readFileSync(FILE, 'utf8')) as { agencies: { signing: object }[] }
  t.same(
    raw.agencies.map((a) => Object.keys(a.signing).sort()),
    [['certPath', 'chainPath', 'keyPath'], ['p12Path', 'passwordEnv']],
    'keys are files; the PKCS#12 password comes from the environment, never inline',
  )
  t.equal((c.agencies[1]!.signing as { password?: string }).password, 'from-the-environment', 'read from the variable it names')
  t.ok(c.agencies.every((a) => a.clients.every((k) => /^[0-9a-f]{64}$/.test(k.keySha256))), 'API keys only as hashes')
  t.same(c.operators.map((o) => [o.id, o.role, o.passwordHash ? 'password' : 'key']), [['monitoring', 'viewer', 'key'], ['vanhanh', 'admin', 'password']])
  t.notMatch(JSON.stringify(c.amqp.url), /:[^@/]*@/, 'no broker password in the file (LIENTHONG_AMQP_URL brings it)')
})

t.test('without the PKCS#12 password in the environment it names the variable', async (t) => {
  const file = deployment(t)
  t.throws(() => loadConfig({ file, env: {} }), { code: 'GW_ERR_CONFIG_INVALID', message: new RegExp(P12_ENV) })
})
