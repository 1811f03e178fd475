// A rate measured over the last few seconds of a growing count, falling when the count stops.

const WINDOW_MS = 5000;
/** Less than this much time seen and the rate is not known yet. */
const MIN_SPAN_MS = 1000;

export class RateWindow {
  private samples: { at: number; value: number }[] = [];

  add(at: number, value: number): void {
    this.samples.push({ at, value });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
  }

  /** Per second, from the oldest sample kept to now; undefined until a second has been seen. */
  rate(now: number): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || now - first.at < MIN_SPAN_MS) return undefined;
    return ((last.value - first.value) * 1000) / (now - first.at);
  }

  reset(): void {
    this.samples = [];
  }
}
