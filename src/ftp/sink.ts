// Where a transfer's bytes go: positional synchronous writes into the partial file, or nowhere
// (a probe). Measured here (shared/research/node-ftp.md) sync writes are about 1.5x faster than
// basic-ftp's own file stream, and they never apply backpressure, so "no bytes arrived" always
// means the server is silent.

import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { localFault } from './partial.js';
import type { LocalError } from '../director/errors.js';

/** A file to write into: descriptor, path (for messages) and the offset of the first byte. */
export interface SinkFile {
  fd: number;
  path: string;
  start: number;
}

export class ByteSink extends Writable {
  /** Set when writing to disk failed (disk full...): the run must stop, not fail over. */
  localError: LocalError | undefined;
  /**
   * The transfer was stopped on purpose (its data connection closed): being torn down then is no
   * error. basic-ftp closes the control connection on any error of the destination.
   */
  stoppedOnPurpose = false;
  private position: number;

  constructor(
    /** undefined: the bytes are counted and thrown away. */
    private readonly file: SinkFile | undefined,
    /** Every chunk, after it is on disk (a probe may keep it). */
    private readonly onChunk: (chunk: Buffer) => void,
    /** Optional pacing after each write (the benchmark's client link): delays the next read. */
    private readonly pace?: (n: number) => Promise<void> | void,
  ) {
    super();
    this.position = file?.start ?? 0;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    callback(this.stoppedOnPurpose ? null : error);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.file) {
      try {
        let done = 0;
        while (done < chunk.length) {
          done += writeSync(this.file.fd, chunk, done, chunk.length - done, this.position + done);
        }
      } catch (error) {
        this.localError = localFault(error, this.file.path);
        callback(this.localError);
        return;
      }
      this.position += chunk.length;
    }
    this.onChunk(chunk);
    const paced = this.pace?.(chunk.length);
    if (paced) paced.then(() => callback(), callback);
    else callback();
  }
}
