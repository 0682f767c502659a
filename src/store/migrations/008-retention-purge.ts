/**
 * 008: retention. The exact bytes of a package (and so its attachments) may be purged once the package is in a
 * final state and older than the configured number of days (core.ts `purgeTx`, config `retention`): its bytes and
 * signature become empty, and a row of `purged_bytes` says when, why and how many bytes. The package, delivery and
 * incoming rows and the log stay (the hash chain never covered the bytes, only their sha256 in the rows).
 *
 * - `purged_bytes` (direction, id): `out` for a package we sent (packages.id), `in` for a received one
 *   (incoming.id); append-only like the log. A table apart, so that finding what is left to purge never reads a
 *   bytes row (in SQLite a column after a large blob is reached only through its overflow pages).
 * - The immutability triggers of 001 now allow exactly one change of a bytes row: emptied, after its
 *   `purged_bytes` row was written in the same transaction.
 * - Idempotency keys are purged by age: an index on their creation time.
 */
import type { Migration } from './index.js'

const MSG = 'package bytes are immutable (a retention purge may only empty them, recorded in purged_bytes)'

const table = `
CREATE TABLE purged_bytes (
  direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  id TEXT NOT NULL,
  purged_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (direction, id)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`

const sqlite = `${table}
DROP TRIGGER package_bytes_no_update;
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes
WHEN NOT (NEW.package_id = OLD.package_id AND length(NEW.bytes) = 0 AND length(NEW.signature) = 0
          AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = OLD.package_id))
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
DROP TRIGGER incoming_bytes_no_update;
CREATE TRIGGER incoming_bytes_no_update BEFORE UPDATE ON incoming_bytes
WHEN NOT (NEW.incoming_id = OLD.incoming_id AND length(NEW.bytes) = 0 AND NEW.signature IS NULL
          AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = OLD.incoming_id))
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
CREATE TRIGGER purged_bytes_no_update BEFORE UPDATE ON purged_bytes
BEGIN SELECT RAISE(ABORT, 'purged_bytes is append-only'); END;
CREATE TRIGGER purged_bytes_no_delete BEFORE DELETE ON purged_bytes
BEGIN SELECT RAISE(ABORT, 'purged_bytes is append-only'); END;
`

const pg = `${table}
CREATE FUNCTION lienthong_package_bytes_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.package_id = OLD.package_id AND octet_length(NEW.bytes) = 0 AND octet_length(NEW.signature) = 0
     AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = OLD.package_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on % is forbidden: ${MSG}', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE FUNCTION lienthong_incoming_bytes_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.incoming_id = OLD.incoming_id AND octet_length(NEW.bytes) = 0 AND NEW.signature IS NULL
     AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'in' AND x.id = OLD.incoming_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on % is forbidden: ${MSG}', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
DROP TRIGGER package_bytes_no_update ON package_bytes;
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes FOR EACH ROW EXECUTE FUNCTION lienthong_package_bytes_purge_only();
DROP TRIGGER incoming_bytes_no_update ON incoming_bytes;
CREATE TRIGGER incoming_bytes_no_update BEFORE UPDATE ON incoming_bytes FOR EACH ROW EXECUTE FUNCTION lienthong_incoming_bytes_purge_only();
CREATE TRIGGER purged_bytes_no_change BEFORE UPDATE OR DELETE ON purged_bytes FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
`

export const migration008: Migration = {
  version: 8,
  name: 'retention-purge',
  description: 'package bytes can be purged once by retention (purged_bytes says when and why); idempotency keys indexed by age',
  sqlite,
  pg,
}
