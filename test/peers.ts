/**
 * The packages other implementations send, from two places:
 *
 * - the interop set kept beside the repository, `../shared/interop/edxml/` (real packages, byte for byte). CI has
 *   it; a clone of the public repository does not, and the tests over it are then skipped with `interopSkip` as
 *   the reason. `LIENTHONG_REQUIRE_INTEROP=1` turns its absence into a failure (for CI, where it must be present);
 * - our own fixtures, `test/fixtures/peers/` (written by its generate.ts, see its README): each quirk of the
 *   interop set reproduced with values of our own. Always present, so the behaviour is always tested.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The interop set: `LIENTHONG_INTEROP_DIR`, else the folder kept beside the clone in CI. */
export const INTEROP_DIR = process.env.LIENTHONG_INTEROP_DIR ? path.resolve(process.env.LIENTHONG_INTEROP_DIR) : path.join(ROOT, '../shared/interop/edxml')
export const PEERS_DIR = path.join(ROOT, 'test/fixtures/peers')

const present = existsSync(INTEROP_DIR)
if (!present && process.env.LIENTHONG_REQUIRE_INTEROP === '1') {
  throw new Error(`LIENTHONG_REQUIRE_INTEROP=1 but ${INTEROP_DIR} does not exist`)
}

/** `false` when the interop set is there; otherwise the reason to give tap for skipping the tests over it. */
export const interopSkip: false | string = present
  ? false
  : `no ${INTEROP_DIR} beside the repository (a clone of the public repository does not have it); test/fixtures/peers/ covers the same quirks`

const edxmlIn = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.edxml')).sort()

export const interopFiles = (): string[] => edxmlIn(INTEROP_DIR)
export const interopPath = (name: string): string => path.join(INTEROP_DIR, name)
export const interop = (name: string): Buffer => readFileSync(interopPath(name))

export const peerFiles = (): string[] => edxmlIn(PEERS_DIR)
export const peerPath = (name: string): string => path.join(PEERS_DIR, name)
export const peer = (name: string): Buffer => readFileSync(peerPath(name))

/**
 * A package of ours and, when the interop set is there, the interop package showing the same quirk: for tests that
 * only need "a real-looking status package" or similar and should run over both.
 */
export function peerAndInterop(ours: string, theirs: string): { name: string; bytes: Buffer }[] {
  const out = [{ name: `peers/${ours}`, bytes: peer(ours) }]
  if (present) out.push({ name: `interop/${theirs}`, bytes: interop(theirs) })
  return out
}
