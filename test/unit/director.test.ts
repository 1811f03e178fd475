// The director's apply loop and its policies, with requests that are not FTP at all (the paper's
// director serves telnet and chat too): what matters here is the order and the bookkeeping.

import { describe, expect, it } from 'vitest';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { Director, PROBE_RETEST_SHARE, RETEST_MIN, RETEST_SPREAD, type Request } from '../../src/director/director.js';
import { AllMirrorsFailed, Interrupted, RequestError, type ErrorKind } from '../../src/director/errors.js';
import { LEAVE_DAMPING, orderedPolicy, randomPolicy, rankedPolicy, RETEST_FLOOR, type RankContext } from '../../src/director/policies.js';
import { emptyStats, recordFailure, recordThroughput, type StatsBook } from '../../src/director/stats.js';

function mirror(name: string): MirrorSpec {
  return { name, url: `ftp://${name}/`, protocol: 'ftp', host: name, port: 21, basePath: '/', maxConnections: 2 };
}
const A = mirror('a');
const B = mirror('b');
const C = mirror('c');

/** A seeded generator (mulberry32) so that random choices repeat. */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** A request whose outcome per mirror is scripted: a kind fails, 'ok' succeeds. */
function scripted(outcomes: Record<string, (ErrorKind | 'ok' | Error)[]>, log: string[], progress?: { value: number }): Request<string> {
  return {
    what: 'thing',
    async action(m) {
      const next = outcomes[m.name]?.shift() ?? 'ok';
      log.push(`action ${m.name}`);
      if (next instanceof Error) throw next;
      if (next === 'ok') return `from ${m.name}`;
      if (progress) progress.value += 1;
      throw new RequestError(next, `${next} on ${m.name}`);
    },
    cleanup(m, e) {
      log.push(`cleanup ${m.name} ${e.kind}`);
    },
    progress: progress ? () => progress.value : undefined,
  };
}

describe('Director.apply', () => {
  it('tries the next mirror after cleanup, and returns the first success', async () => {
    const log: string[] = [];
    const d = new Director({ mirrors: [A, B, C], policy: orderedPolicy });
    await expect(d.apply(scripted({ a: ['busy'], b: ['stalled'] }, log))).resolves.toBe('from c');
    expect(log).toEqual(['action a', 'cleanup a busy', 'action b', 'cleanup b stalled', 'action c']);
    expect(d.lastMirror).toBe('c');
    expect(d.stats.a!.failures).toEqual(['busy']);
    expect(d.stats.c!.lastSuccess).toBeGreaterThan(0);
  });

  it('rejects with AllMirrorsFailed listing every attempt', async () => {
    const d = new Director({ mirrors: [A, B], policy: orderedPolicy });
    const error = await d.apply(scripted({ a: ['unreachable'], b: ['missing'] }, [])).catch((e) => e);
    expect(error).toBeInstanceOf(AllMirrorsFailed);
    expect((error as AllMirrorsFailed).attempts).toEqual([
      { mirror: 'a', kind: 'unreachable', message: 'unreachable on a' },
      { mirror: 'b', kind: 'missing', message: 'missing on b' },
    ]);
  });

  it('a pass that made progress earns another, up to maxPasses', async () => {
    const log: string[] = [];
    const progress = { value: 0 };
    const d = new Director({ mirrors: [A, B], policy: orderedPolicy, maxPasses: 3 });
    await expect(d.apply(scripted({ a: ['broken', 'broken'], b: ['broken'] }, log, progress))).resolves.toBe('from b');
    expect(log.filter((l) => l.startsWith('action'))).toEqual(['action a', 'action b', 'action a', 'action b']);
  });

  it('stops after one pass when nothing moved', async () => {
    const log: string[] = [];
    const d = new Director({ mirrors: [A, B], policy: orderedPolicy, maxPasses: 3 });
    const r = scripted({ a: ['busy', 'busy'], b: ['busy', 'busy'] }, log);
    r.progress = () => 0;
    await expect(d.apply(r)).rejects.toBeInstanceOf(AllMirrorsFailed);
    expect(log.filter((l) => l.startsWith('action'))).toHaveLength(2);
  });

  it('a local error is not a mirror fault: it stops the director at once', async () => {
    const log: string[] = [];
    const d = new Director({ mirrors: [A, B], policy: orderedPolicy });
    await expect(d.apply(scripted({ a: [new Error('disk full')] }, log))).rejects.toThrow('disk full');
    expect(log).toEqual(['action a']);
  });

  it('an aborted signal ends the request as Interrupted, blaming no mirror', async () => {
    const controller = new AbortController();
    const d = new Director({ mirrors: [A, B], policy: orderedPolicy, signal: controller.signal });
    const request: Request<string> = {
      what: 'x',
      async action() {
        controller.abort();
        throw new RequestError('broken', 'closed by user');
      },
      cleanup() {},
    };
    await expect(d.apply(request)).rejects.toBeInstanceOf(Interrupted);
    expect(d.stats.a?.failures ?? []).toEqual([]);
    expect(d.stats.a?.cooldownUntil ?? 0).toBe(0);
  });
});

