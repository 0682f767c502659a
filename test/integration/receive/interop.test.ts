/**
 * Every document package of ../shared/interop/edxml/ (real packages from other implementations), signed and sent
 * through the broker, is received (see receiveEveryDocument in peer-packages.ts). Skipped, with the reason, where
 * that folder is absent; peers.test.ts does the same over our own fixtures with the same quirks.
 */
import t from 'tap'
import { interop, interopFiles, interopSkip } from '../../peers.js'
import { receiveEveryDocument } from './peer-packages.js'

t.test('interop document packages are received', { skip: interopSkip }, async (t) => {
  const set = interopFiles().map((name) => ({ name, bytes: interop(name) }))
  t.equal(await receiveEveryDocument(t, set, 'sdk-edoc_new.edxml'), 7, 'seven document packages in the interop set')
})
