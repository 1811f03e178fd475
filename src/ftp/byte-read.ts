// A few bytes of a file from one mirror, kept in memory: a third mirror's word where two others
// sent different bytes at the same place. Its copy must have the size the others said.

import { RequestError } from '../director/errors.js';
import type { Lease } from './pool.js';
import { remoteSize } from './remote-file.js';
import { retrieve } from './retrieve.js';
import type { StallLimits } from './watchdog.js';

export interface ByteReadOptions {
  /** The size the other mirrors said: a copy of another size has no word here. */
  size: number;
  stall: StallLimits;
  commandTimeoutMs: number;
  signal: AbortSignal;
}

/** The bytes [at, at + length) of `remote` on the lease (REST, then a read bounded at the end). */
export async function readBytes(lease: Lease, remote: string, at: number, length: number, o: ByteReadOptions): Promise<Buffer> {
  const mirror = lease.mirror.name;
  const size = await remoteSize(lease, remote, o.commandTimeoutMs);
  if (size !== o.size) throw new RequestError('mismatch', `${mirror} has ${size} bytes, other mirrors ${o.size}`);
  const end = Math.min(size, at + length);
  const chunks: Buffer[] = [];
  await retrieve(lease.client, remote, {
    offset: at,
    size,
    end: () => end,
    // Copied: the read buffer is reused (direct-read.ts).
    take: (chunk) => void chunks.push(Buffer.from(chunk)),
    stall: o.stall,
    signal: o.signal,
    mirror,
  });
  return Buffer.concat(chunks);
}

/** A third mirror's word on bytes two copies disagree on. */
export interface Referee {
  /** Another mirror's bytes [at, at + length) of the file (none of `except`): undefined when none answers. */
  bytes(at: number, length: number, size: number, except: ReadonlySet<string>, signal: AbortSignal): Promise<{ mirror: string; answer: Buffer } | undefined>;
  /** The mirror served the odd copy: it cools down like one whose bytes were outvoted. */
  blame(mirror: string): void;
}

/** A third mirror's bytes, against two copies that differ: the odd copy's index, when it agrees with one of them. */
export interface Verdict {
  third: string;
  odd?: 0 | 1;
}

/**
 * Ask a third mirror (none of `except`) for the bytes where two copies differ: undefined when
 * there is no referee or no third mirror answers.
 */
export async function arbitrate(referee: Referee | undefined, at: number, copies: readonly [Buffer, Buffer], size: number, except: ReadonlySet<string>, signal: AbortSignal): Promise<Verdict | undefined> {
  const third = await referee?.bytes(at, copies[0].length, size, except, signal);
  if (!third) return undefined;
  const odd = third.answer.equals(copies[0]) ? 1 : third.answer.equals(copies[1]) ? 0 : undefined;
  return { third: third.mirror, odd };
}

/** The index of the first byte where two buffers differ (the shorter one's length if one is a prefix of the other). */
export function firstDifference(a: Buffer, b: Buffer): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
