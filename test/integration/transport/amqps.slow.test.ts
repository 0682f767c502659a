// amqps with a private CA: a RabbitMQ node of the test's own with a TLS listener on its own port that requires a
// client certificate (ssl_options.verify = verify_peer, fail_if_no_peer_cert = true), certificates made with
// openssl in the test's folder (a CA, the broker's certificate for broker.lienthong.test only, the gateway's
// client certificate). Shown: with amqp.tls (the CA, the client certificate and key, servername) the connection
// manager and a whole gateway connect and publish; without the CA, without servername (the URL names 127.0.0.1,
// which the certificate does not) or without a client certificate, the connection is refused and retried, with
// the reason in the failure; loadConfig checks the files and that certPath and keyPath come together.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { loadConfig } from '../../../src/config.js'
import { isGatewayError } from '../../../src/errors.js'
import { startGateway } from '../../../src/server.js'
import { createAmqpConnection, type AmqpTlsOptions, type ConnectFailure } from '../../../src/transport/index.js'
import { freePorts, onPath } from '../../services/common.js'
import { rabbitNodeUnavailable, startRabbitNode } from '../../services/rabbit-node.js'

const run = promisify(execFile)
const skip = rabbitNodeUnavailable() ?? (onPath('openssl') === undefined ? 'openssl is not installed' : undefined)
const SERVER_NAME = 'broker.lienthong.test'

/** A CA, a server certificate for SERVER_NAME and a client certificate, EC P-256, in `dir`. */
async function makePki(dir: string): Promise<void> {
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=lienthong test broker CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  for (const [name, cn, ext] of [
    ['server', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`],
    ['client', 'lienthong gateway', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    writeFileSync(path.join(dir, `${name}.ext`), ext)
    await ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`)
  }
}

t.test('amqps to a broker of a private CA', { skip: skip ?? false }, async (t) => {
  const dir = t.testdir({})
  await makePki(dir)
  const [sslPort] = (await freePorts(1)) as [number]
  await startRabbitNode(t, {
    config: [
      `listeners.ssl.default = 127.0.0.1:${sslPort}`,
      `ssl_options.cacertfile = ${path.join(dir, 'ca.pem')}`,
      `ssl_options.certfile = ${path.join(dir, 'server.pem')}`,
      `ssl_options.keyfile = ${path.join(dir, 'server.key')}`,
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = true',
    ],
  })
  const url = `amqps://guest:guest@127.0.0.1:${sslPort}`
  const file = (n: string) => readFileSync(path.join(dir, n))
  const full: AmqpTlsOptions = { ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key'), servername: SERVER_NAME }

  /** Connect with `tls`; the first failure's reason, or 'connected'. */
  const attempt = async (tls: AmqpTlsOptions | undefined): Promise<string> => {
    const conn = createAmqpConnection({ url, ...(tls ? { tls } : {}), initialDelayMs: 200, maxDelayMs: 500, connectTimeoutMs: 10_000 })
    try {
      const failed = new Promise<string>((resolve) => conn.once('connectFailed', (f: ConnectFailure) => resolve(String((f.error as Error)?.message ?? f.error))))
      return await Promise.race([conn.whenConnected({ timeoutMs: 30_000 }).then(() => 'connected'), failed])
    } finally {
      await conn.close()
    }
  }

  t.equal(await attempt(full), 'connected', 'the CA, a client certificate and the servername: connected')
  const { cert: _c, key: _k, ...noClientCert } = full
  const { servername: _s, ...noServername } = full
  const { ca: _ca, ...noCa } = full
  t.match(await attempt(noCa), /self[- ]signed|unable to (get|verify)|certificate/i, 'without the private CA: the broker\'s certificate is not trusted')
  t.match(await attempt(noServername), /Hostname\/IP does not match|altnames|IP: 127\.0\.0\.1/i, 'without servername: 127.0.0.1 is not the name in the certificate')
  const refused = await attempt(noClientCert)
  t.not(refused, 'connected', `without a client certificate: the broker refuses the handshake (${refused})`)

  // the whole gateway, from a configuration file whose amqp.tls paths are relative to it
  const cfgDir = path.join(dir, 'config')
  mkdirSync(cfgDir)
  const raw = {
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    amqp: { url, tls: { caPath: path.relative(cfgDir, path.join(dir, 'ca.pem')), certPath: path.join(dir, 'client.pem'), keyPath: path.join(dir, 'client.key'), servername: SERVER_NAME } },
    store: { path: path.join(cfgDir, 'gw.sqlite') },
  }
  const { rawTestConfig } = await import('../../helper.js')
  const base = rawTestConfig(cfgDir)
  const config = loadConfig({ object: { ...base, ...raw, amqp: { ...base.amqp, ...raw.amqp } }, file: path.join(cfgDir, 'config.json'), env: {} })
  t.equal(config.amqp.tls?.caPath, path.join(dir, 'ca.pem'), 'amqp.tls.caPath is resolved against the configuration file')
  const gw = await startGateway(config, { listen: false, receive: false })
  t.teardown(() => gw.close())
  await gw.connection.whenConnected({ timeoutMs: 30_000 })
  await gw.publisher.whenReady({ timeoutMs: 30_000 })
  t.pass('a gateway with amqp.tls connects over amqps and its confirmed publisher is ready')

  const bad = (amqp: Record<string, unknown>) => {
    try {
      loadConfig({ object: { ...base, amqp: { ...base.amqp, ...amqp } }, file: path.join(cfgDir, 'config.json'), env: {} })
      return 'loaded'
    } catch (e) {
      return isGatewayError(e, 'GW_ERR_CONFIG_INVALID') ? e.message : String(e)
    }
  }
  t.match(bad({ tls: { caPath: 'no-such-ca.pem' } }), /amqp\.tls\.caPath: file .*no-such-ca\.pem does not exist/, 'a missing CA file is named')
  t.match(bad({ tls: { certPath: path.join(dir, 'client.pem') } }), /amqp\.tls must have property keyPath when property certPath is present/, 'certPath needs keyPath')
})
