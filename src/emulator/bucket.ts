// The global performance clock (not perf_hooks'), so a test can run the link on a fake clock.

/** How much lag (in seconds of link time) queued transfers may make up for. */
const CATCH_UP_S = 0.25;

interface Waiter {
  n: number;
  resolve: (granted: boolean) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Token bucket shared by all data connections of one emulated mirror.
 *
 * Waiters are served strictly FIFO, so concurrent transfers share the link fairly. An idle bucket
 * holds at most `capacity` (the burst). While transfers wait, it may hold up to CATCH_UP_S of
 * rate instead, so a late timer (event-loop lag) does not cost link capacity, yet a process that
 * was stopped for seconds does not flood the link when it resumes.
 */
export class TokenBucket {
  private rate: number | undefined;
  private tokens: number;
  private last = performance.now();
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    rate: number | undefined,
    readonly capacity = 32 * 1024,
  ) {
    this.rate = rate;
    this.tokens = capacity;
  }

  get limited(): boolean {
    return this.rate !== undefined;
  }

  setRate(rate: number | undefined): void {
    this.refill();
    this.rate = rate;
    this.clearTimer();
    if (rate === undefined) this.releaseAll(true);
    else this.pump();
  }

  /** Resolves true once n tokens are granted, false if signal aborted first. */
  async take(n: number, signal?: AbortSignal): Promise<boolean> {
    // More than a burst is paid in burst-sized parts, or it could never be granted.
    for (; n > this.capacity; n -= this.capacity) {
      if (!(await this.takeSome(this.capacity, signal))) return false;
    }
    return this.takeSome(n, signal);
  }

  private takeSome(n: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.rate === undefined) return Promise.resolve(true);
    this.refill();
    if (this.queue.length === 0 && this.tokens >= n) {
      this.tokens -= n;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { n, resolve, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          resolve(false);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.schedule();
    });
  }

  /** Drops the timer and fails every waiter; used by close()/kill(). */
  dispose(): void {
    this.clearTimer();
    this.releaseAll(false);
  }

  private refill(): void {
    const now = performance.now();
    if (this.rate !== undefined) {
      const cap = this.queue.length === 0 ? this.capacity : Math.max(this.capacity, this.rate * CATCH_UP_S);
      this.tokens = Math.min(cap, this.tokens + ((now - this.last) * this.rate) / 1000);
    }
    this.last = now;
  }

  private pump(): void {
    this.refill();
    for (let w = this.queue[0]; w !== undefined && this.tokens >= w.n; w = this.queue[0]) {
      this.tokens -= w.n;
      this.queue.shift();
      this.settle(w, true);
    }
    this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer !== undefined || head === undefined || this.rate === undefined) return;
    const ms = Math.max(1, Math.ceil(((head.n - this.tokens) * 1000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private releaseAll(granted: boolean): void {
    for (const w of this.queue.splice(0)) this.settle(w, granted);
  }

  private settle(w: Waiter, granted: boolean): void {
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(granted);
  }
}
