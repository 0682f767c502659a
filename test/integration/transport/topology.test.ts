// Topology option rules and naming (no broker needed for these; the declared result is checked in the other files).
import t from 'tap'
import { inboxQueueArguments, redactUrl, resolveTopology, routingKeyFor } from '../../../src/transport/index.js'
import { isGatewayError } from '../../../src/errors.js'

t.test('defaults follow docs/design.md', async (t) => {
  const topo = resolveTopology({ hostedOrganIds: ['000.00.01.h29', ' 000.00.02.H29 ', '000.00.01.H29'] })
  t.equal(topo.exchange, 'lienthong.edoc')
  t.equal(topo.deadLetterExchange, 'lienthong.dead')
  t.same(topo.inboxes, [
    { organId: '000.00.01.H29', queue: 'lienthong.inbox.000.00.01.H29', deadLetterQueue: 'lienthong.dead.000.00.01.H29' },
    { organId: '000.00.02.H29', queue: 'lienthong.inbox.000.00.02.H29', deadLetterQueue: 'lienthong.dead.000.00.02.H29' },
  ], 'uppercased, trimmed, deduplicated')
  t.same(topo.queues, ['lienthong.inbox.000.00.01.H29', 'lienthong.inbox.000.00.02.H29'])
  t.same(inboxQueueArguments(topo), { 'x-dead-letter-exchange': 'lienthong.dead', 'x-max-priority': 10 })
  t.ok(Object.isFrozen(topo))
})

t.test('quorum queues carry no x-max-priority', async (t) => {
  const topo = resolveTopology({ hostedOrganIds: ['A1'], queueType: 'quorum', deliveryLimit: 5 })
  t.same(inboxQueueArguments(topo), { 'x-dead-letter-exchange': 'lienthong.dead', 'x-queue-type': 'quorum', 'x-delivery-limit': 5 })
})

t.test('every problem is reported at once', async (t) => {
  const err = (() => {
    try {
      resolveTopology({ hostedOrganIds: ['bad id', 'ok.1'], exchange: 'x', deadLetterExchange: 'x', maxPriority: 0 })
    } catch (e) {
      return e
    }
  })()
  t.ok(isGatewayError(err, 'GW_ERR_CONFIG_INVALID'))
  t.match(String((err as Error).message), /must differ.*maxPriority 0.*"bad id"/)
})

t.test('routing keys and URL redaction', async (t) => {
  t.equal(routingKeyFor(' g22.abc '), 'G22.ABC')
  t.equal(redactUrl('amqp://gw:p%40ss@mq.example:5672/prod'), 'amqp://gw:***@mq.example:5672/prod')
  t.equal(redactUrl('amqp://mq.example'), 'amqp://mq.example')
  t.equal(redactUrl('not a url'), '<unparsable AMQP URL>')
})
