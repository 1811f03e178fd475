// The download request (the paper's IRequest for FTP): action fetches the file from one mirror,
// resuming at the length already on disk; cleanup keeps what can be trusted so the next mirror
// continues from there; probe measures another mirror on the file's last bytes, which the
// transfer then does not fetch again.

import type { MirrorSpec } from '../certificate/types.js';
import { RequestError } from '../director/errors.js';
import type { Meter, Request } from '../director/request.js';
import type { EventSink } from '../ui/events.js';
import { formatRate } from '../ui/format.js';
import { DataPhase } from './data-phase.js';
import { restRefused } from './classify.js';
import { OverlapCheck, overlapStart } from './overlap.js';
import { PartialFile, type PartWriter } from './partial-file.js';
import { withConnection, type FtpPool, type Lease } from './pool.js';
import { remoteFullPath, remoteMtime, remoteSize } from './remote-file.js';
import { retrieve } from './retrieve.js';
import type { Throttle } from './sink.js';
import type { StallLimits } from './watchdog.js';

export interface DownloadOptions {
  /** The service the mirrors belong to: the partial file's record names it. */
  service: string;
  /** Path of the file relative to each mirror's base directory. */
  remotePath: string;
  /** Final local path. */
  dest: string;
  pool: FtpPool;
  events: EventSink;
  /** When a silent transfer counts as stalled. */
  stall: StallLimits;
  /** How long a control command (SIZE, MDTM) may take to be answered in full, ms. */
  commandTimeoutMs: number;
  /** Expected sha256 (hex); when given, the finished file must match it. */
  sha256?: string;
  /** Minimum interval between progress events, ms. */
  progressIntervalMs?: number;
  /** Delays the next read after each chunk (the benchmark's emulated client link). */
  throttle?: Throttle;
}

export interface DownloadResult {
  dest: string;
  size: number;
  /** Bytes already on disk when this run started. */
  resumedFrom: number;
  /** Bytes received in this run from each mirror. */
  bytesByMirror: Record<string, number>;
  mirror: string;
  seconds: number;
}

/**
 * A probe reads the last this-many bytes of the file: enough for a throughput sample (weighted by
 * its size), little enough not to slow the request it runs beside on a client whose own link is
 * the bottleneck.
 */
export const PROBE_BYTES = 128 * 1024;

/** How often a running transfer asks the policy whether to leave for a faster mirror, ms. */
const LEAVE_REVIEW_MS = 500;

/** The last bytes of the file, from a probe. */
interface Tail {
  offset: number;
  data: Buffer;
  mirror: string;
}

export class DownloadRequest implements Request<DownloadResult> {
  readonly what: string;
  readonly bytesByMirror: Record<string, number> = {};
  private readonly partial: PartialFile;
  private resumedFrom: number | undefined;
  /** The size the first mirror reported, once known: probes of other mirrors check it. */
  private size: number | undefined;
  /** The modification time the first mirror reported, if it did: a probe's bytes are kept only from the same copy. */
  private mtime: string | undefined;
  /** The file's last bytes, read by a probe of another mirror: the transfer stops where they begin. */
  private tail: Tail | undefined;
  private readonly started = performance.now();
  /** Bytes written in this run: a pass over the mirrors that received some earns another. */
  private received = 0;
  /** Mirrors that refused REST for this file: they send from byte 0. */
  private readonly noRest = new Set<string>();
  /** Who sent which other bytes than the disk's, by overlap: a second mirror alike outvotes the disk. */
  private readonly dissenters = new Map<string, string>();
  /** Set when the bytes on disk were outvoted: why, until they are set aside. */
  private restart: string | undefined;

  constructor(private readonly options: DownloadOptions) {
    this.what = options.remotePath;
    this.partial = new PartialFile(options.dest);
  }

  progress(): number {
    return this.received;
  }

  /** Look at what a previous run left, once, and announce the download. */
  async prepare(): Promise<void> {
    await this.partial.open();
    if (this.partial.length > 0 && !this.partial.isFrom(this.options.service, this.what)) {
      await this.setAside(`${this.partial.partPath} has no record of coming from ${this.what} of ${this.options.service}`);
    }
    this.resumedFrom = this.partial.length;
    this.options.events({ type: 'start', file: this.what, dest: this.options.dest, size: this.partial.record?.size, offset: this.partial.length });
  }

  private async setAside(why: string): Promise<void> {
    const aside = await this.partial.setAside();
    this.options.events({ type: 'warning', message: `${this.what}: ${why}; set aside as ${aside}, starting over` });
  }

  /** Every mirror has another copy than the partial file's: the old bytes are worthless, start over. */
  async startOver(): Promise<void> {
    await this.partial.truncate(0);
    await this.prepare();
  }

