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

/**
 * Data slower than 1/CRAWL_SHARE of the best mirror's figure, for a whole stall timeout, is
 * stalled; the floor never exceeds CRAWL_CAP bytes/s, so that an old figure from a faster day
 * cannot fail an honest slow link.
 */
export const CRAWL_SHARE = 100;
export const CRAWL_CAP = 32 * 1024;

/** The slowloris floor for a transfer, given the best figure of any mirror. */
export function crawlFloor(bestThroughput: number): number {
  return Math.min(CRAWL_CAP, bestThroughput / CRAWL_SHARE);
}

/**
 * A slowloris floor: data that keeps trickling in defeats a silence limit, so a transfer whose
 * rate over the last `windowMs` stays under `bytesPerSecond()` counts as stalled too.
 */
export interface RateFloor {
  bytesPerSecond: () => number;
  windowMs: number;
}

export class StallWatchdog {
  private readonly startedAt = performance.now();
  private lastByteAt = this.startedAt;
  /** Bytes fed so far, and (time, bytes) once per check: the window the floor is judged over. */
  private bytes = 0;
  private readonly marks: { at: number; bytes: number }[] = [];
  private firstByteAt = 0;
  private chunks = 0;
  private peakGapMs = 0;
  private readonly timer: NodeJS.Timeout;
  fired = false;

  constructor(
    private readonly limits: StallLimits,
    private readonly onStall: (silentMs: number) => void,
    private readonly floor?: RateFloor,
    /** Called instead of onStall when the rate stayed under the floor: the rate, bytes/s. */
    private readonly onCrawl?: (rate: number, floor: number) => void,
  ) {
    const tick = Math.max(50, Math.min(250, limits.floorMs / 8));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  /** Bytes arrived. */
  feed(n = 0): void {
    this.bytes += n;
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
    const now = performance.now();
    const silent = now - this.lastByteAt;
    if (!this.fired && silent >= this.limitMs()) {
      this.fired = true;
      this.stop();
      this.onStall(silent);
      return;
    }
    if (!this.floor || this.fired) return;
    this.marks.push({ at: now, bytes: this.bytes });
    while (this.marks.length > 1 && now - this.marks[1]!.at >= this.floor.windowMs) this.marks.shift();
    const oldest = this.marks[0]!;
    if (now - this.startedAt < this.floor.windowMs || now - oldest.at < this.floor.windowMs) return;
    const rate = (this.bytes - oldest.bytes) / ((now - oldest.at) / 1000);
    const floor = this.floor.bytesPerSecond();
    if (rate < floor) {
      this.fired = true;
      this.stop();
      this.onCrawl?.(rate, floor);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
