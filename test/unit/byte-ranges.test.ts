// Byte-range sets, and how the partial file treats a record with ranges: the sequential path sees
// only the first done range as a prefix, never cuts the .part, and a cut clips the record too.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkedRanges, coveredBytes, donePrefix, mergeRanges, missingRanges } from '../../src/ftp/byte-ranges.js';
import { PartialFile } from '../../src/ftp/partial-file.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

describe('byte ranges', () => {
  it('merges touching and overlapping ranges, drops empty ones, sorts', () => {
    expect(mergeRanges([[50, 60], [0, 10], [10, 20], [15, 30], [40, 40]])).toEqual([[0, 30], [50, 60]]);
  });

  it('says what is missing, the prefix and the bytes covered', () => {
    const done: [number, number][] = [[10, 20], [0, 5], [30, 100]];
    expect(missingRanges(done, 100)).toEqual([[5, 10], [20, 30]]);
    expect(missingRanges([], 7)).toEqual([[0, 7]]);
    expect(missingRanges([[0, 7]], 7)).toEqual([]);
    expect(donePrefix(done)).toBe(5);
    expect(donePrefix([[3, 9]])).toBe(0);
    expect(coveredBytes(done)).toBe(85);
  });

  it('believes only well-formed ranges inside the file', () => {
    expect(checkedRanges([[0, 5], [5, 9]], 10)).toEqual([[0, 9]]);
    for (const bad of [[[0, 11]], [[5, 5]], [[-1, 3]], [[0, 1.5]], [[0]], 'x', [['0', 3]]]) expect(checkedRanges(bad, 10)).toBeUndefined();
  });
});

describe('PartialFile with a record of ranges', () => {
  async function ranged(ranges: unknown) {
    const data = content(1000, 9);
    const p = new PartialFile(join(t.dir(), 'f.bin'));
    writeFileSync(p.partPath, data);
    writeFileSync(p.recordPath, JSON.stringify({ version: 1, remotePath: 'f.bin', size: 1000, ranges }));
    await p.open();
    return { p, data };
  }

  it('takes only the first done range as the prefix to resume from', async () => {
    const { p } = await ranged([[0, 300], [500, 1000]]);
    expect(p.length).toBe(300);
    expect(p.record?.ranges).toEqual([[0, 300], [500, 1000]]);
  });

  it('takes nothing when the ranges do not fit the file', async () => {
    const { p } = await ranged([[0, 2000]]);
    expect(p.length).toBe(0);
    expect(p.record?.ranges).toEqual([]);
  });

  it("a sequential writer from 0 keeps the .part's other ranges instead of cutting it", async () => {
    const { p, data } = await ranged([[500, 1000]]);
    expect(p.length).toBe(0);
    const w = p.writer(0);
    w.write(data.subarray(0, 100), 0);
    w.close();
    expect(statSync(p.partPath).size).toBe(1000);
    expect(readFileSync(p.partPath).subarray(500).equals(data.subarray(500))).toBe(true);
  });

  it('a cut clips the recorded ranges to what stays', async () => {
    const { p } = await ranged([[0, 300], [500, 1000]]);
    await p.truncate(600);
    expect(p.record?.ranges).toEqual([[0, 300], [500, 600]]);
    expect(JSON.parse(readFileSync(p.recordPath, 'utf8')).ranges).toEqual([[0, 300], [500, 600]]);
    await p.truncate(0);
    expect(p.record).toBeUndefined();
  });
});
