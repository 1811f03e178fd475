// Scripted bulk downloads: a list of files (-i, also from stdin) fetched several at once (-j)
// through one director, within each mirror's connection limit, surviving a faulty mirror.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { CLI, content, runCli, sha256, sha256File } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

const FILES = Array.from({ length: 8 }, (_, i) => [`pub/d/f${i}.bin`, content(MiB, 300 + i)] as const);

async function setup(faultFirst: boolean) {
  const roots = t.roots(2, Object.fromEntries(FILES));
  const handles = await Promise.all(
    roots.map(async (root, i) =>
      t.track(await startFtpServer({ root, linkRate: 4_000_000, fault: faultFirst && i === 0 ? { type: 'error', afterBytes: 300_000 } : { type: 'none' } })),
    ),
  );
  const work = t.dir();
  const cert = join(work, 'mirrors.yaml');
  writeFileSync(cert, ['service: bulk.test', 'director:', '  policy: ordered', 'mirrors:', ...handles.flatMap((h, i) => [`  - url: ${h.url}pub`, `    name: m${i + 1}`, '    max_connections: 2'])].join('\n') + '\n');
  return { handles, work, cert };
}

describe('bulk downloads', () => {
  it('-i LIST -j 3: every file intact, never more than max_connections transfers on a mirror', async () => {
    const { handles, work, cert } = await setup(true);
    const list = join(work, 'list.txt');
    writeFileSync(list, ['# the files', ...FILES.map(([p]) => p.replace('pub/', '')), ''].join('\n'));
    const peaks = handles.map(() => 0);
    // Transfers, not sessions: a session the client has just closed lingers on the server a moment.
    const sampler = setInterval(() => handles.forEach((h, i) => (peaks[i] = Math.max(peaks[i]!, h.stats.activeTransfers))), 5);
    const run = runCli(['get', '-i', list, '-j', '3', '--cert', cert, '-d', join(work, 'out'), '--json', '--no-state']);
    const code = await run.exit;
    clearInterval(sampler);
    expect(code).toBe(0);
    for (const [p, data] of FILES) expect(sha256File(join(work, 'out', p.replace('pub/', '')))).toBe(sha256(data));
    expect(peaks.every((p) => p <= 2)).toBe(true);
    expect(peaks[1]).toBeGreaterThan(0);
    // The first three files started together on the faulty m1, broke there and resumed on m2 at
    // their offsets; m1 then cooled down, so the rest went straight to m2.
    const failovers = run.events.filter((e) => e.type === 'failover');
    expect(failovers.map((e) => `${e.mirror}:${e.kind}`)).toEqual(['m1:broken', 'm1:broken', 'm1:broken']);
    const dones = run.events.filter((e) => e.type === 'done');
    expect(dones).toHaveLength(FILES.length);
    for (const done of dones) expect((done.bytesByMirror.m1 ?? 0) + done.bytesByMirror.m2).toBe(MiB);
    expect(dones.filter((d) => (d.bytesByMirror.m1 ?? 0) > 0)).toHaveLength(3);
  });

  it('reads the list from stdin with -i -', async () => {
    const { work, cert } = await setup(false);
    const child = spawn(process.execPath, [CLI, 'get', '-i', '-', '-j', '2', '--cert', cert, '-d', work, '--no-state', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.end(FILES.slice(0, 3).map(([p]) => p.replace('pub/', '')).join('\n'));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    // A list keeps each file's remote path under -d.
    for (const [p, data] of FILES.slice(0, 3)) expect(sha256File(join(work, p.replace('pub/', '')))).toBe(sha256(data));
  });

  it('two paths that would land on the same file are a usage error', async () => {
    const { work, cert } = await setup(false);
    const run = runCli(['get', 'd/f0.bin', '/d/./f0.bin', '--cert', cert, '-d', work]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('both be written');
  });
});
