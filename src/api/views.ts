/** Response shapes shared by several routes. */
import type { TimelineEntry } from '../store/index.js'

/** One event of a timeline as the API shows it (schemas: `from` is the state before, absent fields left out). */
export function timelineView(e: TimelineEntry) {
  return {
    seq: e.seq,
    time: e.time,
    type: e.type,
    ...(e.fromState ? { from: e.fromState } : {}),
    ...(e.state ? { state: e.state } : {}),
    changed: e.changed,
    ...(e.statusCode ? { statusCode: e.statusCode } : {}),
    ...(e.cause ? { cause: e.cause } : {}),
    actor: e.actor,
    detail: e.detail,
  }
}
