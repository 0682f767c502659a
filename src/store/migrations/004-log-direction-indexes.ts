/**
 * 004: the operators' log filtered by agency AND direction (an agency's incoming or outgoing traffic) read the
 * agency's whole history through events_sender / events_recipient checking the direction row by row: a hosted
 * agency sends most of its events and receives few, so "its incoming" scanned hundreds of thousands of rows
 * (0.2-0.5 s at 1M events, `npm run bench:log`). With the direction in the index, each branch of the
 * sender-or-recipient union is one range read newest first.
 */
import type { Migration } from './index.js'

const sql = `
CREATE INDEX events_sender_direction ON events (sender, direction, seq);
CREATE INDEX events_recipient_direction ON events (recipient, direction, seq);
`

export const migration004: Migration = {
  version: 4,
  name: 'log-direction-indexes',
  description: 'log indexes by agency and direction',
  sqlite: sql,
  pg: sql,
}
