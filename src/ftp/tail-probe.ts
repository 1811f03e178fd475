// A probe of another mirror reads the file's last bytes: a throughput sample that costs nothing
// when the copy is the one being downloaded, since its bytes are then kept and the transfer stops
// where they begin. The transfer still re-reads the first TAIL_CHECK_BYTES of the tail and they
// must agree: one mirror's tail is never spliced onto another's head unchecked.

import { RequestError } from '../director/errors.js';
import type { DataPhase } from './data-phase.js';
import type { Lease } from './pool.js';
import { remoteMtime, remoteSize } from './remote-file.js';
import { retrieve } from './retrieve.js';
import type { Throttle } from './sink.js';
import type { StallLimits } from './watchdog.js';

/**
 * A probe reads the last this-many bytes of the file: enough for a throughput sample (weighted by
 * its size), little enough not to slow the request it runs beside on a client whose own link is
 * the bottleneck.
 */
export const PROBE_BYTES = 128 * 1024;
/**
 * Re-tests are made by probe (beside the file, which stays put) only for files at least this
 * large; smaller ones move the file itself to the mirror re-tested, which costs no byte. A kept
 * tail is not free on a real link: the transfer is cut where the tail begins, and what the
 * server had sent past that point is lost (measured with scripts/bench-netns.mjs on a 10 Mbit/s
 * tc link: about 110 KB a cut; 26 % more bytes than the files with 512 KiB files). At 16 probe
 * reads a cut costs at most 1/16 of the file, and re-tests come every few files.
 */
export const FREE_PROBE_FILE_BYTES = 16 * PROBE_BYTES;
/** The start of a kept tail that the transfer reads too, to check that both copies agree. */
export const TAIL_CHECK_BYTES = 16 * 1024;

/** The last bytes of the file, from a probe. */
export interface Tail {
  offset: number;
  data: Buffer;
  mirror: string;
}

export interface TailProbeOptions {
  /** The size and modification time the download established, when it did. */
  size: number | undefined;
  mtime: string | undefined;
  /** Whether a tail is still wanted: asked before and once all of it is here. */
  wanted: () => boolean;
  /** The tail, the moment its last byte arrives (the transfer goes on meanwhile). */
  offer: (tail: Tail) => void;
  stall: StallLimits;
  /** The slowest rate that is not a stall, bytes/s. */
  floor: () => number;
  signal: AbortSignal;
  throttle?: Throttle;
  commandTimeoutMs: number;
  /** Once the server answered SIZE (the connection is good), with the size it said. */
  answered: (size: number) => void;
}

/** Read the tail of `remote` on the lease; resolves with the data phase that rates the mirror. */
export async function probeTail(lease: Lease, remote: string, o: TailProbeOptions): Promise<DataPhase> {
  const mirror = lease.mirror.name;
  const size = await remoteSize(lease, remote, o.commandTimeoutMs);
  o.answered(size);
  if (o.size !== undefined && size !== o.size) throw new RequestError('mismatch', `${mirror} has ${size} bytes, other mirrors ${o.size}`);
  const keep = o.size === size && o.wanted();
  const mtime = keep ? await remoteMtime(lease, remote, o.commandTimeoutMs) : undefined;
  const sameCopy = keep && !(o.mtime && mtime && o.mtime !== mtime);
  // The tail of the file: the transfer then ends by itself and the connection stays usable.
  const start = Math.max(0, size - PROBE_BYTES);
  const chunks: Buffer[] = [];
  return retrieve(lease.client, remote, {
    offset: start,
    size,
    // A chunk may be a view of a reused read buffer (direct-read.ts): kept as a copy. Retrieve
    // never hands over more than the file's size, so this holds at most PROBE_BYTES.
    take: (chunk) => void (sameCopy && chunks.push(Buffer.from(chunk))),
    progress: ({ received }) => {
      if (sameCopy && received === size - start && o.wanted()) o.offer({ offset: start, data: Buffer.concat(chunks), mirror });
    },
    stall: o.stall,
    floor: o.floor,
    signal: o.signal,
    throttle: o.throttle,
    mirror,
  });
}
