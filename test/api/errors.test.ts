import t from 'tap'
import { ERRORS, gwError } from '../../src/errors.js'
import { auth, buildTestApp, H29, KEYS, sampleDocument } from '../helper.js'

const post = (payload: string | Buffer, contentType = 'application/json', key: string = KEYS.g22) => ({
  method: 'POST' as const,
  url: '/v1/documents',
  headers: { ...auth(key), 'content-type': contentType },
  payload,
})

t.test('GW_ERR_API_VALIDATION lists every problem with its field', async (t) => {
  const { app } = await buildTestApp(t)
  const doc: any = sampleDocument()
  delete doc.subject
  doc.priority = 7
  doc.recipients = []
  doc.code.number = ''
  doc.promulgation.date = '25/11/2026'
  doc.documentType.type = 3
  doc.colour = 'red'
  doc.attachments[0].data = 'not base64!'
  const res = await app.inject(post(JSON.stringify(doc)))
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.code, 'GW_ERR_API_VALIDATION')
  const fields = body.details.map((d: { field: string; problem: string }) => `${d.field}: ${d.problem}`)
  for (const want of [
    'body.subject: is required',
    'body.priority: must be <= 4',
    'body.recipients: must NOT have fewer than 1 items',
    'body.code.number: must NOT have fewer than 1 characters',
    'body.promulgation.date: must be a date as yyyy/MM/dd',
    'body.documentType.type: must be <= 2',
    'body.colour: is not a known field',
  ]) {
    t.ok(fields.some((f: string) => f.startsWith(want)), `${want} (got ${fields.join(' | ')})`)
  }
  t.match(body.message, /^invalid request: body\./)
  const b64 = await app.inject(post(JSON.stringify(sampleDocument({ attachments: [{ name: 'a', contentType: 'text/plain', data: 'not base64!' }] }))))
  t.match(b64.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.attachments.0.data', problem: /not strict base64/ }] })
})

t.test('semantic checks: impossible dates, duplicate recipients, unpadded base64, bad OrganId', async (t) => {
  const { app } = await buildTestApp(t)
  const r1 = await app.inject(post(JSON.stringify(sampleDocument({ promulgation: { place: 'HN', date: '2026/02/30' } }))))
  t.match(r1.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.promulgation.date', problem: /not a real calendar date/ }] })
  const twice = { organId: H29, name: 'x', organizationInCharge: 'y' }
  const r2 = await app.inject(post(JSON.stringify(sampleDocument({ recipients: [twice, { ...twice, organId: H29.toLowerCase() }] }))))
  t.match(r2.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.recipients.1.organId', problem: /listed twice/ }] })
  const r3 = await app.inject(post(JSON.stringify(sampleDocument({ attachments: [{ name: 'a', contentType: 'text/plain', data: 'YWJj' + 'ZA' }] }))))
  t.match(r3.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.attachments.0.data', problem: /not strict base64/ }] })
  const r4 = await app.inject(post(JSON.stringify(sampleDocument({ recipients: [{ organId: 'ABC..1', name: 'x', organizationInCharge: 'y' }] }))))
  t.equal(r4.statusCode, 400)
  t.equal(r4.json().code, 'GW_ERR_ENVELOPE_INVALID_ORGANID')
})

t.test('malformed JSON and empty bodies are validation errors', async (t) => {
  const { app } = await buildTestApp(t)
  const bad = await app.inject(post('{"recipients": ['))
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'GW_ERR_API_VALIDATION')
  const empty = await app.inject(post(''))
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().code, 'GW_ERR_API_VALIDATION')
  const proto = await app.inject(post('{"__proto__": {"x": 1}, "subject": "a"}'))
  t.equal(proto.statusCode, 400)
  t.equal(proto.json().code, 'GW_ERR_API_VALIDATION')
})

t.test('413 GW_ERR_API_BODY_TOO_LARGE over http.bodyLimit', async (t) => {
  const { app } = await buildTestApp(t, { config: { http: { bodyLimit: 4096 } } })
  const doc = sampleDocument({ attachments: [{ name: 'big.pdf', contentType: 'application/pdf', data: Buffer.alloc(8000).toString('base64') }] })
  const res = await app.inject(post(JSON.stringify(doc)))
  t.equal(res.statusCode, 413)
  t.match(res.json(), { code: 'GW_ERR_API_BODY_TOO_LARGE', message: /^the request body exceeds the limit of 4096 bytes \(http\.bodyLimit\)/ })
})

t.test('multipart: a file over limits.attachmentBytes is 413 naming that limit', async (t) => {
  const { app, store } = await buildTestApp(t, { config: { limits: { attachmentBytes: 5000 } } })
  const { attachments: _a, ...meta } = sampleDocument()
  const form = new FormData()
  form.append('metadata', JSON.stringify(meta))
  form.append('file', new Blob([Buffer.alloc(6000, 1)], { type: 'application/pdf' }), 'big.pdf')
  const req = new Request('http://x/', { method: 'POST', body: form })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': req.headers.get('content-type')! }, payload: Buffer.from(await req.arrayBuffer()) })
  t.equal(res.statusCode, 413)
  t.match(res.json(), { code: 'GW_ERR_API_BODY_TOO_LARGE', message: /^file part big\.pdf exceeds the limit of 5000 bytes \(limits\.attachmentBytes\)/ })
  t.equal((await store.listPackages({ limit: 5 })).items.length, 0, 'nothing stored')
})

t.test('attachment and package limits', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { attachmentBytes: 2000, packageBytes: 4096, attachments: 1 } } })
  const big = await app.inject(post(JSON.stringify(sampleDocument({ attachments: [{ name: 'big.pdf', contentType: 'application/pdf', data: Buffer.alloc(3000).toString('base64') }] }))))
  t.match(big.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'attachments.0', problem: /over limits\.attachmentBytes/ }] })
  const two = { name: 'a.pdf', contentType: 'application/pdf', data: 'YWJj' }
  const many = await app.inject(post(JSON.stringify(sampleDocument({ attachments: [two, two] }))))
  t.match(many.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: 'body.attachments', problem: /at most 1/ }] })
  const pkg = await app.inject(post(JSON.stringify(sampleDocument({ attachments: [{ name: 'b.pdf', contentType: 'application/pdf', data: Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(1981)]).toString('base64') }], subject: 'x'.repeat(500) }))))
  t.equal(pkg.statusCode, 413)
  t.equal(pkg.json().code, 'GW_ERR_ENVELOPE_TOO_LARGE')
})

