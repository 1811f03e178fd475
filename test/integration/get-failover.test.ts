// `smartftp get` end to end against emulated mirrors running in their own processes, so that a
// mirror can be killed (SIGKILL) or stopped (SIGSTOP) for real mid-transfer.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, stalledFor, writeCert, type CliEvent } from '../helpers/fixtures.js';
import { startMirrorProcess } from '../helpers/mirror-process.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

/** One process per mirror, so one can be killed alone; rates[i] paces the i-th, the rest are unpaced. */
async function mirrors(roots: string[], rates: number[]) {
  const procs = await Promise.all(roots.map(async (root, i) => t.track(await startMirrorProcess({ roots: [root], rate: rates[i] }))));
  return procs.map((p, i) => ({ proc: p, url: p.servers[0]!.url + 'pub', name: `m${i + 1}` }));
}

function doneEvent(events: CliEvent[]) {
  const done = events.find((e) => e.type === 'done');
  expect(done, 'a done event').toBeDefined();
  return done as CliEvent & { bytesByMirror: Record<string, number>; size: number };
}

describe('get: failover with resume', () => {
  // Enough for a kill a third of the way in to land mid-transfer (progress comes every 500 ms).
  const size = 32 * MiB;
  const data = content(size, 7);
  const expected = sha256(data);

  it('finishes on the next mirror when the first is killed a third of the way', async () => {
    const roots = t.roots(3, { 'pub/big.bin': data });
    // Paced, m1 is killed mid-transfer; the next only finishes the file, at loopback speed.
    const ms = await mirrors(roots, [12_000_000]);
    const work = t.dir();
    const cert = writeCert(work, ms);
    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', work, '--json']);
    await run.waitFor((e) => e.type === 'progress' && e.mirror === 'm1' && (e.bytes as number) >= size / 3);
    ms[0]!.proc.signal('SIGKILL');
    expect(await run.exit).toBe(0);

    expect(sha256File(join(work, 'big.bin'))).toBe(expected);
    expect(existsSync(join(work, 'big.bin.part'))).toBe(false);
    const failover = run.events.find((e) => e.type === 'failover');
    expect(failover).toMatchObject({ mirror: 'm1', kind: 'broken' });
    const done = doneEvent(run.events);
    const fetched = Object.values(done.bytesByMirror).reduce((a, b) => a + b, 0);
    expect(done.bytesByMirror.m1).toBeGreaterThan(size / 4);
    expect(done.bytesByMirror.m2).toBeGreaterThan(0);
    console.info(`kill at ${(done.bytesByMirror.m1! / MiB).toFixed(1)} MiB: fetched ${fetched - size} bytes more than the file (${JSON.stringify(done.bytesByMirror)})`);
    expect(fetched - size).toBeLessThanOrEqual(MiB);
    expect(fetched).toBeGreaterThanOrEqual(size);
  });

  it('leaves a stopped mirror within the stall timeout plus one second', async () => {
    const roots = t.roots(3, { 'pub/big.bin': data });
    const ms = await mirrors(roots, [12_000_000]);
    const work = t.dir();
    const cert = writeCert(work, ms); // stall_timeout: 3s
    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', work, '--json']);
    await run.waitFor((e) => e.type === 'progress' && e.mirror === 'm1' && (e.bytes as number) >= size / 3);
    ms[0]!.proc.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const failover = await run.waitFor((e) => e.type === 'failover', 15_000);
    const switchedAfter = (Date.now() - stoppedAt) / 1000;
    console.info(`stall: left the stopped mirror after ${stalledFor(failover)} s of silence, ${switchedAfter.toFixed(2)} s after SIGSTOP (stall_timeout 3 s, adaptive)`);
    expect(failover).toMatchObject({ mirror: 'm1', kind: 'stalled' });
    // The watchdog gave up within the stall timeout (plus its look every 250 ms and a busy machine's
    // lateness), by its own clock; basic-ftp's backstop would have said "Timeout" after 10 s.
    expect(stalledFor(failover)).toBeLessThanOrEqual(3 + 1);
    expect(switchedAfter).toBeLessThan(10);
    expect(await run.exit).toBe(0);

    expect(sha256File(join(work, 'big.bin'))).toBe(expected);
    const done = doneEvent(run.events);
    const fetched = Object.values(done.bytesByMirror).reduce((a, b) => a + b, 0);
    expect(fetched - size).toBeLessThanOrEqual(MiB);
  });
});

describe('get: interrupted and resumed', () => {
  it('Ctrl-C keeps the .part; the next run fetches only the rest', async () => {
    const size = 32 * MiB;
    const data = content(size, 11);
    const roots = t.roots(2, { 'pub/f.bin': data });
    const ms = await mirrors(roots, [12_000_000, 12_000_000]);
    const work = t.dir();
    const cert = writeCert(work, ms);
    const state = join(work, 'state');
    const first = runCli(['get', 'f.bin', '--cert', cert, '-d', work, '--state-dir', state, '--json']);
    await first.waitFor((e) => e.type === 'progress' && (e.bytes as number) >= size / 3);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(130);
    // The state was saved on the way out, whole, and blames no mirror for the interruption.
    const saved = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8'));
    expect(saved.stats.m1.failures).toEqual([]);
    const part = join(work, 'f.bin.part');
    const partial = statSync(part).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(size);
    expect(readFileSync(part).equals(data.subarray(0, partial))).toBe(true);
    expect(existsSync(join(work, 'f.bin'))).toBe(false);

    const second = runCli(['get', 'f.bin', '--cert', cert, '-d', work, '--state-dir', state, '--json']);
    expect(await second.exit).toBe(0);
    expect(sha256File(join(work, 'f.bin'))).toBe(sha256(data));
    const done = doneEvent(second.events);
    const fetched = Object.values(done.bytesByMirror).reduce((a, b) => a + b, 0);
    expect(Math.abs(fetched - (size - partial))).toBeLessThanOrEqual(MiB);
    expect(done).toMatchObject({ resumedFrom: partial });
  });
});
