// -o and -d are judged before any connection: a directory given as -o, a file given as -d.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { destinationProblem } from '../../src/client/destination.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const t = cleanupAfterEach();

describe('destinationProblem', () => {
  it('accepts a new file, a file to replace, a new or existing directory', () => {
    const dir = t.dir();
    writeFileSync(join(dir, 'old.bin'), 'x');
    expect(destinationProblem({ output: join(dir, 'new.bin') })).toBeUndefined();
    expect(destinationProblem({ output: join(dir, 'old.bin') })).toBeUndefined();
    expect(destinationProblem({ output: join(dir, 'sub', 'deeper', 'new.bin') })).toBeUndefined();
    expect(destinationProblem({ dir })).toBeUndefined();
    expect(destinationProblem({ dir: join(dir, 'new', 'dir') })).toBeUndefined();
  });

  it('refuses -o onto a directory, -o ending with a slash, and -d onto a file', () => {
    const dir = t.dir();
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'f'), 'x');
    expect(destinationProblem({ output: join(dir, 'd') })).toEqual({ kind: 'usage', message: `-o ${join(dir, 'd')} is a directory; to put the file in it, use -d ${join(dir, 'd')}` });
    expect(destinationProblem({ output: join(dir, 'newdir') + '/' })?.message).toBe(`-o ${join(dir, 'newdir')}/ ends with a slash: -o names a file; for a directory use -d`);
    expect(destinationProblem({ dir: join(dir, 'f') })).toEqual({ kind: 'usage', message: `-d ${join(dir, 'f')}: it is a file, not a directory` });
    expect(destinationProblem({ output: join(dir, 'f', 'x.bin') })?.message).toBe(`-o ${join(dir, 'f', 'x.bin')}: ${join(dir, 'f')} is not a directory`);
    expect(destinationProblem({ dir: join(dir, 'f', 'sub') })?.message).toBe(`-d ${join(dir, 'f', 'sub')}: ${join(dir, 'f')} is not a directory`);
  });
});
