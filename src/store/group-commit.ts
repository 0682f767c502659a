/**
 * What both dialects share around a write: the group-commit queue, the chain head a batch appends after, and the
 * step runner that lets one transaction body (core.ts) run synchronously on better-sqlite3 and with `await` on pg.
 *
 * A transaction body is a generator that yields each dialect call (`yield* $(ops.insertX(...))`): the SQLite
 * store drives it with `runSync` inside its savepoint (the values are there at once, nothing leaves the tick), the
 * PostgreSQL store with `runAsync` (each value is awaited, a rejection is thrown back into the body).
 */
import { GENESIS_HASH, chainRow, type ChainRow, type EventFields } from './hash-chain.js'

export type Maybe<T> = T | Promise<T>
/** A transaction body (or any sequence of dialect calls) returning T. */
export type Steps<T> = Generator<unknown, T, unknown>

/** One dialect call inside a body: `const row = yield* $(ops.getX(id))`. */
export function* $<T>(v: Maybe<T>): Steps<T> {
  return (yield v) as T
}

/** Drive a body whose calls all answer at once (better-sqlite3). */
export function runSync<T>(g: Steps<T>): T {
  let r = g.next()
  while (!r.done) {
    if (r.value instanceof Promise) throw new TypeError('a synchronous store call returned a promise')
    r = g.next(r.value)
  }
  return r.value
}

/** Drive a body whose calls answer with promises (pg); a rejected call is thrown into the body. */
export async function runAsync<T>(g: Steps<T>): Promise<T> {
  let r = g.next()
  while (!r.done) {
    let v: unknown
    try {
      v = await r.value
    } catch (e) {
      r = g.throw(e)
      continue
    }
    r = g.next(v)
  }
  return r.value
}

export type ChainedRow = ChainRow & { hash: string }

/** The end of the event log while a batch holds the write lock: events are numbered and hashed in memory. */
export class ChainHead {
  constructor(
    public seq = 0,
    public hash = GENESIS_HASH,
  ) {}
  /** Give events their place after the head, in order. */
  chain(fs: readonly EventFields[]): ChainedRow[] {
    return fs.map((f) => {
      const r = chainRow(this.seq + 1, this.hash, f)
      this.seq = r.seq
      this.hash = r.hash
      return r
    })
  }
  mark(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.hash }
  }
  /** Back to a mark (the write that chained after it was rolled back). */
  restore(m: { seq: number; hash: string }): void {
    this.seq = m.seq
    this.hash = m.hash
  }
}

export interface QueuedWrite<X = unknown> {
  op: string
  body: (x: X) => Steps<unknown>
  bytes: number
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

export interface Outcome {
  ok: boolean
  value: unknown
}

/**
 * Run each write of a batch in its own savepoint (`one`), so that a failing write rolls back alone: its events'
 * places in the chain are given back and it rejects by itself. `one` is synchronous on SQLite, async on pg.
 */
export function* eachWrite<X>(batch: readonly QueuedWrite<X>[], head: ChainHead, one: (w: QueuedWrite<X>) => Maybe<unknown>, mapError: (e: unknown, op: string) => unknown): Steps<Outcome[]> {
  const out: Outcome[] = []
  for (const w of batch) {
    const mark = head.mark()
    try {
      out.push({ ok: true, value: yield* $(one(w)) })
    } catch (e) {
      head.restore(mark)
      out.push({ ok: false, value: mapError(e, w.op) })
    }
  }
  return out
}

export interface GroupCommitLimits {
  /** Writes per batch (default 256). */
  maxWrites?: number
  /** Package bytes per batch, at least one write (default 8 MB): keeps one batch's event-loop block short. */
  maxBytes?: number
}

/**
 * Group commit: writes requested in the same event-loop turn run in ONE transaction (`exec`), each in its own
 * savepoint, and every promise settles after that single COMMIT: with synchronous=FULL (SQLite) or a WAL flush
 * (PostgreSQL) that is one flush per batch instead of one per write. A write is never reported done before its
 * commit; if the batch fails as a whole (commit, connection), every write of it is rejected. One batch at a time;
 * writes that arrive meanwhile form the next one.
 */
export class WriteQueue<X> {
  private readonly queue: QueuedWrite<X>[] = []
  private draining: Promise<void> | undefined
  /** The last batch whose writes failed for a reason of the storage (disk full, read-only, connection lost). */
  private failure: { at: number; reason: string } | undefined
  private readonly maxWrites: number
  private readonly maxBytes: number

  constructor(
    private readonly exec: (batch: QueuedWrite<X>[]) => Maybe<Outcome[]>,
    private readonly mapError: (e: unknown, op: string) => unknown,
    limits: GroupCommitLimits = {},
  ) {
    this.maxWrites = limits.maxWrites ?? 256
    this.maxBytes = limits.maxBytes ?? 8 * 1024 * 1024
  }

  push<T>(op: string, body: (x: X) => Steps<T>, bytes = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, body, bytes, resolve: resolve as (v: unknown) => void, reject })
      this.draining ??= this.drain()
    })
  }

  /**
   * Set when the last batch failed for a reason of the storage (its writes rejected GW_ERR_STORE_UNAVAILABLE: disk
   * full, read-only file, connection lost) and cleared by the next batch that commits a write.
   */
  lastFailure(): { at: number; reason: string } | undefined {
    return this.failure
  }

  #noteOutcome(ok: boolean, error?: unknown): void {
    if (ok) this.failure = undefined
    else if ((error as { code?: unknown } | undefined)?.code === 'GW_ERR_STORE_UNAVAILABLE') this.failure = { at: Date.now(), reason: (error as Error).message }
  }

  /** Resolves when every write requested so far is committed or rejected (close). */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        // let the writes requested in this turn of the event loop join the batch
        await new Promise<void>((r) => setImmediate(r))
        await this.flushOne()
      }
    } finally {
      this.draining = undefined
    }
  }

  private async flushOne(): Promise<void> {
    let n = 0
    let bytes = 0
    while (n < this.queue.length && n < this.maxWrites && (n === 0 || bytes + this.queue[n]!.bytes <= this.maxBytes)) bytes += this.queue[n++]!.bytes
    const batch = this.queue.splice(0, n)
    if (!batch.length) return
    let outcomes: Outcome[]
    try {
      outcomes = await this.exec(batch)
    } catch (e) {
      const errors = batch.map((w) => this.mapError(e, w.op))
      this.#noteOutcome(false, errors[0])
      batch.forEach((w, i) => w.reject(errors[i]))
      return
    }
    if (outcomes.some((o) => o.ok)) this.#noteOutcome(true)
    else this.#noteOutcome(false, outcomes.find((o) => (o.value as { code?: unknown } | undefined)?.code === 'GW_ERR_STORE_UNAVAILABLE')?.value)
    batch.forEach((w, i) => {
      const o = outcomes[i]!
      if (o.ok) w.resolve(o.value)
      else w.reject(o.value)
    })
  }
}

/** A body of one call (a write with no other steps). */
export function* call<T>(fn: () => Maybe<T>): Steps<T> {
  return yield* $(fn())
}
