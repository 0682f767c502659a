/**
 * Every document package of test/fixtures/peers/ (ours, with the quirks of the interop set: junk before `<?xml`,
 * lowercase and Decision 20/2020 OrganIds, a ZIP holding an edXML, a ZIP holding garbage, ...), signed and sent
 * through the broker, is received, as interop.test.ts asserts for the real packages.
 */
import t from 'tap'
import { peer, peerFiles } from '../../peers.js'
import { receiveEveryDocument } from './peer-packages.js'

t.test('peer-shaped document packages are received', async (t) => {
  const set = peerFiles().map((name) => ({ name, bytes: peer(name) }))
  t.equal(await receiveEveryDocument(t, set, 'sdk-edoc-new-junk.edxml'), 7, 'seven document packages in the fixtures')
})
