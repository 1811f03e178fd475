// "The first five minutes": a service from nothing but mirror URLs, through the real CLI against
// emulated mirrors on 127.0.0.1 (a mirror that is down is a server started and then killed, so
// nothing listens on its port): a file's full URL, --mirror, -i lines of TAB-separated URLs,
// `cert init`; and with no certificate anywhere, exit 2 saying how to start.

import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerHandle } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File } from '../helpers/fixtures.js';

const t = cleanupAfterEach();
const KiB = 1024;
const DATA = { 'a.bin': content(300 * KiB, 41), 'b.bin': content(200 * KiB, 42), 'c.bin': content(100 * KiB, 43) };

/** A mirror serving `files` under `dir`. */
async function mirror(dir: string, files: Partial<typeof DATA>, users?: Record<string, string>) {
  const root = t.dir('smartftp-urls-mirror-');
  for (const [name, data] of Object.entries(files)) putFile(root, `${dir}/${name}`, data);
  return t.track(await startFtpServer({ root, users }));
}

/** A port where a mirror was and nothing listens now. */
async function downMirror(): Promise<FtpServerHandle> {
  const h = await startFtpServer({ root: t.dir() });
  h.kill();
  return h;
}

/** An empty working directory (no mirrors.yaml) and a state directory of its own. */
function place() {
  const work = t.dir('smartftp-urls-work-');
  const env = { XDG_STATE_HOME: join(work, 'state'), SMARTFTP_CERT: undefined };
  const cli = (args: string[], cwd = work) => runCli(args, { cwd, env });
  return { work, env, cli };
}

