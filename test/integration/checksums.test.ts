// Trust no mirror, the copies that look whole: a copy with other bytes of the same size and time,
// or one cut short and served whole with its own size. Published checksum files (verified while
// the file is written) catch the first; the other mirrors' word on the size catches the second.

import { existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();
const data = content(2 * MiB, 21);
/** The same size, 16 bytes changed past the first MiB (beyond any overlap a resume re-reads). */
const altered = Buffer.from(data);
altered.fill(0x55, MiB + 4096, MiB + 4112);
const truncated = data.subarray(0, 1536 * 1024);

const sumsOf = (files: Record<string, Buffer>, algorithm = 'sha256', prefix = '') =>
  Buffer.from(Object.entries(files).map(([name, bytes]) => `${createHash(algorithm).update(bytes).digest('hex')}  ${prefix}${name}\n`).join(''));

/** An emulated mirror serving these files under pub/. */
async function mirror(name: string, files: Record<string, Buffer>) {
  const [root] = t.roots(1, Object.fromEntries(Object.entries(files).map(([p, b]) => [`pub/${p}`, b])));
  const server = t.track(await startFtpServer({ root: root! }));
  return { name, url: server.url + 'pub', server };
}

/** `get a.bin` (policy ordered: the mirrors are tried in the order given). */
async function get(mirrors: { name: string; url: string }[], checksums?: string) {
  const dir = t.dir();
  const extra = checksums ? `checksums: ${checksums}\n` : '';
  const cert = writeCert(dir, mirrors, extra);
  const run = runCli(['get', 'a.bin', '--cert', cert, '-d', dir, '--json', '--no-state', '--policy', 'ordered']);
  return { run, dir, code: await run.exit };
}

const failovers = (events: CliEvent[]) => events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`);

describe('published checksums', () => {
  it('an altered copy of the same size and time on the first mirror is refused as corrupt; the file is the honest copy', async () => {
    const sums = sumsOf({ 'a.bin': data });
    const bad = await mirror('bad', { 'a.bin': altered, SHA256SUMS: sums });
    const { run, dir, code } = await get([bad, await mirror('good1', { 'a.bin': data, SHA256SUMS: sums }), await mirror('good2', { 'a.bin': data, SHA256SUMS: sums })], 'SHA256SUMS');
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['bad:corrupt']);
    const f = run.events.find((e) => e.type === 'failover')!;
    expect(f.message).toBe(`sha256 ${sha256(altered)} after bad, SHA256SUMS (bad, good1) says ${sha256(data)}`);
    // The refused copy's bytes were thrown away: the file is good1's alone.
    expect(run.events.find((e) => e.type === 'done')!.bytesByMirror).toEqual({ good1: data.length });
  });

  it('a mirror publishing a forged SHA256SUMS that matches its forged copy is outvoted by the other two', async () => {
    const forger = await mirror('forger', { 'a.bin': altered, SHA256SUMS: sumsOf({ 'a.bin': altered }) });
    const honest = sumsOf({ 'a.bin': data });
    const { run, dir, code } = await get([forger, await mirror('good1', { 'a.bin': data, SHA256SUMS: honest }), await mirror('good2', { 'a.bin': data, SHA256SUMS: honest })], 'SHA256SUMS');
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['forger:corrupt']);
    expect(run.events.find((e) => e.type === 'failover')!.message).toMatch(/SHA256SUMS \(good1, good2\) says/);
  });

  it('with two mirrors that disagree on the checksum, it is not used, with a warning', async () => {
    const forger = await mirror('forger', { 'a.bin': data, SHA256SUMS: sumsOf({ 'a.bin': altered }) });
    const { run, dir, code } = await get([forger, await mirror('good', { 'a.bin': data, SHA256SUMS: sumsOf({ 'a.bin': data }) })], 'SHA256SUMS');
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    const warnings = run.events.filter((e) => e.type === 'warning').map((e) => e.message);
    expect(warnings).toEqual(['SHA256SUMS: the mirrors disagree on a.bin (forger against good); its checksum is not used']);
  });

  it('every mirror sends the same other bytes: the checksum file is out of date, exit 3, nothing under the final name', async () => {
    const sums = sumsOf({ 'a.bin': data });
    const { run, dir, code } = await get([await mirror('m1', { 'a.bin': altered, SHA256SUMS: sums }), await mirror('m2', { 'a.bin': altered, SHA256SUMS: sums })], 'SHA256SUMS');
    expect(code).toBe(3);
    expect(existsSync(join(dir, 'a.bin'))).toBe(false);
    expect(run.stderr() + run.events.map((e) => e.message).join('\n')).toContain(
      `a.bin: SHA256SUMS (m1, m2) says sha256 ${sha256(data)}, but m1 and m2 both sent a copy whose sha256 is ${sha256(altered)}: SHA256SUMS (m1, m2) is probably out of date`,
    );
  });

  it('an md5checksums.txt with ./ names (as NCBI publishes) is read when SHA256SUMS is missing', async () => {
    const md5 = sumsOf({ 'a.bin': data }, 'md5', './');
    const names = '[SHA256SUMS, md5checksums.txt]';
    const { run, dir, code } = await get([await mirror('bad', { 'a.bin': altered, 'md5checksums.txt': md5 }), await mirror('good', { 'a.bin': data, 'md5checksums.txt': md5 })], names);
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(run.events.find((e) => e.type === 'failover')!.message).toMatch(/^md5 [0-9a-f]{32} after bad, md5checksums.txt \(bad, good\) says/);
  });
});

describe('published checksums in a tree', () => {
  const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`${i < 4 ? 'x' : 'y/z'}/f${i}.bin`, content(200_000 + i * 1000, 40 + i)]));
  const sums = (dir: string) => sumsOf(Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith(dir + '/f')).map(([p, b]) => [p.slice(dir.length + 1), b])));
  /** The tree under t/, with the files named in `spoiled` altered (same size). */
  const tree = (...spoiled: string[]) => ({
    ...Object.fromEntries(Object.entries(files).map(([p, b]) => [`t/${p}`, spoiled.includes(p) ? Buffer.from(b).fill(7, 1000, 1010) : b])),
    't/x/SHA256SUMS': sums('x'),
    't/y/z/SHA256SUMS': sums('y/z'),
  });
  async function getTree(ms: { name: string; url: string }[], jobs: number) {
    const dir = t.dir();
    const cert = writeCert(dir, ms, 'checksums: SHA256SUMS\n');
    const run = runCli(['get', '-r', 't', '-j', String(jobs), '--cert', cert, '-d', join(dir, 'out'), '--json', '--no-state', '--policy', 'ordered']);
    expect(await run.exit).toBe(0);
    for (const [p, b] of Object.entries(files)) expect(sha256File(join(dir, 'out', p))).toBe(sha256(b));
    return run;
  }

  it('get -r -j 4: each directory\'s SHA256SUMS is read once a run, not once a file; an altered copy is never kept', async () => {
    const ms = [await mirror('bad', tree('x/f1.bin', 'y/z/f6.bin')), await mirror('good1', tree()), await mirror('good2', tree())];
    const run = await getTree(ms, 4);
    // Which files reach 'bad' depends on the timing of four transfers; any that did were refused.
    for (const e of run.events.filter((e) => e.type === 'failover')) expect([`${e.mirror}:${e.kind}`, e.file]).toEqual(['bad:corrupt', expect.stringMatching(/^t\/(x\/f1|y\/z\/f6)\.bin$/)]);
    // Besides the attempts, each directory's SHA256SUMS was read by two mirrors: the emulators count the RETRs.
    const retrs = ms.reduce((n, m) => n + m.server.stats.transfers, 0);
    const attempts = run.events.filter((e) => e.type === 'attempt').length;
    expect(retrs - attempts).toBe(2 * 2);
  });

  it('get -r -j 1: an altered copy in each directory, on each of two mirrors, is refused by that directory\'s SHA256SUMS', async () => {
    // In order: a serves x/ until its f1 is refused; b then serves until its y/z/f6 is refused; a,
    // back first of the two cooling, serves the rest.
    const run = await getTree([await mirror('a', tree('x/f1.bin')), await mirror('b', tree('y/z/f6.bin'))], 1);
    const refused = run.events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}:${e.file}`);
    expect(refused).toEqual(['a:corrupt:t/x/f1.bin', 'b:corrupt:t/y/z/f6.bin']);
    expect(run.events.find((e) => e.type === 'failover' && e.mirror === 'b')!.message).toMatch(/after b, SHA256SUMS \(a, b\) says [0-9a-f]{64}$/);
  });
});

