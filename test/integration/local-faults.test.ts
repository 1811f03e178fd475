// Faults on this machine: a full disk, a read-only file system, a directory or a partial file the
// user may not write, a list or certificate they may not read. Each stops the run with its own exit
// code (3; a wrong name is 2) and a sentence that names the path and says what to do, never the raw
// errno text; a partial file with bytes stays resumable, the state file intact, no mirror blamed.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** In a describe: one mirror serving `files`, and a tmpfs of our own when mount options are given; all gone afterwards. */
function oneMirror(files: Record<string, Buffer>, mountOptions?: string) {
  const f = {
    dirs: [] as string[],
    server: undefined as unknown as FtpServerHandle,
    mnt: '',
    /** A work directory with a certificate of `service` naming the one mirror, and an empty state dir. */
    work(service: string): { work: string; cert: string; state: string } {
      const work = tempDir();
      f.dirs.push(work);
      const cert = join(work, 'mirrors.yaml');
      writeFileSync(cert, `service: ${service}\ndirector:\n  policy: ordered\nmirrors:\n  - url: ${f.server.url}pub\n    name: m1\n`);
      const state = join(work, 'state');
      mkdirSync(state);
      return { work, cert, state };
    },
  };
  beforeAll(async () => {
    const roots = mirrorRoots(1, files);
    f.dirs.push(...roots);
    f.server = await startFtpServer({ root: roots[0]! });
    if (mountOptions === undefined) return;
    f.mnt = tempDir('smartftp-mnt-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', mountOptions, 'tmpfs', f.mnt]);
  });
  afterAll(async () => {
    await f.server.close();
    try {
      if (f.mnt) execFileSync('umount', [f.mnt]);
    } catch {
      /* already gone */
    }
    removeAll([...f.dirs, f.mnt].filter(Boolean));
  });
  return f;
}

const mountable = canMount();
if (!mountable) console.warn('cannot mount a tmpfs here (needs root): skipping the full-disk test');

describe.runIf(mountable)('a full disk', () => {
  const data = content(6 * MiB, 31);
  const f = oneMirror({ 'pub/big.bin': data }, 'size=4m');

  it('stops with exit 3, keeps the .part and the state, and the next run (with room) resumes', async () => {
    const { cert, state } = f.work('disk.test');
    writeFileSync(join(state, 'disk.test.json'), JSON.stringify({ version: 1, service: 'disk.test', savedAt: '', mirrors: [], stats: {} }));
    const out = join(f.mnt, 'out');

    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json']);
    expect(await run.exit).toBe(3);
    const error = run.events.find((e) => e.type === 'error');
    expect(error?.message).toBe(`${join(out, 'big.bin.part')}: no space left on device; free some space (or choose another -d) and run again; the partial file stays for the next run`);
    expect(run.events.filter((e) => e.type === 'failover')).toEqual([]); // not the mirror's fault
    const partial = readFileSync(join(out, 'big.bin.part'));
    expect(partial.length).toBeGreaterThan(MiB);
    expect(partial.equals(data.subarray(0, partial.length))).toBe(true);
    const saved = JSON.parse(readFileSync(join(state, 'disk.test.json'), 'utf8'));
    expect(saved.stats.m1.failures).toEqual([]);

    execFileSync('mount', ['-o', 'remount,size=16m', f.mnt]);
    const again = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(data));
    const done = again.events.find((e) => e.type === 'done');
    expect(done?.resumedFrom).toBe(partial.length);
  });
});

