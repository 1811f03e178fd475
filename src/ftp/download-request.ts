// The download request (the paper's IRequest for FTP): action fetches the file from one mirror,
// resuming at the length already on disk; cleanup keeps what can be trusted so the next mirror
// continues from there; probe measures another mirror on the file's last bytes, which the
// transfer then does not fetch again.

import type { MirrorSpec } from '../certificate/types.js';
import { LocalError, RequestError } from '../director/errors.js';
import type { Meter, Request } from '../director/request.js';
import type { EventSink } from '../ui/events.js';
import { arbitrate, firstDifference, type Referee } from './byte-read.js';
import { FileTransfer, type TailDispute } from './file-transfer.js';
import { PartialFile, digestOf } from './partial-file.js';
import { withConnection, type FtpPool } from './pool.js';
import { remoteFullPath, remoteMtime, remoteSize } from './remote-file.js';
import type { ExpectedDigest } from './running-hash.js';
import { FREE_PROBE_FILE_BYTES, PROBE_BYTES, probeTail, type Tail } from './tail-probe.js';
import type { Throttle } from './sink.js';
import { crawlFloor, type StallLimits } from './watchdog.js';

export { PROBE_BYTES } from './tail-probe.js';

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
  /** The checksum the finished file must have (given by the user, or published by the mirrors). */
  checksum?: ExpectedDigest;
  /**
   * The sizes listings gave for the file, and the mirrors they came from: each counted as that
   * mirror's word, and not asked again (SIZE) on the first attempt there.
   */
  listed?: readonly { mirror: string; size: number }[];
  /**
   * Another mirror's SIZE of this file (not one of `except`), when one answers: a size only one
   * mirror has said is checked before the file is accepted. Not asked when a checksum is known.
   */
  sizeWitness?: (except: ReadonlySet<string>, signal: AbortSignal, idleOnly?: boolean) => Promise<{ mirror: string; answer: number } | undefined>;
  /** A third mirror's word where a probe's tail and the transfer disagree. */
  referee?: Referee;
  /** Fetch even when the file under the final name is already complete. */
  force?: boolean;
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
  /** The file was already complete: nothing was fetched. */
  skipped?: boolean;
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
  private readonly transfer: FileTransfer;
  /** The size each mirror said (SIZE), and the mirrors whose copy ended before it: their word does not count. */
  private readonly sizes = new Map<string, number>();
  private readonly short = new Set<string>();
  /** Sizes from listings not yet used: a mirror's first attempt takes its listing's size instead of asking SIZE. */
  private readonly listedSizes = new Map<string, number>();
  /** Another mirror's answer on the size, asked while the transfer runs. */
  private witness: ReturnType<NonNullable<DownloadOptions['sizeWitness']>> | undefined;
  /** The mirror that sent each whole copy whose digest was not the one expected. */
  private readonly wrongSums = new Map<string, string>();
  /** prepare() has just read the .part's length and record: the first attempt need not again. */
  private lookedAtDisk = false;
  /** Where a probe's tail disagreed with the transfer, to be settled once the transfer is over. */
  private dispute: TailDispute | undefined;
  /** The file under the final name when the download began (a re-run may find it complete). */
  private existing: { size: number; mtimeMs: number } | undefined;

  constructor(readonly options: DownloadOptions) {
    this.what = options.remotePath;
    this.partial = new PartialFile(options.dest, options.checksum?.algorithm);
    for (const { mirror, size } of options.listed ?? []) {
      this.sizes.set(mirror, size);
      this.listedSizes.set(mirror, size);
    }
    this.transfer = new FileTransfer({
      what: this.what,
      partial: this.partial,
      events: options.events,
      stall: options.stall,
      throttle: options.throttle,
      progressIntervalMs: options.progressIntervalMs ?? 500,
      tail: () => this.tail,
      dropTail: () => (this.tail = undefined),
      kept: (mirror, bytes) => {
        this.received += bytes;
        this.bytesByMirror[mirror] = (this.bytesByMirror[mirror] ?? 0) + bytes;
      },
      setAside: (why) => this.setAside(why),
      disputed: (dispute) => (this.dispute ??= dispute),
    });
  }

  progress(): number {
    return this.received;
  }

  /**
   * Look at what a previous run left, once, and announce the download. With a checksum given and
   * a file under the final name that has it, the download is over before it began: the result.
   */
  async prepare(): Promise<DownloadResult | undefined> {
    await this.partial.open();
    this.lookedAtDisk = true;
    this.existing = this.options.force ? undefined : await this.partial.finished();
    const { checksum } = this.options;
    // Only a checksum the user gave is worth reading a whole file for; a published one was checked when it was written.
    if (this.existing && checksum?.source === '--sha256' && (await digestOf(this.options.dest, checksum.algorithm)) === checksum.hex) {
      return this.skip(this.existing.size, 'it has the sha256 given');
    }
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
    try {
      return await this.attempt(mirror, signal, meter);
    } catch (error) {
      // The attempt ended short of a whole file: what it left needs its record on disk now. Best
      // effort (the disk may be full): without one the .part is set aside by the next run, not resumed.
      try {
        this.partial.keepRecord();
      } catch {
        // the error that ended the attempt is the one to report
      }
      throw error;
    }
  }

  private async attempt(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<DownloadResult> {
    if (this.resumedFrom === undefined) await this.prepare();
    const fetched = await withConnection(this.options.pool, mirror, signal, (ms) => meter.connected(ms), async (lease, answered) => {
      const remote = remoteFullPath(mirror, this.what);
      // A further attempt here asks SIZE: the listing may be older than the copy now served.
      const listed = this.listedSizes.get(mirror.name);
      this.listedSizes.delete(mirror.name);
      const size = listed ?? (await remoteSize(lease, remote, this.options.commandTimeoutMs));
      if (listed === undefined) answered();
      this.sizes.set(mirror.name, size);
      this.size ??= size;
      const mtime = await remoteMtime(lease, remote, this.options.commandTimeoutMs);
      // MDTM fails, rather than answers, on a connection the server has closed: then it is replaced quietly.
      if (listed !== undefined) answered();
      this.mtime ??= mtime;
      const existing = this.existing;
      // Complete already: the same size and modification time (to the second) as the mirror's copy.
      if (existing && mtime && existing.size === size && Math.floor(existing.mtimeMs / 1000) === Math.floor(Date.parse(mtime) / 1000)) {
        return this.skip(size, `it has ${mirror.name}'s size and time`);
      }
      const offset = await this.resumeOffset(mirror, size, mtime);
      this.askWitness(signal);
      this.options.events({ type: 'attempt', file: this.what, mirror: mirror.name, offset, size, reused: !lease.fresh });
      if (offset < size) await this.transfer.run(lease, remote, offset, size, signal, meter);
      else if (size === 0) this.partial.writer(0).close(); // an empty file is a file too
      return { offset, size };
    });
    // The connection is free again before the checks: another file may use it while they run.
    return 'dest' in fetched ? fetched : this.finish(mirror, fetched.offset, fetched.size, signal);
  }

  /** Where this mirror's copy continues the bytes on disk, after checking it is the same file. */
  private async resumeOffset(mirror: MirrorSpec, size: number, mtime: string | undefined): Promise<number> {
    const { partial } = this;
    // The first attempt comes right after prepare() looked; a later one looks again (a failed
    // attempt may have cut the .part, or written its record).
    if (!this.lookedAtDisk) await partial.look();
    this.lookedAtDisk = false;
    const kept = partial.record?.size;
    if (kept !== undefined && kept !== size && this.discredited(kept)) {
      await this.setAside(`the mirrors that said ${kept} bytes sent fewer; ${mirror.name} says ${size}`);
      this.size = size;
      this.mtime = mtime;
      this.tail = undefined;
    }
    const mismatch = partial.mismatch(mirror.name, size, mtime);
    if (mismatch) throw new RequestError('mismatch', mismatch);
    // More bytes than the file has: they cannot be from this file.
    if (partial.length > size) await partial.truncate(0);
    const record = partial.record;
    if (!record || (partial.length === 0 && !record.mtime && mtime)) {
      const fresh = { version: 1, service: this.options.service, remotePath: this.what, size, ...(mtime ? { mtime } : {}) } as const;
      // Nothing on disk yet: the record is written only if the .part comes to need it.
      if (partial.length === 0) partial.holdRecord(fresh);
      else await partial.saveRecord(fresh);
    }
    return partial.length;
  }

  private skip(size: number, why: string): DownloadResult {
    const { dest } = this.options;
    this.options.events({ type: 'skipped', file: this.what, dest, size, reason: `already complete: ${why}` });
    return { dest, size, resumedFrom: size, bytesByMirror: {}, mirror: '', seconds: (performance.now() - this.started) / 1000, skipped: true };
  }

  private votes(size: number): number {
    return this.tally().get(size) ?? 0;
  }

  /** Every mirror that said this size in this run sent fewer bytes than it said: a lie, not a size. */
  private discredited(size: number): boolean {
    const said = [...this.sizes].filter(([, s]) => s === size);
    return said.length > 0 && said.every(([m]) => this.short.has(m));
  }

  /**
   * The file is whole and verified. It is not moved into place here: that is local work (a sync
   * and a rename) and no concern of the director, which may meanwhile serve the next file
   * (`complete`).
   */
  private async finish(mirror: MirrorSpec, offset: number, size: number, signal: AbortSignal): Promise<DownloadResult> {
    const { length } = this.partial;
    if (length !== size) {
      // The mirror ended early (e.g. a copy still being written): its bytes are a prefix of the
      // file and stay for the next mirror; its word on the size no longer counts.
      this.short.add(mirror.name);
      throw new RequestError('mismatch', `${mirror.name} sent ${length - offset} bytes from offset ${offset}, the file has ${size}`);
    }
    if (this.dispute) await this.settleDispute(this.dispute, mirror.name, size, signal);
    const { checksum } = this.options;
    if (checksum) await this.verifyChecksum(mirror, checksum);
    else await this.confirmSize(mirror, size, signal);
    return {
      dest: this.options.dest,
      size,
      resumedFrom: this.resumedFrom ?? 0,
      bytesByMirror: { ...this.bytesByMirror },
      mirror: mirror.name,
      seconds: 0,
    };
  }

  /**
   * A probe's tail and the transfer disagreed: a third mirror's bytes there say which copy is
   * odd. The probed one: it is blamed, and the file stands. The one the file came from: none of
   * its bytes can be trusted, and the file is fetched from another (corrupt).
   */
  private async settleDispute(dispute: TailDispute, finishedOn: string, size: number, signal: AbortSignal): Promise<void> {
    this.dispute = undefined;
    const { at, mirror, mine, other, theirs } = dispute;
    // Only while the file is the disputed transfer's own (not once another mirror took over from it).
    const referee = mirror === finishedOn ? this.options.referee : undefined;
    const verdict = await arbitrate(referee, at, [mine, theirs], size, new Set([mirror, other]), signal);
    if (verdict?.odd === 0) {
      await this.partial.truncate(0);
      for (const name of Object.keys(this.bytesByMirror)) delete this.bytesByMirror[name];
      throw new RequestError('corrupt', `${mirror}'s copy differs from ${other}'s and ${verdict.third}'s at byte ${at + firstDifference(mine, theirs)}`);
    }
    if (verdict?.odd === 1) referee?.blame(other);
    const others = verdict?.odd === 1 ? `${mirror}'s and ${verdict.third}'s copies` : `${mirror}'s copy`;
    this.options.events({ type: 'warning', message: `${this.what}: the last bytes ${other} sent differ from ${others}; not used` });
  }

  /** Move the verified file (the director's result) into place; a skipped file is left as it is. */
  async complete(result: DownloadResult): Promise<DownloadResult> {
    if (result.skipped) return result;
    await this.partial.finalize(this.mtime);
    const seconds = (performance.now() - this.started) / 1000;
    const { dest, size, resumedFrom, bytesByMirror } = result;
    this.options.events({ type: 'done', file: this.what, dest, size, resumedFrom, seconds, bytesByMirror });
    return { ...result, seconds };
  }

  /**
   * A probe now costs next to nothing: its bytes will be kept, and the file is large enough that
   * what the cut transfer had in flight (see FREE_PROBE_FILE_BYTES) is a small share of it.
   */
  probeIsFree(): boolean {
    return this.tailWanted() && this.size! >= FREE_PROBE_FILE_BYTES;
  }

  /** A probe's tail would be kept: the size is known and larger than a probe's read, and the transfer has not reached it. */
  private tailWanted(): boolean {
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
      const phase = await probeTail(lease, remoteFullPath(mirror, this.what), {
        size: this.size,
        mtime: this.mtime,
        // Wanted while the transfer has not got there yet and no other probe was first.
        wanted: () => this.tailWanted(),
        offer: (tail) => (this.tail = tail),
        stall: this.options.stall,
        floor: () => crawlFloor(meter.bestThroughput()),
        signal,
        throttle: this.options.throttle,
        commandTimeoutMs: this.options.commandTimeoutMs,
        answered: (size) => {
          answered();
          this.sizes.set(mirror.name, size);
        },
      });
      const { bytes, seconds } = phase.sample();
      meter.transferred(bytes, seconds);
      this.options.events({ type: 'probe', file: this.what, mirror: mirror.name, bytes: phase.received, rate: seconds > 0 ? bytes / seconds : 0 });
    });
  }

  /**
   * Ask another mirror for the size while the transfer runs, where a connection to one is open and
   * idle; otherwise the question waits for the end, when a probe may have answered it already.
   */
  private askWitness(signal: AbortSignal): void {
    const { sizeWitness, checksum } = this.options;
    if (this.witness || !sizeWitness || checksum || this.size === undefined || this.votes(this.size) >= 2) return;
    this.witness = sizeWitness(new Set(this.sizes.keys()), signal, true).catch(() => undefined);
  }

  /**
   * A copy most mirrors disagree with is not the file, however whole it looks; a size only one
   * mirror said is put to others first (a truncated copy served whole says its own size). The
   * size most mirrors said wins; between sizes said equally often the larger wins: a copy cut
   * short is the common fault.
   */
  private async confirmSize(mirror: MirrorSpec, size: number, signal: AbortSignal): Promise<void> {
    const rival = () => Math.max(0, ...[...this.tally()].filter(([s]) => s !== size).map(([, n]) => n));
    let early = this.witness;
    this.witness = undefined;
    while (this.options.sizeWitness && this.votes(size) < 2 && rival() <= this.votes(size)) {
      const opinion = await (early ?? this.options.sizeWitness(new Set(this.sizes.keys()), signal).catch(() => undefined));
      const asked = early;
      early = undefined;
      if (signal.aborted) break;
      if (!opinion && asked) continue; // no idle connection was open then: ask anywhere now
      if (!opinion) break;
      if (this.sizes.has(opinion.mirror)) continue; // asked before this attempt's answers came in
      this.sizes.set(opinion.mirror, opinion.answer);
    }
    const [winner] = [...this.tally()].sort(([a, n], [b, m]) => m - n || b - a);
    if (winner && winner[0] !== size) {
      this.short.add(mirror.name); // outvoted: its word on the size no longer counts
      const said = [...this.sizes].filter(([m, s]) => s !== size && !this.short.has(m)).map(([m, s]) => `${m} ${s}`);
      throw new RequestError('mismatch', `${mirror.name} has ${size} bytes, other mirrors say otherwise (${said.join(', ')})`);
    }
  }

  /** How many mirrors said each size, leaving out those whose copy ended before the size they said. */
  private tally(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [m, s] of this.sizes) if (!this.short.has(m)) counts.set(s, (counts.get(s) ?? 0) + 1);
    return counts;
  }

  private async verifyChecksum(mirror: MirrorSpec, expected: ExpectedDigest): Promise<void> {
    const actual = await this.partial.digest();
    if (actual === expected.hex) return;
    // A whole-file hash cannot say which bytes are bad: none of them can be trusted, nor counted
    // as fetched from their mirrors.
    await this.partial.truncate(0);
    for (const name of Object.keys(this.bytesByMirror)) delete this.bytesByMirror[name];
    // Two mirrors with the very same other bytes: the checksum expected is the odd one out.
    const other = this.wrongSums.get(actual);
    const { algorithm, hex, source } = expected;
    if (other !== undefined && other !== mirror.name) {
      // Not the mirrors' fault either way: the director takes back the fault the first one got.
      const both = `${other} and ${mirror.name} both sent a copy whose ${algorithm} is ${actual}`;
      if (source === '--sha256') throw new LocalError(`--sha256 ${hex} was given, but ${both}: the checksum given is probably wrong`, { forgive: [other] });
      throw new LocalError(`${this.what}: ${source} says ${algorithm} ${hex}, but ${both}: ${source} is probably out of date`, { forgive: [other] });
    }
    this.wrongSums.set(actual, mirror.name);
    // A published checksum makes the copy corrupt; one the user typed may be the mistake (mismatch).
    const kind = source === '--sha256' ? 'mismatch' : 'corrupt';
    throw new RequestError(kind, `${algorithm} ${actual} after ${mirror.name}, ${source} says ${hex}`);
  }

  cleanup(mirror: MirrorSpec, error: RequestError): void {
    const { length, record } = this.partial;
    this.options.events({ type: 'failover', file: this.what, mirror: mirror.name, kind: error.kind, message: error.message, bytes: length, size: record?.size });
  }
}
