/**
 * Hostile-peer helpers: event-loop delay and memory sampling while something runs, ZIP bombs built as a stream
 * (never the inflated bytes in memory), and the size of a SQLite store on disk (file + WAL).
 */
import { statSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import zlib from 'node:zlib'

type Delay = { maxMs: number; p99Ms: number; meanMs: number }

/**
 * Event-loop delay (perf_hooks, 10 ms resolution) from now until `stop()`: max and p99 in ms. A block is recorded
 * when the histogram's timer next fires, so a block that ends just before `stop()` (a store commit right before
 * the event the test waits for) is missed: `settled()` lets the timer fire once more first.
 */
export function loopDelay(): { stop(): Delay; settled(): Promise<Delay> } {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  const stop = (): Delay => {
    h.disable()
    const ms = (ns: number) => Math.round(ns / 1e5) / 10
    return { maxMs: ms(h.max), p99Ms: ms(h.percentile(99)), meanMs: ms(h.mean) }
  }
  return {
    stop,
    async settled() {
      await new Promise((r) => setTimeout(r, 40))
      return stop()
    },
  }
}

/** Highest of `process.memoryUsage()` (rss and arrayBuffers, MiB) sampled every 10 ms until `stop()`. */
export function memoryPeak(): { stop(): { rssMiB: number; arrayBuffersMiB: number } } {
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10
  let rss = 0
  let ab = 0
  const sample = () => {
    const m = process.memoryUsage()
    rss = Math.max(rss, m.rss)
    ab = Math.max(ab, m.arrayBuffers)
  }
  sample()
  const timer = setInterval(sample, 10)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return { rssMiB: mib(rss), arrayBuffersMiB: mib(ab) }
    },
  }
}

/**
 * A ZIP with one deflated entry `name` of `size` bytes (a PDF header, then zeros), written by hand with zlib: a
 * 250 MiB entry makes a ~250 KB ZIP. The local header states the real sizes (a ZIP bomb need not lie to be one).
 */
export function zipBomb(size: number, name = 'bao-cao.pdf'): Buffer {
  // zero-filled memory that is only read stays the kernel's zero page: this costs time, not 250 MiB of RSS
  const plain = Buffer.alloc(size)
  Buffer.from('%PDF-1.4\n').copy(plain)
  const crc = zlib.crc32(plain)
  const data = zlib.deflateRawSync(plain, { level: 9 })
  const nameBytes = Buffer.from(name, 'utf8')
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4)
  local.writeUInt16LE(0x800, 6)
  local.writeUInt16LE(8, 8)
  local.writeUInt32LE(crc >>> 0, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(size, 22)
  local.writeUInt16LE(nameBytes.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  central.writeUInt16LE(0x800, 8)
  central.writeUInt16LE(8, 10)
  central.writeUInt32LE(crc >>> 0, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(size, 24)
  central.writeUInt16LE(nameBytes.length, 28)
  const cdOffset = local.length + nameBytes.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + nameBytes.length, 12)
  end.writeUInt32LE(cdOffset, 16)
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end])
}

/** Bytes of a SQLite store on disk: the file and its WAL. */
export function storeBytes(path: string): number {
  const size = (p: string) => {
    try {
      return statSync(p).size
    } catch {
      return 0
    }
  }
  return size(path) + size(`${path}-wal`)
}

/** Timing of many GETs in a row while something else runs: the worst latency seen, in ms. */
export function pollLatency(get: () => Promise<unknown>, everyMs = 20): { stop(): Promise<{ maxMs: number; count: number; worstAtMs: number }> } {
  let maxMs = 0
  let count = 0
  let running = true
  const start = performance.now()
  let worstAt = 0
  const loop = (async () => {
    while (running) {
      const t0 = performance.now()
      await get()
      const ms = performance.now() - t0
      if (ms > maxMs) worstAt = t0 - start
      maxMs = Math.max(maxMs, ms)
      count++
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { maxMs: Math.round(maxMs * 10) / 10, count, worstAtMs: Math.round(worstAt) }
    },
  }
}
