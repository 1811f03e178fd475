// `get` without `-s`: the director splits a large file over the mirrors it measured good, and
// nothing else. The real CLI against emulated mirrors in this process; a first run of two small
// files measures the mirrors, as a user's first files do (with -j 2 one goes to each mirror: a
// whole file's figure, which a pause of the busy machine sways less than a 128 KiB probe's).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPLIT_MIN_BYTES } from '../../src/director/split-choice.js';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);
/** The decision on splitting (the policy's ranking decisions say other things). */
const splitDecision = (events: CliEvent[]) => ofType(events, 'decision').find((e) => /^one mirror at a time: |MiB in ranges from /.test(e.reason as string));

/** Two mirrors at these link rates, one state directory; `get` runs with the ranked policy (it probes). */
async function measuredPair(rates: [number, number], files: Record<string, Buffer>) {
  const roots = t.roots(2, { 'pub/s1.bin': content(4 * MiB, 40), 'pub/s2.bin': content(4 * MiB, 46), ...files });
  const servers = await Promise.all(roots.map(async (root, i) => t.track(await startFtpServer({ root, linkRate: rates[i] }))));
  const work = t.dir();
  const cert = writeCert(work, servers.map((s, i) => ({ url: s.url + 'pub', name: `m${i + 1}` })));
  const state = join(work, 'state');
  const get = (...args: string[]) => runCli(['get', ...args, '--cert', cert, '--policy', 'ranked', '--state-dir', state, '--json', '--debug']);
  // The first files: nothing measured yet, so one mirror at a time.
  const first = get('s1.bin', 's2.bin', '-j', '2', '-d', work);
  expect(await first.exit).toBe(0);
  expect(splitDecision(first.events)?.reason).toMatch(/^one mirror at a time: no mirror measured good to share it \(m1 not measured, m2 not measured\)$/);
  const stats = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8')).stats as Record<string, { throughput: number }>;
  const figures = `figures after the first files: m1 ${stats.m1?.throughput}, m2 ${stats.m2?.throughput} B/s`;
  console.info(figures);
  expect(stats.m1?.throughput, figures).toBeGreaterThan(0);
  expect(stats.m2?.throughput, figures).toBeGreaterThan(0);
  return { servers, work, get };
}

describe('get without -s: split by default', () => {
  it('splits a large file over two mirrors measured as fast; not a small one, nor with -s 1', async () => {
    expect(SPLIT_MIN_BYTES).toBe(20 * MiB);
    const big = content(24 * MiB, 41);
    const mid = content(8 * MiB, 42);
    const { work, get } = await measuredPair([8_000_000, 8_000_000], { 'pub/big.bin': big, 'pub/mid.bin': mid });

    const split = get('big.bin', '-d', work);
    expect(await split.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(big));
    expect(splitDecision(split.events)?.reason).toMatch(/^24\.0 MiB in ranges from m[12], m[12], measured within 50 % of the best$/);
    const byMirror = ofType(split.events, 'done')[0]!.bytesByMirror as Record<string, number>;
    console.info(`split by default: ${JSON.stringify(byMirror)}`);
    expect(byMirror.m1! + byMirror.m2!).toBe(big.length);
    expect(byMirror.m1!).toBeGreaterThan(big.length / 4);
    expect(byMirror.m2!).toBeGreaterThan(big.length / 4);
    expect(ofType(split.events, 'attempt').every((e) => Array.isArray(e.range))).toBe(true);

    // Under the threshold: one mirror at a time, as before.
    const small = get('mid.bin', '-d', work);
    expect(await small.exit).toBe(0);
    expect(sha256File(join(work, 'mid.bin'))).toBe(sha256(mid));
    expect(splitDecision(small.events)?.reason).toBe('one mirror at a time: 8.0 MiB, under the 20.0 MiB worth splitting');
    expect(ofType(small.events, 'attempt').some((e) => e.range !== undefined)).toBe(false);

    // -s 1 forces one mirror at a time: no decision asked, no range.
    const one = get('big.bin', '-s', '1', '-o', join(work, 'one.bin'));
    expect(await one.exit).toBe(0);
    expect(sha256File(join(work, 'one.bin'))).toBe(sha256(big));
    expect(splitDecision(one.events)).toBeUndefined();
    expect(ofType(one.events, 'attempt').some((e) => e.range !== undefined)).toBe(false);
  });

  it('does not split over a mirror measured much slower than the best', async () => {
    const big = content(24 * MiB, 43);
    const { work, get } = await measuredPair([12_000_000, 1_000_000], { 'pub/big.bin': big });
    const run = get('big.bin', '-d', work);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'big.bin'))).toBe(sha256(big));
    expect(splitDecision(run.events)?.reason).toMatch(/^one mirror at a time: only m1 measured good to share it \(m2 at \d+ % of the best\)$/);
    expect(ofType(run.events, 'attempt').some((e) => e.range !== undefined)).toBe(false);
    const byMirror = ofType(run.events, 'done')[0]!.bytesByMirror as Record<string, number>;
    console.info(`slow m2: ${JSON.stringify(byMirror)}`);
    expect(Object.keys(byMirror)).toEqual(['m1']);
  });
});
