// The download request (the paper's IRequest for FTP): action fetches the file from one mirror,
// resuming at the length already on disk; cleanup keeps what can be trusted so the next mirror
// continues from there.

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { MirrorSpec } from '../certificate/types.js';
import type { Meter, Request } from '../director/director.js';
import { Interrupted, RequestError } from '../director/errors.js';
import type { EventSink } from '../ui/events.js';
import { formatRate } from '../ui/format.js';
import { classifyTransferError } from './classify.js';
import {
  finalizePartial,
  localFault,
  partialLength,
  partPath,
  readMeta,
  truncatePartial,
  writeMeta,
  type PartialMeta,
} from './partial.js';
import type { FtpPool, Lease } from './pool.js';
import { resync } from './resync.js';
import { ByteSink } from './sink.js';
import { DataPhase } from './data-phase.js';
import { StallWatchdog, type StallLimits } from './watchdog.js';

export interface DownloadOptions {
  /** Path of the file relative to each mirror's base directory. */
  remotePath: string;
  /** Final local path. */
  dest: string;
  pool: FtpPool;
  events: EventSink;
  /** When a silent transfer counts as stalled. */
  stall: StallLimits;
  /** Expected sha256 (hex); when given, the finished file must match it. */
  sha256?: string;
  /** Minimum interval between progress events, ms. */
  progressIntervalMs?: number;
  /** Paces received bytes (the benchmark's emulated client link); resolves when more may come. */
  pace?: (bytes: number) => Promise<void> | void;
  /** Leave a mirror mid-transfer for one measured much faster (a ranking matter, see SWITCH). */
  switchFaster?: boolean;
}

/**
 * When to give up a transfer for a faster mirror (aria2 looks for a faster one every 10 s): after
 * the transfer has run `afterMs`, if another mirror was measured `factor` times faster than this
 * transfer's own rate and moving would save at least `minGainS` seconds on the rest of the file.
 * The offset on disk carries over, so nothing is fetched twice. The probes have measured the other
 * mirrors within a fraction of a second; one second of the transfer's own rate is enough beside
 * them (measured: a 64 MiB file started on a mirror at 1/8 speed took 17.4 s with 3 s here, the
 * switch coming at 4.3 s, against 13.8 s when started on a fast one). minGainS keeps short files,
 * and small gains, where they are.
 */
export const SWITCH = { afterMs: 1000, everyMs: 500, factor: 2, minGainS: 5 };

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

/** The last bytes of the file, from a probe. */
interface Tail {
  offset: number;
  data: Buffer;
  mirror: string;
}

/** How long the server may take to answer once a transfer was stopped early (then the connection is closed). */
const RESYNC_MS = 5000;

