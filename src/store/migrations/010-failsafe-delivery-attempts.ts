/**
 * 009: deliveries of an inbox message that came to no end, kept across restarts. On a classic queue the broker
 * only says `redelivered`; a message that kills the process was counted in memory and the count died with it, so
 * it was handled (and killed the process) again after every restart. The consumer now writes its count here
 * before the message is handled and removes the row when the message is settled (src/transport/consumer.ts).
 *
 * - `delivery_attempts` (key): SHA-256 of the consumer's delivery key (queue, messageId, size, hash of the first
 *   and last 4 KiB); `unfinished`: deliveries that started and never answered; `first_at` / `updated_at`. Rows
 *   of messages that went away otherwise (queue deleted) are removed after 30 days by the next write.
 */
import type { Migration } from './index.js'

const table = `
CREATE TABLE delivery_attempts (
  key TEXT PRIMARY KEY,
  unfinished INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX delivery_attempts_updated ON delivery_attempts (updated_at);
`

export const migration010: Migration = {
  version: 10,
  name: 'delivery-attempts',
  description: 'deliveries of an inbox message that came to no end are counted in the store, so a message that kills the process is dead-lettered at amqp.deliveryLimit across restarts',
  sqlite: table,
  pg: table,
}