describe('exploration', () => {
  it('probes unmeasured mirrors other than the one serving the request, at most maxProbes at once', async () => {
    const probed: string[] = [];
    const served: string[] = [];
    const D = mirror('d');
    const director = new Director({ mirrors: [A, B, C, D], policy: rankedPolicy, maxProbes: 2, random: seeded(5) });
    const request: Request<string> = {
      what: 'x',
      async action(m, _signal, meter) {
        served.push(m.name);
        meter.transferred(2 << 20, 1);
        return m.name;
      },
      cleanup() {},
      async probe(m, _signal, meter) {
        probed.push(m.name);
        meter.transferred(2 << 20, 2);
      },
    };
    await director.apply(request);
    await director.settle();
    expect(probed).toHaveLength(2);
    expect(probed).not.toContain(served[0]);
    // The next request explores the one mirror still unmeasured; measured ones are not probed again.
    await director.apply(request);
    await director.settle();
    expect(probed).toHaveLength(3);
    expect(new Set([...probed, served[0]])).toEqual(new Set(['a', 'b', 'c', 'd']));
  });

  it("probes start once the request's data flows, not while it is still logging in", async () => {
    const probed: string[] = [];
    const log: string[] = [];
    let flow!: () => void;
    const flowing = new Promise<void>((resolve) => (flow = resolve));
    const director = new Director({ mirrors: [A, B, C], policy: rankedPolicy, maxProbes: 2, random: seeded(3) });
    const request: Request<string> = {
      what: 'x',
      async action(m, _signal, meter) {
        log.push(`login ${m.name}: ${probed.length} probes`);
        await flowing;
        meter.flowing();
        log.push(`flowing: ${probed.length} probes`);
        meter.transferred(2 << 20, 1);
        return m.name;
      },
      cleanup() {},
      async probe(m) {
        probed.push(m.name);
      },
    };
    const applied = director.apply(request);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(probed).toEqual([]);
    flow();
    const served = await applied;
    await director.settle();
    expect(log).toEqual([`login ${served}: 0 probes`, 'flowing: 2 probes']);
    expect(new Set([...probed, served])).toEqual(new Set(['a', 'b', 'c']));
  });

  it('an attempt that fails before any data flows still lets the probes start', async () => {
    const probed: string[] = [];
    const director = new Director({ mirrors: [A, B, C], policy: rankedPolicy, maxProbes: 2, random: seeded(3) });
    let attempts = 0;
    const request: Request<string> = {
      what: 'x',
      async action(m) {
        if (attempts++ === 0) throw new RequestError('busy', `421 from ${m.name}`);
        return m.name;
      },
      cleanup() {},
      async probe(m) {
        probed.push(m.name);
      },
    };
    await director.apply(request);
    await director.settle();
    expect(probed.length).toBeGreaterThan(0);
  });

  it('ordered and random never probe', async () => {
    for (const policy of [orderedPolicy, randomPolicy]) {
      let probes = 0;
      const director = new Director({ mirrors: [A, B], policy });
      await director.apply({ what: 'x', action: async () => 'ok', cleanup() {}, probe: async () => void probes++ });
      await director.settle();
      expect(probes).toBe(0);
    }
  });
});

