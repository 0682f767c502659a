// The re-signer against a real store, SQLite and PostgreSQL (a fresh database): waiting packages are signed in
// the order they were stored and the relay woken for each; a token that is down is not asked; a token failing
// again stops that agency's round with the attempt counted; any other failure is counted and the round goes on;
// another agency is not held up; a package signed elsewhere meanwhile is left alone.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import t, { type Test } from 'tap'
import { gwError } from '../../../src/errors.js'
import { createOutbox, type SignerLike } from '../../../src/pipeline/outbox.js'
import { createResigner } from '../../../src/pipeline/resigner.js'
import { openPgStore, openSqliteStore, type Store } from '../../../src/store/index.js'
import { freshPgDatabase } from '../../helper.js'
import { outgoing, pgAvailable } from '../../integration/store/helpers.js'

const A = '000.00.01.H26'
const B = '000.00.02.H26'

/** A token signer whose state the test sets: up, down, or failing with another error. */
function fakeToken(organId: string) {
  const s = { ok: true, fail: undefined as Error | undefined, signed: [] as string[] }
  const signer: SignerLike & { state: typeof s } = {
    state: s,
    async sign(content) {
      if (s.fail) throw s.fail
      if (!s.ok) throw gwError('GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE', { token: organId, reason: 'CKR_DEVICE_REMOVED' })
      s.signed.push(Buffer.from(content).toString('hex').slice(0, 16))
      return new Uint8Array(Buffer.concat([Buffer.from('sig:'), Buffer.from(content).subarray(0, 8)]))
    },
    token: { status: () => ({ ok: s.ok, since: new Date().toISOString() }), close() {} },
  }
  return signer
}

async function waiting(store: Store, signer: string) {
  const input = outgoing({ awaitingSignature: { signer, reason: 'GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE: away' }, package: { senderOrganId: signer, bytes: new Uint8Array(randomBytes(64)) } })
  input.package.signature = new Uint8Array(0)
  await store.recordOutgoing(input)
  return input.package
}

const kinds: [string, (t: Test) => Promise<Store>][] = [
  ['sqlite', async (t) => openSqliteStore(path.join(t.testdir(), 's.db'))],
  ...(pgAvailable ? [['pg', async (t: Test) => openPgStore(await freshPgDatabase(t, 'lt_resign'), { max: 2 })] as [string, (t: Test) => Promise<Store>]] : []),
]

for (const [kind, open] of kinds) {
  t.test(`the re-signer signs waiting packages in order, per agency, and wakes the relay [${kind}]`, async (t) => {
    const store = await open(t)
    t.teardown(() => store.close())
    const a = fakeToken(A)
    const b = fakeToken(B)
    const wakes: (number | undefined)[] = []
    const relay = { wake: (h?: { priority?: number }) => wakes.push(h?.priority) }
    const outbox = createOutbox({ store, relay })
    const r = createResigner({ store, outbox, relay, signers: new Map([[A, a], [B, b]]), batchSize: 2 })

    const pa = [await waiting(store, A), await waiting(store, A), await waiting(store, A)]
    const pb = await waiting(store, B)

    // A's token down: not asked; B's signed
    a.state.ok = false
    t.equal(await r.runOnce(), 1)
    t.same(a.state.signed, [], 'a token that is down is not asked')
    t.equal(await store.getAwaitingSignature(pb.id), undefined, "B's package signed: another agency is not held up")
    t.equal(await store.countAwaitingSignature(A), 3)
    t.same(wakes, [0], 'the relay woken once')

    // A's token up but failing again: the round for A stops at its first package, counted
    a.state.ok = true
    a.state.fail = gwError('GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE', { token: A, reason: 'CKR_DEVICE_ERROR' })
    t.equal(await r.runOnce(), 0)
    t.match(await store.getAwaitingSignature(pa[0]!.id), { attempts: 1, lastError: /GW_ERR_SIGNATURE_TOKEN_UNAVAILABLE.*CKR_DEVICE_ERROR/ })
    t.match(await store.getAwaitingSignature(pa[1]!.id), { attempts: 0 }, 'the next ones are not tried')

    // another failure (a TSA, a key): counted, the round goes on (pages of 2)
    a.state.fail = new Error('tsa down')
    t.equal(await r.runOnce(), 0)
    for (const p of pa) t.match(await store.getAwaitingSignature(p.id), { lastError: /tsa down/ }, 'each counted')

    // working again: all of A's signed, in the order stored, the relay woken for each
    a.state.fail = undefined
    t.equal(await r.runOnce(), 3)
    t.same(a.state.signed, pa.map((p) => Buffer.from(p.bytes).toString('hex').slice(0, 16)), 'signed in the order they were stored')
    t.equal(await store.countAwaitingSignature(), 0)
    t.equal(wakes.length, 4)
    const sig = (await store.getPackageBytes(pa[2]!.id))!.signature
    t.equal(Buffer.from(sig).subarray(0, 4).toString(), 'sig:', 'the signature stored')
    t.equal((await store.pendingDeliveries({ limit: 100 })).filter((d) => pa.some((p) => p.id === d.packageId)).length, 6, 'every delivery pending now')

    // signed elsewhere meanwhile (another process): nothing written twice
    const pc = await waiting(store, A)
    await store.recordSignature({ packageId: pc.id, signature: new Uint8Array([1, 2, 3]), actor: 'system' })
    t.equal(await r.runOnce(), 0)
    t.equal((await store.listEvents({ type: 'signed', packageId: pc.id, limit: 10 })).items.length, 2, 'one signed event per delivery, once')
    t.equal((await store.verifyLog()).ok, true)
    await r.stop()
  })
}

t.test('with trust.tsa, a package signed later is stamped like any signature; a TSA that fails leaves it waiting', async (t) => {
  const store = await openSqliteStore(path.join(t.testdir(), 's.db'))
  t.teardown(() => store.close())
  const a = fakeToken(A)
  let tsaUp = false
  const stamper = {
    url: 'http://tsa.invalid',
    async stampSignature(cms: Uint8Array) {
      if (!tsaUp) throw gwError('GW_ERR_SIGNATURE_TSA_UNAVAILABLE', { url: 'http://tsa.invalid', reason: 'no answer' })
      return new Uint8Array(Buffer.concat([Buffer.from(cms), Buffer.from('+ts')]))
    },
  }
  const relay = { wake() {} }
  const outbox = createOutbox({ store, relay, tsa: { stamper, onUnavailable: 'wait' } })
  const r = createResigner({ store, outbox, relay, signers: new Map([[A, a]]) })
  const p = await waiting(store, A)
  t.equal(await r.runOnce(), 0)
  t.match(await store.getAwaitingSignature(p.id), { attempts: 1, lastError: /GW_ERR_SIGNATURE_TSA_UNAVAILABLE/ }, 'a TSA that fails: still waiting, counted')
  tsaUp = true
  t.equal(await r.runOnce(), 1)
  t.ok(Buffer.from((await store.getPackageBytes(p.id))!.signature).toString('latin1').endsWith('+ts'), 'stamped')
  await r.stop()
})
