/**
 * What the operator console reads besides the log: the directory of agencies by name, a sent document's own facts
 * (type, signer, recipients by name) and its attachments, as an operator opens or downloads them.
 */
import t from 'tap'
import { auth, buildTestApp, G22, H26, H29, KEYS, sampleDocument, STC } from '../helper.js'

t.test('GET /v1/operator/agencies: hosted agencies then peers, by name; operator keys only', async (t) => {
  const { app } = await buildTestApp(t, {
    config: { peers: [{ organId: H26, name: 'Ủy ban nhân dân Thành phố Hà Nội', organizationInCharge: 'Chính phủ' }, { organId: G22.toLowerCase(), name: 'a duplicate of a hosted agency' }] },
  })
  const r = await app.inject({ url: '/v1/operator/agencies', headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const items = r.json().items
  t.same(
    items.map((a: any) => [a.organId, a.hosted]),
    [
      [G22, true],
      [H29, true],
      [STC, true],
      [H26, false],
    ],
    'hosted first, a peer that repeats a hosted agency is left out',
  )
  t.match(items[0], { name: 'Văn phòng Chính phủ' })
  t.match(items[3], { name: 'Ủy ban nhân dân Thành phố Hà Nội', organizationInCharge: 'Chính phủ' })
  t.equal((await app.inject({ url: '/v1/operator/agencies', headers: auth(KEYS.g22) })).statusCode, 403, 'a DMS key cannot read it')
  t.equal((await app.inject({ url: '/v1/operator/agencies' })).statusCode, 401)
})

t.test('a peer in config must have a name and a valid code', async (t) => {
  await t.rejects(buildTestApp(t, { config: { peers: [{ organId: 'not a code!' }] } }), { code: 'GW_ERR_CONFIG_INVALID', message: /peers/ })
})

t.test('GET /v1/documents/:id?content=true: type, signer, recipients and attachments of the sent package; each attachment downloads', async (t) => {
  const { app } = await buildTestApp(t)
  const pdf = Buffer.from('%PDF-1.4\n% quyết định\n%%EOF\n')
  const doc = sampleDocument({
    attachments: [
      { name: 'Quyết định số 12.pdf', contentType: 'application/pdf', data: pdf.toString('base64') },
      { name: 'phu-luc.txt', contentType: 'text/plain', data: Buffer.from('Phụ lục I').toString('base64') },
    ],
  })
  const sent = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/json' }, payload: JSON.stringify(doc) })
  t.equal(sent.statusCode, 202, sent.body)
  const id = sent.json().id

  const plain = (await app.inject({ url: `/v1/documents/${id}`, headers: auth(KEYS.ops) })).json()
  t.notOk(plain.attachments, 'without content=true the package is not parsed again')
  const r = await app.inject({ url: `/v1/documents/${id}?content=true`, headers: auth(KEYS.ops) })
  t.equal(r.statusCode, 200, r.body)
  const full = r.json()
  t.match(full.header, {
    documentType: { typeName: 'Công văn' },
    signer: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
    to: [{ organId: H29, name: 'Ủy ban nhân dân Thành phố Hồ Chí Minh' }],
  })
  t.equal(full.attachments.length, 2)
  t.match(full.attachments[0], { name: 'Quyết định số 12.pdf', contentType: 'application/pdf', size: pdf.length, url: new RegExp(`^/v1/documents/${id}/attachments/`) })

  for (const [i, bytes] of [
    [0, pdf],
    [1, Buffer.from('Phụ lục I')],
  ] as const) {
    const a = full.attachments[i]
    const dl = await app.inject({ url: a.url, headers: auth(KEYS.ops) })
    t.equal(dl.statusCode, 200, `${a.name}: ${dl.statusCode}`)
    t.same(dl.rawPayload, bytes, `${a.name}: the bytes as sent`)
    t.equal(dl.headers['content-type'], a.contentType, `${a.name}: served with the type the listing gives`)
    t.match(dl.headers['content-disposition'], /attachment; .*filename\*=UTF-8''/)
  }
  // the sender's DMS may read them too; another agency's DMS may not, nor anyone without a key
  t.equal((await app.inject({ url: full.attachments[0].url, headers: auth(KEYS.g22) })).statusCode, 200)
  t.equal((await app.inject({ url: full.attachments[0].url, headers: auth(KEYS.stc) })).statusCode, 404)
  t.equal((await app.inject({ url: full.attachments[0].url })).statusCode, 401)
  t.equal((await app.inject({ url: `/v1/documents/${id}/attachments/nope`, headers: auth(KEYS.ops) })).json().code, 'GW_ERR_API_NOT_FOUND')
  t.equal((await app.inject({ url: `/v1/documents/${id}?content=maybe`, headers: auth(KEYS.ops) })).statusCode, 400)
})
