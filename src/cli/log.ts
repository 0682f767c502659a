/**
 * `lienthong log verify --store FILE|postgres://URL [--from N] [--to N] [--tsa-anchors PEM[,PEM]] [--max-unanchored N] [--json]`
 *
 * Checks the delivery log's hash chain offline, on a SQLite store file opened read-only (the gateway may keep
 * running): every row's hash is recomputed over its content and the previous row's hash (src/store/README.md,
 * "Hash chain"), from row N (default 1) to row N (default the last). Prints the result — intact with the number of
 * rows and the last row's seq and hash (record them elsewhere: removing rows at the very end cannot be seen from
 * inside the file), or the first broken row and why — as text or, with --json, one JSON object.
 *
 * Anchors (log.anchor, src/pipeline/log-anchors.ts): every stored timestamp token over a chain head is checked
 * — a valid token of a TSA that chains to `--tsa-anchors` (the TSA roots, trust.tsa.anchorsPaths) over the stored
 * hash, and the log still holding that row with that hash — so rows removed after an anchored head, or rows up to
 * one rewritten with the chain recomputed, make it BROKEN. Without --tsa-anchors the rows are compared with the
 * anchors but the tokens' signatures are not checked (said in the output). Rows after the last anchor are covered
 * by no token: `--max-unanchored N` makes more than N of them a failure (anchors deleted too, or anchoring stopped).
 *
 * Exit 0: intact. 1: broken. 2: usage error or the file cannot be opened as a store.
 */
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { isGatewayError } from '../errors.js'
import { checkLogAnchors } from '../pipeline/log-anchors.js'
import { createTsaTrust, type TsaTrust } from '../signature/index.js'
import { isPgUrl, openPgStore, openSqliteStore } from '../store/index.js'

const USAGE = 'usage: lienthong log verify --store FILE|postgres://URL [--from N] [--to N] [--tsa-anchors PEM[,PEM]] [--max-unanchored N] [--json]'

function usage(msg?: string): number {
  if (msg) console.error(`lienthong log: ${msg}`)
  console.error(USAGE)
  return 2
}

const seqArg = (v: string | undefined, name: string): number | undefined | string => {
  if (v === undefined) return undefined
  return /^[1-9]\d{0,14}$/.test(v) ? Number(v) : `--${name} must be a positive integer, not "${v}"`
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'verify') return usage(sub ? `unknown subcommand "${sub}"` : 'missing subcommand')
  let values: { store?: string; from?: string; to?: string; json?: boolean; 'tsa-anchors'?: string; 'max-unanchored'?: string }
  try {
    ;({ values } = parseArgs({
      args: rest,
      options: {
        store: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean' },
        'tsa-anchors': { type: 'string' },
        'max-unanchored': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (e) {
    return usage((e as Error).message)
  }
  if (!values.store) return usage('--store FILE is required')
  const from = seqArg(values.from, 'from')
  const to = seqArg(values.to, 'to')
  if (typeof from === 'string') return usage(from)
  if (typeof to === 'string') return usage(to)
  if (from !== undefined && to !== undefined && to < from) return usage('--to must not be below --from')
  const maxUnanchored = values['max-unanchored'] === undefined ? undefined : /^\d{1,15}$/.test(values['max-unanchored']) ? Number(values['max-unanchored']) : NaN
  if (Number.isNaN(maxUnanchored)) return usage(`--max-unanchored must be a number of rows, not "${values['max-unanchored']}"`)
  let tsaTrust: TsaTrust | undefined
  if (values['tsa-anchors'] !== undefined) {
    try {
      tsaTrust = createTsaTrust({ anchors: values['tsa-anchors'].split(',').map((p) => readFileSync(p)) })
    } catch (e) {
      return usage(`--tsa-anchors: ${(e as Error).message}`)
    }
  }
  const pgUrl = isPgUrl(values.store)
  if (!pgUrl && !existsSync(values.store)) return usage(`store file ${values.store} does not exist`)

  let store
  try {
    store = pgUrl ? await openPgStore(values.store) : await openSqliteStore(values.store, { readonly: true })
  } catch (e) {
    console.error(`lienthong log: cannot open ${values.store}: ${isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message}`)
    return 2
  }
  try {
    const t0 = Date.now()
    const chain = await store.verifyLog({ ...(from !== undefined ? { fromSeq: from } : {}), ...(to !== undefined ? { toSeq: to } : {}) })
    const anchors = await checkLogAnchors(store, chain, tsaTrust)
    if (maxUnanchored !== undefined && chain.ok && anchors.unanchoredRows > maxUnanchored) {
      anchors.problems.push({ seq: anchors.lastAnchor?.seq ?? 0, reason: `${anchors.unanchoredRows} rows after the last anchor${anchors.lastAnchor ? ` (seq ${anchors.lastAnchor.seq})` : ''}, more than --max-unanchored ${maxUnanchored}: anchors were removed or anchoring stopped` })
      anchors.ok = false
    }
    // the first problem of the chain itself comes first; anchors speak where the chain is intact
    const firstAnchorProblem = anchors.problems[0]
    const r = chain.ok && firstAnchorProblem ? { ...chain, ok: false, firstBroken: firstAnchorProblem } : chain
    const out = { store: values.store, ...(from !== undefined ? { fromSeq: from } : {}), ...(to !== undefined ? { toSeq: to } : {}), ...r, anchors, durationMs: Date.now() - t0 }
    if (values.json) console.log(JSON.stringify(out))
    else if (r.ok) {
      console.log(`INTACT: ${r.checked} rows checked${from !== undefined || to !== undefined ? ` (seq ${from ?? 1}..${to ?? 'end'})` : ''}`)
      if (r.lastSeq !== undefined) console.log(`  last row: seq ${r.lastSeq}, hash ${r.lastHash}`)
      if (anchors.lastAnchor) {
        console.log(`  ${anchors.anchors} anchors match the log${anchors.tokensChecked ? ' (tokens verified)' : ' (tokens NOT verified: give --tsa-anchors)'}; last: seq ${anchors.lastAnchor.seq}, timestamped ${anchors.lastAnchor.genTime} by ${anchors.lastAnchor.tsa}`)
        console.log(`  ${anchors.unanchoredRows} rows after the last anchor: their removal or rewriting cannot be seen until the next anchor`)
      } else console.log('  no anchors (log.anchor): keep the last seq and hash outside the store: rows removed at the very end cannot be seen from inside it')
    } else {
      console.log(`BROKEN at seq ${r.firstBroken?.seq}: ${r.firstBroken?.reason}`)
      if (chain.ok) for (const p of anchors.problems.slice(1)) console.log(`  also seq ${p.seq}: ${p.reason}`)
      else console.log(`  ${r.checked} rows before it are intact${r.lastSeq !== undefined ? ` (last good: seq ${r.lastSeq}, hash ${r.lastHash})` : ''}`)
    }
    return r.ok ? 0 : 1
  } catch (e) {
    console.error(`lienthong log: ${isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message}`)
    return 2
  } finally {
    await store.close()
  }
}
