// `lienthong parse FILE` over every interop package (skipped with the reason when ../shared/interop/ is absent) and
// every peer-shaped fixture of ours, spawned like a user would run it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFileSync, writeFileSync } from 'node:fs'
import { interopFiles, interopPath, interopSkip, peerFiles, peerPath } from './helpers.js'
import { AXIS_2019, AXIS_2025 } from '../../fixtures/peers/generate.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

interface Run {
  code: number
  stdout: string
  stderr: string
}
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'parse', ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

async function pool<T, R>(items: T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i]!)
      }
    }),
  )
  return out
}

t.test('every interop package prints as JSON with exit 0', { skip: interopSkip }, async (t) => {
  const files = interopFiles()
  const runs = await pool(files, 2, (f) => cli(interopPath(f)))
  for (const [i, f] of files.entries()) {
    const r = runs[i]!
    t.equal(r.code, 0, `${f} exit code`)
    const j = JSON.parse(r.stdout) as Record<string, any>
    t.equal(j['kind'], f.startsWith('sdk-status') ? 'status' : 'edoc', f)
    t.match(j['sha256'], /^[0-9a-f]{64}$/)
    const payload = /ContentTransferEncoded[^>]*>\s*([A-Za-z0-9+/]{100})/.exec(readFileSync(interopPath(f), 'latin1'))?.[1]
    if (payload) t.notOk(r.stdout.includes(payload), `${f}: no payload in the output`)
    if (j['kind'] === 'status') {
      t.equal(typeof j['status'].messageHeader.statusCode, 'string')
      t.match(j['status'].messageHeader.statusCode, /^(0[1-6]|1[356])$/)
    }
  }
  const byName = (name: string): Record<string, any> => JSON.parse(runs[files.indexOf(name)]!.stdout) as Record<string, any>
  t.equal(byName('sdk-status_acceptance_03.edxml')['status'].messageHeader.statusCode, '03', '"03", not 3')
  const axis = byName('axis-2019-852e179c.edxml')
  t.equal(axis['edoc'].messageHeader.documentId, '9fbfbad2-f1f8-4256-a2eb-50fb1061cddb')
  t.equal(axis['edoc'].traceHeaderList.traceHeaders[0].organId, '01.02.G22')
  t.match(axis['attachments'], [
    {
      attachmentName: 'GUIDE_INSTALL OPENVPN.SIGNED.PDF',
      declared: { manifest: 'application/pdf', attachment: 'application/zip' },
      payload: { contentType: 'application/zip' },
      content: { contentType: 'application/octet-stream', size: 17 },
      mismatch: true,
    },
  ])
  t.ok(axis['warnings'].some((w: { code: string }) => w.code === 'CONTENT_TYPE_MISMATCH'))
  const y2025 = byName('axis-2025-874e0f18.edxml')
  t.equal(y2025['edoc'].messageHeader.from.organId, 'vxp.saas.03', 'as in the package')
  t.ok(y2025['warnings'].some((w: { code: string }) => w.code === 'ORGANID_LENIENT'))
  t.equal(byName('sdk-edoc_new.edxml')['warnings'][0].code, 'JUNK_BEFORE_XML')
})

t.test('every peer-shaped fixture prints as JSON with exit 0', async (t) => {
  const files = peerFiles()
  const runs = await pool(files, 2, (f) => cli(peerPath(f)))
  for (const [i, f] of files.entries()) {
    const r = runs[i]!
    t.equal(r.code, 0, `${f} exit code`)
    const j = JSON.parse(r.stdout) as Record<string, any>
    t.equal(j['kind'], f.startsWith('status-') ? 'status' : 'edoc', f)
    t.match(j['sha256'], /^[0-9a-f]{64}$/)
    const payload = /ContentTransferEncoded[^>]*>\s*([A-Za-z0-9+/]{100})/.exec(readFileSync(peerPath(f), 'latin1'))?.[1]
    if (payload) t.notOk(r.stdout.includes(payload), `${f}: no payload in the output`)
    if (j['kind'] === 'status') {
      t.equal(typeof j['status'].messageHeader.statusCode, 'string')
      t.match(j['status'].messageHeader.statusCode, /^(0[1-6]|1[356])$/)
    }
  }
  const byName = (name: string): Record<string, any> => JSON.parse(runs[files.indexOf(name)]!.stdout) as Record<string, any>
  t.equal(byName('status-03-acceptance.edxml')['status'].messageHeader.statusCode, '03', '"03", not 3')
  const axis = byName('axis-2019-zip-garbage.edxml')
  t.equal(axis['edoc'].messageHeader.documentId, AXIS_2019.documentId)
  t.equal(axis['edoc'].traceHeaderList.traceHeaders[0].organId, '02.07.G22')
  t.match(axis['attachments'], [
    {
      attachmentName: AXIS_2019.name,
      declared: { manifest: 'application/pdf', attachment: 'application/zip' },
      payload: { contentType: 'application/zip' },
      content: { contentType: 'application/octet-stream', size: 17 },
      mismatch: true,
    },
  ])
  t.ok(axis['warnings'].some((w: { code: string }) => w.code === 'CONTENT_TYPE_MISMATCH'))
  const y2025 = byName('axis-2025-zip-pdf.edxml')
  t.equal(y2025['edoc'].messageHeader.from.organId, AXIS_2025.organId, 'as in the package')
  t.ok(y2025['warnings'].some((w: { code: string }) => w.code === 'ORGANID_LENIENT'))
  t.equal(byName('sdk-edoc-new-junk.edxml')['warnings'][0].code, 'JUNK_BEFORE_XML')
})

t.test('an interop package with junk before <?xml is refused with --refuse-junk', { skip: interopSkip }, async (t) => {
  const junk = await cli(interopPath('sdk-edoc_new.edxml'), '--refuse-junk')
  t.equal(junk.code, 1)
  t.match(junk.stderr, /^GW_ERR_ENVELOPE_NOT_XML: /)
})

t.test('invalid packages: CODE: message on stderr, exit 1', async (t) => {
  const dir = t.testdir({
    'xxe.edxml': '<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>',
    'plain.xml': '<note/>',
  })
  const [xxe, plain, junk] = await pool([[join(dir, 'xxe.edxml')], [join(dir, 'plain.xml')], [peerPath('sdk-edoc-new-junk.edxml'), '--refuse-junk']], 2, (a) => cli(...a))
  t.equal(xxe!.code, 1)
  t.match(xxe!.stderr, /^GW_ERR_ENVELOPE_DOCTYPE: /)
  t.equal(xxe!.stdout, '')
  t.equal(plain!.code, 1)
  t.match(plain!.stderr, /^GW_ERR_ENVELOPE_NOT_EDXML: root element is note/)
  t.equal(junk!.code, 1)
  t.match(junk!.stderr, /^GW_ERR_ENVELOPE_NOT_XML: /)
})

t.test('usage errors exit 2', async (t) => {
  const dir = t.testdir({})
  writeFileSync(join(dir, 'x'), '')
  const [none, missing] = await pool([[], [join(dir, 'does-not-exist.edxml')]], 2, (a) => cli(...a))
  t.equal(none!.code, 2)
  t.match(none!.stderr, /usage: lienthong parse FILE/)
  t.equal(missing!.code, 2)
  t.match(missing!.stderr, /cannot read/)
})
