// Stall detection for a data transfer: if no byte arrives for `limitMs()` the transfer is given up.
// basic-ftp's own timeout does this too, but it also closes the control connection on the slightest
// idle and cannot tell us it was a stall; ours fires first and says so.

export class StallWatchdog {
  private lastByteAt = performance.now();
  private readonly timer: NodeJS.Timeout;
  fired = false;

  constructor(
    /** The current limit in ms; a function so that an adaptive limit can follow the transfer. */
    private readonly limitMs: () => number,
    private readonly onStall: (silentMs: number) => void,
  ) {
    const tick = Math.max(50, Math.min(250, limitMs() / 8));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  /** Bytes arrived. */
  feed(): void {
    this.lastByteAt = performance.now();
  }

  silentMs(): number {
    return performance.now() - this.lastByteAt;
  }

  private check(): void {
    const silent = this.silentMs();
    if (!this.fired && silent >= this.limitMs()) {
      this.fired = true;
      this.stop();
      this.onStall(silent);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
