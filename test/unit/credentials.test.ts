import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNetrcPath, resolveCredentials } from '../../src/certificate/credentials.js';
import { findNetrcEntry, parseNetrc, readNetrc } from '../../src/certificate/netrc.js';
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
