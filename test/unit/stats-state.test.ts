// Measurements and their persistence.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshot, StateStore, defaultStateDir, serviceFileName } from '../../src/director/state.js';
import { emptyStats, faultMark, forgiveSince, inCooldown, MIN_SAMPLE_BYTES, recordFailure, recordFault, recordSuccess, recordThroughput, rough } from '../../src/director/stats.js';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { tempDir } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;

describe('stats', () => {
  it('ignores transfers too small to say anything about bandwidth', () => {
    const s = emptyStats();
    recordThroughput(s, MIN_SAMPLE_BYTES - 1, 0.001, 1);
    expect(s.samples).toBe(0);
    expect(s.throughput).toBe(0);
  });

  it('starts as a byte-weighted mean, then follows changes as an EWMA', () => {
    const s = emptyStats();
    recordThroughput(s, 4 * MiB, 4, 1); // 1 MiB/s
    recordThroughput(s, 4 * MiB, 1, 2); // 4 MiB/s
    expect(s.throughput).toBeCloseTo(2.5 * MiB, -3); // plain mean of two full-weight samples
    // A small (64 KiB) fast sample moves the figure far less than a big one would.
    const before = s.throughput;
    recordThroughput(s, 64 * 1024, 64 * 1024 / (100 * MiB), 3);
    const smallShift = s.throughput - before;
    const t = emptyStats();
    Object.assign(t, { throughput: before, samples: 2 });
    recordThroughput(t, 4 * MiB, 4 / 100, 3);
    expect(smallShift).toBeLessThan((t.throughput - before) / 4);
    // After many samples at a new speed, the figure converges to it.
    for (let i = 0; i < 30; i++) recordThroughput(s, 4 * MiB, 2, 10 + i);
    expect(s.throughput / (2 * MiB)).toBeGreaterThan(0.97);
  });

  it('cools a failing mirror down for longer with every failure, and a success ends it', () => {
    const s = emptyStats();
    recordFailure(s, 'broken', 0);
    const first = s.cooldownUntil;
    recordFailure(s, 'broken', 0);
    expect(s.cooldownUntil).toBe(2 * first);
    expect(inCooldown(s, first)).toBe(true);
    recordSuccess(s, 1);
    expect(inCooldown(s, 2)).toBe(false);
    expect(s.failures).toEqual([]);
  });

  it('a missing file is no fault of the mirror', () => {
    const s = emptyStats();
    recordFailure(s, 'missing', 0);
    expect(inCooldown(s, 1)).toBe(false);
  });
});

describe('state store', () => {
  const mirrors: MirrorSpec[] = ['a', 'b'].map((n) => ({ name: n, url: `ftp://${n}/`, protocol: 'ftp', host: n, port: 21, basePath: '/', maxConnections: 2 }));

  it('defaults to $XDG_STATE_HOME/smartftp, else ~/.local/state/smartftp', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/smartftp');
    expect(defaultStateDir({})).toMatch(/\.local\/state\/smartftp$/);
    expect(serviceFileName('ftp.example.org/pub')).toBe('ftp.example.org_pub.json');
  });

  it('round-trips, keeps only current mirrors, and leaves no temporary file', async () => {
    const dir = tempDir();
    const store = new StateStore(dir);
    const stats = { a: emptyStats(), gone: emptyStats() };
    recordThroughput(stats.a, 2 * MiB, 1, 5);
    await store.save(snapshot('svc', mirrors, stats, { membershipCheckedAt: 7 }, 1000));
    expect(readdirSync(dir)).toEqual(['svc.json']);
    const { state, warning } = await store.load('svc');
    expect(warning).toBeUndefined();
    expect(state?.stats.a?.throughput).toBe(2 * MiB);
    expect(state?.stats.gone).toBeUndefined();
    expect(state?.mirrors.map((m) => m.name)).toEqual(['a', 'b']);
    expect(state?.membershipCheckedAt).toBe(7);
  });

  it('a corrupt, foreign or old-version file is a warning and a fresh start', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const store = new StateStore(dir);
    writeFileSync(store.path('svc'), '{"version": 1, "service": "svc", "stats": {');
    expect(await store.load('svc')).toMatchObject({ state: undefined, warning: expect.stringContaining('corrupt') });
    writeFileSync(store.path('svc'), JSON.stringify({ version: 0, service: 'svc', mirrors: [], stats: {} }));
    expect(await store.load('svc')).toMatchObject({ state: undefined, warning: expect.stringContaining('version') });
    expect(await store.load('other')).toEqual({ state: undefined });
    // A mangled entry is dropped, the rest kept.
    writeFileSync(store.path('svc'), JSON.stringify({ version: 1, service: 'svc', savedAt: '', mirrors: [], stats: { a: { ...emptyStats(), throughput: 5 }, b: { throughput: 'fast' } } }));
    const { state } = await store.load('svc');
    expect(Object.keys(state!.stats)).toEqual(['a']);
    expect(readFileSync(store.path('svc'), 'utf8')).toContain('fast'); // loading never rewrites
  });
});

