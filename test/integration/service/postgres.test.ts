/**
 * The gateway on PostgreSQL (store.driver postgres): a document sent through the API is stored in a fresh database,
 * confirmed by the real RabbitMQ and delivered to a hosted recipient, whose 01 comes back, all recorded in PostgreSQL.
 */
import t from 'tap'
import path from 'node:path'
import pg from 'pg'
import { loadConfig } from '../../../src/config.js'
import { startGateway } from '../../../src/server.js'
import { auth, deleteAmqpNames, eventually, freshPgDatabase, H29, KEYS, PG_ADMIN_URL, rawTestConfig, sampleDocument, silentLogger } from '../../helper.js'


t.test('store.driver postgres without store.url is a configuration error', async (t) => {
  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.store = { driver: 'postgres' }
  t.throws(() => loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} }), {
    code: 'GW_ERR_CONFIG_INVALID',
    message: /store\.url is required when store\.driver is postgres/,
  })
})

t.test('a gateway on PostgreSQL sends, relays and receives; everything is in the database', { skip: PG_ADMIN_URL === 'off' && 'LIENTHONG_TEST_PG_URL=off' }, async (t) => {
  const url = new URL(await freshPgDatabase(t, 'lt_gw'))

  const dir = t.testdir({})
  const raw = rawTestConfig(dir)
  raw.store = { driver: 'postgres', url: url.href }
  const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
  const gw = await startGateway(config, { logger: silentLogger(), listen: false, receive: true })
  t.teardown(async () => {
    await gw.close()
    await deleteAmqpNames(config)
  })
  await gw.connection.whenConnected({ timeoutMs: 10_000 })

  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { ...auth(KEYS.g22), 'content-type': 'application/json' },
    payload: JSON.stringify(sampleDocument()),
  })
  t.equal(res.statusCode, 202, res.body)
  const { id } = res.json()
  const delivered = await eventually(async () => {
    const [d] = await gw.store.getDeliveries(id)
    return d?.state === 'delivered' ? d : undefined
  }, 15_000)
  t.equal(delivered?.recipient, H29, 'the hosted recipient answered 01')

  // the rows are in PostgreSQL, not in a file
  const check = new pg.Client({ connectionString: url.href })
  await check.connect()
  t.teardown(() => check.end())
  const tables = (await check.query(`SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema')`)).rows.map((r) => r.table_name)
  t.ok(tables.includes('packages') && tables.includes('events'), `packages and events tables in the database: ${tables.join(', ')}`)
  const inbox = await gw.app.inject({ method: 'GET', url: '/v1/inbox', headers: auth(KEYS.h29) })
  t.equal(inbox.statusCode, 200)
  t.equal(inbox.json().items.length, 1, 'the recipient finds it in its inbox')
  const log = await gw.store.verifyLog()
  t.ok(log.ok, 'hash chain intact in PostgreSQL')
})
