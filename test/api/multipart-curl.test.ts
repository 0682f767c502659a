/**
 * A real HTTP client (curl -F) sends the multipart `metadata` part the ways Java and .NET clients do: as a plain
 * field, as a field with `Content-Type: application/json`, and as a file part. All three are one document.
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseEnvelope } from '../../src/envelope/index.js'
import { buildTestApp, KEYS, sampleDocument } from '../helper.js'

const run = promisify(execFile)

t.test('curl -F: metadata as a field, as application/json, as a file', async (t) => {
  const { app, store } = await buildTestApp(t)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const dir = t.testdir({})
  const pdf = path.join(dir, 'quyet-dinh.pdf')
  writeFileSync(pdf, Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(20_000, 7)]))
  const metaFile = path.join(dir, 'meta.json')
  const { attachments: _a, ...meta } = sampleDocument()
  const forms: Record<string, (n: number) => string[]> = {
    field: (n) => ['-F', `metadata=${JSON.stringify({ ...meta, code: { ...meta.code, number: String(100 + n) } })}`],
    'field with Content-Type: application/json': (n) => ['-F', `metadata=${JSON.stringify({ ...meta, code: { ...meta.code, number: String(100 + n) } })};type=application/json`],
    'file part': (n) => {
      writeFileSync(metaFile, JSON.stringify({ ...meta, code: { ...meta.code, number: String(100 + n) } }))
      return ['-F', `metadata=@${metaFile};type=application/json`]
    },
  }
  let n = 0
  for (const [how, metadata] of Object.entries(forms)) {
    n++
    const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${KEYS.g22}`, ...metadata(n), '-F', `file=@${pdf};type=application/pdf`, `${url}/v1/documents`])
    const [body, status] = stdout.split(/\n(?=\d{3}$)/)
    t.equal(status, '202', `${how}: ${body}`)
    const env = parseEnvelope((await store.getPackageBytes(JSON.parse(body!).id))!.bytes)
    t.equal(env.edoc?.messageHeader.code.codeNumber, String(100 + n), `${how}: the metadata was read`)
    t.same(env.edoc?.attachments.map((a) => a.attachmentName), ['quyet-dinh.pdf'], `${how}: only the file is an attachment`)
  }
  const { stdout } = await run('curl', ['-sS', '-H', `Authorization: Bearer ${KEYS.g22}`, '-F', 'metadata={not json;type=application/json', `${url}/v1/documents`])
  const bad = JSON.parse(stdout)
  t.equal(bad.code, 'GW_ERR_API_VALIDATION', `broken JSON in a typed part: ${bad.message}`)
})
