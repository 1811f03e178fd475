// "Trust no mirror", items 7 and 9, through the real CLI: names that would climb out of the
// working directory or inject FTP commands, certificate values past their bounds, URLs with
// control characters, and passwords in URLs, each refused (exit 2) before any connection, and no
// password ever printed.

import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/client/membership.js';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { snapshot, StateStore } from '../../src/director/state.js';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File, writeCert } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const t = cleanupAfterEach();
const SECRET = 's3cret-Pa55';

/** Every path under `root` with its size: what "unchanged" is checked against. */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((p) => `${p} ${statSync(join(root, p)).size}`)
    .sort();
}

/** root/parent/work: the run's working directory two levels below a directory we can watch. */
async function setup() {
  const root = t.dir();
  const work = join(root, 'parent', 'work');
  mkdirSync(work, { recursive: true });
  const mirrorRoot = t.dir();
  putFile(mirrorRoot, 'pub/a.bin', content(4096, 7));
  putFile(mirrorRoot, 'a.bin', content(4096, 8));
  const server = t.track(await startFtpServer({ root: mirrorRoot }));
  const cert = writeCert(work, [{ url: `${server.url}pub`, name: 'm1' }]);
  return { root, work, server, cert };
}

describe('get: names refused before any connection', () => {
  const BAD: Array<[string, RegExp]> = [
    ['..', /refused remote path "\.\.": a "\.\." segment is not allowed/],
    ['.', /refused remote path "\.": it names no file/],
    ['/', /refused remote path "\/": it names no file/],
    ['', /refused remote path "": the name is empty/],
    ['a/../../x', /refused remote path "a\/\.\.\/\.\.\/x": a "\.\." segment is not allowed/],
    ['a.bin\r\nDELE x', /refused remote path "a\.bin\\r\\nDELE x": it contains a control character \(CR \(U\+000D\) at character 6\)/],
  ];

  it.each(BAD)('get %j: exit 2, the path named, no connection, nothing written above the working directory', async (name, message) => {
    const { root, work, server, cert } = await setup();
    const before = tree(root);
    const run = runCli(['get', name, '--cert', cert, '--no-state'], { cwd: work });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(server.stats.sessionsOpened).toBe(0);
    expect(tree(root)).toEqual(before);
  });

  it('the same names from -i LIST and with -d DIR, each named with its line', async () => {
    const { root, work, server, cert } = await setup();
    const list = join(work, 'list.txt');
    // A NUL cannot be passed in argv, but a list can hold one.
    writeFileSync(list, ['a.bin', '..', '# comment', 'x/..\\..', '/', 'b\rDELE a.bin', 'c\u0000', ''].join('\n'));
    const before = tree(root);
    const run = runCli(['get', '-i', list, '-d', 'out', '--cert', cert, '--no-state'], { cwd: work });
    expect(await run.exit).toBe(2);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toEqual([
      `smartftp get: refused remote path ".." (${list} line 2): a ".." segment is not allowed`,
      `smartftp get: refused remote path "x/..\\\\.." (${list} line 4): a ".." segment is not allowed`,
      `smartftp get: refused remote path "/" (${list} line 5): it names no file, only a directory ("/" or ".")`,
      `smartftp get: refused remote path "b\\rDELE a.bin" (${list} line 6): it contains a control character (CR (U+000D) at character 2)`,
      `smartftp get: refused remote path "c\\u0000" (${list} line 7): it contains a control character (NUL (U+0000) at character 2)`,
    ]);
    expect(server.stats.sessionsOpened).toBe(0);
    expect(tree(root)).toEqual(before);
  });

  it('a leading "/" still means the mirror\'s base directory, and the file lands in the working directory', async () => {
    const { work, cert } = await setup();
    const run = runCli(['get', '/a.bin', '--cert', cert, '--no-state', '--json'], { cwd: work });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'a.bin'))).toBe(sha256(content(4096, 7)));
  });
});

describe('certificates: bounds and URLs', () => {
  it('1e308 durations and counts: exit 2 naming file, line, key and the range; no connection', async () => {
    const { work, server } = await setup();
    const cert = join(work, 'huge.yaml');
    const url = `${server.url}pub`;
    writeFileSync(cert, `service: huge\nttl: 1e308\ndirector:\n  stall_timeout: 1e308\n  connect_timeout: 30d\nmirrors:\n  - url: ${url}\n    max_connections: 1e308\n`);
    for (const args of [['cert', 'check', cert], ['get', 'a.bin', '--cert', cert, '--no-state']]) {
      const run = runCli(args, { cwd: work });
      expect(await run.exit).toBe(2);
      expect(run.stderr().trim().split('\n')).toEqual([
        `${cert}:2:6: ttl: out of range: allowed 0 up to 30d, got 1e+308`,
        `${cert}:4:18: director.stall_timeout: out of range: allowed more than 0 up to 1h, got 1e+308`,
        `${cert}:5:20: director.connect_timeout: out of range: allowed more than 0 up to 1h, got "30d"`,
        `${cert}:8:22: mirrors[0].max_connections: out of range: allowed 1 to 64, got 1e+308`,
      ]);
    }
    expect(server.stats.sessionsOpened).toBe(0);
  });

  it('--stall-timeout past 1h is a usage error', async () => {
    const { work, cert } = await setup();
    const run = runCli(['get', 'a.bin', '--cert', cert, '--stall-timeout', '30d', '--no-state'], { cwd: work });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('out of range: allowed more than 0 up to 1h');
  });

  it('a mirror URL with CR/LF: exit 2 at its line, no connection', async () => {
    const { work, server } = await setup();
    const cert = join(work, 'crlf.yaml');
    writeFileSync(cert, `service: crlf\nmirrors:\n  - url: "${server.url}pub\\r\\nDELE a.bin"\n`);
    const run = runCli(['get', 'a.bin', '--cert', cert, '--no-state'], { cwd: work });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${cert}:3:10: mirrors[0].url: the URL contains a control character (CR (U+000D)`);
    expect(server.stats.sessionsOpened).toBe(0);
  });

  it('a --cert URL with CR/LF: exit 2, shown escaped, no connection', async () => {
    const { work, server } = await setup();
    const run = runCli(['get', 'a.bin', '--cert', `${server.url}pub/mirrors.yaml\r\nDELE a.bin`, '--no-state'], { cwd: work });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${server.url}pub/mirrors.yaml\\r\\nDELE a.bin: the URL contains a control character (CR (U+000D)`);
    expect(server.stats.sessionsOpened).toBe(0);
  });
});

