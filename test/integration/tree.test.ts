// `smartftp get -r DIR`: a remote tree listed through the director and fetched with the batch
// queue, keeping its shape under -d DIR (lftp mirror's way: the directory's contents go into DIR).

import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const KiB = 1024;
const t = cleanupAfterEach();

/** 21 files in 3 levels under pub/tree, and one outside it that -r tree must not fetch. */
const TREE: Record<string, Buffer> = {};
for (let i = 0; i < 5; i++) TREE[`top${i}.bin`] = content(40 * KiB + i, 700 + i);
for (let i = 0; i < 6; i++) TREE[`a/a${i}.bin`] = content(60 * KiB + i, 710 + i);
for (let i = 0; i < 4; i++) TREE[`a/deep/d${i}.txt`] = content(20 * KiB + i, 720 + i);
for (let i = 0; i < 5; i++) TREE[`b/b${i}.bin`] = content(50 * KiB + i, 730 + i);
TREE['b/.hidden'] = content(0, 740);

function served(): Record<string, Buffer> {
  const files: Record<string, Buffer> = { 'pub/outside.bin': content(KiB, 750) };
  for (const [p, data] of Object.entries(TREE)) files[`pub/tree/${p}`] = data;
  return files;
}

/** Every file under dir, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

async function mirrors(opts: { linkRate?: number } = {}) {
  const roots = t.roots(2, served());
  const handles = await Promise.all(roots.map(async (root, i) => t.track(await startFtpServer({ root, linkRate: i === 0 ? opts.linkRate : undefined }))));
  const work = t.dir();
  const cert = writeCert(work, handles.map((h, i) => ({ url: `${h.url}pub`, name: `m${i + 1}` })));
  return { handles, roots, work, cert, out: join(work, 'out') };
}

function expectTree(out: string, names: string[]): void {
  expect(filesUnder(out)).toEqual([...names].sort());
  for (const name of names) expect(sha256File(join(out, name)), name).toBe(sha256(TREE[name]!));
}

describe('get -r', () => {
  it('fetches a tree of 21 files in 3 levels from 2 mirrors with -j 4, keeping its shape', async () => {
    const { handles, cert, out } = await mirrors();
    const run = runCli(['get', '-r', 'tree', '-j', '4', '--cert', cert, '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(0);
    expectTree(out, Object.keys(TREE));
    expect(run.events.filter((e) => e.type === 'done')).toHaveLength(Object.keys(TREE).length);
    expect(handles[0]!.stats.bytesSent).toBeGreaterThan(0);
  });

  it('both mirrors list the tree, so no file needs a SIZE: each costs MDTM, a passive mode and RETR', async () => {
    const { cert, out } = await mirrors();
    const run = runCli(['get', '-r', 'tree', '-j', '4', '--cert', cert, '-d', out, '--json', '--no-state', '-v']);
    expect(await run.exit, run.stderr()).toBe(0);
    expectTree(out, Object.keys(TREE));
    const sent = (mirror: string, command: string) =>
      run.events.filter((e) => e.type === 'dialogue' && e.mirror === mirror && e.line.startsWith(`> ${command} `)).length;
    // The root and its three directories, listed by each mirror (LIST -a: the emulator has no MLSD).
    for (const m of ['m1', 'm2']) expect(sent(m, 'LIST -a')).toBe(4);
    expect(sent('m1', 'SIZE') + sent('m2', 'SIZE')).toBe(0);
    const files = Object.keys(TREE).length;
    expect(sent('m1', 'MDTM') + sent('m2', 'MDTM')).toBe(files);
    // The empty file needs no RETR.
    expect(sent('m1', 'RETR') + sent('m2', 'RETR')).toBe(Object.values(TREE).filter((b) => b.length > 0).length);
  });

  it("a copy cut short, listed and served with its own size, is outvoted by the other mirror's listing", async () => {
    const { roots, cert, out } = await mirrors();
    writeFileSync(join(roots[0]!, 'pub/tree/a/a1.bin'), TREE['a/a1.bin']!.subarray(0, 30 * KiB));
    // m1 first for every file: the cut copy is tried, and refused before it is accepted.
    const run = runCli(['get', '-r', 'tree', '--cert', cert, '-d', out, '--json', '--no-state', '--policy', 'ordered']);
    expect(await run.exit, run.stderr()).toBe(0);
    // The cut copy, set aside (as any .part its mirror was outvoted on).
    expect(filesUnder(out)).toEqual([...Object.keys(TREE), 'a/a1.bin.part.aside'].sort());
    for (const name of Object.keys(TREE)) expect(sha256File(join(out, name)), name).toBe(sha256(TREE[name]!));
    expect(sha256File(join(out, 'a/a1.bin.part.aside'))).toBe(sha256(TREE['a/a1.bin']!.subarray(0, 30 * KiB)));
    const failovers = run.events.filter((e) => e.type === 'failover').map((e) => `${e.file} ${e.mirror} ${e.kind}`);
    expect(failovers).toEqual(['tree/a/a1.bin m1 mismatch']);
  });

  it('--include and --exclude filter on the path relative to the directory', async () => {
    const { cert, out } = await mirrors();
    const run = runCli(['get', '-r', '/tree/', '--include', '*.bin', '--include', 'a/deep/d1.txt', '--exclude', 'b', '--exclude', 'a/a[0-2].bin', '--cert', cert, '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(0);
    expectTree(out, ['top0.bin', 'top1.bin', 'top2.bin', 'top3.bin', 'top4.bin', 'a/a3.bin', 'a/a4.bin', 'a/a5.bin', 'a/deep/d1.txt']);
  });

  it('every file is still right when the mirror serving them is killed mid-run', async () => {
    const { handles, cert, out } = await mirrors({ linkRate: 400_000 });
    const run = runCli(['get', '-r', 'tree', '-j', '4', '--cert', cert, '-d', out, '--json', '--no-state']);
    await run.waitFor((e) => e.type === 'done' && e.bytesByMirror.m1 > 0);
    handles[0]!.kill();
    expect(await run.exit, run.stderr()).toBe(0);
    expectTree(out, Object.keys(TREE));
    expect(run.events.some((e) => e.type === 'failover' && e.mirror === 'm1')).toBe(true);
  });

  it('a re-run transfers no file data: every file is already complete', async () => {
    const { handles, cert, out } = await mirrors();
    const args = ['get', '-r', 'tree', '-j', '4', '--cert', cert, '-d', out, '--json', '--no-state'];
    expect(await runCli(args).exit).toBe(0);
    const sent = handles.map((h) => h.stats.bytesSent);
    const again = runCli(args);
    expect(await again.exit, again.stderr()).toBe(0);
    expect(handles.map((h) => h.stats.bytesSent)).toEqual(sent);
    expect(again.events.filter((e) => e.type === 'skipped')).toHaveLength(Object.keys(TREE).length);
    expectTree(out, Object.keys(TREE));
  });

  it('a directory no mirror has fails with exit code 1, naming every attempt', async () => {
    const { cert, out } = await mirrors();
    const run = runCli(['get', '-r', 'nosuch', '--cert', cert, '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(1);
    const error = run.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(/cannot list/);
    expect(error.attempts.map((a: { mirror: string; kind: string }) => `${a.mirror}:${a.kind}`)).toEqual(['m1:missing', 'm2:missing']);
  });

  it('usage errors: two directories, -o, --include without -r', async () => {
    const { cert, out } = await mirrors();
    for (const args of [['-r', 'tree', 'other'], ['-r', 'tree', '-o', 'x'], ['tree/top0.bin', '--include', '*.bin']]) {
      const run = runCli(['get', ...args, '--cert', cert, '-d', out, '--no-state']);
      expect(await run.exit, args.join(' ')).toBe(2);
    }
  });
});

/** A LIST line of a file or directory named `name`. */
const line = (name: string, dir = false) => `${dir ? 'drwxr-xr-x' : '-rw-r--r--'} 1 ftp ftp 3 Jan 02 03:04 ${name}\r\n`;

