// Mutated packages either parse or fail with a GatewayError: never a TypeError, a hang or an expanded entity.
import t from 'tap'
import { isGatewayError, parseEnvelope } from './imports.js'
import { edocText, peerAndInterop } from './helpers.js'

// small deterministic PRNG (mulberry32) so a failure can be replayed
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const SNIPPETS = ['<', '>', '&', '&amp;', '&#x0;', ']]>', '<![CDATA[', '<!--', '-->', '<?', '?>', '"', "'", '=', '/', ':', 'xmlns:edXML="urn:x"', '<!DOCTYPE x>', '\u0000', '\uFFFD', 'é', '</edXML:From>', '<edXML:To>', 'cid:', '=']

function mutate(src: Buffer, r: () => number): Buffer {
  const s = src.toString('latin1')
  const pos = Math.floor(r() * s.length)
  const op = Math.floor(r() * 4)
  if (op === 0) return Buffer.from(s.slice(0, pos) + s.slice(pos + 1 + Math.floor(r() * 20)), 'latin1') // delete
  if (op === 1) return Buffer.from(s.slice(0, pos), 'latin1') // truncate
  if (op === 2) {
    const b = Buffer.from(src)
    b[pos] = Math.floor(r() * 256) // flip a byte
    return b
  }
  return Buffer.concat([src.subarray(0, pos), Buffer.from(SNIPPETS[Math.floor(r() * SNIPPETS.length)]!), src.subarray(pos)]) // insert
}

t.test('2,000 mutations of peer-shaped, real (when ../shared is there) and built packages', async (t) => {
  const sources = [
    ...peerAndInterop('status-03-acceptance.edxml', 'sdk-status_acceptance_03.edxml'),
    ...peerAndInterop('axis-2019-zip-garbage.edxml', 'axis-2019-852e179c.edxml'),
  ].map((s) => s.bytes)
  sources.push(Buffer.from(edocText()))
  const r = rng(20251126)
  let parsed = 0
  let refused = 0
  const bad: string[] = []
  for (let i = 0; i < 2000; i++) {
    const src = sources[i % sources.length]!
    const m = mutate(src, r)
    try {
      const env = parseEnvelope(m)
      for (const id of env.attachmentIds()) env.describeAttachment(id)
      parsed++
    } catch (e) {
      if (isGatewayError(e)) refused++
      else bad.push(`#${i}: ${String(e)}`)
    }
  }
  t.same(bad, [], 'only GatewayErrors')
  t.ok(parsed > 100 && refused > 100, `both outcomes seen (parsed ${parsed}, refused ${refused})`)
})
