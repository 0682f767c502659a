/**
 * 003: the search index of 002 is filled in bulk, off the send path, instead of by a trigger per row: measured
 * on the shared machine, indexing per row cost 0.1-0.3 ms per package inside the write transaction, indexing a
 * thousand rows at once about 15 µs per package. `search_indexed` records how far each table is indexed; rows
 * after that point are searched directly (they are few). PostgreSQL: nothing to do.
 */
import type { Migration } from './index.js'

const sqlite = `
DROP TRIGGER IF EXISTS packages_fts_insert;
DROP TRIGGER IF EXISTS packages_fts_delete;
DROP TRIGGER IF EXISTS incoming_fts_insert;
DROP TRIGGER IF EXISTS incoming_fts_delete;
CREATE TABLE search_indexed (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO search_indexed (name, seq) VALUES
  ('packages', (SELECT coalesce(max(seq), 0) FROM packages)),
  ('incoming', (SELECT coalesce(max(seq), 0) FROM incoming));
`

export const migration003: Migration = {
  version: 3,
  name: 'search-index-deferred',
  description: 'search index filled in bulk after writes instead of per row',
  sqlite,
  pg: 'SELECT 1;',
}
