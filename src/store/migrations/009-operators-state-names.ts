/**
 * 009: state names that say one thing in both directions (docs/design.md "Delivery states"). Before, `received`
 * was an outgoing delivery registered by its recipient (status 03) and also an incoming package that had just
 * arrived, and `accepted` was the outbox and also an incoming package our DMS registered (03). Now:
 *
 * - outgoing deliveries: `received` → `registered` (03);
 * - incoming packages: `received` → `arrived` (verified and stored, 01 sent), `accepted` → `registered` (03).
 *
 * Only the current-state columns change. The event log is hash-chained and append-only: its rows keep the names
 * they were written with, and the store maps them when it reads them (src/document/delivery.ts
 * LEGACY_STATE_NAMES); log filters look for both names. Pending webhook bodies are left as they were queued.
 */
import type { Migration } from './index.js'

const sql = `
UPDATE deliveries SET state = 'registered' WHERE state = 'received';
UPDATE incoming SET state = CASE state WHEN 'received' THEN 'arrived' ELSE 'registered' END WHERE state IN ('received', 'accepted');
`

export const migration009: Migration = {
  version: 9,
  name: 'state-names',
  description:
    "state names per direction: outgoing 'received' (03) is now 'registered'; incoming 'received' is 'arrived' and 'accepted' (03) 'registered'; log rows keep their names and are read with the new ones",
  sqlite: sql,
  pg: sql,
}
