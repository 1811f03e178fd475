// One byte range of a split download as the paper's Request: fetched from one mirror with REST and
// a bounded read that closes the data connection at the range's end. On a mirror's fault the
// director re-applies it elsewhere, and it resumes at the byte it had reached. The coordinator
// (split-download.ts) owns the file, the record and the other ranges.

import type { MirrorSpec } from '../certificate/types.js';
import { RequestError } from '../director/errors.js';
import type { Meter, Request } from '../director/request.js';
import { DataPhase } from './data-phase.js';
import { OverlapCheck } from './overlap.js';
import { withConnection, type FtpPool } from './pool.js';
import { remoteFullPath, remoteMtime, remoteSize } from './remote-file.js';
import { retrieve } from './retrieve.js';
import type { Throttle } from './sink.js';
import { crawlFloor, type StallLimits } from './watchdog.js';

/**
 * A range reads this many bytes past its end, into the next range (another mirror's, as a rule):
 * two ranges are joined only where both mirrors sent the same bytes, so a file is never spliced
 * from two copies that differ.
 */
export const SEAM_BYTES = 16 * 1024;

/**
 * A range's bytes: [start, end) with `pos` the next byte to fetch. `end` moves down when
 * re-balancing cuts the range. A range started before the file's size is known has no bytes yet
 * (end Infinity): its owner gives it some once its mirror has said the size.
 */
export interface RangeJob {
  start: number;
  pos: number;
  end: number;
}

/** What a range needs of the download it belongs to. */
export interface RangeOwner {
  readonly what: string;
  /** Ends every range (one failed for good, or the download is over). */
  readonly signal: AbortSignal;
  pool: FtpPool;
  stall: StallLimits;
  commandTimeoutMs: number;
  throttle?: Throttle;
  /** The mirror's copy must be the file's (the first answer fixes size and time): else a RequestError. A range without bytes gets some. */
  check(mirror: string, job: RangeJob, size: number, mtime: string | undefined): void;
  /** Write bytes of the range into the .part at `position` (the range's `pos` moves past them after). */
  write(job: RangeJob, mirror: string, chunk: Buffer, position: number): void;
  /** Where the range's transfer starts: before `pos` when the bytes just before it are done (an overlap to check). */
  overlapFrom(job: RangeJob): number;
  /** The bytes on disk at a position. */
  read(position: number, length: number): Buffer;
  /** The overlap is in: a RequestError when the mirror's bytes are not the disk's. */
  judge(mirror: string, overlap: OverlapCheck): void;
  /** The bytes a range read past its end, into its neighbour's: checked once the neighbour's are written. */
  seam(mirror: string, at: number, data: Buffer): void;
  /** A range began (+1) or stopped (-1) on this mirror. */
  busy(mirror: string, delta: 1 | -1): void;
  /** The mirrors serving other ranges now. */
  avoid(): ReadonlySet<string>;
  attempt(mirror: string, job: RangeJob, size: number, reused: boolean): void;
  failover(mirror: string, error: RequestError): void;
}

export class RangeRequest implements Request<void> {
  readonly what: string;
  private received = 0;

  constructor(
    private readonly owner: RangeOwner,
    readonly job: RangeJob,
  ) {
    this.what = owner.what;
  }

  progress(): number {
    return this.received;
  }

  avoid(): ReadonlySet<string> {
    return this.owner.avoid();
  }

  async action(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<void> {
    const { owner, job } = this;
    const stop = AbortSignal.any([signal, owner.signal]);
    owner.busy(mirror.name, 1);
    try {
      await withConnection(owner.pool, mirror, stop, (ms) => meter.connected(ms), async (lease, answered) => {
        const remote = remoteFullPath(mirror, this.what);
        const size = await remoteSize(lease, remote, owner.commandTimeoutMs);
        answered();
        owner.check(mirror.name, job, size, await remoteMtime(lease, remote, owner.commandTimeoutMs));
        if (job.pos >= job.end) return;
        owner.attempt(mirror.name, job, size, !lease.fresh);
        // Bytes done just before the range (another mirror's, or an earlier run's): the mirror
        // re-sends them first and they must equal the disk's, as a sequential resume does.
        const from = owner.overlapFrom(job);
        const overlap = from < job.pos ? new OverlapCheck(from, job.pos, (p, n) => owner.read(p, n)) : undefined;
        const phase = new DataPhase();
        const seam: Buffer[] = [];
        let flowing = false;
        try {
          await retrieve(
            lease.client,
            remote,
            {
              offset: from,
              size,
              // Read per chunk: re-balancing may have cut the range meanwhile (never once it reached its end).
              end: () => Math.min(size, job.end + SEAM_BYTES),
              take: (chunk, position) => {
                const rest = overlap ? overlap.take(chunk, position) : chunk;
                if (overlap && rest.length < chunk.length && overlap.complete) owner.judge(mirror.name, overlap);
                if (rest.length === 0) return;
                const at = position + chunk.length - rest.length;
                const mine = Math.max(0, Math.min(rest.length, job.end - at));
                if (mine > 0) {
                  owner.write(job, mirror.name, rest.subarray(0, mine), at);
                  job.pos = at + mine;
                  this.received += mine;
                }
                // Copied: the read buffer is reused (direct-read.ts).
                if (mine < rest.length) seam.push(Buffer.from(rest.subarray(mine)));
              },
              progress: () => {
                if (!flowing) meter.flowing();
                flowing = true;
              },
              stall: owner.stall,
              floor: () => crawlFloor(meter.bestThroughput()),
              signal: stop,
              throttle: owner.throttle,
              mirror: mirror.name,
            },
            phase,
          );
        } finally {
          const { bytes, seconds } = phase.sample();
          if (bytes > 0) meter.transferred(bytes, seconds);
          if (seam.length > 0) owner.seam(mirror.name, job.end, Buffer.concat(seam));
        }
        // A 226 before the range's end: the copy there is shorter than it said.
        if (job.pos < job.end) throw new RequestError('mismatch', `${mirror.name} ended its data at byte ${job.pos}, short of ${job.end}`);
      });
    } finally {
      owner.busy(mirror.name, -1);
    }
  }

  cleanup(mirror: MirrorSpec, error: RequestError): void {
    this.owner.failover(mirror.name, error);
  }
}
