/**
 * 013: packages stored while their signing token (PKCS#11) was unavailable, waiting for their signature.
 *
 * - `awaiting_signature`: one row per such package (`package_id`), the hosted agency whose key signs (`signer`),
 *   since when it waits (`since`, ISO-8601 UTC text), why (`reason`: the token's error), how many signing attempts
 *   failed since (`attempts`, `last_error`, `last_attempt_at`). Its `package_bytes.signature` is empty meanwhile.
 *   The relay never reads a delivery of a package that has a row here (pendingDeliveries); the re-signer
 *   (src/pipeline/resigner.ts) stores the signature, deletes the row and logs a `signed` event per delivery, in one
 *   transaction.
 * - The immutability trigger of `package_bytes` (001, 008) now also allows the one change a waiting package needs:
 *   its empty signature set, bytes unchanged, while its awaiting_signature row exists (deleted after, in the same
 *   transaction). The bytes a package was stored with are never changed.
 */
import type { Migration } from './index.js'

const MSG = 'package bytes are immutable (a retention purge may only empty them, recorded in purged_bytes; a package awaiting its signature may only get it)'

const table = `
CREATE TABLE awaiting_signature (
  package_id TEXT PRIMARY KEY REFERENCES packages (id),
  signer TEXT NOT NULL,
  since TEXT NOT NULL,
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_attempt_at TEXT
);
`

const sqlite = `${table}
DROP TRIGGER package_bytes_no_update;
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes
WHEN NOT (NEW.package_id = OLD.package_id AND (
          (length(NEW.bytes) = 0 AND length(NEW.signature) = 0
           AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = OLD.package_id))
       OR (NEW.bytes = OLD.bytes AND length(OLD.signature) = 0 AND length(NEW.signature) > 0
           AND EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = OLD.package_id))))
BEGIN SELECT RAISE(ABORT, '${MSG}'); END;
`

const pg = `${table}
CREATE OR REPLACE FUNCTION lienthong_package_bytes_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.package_id = OLD.package_id AND octet_length(NEW.bytes) = 0 AND octet_length(NEW.signature) = 0
     AND EXISTS (SELECT 1 FROM purged_bytes x WHERE x.direction = 'out' AND x.id = OLD.package_id) THEN
    RETURN NEW;
  END IF;
  IF NEW.package_id = OLD.package_id AND NEW.bytes = OLD.bytes AND octet_length(OLD.signature) = 0 AND octet_length(NEW.signature) > 0
     AND EXISTS (SELECT 1 FROM awaiting_signature w WHERE w.package_id = OLD.package_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on % is forbidden: ${MSG}', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
`

export const migration013: Migration = {
  version: 13,
  name: 'awaiting-signature',
  description: 'packages stored while their signing token was unavailable (awaiting_signature): the relay publishes them only once signed',
  sqlite,
  pg,
}
