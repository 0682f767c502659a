/**
 * 014: large package bytes in parts (SQLite).
 *
 * better-sqlite3 runs on the event loop: a COMMIT that writes a 50 MB blob (its WAL pages and the fsync of
 * synchronous=FULL) held the loop for 0.5-1.3 s. Bytes from `PART_THRESHOLD` on (src/store/sqlite-store.ts) are
 * written first as parts of `PART_BYTES`, each its own small commit through the group commit (other writes go on
 * between two parts), under a fresh key; the write that stores the package then stores an empty `bytes` with
 * `parts_key` and `parts` (the number of parts) in `package_bytes` / `incoming_bytes`. A reader reads the parts one
 * per event-loop turn.
 *
 * - `blob_parts (key, seq, data)`: seq 0 … parts-1. Never updated. A part is deleted only when no bytes row holds
 *   its key (parts written for a write that did not happen: a duplicate, an idempotent replay, a failure, or a
 *   crash between the parts and the write, swept when the store opens) or when the row that holds it was purged
 *   (`purged_bytes`, 008): the same rule as the bytes themselves.
 * - PostgreSQL keeps bytes inline: `pg` sends a write without holding the event loop for the commit; the columns
 *   exist there too (always NULL) so that both dialects have one schema.
 */
import type { Migration } from './index.js'

const MSG = 'package bytes are immutable (a retention purge may only empty them, recorded in purged_bytes)'
const MSG_OUT = 'package bytes are immutable (a retention purge may only empty them, recorded in purged_bytes; a package awaiting its signature may only get it)'

const columns = `
CREATE TABLE blob_parts (
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (key, seq)
);
ALTER TABLE package_bytes ADD COLUMN parts_key TEXT;
ALTER TABLE package_bytes ADD COLUMN parts INTEGER;
ALTER TABLE incoming_bytes ADD COLUMN parts_key TEXT;
ALTER TABLE incoming_bytes ADD COLUMN parts INTEGER;
CREATE INDEX package_bytes_parts ON package_bytes (parts_key) WHERE parts_key IS NOT NULL;
CREATE INDEX incoming_bytes_parts ON incoming_bytes (parts_key) WHERE parts_key IS NOT NULL;
`

// the bytes rows' immutability triggers (008, 013) also keep parts_key and parts as inserted
const sqlite = `${columns}
DROP TRIGGER package_bytes_no_update;
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes
WHEN NOT (NEW.package_id = OLD.package_id AND NEW.parts_key IS OLD.parts_key AND NEW.parts IS OLD.parts AND (
          (length(NEW.bytes) = 0 AND length(NEW.signature) = 0
           AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = OLD.package_id))
       OR (NEW.bytes = OLD.bytes AND length(OLD.signature) = 0 AND length(NEW.signature) > 0
           AND EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = OLD.package_id))))
BEGIN SELECT RAISE(ABORT, '${MSG_OUT}'); END;
DROP TRIGGER incoming_bytes_no_update;
CREATE TRIGGER incoming_bytes_no_update BEFORE UPDATE ON incoming_bytes
WHEN NOT (NEW.incoming_id = OLD.incoming_id AND NEW.parts_key IS OLD.parts_key AND NEW.parts IS OLD.parts AND length(NEW.bytes) = 0 AND NEW.signature IS NULL
          AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = OLD.incoming_id))
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
CREATE TRIGGER blob_parts_no_update BEFORE UPDATE ON blob_parts
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
CREATE TRIGGER blob_parts_no_delete BEFORE DELETE ON blob_parts
WHEN EXISTS (SELECT 1 FROM package_bytes b WHERE b.parts_key = OLD.key
               AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = b.package_id))
  OR EXISTS (SELECT 1 FROM incoming_bytes b WHERE b.parts_key = OLD.key
               AND NOT EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = b.incoming_id))
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
`

export const migration014: Migration = {
  version: 14,
  name: 'blob-parts',
  description: 'large package bytes stored in parts of 1 MiB (blob_parts; package_bytes and incoming_bytes parts_key, parts), each part its own commit',
  sqlite,
  pg: columns.replace('data BLOB', 'data BYTEA'),
}
