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
 * Outgoing delivery states, per (package, recipient):
 * `accepted` (persisted and signed) → `queued` (broker confirmed) → `delivered` (01) → `received` (03) | `refused` (02)
 * → `assigned` (04) → `processing` (05) → `completed` (06). Side states: `failed` (always with a reason),
 * `recalled` (our recall 13 answered by 15), `recall-refused` (answered by 16).
 */
export const DELIVERY_STATES = [
  'accepted',
  'queued',
  'delivered',
  'received',
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
  '03': 'received',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': undefined,
  '15': 'recalled',
  '16': 'recall-refused',
})

/**
 * Incoming package states (a package received for a hosted agency):
 * `received` (verified, stored, 01 sent) → `fetched` (the DMS took it) → the statuses the DMS posts:
 * `accepted` (03), `refused` (02), `assigned` (04), `processing` (05), `completed` (06); recall: `recall-requested`
 * (the sender sent 13), `recalled` (our DMS answered 15), `recall-refused` (16). `rejected`: failed parsing or
 * verification, stored with its verdict and never handed to the DMS as valid; `discarded`: an operator discarded it.
 */
export const INCOMING_STATES = [
  'received',
  'fetched',
  'accepted',
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
  '03': 'accepted',
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