describe('stats: a changed mirror', () => {
  it('a full-weight sample far off an established estimate replaces it', () => {
    const s = emptyStats();
    for (let i = 0; i < 5; i++) recordThroughput(s, 4 * MiB, 0.4, i); // 10 MiB/s, established
    recordThroughput(s, 2 * MiB, 4, 10); // 0.5 MiB/s now
    expect(s.throughput).toBe(0.5 * MiB);
    // A small sample moves it by its weight only (64 KiB of a full 1 MiB: about 6 % of the gap).
    recordThroughput(s, 64 * 1024, 64 * 1024 / (4 * MiB), 11);
    expect(s.throughput).toBeGreaterThan(0.5 * MiB);
    expect(s.throughput - 0.5 * MiB).toBeLessThan(0.1 * 3.5 * MiB);
  });
});

describe('stats: faults forgiven (a checksum that was wrong, not the mirror)', () => {
  it('puts back the failures, the cooldown and the figures a corrupt wiped', () => {
    const s = emptyStats();
    recordThroughput(s, 4 * MIN_SAMPLE_BYTES, 1, 1000);
    recordFailure(s, 'stalled', 2000);
    const before = structuredClone(s);
    const mark = faultMark(s);
    recordFault(s, 'corrupt', 3000);
    expect(s.samples).toBe(0);
    expect(inCooldown(s, 4000)).toBe(true);
    forgiveSince(s, mark);
    expect(s).toEqual({ ...before, lastUsed: 3000 });
  });

  it('keeps figures measured again since the fault', () => {
    const s = emptyStats();
    recordThroughput(s, 4 * MIN_SAMPLE_BYTES, 1, 1000);
    const mark = faultMark(s);
    recordFault(s, 'corrupt', 2000);
    recordThroughput(s, 2 * MIN_SAMPLE_BYTES, 1, 3000);
    const fresh = { throughput: s.throughput, samples: s.samples };
    forgiveSince(s, mark);
    expect({ throughput: s.throughput, samples: s.samples }).toEqual(fresh);
    expect(s.failures).toEqual([]);
    expect(s.cooldownUntil).toBe(0);
  });
});

describe('stats: rough figures (a probe on a bursty rate limiter)', () => {
  const KiB = 1024;
  it("a whole file's sample replaces a probe's figure instead of being averaged with it", () => {
    const s = emptyStats();
    recordThroughput(s, 128 * KiB, (128 * KiB) / (200 * MiB), 1); // a burst: 200 MiB/s
    expect(rough(s)).toBe(true);
    recordThroughput(s, MiB - 64 * KiB, 1, 2); // the whole file: about 1 MiB/s
    expect(s.throughput).toBe(MiB - 64 * KiB);
    expect(rough(s)).toBe(false);
  });

  it('a probe re-testing a stale figure a whole file stands behind may at most double it, and keeps its weight', () => {
    const s = emptyStats();
    recordThroughput(s, MiB, 0.5, 1); // 2 MiB/s from a whole file
    recordThroughput(s, 128 * KiB, (128 * KiB) / (300 * MiB), 2, true);
    expect(s.throughput).toBe(4 * MiB);
    expect(rough(s)).toBe(false);
    // A probe slower than the figure lowers it as before.
    recordThroughput(s, 128 * KiB, 0.125, 3, true); // 1 MiB/s
    expect(s.throughput).toBe(MiB);
  });
});
