/**
 * The `state=` filter of the list routes (documents: outgoing states, inbox: incoming states, log: both), with the
 * old state names accepted for one release (src/document/delivery.ts resolveStateFilter; docs/design.md "Delivery
 * states"). An old name is answered with `Deprecation: true` and a `Warning: 299` header saying which name to use.
 */
import type { FastifyReply } from 'fastify'
import { resolveStateFilter, stateFilterValues, type Direction, type StateFilter } from '../document/delivery.js'
import { gwError } from '../errors.js'

/** The state filter of `value` for a list of `direction` (undefined: the log); 400 for a name that is no state. */
export function stateFilter(reply: FastifyReply, value: string, direction?: Direction): StateFilter {
  const f = resolveStateFilter(value, direction)
  if (!f) {
    const allowed = stateFilterValues(direction).join(', ')
    throw gwError('GW_ERR_API_VALIDATION', {
      problems: `querystring.state must be one of ${allowed}`,
      details: [{ field: 'querystring.state', problem: `must be one of ${allowed}` }],
    })
  }
  if (f.deprecated) {
    void reply.header('deprecation', 'true')
    void reply.header('warning', `299 lienthong "${f.deprecated}"`)
  }
  return f
}
