/**
 * 001: packages (+ their exact bytes), deliveries, idempotency keys, incoming packages (+ bytes) and the
 * append-only, hash-chained event log. Times are ISO-8601 UTC text with milliseconds in both dialects (the
 * event log hashes them as stored; text sorts chronologically).
 */
import type { Migration } from './index.js'

const sqlite = `
CREATE TABLE packages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('edoc', 'status')),
  document_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  client_id TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  subject TEXT,
  code_number TEXT,
  code_notation TEXT,
  promulgation_date TEXT,
  status_code TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  -- subject and number/notation folded for search (lower case, no diacritics, đ → d): search.ts
  search TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX packages_sender ON packages (sender, seq);
CREATE INDEX packages_client ON packages (client_id, seq);
CREATE INDEX packages_document ON packages (sender, document_id);
CREATE INDEX packages_code ON packages (sender, code_number, code_notation);
CREATE INDEX packages_created ON packages (created_at);

-- exact bytes apart from the metadata so that listing never reads the blobs
CREATE TABLE package_bytes (
  package_id TEXT PRIMARY KEY REFERENCES packages (id),
  bytes BLOB NOT NULL,
  signature BLOB NOT NULL
);

CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  package_id TEXT NOT NULL REFERENCES packages (id),
  recipient TEXT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  status_code TEXT,
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  queued_at TEXT,
  UNIQUE (package_id, recipient)
);
-- the outbox: only pending rows are in this index
CREATE INDEX deliveries_outbox ON deliveries (priority DESC, seq) WHERE state = 'accepted';
CREATE INDEX deliveries_recipient ON deliveries (recipient, package_id);
CREATE INDEX deliveries_state ON deliveries (state, updated_at);

CREATE TABLE idempotency_keys (
  client_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  package_id TEXT NOT NULL REFERENCES packages (id),
  created_at TEXT NOT NULL,
  PRIMARY KEY (client_id, key)
) WITHOUT ROWID;

CREATE TABLE incoming (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('edoc', 'status', 'unknown')),
  document_id TEXT,
  sender TEXT,
  recipient TEXT,
  message_id TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  subject TEXT,
  code_number TEXT,
  code_notation TEXT,
  promulgation_date TEXT,
  status_code TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  verdict TEXT NOT NULL DEFAULT '{}',
  search TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  reason TEXT,
  related_id TEXT,
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  fetched_at TEXT
);
-- redelivery of the same package to the same hosted agency is a duplicate
CREATE UNIQUE INDEX incoming_dedupe ON incoming (sender, document_id, sha256, recipient);
CREATE INDEX incoming_recipient ON incoming (recipient, seq);
CREATE INDEX incoming_sender ON incoming (sender, seq);
CREATE INDEX incoming_state ON incoming (state, seq);
CREATE INDEX incoming_received ON incoming (received_at);

CREATE TABLE incoming_bytes (
  incoming_id TEXT PRIMARY KEY REFERENCES incoming (id),
  bytes BLOB NOT NULL,
  signature BLOB
);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  type TEXT NOT NULL,
  package_id TEXT,
  delivery_id TEXT,
  document_id TEXT,
  sender TEXT,
  recipient TEXT,
  actor TEXT NOT NULL,
  from_state TEXT,
  state TEXT,
  changed INTEGER NOT NULL,
  status_code TEXT,
  cause TEXT,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_sender ON events (sender, seq);
CREATE INDEX events_recipient ON events (recipient, seq);
CREATE INDEX events_package ON events (package_id, seq);
CREATE INDEX events_delivery ON events (delivery_id, seq);
CREATE INDEX events_document ON events (document_id, seq);
CREATE INDEX events_state ON events (state, seq);

-- append-only: the application never changes or removes events; the hash chain detects raw file edits anyway
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
-- a package's identity and bytes never change once stored
CREATE TRIGGER packages_no_update BEFORE UPDATE ON packages
BEGIN SELECT RAISE(ABORT, 'packages are immutable'); END;
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes
BEGIN SELECT RAISE(ABORT, 'package bytes are immutable'); END;
CREATE TRIGGER incoming_bytes_no_update BEFORE UPDATE ON incoming_bytes
BEGIN SELECT RAISE(ABORT, 'package bytes are immutable'); END;
`

