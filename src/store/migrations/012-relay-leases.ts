/**
 * 012: leases on outbox rows, so that the relays of several gateway processes on one database share the outbox
 * without publishing a delivery twice.
 *
 * - `deliveries.lease_owner`: the relay (process) that took the `accepted` delivery to publish it; `lease_until`:
 *   until when (ISO-8601 UTC text, as every time of the store). A relay reads pending deliveries that nobody holds,
 *   whose lease expired (its process died or stalled) or that it holds itself, and writes its lease on them in the
 *   same statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`, rows another relay is claiming right now are skipped).
 *   A delivery that leaves `accepted` keeps its last lease; a re-send makes it pending again and the old lease,
 *   expired or its own relay's, does not stop it.
 */
import type { Migration } from './index.js'

const sql = `
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
`

export const migration012: Migration = {
  version: 12,
  name: 'relay-leases',
  description: 'leases on pending deliveries (lease_owner, lease_until): several gateway processes share the outbox without publishing a delivery twice',
  sqlite: sql,
  pg: sql,
}
