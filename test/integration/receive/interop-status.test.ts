/**
 * The interop status packages (../shared/interop/edxml/sdk-status_*.edxml), byte for byte, signed by their author
 * (UBND Nghệ An 000.00.00.H41: a certificate minted here under the sample intermediate CA; VPCP for the 13) and sent
 * through the broker: at VPCP's gateway they move the delivery of the document they answer (DocumentId
 * `000.00.00.G22,2015/09/30,7816/VPCP-TTĐT` to H41) forward only, every one kept in the timeline; the 13 (from VPCP
 * to H41) marks the document H41's gateway received recall-requested. Skipped, with the reason, where that folder is
 * absent; peers-status.test.ts does the same over our own fixtures.
 */
import t from 'tap'
import { interop, interopSkip } from '../../peers.js'
import { statusesMoveTheDelivery, thirteenMarksRecallRequested, type StatusSet } from './peer-packages.js'

const set: StatusSet = {
  read: interop,
  original: 'sdk-edoc_update.edxml',
  documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT',
  codeNumber: '7816',
  codeNotation: 'VPCP-TTĐT',
  promulgationDate: '2015/09/30',
  files: {
    '01': 'sdk-status_inbox_01.edxml',
    '02': 'sdk-status_rejection_02.edxml',
    '03': 'sdk-status_acceptance_03.edxml',
    '04': 'sdk-status_assignment_04.edxml',
    '05': 'sdk-status_processing_05.edxml',
    '06': 'sdk-status_finish_06.edxml',
    '13': 'sdk-status_cancellation_13.edxml',
    '15': 'sdk-status_change-acceptance_15.edxml',
    '16': 'sdk-status_change-rejection_16.edxml',
  },
}

t.test('interop statuses move VPCP\'s delivery to H41', { skip: interopSkip }, (t) => statusesMoveTheDelivery(t, set))
t.test('interop 13 marks the received document recall-requested', { skip: interopSkip }, (t) => thirteenMarksRecallRequested(t, set))
