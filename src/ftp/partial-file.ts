// The partial download on disk: DEST.part holds the bytes so far and DEST.part.json (the record)
// says which file they came from (size and modification time), so a later run, or another mirror,
// resumes only when its copy is the same file. Nothing ever appears under DEST until it is complete
// and verified. One object per download: it knows its length from its own writes, so the disk is
// looked at once per attempt, not after every step. The small metadata steps (stat, the record,
// rename) are synchronous: each costs microseconds in the page cache, less than a round trip
// through libuv's thread pool; only the fsync, which waits for the disk, is not.

import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, existsSync, fsync, futimesSync, openSync, promises as fsp, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { LocalError } from '../director/errors.js';
import { removeStaleTemps, replaceFileSync } from '../util/atomic-write.js';
import { errnoCode, localErrorText } from '../util/local-error-text.js';
import { makeDirs } from '../util/make-dirs.js';
import { BackgroundSync } from './background-sync.js';
import { checkedRanges, donePrefix, mergeRanges, type ByteRange } from './byte-ranges.js';
import { RunningHash, type DigestAlgorithm } from './running-hash.js';

/** What the record says of the bytes in the .part. */
export interface PartialRecord {
  version: 1;
  /** The service the bytes came from (records of older versions lack it). */
  service?: string;
  remotePath: string;
  size: number;
  /** Modification time as the first mirror reported it (ISO), when it did. */
  mtime?: string;
  /**
   * The byte ranges [start, end) of the .part that are done, when the file is fetched in ranges
   * (`get --split`); absent, the .part's bytes are a contiguous prefix of the file.
   */
  ranges?: ByteRange[];
}

/**
 * A held record (PartialFile.holdRecord) is written once the .part reaches this many bytes: a
 * crash loses at most this much of a file in flight, and files smaller than it never need a record.
 */
export const HELD_RECORD_BYTES = 1024 * 1024;

/** Turn an OS error on a local file into a LocalError that stops the run. */
export function localFault(error: unknown, what: string): LocalError {
  return new LocalError(localErrorText(error, what), { cause: error, code: errnoCode(error) });
}

/** An open .part: positional writes that keep the PartialFile's length up to date. */
export interface PartWriter {
  /** Write `chunk` at `position` (synchronous: never backpressure, so silence means the server's). */
  write(chunk: Buffer, position: number): void;
  /** The bytes on disk at `position` (fewer at the end of the file). */
  read(position: number, length: number): Buffer;
  close(): void;
}

/** The digest of a local file (hex). */
export async function digestOf(path: string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw localFault(error, path);
  }
  return hash.digest('hex');
}

export class PartialFile {
  readonly partPath: string;
  readonly recordPath: string;
  /** Bytes in the .part (as of the last look at the disk, plus this process's writes since). */
  length = 0;
  /** The record of the bytes' provenance, when there is one. */
  record: PartialRecord | undefined;
  /** The digest of the bytes written, kept as they are written when a checksum is expected. */
  private readonly hash: RunningHash | undefined;
  /**
   * Every writer's syncs (one writer per attempt, or a split download's): finalize waits for all
   * of them and fails on any error, not only the last writer's (an earlier descriptor's write-back
   * error is not reported to the one the final fsync opens).
   */
  private readonly syncs: BackgroundSync[] = [];
  /** The record is held in memory only, not yet written (see holdRecord). */
  private held = false;
  /** A record file may be on disk (read or written by this object): finalize removes it. */
  private recordOnDisk = false;

  /** `algorithm`: the digest a checksum will be checked in (none: hashing would be wasted work). */
  constructor(
    readonly dest: string,
    algorithm?: DigestAlgorithm,
  ) {
    this.hash = algorithm && new RunningHash(algorithm);
    this.partPath = `${dest}.part`;
    this.recordPath = `${dest}.part.json`;
  }

  /** Make the destination's directory and look at what a previous run left. */
  async open(): Promise<void> {
    try {
      if (!statSync(dirname(this.dest), { throwIfNoEntry: false })?.isDirectory()) await makeDirs(dirname(this.dest));
    } catch (error) {
      throw localFault(error, dirname(this.dest));
    }
    await this.look();
  }

