// The Writable that basic-ftp downloads into. It hands each chunk over synchronously (written to
// disk or kept in memory by the caller) and never applies backpressure of its own, so "no bytes
// arrived" always means the server is silent; only an explicit throttle (the benchmark's client
// link) delays the next read.

import { Writable } from 'node:stream';

export type Throttle = (bytes: number) => Promise<void> | void;

export class ByteSink extends Writable {
  /**
   * The transfer was stopped on purpose (its data connection closed): being torn down then is no
   * error. basic-ftp closes the control connection on any error of the destination.
   */
  stoppedOnPurpose = false;

  constructor(
    /** Takes every chunk; a throw (a local write failure) fails the transfer. */
    private readonly consume: (chunk: Buffer) => void,
    private readonly throttle?: Throttle,
  ) {
    super();
  }

  get throttled(): boolean {
    return this.throttle !== undefined;
  }

  /**
   * Bytes read outside the stream (direct-read.ts): handed over the same way; the chunk is a view
   * of a reused buffer, valid only during the call. A throw fails the transfer as _write's would.
   */
  deliver(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    try {
      this.consume(chunk);
      return true;
    } catch (error) {
      this.destroy(error as Error);
      return false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    callback(this.stoppedOnPurpose ? null : error);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.consume(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    const paced = this.throttle?.(chunk.length);
    if (paced) paced.then(() => callback(), callback);
    else callback();
  }
}
