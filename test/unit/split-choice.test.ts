// The automatic split (get without -s): which files go in ranges, over which mirrors, and why.

import { describe, expect, it } from 'vitest';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { AUTO_SPLIT_MAX, SPLIT_MIN_BYTES, chooseSplit } from '../../src/director/split-choice.js';
import { emptyStats, type MirrorStats, type StatsBook } from '../../src/director/stats.js';

function mirror(name: string): MirrorSpec {
  return { name, url: `ftp://${name}/`, protocol: 'ftp', host: name, port: 21, basePath: '/', maxConnections: 4 };
}
const measured = (throughput: number, extra: Partial<MirrorStats> = {}): MirrorStats => ({ ...emptyStats(), throughput, samples: 4, weight: 4, ...extra });
const NOW = 1_000_000;

async function choose(book: StatsBook, size: number | 'unknown' = SPLIT_MIN_BYTES, names = Object.keys(book)) {
  let asked = 0;
  const choice = await chooseSplit(names.map(mirror), book, NOW, async () => {
    asked++;
    return size === 'unknown' ? undefined : size;
  });
  return { ...choice, asked };
}

describe('chooseSplit', () => {
  it('splits a file of the threshold over the mirrors within half of the best, best first', async () => {
    const c = await choose({ a: measured(4e6), b: measured(8e6), c: measured(4.1e6), d: measured(3.9e6) });
    expect(c).toMatchObject({ ranges: 3, mirrors: ['b', 'c', 'a'], asked: 1 });
    expect(c.reason).toBe('20.0 MiB in ranges from b, c, a, measured within 50 % of the best (d at 49 % of the best)');
  });

  it('keeps one mirror at a time under the threshold', async () => {
    const c = await choose({ a: measured(4e6), b: measured(4e6) }, SPLIT_MIN_BYTES - 1);
    expect(c).toMatchObject({ ranges: 1, mirrors: [] });
    expect(c.reason).toBe('one mirror at a time: 20.0 MiB, under the 20.0 MiB worth splitting');
  });

  it('does not ask the size, nor split, without two good mirrors: unmeasured, cooling down or failing ones do not count', async () => {
    const none = await choose({}, 'unknown', ['a', 'b']);
    expect(none).toMatchObject({ ranges: 1, asked: 0, reason: 'one mirror at a time: no mirror measured good to share it (a not measured, b not measured)' });
    const book = { a: measured(4e6), b: measured(9e6, { cooldownUntil: NOW + 1 }), c: measured(9e6, { failures: ['broken'] }), d: measured(0) };
    const c = await choose(book);
    expect(c).toMatchObject({ ranges: 1, asked: 0 });
    expect(c.reason).toBe('one mirror at a time: only a measured good to share it (b cooling down, c failed since its last success, d not measured)');
  });

  it('keeps one mirror at a time when no mirror says the size', async () => {
    expect(await choose({ a: measured(4e6), b: measured(4e6) }, 'unknown')).toMatchObject({ ranges: 1, asked: 1, reason: 'one mirror at a time: no mirror said its size' });
  });

  it(`uses at most ${AUTO_SPLIT_MAX} mirrors`, async () => {
    const book = Object.fromEntries(Array.from({ length: AUTO_SPLIT_MAX + 2 }, (_, i) => [`m${i}`, measured(5e6 - i)]));
    expect((await choose(book)).ranges).toBe(AUTO_SPLIT_MAX);
  });
});