  /** Read the length and the record from the disk. */
  async look(): Promise<void> {
    try {
      // No exception for a missing file: building its stack trace cost more than the stat.
      this.length = statSync(this.partPath, { throwIfNoEntry: false })?.size ?? 0;
    } catch (error) {
      throw localFault(error, this.partPath);
    }
    // A record held in memory over an empty .part still holds: it is the size this run established.
    if (this.held && this.length === 0) return;
    this.record = this.readRecord();
    // A .part fetched in ranges has holes: only its first done range may be taken as a prefix.
    if (this.record?.ranges) this.length = Math.min(this.length, donePrefix(this.record.ranges));
  }

  private readRecord(): PartialRecord | undefined {
    this.held = false;
    this.recordOnDisk = existsSync(this.recordPath);
    if (!this.recordOnDisk) return undefined;
    try {
      const data = JSON.parse(readFileSync(this.recordPath, 'utf8')) as PartialRecord;
      if (!data || data.version !== 1 || typeof data.size !== 'number') return undefined;
      // Ranges that do not fit the file are not believed: nothing of the .part counts as done.
      if (data.ranges !== undefined) data.ranges = checkedRanges(data.ranges, data.size) ?? [];
      return data;
    } catch {
      return undefined; // missing or unreadable: the bytes are judged by size alone
    }
  }

  /**
   * Not fsynced: a crash of the process leaves the record whole (it is renamed into place), and a
   * power loss at worst leaves it empty or missing, so the .part is set aside rather than resumed:
   * a download lost, never a wrong byte kept. An fsync here cost a journal commit per file (3.6 ms
   * on a virtual disk) and bought nothing the final fsync does not (docs/architecture.md).
   */
  async saveRecord(record: PartialRecord): Promise<void> {
    this.record = record;
    this.writeRecord();
  }

  private writeRecord(): void {
    try {
      replaceFileSync(this.recordPath, JSON.stringify(this.record) + '\n');
    } catch (error) {
      throw localFault(error, this.recordPath);
    }
    this.held = false;
    this.recordOnDisk = true;
  }

  /**
   * The record of an empty .part, kept in memory until it buys something: it is written once the
   * .part holds HELD_RECORD_BYTES, or when the attempt ends short of the whole file (keepRecord). A
   * file that arrives whole in one transfer, as most small files do, never has one on disk. What a
   * crash (SIGKILL, power loss) leaves of such a file is at most HELD_RECORD_BYTES of .part without
   * a record: set aside by the next run, never resumed (a little lost, no wrong byte kept).
   */
  holdRecord(record: PartialRecord): void {
    this.record = record;
    this.held = true;
  }

  /** Write a held record now, when the .part has bytes it vouches for (an attempt ended early). */
  keepRecord(): void {
    if (this.held && this.length > 0) this.writeRecord();
  }

  /**
   * Whether the bytes on disk may be this download's at all: they need a record that names this
   * remote file of this service. A .part without one is another program's, or another file's.
   */
  isFrom(service: string, remotePath: string): boolean {
    const r = this.record;
    return !!r && r.remotePath === remotePath && (r.service === undefined || r.service === service);
  }

  /**
   * Move the .part and its record out of the way, kept (renamed); returns the new name. One name
   * per file, so re-runs keep only the latest set-aside copy rather than piling them up.
   */
  async setAside(): Promise<string> {
    const aside = `${this.partPath}.aside`;
    try {
      await fsp.rename(this.partPath, aside);
      await fsp.rm(this.recordPath, { force: true });
    } catch (error) {
      throw localFault(error, this.partPath);
    }
    this.length = 0;
    this.record = undefined;
    this.held = this.recordOnDisk = false;
    this.hash?.reset();
    return aside;
  }

  /**
   * Why bytes on disk may not be continued from a mirror's copy, if they may not. Once a size is
   * established, a copy of another size is another file, even before any byte is on disk; the
   * modification time only matters when there are bytes to protect (peers that do not preserve
   * times would otherwise never agree).
   */
  mismatch(mirror: string, size: number, mtime: string | undefined): string | undefined {
    const { record, length } = this;
    if (record && record.size !== size) return `${mirror} has ${size} bytes, the partial file is from a copy of ${record.size}`;
    if (length > 0 && record?.mtime && mtime && record.mtime !== mtime) {
      return `${mirror} has a copy modified ${mtime}, the partial file is from one modified ${record.mtime}`;
    }
    if (!record && length > size) return `${mirror} has ${size} bytes, fewer than the ${length} already on disk`;
    return undefined;
  }

