/**
 * Byte arrays handed to or back from a worker thread: those that own their whole ArrayBuffer move (postMessage's
 * transfer list) instead of being copied, so that a 50 MB package or attachment is not held twice, once on each
 * side. Views into a shared buffer (small Buffers live in Node's pool) are copied instead, and so are arrays under
 * `from` bytes (a copy costs nothing there, and the sender keeps its array usable).
 */
export function ownBuffers(bytes: readonly Uint8Array[], from = 0): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>()
  for (const b of bytes) {
    if (b.byteLength >= from && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) out.add(b.buffer)
  }
  return [...out]
}