/** setpriv runs the CLI as nobody (65534): as root no permission is ever refused. */
function canDropPrivileges(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NOBODY = 65534;
const droppable = canDropPrivileges();
if (!droppable) console.warn('cannot run as nobody here (needs root and setpriv): skipping the permission tests');

describe.runIf(droppable)('permissions (the CLI run as nobody)', () => {
  const data = content(3 * MiB, 32);
  const f = oneMirror({ 'pub/big.bin': data });

  /** Run as nobody, with a HOME of its own (root's ~/.netrc is not nobody's to read). */
  const asNobody = (work: string) => ({ asUser: NOBODY, env: { HOME: work } });

  /** A directory nobody owns, holding a certificate for the one mirror and a state dir. */
  function nobodysWork(): { work: string; cert: string; state: string } {
    const { work, cert, state } = f.work('perm.test');
    for (const p of [work, cert, state]) chownSync(p, NOBODY, NOBODY);
    chmodSync(work, 0o755);
    return { work, cert, state };
  }

  it('-d under a directory nobody may write: exit 3, says so and what to do, before any connection', async () => {
    const { work, cert, state } = nobodysWork();
    const locked = join(work, 'locked');
    mkdirSync(locked, { mode: 0o755 }); // root's
    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', join(locked, 'out'), '--state-dir', state], asNobody(work));
    expect(await run.exit).toBe(3);
    expect(run.stderr().trim()).toBe(`smartftp get: -d ${join(locked, 'out')}: ${locked}: permission denied; choose a place you can write to, or change its permissions`);
    expect(existsSync(join(locked, 'out'))).toBe(false);
  });

  it('a .part nobody may write: exit 3, the partial file stays, and once writable the next run resumes it', async () => {
    const { work, cert, state } = nobodysWork();
    const out = join(work, 'out');
    mkdirSync(out);
    chownSync(out, NOBODY, NOBODY);
    const part = join(out, 'big.bin.part');
    const kept = MiB;
    writeFileSync(part, data.subarray(0, kept), { mode: 0o644 }); // root's: nobody reads it, cannot write it
    writeFileSync(`${part}.json`, JSON.stringify({ version: 1, service: 'perm.test', remotePath: 'big.bin', size: data.length }));
    chownSync(`${part}.json`, NOBODY, NOBODY);

    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json'], asNobody(work));
    expect(await run.exit, run.stderr() + run.stdout()).toBe(3);
    const error = run.events.find((e) => e.type === 'error');
    expect(error?.message).toBe(`${part}: permission denied; choose a place you can write to, or change its permissions; the partial file stays for the next run`);
    expect(run.events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(readFileSync(part).equals(data.subarray(0, kept))).toBe(true);
    expect(JSON.parse(readFileSync(join(state, 'perm.test.json'), 'utf8')).stats.m1.failures).toEqual([]);

    chownSync(part, NOBODY, NOBODY);
    const again = runCli(['get', 'big.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json'], asNobody(work));
    expect(await again.exit).toBe(0);
    expect(again.events.find((e) => e.type === 'done')?.resumedFrom).toBe(kept);
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(data));
  });

  it('an -i list nobody may read: exit 3 and what to do; a missing one, exit 2; a certificate nobody may read, exit 2 as a bad one', async () => {
    const { work, cert, state } = nobodysWork();
    const list = join(work, 'list.txt');
    writeFileSync(list, 'big.bin\n', { mode: 0o600 }); // root's
    const d = ['-d', join(work, 'out'), '--state-dir', state];
    const unreadableList = runCli(['get', '-i', list, '--cert', cert, ...d], asNobody(work));
    expect(await unreadableList.exit).toBe(3);
    expect(unreadableList.stderr().trim()).toBe(`smartftp get: cannot read the list -i ${list}: permission denied; check its permissions`);

    const missingList = runCli(['get', '-i', join(work, 'nolist'), '--cert', cert, ...d], asNobody(work));
    expect(await missingList.exit).toBe(2);
    expect(missingList.stderr().trim()).toBe(`smartftp get: cannot read the list -i ${join(work, 'nolist')}: no such file or directory; check the name`);

    chownSync(cert, 0, 0);
    chmodSync(cert, 0o600);
    const unreadableCert = runCli(['get', 'big.bin', '--cert', cert, ...d], asNobody(work));
    expect(await unreadableCert.exit).toBe(2); // a certificate that cannot be used is a usage error, as a bad one
    expect(unreadableCert.stderr()).toContain(`${cert}: cannot read the certificate: permission denied; check its permissions`);
    expect(existsSync(join(work, 'out'))).toBe(false);
  });

  it('a state dir nobody may write: a warning that says what to do, and the file still comes (exit 0)', async () => {
    const { work, cert } = nobodysWork();
    const state = join(work, 'rootstate');
    mkdirSync(state, { mode: 0o755 }); // root's
    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', join(work, 'out'), '--state-dir', state], asNobody(work));
    expect(await run.exit, run.stderr()).toBe(0);
    expect(sha256File(join(work, 'out', 'big.bin'))).toBe(sha256(data));
    expect(run.stderr()).toMatch(new RegExp(`warning: could not save what was measured: ${state}/perm\\.test\\.json\\.\\d+\\.tmp: permission denied; choose a place you can write to, or change its permissions \\(or give --state-dir DIR, or --no-state\\)`));
    expect(run.stderr()).not.toMatch(/EACCES/);
  });
  it('a ~/.netrc nobody may read: a warning, logins go on without it, no mirror blamed (exit 0)', async () => {
    const { work, cert, state } = nobodysWork();
    const home = join(work, 'home');
    mkdirSync(home, { mode: 0o700 }); // root's: even whether .netrc exists cannot be known
    const run = runCli(['get', 'big.bin', '--cert', cert, '-d', join(work, 'out'), '--state-dir', state, '--json'], { asUser: NOBODY, env: { HOME: home } });
    expect(await run.exit, run.stderr()).toBe(0);
    expect(run.events.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([
      `${join(home, '.netrc')}: permission denied; check its permissions; logging in without it`,
    ]);
    expect(run.events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(sha256File(join(work, 'out', 'big.bin'))).toBe(sha256(data));
  });
});

describe.runIf(mountable)('a read-only file system, and a place where no directory can be made', () => {
  const data = content(MiB, 33);
  const f = oneMirror({ 'pub/f.bin': data }, 'ro,size=1m');

  const certFile = () => f.work('ro.test');

  it('-d on a read-only file system: exit 3, "read-only file system" and what to do', async () => {
    const { cert, state } = certFile();
    const run = runCli(['get', 'f.bin', '--cert', cert, '-d', join(f.mnt, 'out'), '--state-dir', state]);
    expect(await run.exit).toBe(3);
    expect(run.stderr().trim()).toBe(`smartftp get: -d ${join(f.mnt, 'out')}: ${f.mnt}: read-only file system; choose a destination on a writable file system`);
  });

  it('--state-dir on a read-only file system, or under /proc: the file still comes (exit 0), with a warning that says what to do', async () => {
    const { cert, work } = certFile();
    for (const state of [join(f.mnt, 'state'), '/proc/smartftp-test-no-such-dir/state']) {
      const out = join(work, 'out');
      const run = runCli(['get', 'f.bin', '--cert', cert, '-d', out, '--state-dir', state, '--json', '--force']);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000); // Node's recursive mkdir spun forever here
      const code = await run.exit;
      clearTimeout(timer);
      expect(code, run.stderr()).toBe(0);
      expect(sha256File(join(out, 'f.bin'))).toBe(sha256(data));
      // The path is the level that could not be made: the state dir itself, or the missing one under /proc.
      const [where, why] = state.startsWith('/proc')
        ? ['/proc/smartftp-test-no-such-dir', 'no such file or directory; it cannot be created there: choose another place']
        : [state, 'read-only file system; choose a destination on a writable file system'];
      expect(run.events.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([`could not save what was measured: ${where}: ${why} (or give --state-dir DIR, or --no-state)`]);
    }
  });

  it('-d under /proc, where mkdir answers ENOENT: exit 3 at once (Node 20 recursive mkdir would spin forever), no partial file claimed', async () => {
    const { cert, state } = certFile();
    const dir = '/proc/smartftp-test-no-such-dir/out';
    const run = runCli(['get', 'f.bin', '--cert', cert, '-d', dir, '--state-dir', state, '--json']);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
    const code = await run.exit;
    clearTimeout(timer);
    expect(code).toBe(3);
    const error = run.events.find((e) => e.type === 'error');
    expect(error?.message).toBe(`${dir}: no such file or directory; it cannot be created there: choose another place`);
  });
});