describe('get -r from a hostile listing', () => {
  it('skips "..", absolute and control-character names with a warning, and writes nothing outside DIR', async () => {
    const ok = Buffer.from('ok!');
    const hostile = t.track(
      await startHostileFtpd({
        files: { '/pub/tree/ok.bin': ok, '/pub/tree/sub/fine.bin': ok, '/etc/x': ok, '/pub/x': ok },
        listing: {
          '/pub/tree': [line('.', true), line('..', true), line('ok.bin'), line('../../etc/x'), line('/etc/x'), line('bad\x1b[2Jname'), line('a\\..\\x'), line('sub', true), line('ok.bin')].join(''),
          '/pub/tree/sub': [line('fine.bin'), line('../../x'), line('..', true)].join(''),
        },
      }),
    );
    const work = t.dir();
    const out = join(work, 'out');
    const cert = writeCert(work, [{ url: `${hostile.url}pub`, name: 'h1' }]);
    const run = runCli(['get', '-r', 'tree', '--cert', cert, '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(filesUnder(work)).toEqual(['mirrors.yaml', 'out/ok.bin', 'out/sub/fine.bin']);
    const warnings = run.events.filter((e) => e.type === 'warning').map((e) => String(e.message));
    expect(warnings.filter((w) => /skipped/.test(w))).toHaveLength(6);
    expect(warnings.join('\n')).not.toMatch(/\x1b/);
    expect(hostile.stats.commands.filter((c) => c.startsWith('RETR'))).toEqual(['RETR /pub/tree/ok.bin', 'RETR /pub/tree/sub/fine.bin']);
  });

  it('lists with MLSD where FEAT names MLST', async () => {
    const ok = Buffer.from('ok!');
    const hostile = t.track(await startHostileFtpd({ mlst: true, files: { '/pub/tree/ok.bin': ok, '/pub/tree/two.bin': ok } }));
    const work = t.dir();
    const out = join(work, 'out');
    const run = runCli(['get', '-r', 'tree', '--cert', writeCert(work, [{ url: `${hostile.url}pub`, name: 'h1' }]), '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(filesUnder(out)).toEqual(['ok.bin', 'two.bin']);
    expect(hostile.stats.commands).toContain('MLSD /pub/tree');
    expect(hostile.stats.commands.some((c) => c.startsWith('LIST'))).toBe(false);
  });
});
