/**
 * 009: log anchors. The delivery log's chain head (seq and hash of its last row) timestamped by a TSA (RFC 3161,
 * src/pipeline/log-anchors.ts): `log_anchors` keeps, per anchored seq, the head hash, when it was anchored, the
 * TSA's URL, the token's genTime and the token's exact DER (its message imprint is the SHA-256 head hash itself).
 * Append-only like the log. `lienthong log verify` checks them against the log (src/store/README.md, "Anchors").
 */
import type { Migration } from './index.js'

const table = (blob: string) => `
CREATE TABLE log_anchors (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  anchored_at TEXT NOT NULL,
  tsa TEXT NOT NULL,
  gen_time TEXT NOT NULL,
  token ${blob} NOT NULL
);
`

const sqlite = `${table('BLOB')}
CREATE TRIGGER log_anchors_no_update BEFORE UPDATE ON log_anchors
BEGIN SELECT RAISE(ABORT, 'log_anchors is append-only'); END;
CREATE TRIGGER log_anchors_no_delete BEFORE DELETE ON log_anchors
BEGIN SELECT RAISE(ABORT, 'log_anchors is append-only'); END;
`

const pg = `${table('BYTEA').replace('seq INTEGER PRIMARY KEY', 'seq BIGINT PRIMARY KEY')}
CREATE TRIGGER log_anchors_no_change BEFORE UPDATE OR DELETE ON log_anchors FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
`

export const migration011: Migration = {
  version: 11,
  name: 'tsa-log-anchors',
  description: 'log_anchors: timestamp tokens (RFC 3161) over the delivery log\'s chain head, append-only',
  sqlite,
  pg,
}
