// The benchmark end to end on emulated mirrors, tiny: the results add up, the paper's random
// director reconnects more than ranked with affinity, a killed server costs failovers but no file,
// and the CLI writes its files, exits on its own, and exits 1 when a check fails. No speed is
// asserted: figures come from `smartftp bench`, not from tests. The CLI cases run dist/, built by
// the global setup.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBenchFile, startEmulation } from '../../src/emulator/emulation.js';
import { dataRate } from '../../src/emulator/framing.js';
import { runFleet } from '../../src/bench/fleet.js';
import type { BenchResult } from '../../src/bench/results.js';
import { defaultSettings, type BenchSettings } from '../../src/bench/settings.js';
import { emulatedTarget, runSweep } from '../../src/bench/sweep.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { runCli } from '../helpers/fixtures.js';

const KiB = 1024;
const t = cleanupAfterEach();

/** Fast links, a small control delay, unscaled: seconds per point. */
function tiny(extra: Partial<BenchSettings>): BenchSettings {
  return {
    ...defaultSettings(),
    servers: [1, 2],
    clients: [1, 4],
    files: 6,
    size: 256 * KiB,
    linkMbit: [200],
    delayMs: 2,
    clientLinkMbit: undefined,
    scale: 1,
    ...extra,
  };
}

async function sweep(settings: BenchSettings): Promise<BenchResult> {
  const target = await emulatedTarget(settings);
  t.track({ close: () => target.dispose() });
  return runSweep(settings, target);
}

/** Sockets and servers the process holds (what would keep it from exiting). */
function netHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

/** Handles close a moment after close() returns (longer on a busy machine): wait, at most 5 s, for them to go. */
async function netHandlesSettled(atMost: number): Promise<number> {
  for (let i = 0; i < 250 && netHandles() > atMost; i++) await new Promise((r) => setTimeout(r, 20));
  return netHandles();
}

