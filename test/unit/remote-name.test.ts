import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRemoteNames, destinationFor, entryNameProblem, localName, remoteDirProblem, remoteNameProblem, treeDestination } from '../../src/client/remote-name.js';
import { controlCharacter, maskPasswords, printable } from '../../src/util/safe-text.js';

describe('remoteNameProblem', () => {
  it('accepts ordinary names, with or without a leading "/", "." segments and repeated "/"', () => {
    for (const name of ['a.bin', 'pub/x/a.bin', '/pub/x', 'a/./b', 'a//b', 'dir/', '..a', 'a..', 'a b', 'é.txt', '.hidden']) {
      expect(remoteNameProblem(name), name).toBeUndefined();
    }
  });

  it('refuses a name that is empty or blank', () => {
    expect(remoteNameProblem('')).toBe('the name is empty');
    expect(remoteNameProblem('   ')).toBe('the name is empty');
  });

  it('refuses a name that names no file', () => {
    for (const name of ['.', '/', '//', './', '/./.', './/.']) {
      expect(remoteNameProblem(name), name).toMatch(/names no file/);
    }
  });

  it('refuses ".." segments anywhere, also between backslashes', () => {
    for (const name of ['..', '../x', 'a/../../x', 'a/..', '/..', 'a\\..\\x', '..\\x']) {
      expect(remoteNameProblem(name), name).toBe('a ".." segment is not allowed');
    }
  });

  it('refuses control characters, naming the first', () => {
    expect(remoteNameProblem('a.bin\r\nDELE x')).toBe('it contains a control character (CR (U+000D) at character 6)');
    expect(remoteNameProblem('a\nb')).toMatch(/LF \(U\+000A\) at character 2/);
    expect(remoteNameProblem('a\u0000b')).toMatch(/NUL/);
    expect(remoteNameProblem('a\tb')).toMatch(/TAB/);
    expect(remoteNameProblem('a\u007fb')).toMatch(/DEL/);
    expect(remoteNameProblem('a\u0085b')).toMatch(/U\+0085/);
  });
});

describe('destinationFor', () => {
  const dir = resolve('/tmp/out');

  it('puts the last segment of the name inside -d DIR', () => {
    expect(destinationFor('pub/x/a.bin', { dir })).toBe(join(dir, 'a.bin'));
    expect(destinationFor('/a.bin', { dir })).toBe(join(dir, 'a.bin'));
    expect(destinationFor('pub/x/', { dir })).toBe(join(dir, 'x'));
    expect(destinationFor('pub/x/.', { dir })).toBe(join(dir, 'x'));
    expect(localName('a/b/./')).toBe('b');
  });

  it('defaults to the working directory', () => {
    expect(destinationFor('a.bin', {})).toBe(resolve('a.bin'));
  });

  it('takes -o as given', () => {
    expect(destinationFor('a.bin', { output: '../elsewhere.bin', dir })).toBe(resolve('../elsewhere.bin'));
  });

  it('throws when the file would not land directly inside DIR', () => {
    expect(() => destinationFor('/', { dir })).toThrow(/would not be saved inside/);
    expect(() => destinationFor('.', { dir })).toThrow(/would not be saved inside/);
    expect(() => destinationFor('..', { dir })).toThrow(/would not be saved inside/);
  });
});

describe('checkRemoteNames', () => {
  it('gives every destination when all names are good', () => {
    expect(checkRemoteNames(['a', 'b/c'], { dir: '/d' })).toEqual({ dests: [resolve('/d/a'), resolve('/d/b/c')], problems: [] });
  });

  it('keeps the directories the names do not share: files of one directory go straight into DIR', () => {
    expect(checkRemoteNames(['pub/a/x.bin', '/pub/b/./x.bin', 'pub/a/deep/y'], { dir: '/d' }).dests).toEqual([resolve('/d/a/x.bin'), resolve('/d/b/x.bin'), resolve('/d/a/deep/y')]);
    expect(checkRemoteNames(['pub/x/a.tar', 'pub/x/b.tar'], { dir: '/d' }).dests).toEqual([resolve('/d/a.tar'), resolve('/d/b.tar')]);
    expect(checkRemoteNames(['pub/x/big.iso'], { dir: '/d' }).dests).toEqual([resolve('/d/big.iso')]);
  });

  it('names each refused path, escaped, and where it came from', () => {
    const { problems } = checkRemoteNames(['ok', '..', 'x\r\nDELE y'], {}, (i) => (i === 2 ? 'list.txt line 3' : undefined));
    expect(problems).toEqual([
      'refused remote path "..": a ".." segment is not allowed',
      'refused remote path "x\\r\\nDELE y" (list.txt line 3): it contains a control character (CR (U+000D) at character 2)',
    ]);
  });
});

describe('safe text', () => {
  it('finds control characters', () => {
    expect(controlCharacter('plain text')).toBeUndefined();
    expect(controlCharacter('ab\u001b[2J')).toBe('ESC (U+001B) at character 3');
  });

  it('escapes control characters for one-line messages', () => {
    expect(printable('a\r\nb\t\u0000\u007f')).toBe('a\\r\\nb\\t\\u0000\\u007f');
  });

  it('masks the password of every URL, keeping the user', () => {
    expect(maskPasswords('ftp://user:secret@host/')).toBe('ftp://user:***@host/');
    expect(maskPasswords('see https://u:p%40ss@h:8080/x and ftps://a:b@c')).toBe('see https://u:***@h:8080/x and ftps://a:***@c');
    expect(maskPasswords('ftp://u:p@ss@h/x')).toBe('ftp://u:***@h/x');
    expect(maskPasswords('ftp://:pw@h/')).toBe('ftp://:***@h/');
    for (const plain of ['ftp://user@host/', 'ftp://h:21/a@b', 'ftp://h:2121/pub', 'mirrors.yaml']) expect(maskPasswords(plain)).toBe(plain);
  });
});

describe('names in a listing (get -r)', () => {
  it('entryNameProblem takes one plain name, and nothing that could leave the tree', () => {
    for (const name of ['a.bin', '.hidden', '..a', 'a b', 'é']) expect(entryNameProblem(name), name).toBeUndefined();
    for (const name of ['', ' ', '.', '..', '../x', '/etc/x', 'a/b', 'a\\..\\x', 'a\x1bb', 'a\rb', 'a\u0085b']) {
      expect(entryNameProblem(name), JSON.stringify(name)).toBeDefined();
    }
  });

  it('remoteDirProblem takes "/" and "." (the base directory), never ".." or control characters', () => {
    for (const name of ['/', '.', 'pub', '/pub/tree/']) expect(remoteDirProblem(name), name).toBeUndefined();
    for (const name of ['', '..', 'a/../..', 'a\\..', 'a\nb']) expect(remoteDirProblem(name), JSON.stringify(name)).toBeDefined();
  });

  it('treeDestination keeps the path under DIR and refuses anything else', () => {
    const dir = resolve('/tmp/out');
    expect(treeDestination(dir, 'sub/x.bin')).toBe(join(dir, 'sub', 'x.bin'));
    for (const rel of ['../x', 'a/../../x', '/etc/x', 'a//b', '', '.', 'a/./b']) {
      expect(() => treeDestination(dir, rel), rel).toThrow(/inside/);
    }
  });
});
