/**
 * 007: only packages that passed verification deduplicate, and OrganIds compare canonically (case-insensitively).
 *
 * - `incoming_dedupe` (001) was unique over (sender, document_id, sha256, recipient) whatever the state: a refused
 *   copy of a genuine package's bytes (wrong sender header, garbage or no signature: anyone holding the bytes can
 *   publish one) took that key first, and the genuine copy arriving later was taken for a duplicate of it. It is
 *   replaced by `incoming_accepted`, unique over the same columns (the OrganIds upper-cased) for the packages that
 *   count as received only: `rejected` and `discarded` rows are never a duplicate of anything, each refused copy is
 *   its own row (its own dead letter, with its verdict).
 * - the history check's read (`findIncomingByDocument`) and the status match (`findDelivery`) compare the sender
 *   upper-cased: their indexes are on `upper(sender)` (SQLite uses an expression index when the query writes the
 *   very expression).
 */
import type { Migration } from './index.js'

const sql = (nullsNotDistinct: string): string => `
DROP INDEX IF EXISTS incoming_dedupe;
DROP INDEX IF EXISTS incoming_sender_document;
CREATE UNIQUE INDEX IF NOT EXISTS incoming_accepted ON incoming (upper(sender), document_id, sha256, upper(recipient))${nullsNotDistinct}
  WHERE state NOT IN ('rejected', 'discarded');
CREATE INDEX incoming_sender_document ON incoming (upper(sender), document_id, seq);
CREATE INDEX IF NOT EXISTS packages_document_ci ON packages (upper(sender), document_id);
CREATE INDEX IF NOT EXISTS packages_code_ci ON packages (upper(sender), code_number, code_notation);
`

// NULLS NOT DISTINCT (PostgreSQL 15+): a status answering no DocumentId, redelivered, is a duplicate too, as in SQLite
export const migration007: Migration = {
  version: 7,
  name: 'accepted-dedupe',
  description: 'only accepted incoming packages deduplicate; sender and recipient OrganIds compared case-insensitively',
  sqlite: sql(''),
  pg: sql(' NULLS NOT DISTINCT'),
}
