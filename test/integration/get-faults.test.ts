// Every failure a mirror can present, injected for real, each checked by the bytes on disk.

import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Fault } from '../../src/emulator/faults.js';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

/** Emulated mirrors m1, m2, ... serving `roots` (removed after the test), with a fault each. */
async function serve(roots: string[], faults: Fault[] = [], linkRate?: number) {
  t.remove(...roots);
  const started = await Promise.all(
    roots.map(async (root, i) => t.track(await startFtpServer({ root, fault: faults[i] ?? { type: 'none' }, linkRate }))),
  );
  return started.map((s, i) => ({ url: s.url + 'pub', name: `m${i + 1}`, server: s }));
}

const work = () => t.dir();

function kinds(events: CliEvent[]): string[] {
  return events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`);
}

function bytesByMirror(events: CliEvent[]): Record<string, number> {
  return (events.find((e) => e.type === 'done')! as unknown as { bytesByMirror: Record<string, number> }).bytesByMirror;
}

describe('get: faults on one mirror', () => {
  const size = 3 * MiB;
  const data = content(size, 3);

  /** Two mirrors serving `data`, the first with `fault`; one `get` of it, run to its end. */
  async function getFromFaulty(fault: Fault, extra: string[] = []) {
    const ms = await serve(t.roots(2, { 'pub/a.bin': data }), [fault]);
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json', ...extra]);
    return { run, dir, exit: await run.exit };
  }

  it('a mirror at its session limit (421) is skipped as busy', async () => {
    const { run, dir, exit } = await getFromFaulty({ type: 'refuse' });
    expect(exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:busy']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(bytesByMirror(run.events)).toEqual({ m2: size });
  });

  it('a mirror without the file (550) is skipped as missing', async () => {
    const roots = t.roots(2, {});
    putFile(roots[1]!, 'pub/a.bin', data);
    const ms = await serve(roots);
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:missing']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('an unreachable mirror (connection refused) is skipped', async () => {
    const ms = await serve(t.roots(2, { 'pub/a.bin': data }));
    ms[0]!.server.kill();
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:unreachable']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('a dropped session resumes on the next mirror at the byte offset', async () => {
    const { run, dir, exit } = await getFromFaulty({ type: 'drop', afterBytes: MiB });
    expect(exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:broken']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const by = bytesByMirror(run.events);
    expect(by.m1! + by.m2!).toBe(size);
    expect(by.m1).toBeGreaterThan(0);
    const resumed = run.events.find((e) => e.type === 'attempt' && e.mirror === 'm2');
    expect(resumed?.offset).toBe(by.m1);
  });

  it('a stalled data connection is abandoned after --stall-timeout and resumed elsewhere', async () => {
    const { run, dir, exit } = await getFromFaulty({ type: 'stall', afterBytes: MiB }, ['--stall-timeout', '1s']);
    expect(exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:stalled']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const by = bytesByMirror(run.events);
    expect(by.m1! + by.m2!).toBe(size);
  });

  it('426 mid-transfer counts as broken and resumes', async () => {
    const { run, dir, exit } = await getFromFaulty({ type: 'error', afterBytes: MiB });
    expect(exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:broken']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('a transfer that ends early with 226 (a copy cut short) keeps its prefix and resumes elsewhere', async () => {
    const { run, dir, exit } = await getFromFaulty({ type: 'short', afterBytes: MiB });
    expect(exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:mismatch']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(bytesByMirror(run.events)).toEqual({ m1: MiB, m2: size - MiB });
  });

  it('never mixes bytes from a copy of another size, nor from a truncated copy', async () => {
    const roots = t.roots(3, { 'pub/a.bin': data });
    putFile(roots[1]!, 'pub/a.bin', content(size + 4096, 99)); // another file
    const ms = await serve(roots, [{ type: 'error', afterBytes: MiB }]);
    // m3 holds a truncated copy: a prefix, as an interrupted mirroring run would leave it.
    const truncated = t.dir();
    putFile(truncated, 'pub/a.bin', data.subarray(0, 2 * MiB));
    const ms2 = await serve([truncated]);
    const ms3 = await serve(t.roots(1, { 'pub/a.bin': data }));
    const all = [ms[0]!, ms[1]!, { ...ms2[0]!, name: 'm3' }, { ...ms3[0]!, name: 'm4' }];
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, all), '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:broken', 'm2:mismatch', 'm3:mismatch']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const by = bytesByMirror(run.events);
    expect(by.m2 ?? 0).toBe(0);
    expect(by.m3 ?? 0).toBe(0);
    expect(by.m1! + by.m4!).toBe(size);
  });

  it('once a size is established, a copy of another size is refused even with no byte on disk yet', async () => {
    // m1 drops at once (0 bytes reach the disk); m2's copy is of another size; m3 is good.
    const roots = t.roots(3, { 'pub/a.bin': data });
    putFile(roots[1]!, 'pub/a.bin', content(size - 4096, 98));
    const ms = await serve(roots, [{ type: 'drop', afterBytes: 0 }]);
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:broken', 'm2:mismatch']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(bytesByMirror(run.events).m2 ?? 0).toBe(0);
  });

  it('a partial file no mirror has a copy of any more is discarded and the file fetched anew', async () => {
    const roots = t.roots(2, { 'pub/a.bin': data });
    const ms = await serve(roots);
    const dir = work();
    // A previous run left 1 MiB of an older, larger version of the file.
    const old = content(size + 8192, 77);
    writeFileSync(join(dir, 'a.bin.part'), old.subarray(0, MiB));
    writeFileSync(join(dir, 'a.bin.part.json'), JSON.stringify({ version: 1, remotePath: 'a.bin', size: old.length }));
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:mismatch', 'm2:mismatch']);
    expect(run.events.some((e) => e.type === 'warning' && /starting over/.test(e.message))).toBe(true);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('a copy with the same size but other bytes fails --sha256 and is fetched again elsewhere', async () => {
    const roots = t.roots(2, { 'pub/a.bin': data });
    putFile(roots[0]!, 'pub/a.bin', content(size, 5)); // same size, other content
    const ms = await serve(roots);
    const dir = work();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json', '--sha256', sha256(data)]);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:mismatch']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('when every mirror fails: exit 1, every attempt listed, the .part kept for the next run', async () => {
    const roots = t.roots(2, { 'pub/a.bin': data });
    const ms = await serve(roots, [{ type: 'error', afterBytes: 256 * 1024 }, { type: 'refuse' }]);
    const dir = work();
    const cert = writeCert(dir, ms);
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json']);
    expect(await run.exit).toBe(1);
    // m1 makes progress before each failure, which earns another pass; three passes at the most.
    // From the second pass both mirrors cool down, and the one back soonest (busy: 5 s) goes first.
    const error = run.events.find((e) => e.type === 'error')! as unknown as { attempts: { mirror: string; kind: string }[] };
    expect(error.attempts.map((a) => `${a.mirror}:${a.kind}`)).toEqual(['m1:broken', 'm2:busy', 'm2:busy', 'm1:broken', 'm2:busy', 'm1:broken']);
    expect(existsSync(join(dir, 'a.bin'))).toBe(false);
    const partial = readFileSync(join(dir, 'a.bin.part'));
    // Each resume first re-sends the 64 KiB before the offset (checked against the disk), so the
    // second and third tries add 192 KiB each.
    expect(partial.length).toBe(256 * 1024 + 2 * (256 - 64) * 1024);
    expect(partial.equals(data.subarray(0, partial.length))).toBe(true);

    // The mirrors recover: the next run resumes from the .part.
    ms[0]!.server.setFault({ type: 'none' });
    const again = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(Object.values(bytesByMirror(again.events)).reduce((a, b) => a + b, 0)).toBe(size - partial.length);
  });

  it('a bad login (530) is an auth failure and the next mirror serves', async () => {
    const roots = t.roots(2, { 'pub/a.bin': data });
    const locked = t.track(await startFtpServer({ root: roots[0]!, users: { alice: 'secret' } }));
    const open = t.track(await startFtpServer({ root: roots[1]! }));
    const dir = work();
    const cert = writeCert(dir, [
      { url: locked.url + 'pub', name: 'm1' },
      { url: open.url + 'pub', name: 'm2' },
    ]);
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(kinds(run.events)).toEqual(['m1:auth']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });
});

describe('get: usage and certificate errors', () => {
  it('a malformed certificate exits 2 naming file, line and key, and writes nothing', async () => {
    const dir = work();
    const cert = join(dir, 'bad.yaml');
    writeFileSync(cert, 'service: x\ndirector:\n  stall_timout: 5s\nmirrors:\n  - url: http://example.invalid/\n');
    const out = join(dir, 'out');
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', out]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${cert}:3:`);
    expect(run.stderr()).toContain('stall_timout');
    expect(run.stderr()).toContain("did you mean 'stall_timeout'");
    expect(run.stderr()).toMatch(new RegExp(`${cert}:5:.*mirrors\\[0\\]\\.url`));
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['bad.yaml']);
  });

  it('unknown options are usage errors (exit 2)', async () => {
    const run = runCli(['get', '--no-such-flag', 'x']);
    expect(await run.exit).toBe(2);
  });

  it('cert check accepts the example certificate', async () => {
    const run = runCli(['cert', 'check', 'mirrors.yaml']);
    expect(await run.exit).toBe(0);
  });
});
