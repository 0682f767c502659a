/**
 * 005: operational state out of the audit log.
 *
 * - `webhook_deliveries`: the webhook outbox. A notification is a row (pending → delivered | failed) with its
 *   attempts and the time of its next attempt; a start reads the pending rows through a partial index instead of
 *   re-reading three days of `webhook-queued` / `webhook-delivered` / `webhook-abandoned` events. The log keeps
 *   the outcome (`webhook-delivered`, `webhook-abandoned`), written with the row's final state. Notifications
 *   queued in the log before this migration become rows: delivered or failed when the log has their end event,
 *   failed when older than three days (the old dispatcher no longer picked those up), pending otherwise.
 * - `deliveries.discarded_at`: an operator's discard of a failed delivery is the dead letter's state, set with its
 *   `discarded` event and cleared when the delivery moves again, instead of each list row reading its timeline.
 *   Set here from the log: a failed delivery whose last `discarded` event is newer than its last state change.
 *
 * Both scan the events once (by type, and per failed delivery through events_delivery).
 */
import type { Migration } from './index.js'

const table = (seq: string): string => `
CREATE TABLE webhook_deliveries (
  seq ${seq},
  id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  organ_id TEXT NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  data TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (seq) WHERE state = 'pending';

ALTER TABLE deliveries ADD COLUMN discarded_at TEXT;
UPDATE deliveries SET discarded_at = (SELECT max(e.time) FROM events e WHERE e.delivery_id = deliveries.id AND e.type = 'discarded')
WHERE state = 'failed' AND EXISTS (
  SELECT 1 FROM events e WHERE e.delivery_id = deliveries.id AND e.type = 'discarded'
    AND e.seq > coalesce((SELECT max(c.seq) FROM events c WHERE c.delivery_id = deliveries.id AND c.changed = 1), 0));
`

/** The webhook rows from the log; `j(col, key)` reads a member of the JSON text `col`, `obj` an object member. */
const fromLog = (j: (col: string, key: string) => string, obj: (col: string, key: string) => string, threeDaysAgo: string): string => `
INSERT INTO webhook_deliveries (id, client_id, organ_id, event, url, data, occurred_at, state, attempts, next_attempt_at, last_status, last_error, created_at, updated_at)
SELECT q.wid, q.client_id, q.organ_id, q.event, q.url, q.data, q.occurred_at,
  CASE WHEN d.time IS NOT NULL THEN 'delivered' WHEN a.time IS NOT NULL OR q.time < ${threeDaysAgo} THEN 'failed' ELSE 'pending' END,
  coalesce(d.attempts, a.attempts, 0), q.time, coalesce(d.status, a.status), a.error, q.time, coalesce(d.time, a.time, q.time)
FROM (SELECT ${j('detail', 'webhookId')} AS wid, ${j('detail', 'clientId')} AS client_id, coalesce(recipient, '') AS organ_id,
        ${j('detail', 'event')} AS event, coalesce(${j('detail', 'url')}, '') AS url, coalesce(${obj('detail', 'data')}, '{}') AS data,
        coalesce(${j('detail', 'occurredAt')}, time) AS occurred_at, time
      FROM events WHERE type = 'webhook-queued') q
LEFT JOIN (SELECT ${j('detail', 'webhookId')} AS wid, max(time) AS time, max(CAST(${j('detail', 'attempts')} AS INTEGER)) AS attempts, max(CAST(${j('detail', 'status')} AS INTEGER)) AS status
      FROM events WHERE type = 'webhook-delivered' GROUP BY 1) d ON d.wid = q.wid
LEFT JOIN (SELECT ${j('detail', 'webhookId')} AS wid, max(time) AS time, max(CAST(${j('detail', 'attempts')} AS INTEGER)) AS attempts, max(CAST(${j('detail', 'status')} AS INTEGER)) AS status,
        max(${j('detail', 'error')}) AS error
      FROM events WHERE type = 'webhook-abandoned' GROUP BY 1) a ON a.wid = q.wid
WHERE q.wid IS NOT NULL AND q.client_id IS NOT NULL AND q.event IS NOT NULL;
`

export const migration005: Migration = {
  version: 5,
  name: 'operational-queues',
  description: 'webhook outbox table (filled from the log) and the discarded mark of dead letters',
  sqlite:
    table('INTEGER PRIMARY KEY') +
    fromLog(
      (c, k) => `json_extract(${c}, '$.${k}')`,
      (c, k) => `json_extract(${c}, '$.${k}')`,
      "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days')",
    ),
  pg:
    table('BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY') +
    fromLog(
      (c, k) => `((${c})::jsonb ->> '${k}')`,
      (c, k) => `((${c})::jsonb -> '${k}')::text`,
      `to_char((now() AT TIME ZONE 'UTC') - interval '3 days', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
    ),
}
