// `get --split N`: one file fetched in byte ranges from several mirrors at once. This coordinator
// owns the ranges: it cuts the file, starts up to N ranges (each a RangeRequest the director
// applies, steered to mirrors not already busy with this file), hands the back half of the
// largest remaining range to whichever range finishes first (re-balancing: fast mirrors end up
// with more of the file), keeps the record of what is done, and finalizes the file like the
// sequential download does.

import { AllMirrorsFailed, LocalError, RequestError } from '../director/errors.js';
import { firstDifference } from './byte-read.js';
import type { Director } from '../director/director.js';
import { coveredBytes, mergeRanges, missingRanges, type ByteRange } from './byte-ranges.js';
import type { DownloadOptions, DownloadResult } from './download-request.js';
import { OVERLAP_BYTES, type OverlapCheck } from './overlap.js';
import { PartialFile, digestOf, type PartWriter } from './partial-file.js';
import type { FtpPool } from './pool.js';
import { RangeRecord } from './range-record.js';
import { RangeRequest, type RangeJob, type RangeOwner } from './range-request.js';
import type { Throttle } from './sink.js';
import type { StallLimits } from './watchdog.js';

/** A range is cut in two only when each half would have at least this many bytes. */
export const MIN_PIECE = 256 * 1024;

/** The file under the final name is this copy already (thrown past the director, which does not retry it). */
class AlreadyComplete extends Error {}

/** Where two copies met and differ: what each had there. */
export interface Seam {
  at: number;
  size: number;
  /** The range that read past its end, and its bytes there. */
  mirror: string;
  theirs: Buffer;
  /** Who wrote the bytes on disk there (undefined: an earlier run), and those bytes. */
  writer: string | undefined;
  disk: Buffer;
}

/**
 * Two mirrors sent other bytes where their ranges meet: they serve different copies, and the file
 * cannot be joined from both. The .part is emptied; the client fetches the file whole from one.
 */
export class CopiesDiffer extends AllMirrorsFailed {
  constructor(
    what: string,
    readonly seam: Seam,
    /** The first byte that differs. */
    readonly firstDiff: number,
  ) {
    super(what, [{ mirror: seam.mirror, kind: 'mismatch', message: `${seam.mirror}'s and ${seam.writer ?? 'an earlier run'}'s copies differ at byte ${firstDiff}` }]);
    this.name = 'CopiesDiffer';
  }
}