describe('policies', () => {
  const ctx = (stats: StatsBook, extra: Partial<RankContext> = {}): RankContext => ({ stats, now: 1_000_000, random: seeded(42), ...extra });
  const names = (ms: MirrorSpec[]) => ms.map((m) => m.name).join('');

  it('ordered keeps certificate order, with mirrors in cooldown last', () => {
    const stats: StatsBook = { a: emptyStats() };
    recordFailure(stats.a!, 'unreachable', 1_000_000);
    expect(names(orderedPolicy.rank([A, B, C], ctx({})))).toBe('abc');
    expect(names(orderedPolicy.rank([A, B, C], ctx(stats)))).toBe('bca');
  });

  it('random is a permutation that depends only on the generator', () => {
    const orders = new Set<string>();
    const random = seeded(7);
    for (let i = 0; i < 200; i++) orders.add(names(randomPolicy.rank([A, B, C], { stats: {}, now: 0, random })));
    expect(orders.size).toBe(6); // every order occurs
    expect(names(randomPolicy.rank([A, B, C], ctx({})))).toBe(names(randomPolicy.rank([A, B, C], ctx({}))));
  });

  it('ranked puts unmeasured mirrors first (exploration), then the fastest', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 4, 0); // 1 MiB/s
    recordThroughput(stats.b!, 4 << 20, 1, 0); // 4 MiB/s
    expect(names(rankedPolicy.rank([A, B, C], ctx(stats)))).toBe('cba');
  });

  it('ranked keeps affinity while the last mirror is within the margin, then moves', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1.1, 0); // ~3.6 MiB/s, within 80 % of b
    recordThroughput(stats.b!, 4 << 20, 1, 0);
    // Both are in the near-best band; affinity decides, whichever served last.
    for (let seed = 1; seed <= 10; seed++) {
      expect(names(rankedPolicy.rank([A, B], ctx(stats, { lastMirror: 'a', random: seeded(seed) })))).toBe('ab');
      expect(names(rankedPolicy.rank([A, B], ctx(stats, { lastMirror: 'b', random: seeded(seed) })))).toBe('ba');
    }
    stats.a!.throughput = 1 << 20; // far below b now: a quarter
    // The first time, a client leaves with probability LEAVE_DAMPING x (1 - 1/4); the next time, for sure.
    let moved = 0;
    for (let seed = 1; seed <= 400; seed++) if (names(rankedPolicy.rank([A, B], ctx(stats, { lastMirror: 'a', random: seeded(seed) })))[0] === 'b') moved++;
    expect(moved / 400).toBeGreaterThan(LEAVE_DAMPING * 0.75 - 0.08);
    expect(moved / 400).toBeLessThan(LEAVE_DAMPING * 0.75 + 0.08);
    for (let seed = 1; seed <= 20; seed++) {
      expect(names(rankedPolicy.rank([A, B], ctx(stats, { lastMirror: 'a', hesitated: true, random: seeded(seed) })))).toBe('ba');
    }
  });

  it('a stale figure never moves the client by itself, only through a re-test', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 4, 0); // 1 MiB/s, the last mirror
    recordThroughput(stats.b!, 4 << 20, 1, 0); // 4 MiB/s, but measured 5 requests ago
    const age = (ages: Record<string, number>) => (m: string) => ages[m] ?? 0;
    for (let seed = 1; seed <= 20; seed++) {
      const stale = { lastMirror: 'a', random: seeded(seed), age: age({ b: 5 }) };
      expect(names(rankedPolicy.rank([A, B], ctx(stats, { ...stale, hesitated: true })))).toBe('ab');
      // 5 x (4/1)^2 = 80: long overdue for a re-test.
      expect(names(rankedPolicy.rank([A, B], ctx(stats, { ...stale, retestAt: 7 })))).toBe('ba');
    }
  });

  it('ranked puts a mirror in cooldown last even if it was fastest', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 0.5, 0);
    recordThroughput(stats.b!, 4 << 20, 1, 0);
    recordFailure(stats.a!, 'stalled', 1_000_000);
    expect(names(rankedPolicy.rank([A, B], ctx(stats, { lastMirror: 'a' })))).toBe('ba');
    expect(names(rankedPolicy.rank([A, B], ctx(stats, { now: 1_000_000 + 31_000 })))).toBe('ab');
  });

  it('ranked with probing sends the request to the best known mirror and leaves the unmeasured to probes', () => {
    const stats: StatsBook = { a: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 4, 0);
    expect(names(rankedPolicy.rank([A, B, C], ctx(stats, { probing: true }))).slice(0, 1)).toBe('a');
    expect(names(rankedPolicy.rank([A, B, C], ctx(stats, { probing: false }))).slice(2)).toBe('a');
  });

  it('ranked shuffles the near-best band (within 75 % of the best), not the rest', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats(), c: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1, 0); // 4 MiB/s
    recordThroughput(stats.b!, 4 << 20, 1.2, 0); // 3.3 MiB/s: near-best
    recordThroughput(stats.c!, 4 << 20, 4, 0); // 1 MiB/s
    const firsts = new Set<string>();
    const random = seeded(11);
    for (let i = 0; i < 40; i++) {
      const order = names(rankedPolicy.rank([A, B, C], { stats, now: 0, random }));
      firsts.add(order[0]!);
      expect(order[2]).toBe('c');
    }
    expect(firsts).toEqual(new Set(['a', 'b']));
  });

  it('a re-test is due when age x (figure / last figure)^2 reaches the threshold: the most overdue goes first', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats(), c: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1, 0); // 4 MiB/s, the last mirror
    recordThroughput(stats.b!, 4 << 20, 2, 0); // 2 MiB/s
    recordThroughput(stats.c!, 4 << 20, 1, 0); // 4 MiB/s
    const rank = (ages: Record<string, number>, retestAt?: number) =>
      names(rankedPolicy.rank([A, B, C], ctx(stats, { lastMirror: 'a', age: (m) => ages[m] ?? 0, retestAt })))[0];
    expect(rank({ b: 30, c: 5 }, 6)).toBe('b'); // 30 x 1/4 = 7.5 beats 5 x 1 = 5
    expect(rank({ b: 20, c: 5 }, 6)).toBe('a'); // 5 and 5: neither due
    expect(rank({ b: 20, c: 6 }, 6)).toBe('c'); // as fast: due after 6; half as fast: after 24
    expect(rank({ b: 24, c: 2 }, 6)).toBe('b');
    expect(rank({ b: 100, c: 100 })).toBe('a'); // no threshold, no re-tests
    // Far slower alternatives (under RETEST_FLOOR of the last mirror) are never worth a file.
    stats.b!.throughput = stats.c!.throughput = (4 << 20) * RETEST_FLOOR * 0.9;
    expect(rank({ b: 10_000, c: 10_000 }, 6)).toBe('a');
  });

  it('after a re-test the client goes back unless the re-tested mirror did at least as well', () => {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1, 0); // 4 MiB/s: where the client came from
    recordThroughput(stats.b!, 4 << 20, 1.2, 0); // 3.3 MiB/s: within the affinity margin, yet worse
    const after = { lastMirror: 'b', retestedFrom: 'a', age: (m: string) => (m === 'a' ? 1 : 0) };
    expect(names(rankedPolicy.rank([A, B], ctx(stats, after)))).toBe('ab');
    stats.b!.throughput = 5 << 20;
    expect(names(rankedPolicy.rank([A, B], ctx(stats, after)))).toBe('ba');
  });

  /**
   * A director that knows a at 4 MiB/s and b, from an earlier run (stale), at 4 MiB in
   * `bStaleSeconds`; each file then measures mirror m at 4 MiB in `secondsOn(m)`.
   */
  function staleB(bStaleSeconds: number, secondsOn: (m: string) => number, seed: number) {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1, 0);
    recordThroughput(stats.b!, 4 << 20, bStaleSeconds, 0);
    const served: string[] = [];
    const director = new Director({ mirrors: [A, B], policy: rankedPolicy, stats, random: seeded(seed), maxProbes: 0 });
    const request: Request<string> = {
      what: 'x',
      async action(m, _signal, meter) {
        served.push(m.name);
        meter.transferred(4 << 20, secondsOn(m.name));
        return m.name;
      },
      cleanup() {},
    };
    return { stats, served, director, request };
  }

  it('the director goes back after a re-test that did worse, at the very next file', async () => {
    // b (3.6 MiB/s when stale, 3.3 when measured) stays within the affinity margin of a, yet it is the slower one.
    const { served, director, request } = staleB(1.1, (m) => (m === 'a' ? 1 : 1.2), 9);
    for (let i = 0; i < 40; i++) await director.apply(request);
    const fromA = served.slice(served.indexOf('a')).join('');
    expect(fromA).toContain('ab'); // b was re-tested...
    expect(fromA).not.toContain('bb'); // ...and left again after one file each time
  });

  it('the director re-tests a stale mirror, lets the fresh figure replace the stale one, and stays if it is better', async () => {
    // b was 2.7 MiB/s in an earlier run; now it is the faster one (8 MiB/s).
    const { stats, served, director, request } = staleB(1.5, (m) => (m === 'a' ? 1 : 0.5), 2);
    for (let i = 0; i < 40; i++) await director.apply(request);
    const firstB = served.indexOf('b');
    // b's age starts at 2 (older than this director) and its weight is (2.7/4)^2 = 0.46, so with a
    // threshold in [RETEST_MIN, RETEST_MIN + RETEST_SPREAD) the re-test comes after 7 to 16 requests on a.
    expect(firstB).toBeGreaterThanOrEqual(Math.ceil(RETEST_MIN / 0.46) - 2);
    expect(firstB).toBeLessThanOrEqual(Math.ceil((RETEST_MIN + RETEST_SPREAD) / 0.46) - 2);
    expect(stats.b!.throughput).toBe(8 << 20); // replaced, not averaged
    // a now looks half as fast: it is re-tested after 16 or more requests on b, and the client comes back.
    expect(served.slice(firstB, firstB + 16)).toEqual(Array(16).fill('b'));
    const backToA = served.indexOf('a', firstB);
    if (backToA >= 0) expect(served[backToA + 1]).toBe('b');
  });

  /** staleB's director with probes: the request can probe, and says whether a probe is free. */
  function staleBProbing(free: boolean, seed: number) {
    const stats: StatsBook = { a: emptyStats(), b: emptyStats() };
    recordThroughput(stats.a!, 4 << 20, 1, 0);
    recordThroughput(stats.b!, 4 << 20, 1.5, 0); // 2.7 MiB/s, from an earlier run
    const served: string[] = [];
    const probed: string[] = [];
    const director = new Director({ mirrors: [A, B], policy: rankedPolicy, stats, random: seeded(seed) });
    const request: Request<string> = {
      what: 'x',
      async action(m, _signal, meter) {
        served.push(m.name);
        meter.flowing();
        meter.transferred(4 << 20, m.name === 'a' ? 1 : 0.5);
        return m.name;
      },
      cleanup() {},
      async probe(m, _signal, meter) {
        probed.push(`${served.length - 1}:${m.name}`);
        meter.transferred(128 << 10, 1 / 64); // b now at 8 MiB/s
      },
      probeIsFree: () => free,
    };
    return { stats, served, probed, director, request };
  }

  it('while probes are free, a re-test is a probe beside the request, which stays on the last mirror', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { stats, served, probed, director, request } = staleBProbing(true, seed);
      for (let i = 0; i < 12; i++) await director.apply(request);
      // b's weight is (2.7/4)^2 = 0.46 and its age 2 at the first request; the threshold is half of
      // [RETEST_MIN, RETEST_MIN + RETEST_SPREAD), 2 to 3.5: the probe runs beside request 3 to 6.
      expect(PROBE_RETEST_SHARE).toBe(0.5);
      expect(probed).toHaveLength(1);
      const at = Number(probed[0]!.split(':')[0]);
      expect(probed[0]).toBe(`${at}:b`);
      expect(at).toBeGreaterThanOrEqual(3);
      expect(at).toBeLessThanOrEqual(6);
      expect(stats.b!.throughput).toBe(8 << 20); // the probe's figure replaced the stale one
      // The request it ran beside stayed on a; the fresh figure moves the client within two requests.
      expect(served.slice(0, at + 1)).toEqual(Array(at + 1).fill('a'));
      expect(served.slice(at + 3)).toEqual(Array(12 - at - 3).fill('b'));
    }
  });

  it('when a probe would not be free (a small file), the re-test moves the request instead', async () => {
    const { served, probed, director, request } = staleBProbing(false, 2);
    for (let i = 0; i < 20; i++) await director.apply(request);
    expect(probed).toEqual([]);
    // The policy's re-test, at the full threshold: 7 to 16 requests on a, then b measured at 8 MiB/s.
    const firstB = served.indexOf('b');
    expect(firstB).toBeGreaterThanOrEqual(Math.ceil(RETEST_MIN / 0.46) - 2);
    expect(firstB).toBeLessThanOrEqual(Math.ceil((RETEST_MIN + RETEST_SPREAD) / 0.46) - 2);
    expect(served.slice(firstB)).toEqual(Array(20 - firstB).fill('b'));
  });

  it('ranked breaks ties at random, so clients spread out', () => {
    const seen = new Set<string>();
    const random = seeded(3);
    for (let i = 0; i < 50; i++) seen.add(names(rankedPolicy.rank([A, B, C], { stats: {}, now: 0, random })).slice(0, 1));
    expect(seen.size).toBe(3);
  });
});
