/**
 * Hostile client: a multipart upload far over the total bound (limits.multipartBytes), each part under the
 * per-file bound (limits.attachmentBytes). The gateway refuses it with 413 GW_ERR_API_BODY_TOO_LARGE as soon as
 * the parts add up past the bound, before the client has sent the rest, and its memory while refusing stays near
 * the bound (never the whole upload). With a Content-Length over the bound it refuses before reading anything.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { auth, buildTestApp, KEYS, sampleDocument } from '../helper.js'
import { memoryPeak } from './helpers.js'

const MiB = 1048576

t.test('multipart: bounded in total, refused while streaming, memory near the bound', async (t) => {
  const limits = { multipartBytes: 8 * MiB, attachmentBytes: 4 * MiB, attachments: 200 }
  const { app } = await buildTestApp(t, { config: { limits } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const boundary = '----lienthong-hostile-multipart'
  const { attachments: _none, ...doc } = sampleDocument()
  // documents: 60 file parts of 2 MiB (120 MiB); verify: its four parts of 5 MiB (each part under its own bound)
  const plans: Record<string, { names: string[]; part: Buffer }> = {
    '/v1/documents': { names: Array.from({ length: 60 }, (_, i) => `file${i}`), part: Buffer.alloc(2 * MiB, 0x25) },
    '/v1/verify': { names: ['pdf', 'edxml', 'content', 'signature'], part: Buffer.alloc(5 * MiB, 0x25) },
  }
  for (const path of ['/v1/documents', '/v1/verify']) {
    global.gc?.()
    const mem = memoryPeak()
    const base = process.memoryUsage().arrayBuffers / MiB
    const { names, part } = plans[path]!
    const total = names.length * part.length
    let sent = 0
    const res = await new Promise<{ status: number; body: string; sentWhenAnswered: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...auth(KEYS.g22), 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' } })
      let answered = false
      // the gateway closes the connection under the client's remaining writes: their ECONNRESET is expected
      req.on('socket', (sock) => sock.on('error', () => {}))
      req.on('response', (r) => {
        answered = true
        const sentWhenAnswered = sent
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => {
          resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), sentWhenAnswered })
          req.end() // the client gives up the rest of its upload (the gateway discards what is still coming)
        })
      })
      // the gateway may stop reading (and close) before the client has read its answer: a write then fails with
      // EPIPE / ECONNRESET while the 413 is on its way; give the answer a moment before calling it an error
      req.on('error', (e) => {
        if (!answered) setTimeout(() => (answered ? undefined : reject(e)), 3000)
      })
      void (async () => {
        const write = (b: Buffer) => new Promise<void>((r) => (req.write(b) ? r() : req.once('drain', () => r())))
        if (path === '/v1/documents') await write(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(doc)}\r\n`))
        for (const [i, name] of names.entries()) {
          if (answered || req.destroyed) break
          await write(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="f${i}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`))
          await write(part)
          await write(Buffer.from('\r\n'))
          sent += part.length
        }
        if (!answered && !req.destroyed) req.end(`--${boundary}--\r\n`)
      })().catch(() => {})
    })
    const peak = mem.stop()
    t.equal(res.status, 413, `${path}: ${res.body.slice(0, 200)}`)
    t.equal(JSON.parse(res.body).code, 'GW_ERR_API_BODY_TOO_LARGE', `${path}: the code`)
    t.ok(res.sentWhenAnswered < total, `${path}: answered after ${(res.sentWhenAnswered / MiB).toFixed(0)} MiB of ${total / MiB} MiB`)
    const growth = peak.arrayBuffersMiB - base
    t.comment(`${path}: refused after ${(res.sentWhenAnswered / MiB).toFixed(0)} MiB sent; peak arrayBuffers +${growth.toFixed(1)} MiB over ${base.toFixed(1)} (rss peak ${peak.rssMiB} MiB)`)
    t.ok(growth < 3 * (limits.multipartBytes / MiB), `${path}: memory while refusing grew ${growth.toFixed(1)} MiB (bound ${limits.multipartBytes / MiB} MiB)`)
  }

  // a Content-Length over the bound: refused before the body is read
  const len = await app.inject({ method: 'POST', url: '/v1/documents', headers: { ...auth(KEYS.g22), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(100 * MiB) }, payload: '' })
  t.equal(len.statusCode, 413)
  t.equal(len.json().code, 'GW_ERR_API_BODY_TOO_LARGE')
  // the refused uploads' connections may still be open (a client write waiting for a drain that never comes):
  // closed here, so that the app's close does not wait for them
  app.server.closeAllConnections()
})
