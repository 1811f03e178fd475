import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNetrcPath, resolveCredentials, resolveLogin } from '../../src/certificate/credentials.js';
import { findNetrcEntry, parseNetrc, readNetrc, readNetrcFile } from '../../src/certificate/netrc.js';
import type { MirrorSpec } from '../../src/certificate/types.js';

function mirror(extra: Partial<MirrorSpec> = {}): MirrorSpec {
  return {
    name: 'local-a',
    url: 'ftp://files.example/pub',
    protocol: 'ftp',
    host: 'files.example',
    port: 21,
    basePath: '/pub/',
    maxConnections: 2,
    ...extra,
  };
}

const NETRC = `machine files.example login alice password alice-pw
machine files.example
  login bob
  password bob-pw account acct

macdef init
cd /pub
machine evil.example login mallory password from-macro

machine other.example login carol password carol-pw
default login guest password guest-pw
`;

describe('parseNetrc', () => {
  it('reads machine and default entries and skips macdef bodies up to the blank line', () => {
    expect(parseNetrc(NETRC)).toEqual([
      { machine: 'files.example', login: 'alice', password: 'alice-pw' },
      { machine: 'files.example', login: 'bob', password: 'bob-pw', account: 'acct' },
      { machine: 'other.example', login: 'carol', password: 'carol-pw' },
      { machine: null, login: 'guest', password: 'guest-pw' },
    ]);
  });

  it('copes with empty text, stray tokens and a macdef at the end', () => {
    expect(parseNetrc('')).toEqual([]);
    expect(parseNetrc('login x password y')).toEqual([]);
    expect(parseNetrc('machine h port 21 login u\nmacdef m\nquit')).toEqual([{ machine: 'h', login: 'u' }]);
    expect(parseNetrc('machine h login u\r\nmacdef m\r\nquit\r\n\r\nmachine g login v')).toEqual([
      { machine: 'h', login: 'u' },
      { machine: 'g', login: 'v' },
    ]);
  });

  it('finds the entry for a host, by login when a user is given, else the default', () => {
    const entries = parseNetrc(NETRC);
    expect(findNetrcEntry(entries, 'FILES.example')?.login).toBe('alice');
    expect(findNetrcEntry(entries, 'files.example', 'bob')?.password).toBe('bob-pw');
    expect(findNetrcEntry(entries, 'files.example', 'dave')).toBeUndefined();
    expect(findNetrcEntry(entries, 'nowhere.example')?.login).toBe('guest');
    expect(findNetrcEntry(entries, 'nowhere.example', 'guest')?.password).toBe('guest-pw');
    expect(findNetrcEntry(parseNetrc('machine h password p'), 'h', 'zoe')).toEqual({ machine: 'h', password: 'p' });
  });
});