const pg = `
CREATE TABLE packages (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('edoc', 'status')),
  document_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  client_id TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  subject TEXT,
  code_number TEXT,
  code_notation TEXT,
  promulgation_date TEXT,
  status_code TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  -- subject and number/notation folded for search (lower case, no diacritics, đ → d): search.ts
  search TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX packages_sender ON packages (sender, seq);
CREATE INDEX packages_client ON packages (client_id, seq);
CREATE INDEX packages_document ON packages (sender, document_id);
CREATE INDEX packages_code ON packages (sender, code_number, code_notation);
CREATE INDEX packages_created ON packages (created_at);

CREATE TABLE package_bytes (
  package_id TEXT PRIMARY KEY REFERENCES packages (id),
  bytes BYTEA NOT NULL,
  signature BYTEA NOT NULL
);

CREATE TABLE deliveries (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  package_id TEXT NOT NULL REFERENCES packages (id),
  recipient TEXT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL,
  status_code TEXT,
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  queued_at TEXT,
  UNIQUE (package_id, recipient)
);
CREATE INDEX deliveries_outbox ON deliveries (priority DESC, seq) WHERE state = 'accepted';
CREATE INDEX deliveries_recipient ON deliveries (recipient, package_id);
CREATE INDEX deliveries_state ON deliveries (state, updated_at);

CREATE TABLE idempotency_keys (
  client_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  -- deferred: the key is claimed first (INSERT ... ON CONFLICT DO NOTHING) so concurrent requests wait for each other
  package_id TEXT NOT NULL REFERENCES packages (id) DEFERRABLE INITIALLY DEFERRED,
  created_at TEXT NOT NULL,
  PRIMARY KEY (client_id, key)
);

CREATE TABLE incoming (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('edoc', 'status', 'unknown')),
  document_id TEXT,
  sender TEXT,
  recipient TEXT,
  message_id TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  subject TEXT,
  code_number TEXT,
  code_notation TEXT,
  promulgation_date TEXT,
  status_code TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  verdict TEXT NOT NULL DEFAULT '{}',
  search TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  reason TEXT,
  related_id TEXT,
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  fetched_at TEXT
);
-- NULLS NOT DISTINCT (PostgreSQL 15+): an unparseable package redelivered is a duplicate too, as in SQLite
CREATE UNIQUE INDEX incoming_dedupe ON incoming (sender, document_id, sha256, recipient) NULLS NOT DISTINCT;
CREATE INDEX incoming_recipient ON incoming (recipient, seq);
CREATE INDEX incoming_sender ON incoming (sender, seq);
CREATE INDEX incoming_state ON incoming (state, seq);
CREATE INDEX incoming_received ON incoming (received_at);

CREATE TABLE incoming_bytes (
  incoming_id TEXT PRIMARY KEY REFERENCES incoming (id),
  bytes BYTEA NOT NULL,
  signature BYTEA
);

-- seq is assigned by the writer as head + 1 under a lock on log_head, so the chain has no gaps
CREATE TABLE events (
  seq BIGINT PRIMARY KEY,
  time TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  type TEXT NOT NULL,
  package_id TEXT,
  delivery_id TEXT,
  document_id TEXT,
  sender TEXT,
  recipient TEXT,
  actor TEXT NOT NULL,
  from_state TEXT,
  state TEXT,
  changed INTEGER NOT NULL,
  status_code TEXT,
  cause TEXT,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_sender ON events (sender, seq);
CREATE INDEX events_recipient ON events (recipient, seq);
CREATE INDEX events_package ON events (package_id, seq);
CREATE INDEX events_delivery ON events (delivery_id, seq);
CREATE INDEX events_document ON events (document_id, seq);
CREATE INDEX events_state ON events (state, seq);

-- one row: the chain head; writers lock it (SELECT ... FOR UPDATE) to append in order
CREATE TABLE log_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO log_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

CREATE FUNCTION lienthong_forbid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% on % is forbidden: append-only / immutable', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
CREATE TRIGGER packages_no_update BEFORE UPDATE ON packages FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
CREATE TRIGGER package_bytes_no_update BEFORE UPDATE ON package_bytes FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
CREATE TRIGGER incoming_bytes_no_update BEFORE UPDATE ON incoming_bytes FOR EACH ROW EXECUTE FUNCTION lienthong_forbid();
`

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  description: 'packages and their exact bytes, deliveries, idempotency keys, incoming packages, the hash-chained event log',
  sqlite,
  pg,
}
