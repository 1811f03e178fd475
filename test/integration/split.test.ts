// `get --split N` end to end: the real CLI against emulated mirrors in this process (their byte
// counters say what each sent), and hostile ones. Each test checks the sha256 of the result and
// what the servers sent, so a range fetched twice or written where it does not belong shows.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { coveredBytes, missingRanges, type ByteRange } from '../../src/ftp/byte-ranges.js';
import { RECORD_EVERY_BYTES } from '../../src/ftp/range-record.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

/**
 * What a mirror may send that is never written, per range started: the bytes in flight when the
 * client closes the data connection at a range's end, or when a mirror dies (socket buffers).
 */
const IN_FLIGHT = 1 * MiB;
/** Mirrors of other copies are paced: a range of 2 MiB then takes half a second, and no mirror serves the whole file before the other range has begun. */
const PACE = 4_000_000;

async function mirrors(n: number, files: Record<string, Buffer>, linkRate?: number) {
  const roots = t.roots(n, files);
  const servers = await Promise.all(roots.map(async (root) => t.track(await startFtpServer({ root, linkRate }))));
  const work = t.dir();
  const cert = writeCert(work, servers.map((s, i) => ({ url: s.url + 'pub', name: `m${i + 1}` })));
  const sent = () => servers.reduce((a, s) => a + s.stats.bytesSent, 0);
  return { servers, work, cert, sent };
}

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);

/** Three mirrors at 2 MB/s; `get --split 3` interrupted (SIGINT) once `after` bytes are done: the run and its record. */
async function interrupted(size: number, data: Buffer, after: number) {
  const m = await mirrors(3, { 'pub/big.bin': data }, 2_000_000);
  const run = runCli(['get', 'big.bin', '--split', '3', '--cert', m.cert, '-d', m.work, '--json']);
  await run.waitFor((e) => e.type === 'progress' && e.bytes >= after);
  run.child.kill('SIGINT');
  const code = await run.exit;
  const record = JSON.parse(readFileSync(join(m.work, 'big.bin.part.json'), 'utf8')) as { size: number; ranges: ByteRange[] };
  return { ...m, run, code, record };
}
const written = (done: CliEvent) => Object.values(done.bytesByMirror as Record<string, number>).reduce((a, b) => a + b, 0);

