// Times the data phase of one transfer, for the mirror's throughput figure.

import { performance } from 'node:perf_hooks';

/**
 * From the first chunk to the last one, not to the server's 226 reply: that reply comes a round
 * trip later, and on a short transfer the round trip weighs (a 128 KiB probe of a 10 MB/s mirror
 * 10 ms away read 5.5-6.2 MB/s when timed to the reply). The first chunk's bytes are left out of
 * the figure, since its own transfer time is not in the interval.
 */
export class DataPhase {
  received = 0;
  /** performance.now() of the first chunk (0 before it). */
  firstAt = 0;
  private lastAt = 0;
  private firstBytes = 0;

  add(n: number, now = performance.now()): void {
    if (this.received === 0) {
      this.firstAt = now;
      this.firstBytes = n;
    }
    this.received += n;
    this.lastAt = now;
  }

  /** The bytes and seconds to rate the mirror by. */
  sample(): { bytes: number; seconds: number } {
    return { bytes: this.received - this.firstBytes, seconds: (this.lastAt - this.firstAt) / 1000 };
  }
}
