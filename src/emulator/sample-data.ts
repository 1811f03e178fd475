// Deterministic pseudo-random file contents (xorshift32): every emulated mirror serves the same
// copy of a sample file without storing or sending a master copy, and tests can rebuild it. The
// bytes look random to anything on the way, so nothing could compress them. One maker: in memory
// (sampleBytes), as a file (writeSampleFile), and the tree `smartftp serve` and the demo serve.

import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeOwnedTempDir } from '../util/owned-temp-dir.js';

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

/**
 * The `size` bytes for `seed`, `blockSize` (a multiple of 4) at a time; the block is reused, so
 * each must be used before the next. Past the last whole word, a byte is its offset & 0xff.
 */
function* sampleBlocks(size: number, seed: number, blockSize = size): Generator<Buffer> {
  const stream = new SampleBytes(seed);
  const block = Buffer.alloc(Math.min(blockSize, size));
  for (let done = 0; done < size; done += block.length) {
    const part = stream.fill(block).subarray(0, Math.min(block.length, size - done));
    for (let i = Math.max(done, size - (size % 4)); i < done + part.length; i++) part[i - done] = i & 0xff;
    yield part;
  }
}

/** `size` bytes of the sequence for `seed`, in memory. */
export function sampleBytes(size: number, seed: number): Buffer {
  return sampleBlocks(size, seed).next().value ?? Buffer.alloc(0);
}

/** Every sample file has this modification time, so each mirror's copy looks the same. */
export const SAMPLE_MTIME = new Date('2026-01-01T00:00:00Z');

/** Write sampleBytes(size, seed) to `path` a block at a time (files of any size); returns its sha256. */
export function writeSampleFile(path: string, size: number, seed: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (const part of sampleBlocks(size, seed, 1024 * 1024)) {
      writeSync(fd, part);
      hash.update(part);
    }
  } finally {
    closeSync(fd);
  }
  utimesSync(path, SAMPLE_MTIME, SAMPLE_MTIME);
  return hash.digest('hex');
}

/** The sample tree (serve, the demo): one large file and twelve small ones, by path. */
export const SAMPLE_FILES: Record<string, number> = {
  'sample/64MiB.bin': 64 * 1024 * 1024,
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`sample/small-${String(i + 1).padStart(2, '0')}.bin`, 1024 * 1024])),
};

/** A temporary tree with the sample files (and their SHA256SUMS) under each distinct base path; sha256 by sample path. */
export function makeSampleRoot(mirrors: readonly { basePath: string }[]): { root: string; sha256: Record<string, string> } {
  const root = makeOwnedTempDir('smartftp-serve-');
  const sha256: Record<string, string> = {};
  for (const base of new Set(mirrors.map((m) => m.basePath))) {
    mkdirSync(join(root, base, 'sample'), { recursive: true });
    let seed = 1;
    for (const [path, size] of Object.entries(SAMPLE_FILES)) sha256[path] = writeSampleFile(join(root, base, path), size, seed++);
    // As release trees publish them: the certificate's `checksums:` names it.
    const sums = Object.entries(sha256).map(([path, hex]) => `${hex}  ${basename(path)}\n`);
    writeFileSync(join(root, base, 'sample', 'SHA256SUMS'), sums.join(''));
  }
  return { root, sha256 };
}
