// Deterministic pseudo-random file contents (xorshift32): every emulated mirror serves the same
// copy of a sample file without storing or sending a master copy, and tests can rebuild it.

export class SampleBytes {
  private x: number;

  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }

  /** Fill `buf` with the next bytes of the sequence (its length is rounded down to whole words; the rest is left as is). */
  fill(buf: Buffer): Buffer {
    let x = this.x;
    for (let i = 0; i + 4 <= buf.length; i += 4) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      buf.writeUInt32LE(x, i);
    }
    this.x = x;
    return buf;
  }
}

/** `size` bytes of the sequence for `seed`, in memory. */
export function sampleBytes(size: number, seed: number): Buffer {
  const out = new SampleBytes(seed).fill(Buffer.alloc(size));
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}