describe('get with full URLs', () => {
  it('get ftp://127.0.0.1:PORT/pub/a.bin: one mirror, the file lands in the working directory', async () => {
    const m = await mirror('pub', DATA);
    const { work, cli } = place();
    const run = cli(['get', `${m.url}pub/a.bin`, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'a.bin'))).toBe(sha256(DATA['a.bin']));
    expect(run.events.find((e) => e.type === 'done')?.bytesByMirror).toEqual({ [`127.0.0.1:${m.port}`]: DATA['a.bin'].length });
    // It keeps its state like any other service, named from its host.
    expect(existsSync(join(work, 'state', 'smartftp', `urls_127.0.0.1_${m.port}.json`))).toBe(true);
  });

  it('the login comes from ~/.netrc; a password in the URL is refused before any connection', async () => {
    const m = await mirror('pub', DATA, { alice: 'pw-in-netrc' });
    const { work, env } = place();
    const netrc = join(work, 'netrc');
    writeFileSync(netrc, 'machine 127.0.0.1 login alice password pw-in-netrc\n', { mode: 0o600 });
    const ok = runCli(['get', `ftp://alice@127.0.0.1:${m.port}/pub/b.bin`], { cwd: work, env: { ...env, NETRC: netrc } });
    expect(await ok.exit).toBe(0);
    expect(sha256File(join(work, 'b.bin'))).toBe(sha256(DATA['b.bin']));

    const sessions = m.stats.sessionsOpened;
    const refused = runCli(['get', `ftp://alice:s3cret@127.0.0.1:${m.port}/pub/c.bin`], { cwd: work, env });
    expect(await refused.exit).toBe(2);
    expect(refused.stderr()).toContain('the URL contains a password; passwords are not given on the command line: put the login in ~/.netrc, or use a certificate whose mirror has password_env');
    expect(refused.stderr()).not.toContain('s3cret');
    expect(m.stats.sessionsOpened).toBe(sessions);
    expect(existsSync(join(work, 'c.bin'))).toBe(false);
  });

  it('--mirror twice, the first one down: the director fails over to the other base directory', async () => {
    const down = await downMirror();
    const up = await mirror('mirror/pub', DATA);
    const { work, cli } = place();
    const run = cli(['get', '--mirror', `${down.url}pub`, '--mirror', `${up.url}mirror/pub`, 'a.bin', '--policy', 'ordered', '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'a.bin'))).toBe(sha256(DATA['a.bin']));
    const failover = run.events.find((e) => e.type === 'failover');
    expect(failover).toMatchObject({ mirror: `127.0.0.1:${down.port}`, kind: 'unreachable' });
    expect(run.events.find((e) => e.type === 'done')?.bytesByMirror[`127.0.0.1:${up.port}`]).toBe(DATA['a.bin'].length);
  });

  it('-i LIST with TAB-separated URLs: each line one file, its URLs its mirrors', async () => {
    const a = await mirror('pub', { 'a.bin': DATA['a.bin'], 'b.bin': DATA['b.bin'] });
    const b = await mirror('mirror/pub', DATA);
    const { work, cli } = place();
    const list = join(work, 'list.txt');
    const line = (name: string) => `${a.url}pub/${name}\t${b.url}mirror/pub/${name}`;
    writeFileSync(list, ['# three files, two mirrors each', line('a.bin'), '', line('b.bin'), line('c.bin'), ''].join('\n'));
    const run = cli(['get', '-i', list, '-d', 'out', '--policy', 'ordered', '--json']);
    expect(await run.exit).toBe(0);
    for (const [name, data] of Object.entries(DATA)) expect(sha256File(join(work, 'out', name))).toBe(sha256(data));
    // c.bin is missing on the first mirror of its line: the second one gave it.
    expect(run.events.filter((e) => e.type === 'failover').map((e) => `${e.file}:${e.kind}`)).toEqual(['c.bin:missing']);
  });

  it('a line whose URLs name different files: exit 2 with its line number, nothing fetched', async () => {
    const a = await mirror('pub', DATA);
    const { work, cli } = place();
    const list = join(work, 'list.txt');
    writeFileSync(list, [`${a.url}pub/a.bin`, `${a.url}pub/b.bin\t${a.url}other/c.bin`, ''].join('\n'));
    const run = cli(['get', '-i', list]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`smartftp get: ${list} line 2: the URLs name different files ("b.bin", "c.bin"); the URLs of a line are mirrors of one file`);
    expect(a.stats.sessionsOpened).toBe(0);
    expect(existsSync(join(work, 'a.bin'))).toBe(false);
  });
});

describe('cert init', () => {
  it('three URLs, one down: all written with what was found; cert check accepts it and get --cert uses it', async () => {
    const a = await mirror('pub', DATA);
    const b = await mirror('mirror/pub', DATA);
    const down = await downMirror();
    const { work, cli } = place();
    const urls = [`${a.url}pub`, `${b.url}mirror/pub`, `${down.url}pub`];
    const init = cli(['cert', 'init', ...urls, '--out', 'svc.yaml']);
    expect(await init.exit).toBe(0);
    const text = readFileSync(join(work, 'svc.yaml'), 'utf8');
    expect(text).toMatch(new RegExp(`# reachable, \\d+ ms, 3 entries in /pub/; no TLS \\(AUTH TLS: .*\\)\\n  - url: ${a.url}pub\\n`));
    expect(text).toMatch(new RegExp(`# reachable, \\d+ ms, 3 entries in /mirror/pub/; .*\\n  - url: ${b.url}mirror/pub\\n`));
    expect(text).toContain(`  # unreachable: ECONNREFUSED — kept, edit or remove\n  - url: ${down.url}pub\n`);
    expect(init.stdout()).toContain('svc.yaml: written: service urls:127.0.0.1:');
    expect(init.stdout()).toContain('3 mirror(s), 2 reachable');

    const check = cli(['cert', 'check', 'svc.yaml']);
    expect(await check.exit).toBe(0);
    expect(check.stdout()).toContain('svc.yaml: ok: service urls:127.0.0.1:');
    const get = cli(['get', 'b.bin', '--cert', 'svc.yaml', '-d', 'out']);
    expect(await get.exit).toBe(0);
    expect(sha256File(join(work, 'out', 'b.bin'))).toBe(sha256(DATA['b.bin']));

    const again = cli(['cert', 'init', `${a.url}pub`, '--out', 'svc.yaml']);
    expect(await again.exit).toBe(2);
    expect(again.stderr()).toContain('svc.yaml exists; --force replaces it');
    expect(readFileSync(join(work, 'svc.yaml'), 'utf8')).toBe(text);
    const forced = cli(['cert', 'init', `${a.url}pub`, '--out', 'svc.yaml', '--force', '--service', 'mine']);
    expect(await forced.exit).toBe(0);
    expect(readFileSync(join(work, 'svc.yaml'), 'utf8')).toContain('service: mine\n');
  });
});

describe('no certificate anywhere', () => {
  it('no --cert, $SMARTFTP_CERT, ./mirrors.yaml, --mirror nor URL: exit 2 saying how to start', async () => {
    const { work, cli } = place();
    const run = cli(['get', 'a.bin']);
    expect(await run.exit).toBe(2);
    const err = run.stderr();
    expect(err).toContain(`smartftp: no certificate: no --cert, no $SMARTFTP_CERT, and no mirrors.yaml in ${work}`);
    for (const named of ['--cert FILE|URL', '--mirror ftp://host/dir', '`smartftp cert init ftp://host/dir...`']) expect(err).toContain(named);
  });

  it('a certificate used in another directory is not used for a bare get here', async () => {
    const m = await mirror('pub', DATA);
    const { work: elsewhere, env } = place();
    writeFileSync(join(elsewhere, 'mirrors.yaml'), `service: there\nmirrors:\n  - ${m.url}pub\n`);
    expect(await runCli(['get', 'a.bin'], { cwd: elsewhere, env }).exit).toBe(0);
    const here = t.dir('smartftp-urls-here-');
    const sessions = m.stats.sessionsOpened;
    const bare = runCli(['get', 'b.bin'], { cwd: here, env });
    expect(await bare.exit).toBe(2);
    expect(bare.stderr()).toContain(`no mirrors.yaml in ${here}`);
    expect(m.stats.sessionsOpened).toBe(sessions);
    expect(existsSync(join(here, 'b.bin'))).toBe(false);
  });

  it('the cache is keyed by absolute sources: the same relative --cert list elsewhere does not find its copy', async () => {
    const m = await mirror('pub', DATA);
    let up = true;
    const http = createServer((_req, res) => (up ? res.writeHead(200).end(`service: cached\nmirrors:\n  - ${m.url}pub\n`) : res.writeHead(503).end()));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    t.track(http);
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mirrors.yaml`;
    const { work: first, env } = place();
    const args = ['get', 'a.bin', '--cert', 'mirrors.yaml', '--cert', url];
    expect(await runCli(args, { cwd: first, env }).exit).toBe(0);
    up = false;
    // In the same directory the copy stands in for the sources that are down...
    const same = runCli([...args.slice(0, 1), 'b.bin', ...args.slice(2), '--json'], { cwd: first, env });
    expect(await same.exit).toBe(0);
    expect(same.events.find((e) => e.type === 'warning')?.message).toContain('using the copy cached');
    // ...but "mirrors.yaml" elsewhere is another file, so another list.
    const other = t.dir('smartftp-urls-other-');
    const run = runCli(args, { cwd: other, env });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${url}: cannot read the certificate: HTTP 503`);
    expect(existsSync(join(other, 'a.bin'))).toBe(false);
  });
});
