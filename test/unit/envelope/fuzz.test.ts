// Mutated packages either parse or fail with a GatewayError: never a TypeError, a hang or an expanded entity.
// Seeds and budget: test/fuzz.ts (LIENTHONG_FUZZ_SEED, LIENTHONG_FUZZ_SCALE, LIENTHONG_FUZZ_SECONDS).
import t from 'tap'
import { isGatewayError, parseEnvelope } from './imports.js'
import { edocText, peerAndInterop } from './helpers.js'
import { fuzzBudget, fuzzSeeds, mutate, rng } from '../../fuzz.js'

/** Longest a single parse (with every attachment described) may take; figures printed. Generous: the machine is shared. */
const PER_INPUT_MS = 2000

t.test('mutations of peer-shaped, real (when ../shared is there) and built packages', async (t) => {
  const sources = [
    ...peerAndInterop('status-03-acceptance.edxml', 'sdk-status_acceptance_03.edxml'),
    ...peerAndInterop('axis-2019-zip-garbage.edxml', 'axis-2019-852e179c.edxml'),
  ].map((s) => s.bytes)
  sources.push(Buffer.from(edocText()))
  const budget = fuzzBudget(2000)
  for (const seed of fuzzSeeds(20251126)) {
    const r = rng(seed)
    let parsed = 0
    let refused = 0
    let slowest = 0
    const bad: string[] = []
    const end = Date.now() + budget.timeMs
    let i = 0
    for (; i < budget.count && Date.now() < end; i++) {
      const m = mutate(sources[i % sources.length]!, r)
      const t0 = performance.now()
      try {
        const env = parseEnvelope(m.bytes)
        for (const id of env.attachmentIds()) env.describeAttachment(id)
        parsed++
      } catch (e) {
        if (isGatewayError(e)) refused++
        else bad.push(`seed ${seed} #${i} ${m.what}: ${String(e)}`)
      }
      const ms = performance.now() - t0
      if (ms > slowest) slowest = ms
      if (ms > PER_INPUT_MS) bad.push(`seed ${seed} #${i} ${m.what}: took ${Math.round(ms)} ms`)
    }
    t.comment(`parser fuzz seed ${seed}: ${i} mutations, ${parsed} parsed, ${refused} refused, slowest ${Math.round(slowest)} ms`)
    t.same(bad, [], `seed ${seed}: only GatewayErrors, each within ${PER_INPUT_MS} ms`)
    if (i >= 500) t.ok(parsed > i / 20 && refused > i / 20, `seed ${seed}: both outcomes seen (parsed ${parsed}, refused ${refused})`)
  }
})
