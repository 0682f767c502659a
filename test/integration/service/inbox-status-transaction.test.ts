/**
 * POST /v1/inbox/:id/status as a use-case (src/pipeline/inbox.ts): the status package and the incoming package's
 * state change commit in ONE store transaction, on SQLite and PostgreSQL. A forced failure of either write (a
 * database trigger refusing it) leaves neither: no status package in the outbox, the state unchanged, no event.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import { createInbox } from '../../../src/pipeline/inbox.js'
import { createStatusSender } from '../../../src/pipeline/statuses.js'
import type { Store } from '../../../src/store/index.js'
import { seedIncoming } from '../../api/inbox-fixtures.js'
import { G22, H29, testConfig, testSigners } from '../../helper.js'
import { pgRaw, storeKinds, type OpenedStore } from '../store/helpers.js'

/** Make every INSERT into `packages` or every UPDATE of `incoming` fail inside the database. */
async function refuse(kind: string, opened: OpenedStore, dbFile: string, what: 'status package' | 'state change'): Promise<void> {
  const [table, op] = what === 'status package' ? ['packages', 'INSERT'] : ['incoming', 'UPDATE']
  if (kind === 'sqlite') {
    const db = new Database(dbFile)
    try {
      db.exec(`CREATE TRIGGER forced_failure BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, 'forced failure'); END`)
    } finally {
      db.close()
    }
    return
  }
  await pgRaw(opened.schema as string, async (c) => {
    await c.query(`CREATE FUNCTION forced_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$`)
    await c.query(`CREATE TRIGGER forced_failure BEFORE ${op} ON ${table} FOR EACH ROW EXECUTE FUNCTION forced_failure()`)
  })
}

async function statusPackages(store: Store): Promise<number> {
  return (await store.listPackages({ kind: 'status', limit: 500 })).items.length
}

for (const kind of storeKinds) {
  t.test(`status and state change commit together [${kind.name}]`, async (t) => {
    const config = testConfig(t)
    const opened = await kind.open(t)
    const store = opened.store
    // the SQLite kind keeps its file in the test's directory
    const dbFile = `${t.testdirName}/store.db`
    const statuses = createStatusSender({ store, agencies: config.agencies, limits: config.limits, signers: await testSigners(config), relay: { wake() {} } })
    const inbox = createInbox({ store, statuses, limits: config.limits })
    const actor = { clientId: 'dms-ubnd-hcm', authorise: () => true }

    // success: both written, the state's event names the status package
    const a = (await seedIncoming(store, config, { from: G22, to: H29 })).incoming
    const ok = await inbox.reportStatus({ ...actor, id: a.id, code: '03' })
    t.equal(ok.sent, true)
    if (!ok.sent) return
    t.same([ok.transition.from, ok.transition.state, ok.transition.changed], ['arrived', 'registered', true])
    t.equal((await store.getIncoming(a.id))?.state, 'registered')
    t.match(await store.getPackage(ok.status.id), { kind: 'status', statusCode: '03', senderOrganId: H29 })
    const [moved] = (await store.listEvents({ packageId: a.id, limit: 10 })).items
    t.match(moved, { type: 'status', state: 'registered', statusCode: '03', detail: { statusPackageId: ok.status.id } })
    t.equal(await statusPackages(store), 1)

    // the state change is refused by the database: no status package either
    const b = (await seedIncoming(store, config, { from: G22, to: H29 })).incoming
    const eventsBefore = (await store.listEvents({ packageId: b.id, limit: 10 })).items.length
    await refuse(kind.name, opened, dbFile, 'state change')
    await t.rejects(inbox.reportStatus({ ...actor, id: b.id, code: '02', description: 'Sai thể thức' }), 'the refused write fails the request')
    t.equal((await store.getIncoming(b.id))?.state, 'arrived', 'state unchanged')
    t.equal(await statusPackages(store), 1, 'no status package stored')
    t.equal((await store.listEvents({ packageId: b.id, limit: 10 })).items.length, eventsBefore, 'no event recorded')
  })

  t.test(`a refused status package leaves the state unchanged [${kind.name}]`, async (t) => {
    const config = testConfig(t)
    const opened = await kind.open(t)
    const store = opened.store
    const statuses = createStatusSender({ store, agencies: config.agencies, limits: config.limits, signers: await testSigners(config), relay: { wake() {} } })
    const inbox = createInbox({ store, statuses, limits: config.limits })
    const c = (await seedIncoming(store, config, { from: G22, to: H29 })).incoming
    await refuse(kind.name, opened, `${t.testdirName}/store.db`, 'status package')
    await t.rejects(inbox.reportStatus({ clientId: 'dms-ubnd-hcm', authorise: () => true, id: c.id, code: '03' }), 'the refused write fails the request')
    t.equal((await store.getIncoming(c.id))?.state, 'arrived', 'state unchanged')
    t.equal(await statusPackages(store), 0)
  })
}
