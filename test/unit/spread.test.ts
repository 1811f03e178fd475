// The spread of files over mirrors while several run at once: the order the ranked policy gives
// when the director has transfers under way, and the director's count of them.

import { describe, expect, it } from 'vitest';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { Director, type Request } from '../../src/director/director.js';
import { rankedPolicy, type RankContext } from '../../src/director/policies.js';
import { emptyStats, type StatsBook } from '../../src/director/stats.js';

function mirror(name: string, maxConnections = 4): MirrorSpec {
  return { name, url: `ftp://${name}/`, protocol: 'ftp', host: name, port: 21, basePath: '/', maxConnections };
}
const [A, B, C] = [mirror('a'), mirror('b'), mirror('c')];

function stats(rates: Record<string, number>): StatsBook {
  return Object.fromEntries(Object.entries(rates).map(([name, throughput]) => [name, { ...emptyStats(), throughput, samples: 4, weight: 4 }]));
}

function ctx(rates: Record<string, number>, load: Record<string, number>, extra: Partial<RankContext> = {}): RankContext {
  return { stats: stats(rates), now: 0, random: () => 0.5, probing: true, age: () => 0, load, ...extra };
}

const order = (c: RankContext, mirrors = [A, B, C]) => rankedPolicy.rank(mirrors, c).map((m) => m.name);

describe('spread (transfers under way)', () => {
  it('an idle mirror takes the next file before a busy one twice as fast', () => {
    expect(order(ctx({ a: 4e6, b: 2e6, c: 1e6 }, { a: 2, b: 0, c: 0 }))).toEqual(['b', 'a', 'c']);
    expect(order(ctx({ a: 4e6, b: 2e6, c: 1e6 }, { a: 1, b: 0, c: 0 }))).toEqual(['a', 'b', 'c']);
  });

  it('a mirror whose max_connections are in use goes after the others, however fast', () => {
    expect(order(ctx({ a: 4e6, b: 1e6, c: 1e6 }, { a: 2, b: 3, c: 5 }), [mirror('a', 2), mirror('b', 4), mirror('c', 4)])[0]).toBe('b');
  });

  it('the last mirror stays first only while it costs little more than the best', () => {
    expect(order(ctx({ a: 4e6, b: 4e6, c: 1e6 }, { a: 1, b: 0, c: 0 }, { lastMirror: 'a' }))[0]).toBe('b');
    expect(order(ctx({ a: 4e6, b: 3.5e6, c: 1e6 }, { a: 0, b: 0, c: 1 }, { lastMirror: 'b' }))[0]).toBe('b');
  });

  it('unmeasured mirrors count as fast as the best known, and cooling ones go last', () => {
    const c = ctx({ a: 4e6 }, { a: 1 });
    c.stats.c = { ...emptyStats(), cooldownUntil: 1e12 };
    expect(order(c)).toEqual(['b', 'a', 'c']);
  });

  it('the director counts its transfers under way per mirror, and spreads concurrent requests', async () => {
    const director = new Director({ mirrors: [A, B, C], policy: rankedPolicy, maxProbes: 0, random: () => 0.3 });
    for (const [name, throughput] of Object.entries({ a: 4e6, b: 2e6, c: 1e6 })) director.stats[name] = { ...emptyStats(), throughput, samples: 4, weight: 4 };
    const release: (() => void)[] = [];
    const served: string[] = [];
    const request = (): Request<string> => ({
      what: 'f',
      async action(m) {
        served.push(m.name);
        await new Promise<void>((resolve) => release.push(resolve));
        return m.name;
      },
      cleanup() {},
    });
    const runs = Array.from({ length: 6 }, () => director.apply(request()));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Costs per byte: a 1/4, 2/4, 3/4, 4/4; b 1/2, 2/2; c 1/1: the six cheapest slots.
    expect(served.filter((m) => m === 'a').length).toBeGreaterThanOrEqual(3);
    expect(served.filter((m) => m === 'b').length).toBeGreaterThanOrEqual(1);
    expect(served).toHaveLength(6);
    expect(director.context().load).toEqual({ a: served.filter((m) => m === 'a').length, b: served.filter((m) => m === 'b').length, ...(served.includes('c') ? { c: 1 } : {}) });
    for (const r of release) r();
    await Promise.all(runs);
    expect(Object.values(director.context().load!).every((n) => n === 0)).toBe(true);
  });
});
