/**
 * One task at a time per key, within this process: a task for a key starts after the previous task for that key
 * settled (whatever its outcome); tasks for other keys run concurrently. Keys hold no memory once idle.
 */
export type KeyedSerial = <T>(key: string, fn: () => Promise<T>) => Promise<T>

export function keyedSerial(): KeyedSerial {
  const locks = new Map<string, Promise<unknown>>()
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => {})
    locks.set(key, tail)
    try {
      return await run
    } finally {
      if (locks.get(key) === tail) locks.delete(key)
    }
  }
}
