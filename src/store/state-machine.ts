/**
 * The delivery state machines (docs/design.md "Delivery states"), shared by every Store implementation.
 *
 * A transition that is not allowed is not an error: statuses arrive out of order (a 03 overtaking its 01, a
 * redelivered 01 after 06), so the store records the event in the timeline with `changed: false` and leaves the
 * state where it is. States never move backwards, with one deliberate exception: `failed → accepted` (an operator
 * or the relay re-sends a failed delivery) and, incoming, `rejected → arrived` (an operator replays a package
 * after fixing the cause).
 */
import type { DeliveryState, IncomingState } from '../document/delivery.js'

/** Rank of the main line; two states of the same rank are alternatives (03 registered | 02 refused). */
const OUT_RANK: Readonly<Partial<Record<DeliveryState, number>>> = {
  accepted: 0,
  queued: 1,
  delivered: 2,
  registered: 3,
  refused: 3,
  assigned: 4,
  processing: 5,
  completed: 6,
}
/** Main-line states after which the main line does not continue. */
const OUT_END: ReadonlySet<DeliveryState> = new Set(['refused', 'completed'])

/** Whether an outgoing delivery in state `from` moves to `to`. */
export function outgoingMoves(from: DeliveryState, to: DeliveryState): boolean {
  if (from === to || from === 'recalled') return false
  switch (to) {
    case 'accepted':
      return from === 'failed'
    case 'failed':
      // publishing failed (nack, unroutable, retries exhausted); once the recipient answered, it is not a failure
      return from === 'accepted' || from === 'queued'
    case 'recalled':
      return true
    case 'recall-refused':
      return from !== 'recall-refused'
    default: {
      const r = OUT_RANK[to]
      if (r === undefined) return false
      // a status from the recipient proves the package arrived, even if the relay had given up on it
      if (from === 'failed') return r >= OUT_RANK.delivered!
      const f = OUT_RANK[from]
      if (f === undefined || OUT_END.has(from)) return false
      return r > f
    }
  }
}

const IN_RANK: Readonly<Partial<Record<IncomingState, number>>> = {
  arrived: 0,
  fetched: 1,
  registered: 2,
  refused: 2,
  assigned: 3,
  processing: 4,
  completed: 5,
}
const IN_END: ReadonlySet<IncomingState> = new Set(['refused', 'completed'])

/** Whether an incoming package in state `from` moves to `to`. */
export function incomingMoves(from: IncomingState, to: IncomingState): boolean {
  if (from === to || from === 'discarded' || from === 'recalled') return false
  if (from === 'rejected') return to === 'arrived' || to === 'discarded'
  switch (to) {
    case 'rejected':
      return false // verification happens before storing; a stored valid package is never rejected later
    case 'discarded':
      return false // only rejected packages can be discarded
    case 'recall-requested':
      return from !== 'recall-refused'
    case 'recalled':
      return true
    case 'recall-refused':
      return from === 'recall-requested'
    default: {
      const r = IN_RANK[to]
      const f = IN_RANK[from]
      if (r === undefined || f === undefined || IN_END.has(from)) return false
      return r > f
    }
  }
}
