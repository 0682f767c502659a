/**
 * 002: a trigram full-text index over the folded search text of packages and incoming packages (SQLite FTS5,
 * external content), so that a text filter on the delivery log finds rare words without scanning every package.
 * PostgreSQL keeps LIKE over `search` (pg_trgm needs an extension the gateway cannot assume); nothing to do there.
 */
import type { Migration } from './index.js'

const sqlite = `
CREATE VIRTUAL TABLE packages_fts USING fts5(search, content = 'packages', content_rowid = 'seq', tokenize = 'trigram');
CREATE VIRTUAL TABLE incoming_fts USING fts5(search, content = 'incoming', content_rowid = 'seq', tokenize = 'trigram');
INSERT INTO packages_fts (rowid, search) SELECT seq, search FROM packages;
INSERT INTO incoming_fts (rowid, search) SELECT seq, search FROM incoming;
CREATE TRIGGER packages_fts_insert AFTER INSERT ON packages
BEGIN INSERT INTO packages_fts (rowid, search) VALUES (new.seq, new.search); END;
CREATE TRIGGER packages_fts_delete AFTER DELETE ON packages
BEGIN INSERT INTO packages_fts (packages_fts, rowid, search) VALUES ('delete', old.seq, old.search); END;
CREATE TRIGGER incoming_fts_insert AFTER INSERT ON incoming
BEGIN INSERT INTO incoming_fts (rowid, search) VALUES (new.seq, new.search); END;
CREATE TRIGGER incoming_fts_delete AFTER DELETE ON incoming
BEGIN INSERT INTO incoming_fts (incoming_fts, rowid, search) VALUES ('delete', old.seq, old.search); END;
`

const pg = `SELECT 1;`

export const migration002: Migration = {
  version: 2,
  name: 'search-index',
  description: 'trigram full-text index over package subjects and numbers (SQLite FTS5)',
  sqlite,
  pg,
}
