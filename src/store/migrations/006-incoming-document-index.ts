/**
 * 006: the receive path's history check reads every package received from a sender under one DocumentId
 * (`findIncomingByDocument`). Through `incoming_sender (sender, seq)` that read walked the sender's whole history,
 * so each received document cost more as the inbox grew (the largest single cost of the receiving gateway's
 * event loop in `npm run bench`). With the DocumentId in the index it is one short range read.
 */
import type { Migration } from './index.js'

const sql = `
CREATE INDEX incoming_sender_document ON incoming (sender, document_id, seq);
`

export const migration006: Migration = {
  version: 6,
  name: 'incoming-document-index',
  description: 'incoming packages indexed by sender and DocumentId (receive history check)',
  sqlite: sql,
  pg: sql,
}
