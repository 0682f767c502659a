/**
 * `lienthong demo`, spawned as a newcomer would run it: exit 0 with the document, 01, 03, 06 and the timeline
 * printed; exit 1 with what to do when RabbitMQ is not reachable; 2 for a bad argument. `--axis`: each step of the
 * exchange with an axis-only agency printed in order (sendEdoc, the DMS's list/getEdoc/updateStatus, 01 and 03
 * back, the way back), exit 0.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { AMQP_URL, ROOT } from '../../helper.js'

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'demo', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }))
  })
}

t.test('the demo completes the exchange and prints the timeline', async (t) => {
  const r = await runDemo(['--amqp', AMQP_URL, '--timeout', '120'])
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(0, 500)})`)
  t.match(r.stdout, /received for 000\.00\.00\.H26: signature VALID/, 'B verified the document')
  t.match(r.stdout, /identical to what A sent/, 'PDF bytes identical')
  for (const code of ['01 Đã đến', '03 Đã tiếp nhận', '06 Hoàn thành']) t.match(r.stdout, new RegExp(`status ${code}`), `status ${code} printed`)
  t.match(r.stdout, /Timeline at gateway A/)
  const timeline = r.stdout.slice(r.stdout.indexOf('Timeline at gateway A'))
  const order = ['accepted', 'queued', 'delivered', 'registered', 'completed'].map((s) => timeline.indexOf(`(${s}`))
  t.ok(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!)), 'timeline states in order')
  t.match(r.stdout, /Exchange completed in/)
  t.comment(`demo took ${r.ms} ms (process start included, on a shared machine)`)
})

t.test('--axis: an axis-only agency and a lienthong agency exchange both ways through the VXP protocol', async (t) => {
  const r = await runDemo(['--axis', '--amqp', AMQP_URL, '--timeout', '120'])
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(0, 500)})`)
  const out = r.stdout
  const steps: [string, RegExp][] = [
    ['A accepts the document for the axis-only agency', /sent DocumentId \S+ .* to 000\.00\.00\.H26: built, signed, stored/],
    ['the connector sends it with sendEdoc and keeps the axis DocId', /sendEdoc to the axis .*answered DocId [0-9a-f-]{36}; delivery queued \(via: axis\)/],
    ['the axis-only DMS lists it', /getReceivedEdocList lists docId [0-9a-f-]{36} from 000\.00\.00\.G22/],
    ['getEdoc gives the exact package', /getEdoc: the edXML package, \d+ bytes, byte for byte the package gateway A signed/],
    ['updateStatus done', /updateStatus done/],
    ['01 back at A through the axis', /status 01 Đã đến from 000\.00\.00\.H26: polled from the axis.*delivery delivered/],
    ['the DMS sends 03 as a status package', /sendEdoc messagetype=status, its own status package 03/],
    ['03 back at A', /status 03 Đã tiếp nhận from 000\.00\.00\.H26 through the axis: delivery registered/],
    ['the way back: the DMS sends to G22', /sendEdoc of its own edXML package to 000\.00\.00\.G22/],
    ['A takes it from the axis, flagged', /document from 000\.00\.00\.H26 polled from the axis, stored in A's inbox: verdict AXIS_UNSIGNED/],
    ['A answers 03 through the axis', /posts status 03 .*sent back through the axis/],
    ['the DMS sees 01 and 03', /getReceivedEdocList status has 01 and 03 from 000\.00\.00\.G22; getSentEdocList shows receiveStatus 03/],
  ]
  let at = 0
  for (const [what, re] of steps) {
    const m = re.exec(out.slice(at))
    t.ok(m, what)
    if (m) at += m.index + m[0].length
  }
  t.match(out, /queued {2}by system {2}via the national axis, DocId [0-9a-f-]{36}/, 'the timeline shows the delivery went via the axis')
  t.match(out, /Exchange with the axis-only agency completed in/)
  t.comment(`demo --axis took ${r.ms} ms`)
})

t.test('--axis with RabbitMQ not reachable: non-zero and says what to do', async (t) => {
  const r = await runDemo(['--axis', '--amqp', 'amqp://guest:secret@127.0.0.1:1'])
  t.equal(r.code, 1)
  t.match(r.stderr, /RabbitMQ is not reachable/)
})

t.test('RabbitMQ not reachable: non-zero and says what to do', async (t) => {
  const r = await runDemo(['--amqp', 'amqp://guest:secret@127.0.0.1:1'])
  t.equal(r.code, 1)
  t.match(r.stderr, /RabbitMQ is not reachable at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/)
  t.match(r.stderr, /systemctl start rabbitmq-server|docker run/)
  t.notMatch(r.stderr, /secret/, 'password not shown')
})

t.test('bad argument: exit 2 with usage', async (t) => {
  const r = await runDemo(['--nope'])
  t.equal(r.code, 2)
  t.match(r.stderr, /usage: lienthong demo/)
})
