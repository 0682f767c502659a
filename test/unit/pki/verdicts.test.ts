// The manifest's `expect` codes are what the gateway's own signer and verifier answer for the committed sample PKI,
// loading keys both from PEM and from PKCS#12.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createVerifier, loadSigner } from '../../../src/signature/index.js'
import { loadManifest } from './openssl.js'

const dir = fileURLToPath(new URL('../../../certs-sample/', import.meta.url))
const m = loadManifest(dir)
const read = (f: string) => readFileSync(join(dir, f), 'utf8')
const verifier = createVerifier({ trustAnchors: read(m.trustAnchors), crls: read(m.crls.all) })
const content = new TextEncoder().encode('<?xml version="1.0" encoding="UTF-8"?><edXML>Văn bản mẫu</edXML>')

type Files = { key: string; cert: string; chain: string; p12: string }
const signers = (files: Files) => ({
  pem: () => loadSigner({ keyPem: read(files.key), certPem: read(files.cert), chainPem: read(files.chain) }),
  p12: () => loadSigner({ p12: readFileSync(join(dir, files.p12)), password: m.p12Password }),
})

t.test('every agency signs and verifies VALID with its own OrganId, from PEM and from PKCS#12', async (t) => {
  for (const a of m.agencies) {
    for (const [how, load] of Object.entries(signers(a.files))) {
      const s = await load()
      t.equal(s.organId, a.organId, `${a.slug} ${how}: signer OrganId from the UID`)
      const v = await verifier.verify(content, await s.sign(content), { expectedOrganId: a.organId })
      t.equal(v.code, 'VALID', `${a.slug} ${how}: ${v.message}`)
      t.equal(v.signer?.organId, a.organId)
      const other = m.agencies.find((x) => x.organId !== a.organId)!
      t.equal((await verifier.verify(content, await s.sign(content), { expectedOrganId: other.organId })).code, 'SENDER_MISMATCH')
    }
  }
})

t.test('every test certificate gets the verdict its manifest entry names', async (t) => {
  for (const c of m.testCases) {
    for (const [how, load] of Object.entries(signers(c.files))) {
      const s = await load()
      // uid-mismatch: the package claims the agency named in CN (c.slug), the UID names another one
      const claimed = c.case === 'uid-mismatch' ? m.agencies.find((a) => a.slug === c.slug)!.organId : (c.organId ?? m.agencies.find((a) => a.slug === c.slug)!.organId)
      const v = await verifier.verify(content, await s.sign(content), { expectedOrganId: claimed })
      t.equal(v.code, c.expect, `${c.case} ${how}: ${v.message}`)
      t.equal(v.ok, false)
    }
  }
  const expired = m.testCases.find((c) => c.case === 'expired')!
  const s = await signers(expired.files).pem()
  const inside = new Date((Date.parse(expired.notBefore) + Date.parse(expired.notAfter)) / 2)
  const signed = await s.sign(content, { signingTime: inside })
  const then = await verifier.verify(content, signed, { expectedOrganId: expired.organId, validationTime: inside })
  t.equal(then.code, 'VALID', 'validated at a time inside its period, the expired certificate was valid (CAs valid then too)')
  const now = await verifier.verify(content, signed, { expectedOrganId: expired.organId })
  t.equal(now.code, 'SIGNING_TIME_OUT_OF_RANGE', `judged at receipt (now), the same signature is refused: ${now.message}`)
})
