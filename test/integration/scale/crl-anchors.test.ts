/**
 * CRLs and trust anchors changing under a running gateway, on the real broker (docs/operations.md, "Clocks, CRLs
 * and trust anchors"), each with its defined outcome:
 *
 * - a CRL that expires mid-run: with trust.revocation onUnavailable `refuse`, packages verified after its
 *   nextUpdate are refused REVOCATION_UNAVAILABLE (dead-lettered, no 02); a fresh CRL in place and the dead letter
 *   moved back to the inbox queue, it is received;
 * - a trust anchor removed while packages are on their way: they are refused UNTRUSTED_CHAIN, dead-lettered, never
 *   answered, never lost; the anchor back and the dead letters moved back to the inbox queue, each is received and
 *   answered 01 (the store keeps only the first bytes of a package refused before its signature verified: the
 *   operator's replay from the store answers 409 and says so).
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { loadConfig, type Config } from '../../../src/config.js'
import { createGateway } from '../../../src/gateway.js'
import { buildApp } from '../../../src/app.js'
import { trustVerifier } from '../../../src/pipeline/trust.js'
import { auth, CERTS, deleteAmqpNames, eventually, G22, H29, KEYS, queueDepth, rawTestConfig, silentLogger } from '../../helper.js'
import { agencySigner, sampleEdoc } from '../receive/helpers.js'
import { moveDeadLetters, rawPublisher } from './helpers.js'

const only = (raw: Record<string, any>, organId: string): Record<string, any> => ({ ...raw, agencies: raw.agencies.filter((a: { organId: string }) => a.organId === organId) })
const load = (dir: string, raw: Record<string, any>): Config => loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })

/** A CRL of the sample intermediate CA listing nothing, valid for `seconds` from now (openssl ca -gencrl). */
function intermediateCrl(dir: string, seconds: number, out: string): void {
  const db = path.join(dir, `ca-${seconds}`)
  execFileSync('mkdir', ['-p', db])
  writeFileSync(path.join(db, 'index.txt'), '')
  writeFileSync(path.join(db, 'crlnumber'), `${Date.now().toString(16).padStart(16, '0')}\n`)
  writeFileSync(
    path.join(db, 'ca.cnf'),
    `[ ca ]\ndefault_ca = sample\n[ sample ]\ndatabase = ${db}/index.txt\ncrlnumber = ${db}/crlnumber\ndefault_md = sha256\n`,
  )
  execFileSync('openssl', ['ca', '-batch', '-config', path.join(db, 'ca.cnf'), '-gencrl', '-keyfile', path.join(CERTS, 'intermediate-ca.key.pem'), '-cert', path.join(CERTS, 'intermediate-ca.pem'), '-crlsec', String(seconds), '-out', out], { stdio: 'pipe' })
}

/** Gateway B hosting H29 alone on SQLite, trust files checked every 200 ms, with the operator API (inject). */
async function receiverOnly(t: Test, dir: string, trust: Record<string, unknown>) {
  const config = load(dir, only(rawTestConfig(dir, { trust, pipeline: { workers: 0, inspectWorkers: 0, receiveWorkers: 0 } }), H29))
  const gateway = await createGateway(config, { logger: silentLogger(), trust: trustVerifier(config, 200) })
  const app = await buildApp(gateway)
  t.teardown(async () => {
    await app.close()
    await gateway.close()
    await deleteAmqpNames(config)
  })
  await gateway.receiver!.whenConsuming({ timeoutMs: 10_000 })
  const publish = await rawPublisher(t, config.amqp.exchange)
  const signer = await agencySigner('vpcp')
  let n = 0
  const sendDoc = async () => {
    const bytes = sampleEdoc(G22, [H29], { subject: `V/v văn bản ${++n} đang trên đường` }).bytes
    await publish({ body: bytes, signature: await signer.sign(bytes), sender: G22, recipient: H29 })
  }
  const replay = async (id: string) => {
    const r = await app.inject({ method: 'POST', url: `/v1/operator/dead-letters/${id}/replay`, headers: { ...auth(KEYS.ops), 'content-type': 'application/json' }, payload: {} })
    if (r.statusCode !== 200) throw new Error(`replay ${id}: ${r.statusCode} ${r.body}`)
    return r.json() as { outcome: string; state: string; verdictCode: string; reason?: string }
  }
  const moveBack = () => moveDeadLetters(`${config.amqp.deadLetterQueuePrefix}${H29}`, config.amqp.exchange, H29)
  const incoming = async () => (await gateway.store.listIncoming({ kind: 'edoc', limit: 100 })).items
  const statuses = async () => (await gateway.store.listPackages({ limit: 100 })).items.filter((p) => p.kind === 'status')
  return { dir, config, gateway, sendDoc, replay, moveBack, incoming, statuses }
}