t.test('415 GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const { app } = await buildTestApp(t)
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'image/png']) {
    const res = await app.inject(post('hello', type))
    t.equal(res.statusCode, 415, type)
    t.equal(res.json().code, 'GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', type)
    t.match(res.json().message, new RegExp(`^unsupported content type "?${type.replace(/[./+]/g, '\\$&')}"?$`), `${type}: the answer names the type that was sent`)
    t.match(res.json(), { hint: /application\/json, multipart\/form-data or application\/xml/, doc: '/v1/errors/GW_ERR_API_UNSUPPORTED_MEDIA_TYPE' })
  }
})

t.test('404 GW_ERR_API_NOT_FOUND for unknown routes', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/v2/nothing', headers: auth(KEYS.g22) })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { code: 'GW_ERR_API_NOT_FOUND', message: 'route GET /v2/nothing not found', hint: ERRORS.GW_ERR_API_NOT_FOUND.solve, doc: '/v1/errors/GW_ERR_API_NOT_FOUND' })
})

t.test('429 GW_ERR_API_RATE_LIMITED per key, with Retry-After; other keys unaffected', async (t) => {
  const { app } = await buildTestApp(t, { config: { limits: { requestsPerMinute: 3 } } })
  const codes: number[] = []
  for (let i = 0; i < 4; i++) codes.push((await app.inject({ url: '/v1/documents', headers: auth(KEYS.g22) })).statusCode)
  t.same(codes, [200, 200, 200, 429])
  const limited = await app.inject({ url: '/v1/documents', headers: auth(KEYS.g22) })
  t.equal(limited.json().code, 'GW_ERR_API_RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After in seconds')
  t.equal((await app.inject({ url: '/v1/documents', headers: auth(KEYS.h29) })).statusCode, 200, 'another key has its own budget')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'health is never limited')
})

t.test('5xx: the message does not leak internals; the code and request id are given', async (t) => {
  const { app } = await buildTestApp(t, {
    deps: {
      store: new Proxy({} as any, {
        get: (_o, name) => async () => {
          if (name === 'close') return
          throw name === 'listPackages' ? new TypeError('secret internal detail at /var/lib/x') : gwError('GW_ERR_STORE_UNAVAILABLE', { reason: 'disk /dev/sda1 full' })
        },
      }),
    },
  })
  const res = await app.inject({ url: '/v1/documents', headers: auth(KEYS.g22) })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'GW_ERR_API_INTERNAL')
  t.notMatch(res.body, /secret|\/var\/lib/)
  t.match(res.json().message, new RegExp(`request id ${res.headers['x-request-id']}`))
  const res2 = await app.inject({ url: '/v1/documents/x', headers: auth(KEYS.g22) })
  t.equal(res2.statusCode, 503)
  t.equal(res2.json().code, 'GW_ERR_STORE_UNAVAILABLE')
  t.notMatch(res2.body, /sda1/)
  t.match(res2.json().message, /^store unavailable \(request id /)
})

t.test('/healthz is up; /readyz says which dependency is down', async (t) => {
  const { app } = await buildTestApp(t, { brokerState: 'disconnected' })
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
  const r = await app.inject({ url: '/readyz' })
  t.equal(r.statusCode, 503)
  t.match(r.json(), { status: 'unavailable', checks: { store: { ok: true }, broker: { ok: false, detail: /disconnected/ } } })
  const up = await buildTestApp(t)
  const r2 = await up.app.inject({ url: '/readyz' })
  t.equal(r2.statusCode, 200)
  t.same(r2.json(), { status: 'ok', checks: { store: { ok: true }, broker: { ok: true }, trust: { ok: true } } }, 'the sample PKI: nothing expired')
  await up.store.close()
  const r3 = await up.app.inject({ url: '/readyz' })
  t.equal(r3.statusCode, 503)
  t.match(r3.json(), { checks: { store: { ok: false } } })
})

t.test('/docs serves the OpenAPI document built from the route schemas', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.0.3')
  t.ok(doc.paths['/v1/documents'].post, 'POST /v1/documents documented')
  t.ok(doc.paths['/v1/documents/{id}'].get)
  t.ok(doc.components.schemas.DocumentRequest, 'request schema from schemas/api/document-request.json')
  t.ok(doc.paths['/v1/documents'].post.requestBody.content['multipart/form-data'])
  t.equal((await app.inject({ url: '/docs' })).statusCode < 400, true, 'UI answers')
})