export function remoteFullPath(mirror: MirrorSpec, remotePath: string): string {
  return posix.join(mirror.basePath, remotePath.replace(/^\/+/, ''));
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class DownloadRequest implements Request<DownloadResult> {
  readonly what: string;
  readonly bytesByMirror: Record<string, number> = {};
  private resumedFrom: number | undefined;
  private onDisk = 0;
  /** The size the first mirror reported, once known: probes of other mirrors check it. */
  private size: number | undefined;
  /** The modification time the first mirror reported, if it did: a probe's bytes are kept only from the same copy. */
  private mtime: string | undefined;
  /** The file's last bytes, read by a probe of another mirror: the transfer stops where they begin. */
  private tail: Tail | undefined;
  private readonly started = performance.now();

  constructor(private readonly options: DownloadOptions) {
    this.what = options.remotePath;
  }

  progress(): number {
    return this.onDisk;
  }

  /** Look at what a previous run left, once, and announce the download. */
  async prepare(): Promise<void> {
    try {
      await mkdir(dirname(this.options.dest), { recursive: true });
    } catch (error) {
      throw localFault(error, dirname(this.options.dest));
    }
    this.onDisk = await partialLength(this.options.dest);
    this.resumedFrom = this.onDisk;
    const meta = await readMeta(this.options.dest);
    this.options.events({
      type: 'start',
      file: this.options.remotePath,
      dest: this.options.dest,
      size: meta?.size,
      offset: this.onDisk,
    });
  }

  async action(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<DownloadResult> {
    if (this.resumedFrom === undefined) await this.prepare();
    return this.leased(mirror, signal, meter, (lease, answered) => this.fetch(lease, signal, meter, answered));
  }

  /**
   * Run `work` on a connection to the mirror, then give the connection back when it is still good.
   * `work` calls `answered()` once the server has replied to its first command.
   */
  private async leased<T>(mirror: MirrorSpec, signal: AbortSignal, meter: Meter, work: (lease: Lease, answered: () => void) => Promise<T>): Promise<T> {
    for (let retry = false; ; retry = true) {
      const lease = await this.options.pool.acquire(mirror, signal);
      if (lease.fresh) meter.connected(lease.connectMs);
      let answered = false;
      let reusable = false;
      try {
        const result = await work(lease, () => (answered = true));
        reusable = !lease.client.closed;
        return result;
      } catch (error) {
        if (signal.aborted) throw new Interrupted();
        // An idle connection the server closed meanwhile (servers time idle sessions out) is no
        // fault of the mirror: connect again, once.
        if (!lease.fresh && !retry && !answered && lease.client.closed) continue;
        // A "file missing here" reply leaves the control connection in good order.
        reusable = error instanceof RequestError && error.kind === 'missing' && !lease.client.closed;
        throw error;
      } finally {
        if (reusable) this.options.pool.release(lease);
        else this.options.pool.discard(lease);
      }
    }
  }

  /** SIZE, with its failure translated (550: missing here). */
  private async remoteSize(lease: Lease, remote: string): Promise<number> {
    return lease.client.size(remote).catch((e) => {
      throw classifyTransferError(e);
    });
  }

  private async fetch(lease: Lease, signal: AbortSignal, meter: Meter, answered: () => void): Promise<DownloadResult> {
    const { dest } = this.options;
    const { client, mirror } = lease;
    const remote = remoteFullPath(mirror, this.options.remotePath);

    const size = await this.remoteSize(lease, remote);
    answered();
    this.size ??= size;
    const mtime = await this.remoteMtime(lease, remote);
    this.mtime ??= mtime;
    let offset = await partialLength(dest);
    const meta = await readMeta(dest);
    this.checkSameFile(mirror, meta, size, mtime, offset);
    if (offset > size) {
      // More bytes than the file has: they cannot be from this file.
      await truncatePartial(dest, 0);
      offset = 0;
    }
    if (!meta || (offset === 0 && !meta.mtime && mtime)) {
      const fresh: PartialMeta = { version: 1, remotePath: this.options.remotePath, size };
      if (mtime) fresh.mtime = mtime;
      await writeMeta(dest, fresh);
    }
    this.onDisk = offset;
    this.options.events({ type: 'attempt', file: this.options.remotePath, mirror: mirror.name, offset, size, reused: !lease.fresh });

    if (offset < size) await this.transfer(lease, remote, offset, size, signal, meter);

    const length = await partialLength(dest);
    if (length !== size) {
      // Too many bytes: this attempt's cannot be trusted. Too few (the mirror ended early, e.g. a
      // copy still being written): they are a prefix of the file and stay for the next mirror.
      if (length > size) await truncatePartial(dest, offset);
      this.onDisk = length > size ? offset : length;
      throw new RequestError('mismatch', `${mirror.name} sent ${length - offset} bytes from offset ${offset}, the file has ${size}`);
    }
    if (this.options.sha256) await this.verifyChecksum(mirror);
    await finalizePartial(dest);
    const result: DownloadResult = {
      dest,
      size,
      resumedFrom: this.resumedFrom ?? 0,
      bytesByMirror: { ...this.bytesByMirror },
      mirror: mirror.name,
      seconds: (performance.now() - this.started) / 1000,
    };
    this.options.events({
      type: 'done',
      file: this.options.remotePath,
      dest,
      size,
      resumedFrom: result.resumedFrom,
      seconds: result.seconds,
      bytesByMirror: result.bytesByMirror,
    });
    return result;
  }

  /** MDTM where the server has it; a missing MDTM is no reason to fail. */
  private async remoteMtime(lease: Lease, remote: string): Promise<string | undefined> {
    try {
      return (await lease.client.lastMod(remote)).toISOString();
    } catch (error) {
      if (lease.client.closed) throw classifyTransferError(error);
      return undefined;
    }
  }

  /**
   * Bytes on disk may only be continued from a copy of the same file; and once a size is
   * established (by the first mirror that answered), a copy of another size is another file, even
   * before any byte of it is on disk. Only the modification time waits for bytes to protect: peers
   * that do not preserve times would otherwise never agree.
   */
  private checkSameFile(mirror: MirrorSpec, meta: PartialMeta | undefined, size: number, mtime: string | undefined, offset: number): void {
    if (meta && meta.size !== size) {
      throw new RequestError('mismatch', `${mirror.name} has ${size} bytes, the partial file is from a copy of ${meta.size}`);
    }
    if (offset > 0 && meta?.mtime && mtime && meta.mtime !== mtime) {
      throw new RequestError('mismatch', `${mirror.name} has a copy modified ${mtime}, the partial file is from one modified ${meta.mtime}`);
    }
    if (!meta && offset > size) {
      throw new RequestError('mismatch', `${mirror.name} has ${size} bytes, fewer than the ${offset} already on disk`);
    }
  }

  private async transfer(lease: Lease, remote: string, offset: number, size: number, signal: AbortSignal, meter: Meter): Promise<void> {
    const { dest, events } = this.options;
    const { client, mirror } = lease;
    const path = partPath(dest);
    let fd: number;
    try {
      fd = openSync(path, offset > 0 ? 'r+' : 'w');
    } catch (error) {
      throw localFault(error, path);
    }
    const interval = this.options.progressIntervalMs ?? 500;
    const phase = new DataPhase();
    let lastEventAt = 0;
    let silentFor = 0;
    const watchdog = new StallWatchdog(this.options.stall, (silentMs) => {
      silentFor = silentMs;
      client.close();
    });
    // Set when the transfer reached the start of a tail a probe read: the rest is on hand.
    let stoppedFor: Tail | undefined;
    const sink = new ByteSink({ fd, path, start: offset }, ({ length: n }) => {
      const now = performance.now();
      if (phase.received === 0) meter.flowing();
      phase.add(n, now);
      const received = phase.received;
      this.onDisk = offset + received;
      this.bytesByMirror[mirror.name] = (this.bytesByMirror[mirror.name] ?? 0) + n;
      watchdog.feed();
      if (!stoppedFor && this.tail && this.onDisk >= this.tail.offset && this.onDisk < size) {
        // Close only the data connection: the control connection stays, once resynchronised.
        stoppedFor = this.tail;
        sink.stoppedOnPurpose = true;
        client.ftp.dataSocket?.destroy();
        return;
      }
      if (now - lastEventAt >= interval) {
        lastEventAt = now;
        const seconds = (now - phase.firstAt) / 1000;
        events({
          type: 'progress',
          file: this.options.remotePath,
          mirror: mirror.name,
          bytes: this.onDisk,
          size,
          rate: seconds > 0 ? received / seconds : 0,
        });
      }
    }, this.options.pace);
    const onAbort = () => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    let faster: { name: string; throughput: number; rate: number } | undefined;
    const switcher = this.options.switchFaster
      ? setInterval(() => {
          const { received } = phase;
          const elapsedMs = performance.now() - phase.firstAt;
          if (received === 0 || elapsedMs < SWITCH.afterMs) return;
          const rate = received / (elapsedMs / 1000);
          const alt = meter.bestAlternative();
          if (!alt || alt.throughput < SWITCH.factor * rate) return;
          const rest = size - offset - received;
          if (rest / rate - rest / alt.throughput < SWITCH.minGainS) return;
          faster = { ...alt, rate };
          client.close();
        }, SWITCH.everyMs)
      : undefined;
    switcher?.unref();
    try {
      try {
        await client.downloadTo(sink, remote, offset);
      } catch (error) {
        if (!stoppedFor || signal.aborted || sink.localError) throw error;
        // The server's last reply to RETR (426, or 226 if it had sent everything) may still be on
        // its way: skip it before the connection serves another command.
        if (!(await resync(client, RESYNC_MS))) client.close();
      }
      if (stoppedFor) this.appendTail(fd, stoppedFor, size);
    } catch (error) {
      if (signal.aborted) throw new Interrupted();
      if (sink.localError) throw sink.localError;
      if (faster) {
        throw new RequestError('slow', `${formatRate(faster.rate)} here, ${faster.name} was measured at ${formatRate(faster.throughput)}`);
      }
      if (watchdog.fired) {
        throw new RequestError('stalled', `no data from ${mirror.name} for ${(silentFor / 1000).toFixed(1)} s at byte ${offset + phase.received}`);
      }
      throw classifyTransferError(error);
    } finally {
      watchdog.stop();
      clearInterval(switcher);
      signal.removeEventListener('abort', onAbort);
      closeSync(fd);
      // The data phase says how fast this mirror delivers, whether or not it finished.
      const { bytes, seconds } = phase.sample();
      if (bytes > 0) meter.transferred(bytes, seconds);
    }
  }

  /** Write the part of a probe's tail past what the transfer left on disk; the file is then whole. */
  private appendTail(fd: number, tail: Tail, size: number): void {
    const from = this.onDisk;
    try {
      for (let done = from - tail.offset; done < tail.data.length; ) {
        done += writeSync(fd, tail.data, done, tail.data.length - done, tail.offset + done);
      }
    } catch (error) {
      throw localFault(error, partPath(this.options.dest));
    }
    this.onDisk = size;
    this.bytesByMirror[tail.mirror] = (this.bytesByMirror[tail.mirror] ?? 0) + (size - from);
  }

  /**
   * A probe now costs nothing when its bytes will be kept: the file's size is known and larger
   * than a probe's read, and the transfer has not reached the tail a probe would read.
   */
  probeIsFree(): boolean {
    return this.size !== undefined && this.tail === undefined && this.onDisk < this.size - PROBE_BYTES;
  }

  /**
   * Measure a mirror by reading this file's last bytes from it (see Request.probe). When the copy
   * is the one being downloaded (same size, and same modification time where both servers give
   * one), the bytes are kept for the transfer, which then stops where they begin: a probe fetches
   * nothing twice.
   */
  async probe(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<void> {
    await this.leased(mirror, signal, meter, async (lease, answered) => {
      const { client } = lease;
      const remote = remoteFullPath(mirror, this.options.remotePath);
      const size = await this.remoteSize(lease, remote);
      answered();
      if (this.size !== undefined && size !== this.size) {
        throw new RequestError('mismatch', `${mirror.name} has ${size} bytes, other mirrors ${this.size}`);
      }
      const keep = this.size === size && this.tail === undefined;
      const mtime = keep ? await this.remoteMtime(lease, remote) : undefined;
      const sameCopy = keep && !(this.mtime && mtime && this.mtime !== mtime);
      // The tail of the file: the transfer then ends by itself and the connection stays usable.
      const start = Math.max(0, size - PROBE_BYTES);
      const phase = new DataPhase();
      const chunks: Buffer[] = [];
      const watchdog = new StallWatchdog(this.options.stall, () => client.close());
      const sink = new ByteSink(
        undefined,
        (chunk) => {
          phase.add(chunk.length);
          // A socket's chunks are not reused, and Buffer.concat below copies them once.
          if (sameCopy) chunks.push(chunk);
          watchdog.feed();
          // All of it is here: offer it at once, not a reply's round trip later (the transfer
          // goes on meanwhile), if the transfer has not got there yet and no other probe was first.
          if (sameCopy && phase.received === size - start && this.probeIsFree()) {
            this.tail = { offset: start, data: Buffer.concat(chunks), mirror: mirror.name };
          }
        },
        this.options.pace,
      );
      const onAbort = () => client.close();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await client.downloadTo(sink, remote, start);
      } catch (error) {
        if (signal.aborted) throw new Interrupted();
        if (watchdog.fired) throw new RequestError('stalled', `probe: no data from ${mirror.name}`);
        throw classifyTransferError(error);
      } finally {
        watchdog.stop();
        signal.removeEventListener('abort', onAbort);
      }
      const { bytes, seconds } = phase.sample();
      meter.transferred(bytes, seconds);
      this.options.events({ type: 'probe', file: this.options.remotePath, mirror: mirror.name, bytes: phase.received, rate: seconds > 0 ? bytes / seconds : 0 });
    });
  }

  private async verifyChecksum(mirror: MirrorSpec): Promise<void> {
    const expected = this.options.sha256!.toLowerCase();
    let actual: string;
    try {
      actual = await sha256File(partPath(this.options.dest));
    } catch (error) {
      throw localFault(error, partPath(this.options.dest));
    }
    if (actual === expected) return;
    // A whole-file hash cannot say which bytes are bad: none of them can be trusted.
    await truncatePartial(this.options.dest, 0);
    this.onDisk = 0;
    throw new RequestError('mismatch', `sha256 ${actual} after ${mirror.name}, expected ${expected}`);
  }

  async cleanup(mirror: MirrorSpec, error: RequestError): Promise<void> {
    this.onDisk = await partialLength(this.options.dest);
    this.options.events({
      type: 'failover',
      file: this.options.remotePath,
      mirror: mirror.name,
      kind: error.kind,
      message: error.message,
      bytes: this.onDisk,
      size: (await readMeta(this.options.dest))?.size,
    });
  }
}
