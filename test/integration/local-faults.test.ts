// Faults on this machine: a full disk stops the run with its own exit code (3), keeps the partial
// file resumable and the state file intact, and blames no mirror.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerHandle } from '../../src/emulator/server.js';
import { content, mirrorRoots, removeAll, runCli, sha256, sha256File, tempDir } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;

/** A tiny tmpfs of our own: needs root (CI and these machines run as root). */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = tempDir('smartftp-mnt-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    removeAll([probe]);
  }
}

const mountable = canMount();
if (!mountable) console.warn('cannot mount a tmpfs here (needs root): skipping the full-disk test');

describe.runIf(mountable)('a full disk', () => {
  const dirs: string[] = [];
  let server: FtpServerHandle;
  let mnt: string;
  const data = content(6 * MiB, 31);

  beforeAll(async () => {
    const roots = mirrorRoots(1, { 'pub/big.bin': data });
    dirs.push(...roots);
    server = await startFtpServer({ root: roots[0]! });
    mnt = tempDir('smartftp-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  });

  afterAll(async () => {
    await server.close();
    try {
      execFileSync('umount', [mnt]);
    } catch {
      /* already gone */
    }
    removeAll([...dirs, mnt]);
  });

  it('stops with exit 3, keeps the .part and the state, and the next run (with room) resumes', async () => {
    const work = tempDir();
    dirs.push(work);
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, `service: disk.test\ndirector:\n  policy: ordered\nmirrors:\n  - url: ${server.url}pub\n    name: m1\n`);
    const state = join(work, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'disk.test.json'), JSON.stringify({ version: 1, service: 'disk.test', savedAt: '', mirrors: [], stats: {} }));
    const out = join(mnt, 'out');

    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json']);
    expect(await run.exit).toBe(3);
    const error = run.events.find((e) => e.type === 'error');
    expect(error?.message).toMatch(/no space left on device/);
    expect(run.events.filter((e) => e.type === 'failover')).toEqual([]); // not the mirror's fault
    const partial = readFileSync(join(out, 'big.bin.part'));
    expect(partial.length).toBeGreaterThan(MiB);
    expect(partial.equals(data.subarray(0, partial.length))).toBe(true);
    const saved = JSON.parse(readFileSync(join(state, 'disk.test.json'), 'utf8'));
    expect(saved.stats.m1.failures).toEqual([]);

    execFileSync('mount', ['-o', 'remount,size=16m', mnt]);
    const again = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(data));
    const done = again.events.find((e) => e.type === 'done');
    expect(done?.resumedFrom).toBe(partial.length);
  });
});
