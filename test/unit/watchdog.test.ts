// StallWatchdog on a fake clock: the fixed limit, the adaptive one between its floor and ceiling,
// firing once, and stop().

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GAP_FACTOR, StallWatchdog, type StallLimits } from '../../src/ftp/watchdog.js';

/** The watchdog looks every max(50, min(250, floor / 8)) ms: it fires within one look of its limit. */
const look = (limits: StallLimits) => Math.max(50, Math.min(250, limits.floorMs / 8));

function watch(limits: StallLimits) {
  const stalls: number[] = [];
  const dog = new StallWatchdog(limits, (silentMs) => stalls.push(silentMs));
  return { dog, stalls };
}

/** Chunks every `gapMs` for `count` chunks, on the fake clock. */
function feedSteadily(dog: StallWatchdog, gapMs: number, count: number): void {
  for (let i = 0; i < count; i++) {
    vi.advanceTimersByTime(gapMs);
    dog.feed();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('StallWatchdog: a fixed limit (floor = ceiling)', () => {
  const fixed = { floorMs: 1_000, ceilingMs: 1_000 };

  it('fires once silence reaches the limit, within one look, and reports the silence', () => {
    const { dog, stalls } = watch(fixed);
    vi.advanceTimersByTime(999);
    expect(stalls).toEqual([]);
    expect(dog.fired).toBe(false);
    vi.advanceTimersByTime(look(fixed));
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(1_000);
    expect(stalls[0]).toBeLessThan(1_000 + look(fixed));
    expect(dog.fired).toBe(true);
  });

  it('counts silence from the last chunk: steady chunks keep it quiet however long', () => {
    const { dog, stalls } = watch(fixed);
    feedSteadily(dog, 900, 20); // 18 s in all, never 1 s without a chunk
    expect(stalls).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(stalls).toEqual([]);
    vi.advanceTimersByTime(look(fixed));
    expect(stalls).toHaveLength(1);
  });

  it('does not shorten with steady delivery', () => {
    const { dog } = watch(fixed);
    feedSteadily(dog, 10, 200);
    expect(dog.limitMs()).toBe(1_000);
    dog.stop();
  });

  it('fires only once, however long the silence lasts', () => {
    const { stalls } = watch(fixed);
    vi.advanceTimersByTime(10_000);
    expect(stalls).toHaveLength(1);
  });

  it('stop() before the limit: it never fires', () => {
    const { dog, stalls } = watch(fixed);
    vi.advanceTimersByTime(500);
    dog.stop();
    vi.advanceTimersByTime(10_000);
    expect(stalls).toEqual([]);
    expect(dog.fired).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('StallWatchdog: the adaptive limit', () => {
  const limits = { floorMs: 500, ceilingMs: 10_000 };

  it('is the ceiling until data has flowed steadily: 16 chunks over at least a second', () => {
    const { dog } = watch(limits);
    expect(dog.limitMs()).toBe(10_000);
    dog.feed();
    feedSteadily(dog, 10, 30); // many chunks, but only 0.3 s
    expect(dog.limitMs()).toBe(10_000);
    const slow = watch(limits).dog;
    slow.feed();
    feedSteadily(slow, 100, 14); // 1.4 s, but 15 chunks
    expect(slow.limitMs()).toBe(10_000);
    feedSteadily(slow, 100, 1);
    expect(slow.limitMs()).toBe(GAP_FACTOR * 100);
    dog.stop();
    slow.stop();
  });

  it('is GAP_FACTOR times the longest recent gap once steady, not below the floor nor above the ceiling', () => {
    const gapped = (gapMs: number) => {
      const { dog } = watch(limits);
      dog.feed();
      feedSteadily(dog, gapMs, Math.max(16, Math.ceil(1_000 / gapMs)));
      dog.stop();
      return dog.limitMs();
    };
    expect(gapped(120)).toBe(GAP_FACTOR * 120);
    expect(gapped(10)).toBe(500); // 100 ms would be too quick for a busy machine: the floor
    expect(gapped(2_000)).toBe(10_000); // 20 s: the ceiling
  });

  it('fires at the adaptive limit after steady delivery, long before the ceiling', () => {
    const { dog, stalls } = watch(limits);
    dog.feed();
    feedSteadily(dog, 80, 20);
    expect(dog.limitMs()).toBe(800);
    vi.advanceTimersByTime(799);
    expect(stalls).toEqual([]);
    vi.advanceTimersByTime(look(limits));
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(800);
  });

  it('lets an early hiccup fade: the longest gap decays chunk by chunk', () => {
    const { dog } = watch(limits);
    dog.feed();
    feedSteadily(dog, 20, 60);
    vi.advanceTimersByTime(300); // one pause of 300 ms
    dog.feed();
    expect(dog.limitMs()).toBe(GAP_FACTOR * 300);
    feedSteadily(dog, 20, 30);
    const after30 = dog.limitMs();
    expect(after30).toBeLessThan(GAP_FACTOR * 300);
    expect(after30).toBeGreaterThan(GAP_FACTOR * 20);
    feedSteadily(dog, 20, 200);
    expect(dog.limitMs()).toBe(500); // back at the floor
    dog.stop();
  });
});
