/**
 * Delivery domain types: the states a package goes through per recipient, in both directions, and how QCVN 102
 * status codes map onto them. Pure types and constants, no I/O (see docs/design.md "Delivery states").
 */

/** `out`: a package this gateway sends; `in`: a package this gateway received. */
export type Direction = 'out' | 'in'

/** Status codes of a QCVN 102 status package (docs/edxml.md §b). */
export const STATUS_CODES = ['01', '02', '03', '04', '05', '06', '13', '15', '16'] as const
export type StatusCode = (typeof STATUS_CODES)[number]

/** The Vietnamese name of each status code (QCVN 102), as DMSs show it; the automatic 01 and 02 use it as Description. */
export const STATUS_CODE_LABELS: Readonly<Record<StatusCode, string>> = Object.freeze({
  '01': 'Đã đến',
  '02': 'Từ chối tiếp nhận',
  '03': 'Đã tiếp nhận',
  '04': 'Phân công',
  '05': 'Đang xử lý',
  '06': 'Hoàn thành',
  '13': 'Lấy lại',
  '15': 'Đồng ý lấy lại',
  '16': 'Từ chối lấy lại',
})

/**
 * State names (docs/design.md "Delivery states", one table for both directions). A name means one thing in both
 * directions: `registered` is status 03 whether the recipient registered our document or our DMS registered one it
 * received; `arrived` is a package that arrived here (we sent its 01), `delivered` one of ours that arrived there (its
 * 01 came back); `accepted` is only the outbox. Until schema 009 the names were `received` (outgoing 03 and the
 * incoming arrival) and `accepted` (the outbox and the incoming 03): see LEGACY_STATE_NAMES.
 *
 * Outgoing delivery states, per (package, recipient):
 * `accepted` (persisted and signed) → `queued` (broker confirmed) → `delivered` (01) → `registered` (03) | `refused` (02)
 * → `assigned` (04) → `processing` (05) → `completed` (06). Side states: `failed` (always with a reason),
 * `recalled` (our recall 13 answered by 15), `recall-refused` (answered by 16).
 */
export const DELIVERY_STATES = [
  'accepted',
  'queued',
  'delivered',
  'registered',
  'refused',
  'assigned',
  'processing',
  'completed',
  'failed',
  'recalled',
  'recall-refused',
] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]

/** The outgoing delivery state a status code from the recipient moves to; 13 (recall request) moves none. */
export const STATUS_CODE_STATE: Readonly<Record<StatusCode, DeliveryState | undefined>> = Object.freeze({
  '01': 'delivered',
  '02': 'refused',
  '03': 'registered',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': undefined,
  '15': 'recalled',
  '16': 'recall-refused',
})

/**
 * Incoming package states (a package received for a hosted agency):
 * `arrived` (verified, stored, 01 sent) → `fetched` (the DMS took it) → the statuses the DMS posts:
 * `registered` (03), `refused` (02), `assigned` (04), `processing` (05), `completed` (06); recall: `recall-requested`
 * (the sender sent 13), `recalled` (our DMS answered 15), `recall-refused` (16). `rejected`: failed parsing or
 * verification, stored with its verdict and never handed to the DMS as valid; `discarded`: an operator discarded it.
 */
export const INCOMING_STATES = [
  'arrived',
  'fetched',
  'registered',
  'refused',
  'assigned',
  'processing',
  'completed',
  'recall-requested',
  'recalled',
  'recall-refused',
  'rejected',
  'discarded',
] as const
export type IncomingState = (typeof INCOMING_STATES)[number]

/** The incoming state a status code posted by our DMS (or 13 from the sender) moves to; 01 moves none. */
export const STATUS_CODE_INCOMING_STATE: Readonly<Record<StatusCode, IncomingState | undefined>> = Object.freeze({
  '01': undefined,
  '02': 'refused',
  '03': 'registered',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': 'recall-requested',
  '15': 'recalled',
  '16': 'recall-refused',
})

export const isDeliveryState = (s: unknown): s is DeliveryState =>
  typeof s === 'string' && (DELIVERY_STATES as readonly string[]).includes(s)
