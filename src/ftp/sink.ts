// Where a transfer's bytes go: positional synchronous writes into the partial file. Measured here
// (shared/research/node-ftp.md) this is about 1.5x faster than basic-ftp's own file stream, and it
// never applies backpressure, so "no bytes arrived" always means the server is silent.

import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { localFault } from './partial.js';
import type { LocalError } from '../director/errors.js';

export class FileSink extends Writable {
  /** Set when writing to disk failed (disk full...): the run must stop, not fail over. */
  localError: LocalError | undefined;
  private position: number;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly path: string,
    private readonly onBytes: (n: number) => void,
    /** Optional pacing after each write (the benchmark's client link): delays the next read. */
    private readonly pace?: (n: number) => Promise<void> | void,
  ) {
    super();
    this.position = start;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      let done = 0;
      while (done < chunk.length) {
        done += writeSync(this.fd, chunk, done, chunk.length - done, this.position + done);
      }
      this.position += chunk.length;
      this.onBytes(chunk.length);
    } catch (error) {
      this.localError = localFault(error, this.path);
      callback(this.localError);
      return;
    }
    const paced = this.pace?.(chunk.length);
    if (paced) paced.then(() => callback(), callback);
    else callback();
  }
}
