// Resuming onto another mirror's bytes (or another run's) trusts nobody: the new mirror re-sends
// the bytes just before the offset and they must equal the ones on disk. Two copies of the same
// size and time that differ in content must never be spliced into a file equal to neither.

import { createHash } from 'node:crypto';
import { firstDifference } from './byte-read.js';

/** Bytes re-sent before the resume offset. */
export const OVERLAP_BYTES = 64 * 1024;

/** What a mirror sent where the bytes on disk are, when it was not the same. */
export interface Dissent {
  /** The first byte that differs. */
  at: number;
  /** sha256 of the whole overlap the mirror sent: two mirrors that agree with each other send the same. */
  digest: string;
}

/** One transfer's overlap, [from, offset): checked chunk by chunk as it arrives. */
export class OverlapCheck {
  private readonly hash = createHash('sha256');
  private firstDiff = -1;
  private checked: number;

  constructor(
    readonly from: number,
    readonly offset: number,
    /** The bytes on disk at a position. */
    private readonly disk: (position: number, length: number) => Buffer,
  ) {
    this.checked = from;
  }

  get complete(): boolean {
    return this.checked >= this.offset;
  }

  /** Check the part of `chunk` (at `position`) that lies before the offset; returns the bytes after it. */
  take(chunk: Buffer, position: number): Buffer {
    const n = Math.max(0, Math.min(chunk.length, this.offset - position));
    if (n === 0) return chunk;
    const sent = chunk.subarray(0, n);
    this.hash.update(sent);
    if (this.firstDiff < 0) {
      const kept = this.disk(position, n);
      if (!kept.equals(sent)) this.firstDiff = position + firstDifference(kept, sent);
    }
    this.checked = position + n;
    return chunk.subarray(n);
  }

  /** Once complete: undefined when the mirror's bytes equal the disk's. */
  dissent(): Dissent | undefined {
    return this.firstDiff < 0 ? undefined : { at: this.firstDiff, digest: this.hash.digest('hex') };
  }
}

/** Where the resumed transfer starts: OVERLAP_BYTES before the offset, or 0 on a server that cannot start elsewhere. */
export function overlapStart(offset: number, fromZero: boolean): number {
  return fromZero ? 0 : Math.max(0, offset - OVERLAP_BYTES);
}
