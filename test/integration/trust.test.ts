// Trust no mirror: each class of hostile or broken mirror, injected for real by the project's own
// hostile server beside honest ones, and judged by the bytes on disk, the exit code, the message
// and, where it matters, time.

import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerHandle } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, type CliEvent, type CliRun } from '../helpers/fixtures.js';
import { startHostileFtpd, type HostileFtpd, type HostileOptions } from '../helpers/hostile-ftpd.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();
const size = 2 * MiB;
const data = content(size, 11);
const other = content(size, 12);

type Mirror = { name: string; url: string };

/** A hostile mirror serving a.bin (and `files`), misbehaving as told. */
async function hostile(name: string, options: HostileOptions = {}): Promise<Mirror & { server: HostileFtpd }> {
  const server = t.track(await startHostileFtpd({ files: { '/pub/a.bin': data }, ...options }));
  return { name, url: server.url + 'pub', server };
}

/** An honest emulated mirror serving a.bin. */
async function honest(name: string, options: { linkRate?: number; files?: Record<string, Buffer> } = {}): Promise<Mirror & { server: FtpServerHandle }> {
  const [root] = t.roots(1, options.files ?? { 'pub/a.bin': data });
  const server = t.track(await startFtpServer({ root: root!, linkRate: options.linkRate }));
  return { name, url: server.url + 'pub', server };
}