export const isIncomingState = (s: unknown): s is IncomingState =>
  typeof s === 'string' && (INCOMING_STATES as readonly string[]).includes(s)
export const isStatusCode = (s: unknown): s is StatusCode =>
  typeof s === 'string' && (STATUS_CODES as readonly string[]).includes(s)

/**
 * The state names used before schema 009, per direction, and their names now. Stored rows were renamed by
 * migration 009; the hash-chained log keeps the old names in the rows written before it (a chained row is never
 * rewritten), so reads map them (`currentStateName`) and log filters look for both (`storedStateNames`).
 */
export const LEGACY_STATE_NAMES: Readonly<Record<Direction, Readonly<Record<string, DeliveryState | IncomingState>>>> = Object.freeze({
  out: Object.freeze({ received: 'registered' as const }),
  in: Object.freeze({ received: 'arrived' as const, accepted: 'registered' as const }),
})

/** A state name as stored (possibly before schema 009) → its name now, for the direction of the row. */
export function currentStateName(direction: Direction, name: string): string
export function currentStateName(direction: Direction, name: string | undefined): string | undefined
export function currentStateName(direction: Direction, name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  return (LEGACY_STATE_NAMES[direction] as Record<string, string>)[name] ?? name
}

/** Every name a state may be stored under in `direction`: its name, and the old names that mean it. */
export function storedStateNames(direction: Direction, state: string): string[] {
  const legacy = Object.entries(LEGACY_STATE_NAMES[direction]).filter(([, now]) => now === state).map(([old]) => old)
  return [state, ...legacy]
}

/**
 * State filter values accepted for one release beside the current names (deprecated): an old name that is no longer
 * the name of any state. `accepted` is not among them: it is still the outbox state (outgoing); on the inbox, where
 * no state is called `accepted`, it is read as `registered`, as it meant there.
 */
export const DEPRECATED_STATE_FILTERS: Readonly<Record<Direction, Readonly<Record<string, string>>>> = Object.freeze({
  out: Object.freeze({ received: 'registered' }),
  in: Object.freeze({ received: 'arrived', accepted: 'registered' }),
})

export interface StateFilter {
  /** The current state name to match, per direction; a direction left out matches nothing. */
  out?: DeliveryState
  in?: IncomingState
  /** Set when an old name was given: what to say in the answer (Deprecation/Warning headers). */
  deprecated?: string
}

/**
 * A `state=` filter value → the states it matches. `direction`: the list's direction (documents: out, inbox: in),
 * or undefined for the log (both). A current name means that state in the directions that have it; an old name
 * (DEPRECATED_STATE_FILTERS) means what it meant in each direction where it is not a current name. Undefined: not a
 * state name at all (the route answers 400).
 */
export function resolveStateFilter(value: string, direction?: Direction): StateFilter | undefined {
  const f: StateFilter = {}
  const dirs: Direction[] = direction ? [direction] : ['out', 'in']
  const current = dirs.filter((d) => (d === 'out' ? isDeliveryState(value) : isIncomingState(value)))
  if (current.length) {
    for (const d of current) (f as Record<string, string>)[d] = value
    return f
  }
  const olds: string[] = []
  for (const d of dirs) {
    const now = (DEPRECATED_STATE_FILTERS[d] as Record<string, string>)[value]
    if (now === undefined) continue
    ;(f as Record<string, string>)[d] = now
    olds.push(`${d === 'out' ? 'outgoing' : 'incoming'} ${now}`)
  }
  if (!olds.length) return undefined
  f.deprecated = `state=${value} is an old state name, accepted until the next release: use ${olds.join(' / ')}`
  return f
}

/** Every value a `state=` filter accepts in `direction` (or the log): the state names, then the deprecated ones. */
export function stateFilterValues(direction?: Direction): string[] {
  const dirs: Direction[] = direction ? [direction] : ['out', 'in']
  const names = new Set<string>()
  for (const d of dirs) for (const s of d === 'out' ? DELIVERY_STATES : INCOMING_STATES) names.add(s)
  for (const d of dirs) for (const old of Object.keys(DEPRECATED_STATE_FILTERS[d])) if (!names.has(old)) names.add(old)
  return [...names]
}
