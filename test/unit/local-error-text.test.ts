// OS errors on local files in words: real errors from the file system where root can provoke them
// (ENOENT, ENOTDIR, EISDIR, EEXIST), and the sentence for each code that needs another user or
// a special mount (tested through the CLI in test/integration/local-faults.test.ts).

import { mkdirSync, promises as fsp, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMachineFault, localErrorText } from '../../src/util/local-error-text.js';
import { makeDirs } from '../../src/util/make-dirs.js';
import { removeAll, tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => removeAll([dir]));

const failure = (p: Promise<unknown>) => p.then(() => expect.fail('no error'), (e: unknown) => e);

describe('localErrorText', () => {
  it('names the file that stands where a directory is needed (ENOTDIR)', async () => {
    writeFileSync(join(dir, 'afile'), 'x');
    const target = join(dir, 'afile', 'sub', 'x.bin');
    const error = await failure(fsp.writeFile(target, 'y'));
    expect(localErrorText(error, target)).toBe(`${target}: ${join(dir, 'afile')} is a file, not a directory; choose another place, or move that file`);
    expect(isMachineFault(error)).toBe(false);
  });

  it('EISDIR, EEXIST and ENOENT: what is wrong and what to do, by reading or writing', async () => {
    mkdirSync(join(dir, 'adir'));
    expect(localErrorText(await failure(fsp.readFile(join(dir, 'adir'))), 'L', 'read')).toBe('L: is a directory; name a file, not a directory');
    writeFileSync(join(dir, 'there'), 'x');
    expect(localErrorText(await failure(fsp.writeFile(join(dir, 'there'), 'y', { flag: 'wx' })), 'K')).toBe('K: already exists; remove it or choose another name');
    expect(localErrorText(await failure(fsp.readFile(join(dir, 'none'))), 'N', 'read')).toBe('N: no such file or directory; check the name');
  });

  it('every code that stops a run on this machine has its sentence; an unknown one keeps its text without the errno prefix', () => {
    const err = (code: string, message = `${code}: something, open 'x'`) => Object.assign(new Error(message), { code });
    expect(localErrorText(err('ENOSPC'), 'P')).toBe('P: no space left on device; free some space (or choose another -d) and run again');
    expect(localErrorText(err('EDQUOT'), 'P')).toBe('P: disk quota exceeded; free some space or have the quota raised, then run again');
    expect(localErrorText(err('EROFS'), 'P')).toBe('P: read-only file system; choose a destination on a writable file system');
    expect(localErrorText(err('EACCES'), 'P', 'read')).toBe('P: permission denied; check its permissions');
    expect(localErrorText(err('EMFILE'), 'P')).toBe('P: too many open files; use fewer -j jobs, or raise the limit (ulimit -n)');
    expect(localErrorText(err('EIO'), 'P')).toBe('P: input/output error; the disk or file system is failing: check it (dmesg)');
    expect(localErrorText(err('EWHATEVER', "EWHATEVER: odd thing, open 'x'"), 'P')).toBe('P: odd thing');
    for (const code of ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'EIO']) expect(isMachineFault(err(code)), code).toBe(true);
    for (const code of ['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST']) expect(isMachineFault(err(code)), code).toBe(false);
  });
});

describe('makeDirs', () => {
  it('makes every missing level, accepts one that exists, and fails on a file in the way', async () => {
    await makeDirs(join(dir, 'm', 'n', 'o'));
    await makeDirs(join(dir, 'm', 'n', 'o'));
    await Promise.all([makeDirs(join(dir, 'p', 'q')), makeDirs(join(dir, 'p', 'r'))]);
    writeFileSync(join(dir, 'f'), 'x');
    expect(((await failure(makeDirs(join(dir, 'f', 'g')))) as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });

  it('fails at once under /proc, where mkdir answers ENOENT for a parent that exists', async () => {
    expect(((await failure(makeDirs('/proc/smartftp-unit-test/x'))) as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