describe('the size, put to other mirrors', () => {
  it('a copy cut short and served whole with its own SIZE is outvoted by the two other mirrors', async () => {
    const { run, dir, code } = await get([await mirror('cut', { 'a.bin': truncated }), await mirror('good1', { 'a.bin': data }), await mirror('good2', { 'a.bin': data })]);
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['cut:mismatch']);
    expect(run.events.find((e) => e.type === 'failover')!.message).toMatch(/^cut has 1572864 bytes, other mirrors say otherwise \(good1 2097152(, good2 2097152)?\)$/);
    expect(readdirSync(dir).filter((f) => f.startsWith('a.bin.part'))).toHaveLength(1); // the cut copy, set aside
  });

  it('with one other mirror, the larger size wins the tie', async () => {
    const { run, dir, code } = await get([await mirror('cut', { 'a.bin': truncated }), await mirror('good', { 'a.bin': data })]);
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(data));
    expect(failovers(run.events)).toEqual(['cut:mismatch']);
  });

  it('a single mirror is taken at its word: nobody to ask', async () => {
    const { dir, code } = await get([await mirror('only', { 'a.bin': truncated })]);
    expect(code).toBe(0);
    expect(sha256File(join(dir, 'a.bin'))).toBe(sha256(truncated));
  });
});
