// The writing side of one download, across its attempts: bytes from a mirror go into the .part
// only once they are known to continue what is there. Before the offset, the mirror re-sends an
// overlap that must equal the disk's; where a probe's tail was kept, the transfer reads the
// tail's first bytes too and they must agree, or the tail is dropped.

import { RequestError } from '../director/errors.js';
import type { Meter } from '../director/request.js';
import type { EventSink } from '../ui/events.js';
import { formatRate } from '../ui/format.js';
import { restRefused } from './classify.js';
import { DataPhase } from './data-phase.js';
import { OverlapCheck, overlapStart } from './overlap.js';
import type { PartialFile, PartWriter } from './partial-file.js';
import type { Lease } from './pool.js';
import { retrieve } from './retrieve.js';
import type { Throttle } from './sink.js';
import { TAIL_CHECK_BYTES, type Tail } from './tail-probe.js';
import { crawlFloor, type StallLimits } from './watchdog.js';

/** How often a running transfer asks the policy whether to leave for a faster mirror, ms. */
const LEAVE_REVIEW_MS = 500;

/** What a transfer needs of its download. */
export interface TransferContext {
  what: string;
  partial: PartialFile;
  events: EventSink;
  stall: StallLimits;
  throttle?: Throttle;
  progressIntervalMs: number;
  /** The tail a probe kept, if one is on hand. */
  tail(): Tail | undefined;
  dropTail(): void;
  /** Bytes from a mirror were written. */
  kept(mirror: string, bytes: number): void;
  /** Move the .part aside and start over, saying why. */
  setAside(why: string): Promise<void>;
  /** A kept tail's first bytes differ from the transfer's (the tail is dropped): two copies disagree there. */
  disputed(dispute: TailDispute): void;
}

/** Where a probe's tail and the transfer disagreed: each mirror's bytes at the same place. */
export interface TailDispute {
  at: number;
  /** The transfer's mirror and bytes. */
  mirror: string;
  mine: Buffer;
  /** The probed mirror and its bytes. */
  other: string;
  theirs: Buffer;
}

export class FileTransfer {
  /** Mirrors that refused REST for this file: they send from byte 0. */
  private readonly noRest = new Set<string>();
  /** Who sent which other bytes than the disk's, by overlap: a second mirror alike outvotes the disk. */
  private readonly dissenters = new Map<string, string>();
  /** Set when the bytes on disk were outvoted: why, until they are set aside. */
  private restart: string | undefined;
  /** The mirror whose bytes end the .part (undefined when they are from before this run). */
  private lastWriter: string | undefined;

  constructor(private readonly ctx: TransferContext) {}

  /**
   * Fetch [offset, size) into the .part. When bytes are already on disk, the mirror first re-sends
   * the overlap before them; a server that refuses REST sends from byte 0, all of it checked.
   */
  async run(lease: Lease, remote: string, offset: number, size: number, signal: AbortSignal, meter: Meter): Promise<void> {
    const { partial } = this.ctx;
    const mirror = lease.mirror.name;
    const writer = partial.writer(offset);
    try {
      const from = overlapStart(offset, this.noRest.has(mirror));
      try {
        await this.receive(lease, remote, new OverlapCheck(from, offset, writer.read), size, signal, meter, writer);
      } catch (error) {
        if (from === 0 || !restRefused(error) || lease.client.closed) throw error;
        this.noRest.add(mirror);
        await this.receive(lease, remote, new OverlapCheck(0, offset, writer.read), size, signal, meter, writer);
      }
      const tail = this.ctx.tail();
      if (tail && partial.length >= tail.offset && partial.length < size) this.appendTail(writer, tail);
    } catch (error) {
      writer.close();
      if (this.restart) {
        const why = this.restart;
        this.restart = undefined;
        this.lastWriter = undefined;
        await this.ctx.setAside(why);
      } else if (error instanceof RequestError && (error.kind === 'mismatch' || error.kind === 'corrupt')) {
        // The mirror lied about the file (it sent past its size): this attempt's bytes cannot be trusted.
        await partial.truncate(offset);
      }
      throw error;
    }
    writer.close();
  }

  /** The end to read to: the first bytes of a kept tail (to check them), or the file's end. */
  private end(size: number): number {
    const tail = this.ctx.tail();
    return tail ? Math.min(size, tail.offset + TAIL_CHECK_BYTES) : size;
  }

