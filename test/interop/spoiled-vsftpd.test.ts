// Spoiled copies on real vsftpd mirrors: one cut short (its SIZE says the shorter length) and one
// altered past the first MiB (same size, same time). The other vsftpds' sizes and the published
// SHA256SUMS decide; every file on disk is the honest copy.

import { chmodSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File, writeCert } from '../helpers/fixtures.js';
import { describeWithVsftpd, startVsftpd } from '../helpers/vsftpd.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();
const data = content(3 * MiB, 31);
const altered = Buffer.from(data).fill(0x33, 2 * MiB, 2 * MiB + 8);
const sums = Buffer.from(`${createHash('sha256').update(data).digest('hex')}  a.bin\n`);

/** A vsftpd serving pub/ with these files (readable by the ftp user, not writable). */
async function vsftpd(name: string, files: Record<string, Buffer>) {
  const root = t.dir();
  mkdirSync(join(root, 'pub'), { recursive: true });
  for (const [p, b] of Object.entries(files)) putFile(root, `pub/${p}`, b);
  chmodSync(root, 0o755);
  chmodSync(join(root, 'pub'), 0o755);
  const v = t.track(await startVsftpd({ root }));
  return { name, url: v.url + 'pub' };
}

function get(mirrors: { name: string; url: string }[], extra = '') {
  const dir = t.dir();
  const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, mirrors, extra), '-d', dir, '--json', '--no-state', '--policy', 'ordered']);
  return { run, dir };
}

describeWithVsftpd('spoiled copies on vsftpd', () => {
  it('a copy cut short on the first vsftpd is outvoted by the sizes of the other two', async () => {
    const ms = [await vsftpd('cut', { 'a.bin': data.subarray(0, 2 * MiB) }), await vsftpd('v2', { 'a.bin': data }), await vsftpd('v3', { 'a.bin': data })];
    const { run, dir } = get(ms);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(run.events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`)).toEqual(['cut:mismatch']);
  });

  it('an altered copy on the first vsftpd fails the published SHA256SUMS; the file is the honest copy', async () => {
    const ms = [await vsftpd('bad', { 'a.bin': altered, SHA256SUMS: sums }), await vsftpd('v2', { 'a.bin': data, SHA256SUMS: sums })];
    const { run, dir } = get(ms, 'checksums: SHA256SUMS\n');
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const f = run.events.filter((e) => e.type === 'failover');
    expect(f.map((e) => `${e.mirror}:${e.kind}`)).toEqual(['bad:corrupt']);
    expect(f[0]!.message).toBe(`sha256 ${sha256(altered)} after bad, SHA256SUMS (bad, v2) says ${sha256(data)}`);
  });
});
