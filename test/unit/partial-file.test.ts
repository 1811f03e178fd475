// The partial file: its length kept from its own writes, its record, provenance checks, and the
// one rename that makes it final.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalError } from '../../src/director/errors.js';
import { HELD_RECORD_BYTES, PartialFile } from '../../src/ftp/partial-file.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, sha256 } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

describe('PartialFile', () => {
  it('opens nothing as length 0 and no record, making the directory', async () => {
    const p = new PartialFile(join(t.dir(), 'sub', 'f.bin'));
    await p.open();
    expect(p.length).toBe(0);
    expect(p.record).toBeUndefined();
    expect(existsSync(join(p.dest, '..'))).toBe(true);
  });

  it('writes at positions, keeps its length, finalizes under the final name only', async () => {
    const data = content(100_000, 3);
    const p = new PartialFile(join(t.dir(), 'f.bin'));
    await p.open();
    await p.saveRecord({ version: 1, remotePath: 'f.bin', size: data.length, mtime: '2020-01-01T00:00:00.000Z' });
    const w = p.writer(0);
    w.write(data.subarray(0, 40_000), 0);
    w.write(data.subarray(40_000), 40_000);
    w.close();
    expect(p.length).toBe(data.length);
    expect(existsSync(p.dest)).toBe(false);
    expect(await p.digest()).toBe(sha256(data));
    await p.finalize();
    expect(sha256(readFileSync(p.dest))).toBe(sha256(data));
    expect(existsSync(p.partPath)).toBe(false);
    expect(existsSync(p.recordPath)).toBe(false);
  });

  it('a held record is written only once the .part needs it: at HELD_RECORD_BYTES, or when kept after an attempt', async () => {
    const record = { version: 1, remotePath: 'f.bin', size: 3 * HELD_RECORD_BYTES } as const;
    const whole = new PartialFile(join(t.dir(), 'whole.bin'));
    await whole.open();
    whole.holdRecord({ ...record, size: 1000 });
    const w = whole.writer(0);
    w.write(content(1000, 2), 0);
    w.close();
    expect(existsSync(whole.recordPath)).toBe(false);
    await whole.finalize();
    expect(readFileSync(whole.dest).length).toBe(1000);
    expect(existsSync(whole.recordPath)).toBe(false);

    const big = new PartialFile(join(t.dir(), 'big.bin'));
    await big.open();
    big.holdRecord(record);
    const b = big.writer(0);
    b.write(content(HELD_RECORD_BYTES - 1, 3), 0);
    expect(existsSync(big.recordPath)).toBe(false);
    b.write(Buffer.from('x'), HELD_RECORD_BYTES - 1);
    b.close();
    expect(JSON.parse(readFileSync(big.recordPath, 'utf8'))).toEqual(record);

    const cut = new PartialFile(join(t.dir(), 'cut.bin'));
    await cut.open();
    cut.holdRecord(record);
    cut.keepRecord(); // nothing on disk to vouch for yet
    expect(existsSync(cut.recordPath)).toBe(false);
    const c = cut.writer(0);
    c.write(content(5000, 4), 0);
    c.close();
    cut.keepRecord();
    expect(JSON.parse(readFileSync(cut.recordPath, 'utf8'))).toEqual(record);
  });

  it('a later run sees the length and the record a previous one left', async () => {
    const dest = join(t.dir(), 'f.bin');
    writeFileSync(`${dest}.part`, content(5000, 1));
    writeFileSync(`${dest}.part.json`, JSON.stringify({ version: 1, remotePath: 'f.bin', size: 9000, mtime: 'T1' }));
    const p = new PartialFile(dest);
    await p.open();
    expect(p.length).toBe(5000);
    expect(p.record).toEqual({ version: 1, remotePath: 'f.bin', size: 9000, mtime: 'T1' });
    expect(p.mismatch('m', 9000, 'T1')).toBeUndefined();
    expect(p.mismatch('m', 9000, undefined)).toBeUndefined();
    expect(p.mismatch('m', 8000, 'T1')).toBe('m has 8000 bytes, the partial file is from a copy of 9000');
    expect(p.mismatch('m', 9000, 'T2')).toBe('m has a copy modified T2, the partial file is from one modified T1');
  });

  it('without a record, bytes beyond the copy\'s size are another file\'s', async () => {
    const dest = join(t.dir(), 'f.bin');
    writeFileSync(`${dest}.part`, content(5000, 1));
    const p = new PartialFile(dest);
    await p.open();
    expect(p.mismatch('m', 4000, undefined)).toBe('m has 4000 bytes, fewer than the 5000 already on disk');
    expect(p.mismatch('m', 6000, undefined)).toBeUndefined();
  });

  it('truncates; at 0 the record goes too', async () => {
    const dest = join(t.dir(), 'f.bin');
    const p = new PartialFile(dest);
    await p.open();
    await p.saveRecord({ version: 1, remotePath: 'f.bin', size: 10 });
    const w = p.writer(0);
    w.write(Buffer.from('0123456789'), 0);
    w.close();
    await p.truncate(4);
    expect(p.length).toBe(4);
    expect(readFileSync(p.partPath, 'utf8')).toBe('0123');
    expect(existsSync(p.recordPath)).toBe(true);
    await p.truncate(0);
    expect(p.length).toBe(0);
    expect(p.record).toBeUndefined();
    expect(existsSync(p.recordPath)).toBe(false);
  });

  it('an unwritable destination is a LocalError naming the path', async () => {
    const dir = t.dir();
    writeFileSync(join(dir, 'file'), 'x');
    const p = new PartialFile(join(dir, 'file', 'f.bin'));
    const error = await p.open().catch((e) => e);
    expect(error).toBeInstanceOf(LocalError);
    expect((error as LocalError).message).toContain(join(dir, 'file'));
  });
});
