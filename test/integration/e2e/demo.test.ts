/**
 * `lienthong demo`, spawned as a newcomer would run it: exit 0 with the document, 01, 03, 06 and the timeline
 * printed; exit 1 with what to do when RabbitMQ is not reachable; 2 for a bad argument.
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
  const r = await runDemo(['--amqp', AMQP_URL])
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
