import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/logger.js'
import { auth, buildTestApp, KEYS, sampleDocument } from '../helper.js'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { stream, text: () => lines.join('') }
}

t.test('keys, passwords, private keys, signatures and attachment data are redacted wherever they are logged', async (t) => {
  const c = capture()
  const log = createLogger({ level: 'info' }, c.stream)
  log.info({ req: { headers: { authorization: 'Bearer secret-key-1' } } }, 'request')
  log.info({ signing: { p12Path: '/x.p12', password: 'p12-password' }, keyPem: '-----BEGIN PRIVATE KEY-----abc' }, 'agency')
  log.info({ headers: { signature: 'MIIBASE64SIG' }, bytes: 'raw-bytes', body: { attachments: [{ name: 'a.pdf', data: 'QkFTRTY0' }] } }, 'message')
  log.info({ webhook: { secret: 'hmac-secret' }, config: { amqp: { url: 'amqp://u:pw@h' } } }, 'config')
  const out = c.text()
  for (const secret of ['secret-key-1', 'p12-password', 'BEGIN PRIVATE KEY', 'MIIBASE64SIG', 'raw-bytes', 'QkFTRTY0', 'hmac-secret', 'amqp://u:pw@h']) {
    t.notOk(out.includes(secret), `${secret} not in the log`)
  }
  t.match(out, /\[redacted\]/)
  t.match(out, /"name":"a.pdf"/, 'the rest stays readable')
  t.match(out, /"level":"info"/)
})

t.test('the API never logs the bearer key', async (t) => {
  const c = capture()
  const { app } = await buildTestApp(t, { deps: { logger: createLogger({ level: 'trace' }, c.stream) } })
  await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(sampleDocument()) })
  await app.inject({ url: '/v1/documents', headers: auth('wrong-key-xyz') })
  const out = c.text()
  t.match(out, /request completed/, 'requests are logged')
  t.notOk(out.includes(KEYS.g22), 'valid key absent')
  t.notOk(out.includes('wrong-key-xyz'), 'invalid key absent')
})
