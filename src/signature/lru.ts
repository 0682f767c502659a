/** A bounded LRU map with a per-entry time to live. `max: 0` disables it (every `get` misses). */
export class LruCache<V> {
  readonly #map = new Map<string, { v: V; expiresAt: number }>()
  hits = 0
  misses = 0

  constructor(
    readonly max: number,
    readonly ttlMs: number,
    private readonly nowMs: () => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.#map.get(key)
    if (!e) {
      this.misses++
      return undefined
    }
    if (this.nowMs() >= e.expiresAt) {
      this.#map.delete(key)
      this.misses++
      return undefined
    }
    // Refresh recency (Map keeps insertion order; the first key is the least recently used).
    this.#map.delete(key)
    this.#map.set(key, e)
    this.hits++
    return e.v
  }

  set(key: string, v: V): void {
    if (this.max <= 0) return
    this.#map.delete(key)
    this.#map.set(key, { v, expiresAt: this.nowMs() + this.ttlMs })
    while (this.#map.size > this.max) {
      const oldest = this.#map.keys().next().value as string
      this.#map.delete(oldest)
    }
  }

  /** The live entries, least recently used first (recency and counters untouched). */
  *values(): IterableIterator<V> {
    const t = this.nowMs()
    for (const e of this.#map.values()) if (t < e.expiresAt) yield e.v
  }

  get size(): number {
    return this.#map.size
  }

  clear(): void {
    this.#map.clear()
  }
}