  async action(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<DownloadResult> {
    if (this.resumedFrom === undefined) await this.prepare();
    return withConnection(this.options.pool, mirror, signal, (ms) => meter.connected(ms), async (lease, answered) => {
      const remote = remoteFullPath(mirror, this.what);
      const size = await remoteSize(lease, remote, this.options.commandTimeoutMs);
      answered();
      this.size ??= size;
      const mtime = await remoteMtime(lease, remote, this.options.commandTimeoutMs);
      this.mtime ??= mtime;
      const offset = await this.resumeOffset(mirror, size, mtime);
      this.options.events({ type: 'attempt', file: this.what, mirror: mirror.name, offset, size, reused: !lease.fresh });
      if (offset < size) await this.transfer(lease, remote, offset, size, signal, meter);
      else if (size === 0) this.partial.writer(0).close(); // an empty file is a file too
      return this.finish(mirror, offset, size);
    });
  }

  /** Where this mirror's copy continues the bytes on disk, after checking it is the same file. */
  private async resumeOffset(mirror: MirrorSpec, size: number, mtime: string | undefined): Promise<number> {
    const { partial } = this;
    await partial.look();
    const mismatch = partial.mismatch(mirror.name, size, mtime);
    if (mismatch) throw new RequestError('mismatch', mismatch);
    // More bytes than the file has: they cannot be from this file.
    if (partial.length > size) await partial.truncate(0);
    const record = partial.record;
    if (!record || (partial.length === 0 && !record.mtime && mtime)) {
      await partial.saveRecord({ version: 1, service: this.options.service, remotePath: this.what, size, ...(mtime ? { mtime } : {}) });
    }
    return partial.length;
  }

  /** The file is whole and verified: move it into place. */
  private async finish(mirror: MirrorSpec, offset: number, size: number): Promise<DownloadResult> {
    const { length } = this.partial;
    if (length !== size) {
      // The mirror ended early (e.g. a copy still being written): its bytes are a prefix of the
      // file and stay for the next mirror.
      throw new RequestError('mismatch', `${mirror.name} sent ${length - offset} bytes from offset ${offset}, the file has ${size}`);
    }
    if (this.options.sha256) await this.verifyChecksum(mirror, this.options.sha256.toLowerCase());
    await this.partial.finalize();
    const result: DownloadResult = {
      dest: this.options.dest,
      size,
      resumedFrom: this.resumedFrom ?? 0,
      bytesByMirror: { ...this.bytesByMirror },
      mirror: mirror.name,
      seconds: (performance.now() - this.started) / 1000,
    };
    const { dest, resumedFrom, seconds, bytesByMirror } = result;
    this.options.events({ type: 'done', file: this.what, dest, size, resumedFrom, seconds, bytesByMirror });
    return result;
  }

  private count(mirror: string, bytes: number): void {
    this.bytesByMirror[mirror] = (this.bytesByMirror[mirror] ?? 0) + bytes;
  }

  /**
   * Fetch [offset, size) into the .part. When bytes are already on disk, the mirror first re-sends
   * the overlap before them, which must equal the disk's; a server that refuses REST sends from
   * byte 0, all of it checked.
   */
  private async transfer(lease: Lease, remote: string, offset: number, size: number, signal: AbortSignal, meter: Meter): Promise<void> {
    const mirror = lease.mirror.name;
    const writer = this.partial.writer(offset);
    try {
      const from = overlapStart(offset, this.noRest.has(mirror));
      try {
        await this.receive(lease, remote, new OverlapCheck(from, offset, writer.read), size, signal, meter, writer);
      } catch (error) {
        if (from === 0 || !restRefused(error) || lease.client.closed) throw error;
        this.noRest.add(mirror);
        await this.receive(lease, remote, new OverlapCheck(0, offset, writer.read), size, signal, meter, writer);
      }
      const tail = this.tail;
      if (tail && this.partial.length >= tail.offset && this.partial.length < size) this.appendTail(writer, tail);
    } catch (error) {
      if (this.restart) {
        writer.close();
        await this.setAside(this.restart);
        this.restart = undefined;
        throw error;
      }
      // Bytes past the announced size: this attempt's cannot be trusted.
      if (error instanceof RequestError && error.kind === 'mismatch') await this.partial.truncate(offset);
      throw error;
    } finally {
      writer.close();
    }
  }

  /** One retrieval from the start of `overlap`; the bytes past it are written. */
  private async receive(lease: Lease, remote: string, overlap: OverlapCheck, size: number, signal: AbortSignal, meter: Meter, writer: PartWriter): Promise<void> {
    const { events, progressIntervalMs = 500 } = this.options;
    const mirror = lease.mirror.name;
    const { from, offset } = overlap;
    const phase = new DataPhase();
    let lastEventAt = 0;
    try {
      await retrieve(
        lease.client,
        remote,
        {
          offset: from,
          size,
          // A probe's tail, once on hand, is where this transfer may stop.
          end: () => this.tail?.offset ?? size,
          take: (chunk, position) => {
            const rest = overlap.take(chunk, position);
            if (rest.length < chunk.length && overlap.complete) this.judge(mirror, overlap);
            if (rest.length === 0) return;
            writer.write(rest, position + chunk.length - rest.length);
            this.received += rest.length;
            this.count(mirror, rest.length);
          },
          progress: ({ received, firstAt }) => {
            if (lastEventAt === 0) meter.flowing();
            const now = performance.now();
            if (now - lastEventAt < progressIntervalMs) return;
            lastEventAt = now;
            const seconds = (now - firstAt) / 1000;
            events({ type: 'progress', file: this.what, mirror, bytes: from + received, size, rate: seconds > 0 ? received / seconds : 0 });
          },
          stall: this.options.stall,
          signal,
          throttle: this.options.throttle,
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
      this.restart = `${other} and ${mirror} agree with each other, not with the bytes on disk from byte ${dissent.at}`;
      throw new RequestError('mismatch', this.restart);
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
    const from = this.partial.length;
    writer.write(tail.data.subarray(from - tail.offset), from);
    this.received += this.partial.length - from;
    this.count(tail.mirror, this.partial.length - from);
  }

  /**
   * A probe now costs nothing when its bytes will be kept: the file's size is known and larger
   * than a probe's read, and the transfer has not reached the tail a probe would read.
   */
  probeIsFree(): boolean {
    return this.size !== undefined && this.tail === undefined && this.partial.length < this.size - PROBE_BYTES;
  }

  /**
   * Measure a mirror by reading this file's last bytes from it (see Request.probe). When the copy
   * is the one being downloaded (same size, and same modification time where both servers give
   * one), the bytes are kept for the transfer, which then stops where they begin: a probe fetches
   * nothing twice.
   */
  async probe(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<void> {
    await withConnection(this.options.pool, mirror, signal, (ms) => meter.connected(ms), async (lease, answered) => {
      const remote = remoteFullPath(mirror, this.what);
      const size = await remoteSize(lease, remote, this.options.commandTimeoutMs);
      answered();
      if (this.size !== undefined && size !== this.size) {
        throw new RequestError('mismatch', `${mirror.name} has ${size} bytes, other mirrors ${this.size}`);
      }
      const keep = this.size === size && this.tail === undefined;
      const mtime = keep ? await remoteMtime(lease, remote, this.options.commandTimeoutMs) : undefined;
      const sameCopy = keep && !(this.mtime && mtime && this.mtime !== mtime);
      // The tail of the file: the transfer then ends by itself and the connection stays usable.
      const start = Math.max(0, size - PROBE_BYTES);
      const chunks: Buffer[] = [];
      const phase = await retrieve(lease.client, remote, {
        offset: start,
        size,
        // A socket's chunks are not reused, and Buffer.concat below copies them once.
        take: (chunk) => void (sameCopy && chunks.push(chunk)),
        // All of it is here: offer it at once, not a reply's round trip later (the transfer goes
        // on meanwhile), if the transfer has not got there yet and no other probe was first.
        progress: ({ received }) => {
          if (sameCopy && received === size - start && this.probeIsFree()) this.tail = { offset: start, data: Buffer.concat(chunks), mirror: mirror.name };
        },
        stall: this.options.stall,
        signal,
        throttle: this.options.throttle,
        mirror: mirror.name,
      });
      const { bytes, seconds } = phase.sample();
      meter.transferred(bytes, seconds);
      this.options.events({ type: 'probe', file: this.what, mirror: mirror.name, bytes: phase.received, rate: seconds > 0 ? bytes / seconds : 0 });
    });
  }

  private async verifyChecksum(mirror: MirrorSpec, expected: string): Promise<void> {
    const actual = await this.partial.sha256();
    if (actual === expected) return;
    // A whole-file hash cannot say which bytes are bad: none of them can be trusted.
    await this.partial.truncate(0);
    throw new RequestError('mismatch', `sha256 ${actual} after ${mirror.name}, expected ${expected}`);
  }

  cleanup(mirror: MirrorSpec, error: RequestError): void {
    const { length, record } = this.partial;
    this.options.events({ type: 'failover', file: this.what, mirror: mirror.name, kind: error.kind, message: error.message, bytes: length, size: record?.size });
  }
}
