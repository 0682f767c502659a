/**
 * Bounded mutation fuzzing, shared by the fuzz tests (parser, verifier, API): a small deterministic PRNG, byte-level
 * mutations, the seeds and the budget.
 *
 * Seeds: `LIENTHONG_FUZZ_SEED` (one number, or several separated by commas) replays a run; without it each test uses
 * its fixed seed and one drawn now, and prints both, so CI explores new inputs on every run while any failure names
 * the seed and the mutation index that reproduce it.
 * Budget: the number of mutations per seed is the test's default (small enough for `npm test`) times
 * `LIENTHONG_FUZZ_SCALE` (default 1; e.g. 50 for a long run); `LIENTHONG_FUZZ_SECONDS` stops each seed's loop after
 * that many seconds, whatever is left of the count.
 */
import { randomInt } from 'node:crypto'

/** mulberry32: a failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const SNIPPETS = ['<', '>', '&', '&amp;', '&#x0;', ']]>', '<![CDATA[', '<!--', '-->', '<?', '?>', '"', "'", '=', '/', ':', 'xmlns:edXML="urn:x"', '<!DOCTYPE x>', '\u0000', '\uFFFD', 'é', '</edXML:From>', '<edXML:To>', 'cid:', '=', '{', '}', '[', ']', ',', 'null', '"\\u0000"', '1e999', '-1', '""']

export interface Mutation {
  bytes: Buffer
  /** What was done, for the failure message: `flip@123`, `delete@40+3`, ... */
  what: string
  /** The first byte offset that differs from the source (bytes before it are unchanged). */
  at: number
}

/** One random mutation of `src`: delete a run, truncate, set a byte, insert a snippet, or duplicate a run. */
export function mutate(src: Uint8Array, r: () => number): Mutation {
  const s = Buffer.from(src)
  const pos = Math.floor(r() * s.length)
  const op = Math.floor(r() * 5)
  if (op === 0) {
    const n = 1 + Math.floor(r() * 20)
    return { bytes: Buffer.concat([s.subarray(0, pos), s.subarray(pos + n)]), what: `delete@${pos}+${n}`, at: pos }
  }
  if (op === 1) return { bytes: s.subarray(0, pos), what: `truncate@${pos}`, at: pos }
  if (op === 2) {
    const b = Buffer.from(s)
    b[pos] = Math.floor(r() * 256)
    return { bytes: b, what: `set@${pos}=${b[pos]}`, at: pos }
  }
  if (op === 3) {
    const snip = SNIPPETS[Math.floor(r() * SNIPPETS.length)]!
    return { bytes: Buffer.concat([s.subarray(0, pos), Buffer.from(snip), s.subarray(pos)]), what: `insert@${pos}:${JSON.stringify(snip)}`, at: pos }
  }
  const n = 1 + Math.floor(r() * 64)
  return { bytes: Buffer.concat([s.subarray(0, pos + n), s.subarray(pos, pos + n), s.subarray(pos + n)]), what: `duplicate@${pos}+${n}`, at: pos }
}

/** The seeds of a run: LIENTHONG_FUZZ_SEED, else `fixed` and one drawn now. */
export function fuzzSeeds(fixed: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const given = env.LIENTHONG_FUZZ_SEED
  if (given) return given.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n))
  return [fixed, randomInt(1, 2 ** 31)]
}

/** Mutations per seed and the time limit per seed (ms) for a test whose default count is `count`. */
export function fuzzBudget(count: number, env: NodeJS.ProcessEnv = process.env): { count: number; timeMs: number } {
  const scale = Number(env.LIENTHONG_FUZZ_SCALE ?? '1')
  const seconds = Number(env.LIENTHONG_FUZZ_SECONDS ?? 'Infinity')
  return { count: Math.max(1, Math.round(count * (Number.isFinite(scale) && scale > 0 ? scale : 1))), timeMs: seconds > 0 ? seconds * 1000 : Infinity }
}
