import { readFileSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../helper.js'
import { trustVerifier } from '../../../src/pipeline/trust.js'
import { sampleSigner } from '../../fixtures/pdf/pki.js'

const cert = (name: string) => readFileSync(path.join(ROOT, 'certs-sample', name))

t.test('one verifier over config.trust: a fixed anchor file is used at a forced refresh, not before the check interval', async (t) => {
  const dir = t.testdir({})
  const anchors = path.join(dir, 'anchors.pem')
  writeFileSync(anchors, cert('untrusted-root-ca.pem'))
  const tv = trustVerifier({ trust: { anchorsPaths: [anchors], intermediatesPaths: [], crlPaths: [] } }, 60_000)
  const vpcp = await sampleSigner('vpcp')
  const content = Buffer.from('văn bản')
  const cms = await vpcp.sign(content)
  t.equal((await tv.verifier.verify(content, cms)).code, 'UNTRUSTED_CHAIN', 'wrong anchor configured')
  const first = tv.current()

  writeFileSync(anchors, cert('trust-anchors.pem'))
  const later = new Date(Date.now() + 5000)
  utimesSync(anchors, later, later)
  tv.refresh(Date.now())
  t.equal(tv.current(), first, 'within the check interval the verifier in use stays')
  t.equal((await tv.verifier.verify(content, cms)).code, 'UNTRUSTED_CHAIN')

  tv.refresh(Date.now(), { force: true })
  t.not(tv.current(), first, 'a changed anchor file gives a new verifier (new cache)')
  t.equal((await tv.verifier.verify(content, cms)).code, 'VALID', 'the fixed anchor is used without a restart')
})

t.test('no trust anchors: a configuration error on first use, not at construction', async (t) => {
  const tv = trustVerifier({ trust: { anchorsPaths: [], intermediatesPaths: [], crlPaths: [] } })
  t.throws(() => tv.current(), { code: 'GW_ERR_CONFIG_INVALID' })
  await t.rejects(tv.verifier.verify(Buffer.from('x'), Buffer.from('y')), { code: 'GW_ERR_CONFIG_INVALID' })
})

t.test('an unreadable anchor file at a refresh keeps the trust in use', async (t) => {
  const dir = t.testdir({})
  const anchors = path.join(dir, 'anchors.pem')
  writeFileSync(anchors, cert('trust-anchors.pem'))
  const tv = trustVerifier({ trust: { anchorsPaths: [anchors], intermediatesPaths: [], crlPaths: [] } }, 0)
  const first = tv.current()
  writeFileSync(anchors, 'not a certificate')
  tv.refresh(Date.now(), { force: true })
  t.equal(tv.current(), first)
  const vpcp = await sampleSigner('vpcp')
  const content = Buffer.from('x')
  t.equal((await tv.verifier.verify(content, await vpcp.sign(content))).code, 'VALID')
})
