// The partial download on disk: DEST.part holds the bytes so far and DEST.part.json (the record)
// says which file they came from (size and modification time), so a later run, or another mirror,
// resumes only when its copy is the same file. Nothing ever appears under DEST until it is complete
// and verified. One object per download: it knows its length from its own writes, so the disk is
// looked at once per attempt, not after every step.

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, promises as fsp, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalError } from '../director/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errnoCode, localErrorText } from '../util/local-error-text.js';
import { makeDirs } from '../util/make-dirs.js';

/** What the record says of the bytes in the .part. */
export interface PartialRecord {
  version: 1;
  /** The service the bytes came from (records of older versions lack it). */
  service?: string;
  remotePath: string;
  size: number;
  /** Modification time as the first mirror reported it (ISO), when it did. */
  mtime?: string;
}

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

/** The sha256 of a local file (hex). */
export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
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

  constructor(readonly dest: string) {
    this.partPath = `${dest}.part`;
    this.recordPath = `${dest}.part.json`;
  }

  /** Make the destination's directory and look at what a previous run left. */
  async open(): Promise<void> {
    try {
      await makeDirs(dirname(this.dest));
    } catch (error) {
      throw localFault(error, dirname(this.dest));
    }
    await this.look();
  }

  /** Read the length and the record from the disk. */
  async look(): Promise<void> {
    try {
      this.length = (await fsp.stat(this.partPath)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw localFault(error, this.partPath);
      this.length = 0;
    }
    this.record = await this.readRecord();
  }

  private async readRecord(): Promise<PartialRecord | undefined> {
    try {
      const data = JSON.parse(await fsp.readFile(this.recordPath, 'utf8')) as PartialRecord;
      return data && data.version === 1 && typeof data.size === 'number' ? data : undefined;
    } catch {
      return undefined; // missing or unreadable: the bytes are judged by size alone
    }
  }

  async saveRecord(record: PartialRecord): Promise<void> {
    try {
      await writeFileAtomic(this.recordPath, JSON.stringify(record) + '\n');
    } catch (error) {
      throw localFault(error, this.recordPath);
    }
    this.record = record;
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

  /** Open the .part for writing at `offset` (created when nothing is kept). */
  writer(offset: number): PartWriter {
    let fd: number;
    try {
      fd = openSync(this.partPath, offset > 0 ? 'r+' : 'w');
    } catch (error) {
      throw localFault(error, this.partPath);
    }
    if (offset === 0) this.length = 0;
    return {
      write: (chunk, position) => {
        try {
          for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done, position + done);
        } catch (error) {
          throw localFault(error, this.partPath);
        }
        this.length = Math.max(this.length, position + chunk.length);
      },
      read: (position, length) => {
        const out = Buffer.alloc(length);
        try {
          return out.subarray(0, readSync(fd, out, 0, length, position));
        } catch (error) {
          throw localFault(error, this.partPath);
        }
      },
      close: () => closeSync(fd),
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
    if (length === 0) {
      await fsp.rm(this.recordPath, { force: true });
      this.record = undefined;
    }
  }

  /** The sha256 of the bytes in the .part (hex). */
  async sha256(): Promise<string> {
    return sha256Of(this.partPath);
  }

  /** The file already under the final name, if there is one: its size and modification time. */
  async finished(): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const s = await fsp.stat(this.dest);
      return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * fsync the complete file, give it the mirror's modification time (so that a re-run can tell it
   * is complete), then move it under its final name in one rename.
   */
  async finalize(mtime?: string): Promise<void> {
    try {
      const handle = await fsp.open(this.partPath, 'r+');
      try {
        await handle.sync();
        if (mtime) await handle.utimes(new Date(), new Date(mtime));
      } finally {
        await handle.close();
      }
      await fsp.rename(this.partPath, this.dest);
      await fsp.rm(this.recordPath, { force: true });
    } catch (error) {
      throw localFault(error, this.dest);
    }
    this.length = 0;
    this.record = undefined;
  }
}
