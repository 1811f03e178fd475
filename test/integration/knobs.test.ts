// The knobs users of curl, wget and aria2 reach for: -v, --limit-rate, --tries, --retry-wait,
// --connect-timeout and --dry-run, each checked at the servers or on the clock where it matters.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerOptions } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();
const data = content(2 * MiB, 21);

async function mirror(options: Partial<FtpServerOptions> = {}) {
  const [root] = t.roots(1, { 'pub/a.bin': data });
  return t.track(await startFtpServer({ root: root!, ...options }));
}

const kinds = (events: CliEvent[]) => events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`);

describe('get: the knobs', () => {
  it('-v shows the FTP dialogue with the password masked', async () => {
    const locked = await mirror({ users: { alice: 's3cret-pw' } });
    const dir = t.dir();
    const cert = join(dir, 'mirrors.yaml');
    writeFileSync(cert, `service: knobs.test\nmirrors:\n  - url: ${locked.url.replace('ftp://', 'ftp://alice@')}pub\n    name: m1\n    password_env: KNOBS_PW\n`);
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '-v'], { env: { KNOBS_PW: 's3cret-pw' } });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const err = run.stderr();
    expect(err).toContain('m1 > USER alice');
    expect(err).toContain('m1 > PASS ###');
    expect(err).toMatch(/m1 < 213 2097152/);
    expect(err).not.toContain('s3cret-pw');
  });

  it('--limit-rate keeps the transfer to the rate', async () => {
    const m = await mirror();
    const dir = t.dir();
    const started = performance.now();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, [{ url: m.url + 'pub', name: 'm1' }]), '-d', dir, '--json', '--limit-rate', '1M']);
    expect(await run.exit).toBe(0);
    // 2 MiB at 1 MiB/s, less the bucket's quarter-second burst.
    expect(performance.now() - started).toBeGreaterThan(1700);
    // JSON numbers come rounded: rates in whole bytes a second, times to the millisecond.
    const progress = run.events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) expect(Number.isInteger(p.rate)).toBe(true);
    const done = run.events.find((e) => e.type === 'done')!;
    expect(String(done.seconds)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('--tries 1 makes one pass over the mirrors; by default a pass that got somewhere earns another', async () => {
    // Each RETR ends with 426 after 768 KiB (all of them delivered): far more than the 64 KiB a
    // resume re-sends, so each pass gets somewhere.
    const dropping = await mirror({ fault: { type: 'error', afterBytes: 768 * 1024 } });
    const dir = t.dir();
    const cert = writeCert(dir, [{ url: dropping.url + 'pub', name: 'm1' }]);
    const once = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json', '--tries', '1']);
    expect(await once.exit).toBe(1);
    expect(kinds(once.events)).toEqual(['m1:broken']);
    const again = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json']);
    expect(await again.exit, JSON.stringify(again.events.filter((e) => e.type !== 'progress'))).toBe(0);
    expect(kinds(again.events)).toEqual(['m1:broken']);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
  });

  it('--retry-wait waits between passes', async () => {
    const dropping = await mirror({ fault: { type: 'error', afterBytes: 256 * 1024 } });
    const dir = t.dir();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, [{ url: dropping.url + 'pub', name: 'm1' }]), '-d', dir, '--json', '--tries', '2', '--retry-wait', '1s']);
    expect(await run.exit, JSON.stringify(run.events.filter((e) => e.type !== 'progress'))).toBe(1);
    const failover = run.events.find((e) => e.type === 'failover')!;
    const second = run.events.filter((e) => e.type === 'attempt')[1]!;
    expect(Date.parse(second.time) - Date.parse(failover.time)).toBeGreaterThanOrEqual(950);
  });

  it('--connect-timeout gives up on a mirror whose greeting never comes', async () => {
    const silent = t.track(await startHostileFtpd({ files: { '/pub/a.bin': data }, silentOn: ['greeting'] }));
    const good = await mirror();
    const dir = t.dir();
    const cert = writeCert(dir, [
      { url: silent.url + 'pub', name: 'silent' },
      { url: good.url + 'pub', name: 'good' },
    ]);
    const started = performance.now();
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json', '--connect-timeout', '1s']);
    expect(await run.exit).toBe(0);
    expect(performance.now() - started).toBeLessThan(4500);
    expect(run.events.find((e) => e.type === 'failover')).toMatchObject({ mirror: 'silent', kind: 'unreachable', message: 'no login within 1 s' });
  });

  it('--dry-run says where each file would come from, and connects to nothing', async () => {
    const a = await mirror();
    const b = await mirror();
    const dir = t.dir();
    const cert = writeCert(dir, [
      { url: a.url + 'pub', name: 'm1' },
      { url: b.url + 'pub', name: 'm2' },
    ]);
    const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--dry-run']);
    expect(await run.exit).toBe(0);
    expect(run.stderr()).toContain(`a.bin -> ${join(dir, 'a.bin')}: from m1 (then m2)`);
    // A split names the mirrors that share the file.
    const split = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--dry-run', '--split', '2']);
    expect(await split.exit).toBe(0);
    expect(split.stderr()).toContain(`a.bin -> ${join(dir, 'a.bin')}: in up to 2 ranges at once, from m1, m2\n`);
    expect(a.stats.sessionsOpened + b.stats.sessionsOpened).toBe(0);
    expect(existsSync(join(dir, 'a.bin'))).toBe(false);
  });

  it('-o onto a directory is a usage error before any connection', async () => {
    const m = await mirror();
    const dir = t.dir();
    const run = runCli(['get', 'a.bin', '--cert', writeCert(dir, [{ url: m.url + 'pub', name: 'm1' }]), '-o', dir]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`smartftp get: -o ${dir} is a directory; to put the file in it, use -d ${dir}`);
    expect(m.stats.sessionsOpened).toBe(0);
  });
});
