import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../../src/logger.js'
import { createRelay } from '../../../src/pipeline/relay.js'
import { gwError } from '../../../src/errors.js'
import { auth, buildTestApp, KEYS, sampleDocument } from '../../helper.js'

function capture() {
  const lines: string[] = []
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      cb()
    },
  })
  return { lines, dest }
}

t.test('key material never reaches the log (redaction), wherever it sits in a logged object', async (t) => {
  const { lines, dest } = capture()
  const log = createLogger({ level: 'trace' }, dest)
  const keyPem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----'
  log.info({ keyPem, password: 'lienthong-sample', config: { signing: { password: 'p12-pass', keyPem } } }, 'loading signer')
  log.info({ req: { headers: { authorization: 'Bearer super-secret-key' } } }, 'request')
  log.warn({ message: { signature: 'MIAGCSqGSIb3DQEHAqCAMIACAQExDzAN', bytes: 'PGVkWE1MPg==' }, p12: 'MIIKmQIBAzCCCl8G' }, 'message')
  log.error({ webhook: { secret: 'hmac-secret' }, attachments: [{ data: 'JVBERi0xLjQK' }] }, 'webhook')
  const text = lines.join('\n')
  for (const secret of ['PRIVATE KEY', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'lienthong-sample', 'p12-pass', 'super-secret-key', 'MIAGCSqGSIb3DQEHAqCAMIACAQExDzAN', 'PGVkWE1MPg==', 'MIIKmQIBAzCCCl8G', 'hmac-secret', 'JVBERi0xLjQK']) {
    t.notMatch(text, secret, `${secret.slice(0, 16)}… is redacted`)
  }
  t.equal(lines.length, 4)
  t.match(text, /\[redacted\]/)
})

t.test('API and relay lines about a package carry its package id and DocumentId; no bearer key or signature', async (t) => {
  const { lines, dest } = capture()
  const logger = createLogger({ level: 'trace' }, dest)
  const { app, store } = await buildTestApp(t, { deps: { logger } })
  const sent = (await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })).json()
  t.ok(sent.id)
  // a relay whose broker refuses one message and is unreachable for another
  let n = 0
  const relay = createRelay({
    store,
    logger,
    retryDelayMs: 50,
    pollIntervalMs: 50,
    publisher: {
      ready: true,
      publish: async (m) =>
        n++ === 0
          ? Promise.reject(gwError('GW_ERR_TRANSPORT_UNAVAILABLE', { url: 'amqp://x', reason: 'down' }))
          : Promise.reject(gwError('GW_ERR_TRANSPORT_UNROUTABLE', { recipient: m.recipient })),
    },
  })
  relay.start()
  const until = Date.now() + 5000
  while (Date.now() < until && (await store.getDeliveries(sent.id))[0]!.state !== 'failed') await new Promise((r) => setTimeout(r, 20))
  await relay.stop()
  t.equal((await store.getDeliveries(sent.id))[0]!.state, 'failed')
  const about = lines.map((l) => JSON.parse(l)).filter((o) => o.deliveryId !== undefined || o.packageId !== undefined)
  t.ok(about.length >= 2, `${about.length} lines about the package`)
  for (const o of about) {
    t.equal(o.packageId, sent.id, `"${o.msg}" has the package id`)
    t.equal(o.documentId, sent.documentId, `"${o.msg}" has the DocumentId`)
  }
  const text = lines.join('\n')
  t.notMatch(text, KEYS.g22, 'the bearer key is not logged')
  const bytes = await store.getPackageBytes(sent.id)
  t.notMatch(text, Buffer.from(bytes!.signature).toString('base64').slice(0, 40), 'no signature')
})
