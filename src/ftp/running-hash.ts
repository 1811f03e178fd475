// The digest of a partial file, kept while it is written: bytes written in order extend it, so a
// finished download is verified without reading it again. Bytes written out of order (a kept tail,
// ranges) or already on disk from an earlier run are read from the disk once, when the digest is
// asked for.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digest algorithms a checksum may name (by the length of its hex form). */
export type DigestAlgorithm = 'sha256' | 'sha512' | 'sha1' | 'md5';

/** A checksum a finished file must have. */
export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hex: string;
  /** Where it comes from, for messages: `--sha256`, or `SHA256SUMS (m1, m2)`. */
  source: string;
}

export class RunningHash {
  private hash: Hash;
  /** Bytes [0, covered) are in the digest. */
  private covered = 0;

  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }

  /** Bytes were written at `position`. */
  update(chunk: Buffer, position: number): void {
    if (position === this.covered) {
      this.hash.update(chunk);
      this.covered += chunk.length;
    } else if (position < this.covered) {
      this.reset(); // bytes already in the digest were written again: they may differ
    }
  }

  /** The file was cut back to `length` bytes. */
  truncated(length: number): void {
    if (length < this.covered) this.reset();
  }

  reset(): void {
    this.hash = createHash(this.algorithm);
    this.covered = 0;
  }

  /** The digest (hex) of the first `length` bytes of `path`, reading only what is not in it yet. */
  async digest(path: string, length: number): Promise<string> {
    if (length < this.covered) this.reset();
    if (this.covered < length) {
      const stream = createReadStream(path, { start: this.covered, end: length - 1 });
      for await (const chunk of stream) {
        this.hash.update(chunk as Buffer);
        this.covered += (chunk as Buffer).length;
      }
    }
    if (this.covered !== length) throw new Error(`${path} has ${this.covered} bytes, ${length} were expected`);
    return this.hash.copy().digest('hex');
  }
}
