import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChecksumList } from '../../src/client/checksum-list.js';
import { RunningHash } from '../../src/ftp/running-hash.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content } from '../helpers/fixtures.js';

const t = cleanupAfterEach();
const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('RunningHash', () => {
  const data = content(300_000, 3);

  it('bytes written in order are never read back: the file need not exist', async () => {
    const h = new RunningHash();
    h.update(data.subarray(0, 100_000), 0);
    h.update(data.subarray(100_000), 100_000);
    expect(await h.digest('/nonexistent/file', data.length)).toBe(hex('sha256', data));
  });

  it('a prefix from an earlier run and bytes out of order are read from the disk once', async () => {
    const path = join(t.dir(), 'f.part');
    writeFileSync(path, data);
    const h = new RunningHash('md5');
    h.update(data.subarray(200_000), 200_000); // past what is covered: left to the disk
    expect(await h.digest(path, data.length)).toBe(hex('md5', data));
  });

  it('a cut below what is covered, or bytes written again, start the digest over', async () => {
    const path = join(t.dir(), 'f.part');
    const changed = Buffer.from(data);
    changed.writeUInt8(changed.readUInt8(10) ^ 1, 10);
    writeFileSync(path, changed);
    const h = new RunningHash();
    h.update(data, 0);
    h.update(changed.subarray(10, 11), 10);
    expect(await h.digest(path, data.length)).toBe(hex('sha256', changed));
    h.truncated(5);
    expect(await h.digest(path, 5)).toBe(hex('sha256', changed.subarray(0, 5)));
  });
});

describe('parseChecksumList', () => {
  it('reads coreutils, binary-mode and BSD-tagged lines; the algorithm follows the length or the tag', () => {
    const a = 'a'.repeat(64);
    const m = 'B'.repeat(32);
    const text = [`${a}  x.iso`, `${m} *./y.bin`, `SHA512 (z.tar) = ${'c'.repeat(128)}`, '# comment', `${'d'.repeat(63)}  short.bin`, `SHA256 (w) = ${'e'.repeat(32)}`, `${'f'.repeat(40)}  dir/v.txt\r`].join('\n');
    const entries = parseChecksumList(text);
    expect([...entries]).toEqual([
      ['x.iso', { algorithm: 'sha256', hex: a }],
      ['y.bin', { algorithm: 'md5', hex: 'b'.repeat(32) }],
      ['z.tar', { algorithm: 'sha512', hex: 'c'.repeat(128) }],
      ['dir/v.txt', { algorithm: 'sha1', hex: 'f'.repeat(40) }],
    ]);
  });
});
