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