describe('bench sweep', () => {
  it('runs every point, and the bytes add up', async () => {
    const before = netHandles();
    const settings = tiny({});
    const result = await sweep(settings);
    expect(result.interrupted).toBe(false);
    expect(result.points.map((p) => `${p.servers}/${p.clients}/${p.policy}`)).toEqual([
      '1/1/random', '1/1/ranked', '1/4/random', '1/4/ranked', '2/1/random', '2/1/ranked', '2/4/random', '2/4/ranked',
    ]);
    for (const p of result.points) {
      const expected = p.clients * settings.files * settings.size;
      expect(p.filesFailed).toBe(0);
      expect(p.filesDone).toBe(p.clients * settings.files);
      expect(p.bytes).toBe(expected);
      // Completed-file bytes by server add up to every client's every file.
      expect(p.bytesByServer).toHaveLength(p.servers);
      expect(p.bytesByServer.reduce((a, b) => a + b, 0)).toBe(expected);
      // The servers sent at least that (probes come on top).
      expect(p.sentByServer!.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(expected);
      expect(p.seconds).toBeGreaterThan(0);
      expect(p.rate).toBeCloseTo(p.bytes / p.seconds);
      expect(p.capacity).toBe(dataRate(p.servers * 25_000_000));
      expect(p.connections).toBeGreaterThanOrEqual(p.clients);
      expect(p.failovers).toBe(0);
      expect(p.rejected).toBe(0);
    }
    // One server: nothing to choose, one connection per client whatever the policy.
    for (const p of result.points.filter((x) => x.servers === 1)) expect(p.connections).toBe(p.clients);
    // Two servers: the paper's applet reconnects whenever its random pick changes; affinity does not.
    const conns = (policy: string) => result.points.filter((p) => p.servers === 2 && p.policy === policy).reduce((a, p) => a + p.connections, 0);
    expect(conns('random')).toBeGreaterThan(conns('ranked'));
    // Every server and client is closed at the end of each point.
    expect(await netHandlesSettled(before)).toBeLessThanOrEqual(before);
  });

  it('a server killed mid-run costs failovers, not files', async () => {
    // 4 MB/s a server: the 2 x 8 files of 256 KiB take about a second a point, the kill comes early in it.
    const settings = tiny({ servers: [2], clients: [2], files: 8, linkMbit: [32], delayMs: 5, faults: [{ kind: 'kill', server: 1, atSeconds: 0.2 }] });
    const result = await sweep(settings);
    for (const p of result.points) {
      expect(p.filesFailed).toBe(0);
      expect(p.bytes).toBe(2 * 8 * 256 * KiB);
      expect(p.bytesByServer.reduce((a, b) => a + b, 0)).toBe(p.bytes);
    }
    // The blind random director keeps picking the dead server half the time.
    expect(result.points.find((p) => p.policy === 'random')!.failovers).toBeGreaterThan(0);
  });

  it('Ctrl-C stops the fleet process mid-point: the sweep ends interrupted, with no child left behind', async () => {
    const settings = tiny({ servers: [1], clients: [2], files: 200, linkMbit: [8], policies: ['ranked'] });
    const target = await emulatedTarget(settings);
    t.track({ close: () => target.dispose() });
    const children = () => process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length;
    const before = children();
    const stop = new AbortController();
    let files = 0;
    const started = performance.now();
    const result = await runSweep(settings, target, {
      signal: stop.signal,
      onFile: () => {
        if (++files === 3) stop.abort();
      },
    });
    expect(result.interrupted).toBe(true);
    expect(result.points).toHaveLength(0);
    expect(files).toBeLessThan(2 * 200);
    // 400 files of 256 KiB at 1 MB/s would take 100 s; the abort ended it at once.
    expect(performance.now() - started).toBeLessThan(15_000);
    // The fleet process has exited before the sweep returned (its handle goes a moment later).
    for (let i = 0; i < 250 && children() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(children()).toBe(before);
  });
});

describe('bench fleet', () => {
  it('the paper\'s applet holds one connection; the pool keeps one per server', async () => {
    const file = await makeBenchFile(128 * KiB);
    t.track({ close: () => file.dispose() });
    const emulation = t.track(await startEmulation({ file, linkRates: [25_000_000, 25_000_000], controlDelayMs: 0, maxSessions: 16 }));
    const peaks = [0, 0];
    const sampler = setInterval(() => emulation.servers.forEach((s, i) => (peaks[i] = Math.max(peaks[i]!, s.stats.activeSessions))), 2);
    const run = (oneConnection: boolean) =>
      runFleet({ cert: emulation.cert, remotePath: file.remotePath, clients: 1, files: 12, policy: 'random', oneConnection, seed: 3 });
    const single = await run(true);
    const singlePeak = peaks.reduce((a, b) => a + b, 0);
    peaks.fill(0);
    const pooled = await run(false);
    clearInterval(sampler);
    expect(single.clients[0]!.filesDone).toBe(12);
    expect(pooled.clients[0]!.filesDone).toBe(12);
    const opened = (r: typeof single) => Object.values(r.clients[0]!.connections).reduce((a, b) => a + b, 0);
    // The same seed makes the same picks: the pool opens each server once, the applet once per change.
    expect(opened(pooled)).toBe(2);
    expect(opened(single)).toBeGreaterThan(2);
    // One connection at a time (plus the moment of switching, while the old one says goodbye).
    expect(singlePeak).toBeLessThanOrEqual(2);
  });
});

describe('smartftp bench', () => {
  it('prints the table, writes CSV, SVG and JSON, and exits on its own', async () => {
    const out = t.dir('smartftp-bench-out-');
    const run = runCli(['bench', '--servers', '1,2', '--clients', '2', '--files', '2', '--size', '64KiB', '--link', '100', '--delay', '1', '--scale', '1', '--out', out]);
    const code = await run.exit;
    const text = run.stdout();
    // A check may fail on so small a run: then, and only then, the exit code is 1.
    expect(code, run.stderr()).toBe(/^\[FAIL\]/m.test(text) ? 1 : 0);
    expect(text).toMatch(/random \(paper\).*ranked\+affinity/);
    expect(text).toMatch(/Scale: none/);
    expect(text).toMatch(/Checks:/);
    for (const name of ['bench.csv', 'figure6.svg', 'bench.json', 'report.txt']) expect(existsSync(join(out, name))).toBe(true);
    expect(readFileSync(join(out, 'bench.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 4);
    const json = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchResult;
    expect(json.points).toHaveLength(4);
    expect(readFileSync(join(out, 'figure6.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('exits 1 when a check fails, and 0 with --report-only', async () => {
    // One server killed at once: the file in flight (64 KiB at 1 Mbit/s takes half a second) and
    // every one after it fail, so the check that every file completes fails.
    const args = ['bench', '--servers', '1', '--clients', '1', '--files', '2', '--size', '64KiB', '--link', '1', '--delay', '1', '--scale', '1', '--policies', 'ranked', '--fault', 'kill:1@0s'];
    const failing = runCli(args);
    expect(await failing.exit, failing.stderr()).toBe(1);
    expect(failing.stdout()).toMatch(/^\[FAIL\] every file completes despite the fault/m);
    expect(failing.stderr()).toMatch(/1 check failed \(exit 1; --report-only exits 0\)/);
    const reportOnly = runCli([...args, '--report-only']);
    expect(await reportOnly.exit, reportOnly.stderr()).toBe(0);
    expect(reportOnly.stdout()).toMatch(/^\[FAIL\] every file completes despite the fault/m);
    expect(reportOnly.stderr()).not.toMatch(/check failed/);
  });

  it('--out that cannot be written: the report stays on stdout, then a message that says what to do (no stack trace, exit 2)', async () => {
    const work = t.dir('smartftp-bench-out-');
    writeFileSync(join(work, 'afile'), 'x');
    const out = join(work, 'afile', 'results');
    const run = runCli(['bench', '--servers', '1', '--clients', '1', '--files', '2', '--size', '64KiB', '--link', '100', '--delay', '1', '--scale', '1', '--policies', 'ranked', '--out', out]);
    expect(await run.exit, run.stderr()).toBe(2);
    expect(run.stdout()).toMatch(/^smartftp bench: Figure 6 .*\n[^]*ranked\+affinity/);
    expect(run.stderr()).toContain(`smartftp bench: --out ${out}: cannot write the results: ${out}: ${join(work, 'afile')} is a file, not a directory; choose another place, or move that file\n`);
    expect(run.stderr()).not.toMatch(/ENOTDIR|    at /);
  });

  it('refuses bad flags with the usage exit code', async () => {
    const run = runCli(['bench', '--fault', 'explode:1@1s']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/--fault/);
  });
});