export class SplitDownload implements RangeOwner {
  readonly what: string;
  readonly pool: FtpPool;
  readonly stall: StallLimits;
  readonly commandTimeoutMs: number;
  readonly throttle: Throttle | undefined;
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  readonly bytesByMirror: Record<string, number> = {};
  private readonly partial: PartialFile;
  private size: number | undefined;
  private mtime: string | undefined;
  /** Done before this run (the record's ranges, or a sequential prefix). */
  private base: ByteRange[] = [];
  /** Every range started in this run; a finished one has pos === end. */
  private readonly jobs: RangeJob[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly active = new Set<RangeJob>();
  private readonly busyOn = new Map<string, number>();
  private record: RangeRecord | undefined;
  private writer: PartWriter | undefined;
  private existing: { size: number; mtimeMs: number } | undefined;
  private failure: unknown;
  /** Who wrote which bytes in this run: an outvoted overlap blames its writer. */
  private readonly written: { from: number; to: number; mirror: string }[] = [];
  private readonly writing = new Map<RangeJob, { from: number; to: number; mirror: string }>();
  /** Who sent which other bytes than the disk's for an overlap: a second mirror alike outvotes the disk. */
  private readonly dissenters = new Map<string, string>();
  /** Mirrors that sent another copy's bytes or size for this file: tried after the others. */
  private readonly distrusted = new Set<string>();
  /** The error of an overlap that outvoted the disk's bytes. */
  private outvoted: RequestError | undefined;
  /** Bytes read past ranges' ends whose neighbours' are not written yet (SEAM_BYTES): a few at a time. */
  private seams: { mirror: string; at: number; data: Buffer }[] = [];
  private received = 0;
  private lastProgress = 0;
  private readonly started = performance.now();

  constructor(
    private readonly options: DownloadOptions,
    private readonly director: Director,
    /** Most ranges under way at once. */
    private readonly split: number,
    /** The mirrors chosen to share the file (the others are tried only after them); absent: any. */
    private readonly among?: ReadonlySet<string>,
  ) {
    this.what = options.remotePath;
    this.pool = options.pool;
    this.stall = options.stall;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.throttle = options.throttle;
    this.partial = new PartialFile(options.dest, options.checksum?.algorithm);
  }

  /** Fetch the file; rejects with AllMirrorsFailed, Interrupted or LocalError, the record saved. */
  async run(): Promise<DownloadResult> {
    const { partial, options } = this;
    await partial.open();
    this.existing = options.force ? undefined : await partial.finished();
    const { checksum } = options;
    if (this.existing && checksum?.source === '--sha256' && (await digestOf(options.dest, checksum.algorithm)) === checksum.hex) return this.skip(this.existing.size, 'it has the sha256 given');
    if (partial.length > 0 && !partial.isFrom(options.service, this.what)) {
      const aside = await partial.setAside();
      options.events({ type: 'warning', message: `${this.what}: ${partial.partPath} has no record of coming from ${this.what} of ${options.service}; set aside as ${aside}, starting over` });
    }
    const kept = partial.isFrom(options.service, this.what) ? partial.record : undefined;
    if (kept) {
      this.size = kept.size;
      this.mtime = kept.mtime;
      this.base = kept.ranges ?? [[0, Math.min(partial.length, kept.size)]];
      this.keepRecord();
    }
    options.events({ type: 'start', file: this.what, dest: options.dest, size: this.size, offset: coveredBytes(this.base) });
    try {
      // Size unknown: N ranges log in at once, and each gets its bytes when its mirror says the size.
      if (this.size === undefined) for (let i = 0; i < this.split; i++) this.launch({ start: 0, pos: 0, end: Infinity });
      else this.fill();
      while (this.running.size > 0) await Promise.race(this.running);
    } finally {
      this.writer?.close();
      await this.record?.flush();
    }
    if (this.failure instanceof AlreadyComplete) return this.skip(this.existing!.size, this.failure.message);
    // None of the bytes can be told to be one copy's rather than the other's.
    if (this.failure instanceof CopiesDiffer) await partial.truncate(0);
    if (this.failure) throw this.failure;
    if (this.record?.failure) throw this.record.failure;
    return this.finish();
  }

  // --- RangeOwner: what each range asks of the download ---

  check(mirror: string, job: RangeJob, size: number, mtime: string | undefined): void {
    if (this.size === undefined) {
      const e = this.existing;
      if (e && mtime && e.size === size && Math.floor(e.mtimeMs / 1000) === Math.floor(Date.parse(mtime) / 1000)) {
        throw new AlreadyComplete(`it has ${mirror}'s size and time`);
      }
      this.size = size;
      this.mtime = mtime;
      this.keepRecord();
      void this.record!.save();
    } else if (size !== this.size) {
      throw new RequestError('mismatch', `${mirror} has ${size} bytes, the file being fetched has ${this.size}`);
    } else if (this.mtime && mtime && mtime !== this.mtime && this.doneBytes() > 0) {
      throw new RequestError('mismatch', `${mirror} has a copy modified ${mtime}, the partial file is from one modified ${this.mtime}`);
    }
    if (job.end === Infinity) {
      const [from, end] = this.nextPiece() ?? [size, size];
      Object.assign(job, { start: from, pos: from, end });
    }
  }

  write(job: RangeJob, mirror: string, chunk: Buffer, position: number): void {
    // Opened at the first byte: a run that fetches none (already complete) leaves no .part.
    this.writer ??= this.partial.writer(0, true);
    this.writer.write(chunk, position);
    this.wroteFrom(job, mirror, position, position + chunk.length);
    this.received += chunk.length;
    this.bytesByMirror[mirror] = (this.bytesByMirror[mirror] ?? 0) + chunk.length;
    this.record?.wrote(chunk.length);
    const now = performance.now();
    if (now - this.lastProgress < (this.options.progressIntervalMs ?? 500)) return;
    this.lastProgress = now;
    const seconds = (now - this.started) / 1000;
    const mirrors = [...this.busyOn.keys()].join('+');
    this.options.events({ type: 'progress', file: this.what, mirror: mirrors, bytes: this.doneBytes(), size: this.size ?? 0, rate: seconds > 0 ? this.received / seconds : 0 });
  }

  overlapFrom(job: RangeJob): number {
    const before = this.done().find(([s, e]) => s < job.pos && e >= job.pos);
    return before ? Math.max(before[0], job.pos - OVERLAP_BYTES) : job.pos;
  }

  read(position: number, length: number): Buffer {
    // Bytes kept from an earlier run may be read before this run wrote any.
    this.writer ??= this.partial.writer(0, true);
    return this.writer.read(position, length);
  }

  /**
   * A mirror whose overlap differs from the disk's is blamed (corrupt), unless another mirror
   * already sent the same other bytes there: then the disk's bytes are the odd ones out, their
   * writer (when this run knows it) is blamed, and the download stops so that the client starts
   * the file over, as the sequential path sets its .part aside.
   */
  judge(mirror: string, overlap: OverlapCheck): void {
    const dissent = overlap.dissent();
    if (!dissent) return;
    const key = `${overlap.from}:${overlap.offset}:${dissent.digest}`;
    const other = this.dissenters.get(key);
    if (other === undefined || other === mirror) {
      this.dissenters.set(key, mirror);
      throw new RequestError('corrupt', `${mirror}'s copy differs from the bytes on disk at byte ${dissent.at}`);
    }
    const writers = [...new Set(this.written.filter((w) => w.from < overlap.offset && w.to > overlap.from).map((w) => w.mirror))];
    const culprit = writers.length === 1 ? writers[0] : undefined;
    const message = `${other} and ${mirror} agree with each other, not with the bytes on disk${culprit ? ` (from ${culprit})` : ''} from byte ${dissent.at}`;
    // The download stops once the director has blamed the culprit (failover()); aborting here
    // would end the transfer as interrupted instead.
    this.outvoted = new RequestError('mismatch', message, { culprit });
    throw this.outvoted;
  }

  seam(mirror: string, at: number, data: Buffer): void {
    this.seams.push({ mirror, at, data });
    this.checkSeams();
  }

  busy(mirror: string, delta: 1 | -1): void {
    const n = (this.busyOn.get(mirror) ?? 0) + delta;
    if (n > 0) this.busyOn.set(mirror, n);
    else this.busyOn.delete(mirror);
  }

  avoid(): ReadonlySet<string> {
    const avoid = new Set([...this.busyOn.keys(), ...this.distrusted]);
    if (this.among) for (const m of this.director.mirrors) if (!this.among.has(m.name)) avoid.add(m.name);
    return avoid;
  }

  attempt(mirror: string, job: RangeJob, size: number, reused: boolean): void {
    // offset is the file's bytes on disk, as for a sequential attempt: the reporters count from it.
    this.options.events({ type: 'attempt', file: this.what, mirror, offset: this.doneBytes(), size, reused, range: [job.pos, job.end] });
  }

  failover(mirror: string, error: RequestError): void {
    this.options.events({ type: 'failover', file: this.what, mirror, kind: error.kind, message: error.message, bytes: this.doneBytes(), size: this.size });
    // A mirror that sent other bytes goes behind the busy ones: a range it took where nothing is
    // done before would have no overlap to check.
    if (error.kind === 'corrupt' || error.kind === 'mismatch') this.distrusted.add(mirror);
    if (error !== this.outvoted) return;
    // Bytes on disk nobody agrees with: the client starts the file over (as after a stale .part).
    this.failure ??= new AllMirrorsFailed(this.what, [{ mirror, kind: error.kind, message: error.message }]);
    this.controller.abort();
  }

  // --- the ranges ---

  /** Everything done: before this run, and each range's bytes up to where it got. */
  private done(): ByteRange[] {
    return mergeRanges([...this.base, ...this.jobs.map((j): ByteRange => [j.start, j.pos])]);
  }

  /**
   * Compare the seams whose neighbours' bytes are now done, and let them go. Where they differ, the
   * download stops: the file cannot be joined from these two copies.
   */
  private checkSeams(): void {
    const done = this.done();
    const ready = (at: number, n: number) => done.some(([s, e]) => s <= at && e >= at + n);
    const pending = [];
    for (const seam of this.seams) {
      const { mirror, at, data } = seam;
      if (!ready(at, data.length)) {
        pending.push(seam);
        continue;
      }
      const disk = this.read(at, data.length);
      if (this.failure || disk.equals(data)) continue;
      const i = firstDifference(disk, data);
      const writer = this.written.find((w) => w.from <= at + i && w.to > at + i)?.mirror;
      this.failure = new CopiesDiffer(this.what, { at, size: this.size!, mirror, theirs: data, writer, disk }, at + i);
      this.controller.abort();
    }
    this.seams = pending;
  }

  /** Note who wrote [from, to): one entry per run of a range on a mirror, grown as it writes. */
  private wroteFrom(job: RangeJob, mirror: string, from: number, to: number): void {
    const last = this.writing.get(job);
    if (last && last.mirror === mirror && last.to === from) {
      last.to = to;
      return;
    }
    const entry = { from, to, mirror };
    this.written.push(entry);
    this.writing.set(job, entry);
  }

  private doneBytes(): number {
    return coveredBytes(this.done());
  }

  private keepRecord(): void {
    const { service, remotePath } = { service: this.options.service, remotePath: this.what };
    this.record = new RangeRecord(this.partial, { version: 1, service, remotePath, size: this.size!, ...(this.mtime ? { mtime: this.mtime } : {}) }, () => this.done());
  }

  /** Start ranges until N run. */
  private fill(): void {
    if (this.failure || this.size === undefined || this.signal.aborted) return;
    while (this.active.size < this.split) {
      const piece = this.nextPiece();
      if (!piece) return;
      this.launch({ start: piece[0], pos: piece[0], end: piece[1] });
    }
  }

  /** Bytes for a new range: the first that nobody has, else the back half of the largest remaining range (cut off it). */
  private nextPiece(): ByteRange | undefined {
    const sized = this.jobs.filter((j) => j.end !== Infinity);
    const claimed = [...this.base, ...sized.map((j): ByteRange => [j.start, this.active.has(j) ? j.end : j.pos])];
    const gap = missingRanges(claimed, this.size!)[0];
    if (gap) return gap;
    const largest = sized.filter((j) => this.active.has(j)).sort((a, b) => b.end - b.pos - (a.end - a.pos))[0];
    if (!largest || largest.end - largest.pos < 2 * MIN_PIECE) return undefined;
    const cut = largest.pos + Math.floor((largest.end - largest.pos) / 2);
    const piece: ByteRange = [cut, largest.end];
    largest.end = cut;
    return piece;
  }

  private launch(job: RangeJob): void {
    this.jobs.push(job);
    this.active.add(job);
    const run = this.director
      .apply(new RangeRequest(this, job))
      .then(
        () => {
          this.active.delete(job);
          this.checkSeams();
          this.fill();
        },
        (error) => this.fail(error, job),
      )
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** A range failed for good (or Ctrl-C): the others stop too; the first reason is the download's. */
  private fail(error: unknown, job: RangeJob): void {
    this.active.delete(job);
    // The ranges this one stopped end with Interrupted: not the reason.
    this.failure ??= error;
    this.controller.abort();
  }

  private async finish(): Promise<DownloadResult> {
    const { options, partial } = this;
    const size = this.size!;
    const missing = missingRanges(this.done(), size);
    if (missing.length > 0) throw new LocalError(`${this.what}: ranges ended with ${coveredBytes(missing)} bytes missing (a bug)`);
    if (size === 0) partial.writer(0, true).close(); // an empty file is a file too
    const { checksum } = options;
    if (checksum) {
      // Ranges arrive out of order: the digest reads what it did not see written, once.
      const actual = await partial.digest();
      if (actual !== checksum.hex) {
        // A whole-file hash cannot say which range is bad: none of the bytes can be trusted.
        await partial.truncate(0);
        const from = Object.keys(this.bytesByMirror).join(', ');
        const message = `${checksum.algorithm} ${actual} after ranges from ${from}, ${checksum.source} says ${checksum.hex}`;
        throw new AllMirrorsFailed(this.what, [{ mirror: from, kind: 'mismatch', message }]);
      }
    }
    await partial.finalize(this.mtime);
    const result: DownloadResult = {
      dest: options.dest,
      size,
      resumedFrom: coveredBytes(this.base),
      bytesByMirror: { ...this.bytesByMirror },
      mirror: Object.keys(this.bytesByMirror).join('+'),
      seconds: (performance.now() - this.started) / 1000,
    };
    const { dest, resumedFrom, seconds, bytesByMirror } = result;
    options.events({ type: 'done', file: this.what, dest, size, resumedFrom, seconds, bytesByMirror });
    return result;
  }

  private skip(size: number, why: string): DownloadResult {
    const { dest } = this.options;
    this.options.events({ type: 'skipped', file: this.what, dest, size, reason: `already complete: ${why}` });
    return { dest, size, resumedFrom: size, bytesByMirror: {}, mirror: '', seconds: (performance.now() - this.started) / 1000, skipped: true };
  }
}
