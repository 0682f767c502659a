/**
 * Our SDK-shaped status packages (test/fixtures/peers/status-*.edxml: tab-indented, CRLF, no To, no TraceHeaderList,
 * the 13 going the other way), byte for byte, move VPCP's delivery of the document they answer forward only and the
 * 13 marks H41's received copy recall-requested, as interop-status.test.ts asserts for the real ones.
 */
import t from 'tap'
import { peer } from '../../peers.js'
import { PEER_DOC, STATUS_FILES } from '../../fixtures/peers/generate.js'
import { statusesMoveTheDelivery, thirteenMarksRecallRequested, type StatusSet } from './peer-packages.js'

const [codeNumber, codeNotation] = PEER_DOC.code.split('/') as [string, string]
const set: StatusSet = {
  read: peer,
  original: 'sdk-edoc-update.edxml',
  documentId: PEER_DOC.documentId,
  codeNumber,
  codeNotation,
  promulgationDate: PEER_DOC.date,
  files: Object.fromEntries(Object.entries(STATUS_FILES).map(([code, [file]]) => [code, file])),
}

t.test('peer-shaped statuses move VPCP\'s delivery to H41', (t) => statusesMoveTheDelivery(t, set))
t.test('peer-shaped 13 marks the received document recall-requested', (t) => thirteenMarksRecallRequested(t, set))