/** `get a.bin` from these mirrors in this order; `director` overrides the certificate's settings. */
function get(mirrors: Mirror[], extra: { director?: Record<string, string>; args?: string[]; dir?: string } = {}): { run: CliRun; dir: string } {
  const dir = extra.dir ?? t.dir();
  const settings = { policy: 'ordered', stall_timeout: '3s', connect_timeout: '5s', ...extra.director };
  const lines = ['service: test.smartftp', 'director:', ...Object.entries(settings).map(([k, v]) => `  ${k}: ${v}`), 'mirrors:'];
  for (const m of mirrors) lines.push(`  - url: ${m.url}`, `    name: ${m.name}`);
  const cert = join(dir, 'mirrors.yaml');
  writeFileSync(cert, lines.join('\n') + '\n');
  return { run: runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json', ...(extra.args ?? [])]), dir };
}

const failovers = (events: CliEvent[]) => events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`);
const warnings = (events: CliEvent[]) => events.filter((e) => e.type === 'warning').map((e) => e.message as string);

describe('trust no mirror: lies about the file', () => {
  it('a SIZE that is no size (400 digits, Infinity when parsed) is a broken mirror; the honest one serves', async () => {
    const liar = await hostile('liar', { sizeReply: '213 ' + '9'.repeat(400) });
    const { run, dir } = get([liar, await honest('good')]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const f = run.events.find((e) => e.type === 'failover')!;
    expect(f).toMatchObject({ mirror: 'liar', kind: 'broken' });
    expect(f.message).toMatch(/^liar answered SIZE with "213 9999/);
    expect(liar.server.stats.retrs).toBe(0);
  });

  it('a mirror whose SIZE is 1000 bytes more than it sends does not block the file: the honest one serves it whole', async () => {
    const liar = await hostile('liar', { sizeDelta: 1000 });
    const { run, dir } = get([liar, await honest('good')]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    // What the liar sent is kept aside, not spliced.
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.part'))).toHaveLength(1);
    expect(warnings(run.events).some((w) => /the mirrors that said 2098152 bytes sent fewer; good says 2097152/.test(w))).toBe(true);
  });

  it('a mirror that keeps sending past its SIZE never grows the .part past the size; the file is the honest copy', async () => {
    const flood = await hostile('flood', { extraBytes: 'endless' });
    const { run, dir } = get([flood, await honest('good')]);
    const started = performance.now();
    expect(await run.exit).toBe(0);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const f = run.events.find((e) => e.type === 'failover')!;
    expect(f).toMatchObject({ mirror: 'flood', kind: 'corrupt', message: 'flood sent more than the 2097152 bytes the file has' });
    // It was stopped within a few socket reads of the end, not after hundreds of megabytes.
    expect(flood.server.stats.bytesSent).toBeLessThan(size + 16 * MiB);
  });

  it('a probed mirror that floods is stopped at the size, and cannot rank first: its figures are gone', async () => {
    const flood = await hostile('flood', { extraBytes: 'endless' });
    const state = t.dir();
    const { run, dir } = get([await honest('good', { linkRate: 4 * MiB }), flood], { director: { policy: 'ranked' }, args: ['--state-dir', state] });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(flood.server.stats.bytesSent).toBeLessThan(size + 16 * MiB);
    const saved = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8'));
    expect(saved.stats.flood.throughput).toBe(0);
    expect(saved.stats.flood.failures).toEqual(['corrupt']);
    expect(saved.stats.good.throughput).toBeGreaterThan(0);
  });

  it('a .part without its record (another program\'s) is set aside, kept, and the file fetched whole', async () => {
    const dir = t.dir();
    const foreign = Buffer.from('not from any mirror of this service\n'.repeat(1000));
    writeFileSync(join(dir, 'a.bin.part'), foreign);
    const { run } = get([await honest('good')], { dir });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.part.aside'))).toEqual(['a.bin.part.aside']);
    expect(readFileSync(join(dir, 'a.bin.part.aside')).equals(foreign)).toBe(true);
    expect(warnings(run.events).some((w) => w.includes(`has no record of coming from a.bin of test.smartftp; set aside as ${join(dir, 'a.bin.part.aside')}`))).toBe(true);
    expect(run.events.find((e) => e.type === 'done')).toMatchObject({ resumedFrom: 0 });

    // Run after run, set-aside copies do not pile up: the latest one replaces the one before.
    const another = Buffer.from('another stray partial file\n'.repeat(500));
    rmSync(join(dir, 'a.bin'));
    writeFileSync(join(dir, 'a.bin.part'), another);
    const again = get([await honest('good2')], { dir });
    expect(await again.run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.part.aside'))).toEqual(['a.bin.part.aside']);
    expect(readFileSync(join(dir, 'a.bin.part.aside')).equals(another)).toBe(true);
  });

  it('the .part of another remote file with the same size and time is not resumed onto', async () => {
    const dir = t.dir();
    writeFileSync(join(dir, 'a.bin.part'), other.subarray(0, MiB));
    writeFileSync(join(dir, 'a.bin.part.json'), JSON.stringify({ version: 1, service: 'test.smartftp', remotePath: 'b.bin', size, mtime: '2026-01-02T03:04:05.000Z' }));
    const { run } = get([await honest('good')], { dir });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.part.aside'))).toEqual(['a.bin.part.aside']);
  });

  it('resuming onto another copy of the same size and time that differs: that mirror is blamed, and a third that agrees finishes the file', async () => {
    // drop: the true copy, dropping after 1 MiB; other: same size and time, other bytes; good: the true copy.
    const [root] = t.roots(1, { 'pub/a.bin': data });
    const dropping = t.track(await startFtpServer({ root: root!, fault: { type: 'drop', afterBytes: MiB } }));
    const wrong = await hostile('other', { body: { '/pub/a.bin': other } });
    const { run, dir } = get([{ name: 'drop', url: dropping.url + 'pub' }, wrong, await honest('good')]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['drop:broken', 'other:corrupt']);
    const corrupt = run.events.find((e) => e.type === 'failover' && e.kind === 'corrupt')!;
    expect(corrupt.message).toMatch(/^other's copy differs from the bytes on disk at byte \d+$/);
  });

  it('two copies that agree outvote the bytes on disk: those are set aside and the file starts over', async () => {
    // The liar serves other bytes and dies after 1 MiB; both honest mirrors disagree with the disk.
    const [root] = t.roots(1, { 'pub/a.bin': other });
    const liar = t.track(await startFtpServer({ root: root!, fault: { type: 'drop', afterBytes: MiB } }));
    const { run, dir } = get([{ name: 'liar', url: liar.url + 'pub' }, await honest('h1'), await honest('h2')]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    // h2 is not blamed: the liar, whose bytes were outvoted, is cooled down and not tried again.
    expect(failovers(run.events)).toEqual(['liar:broken', 'h1:corrupt', 'h2:mismatch']);
    expect(warnings(run.events).some((w) => /h1 and h2 agree with each other, not with the bytes on disk \(from liar\)/.test(w))).toBe(true);
    const attempts = run.events.filter((e) => e.type === 'attempt');
    expect(attempts.map((e) => `${e.mirror}@${e.offset > 0 ? 'offset' : 0}`), JSON.stringify(attempts)).toEqual(['liar@0', 'h1@offset', 'h2@offset', 'h2@0']);
    expect(attempts[1]!.offset).toBe(attempts[2]!.offset);
    const aside = readdirSync(dir).filter((f) => f.startsWith('a.bin.part.aside'));
    expect(aside).toEqual(['a.bin.part.aside']);
  });

  it('a server without REST finishes a file another mirror started, every byte before the offset checked', async () => {
    const [root] = t.roots(1, { 'pub/a.bin': data });
    const dropping = t.track(await startFtpServer({ root: root!, fault: { type: 'drop', afterBytes: MiB } }));
    const noRest = await hostile('norest', { noRest: true });
    const { run, dir } = get([{ name: 'drop', url: dropping.url + 'pub' }, noRest]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const story = JSON.stringify(run.events.filter((e) => e.type !== 'progress'));
    expect(failovers(run.events), story).toEqual(['drop:broken']);
    expect(noRest.server.stats.commands.filter((c) => c.startsWith('REST')), story).toHaveLength(1);
  });

  it('an empty file is fetched as an empty file, with nothing left behind', async () => {
    const { run, dir } = get([await honest('good', { files: { 'pub/a.bin': Buffer.alloc(0) } })]);
    expect(await run.exit).toBe(0);
    expect(readFileSync(join(dir, 'a.bin')).length).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.'))).toEqual([]);
  });

  it("proftpd's full-server login reply (530 ... try again later) is busy, not a bad login", async () => {
    const full = await hostile('full', { loginReply: '530 Sorry, max 5 users -- try again later' });
    const { run, dir } = get([full, await honest('good')]);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['full:busy']);
  });
});

describe('trust no mirror: hangs', () => {

  it.each([
    ['a SIZE reply trickled a byte a second', { trickle: ['SIZE'] }],
    ['an endless multi-line reply to SIZE', { endlessMultiline: 'SIZE' }],
  ] as const)('%s: given up within the command deadline, the honest mirror serves', async (_, options) => {
    const slow = await hostile('slow', options as HostileOptions);
    const { run, dir } = get([slow, await honest('good')], { director: { connect_timeout: '2s' } });
    const started = performance.now();
    expect(await run.exit).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const f = run.events.find((e) => e.type === 'failover')!;
    expect(f).toMatchObject({ mirror: 'slow', kind: 'stalled', message: 'no complete answer to SIZE within 2 s' });
  });

  it.each([
    ['the greeting never comes', { silentOn: ['greeting'] }, (m: HostileFtpd) => m.stats.sessions > 0],
    ['a mirror never answers SIZE', { silentOn: ['SIZE'] }, (m: HostileFtpd) => m.stats.commands.some((c) => c.startsWith('SIZE'))],
    ['data trickles in', { dataRate: 2000 }, (m: HostileFtpd) => m.stats.retrs > 0],
  ] as const)('Ctrl-C while %s ends the run within a second, exit 130, the .part kept', async (_, options, reached) => {
    const mirror = await hostile('stuck', options as HostileOptions);
    const { run, dir } = get([mirror], { director: { stall_timeout: '30s', connect_timeout: '30s' } });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (reached(mirror.server)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    await new Promise((r) => setTimeout(r, 300));
    const sent = performance.now();
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(performance.now() - sent).toBeLessThan(1000);
    expect(existsSync(join(dir, 'a.bin'))).toBe(false);
    // Whatever came stays for the next run, with its record.
    if (existsSync(join(dir, 'a.bin.part'))) expect(readFileSync(join(dir, 'a.bin.part')).equals(data.subarray(0, readFileSync(join(dir, 'a.bin.part')).length))).toBe(true);
  });

  it('data trickled at 1 byte a second is a stall once a mirror was measured, and the run finishes elsewhere', async () => {
    const good = await honest('good');
    const state = t.dir();
    // A first run measures the honest mirror.
    const first = get([good], { args: ['--state-dir', state] });
    expect(await first.run.exit).toBe(0);
    const slowloris = await hostile('slowloris', { dataRate: 1 });
    const { run, dir } = get([slowloris, good], { args: ['--state-dir', state, '--stall-timeout', '2s'] });
    const started = performance.now();
    expect(await run.exit).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const f = run.events.find((e) => e.type === 'failover')!;
    expect(f).toMatchObject({ mirror: 'slowloris', kind: 'stalled' });
    expect(f.message).toMatch(/^slowloris sent \d+ B\/s, under the \d+ B\/s floor/);
  });

  it('a finished download does not wait for a probe of a trickling mirror', async () => {
    const trickler = await hostile('trickler', { dataRate: 1 });
    const { run, dir } = get([await honest('good'), trickler], { director: { policy: 'ranked' } });
    await run.waitFor((e) => e.type === 'done');
    const done = performance.now();
    expect(await run.exit).toBe(0);
    expect(performance.now() - done).toBeLessThan(2500);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(existsSync(join(dir, 'a.bin.part'))).toBe(false);
  });
});
