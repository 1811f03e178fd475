// --limit-rate: the client's own cap on what it receives, over all its transfers, as curl's and
// wget's options do. A token bucket: reads pause once the bytes taken run ahead of the rate, so
// TCP's flow control slows the server down.

/** Bytes the bucket may hold: short bursts pass, a long run keeps to the rate. */
const BURST_SECONDS = 0.25;

export class RateLimit {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond * BURST_SECONDS;
  }

  /** Resolves once `n` bytes fit under the rate (at once while tokens last). */
  take(n: number): Promise<void> | void {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSecond * BURST_SECONDS, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= n;
    if (this.tokens >= 0) return;
    const waitMs = (-this.tokens / this.bytesPerSecond) * 1000;
    return new Promise((resolve) => setTimeout(resolve, waitMs).unref());
  }
}