  /**
   * Open the .part for writing at `offset` (created when nothing is kept). `inPlace`: opened (or
   * created) without cutting it, for writes anywhere in it (a split download's ranges).
   */
  writer(offset: number, inPlace = false): PartWriter {
    // A .part with done ranges past its prefix is never cut: its record still vouches for them.
    const keep = inPlace || !!this.record?.ranges;
    let fd: number;
    try {
      fd = openSync(this.partPath, keep ? constants.O_RDWR | constants.O_CREAT : offset > 0 ? 'r+' : 'w');
    } catch (error) {
      throw localFault(error, this.partPath);
    }
    if (offset === 0 && !keep) {
      this.length = 0;
      this.hash?.reset();
    }
    const syncing = new BackgroundSync(fd);
    this.syncs.push(syncing);
    return {
      write: (chunk, position) => {
        try {
          if (syncing.error) throw syncing.error;
          for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done, position + done);
          syncing.wrote(chunk.length);
        } catch (error) {
          throw localFault(error, this.partPath);
        }
        this.length = Math.max(this.length, position + chunk.length);
        this.hash?.update(chunk, position);
        if (this.held && this.length >= HELD_RECORD_BYTES) this.writeRecord();
      },
      read: (position, length) => {
        const out = Buffer.alloc(length);
        try {
          return out.subarray(0, readSync(fd, out, 0, length, position));
        } catch (error) {
          throw localFault(error, this.partPath);
        }
      },
      close: () => syncing.close(),
    };
  }

  /** Cut the .part back to `length` bytes (bytes past it cannot be trusted); at 0 the record goes too. */
  async truncate(length: number): Promise<void> {
    try {
      await fsp.truncate(this.partPath, length);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw localFault(error, this.partPath);
    }
    this.length = Math.min(this.length, length);
    this.hash?.truncated(length);
    const ranges = this.record?.ranges;
    if (length > 0 && ranges) await this.saveRecord({ ...this.record!, ranges: mergeRanges(ranges.map(([s, e]): ByteRange => [s, Math.min(e, length)])) });
    if (length === 0) {
      await fsp.rm(this.recordPath, { force: true });
      this.record = undefined;
      this.held = this.recordOnDisk = false;
    }
  }

  /** The digest of the bytes in the .part (hex), in the algorithm it was opened with (else sha256). */
  async digest(): Promise<string> {
    try {
      return await (this.hash ?? new RunningHash()).digest(this.partPath, this.length);
    } catch (error) {
      throw localFault(error, this.partPath);
    }
  }

  /** The file already under the final name, if there is one: its size and modification time. */
  async finished(): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const s = statSync(this.dest, { throwIfNoEntry: false });
      return s?.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * fsync the complete file, give it the mirror's modification time (so that a re-run can tell it
   * is complete), then move it under its final name in one rename. The fsync is what keeps a power
   * loss from leaving a name over blocks never written; the rename itself need not be durable (if it
   * is lost, the .part and its record are still there and the next run finds them complete).
   */
  async finalize(mtime?: string): Promise<void> {
    try {
      await Promise.all(this.syncs.map((s) => s.settled()));
      const failed = this.syncs.find((s) => s.error);
      if (failed) throw failed.error;
      this.syncs.length = 0;
      // Only the fsync waits for the disk, in the thread pool; the rest are page-cache calls.
      const fd = openSync(this.partPath, 'r+');
      try {
        await promisify(fsync)(fd);
        if (mtime) futimesSync(fd, new Date(), new Date(mtime));
      } finally {
        closeSync(fd);
      }
      renameSync(this.partPath, this.dest);
      // A record held in memory was never written: nothing to remove. Otherwise unlink, not rm's lstat first.
      try {
        if (this.recordOnDisk) unlinkSync(this.recordPath);
        else removeStaleTemps(this.recordPath); // a killed run's half-written record of this file
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    } catch (error) {
      throw localFault(error, this.dest);
    }
    this.length = 0;
    this.record = undefined;
    this.held = this.recordOnDisk = false;
  }
}