describe('a password in a URL is never printed', () => {
  it('in a certificate: cert check, get and mirrors say why without it', async () => {
    const { work, server } = await setup();
    const cert = join(work, 'pw.yaml');
    writeFileSync(cert, `service: pw\nmirrors:\n  - ${server.url.replace('ftp://', `ftp://alice:${SECRET}@`)}pub\n`);
    for (const args of [['cert', 'check', cert, '--json'], ['get', 'a.bin', '--cert', cert, '--json', '--no-state'], ['mirrors', '--cert', cert, '--no-state']]) {
      const run = runCli(args, { cwd: work });
      expect(await run.exit).toBe(2);
      expect(run.stderr()).toContain(`${cert}:3:5: mirrors[0]: the URL contains a password`);
      expect(run.stderr() + run.stdout()).not.toContain(SECRET);
    }
    expect(server.stats.sessionsOpened).toBe(0);
  });

  it('in a --cert URL (ftp:// and http://): masked as user:***@host', async () => {
    const { work, server } = await setup();
    for (const url of [`ftp://alice:${SECRET}@127.0.0.1:${server.port}/pub/mirrors.yaml`, `http://alice:${SECRET}@127.0.0.1:9/mirrors.yaml`]) {
      const run = runCli(['get', 'a.bin', '--cert', url, '--json', '--no-state'], { cwd: work });
      expect(await run.exit).toBe(2);
      expect(run.stderr()).toContain(`${url.replace(SECRET, '***')}: `);
      expect(run.stderr() + run.stdout()).not.toContain(SECRET);
    }
    expect(server.stats.sessionsOpened).toBe(0);
  });

  it('in a connection failure: a mirror that quotes the login in its 530 reply', async () => {
    const hostile = t.track(await startHostileFtpd({ files: { '/pub/a.bin': content(100) }, loginReply: `530 Login incorrect: ftp://alice:${SECRET}@127.0.0.1/` }));
    const work = t.dir();
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, `service: pw\nmirrors:\n  - url: ftp://alice@127.0.0.1:${hostile.port}/pub\n    password_env: PW\n`);
    for (const json of [true, false]) {
      const run = runCli(['get', 'a.bin', '--cert', cert, '--no-state', ...(json ? ['--json'] : [])], { cwd: work, env: { PW: SECRET } });
      expect(await run.exit).toBe(1);
      const printed = run.stderr() + run.stdout();
      expect(printed).toContain('Login incorrect: ftp://alice:***@127.0.0.1/');
      expect(printed).not.toContain(SECRET);
    }
    expect(hostile.stats.commands).toContain(`PASS ${SECRET}`);
  });

  it('in mirrors output, for a mirror list adopted into the state file', async () => {
    const { work, server } = await setup();
    // The list was adopted unsigned: the certificate takes such a list only with unsigned: ok.
    const cert = writeCert(work, [{ url: `${server.url}pub`, name: 'm1' }], 'membership: { path: MIRRORS.yaml, unsigned: ok }');
    const state = t.dir();
    const own: MirrorSpec[] = [{ name: 'm1', url: `${server.url}pub`, protocol: 'ftp', host: '127.0.0.1', port: server.port, basePath: '/pub/', maxConnections: 2 }];
    const leaked: MirrorSpec = { ...own[0]!, name: 'old', url: `ftp://alice:${SECRET}@127.0.0.1:${server.port}/pub` };
    const adopted = { base: fingerprint(own), mirrors: [leaked], from: 'an older smartftp', adoptedAt: Date.now() };
    await new StateStore(state).save(snapshot('test.smartftp', [leaked], {}, { adopted }));
    for (const json of [true, false]) {
      const run = runCli(['mirrors', '--cert', cert, '--state-dir', state, ...(json ? ['--json'] : [])], { cwd: work });
      expect(await run.exit).toBe(0);
      expect(run.stdout()).toContain('old');
      if (json) expect(run.stdout()).toContain(`ftp://alice:***@127.0.0.1:${server.port}/pub`);
      expect(run.stderr() + run.stdout()).not.toContain(SECRET);
    }
  });
});