t.test('a CRL that expires mid-run: REVOCATION_UNAVAILABLE under onUnavailable refuse; received again once a fresh CRL is in place', async (t) => {
  const dir = t.testdir({})
  const crl = path.join(dir, 'intermediate.crl.pem')
  intermediateCrl(dir, 3600, crl)
  const g = await receiverOnly(t, dir, {
    crlPaths: [path.join(CERTS, 'root-ca.crl.pem'), crl],
    clockSkewMs: 0,
    revocation: { order: ['crl'], onUnavailable: 'refuse', timeoutMs: 1000 },
  })
  // the running gateway picks up a CRL whose nextUpdate is 4 s away (trust files are checked for changes)
  intermediateCrl(dir, 4, crl)
  const expires = Date.now() + 4000
  await new Promise((r) => setTimeout(r, 500))
  await g.sendDoc()
  const first = await eventually(async () => (await g.incoming())[0])
  t.equal(first!.state, 'arrived', `before nextUpdate: received (${first!.reason ?? ''}, ${expires - Date.now()} ms left)`)
  await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now() + 500)))
  await g.sendDoc()
  const late = await eventually(async () => (await g.incoming()).find((i) => i.state === 'rejected'))
  t.match(late!.reason, /^REVOCATION_UNAVAILABLE: /, late!.reason ?? '')
  t.equal((await g.statuses()).filter((s) => s.statusCode === '02').length, 0, 'no 02 for a package whose revocation status is unknown')
  await eventually(async () => (await queueDepth(`${g.config.amqp.deadLetterQueuePrefix}${H29}`)) === 1 || undefined)
  // the operator puts a current CRL in place and moves the dead letter back to the inbox queue
  intermediateCrl(dir, 3600, crl)
  await new Promise((r) => setTimeout(r, 400))
  t.equal(await g.moveBack(), 1, 'the dead letter moved back')
  await eventually(async () => ((await g.incoming()).filter((i) => i.state === 'arrived').length === 2 ? true : undefined))
  t.pass('received with the fresh CRL, answered 01')
  t.equal((await g.statuses()).filter((s) => s.statusCode === '01').length, 2, 'both documents answered 01')
})

t.test('a trust anchor removed while packages are on their way: refused UNTRUSTED_CHAIN, kept, received again when it is back', async (t) => {
  const dir = t.testdir({})
  const anchors = path.join(dir, 'anchors.pem')
  copyFileSync(path.join(CERTS, 'trust-anchors.pem'), anchors)
  const g = await receiverOnly(t, dir, { anchorsPaths: [anchors] })
  await g.sendDoc()
  await eventually(async () => ((await g.incoming())[0]?.state === 'arrived' ? true : undefined))
  // the operator replaces the anchors with another root only (the sample root is gone)
  writeFileSync(anchors, readFileSync(path.join(CERTS, 'untrusted-root-ca.pem')))
  await new Promise((r) => setTimeout(r, 400))
  const K = 10
  await Promise.all(Array.from({ length: K }, () => g.sendDoc()))
  const refused = await eventually(async () => {
    const l = (await g.incoming()).filter((i) => i.state === 'rejected')
    return l.length >= K ? l : undefined
  })
  t.equal(refused?.length, K, 'every package in flight is stored')
  t.ok(refused!.every((i) => /^UNTRUSTED_CHAIN: /.test(i.reason ?? '')), 'refused UNTRUSTED_CHAIN')
  t.equal((await g.statuses()).length, 1, 'only the 01 of the first document: none of them is answered')
  t.equal(await eventually(async () => ((await queueDepth(`${g.config.amqp.deadLetterQueuePrefix}${H29}`)) === K ? K : undefined)), K, 'all dead-lettered')
  // the stored records keep only the first bytes of a package refused before its signature verified: the
  // operator's replay says where the whole package is
  const replay = await g.replay(refused![0]!.id).catch((e: Error) => e.message)
  t.match(replay, /409 .*dead-letter queue back to the inbox queue/, 'replay from the store points to the dead-letter queue')
  // the anchor is back: the dead letters go back to the inbox queue, each is received and answered 01
  copyFileSync(path.join(CERTS, 'trust-anchors.pem'), anchors)
  await new Promise((r) => setTimeout(r, 400))
  t.equal(await g.moveBack(), K, 'every dead letter moved back')
  await eventually(async () => ((await g.statuses()).filter((s) => s.statusCode === '01').length === K + 1 ? true : undefined), 15_000)
  t.equal((await g.incoming()).filter((i) => i.state === 'arrived').length, K + 1, 'nothing lost: every package in the inbox, answered 01')
})