describe('resolveCredentials', () => {
  let dir: string;
  let netrc: string;
  let noDefault: string;
  const missing = (): string => join(dir, 'no-such-netrc');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smartftp-cred-'));
    netrc = join(dir, 'netrc');
    noDefault = join(dir, 'netrc-no-default');
    await writeFile(netrc, NETRC);
    await writeFile(noDefault, 'machine files.example login alice password alice-pw\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the password from the variable named by password_env', async () => {
    const env = { MIRROR_A_PASSWORD: 'from-env' };
    await expect(
      resolveCredentials(mirror({ user: 'bob', passwordEnv: 'MIRROR_A_PASSWORD' }), env, netrc),
    ).resolves.toEqual({ user: 'bob', password: 'from-env' });
    await expect(resolveCredentials(mirror({ passwordEnv: 'MIRROR_A_PASSWORD' }), env, netrc)).resolves.toEqual({
      user: 'anonymous',
      password: 'from-env',
    });
  });

  it('throws naming the variable and the mirror when password_env is not set', async () => {
    const promise = resolveCredentials(mirror({ user: 'bob', passwordEnv: 'NOT_SET_ANYWHERE' }), {}, netrc);
    await expect(promise).rejects.toThrow(/NOT_SET_ANYWHERE/);
    await expect(promise).rejects.toThrow(/local-a/);
  });

  it('uses the first netrc machine entry for the host', async () => {
    await expect(resolveCredentials(mirror(), {}, netrc)).resolves.toEqual({ user: 'alice', password: 'alice-pw' });
  });

  it('matches the netrc login when the mirror names a user', async () => {
    await expect(resolveCredentials(mirror({ user: 'bob' }), {}, netrc)).resolves.toEqual({
      user: 'bob',
      password: 'bob-pw',
    });
  });

  it('falls back to the netrc default entry', async () => {
    await expect(resolveCredentials(mirror({ host: 'elsewhere.example' }), {}, netrc)).resolves.toEqual({
      user: 'guest',
      password: 'guest-pw',
    });
  });

  it('does not take a macro body for an entry', async () => {
    await expect(resolveCredentials(mirror({ host: 'evil.example' }), {}, netrc)).resolves.toEqual({
      user: 'guest',
      password: 'guest-pw',
    });
  });

  it('is anonymous when nothing matches or there is no netrc file', async () => {
    const anonymous = { user: 'anonymous', password: 'smartftp@' };
    await expect(resolveCredentials(mirror({ host: 'elsewhere.example' }), {}, noDefault)).resolves.toEqual(anonymous);
    await expect(resolveCredentials(mirror(), {}, missing())).resolves.toEqual(anonymous);
  });

  it('keeps a named user with an empty password when no password is known', async () => {
    await expect(resolveCredentials(mirror({ user: 'dave' }), {}, noDefault)).resolves.toEqual({
      user: 'dave',
      password: '',
    });
  });

  it('reads $NETRC when no path is given', async () => {
    expect(defaultNetrcPath({ NETRC: netrc })).toBe(netrc);
    await expect(resolveCredentials(mirror(), { NETRC: netrc })).resolves.toEqual({
      user: 'alice',
      password: 'alice-pw',
    });
  });

  it('reads a missing netrc file as empty', async () => {
    await expect(readNetrc(missing())).resolves.toEqual([]);
  });
});

