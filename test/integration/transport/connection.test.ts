// The connection manager against the real RabbitMQ: backoff when unreachable, irrecoverable errors, setup failures.
import t from 'tap'
import { createAmqpConnection, declareTopology, isIrrecoverable, type ConnectFailure, type ConnectionState } from '../../../src/transport/index.js'
import { isGatewayError } from '../../../src/errors.js'
import { adminChannel, AMQP_URL, deleteAll, memoryLogger, randomName, randomOrganId, waitFor } from './helpers.js'

t.test('connects with its connection name, reports states, closes for good', async (t) => {
  const states: ConnectionState[] = []
  const log = memoryLogger()
  const conn = createAmqpConnection({ url: AMQP_URL, connectionName: randomName('t-conn'), logger: log })
  conn.on('state', (s) => states.push(s))
  const model = await conn.whenConnected({ timeoutMs: 10_000 })
  t.equal(conn.state, 'connected')
  t.equal(conn.current, model)
  t.same(states, ['connected'], 'connecting was set before listeners could attach; connected follows')
  t.ok(log.lines.some((l) => l.level === 'info' && l.msg === 'AMQP connected'))
  t.match(conn.redactedUrl, /:\*\*\*@/, 'password redacted in redactedUrl')
  await conn.close()
  t.equal(conn.state, 'disconnected')
  t.equal(conn.closed, true)
  const err = await conn.whenConnected().catch((e: unknown) => e)
  t.ok(isGatewayError(err, 'GW_ERR_TRANSPORT_UNAVAILABLE'))
})

t.test('unreachable broker: clear log with the redacted URL, capped exponential backoff, close() stops retrying', async (t) => {
  const log = memoryLogger()
  const failures: ConnectFailure[] = []
  const url = 'amqp://gw:s3cr3t-pw@127.0.0.1:1/'
  const conn = createAmqpConnection({ url, initialDelayMs: 20, maxDelayMs: 80, random: () => 0.999, logger: log })
  conn.on('connectFailed', (f) => failures.push(f))
  const timeout = await conn.whenConnected({ timeoutMs: 300 }).catch((e: unknown) => e)
  t.ok(isGatewayError(timeout, 'GW_ERR_TRANSPORT_UNAVAILABLE'), 'whenConnected times out as unavailable')
  await waitFor(() => failures.length >= 5, 5000)
  await conn.close()
  const n = failures.length
  t.ok(n >= 5)
  t.same(
    failures.slice(0, 5).map((f) => f.delayMs),
    [20, 40, 80, 80, 80],
    'delays double up to maxDelayMs (random fixed at ~1)',
  )
  t.ok(failures.every((f) => !f.irrecoverable))
  const warn = log.lines.find((l) => l.level === 'warn')
  t.match(warn?.msg, /RabbitMQ at amqp:\/\/gw:\*\*\*@127\.0\.0\.1:1\/ is unreachable \(.*ECONNREFUSED.*\): start RabbitMQ or fix the AMQP URL; retrying in \d+ ms/)
  t.notOk(JSON.stringify(log.lines).includes('s3cr3t-pw'), 'the password never appears in the log')
  await new Promise((r) => setTimeout(r, 200))
  t.equal(failures.length, n, 'no attempt after close()')
})

t.test('full jitter: the delay is drawn from [0, cap]', async (t) => {
  const failures: ConnectFailure[] = []
  const conn = createAmqpConnection({ url: 'amqp://127.0.0.1:1', initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.25 })
  conn.on('connectFailed', (f) => failures.push(f))
  await waitFor(() => failures.length >= 2, 3000)
  await conn.close()
  t.same(failures.slice(0, 2).map((f) => f.delayMs), [25, 50])
})

