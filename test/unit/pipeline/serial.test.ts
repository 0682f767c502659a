import t from 'tap'
import { keyedSerial } from '../../../src/pipeline/serial.js'

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('one task at a time per key, other keys concurrently, a failure does not block the next', async (t) => {
  const serial = keyedSerial()
  const log: string[] = []
  const task = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name}+`)
    await tick(ms)
    log.push(`${name}-`)
    if (fail) throw new Error(name)
    return name
  }
  const results = await Promise.allSettled([serial('a', task('a1', 30, true)), serial('a', task('a2', 5)), serial('b', task('b1', 5))])
  t.same(log, ['a1+', 'b1+', 'b1-', 'a1-', 'a2+', 'a2-'])
  t.match(results, [{ status: 'rejected' }, { status: 'fulfilled', value: 'a2' }, { status: 'fulfilled', value: 'b1' }])
})