describe('parseNetrc reads what curl reads', () => {
  it('takes a token that starts with # for a comment to the end of its line', () => {
    const text = [
      '# my mirrors',
      '   # indented comment: machine evil.example login mallory',
      'machine h login u # the rest is a comment: password not-this',
      '  password p#art   #and a comment',
      'machine g login v#w password "#quoted"',
    ].join('\n');
    expect(parseNetrc(text)).toEqual([
      { machine: 'h', login: 'u', password: 'p#art' },
      { machine: 'g', login: 'v#w', password: '#quoted' },
    ]);
  });

  it('reads a quoted token with its spaces and backslash escapes', () => {
    const text = String.raw`machine h login "my user" password "pass \"word\" \\ \t\n\r \x" account ""` + '\n';
    expect(parseNetrc(text)).toEqual([
      { machine: 'h', login: 'my user', password: 'pass "word" \\ \t\n\r x', account: '' },
    ]);
    // A quoted token ends at its closing quote, whatever follows.
    expect(parseNetrc('machine "h" login "a b"password p')).toEqual([{ machine: 'h', login: 'a b', password: 'p' }]);
    // Quoted keywords are keywords still (curl reads the token, then the keyword).
    expect(parseNetrc('"machine" h "login" u')).toEqual([{ machine: 'h', login: 'u' }]);
  });

  it('takes the rest of the line for a quote left open, and says so', async () => {
    expect(parseNetrc('machine h password "open to the end\nlogin u')).toEqual([
      { machine: 'h', password: 'open to the end', login: 'u' },
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'smartftp-netrc-'));
    try {
      const path = join(dir, 'netrc');
      await writeFile(path, 'machine h\n  password "open\\', { mode: 0o600 });
      await chmod(path, 0o600);
      const file = await readNetrcFile(path);
      expect(file.entries).toEqual([{ machine: 'h', password: 'open\\' }]);
      expect(file.warnings).toEqual([`${path}, line 2: a quoted token has no closing quote`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads keywords in any case, as curl does', () => {
    expect(parseNetrc('MACHINE h Login u PASSWORD p\nDefault login d')).toEqual([
      { machine: 'h', login: 'u', password: 'p' },
      { machine: null, login: 'd' },
    ]);
  });

  it('uses the default entry when no machine matches, and reads no machine after it', () => {
    const entries = parseNetrc('machine a login x password xp\ndefault login d password dp\nmachine b login y password yp\n');
    expect(entries).toEqual([
      { machine: 'a', login: 'x', password: 'xp' },
      { machine: null, login: 'd', password: 'dp' },
    ]);
    expect(findNetrcEntry(entries, 'a')?.login).toBe('x');
    expect(findNetrcEntry(entries, 'b')).toEqual({ machine: null, login: 'd', password: 'dp' });
    // A second default ends the file too.
    expect(parseNetrc('default login d\ndefault login e')).toEqual([{ machine: null, login: 'd' }]);
  });

  it('skips a macdef body up to an empty or blank line, whatever it holds', () => {
    const text = [
      'machine h login u',
      'macdef init',
      'password "not closed',
      '# not a comment, just macro text',
      'machine evil.example login mallory',
      ' \t ',
      'machine g login v',
      'default',
      'macdef bye',
      'quit',
      '',
      'login d',
    ].join('\n');
    expect(parseNetrc(text)).toEqual([
      { machine: 'h', login: 'u' },
      { machine: 'g', login: 'v' },
      // The macdef ends the default entry: the login after the macro belongs to no entry.
      { machine: null },
    ]);
  });
});

describe('the netrc file open to other users', () => {
  let dir: string;
  let open: string;
  let closed: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smartftp-netrc-mode-'));
    open = join(dir, 'netrc-open');
    closed = join(dir, 'netrc-closed');
    await writeFile(open, 'machine files.example login alice password alice-pw\n');
    await chmod(open, 0o644);
    await writeFile(closed, 'machine files.example login alice password alice-pw\n');
    await chmod(closed, 0o600);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(process.platform === 'win32')('is read all the same, with a warning naming the file and its mode', async () => {
    const file = await readNetrcFile(open);
    expect(file.entries).toEqual([{ machine: 'files.example', login: 'alice', password: 'alice-pw' }]);
    expect(file.warnings).toEqual([`${open} can be read or written by other users (mode 644); chmod 600 ${open}`]);
    await chmod(open, 0o620);
    expect((await readNetrcFile(open)).warnings[0]).toMatch(/mode 620/);
    await chmod(open, 0o601);
    expect((await readNetrcFile(open)).warnings[0]).toMatch(/mode 601/);
    await chmod(open, 0o644);
  });

  it('gives no warning for a file only its owner can read, a missing file or /dev/null', async () => {
    await expect(readNetrcFile(closed)).resolves.toEqual({
      entries: [{ machine: 'files.example', login: 'alice', password: 'alice-pw' }],
      warnings: [],
    });
    await expect(readNetrcFile(join(dir, 'missing'))).resolves.toEqual({ entries: [], warnings: [] });
    if (process.platform !== 'win32') await expect(readNetrcFile('/dev/null')).resolves.toEqual({ entries: [], warnings: [] });
  });

  it.skipIf(process.platform === 'win32')('is returned with the login, only when the netrc file was read', async () => {
    const warning = `${open} can be read or written by other users (mode 644); chmod 600 ${open}`;
    await expect(resolveLogin(mirror(), {}, open)).resolves.toEqual({
      credentials: { user: 'alice', password: 'alice-pw' },
      warnings: [warning],
    });
    // Read for a host it has no entry for: the file was read all the same.
    await expect(resolveLogin(mirror({ host: 'elsewhere.example' }), {}, open)).resolves.toEqual({
      credentials: { user: 'anonymous', password: 'smartftp@' },
      warnings: [warning],
    });
    await expect(resolveLogin(mirror({ passwordEnv: 'P' }), { P: 'x' }, open)).resolves.toEqual({
      credentials: { user: 'anonymous', password: 'x' },
      warnings: [],
    });
    await expect(resolveLogin(mirror({ anonymousOnly: true }), {}, open)).resolves.toEqual({
      credentials: { user: 'anonymous', password: 'smartftp@' },
      warnings: [],
    });
    await expect(resolveLogin(mirror(), {}, closed)).resolves.toEqual({
      credentials: { user: 'alice', password: 'alice-pw' },
      warnings: [],
    });
    // resolveCredentials gives the login alone.
    await expect(resolveCredentials(mirror(), {}, open)).resolves.toEqual({ user: 'alice', password: 'alice-pw' });
  });
});