t.test('wrong password is irrecoverable: reported distinctly and retried slowly', async (t) => {
  const log = memoryLogger()
  const failures: ConnectFailure[] = []
  const bad = new URL(AMQP_URL)
  bad.password = 'definitely-wrong'
  const conn = createAmqpConnection({ url: bad.toString(), irrecoverableDelayMs: 4000, initialDelayMs: 10, logger: log })
  conn.on('connectFailed', (f) => failures.push(f))
  await waitFor(() => failures.length >= 1, 5000)
  await conn.close()
  t.equal(failures.length, 1)
  t.equal(failures[0]?.irrecoverable, true)
  t.ok((failures[0]?.delayMs ?? 0) >= 3000 && (failures[0]?.delayMs ?? 0) <= 5000, `slow retry (${failures[0]?.delayMs} ms)`)
  const line = log.lines.find((l) => l.level === 'error')
  t.match(line?.msg, /refused the gateway .*ACCESS.REFUSED.*check the user name and password.*will not fix itself; retrying slowly/)
  t.notOk(JSON.stringify(log.lines).includes('definitely-wrong'))
})

t.test('missing vhost is irrecoverable', async (t) => {
  const failures: ConnectFailure[] = []
  const u = new URL(AMQP_URL)
  u.pathname = `/${randomName('no-such-vhost')}`
  const conn = createAmqpConnection({ url: u.toString(), irrecoverableDelayMs: 4000 })
  conn.on('connectFailed', (f) => failures.push(f))
  await waitFor(() => failures.length >= 1, 5000)
  await conn.close()
  t.equal(failures[0]?.irrecoverable, true, String(failures[0]?.error))
  t.equal(isIrrecoverable(Object.assign(new Error('x'), { code: 403 })), true)
  t.equal(isIrrecoverable(new Error('connect ECONNREFUSED 127.0.0.1:5672')), false)
})

t.test('a failing setup (queue exists with other arguments) is retried until the conflict is gone', async (t) => {
  const prefix = randomName()
  const organ = randomOrganId()
  const queue = `${prefix}.inbox.${organ}`
  const { ch } = await adminChannel(t)
  await ch.assertQueue(queue, { durable: true }) // no DLX, no priority: conflicts with the topology
  const failures: ConnectFailure[] = []
  const conn = createAmqpConnection({ url: AMQP_URL, initialDelayMs: 50, maxDelayMs: 200 })
  const topo = declareTopology(conn, {
    hostedOrganIds: [organ],
    exchange: `${prefix}.edoc`,
    deadLetterExchange: `${prefix}.dead`,
    inboxQueuePrefix: `${prefix}.inbox.`,
    deadLetterQueuePrefix: `${prefix}.dlq.`,
  })
  t.teardown(async () => {
    await conn.close()
    await deleteAll({ queues: [queue, `${prefix}.dlq.${organ}`], exchanges: [topo.exchange, topo.deadLetterExchange] })
  })
  conn.on('connectFailed', (f) => failures.push(f))
  await waitFor(() => failures.length >= 2, 5000)
  t.ok(failures.length >= 2)
  t.match(String(failures[0]?.error), /PRECONDITION/)
  t.equal(conn.state === 'connected', false)
  await ch.deleteQueue(queue)
  await conn.whenConnected({ timeoutMs: 5000 })
  const q = await ch.checkQueue(queue)
  t.equal(q.queue, queue, 'declared by the manager once the conflict was gone')
})

t.test('setups: one registered while connecting runs before connected; one registered when connected runs at once', async (t) => {
  const conn = createAmqpConnection({ url: AMQP_URL })
  t.teardown(() => conn.close())
  const order: string[] = []
  let lateAdded = false
  conn.addSetup(async () => {
    order.push('a')
    await new Promise((r) => setTimeout(r, 50))
    conn.addSetup(async () => {
      order.push('late')
    })
    lateAdded = true
  })
  await conn.whenConnected({ timeoutMs: 10_000 })
  t.ok(lateAdded)
  t.same(order, ['a', 'late'], 'the late setup ran in the same connect sequence')
  const ran = new Promise<boolean>((resolve) => conn.addSetup(async (c) => resolve(c === conn.current)))
  t.equal(await ran, true, 'runs at once on the current connection')
})