describe('get --split', () => {
  it('fetches one file in ranges from four mirrors at once, each serving a share, nothing twice', async () => {
    const size = 16 * MiB;
    const data = content(size, 31);
    const { servers, work, cert, sent } = await mirrors(4, { 'pub/big.bin': data }, 4_000_000);
    const run = runCli(['get', 'big.bin', '--split', '4', '--cert', cert, '-d', work, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    expect(existsSync(join(work, 'big.bin.part'))).toBe(false);
    expect(existsSync(join(work, 'big.bin.part.json'))).toBe(false);
    expect(ofType(run.events, 'start')).toHaveLength(1);
    const done = ofType(run.events, 'done');
    expect(done).toHaveLength(1);
    // Every byte written once; every mirror served at least an eighth of the file.
    expect(written(done[0]!)).toBe(size);
    for (const s of servers) expect(s.stats.bytesSent).toBeGreaterThan(size / 8);
    // The attempts' ranges cover the file; their offsets are the bytes done so far, as reporters count.
    const attempts = ofType(run.events, 'attempt');
    expect(missingRanges(attempts.map((e) => e.range as ByteRange), size)).toEqual([]);
    for (const e of attempts) expect(e.offset).toBeLessThanOrEqual(size);
    const ranges = attempts.length;
    console.info(`4 mirrors: ${ranges} ranges, sent ${sent() - size} bytes more than the file, by mirror ${JSON.stringify(done[0]!.bytesByMirror)}`);
    expect(sent() - size).toBeLessThanOrEqual(ranges * IN_FLIGHT);

    // Run again: the file is complete (the mirror's size and time), nothing is fetched.
    const before = sent();
    const again = runCli(['get', 'big.bin', '--split', '4', '--cert', cert, '-d', work, '--json']);
    expect(await again.exit).toBe(0);
    expect(ofType(again.events, 'skipped')).toEqual([expect.objectContaining({ size, reason: expect.stringMatching(/^already complete: it has m[1-4]'s size and time$/) })]);
    expect(sent()).toBe(before);
    expect(existsSync(join(work, 'big.bin.part'))).toBe(false);
  });

  it('hands a slow mirror\'s remaining bytes to the fast ones (re-balancing)', async () => {
    const size = 16 * MiB;
    const data = content(size, 32);
    const { servers, work, cert } = await mirrors(3, { 'pub/big.bin': data }, 6_000_000);
    servers[0]!.setLinkRate(500_000); // m1, first in line, is twelve times slower
    const run = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', work, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    const byMirror = ofType(run.events, 'done')[0]!.bytesByMirror as Record<string, number>;
    console.info(`slow m1: by mirror ${JSON.stringify(byMirror)}`);
    // Without re-balancing m1 would have had a third of the file (5.3 MiB, 11 s at its rate).
    expect(byMirror.m1!).toBeLessThan(size / 6);
    expect(byMirror.m2! + byMirror.m3!).toBeGreaterThan((size * 5) / 6);
  });

  it('survives a killed mirror: its ranges fail over and resume, nothing written twice', async () => {
    const size = 24 * MiB;
    const data = content(size, 33);
    const { servers, work, cert, sent } = await mirrors(3, { 'pub/big.bin': data }, 3_000_000);
    const run = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', work, '--json']);
    await run.waitFor((e) => e.type === 'progress' && e.bytes >= size / 4);
    const m1Sent = servers[0]!.stats.bytesSent;
    servers[0]!.kill();
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    expect(ofType(run.events, 'failover').map((e) => e.mirror)).toContain('m1');
    const done = ofType(run.events, 'done')[0]!;
    expect(written(done)).toBe(size);
    expect(m1Sent).toBeGreaterThan(0);
    const ranges = ofType(run.events, 'attempt').length;
    console.info(`m1 killed after sending ${m1Sent}: ${ranges} ranges, sent ${sent() - size} more than the file, ${JSON.stringify(done.bytesByMirror)}`);
    expect(sent() - size).toBeLessThanOrEqual(ranges * IN_FLIGHT);
  });

  it('Ctrl-C leaves the .part and a record of its ranges; a re-run fetches only the missing bytes', async () => {
    const size = 24 * MiB;
    const data = content(size, 34);
    const { work, cert, sent, run: first, code, record } = await interrupted(size, data, 6 * MiB);
    expect(code).toBe(130);
    expect(ofType(first.events, 'error')[0]?.message).toMatch(/^interrupted; the partial file stays for the next run$/);
    expect(existsSync(join(work, 'big.bin'))).toBe(false);
    expect(record.size).toBe(size);
    const done = coveredBytes(record.ranges);
    expect(done).toBeGreaterThanOrEqual(6 * MiB);
    expect(done).toBeLessThan(size);
    // Several ranges, not a prefix; and every byte the record vouches for is the file's.
    expect(record.ranges.length).toBeGreaterThan(1);
    const part = readFileSync(join(work, 'big.bin.part'));
    for (const [s, e] of record.ranges) expect(part.subarray(s, e).equals(data.subarray(s, e))).toBe(true);

    const before = sent();
    const again = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', work, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    expect(ofType(again.events, 'start')[0]).toMatchObject({ offset: done, size });
    const missing = size - done;
    expect(written(ofType(again.events, 'done')[0]!)).toBe(missing);
    const ranges = ofType(again.events, 'attempt').length;
    console.info(`re-run: ${done} bytes kept in ${record.ranges.length} ranges, ${missing} missing, servers sent ${sent() - before} in ${ranges} ranges`);
    expect(sent() - before).toBeGreaterThanOrEqual(missing);
    expect(sent() - before).toBeLessThanOrEqual(missing + ranges * IN_FLIGHT);
  });

  it('a killed CLI (no chance to save) leaves a record at most a few MiB behind, and every byte it lists is right', async () => {
    const size = 24 * MiB;
    const data = content(size, 37);
    const { work, cert } = await mirrors(3, { 'pub/big.bin': data }, 2_000_000);
    const first = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', work, '--json']);
    const seen = await first.waitFor((e) => e.type === 'progress' && e.bytes >= 8 * MiB);
    first.child.kill('SIGKILL');
    await first.exit;
    const record = JSON.parse(readFileSync(join(work, 'big.bin.part.json'), 'utf8')) as { ranges: ByteRange[] };
    const kept = coveredBytes(record.ranges);
    console.info(`killed after a progress event at ${seen.bytes}: the record lists ${kept} bytes in ${record.ranges.length} ranges`);
    // Saved every 4 MiB or second while writing: behind by at most that, and one save under way.
    expect(kept).toBeGreaterThanOrEqual(seen.bytes - RECORD_EVERY_BYTES - MiB);
    const part = readFileSync(join(work, 'big.bin.part'));
    for (const [s, e] of record.ranges) expect(part.subarray(s, e).equals(data.subarray(s, e))).toBe(true);
    const again = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', work, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    expect(ofType(again.events, 'start')[0]).toMatchObject({ offset: kept });
  });

  it('a re-run one mirror at a time (-s 1) over a split record resumes from the first gap, never from the .part\'s length', async () => {
    const size = 16 * MiB;
    const data = content(size, 35);
    const { work, cert, sent, code, record } = await interrupted(size, data, 4 * MiB);
    expect(code).toBe(130);
    const gap = missingRanges(record.ranges, size)[0]!;
    expect(gap[0]).toBeGreaterThan(0);
    expect(gap[0]).toBeLessThan(size / 2); // the first range's end, far before the .part's length

    const before = sent();
    const again = runCli(['get', 'big.bin', '-s', '1', '--cert', cert, '-d', work, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    expect(ofType(again.events, 'attempt')[0]).toMatchObject({ offset: gap[0] });
    expect(sent() - before).toBeGreaterThanOrEqual(size - gap[0]);
  });

  it('a range starting after bytes already done re-reads an overlap: a mirror sending other bytes there is blamed, the file ends right', async () => {
    const size = 16 * MiB;
    const data = content(size, 38);
    const { servers, work, code, record } = await interrupted(size, data, 4 * MiB);
    expect(code).toBe(130);
    const gaps = missingRanges(record.ranges, size);
    expect(gaps[0]![0]).toBeGreaterThan(0); // the first missing range follows bytes on disk

    // First in line, the liar takes the first missing range; its overlap is not the disk's bytes.
    // Caught, it must not be handed a range with nothing done before it (a cut's back half) while m1 is busy.
    const liar = t.track(await startHostileFtpd({ files: { '/pub/big.bin': data }, body: { '/pub/big.bin': content(size, 39) } }));
    const cert = writeCert(work, [{ url: liar.url + 'pub', name: 'liar' }, { url: servers[0]!.url + 'pub', name: 'm1' }]);
    const state = join(work, 'state');
    const again = runCli(['get', 'big.bin', '--split', '2', '--cert', cert, '-d', work, '--state-dir', state, '--json']);
    expect(await again.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    const failovers = ofType(again.events, 'failover');
    console.info(`liar: sent ${liar.stats.bytesSent} bytes in ${liar.stats.retrs} RETRs; failovers ${JSON.stringify(failovers.map((e) => [e.mirror, e.kind, e.message]))}`);
    expect(failovers.length).toBeGreaterThan(0);
    for (const e of failovers) expect(e).toMatchObject({ mirror: 'liar', kind: 'corrupt', message: expect.stringMatching(/^liar's copy differs from the bytes on disk at byte \d+$/) });
    const done = ofType(again.events, 'done')[0]!;
    expect((done.bytesByMirror as Record<string, number>).liar).toBeUndefined();
    expect(written(done)).toBe(size - coveredBytes(record.ranges));
    const stats = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8')).stats as Record<string, { failures: string[] }>;
    expect(stats.liar!.failures).toContain('corrupt');
    expect(stats.m1!.failures).toEqual([]);
  });

  it('two mirrors agreeing on an overlap outvote the bytes on disk: the file starts over and ends right', async () => {
    const size = 16 * MiB;
    const data = content(size, 44);
    const { work, cert } = await mirrors(2, { 'pub/big.bin': data }, 8_000_000);
    // An earlier run's first half, with other bytes than the mirrors' copy (its record vouches for them).
    writeFileSync(join(work, 'big.bin.part'), Buffer.concat([content(size / 2, 45), Buffer.alloc(size / 2)]));
    writeFileSync(join(work, 'big.bin.part.json'), JSON.stringify({ version: 1, service: 'test.smartftp', remotePath: 'big.bin', size, ranges: [[0, size / 2]] }));
    const run = runCli(['get', 'big.bin', '--split', '2', '--cert', cert, '-d', work, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(data));
    const failovers = ofType(run.events, 'failover').map((e) => `${e.mirror} ${e.kind}: ${e.message}`);
    console.info(`outvoted disk: ${JSON.stringify(failovers)}`);
    expect(failovers[0]).toMatch(/^m[12] corrupt: m[12]'s copy differs from the bytes on disk at byte \d+$/);
    expect(failovers).toContainEqual(expect.stringMatching(/^m[12] mismatch: m1 and m2 agree with each other, not with the bytes on disk from byte \d+$|^m[12] mismatch: m2 and m1 agree/));
    expect(ofType(run.events, 'warning').map((e) => e.message)).toContainEqual(expect.stringMatching(/starting over$/));
  });

  it('a mirror sending past the file\'s end never writes past it; one sending other bytes never reaches the final name', async () => {
    const size = 4 * MiB;
    const data = content(size, 36);
    const honest = await mirrors(1, { 'pub/f.bin': data });
    const overrun = t.track(await startHostileFtpd({ files: { '/pub/f.bin': data }, extraBytes: MiB }));
    const work = honest.work;
    const cert = writeCert(work, [{ url: overrun.url + 'pub', name: 'bad' }, { url: honest.servers[0]!.url + 'pub', name: 'good' }]);
    const run = runCli(['get', 'f.bin', '--split', '2', '--cert', cert, '-d', work, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'f.bin'))).toBe(sha256(data));
    expect(readFileSync(join(work, 'f.bin')).length).toBe(size);

    // Other bytes everywhere: whichever range the liar serves is wrong.
    const other = Buffer.alloc(size, 0x55);
    // Both paced, so that neither serves the whole file before the other's range has begun.
    const liar = t.track(await startHostileFtpd({ files: { '/pub/g.bin': data }, body: { '/pub/g.bin': other }, dataRate: PACE }));
    const { servers } = await mirrors(1, { 'pub/g.bin': data }, PACE);
    const cert2 = writeCert(work, [{ url: liar.url + 'pub', name: 'liar' }, { url: servers[0]!.url + 'pub', name: 'good' }]);
    const lied = runCli(['get', 'g.bin', '--split', '2', '--sha256', sha256(data), '--cert', cert2, '-d', work, '--json']);
    expect(await lied.exit, lied.stderr()).toBe(0);
    expect(sha256File(join(work, 'g.bin'))).toBe(sha256(data));
    // The ranges' seam gave the liar away before any digest; the file came whole from the other.
    expect(ofType(lied.events, 'warning').map((e) => e.message)).toEqual([expect.stringMatching(/^g\.bin: (liar's and good's|good's and liar's) copies differ at byte \d+; fetching it whole from one mirror$/)]);
    expect(ofType(lied.events, 'done')[0]!.bytesByMirror).toEqual({ good: size });
  });

  it('where two copies differ at a seam, a third mirror tells the odd one: it is blamed, and the file is the others\' copy', async () => {
    const size = 4 * MiB;
    const data = content(size, 48);
    const liar = t.track(await startHostileFtpd({ files: { '/pub/k.bin': data }, body: { '/pub/k.bin': content(size, 49) }, dataRate: PACE }));
    const { servers, work } = await mirrors(2, { 'pub/k.bin': data }, PACE);
    const cert = writeCert(work, [{ url: liar.url + 'pub', name: 'liar' }, ...servers.map((s, i) => ({ url: s.url + 'pub', name: `good${i + 1}` }))]);
    const state = join(work, 'state');
    const run = runCli(['get', 'k.bin', '--split', '2', '--cert', cert, '-d', work, '--state-dir', state, '--json']);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(sha256File(join(work, 'k.bin'))).toBe(sha256(data));
    const warnings = ofType(run.events, 'warning').map((e) => e.message);
    expect(warnings).toEqual([expect.stringMatching(/^k\.bin: liar's copy differs from good1's and good2's at byte \d+; fetching it whole from one mirror$/)]);
    expect(ofType(run.events, 'done')[0]!.bytesByMirror).toEqual({ good1: size });
    const stats = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8')).stats as Record<string, { failures: string[] }>;
    expect(stats.liar!.failures).toContain('corrupt');
    expect(stats.good1!.failures).toEqual([]);
    expect(stats.good2?.failures ?? []).toEqual([]);
  });

  it('two copies of the same size and time that differ are never joined: the file is one mirror\'s copy, whole', async () => {
    const size = 4 * MiB;
    const data = content(size, 46);
    const other = content(size, 47);
    const { servers, work } = await mirrors(1, { 'pub/h.bin': data }, PACE);
    const liar = t.track(await startHostileFtpd({ files: { '/pub/h.bin': data }, body: { '/pub/h.bin': other }, dataRate: PACE }));
    const cert = writeCert(work, [{ url: servers[0]!.url + 'pub', name: 'good' }, { url: liar.url + 'pub', name: 'liar' }]);
    const run = runCli(['get', 'h.bin', '--split', '2', '--cert', cert, '-d', work, '--json']);
    expect(await run.exit, run.stderr()).toBe(0);
    // Without a checksum nothing says which copy is right: the file is one of them, whole, from one mirror.
    const copies = { [sha256(data)]: 'good', [sha256(other)]: 'liar' };
    const from = copies[sha256File(join(work, 'h.bin'))];
    expect(from).toBeDefined();
    expect(ofType(run.events, 'done')[0]!.bytesByMirror).toEqual({ [from!]: size });
    const warnings = ofType(run.events, 'warning').map((e) => e.message);
    expect(warnings).toEqual([expect.stringMatching(/^h\.bin: (liar's and good's|good's and liar's) copies differ at byte \d+; fetching it whole from one mirror$/)]);
    expect(existsSync(join(work, 'h.bin.part'))).toBe(false);
    expect(existsSync(join(work, 'h.bin.part.json'))).toBe(false);
  });
});