  /** One retrieval from the start of `overlap`; the bytes past it are written. */
  private async receive(lease: Lease, remote: string, overlap: OverlapCheck, size: number, signal: AbortSignal, meter: Meter, writer: PartWriter): Promise<void> {
    const { events, what, progressIntervalMs } = this.ctx;
    const mirror = lease.mirror.name;
    const { from } = overlap;
    const phase = new DataPhase();
    let lastEventAt = 0;
    try {
      await retrieve(
        lease.client,
        remote,
        {
          offset: from,
          size,
          end: () => this.end(size),
          take: (chunk, position) => {
            const rest = overlap.take(chunk, position);
            if (rest.length < chunk.length && overlap.complete) this.judge(mirror, overlap);
            if (rest.length > 0) this.write(writer, rest, position + chunk.length - rest.length, mirror);
          },
          progress: ({ received, firstAt }) => {
            if (lastEventAt === 0) meter.flowing();
            const now = performance.now();
            if (now - lastEventAt < progressIntervalMs) return;
            lastEventAt = now;
            const seconds = (now - firstAt) / 1000;
            events({ type: 'progress', file: what, mirror, bytes: from + received, size, rate: seconds > 0 ? received / seconds : 0 });
          },
          stall: this.ctx.stall,
          floor: () => crawlFloor(meter.bestThroughput()),
          signal,
          throttle: this.ctx.throttle,
          review: { everyMs: LEAVE_REVIEW_MS, leave: (p) => this.leaveFor(p, size - from, meter) },
          mirror,
        },
        phase,
      );
    } finally {
      // The data phase says how fast this mirror delivers, whether or not it finished.
      const { bytes, seconds } = phase.sample();
      if (bytes > 0) meter.transferred(bytes, seconds);
    }
  }

  /** Write bytes at `at`; those where a kept tail begins must equal the tail's (they count as its mirror's). */
  private write(writer: PartWriter, bytes: Buffer, at: number, mirror: string): void {
    writer.write(bytes, at);
    this.lastWriter = mirror;
    const tail = this.ctx.tail();
    const checked = tail ? Math.max(0, at + bytes.length - Math.max(at, tail.offset)) : 0;
    if (!tail || checked === 0) return this.ctx.kept(mirror, bytes.length);
    const start = Math.max(at, tail.offset);
    const theirs = tail.data.subarray(start - tail.offset, start - tail.offset + checked);
    if (theirs.equals(bytes.subarray(start - at))) {
      this.ctx.kept(mirror, bytes.length - checked);
      this.ctx.kept(tail.mirror, checked);
      return;
    }
    this.ctx.dropTail();
    // Copied: the read buffer is reused (direct-read.ts).
    this.ctx.disputed({ at: start, mirror, mine: Buffer.from(bytes.subarray(start - at)), other: tail.mirror, theirs: Buffer.from(theirs) });
    this.ctx.kept(mirror, bytes.length);
  }

  /**
   * The overlap is in: a mirror whose bytes differ from the disk's is blamed, unless another
   * mirror already sent the same other bytes: then the disk's are the odd ones out, set aside, and
   * the file starts over (from the next attempt on).
   */
  private judge(mirror: string, overlap: OverlapCheck): void {
    const dissent = overlap.dissent();
    if (!dissent) return;
    const key = `${overlap.from}:${overlap.offset}:${dissent.digest}`;
    const other = this.dissenters.get(key);
    if (other !== undefined && other !== mirror) {
      const from = this.lastWriter ? ` (from ${this.lastWriter})` : '';
      this.restart = `${other} and ${mirror} agree with each other, not with the bytes on disk${from} from byte ${dissent.at}`;
      throw new RequestError('mismatch', this.restart, { culprit: this.lastWriter });
    }
    this.dissenters.set(key, mirror);
    throw new RequestError('corrupt', `${mirror}'s copy differs from the bytes on disk at byte ${dissent.at}`);
  }

  /** Ask the policy whether to go on elsewhere; the reason to give if so. */
  private leaveFor(phase: DataPhase, wanted: number, meter: Meter): string | undefined {
    const elapsedMs = performance.now() - phase.firstAt;
    const rate = phase.received / (elapsedMs / 1000);
    const faster = meter.leaveFor({ elapsedMs, rate, remaining: wanted - phase.received });
    return faster && `${formatRate(rate)} here, ${faster.name} was measured at ${formatRate(faster.throughput)}`;
  }

  /** Write the part of a probe's tail past what the transfer left on disk; the file is then whole. */
  private appendTail(writer: PartWriter, tail: Tail): void {
    const from = this.ctx.partial.length;
    writer.write(tail.data.subarray(from - tail.offset), from);
    this.lastWriter = tail.mirror;
    this.ctx.kept(tail.mirror, this.ctx.partial.length - from);
  }
}
