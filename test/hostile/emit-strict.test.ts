/**
 * Strict on what we emit: the gateway never signs a package that VNPT's Java edXML library (used by most DMS
 * vendors) fails to open. An attachment declared as a ZIP-family type that is not a ZIP, or as application/pdf
 * that is not a PDF, is refused at the API with GW_ERR_ENVELOPE_ATTACHMENT_TYPE (whose hint says to declare the
 * real type), in JSON, multipart and prebuilt edXML alike; a numeric element is never written empty (the JSON
 * form omits it or fails validation; a prebuilt package with `<SteeringType/>` is refused with
 * GW_ERR_ENVELOPE_SCHEMA naming the element). Nothing refused reaches the outbox.
 */
import { zipSync } from 'fflate'
import t from 'tap'
import { auth, buildTestApp, KEYS, sampleDocument } from '../helper.js'
import { sampleEdoc } from '../integration/receive/helpers.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const pdf = Buffer.from('%PDF-1.4\n% test document\n%%EOF\n')
const zip = Buffer.from(zipSync({ 'bao-cao.docx': Buffer.from('PK\x03\x04 not really', 'latin1') }))
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')

t.test('declared ZIP or PDF that is not one: refused at the API in every form, the real type accepted', async (t) => {
  const { app, store } = await buildTestApp(t)
  const json = (name: string, contentType: string, data: Uint8Array) =>
    app.inject({ method: 'POST', url: '/v1/documents', headers: auth(KEYS.g22), payload: sampleDocument({ attachments: [{ name, contentType, data: b64(data) }] }) })
  const refused: [string, string, Uint8Array][] = [
    ['ho-so.zip', 'application/zip', pdf],
    ['ho-so.zip', 'application/x-zip-compressed', pdf],
    ['ho-so.zip', 'application/x-zip', Buffer.from('just text')],
    ['ho-so.zip', 'multipart/x-zip', Buffer.alloc(0)],
    ['ho-so.zip', 'Application/ZIP; name="ho-so.zip"', Buffer.from('Rar!\x1a\x07\x00', 'latin1')],
    ['cong-van.pdf', 'application/pdf', Buffer.from('<html><body>not a pdf</body></html>')],
    ['cong-van.pdf', 'application/pdf', Buffer.from('{\\rtf1 ...}')],
    ['cong-van.pdf', 'application/pdf', zip],
  ]
  for (const [name, type, data] of refused) {
    const r = await json(name, type, data)
    t.equal(r.statusCode, 400, `${type} over ${JSON.stringify(Buffer.from(data.subarray(0, 6)).toString('latin1'))}: 400`)
    t.match(r.json(), { code: 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', message: new RegExp(`${name.replace('.', '\\.')} is declared`), hint: /[Dd]eclare the real content type/ })
  }
  const accepted: [string, string, Uint8Array][] = [
    ['ho-so.zip', 'application/zip', zip],
    ['ho-so.zip', 'application/x-zip-compressed', zip],
    ['cong-van.pdf', 'application/pdf', pdf],
    ['cong-van.pdf', 'application/pdf', Buffer.from(zipSync({ 'cong-van.pdf': pdf }))],
    ['ghi-chu.txt', 'text/plain', pdf],
    ['trang.html', 'text/html', Buffer.from('<html></html>')],
  ]
  for (const [name, type, data] of accepted) t.equal((await json(name, type, data)).statusCode, 202, `${name} as ${type}: accepted`)

  // multipart: the same rule on the file part's declared type
  const boundary = '----lienthong-emit'
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n`),
    Buffer.from(JSON.stringify({ ...sampleDocument(), attachments: undefined })),
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ho-so.zip"\r\nContent-Type: application/zip\r\n\r\n`),
    pdf,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  const mp = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: body })
  t.equal(mp.statusCode, 400, mp.body.slice(0, 300))
  t.equal(mp.json().code, 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'multipart: refused the same way')

  // prebuilt edXML: the declared types edited after building
  const prebuilt = (edit: (xml: string) => string) => {
    const xml = edit(Buffer.from(sampleEdoc(G22, [H29]).bytes).toString('utf8'))
    return app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': 'application/xml' }, payload: Buffer.from(xml) })
  }
  const asZip = await prebuilt((x) => x.replaceAll('>application/pdf<', '>application/zip<'))
  t.equal(asZip.statusCode, 400, asZip.body.slice(0, 300))
  t.equal(asZip.json().code, 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'prebuilt: a PDF declared application/zip')
  const oneSide = await prebuilt((x) => x.replace('>application/pdf<', '>application/x-zip-compressed<'))
  t.equal(oneSide.json().code, 'GW_ERR_ENVELOPE_ATTACHMENT_TYPE', 'prebuilt: declared a ZIP in the Manifest only')
  t.equal((await prebuilt((x) => x)).statusCode, 202, 'prebuilt as built: accepted')
  const rows = await store.listPackages({ limit: 100 })
  t.equal(rows.items.length, accepted.length + 1, 'only the accepted ones reached the outbox')
})

t.test('numeric elements are never written empty', async (t) => {
  const { app } = await buildTestApp(t)
  const post = (payload: unknown, type = 'application/json') => app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': type }, payload: payload as string })
  // JSON: the schema types them as integers; an empty or non-numeric value is a validation error naming the field
  for (const [field, value] of [['steeringType', ''], ['pageAmount', ''], ['promulgationAmount', 'abc'], ['priority', 'cao']] as const) {
    const r = await post({ ...sampleDocument(), [field]: value })
    t.equal(r.statusCode, 400, `${field} = ${JSON.stringify(value)}: 400`)
    t.match(r.json(), { code: 'GW_ERR_API_VALIDATION', details: [{ field: new RegExp(field) }] })
  }
  // left out: omitted from the package, never an empty element (SteeringType takes its default 0)
  const ok = await post({ ...sampleDocument(), pageAmount: undefined, promulgationAmount: undefined })
  t.equal(ok.statusCode, 202, ok.body.slice(0, 300))
  const sent = await app.inject({ method: 'GET', url: `/v1/documents/${ok.json().id}/package`, headers: auth(KEYS.g22) })
  if (sent.statusCode === 200) {
    t.notMatch(sent.body, /<edXML:(SteeringType|PageAmount|PromulgationAmount|Priority|Type|TypeDetail)\s*\/>/, 'no empty numeric element in what we sign')
    t.match(sent.body, /<edXML:SteeringType>0<\/edXML:SteeringType>/)
  }
  // prebuilt: an empty numeric element, self-closed or open-close, refused with the element named
  const base = Buffer.from(sampleEdoc(G22, [H29]).bytes).toString('utf8')
  for (const [name, edit] of [
    ['SteeringType', (x: string) => x.replace(/<edXML:SteeringType>\d+<\/edXML:SteeringType>/, '<edXML:SteeringType/>')],
    ['SteeringType', (x: string) => x.replace(/<edXML:SteeringType>\d+<\/edXML:SteeringType>/, '<edXML:SteeringType> </edXML:SteeringType>')],
    ['PageAmount', (x: string) => x.replace(/<edXML:PageAmount>\d+<\/edXML:PageAmount>/, '<edXML:PageAmount></edXML:PageAmount>')],
  ] as const) {
    const xml = edit(base)
    t.not(xml, base, `the package was edited (${name})`)
    const r = await post(Buffer.from(xml), 'application/xml')
    t.equal(r.statusCode, 400, r.body.slice(0, 300))
    t.match(r.json(), { code: 'GW_ERR_ENVELOPE_SCHEMA', message: new RegExp(`${name} is empty`) }, `prebuilt: empty ${name} refused`)
  }
})
