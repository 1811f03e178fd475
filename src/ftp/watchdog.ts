// Stall detection for a data transfer. basic-ftp's own timeout does this too, but it cannot tell us
// it was a stall and its limit is fixed; ours fires first and adapts.
//
// Adaptive limit: a fixed timeout (aria2's and curl's way) must be long enough for the slowest
// mirror, so a fast mirror that stops is noticed late. Once a transfer has delivered steadily, we
// know its usual gap between chunks: silence for GAP_FACTOR times the longest recent gap means the
// mirror stopped. The limit never goes below `floorMs` (a busy machine pauses too) nor above the
// configured timeout, which also applies before the first steady second.

export interface StallLimits {
  /** The configured stall timeout (the ceiling), ms. */
  ceilingMs: number;
  /** The adaptive limit's floor, ms; set equal to ceilingMs for a fixed limit. */
  floorMs: number;
}

/** Silence this many times the longest recent gap between chunks is a stall. */
export const GAP_FACTOR = 10;
/** Data must have flowed this long, in this many chunks, before the gaps are trusted. */
const STEADY_MS = 1000;
const STEADY_CHUNKS = 16;
/** The remembered longest gap decays by this factor per chunk, so an early hiccup fades. */
const PEAK_DECAY = 0.98;

export class StallWatchdog {
  private lastByteAt = performance.now();
  private firstByteAt = 0;
  private chunks = 0;
  private peakGapMs = 0;
  private readonly timer: NodeJS.Timeout;
  fired = false;

  constructor(
    private readonly limits: StallLimits,
    private readonly onStall: (silentMs: number) => void,
  ) {
    const tick = Math.max(50, Math.min(250, limits.floorMs / 8));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  /** Bytes arrived. */
  feed(): void {
    const now = performance.now();
    if (this.chunks === 0) this.firstByteAt = now;
    else this.peakGapMs = Math.max(now - this.lastByteAt, this.peakGapMs * PEAK_DECAY);
    this.chunks++;
    this.lastByteAt = now;
  }

  /** The silence that counts as a stall right now, ms. */
  limitMs(): number {
    const { ceilingMs, floorMs } = this.limits;
    const steady = this.chunks >= STEADY_CHUNKS && this.lastByteAt - this.firstByteAt >= STEADY_MS;
    if (!steady) return ceilingMs;
    return Math.min(ceilingMs, Math.max(floorMs, GAP_FACTOR * this.peakGapMs));
  }

  private check(): void {
    const silent = performance.now() - this.lastByteAt;
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
