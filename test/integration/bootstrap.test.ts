// Bootstrapping the certificate from well-known places (paper 3.2), the cache that makes no single
// host necessary, and the commands around the director's memory.

import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

const dir = () => t.dir();

/** An HTTP server on 127.0.0.1 that serves `body` and counts requests. */
async function httpCert(body: () => string | undefined): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    const text = body();
    if (text === undefined) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/yaml' }).end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.trackAll(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirrors.yaml`, hits: () => hits };
}

async function oneMirror(files: Record<string, Buffer>) {
  const roots = t.roots(1, files);
  const h = await startFtpServer({ root: roots[0]! });
  t.trackAll(h);
  return { handle: h, root: roots[0]!, url: h.url + 'pub' };
}

function certText(url: string, ttl = '1h'): string {
  return `service: boot.test\nttl: ${ttl}\ndirector:\n  policy: ordered\nmirrors:\n  - url: ${url}\n    name: m1\n`;
}

describe('certificate sources', () => {
  it('tries sources in turn, caches the good copy, and falls back to the cache when all are down', async () => {
    const data = content(MiB, 1);
    const m = await oneMirror({ 'pub/a.bin': data });
    let up = true;
    const good = await httpCert(() => (up ? certText(m.url, '0s') : undefined));
    const work = dir();
    const state = join(work, 'state');
    const dead = 'http://127.0.0.1:9/mirrors.yaml'; // discard port: refused at once
    const args = ['get', 'a.bin', '--cert', dead, '--cert', good.url, '-d', work, '--state-dir', state, '--json'];

    const first = runCli(args);
    expect(await first.exit).toBe(0);
    expect(sha256File(join(work, 'a.bin'))).toBe(sha256(data));
    expect(readdirSync(join(state, 'certs')).some((f) => f.endsWith('.yaml'))).toBe(true);

    up = false; // every source down now
    const second = runCli(args);
    expect(await second.exit).toBe(0);
    const warning = second.events.find((e) => e.type === 'warning');
    expect(warning?.message).toMatch(/using the copy cached .* from http:\/\/127\.0\.0\.1/);
  });

  it('a fresh cached copy (within its ttl) spares the sources', async () => {
    const m = await oneMirror({ 'pub/a.bin': content(MiB, 2) });
    const src = await httpCert(() => certText(m.url, '1h'));
    const work = dir();
    const args = ['get', 'a.bin', '--cert', src.url, '-d', work, '--state-dir', join(work, 'state'), '--json'];
    expect(await runCli(args).exit).toBe(0);
    expect(await runCli(args).exit).toBe(0);
    expect(src.hits()).toBe(1);
  });

  it('reads the certificate from an ftp:// URL', async () => {
    const data = content(MiB, 3);
    const m = await oneMirror({ 'pub/a.bin': data });
    putFile(m.root, 'pub/mirrors.yaml', Buffer.from(certText(m.url)));
    const work = dir();
    const run = runCli(['get', 'a.bin', '--cert', `${m.url}/mirrors.yaml`, '-d', work, '--state-dir', join(work, 'state'), '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(work, 'a.bin'))).toBe(sha256(data));
  });

  it('a local certificate with a typo is exit 2 naming the key, even after a good run from it', async () => {
    const m = await oneMirror({ 'pub/a.bin': content(MiB, 6) });
    const work = dir();
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, certText(m.url));
    const args = (file: string) => ['get', file, '--cert', cert, '-d', work, '--state-dir', join(work, 'state')];
    expect(await runCli(args('a.bin')).exit).toBe(0);
    writeFileSync(cert, certText(m.url).replace('policy:', 'polcy:'));
    const sessions = m.handle.stats.sessionsOpened;
    const run = runCli(args('b.bin'));
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${cert}:4:3: director.polcy: unknown key 'polcy'; did you mean 'policy'?`);
    expect(m.handle.stats.sessionsOpened).toBe(sessions);
  });

  it('no source and no cache: exit 2 naming every source', async () => {
    const work = dir();
    const run = runCli(['get', 'a.bin', '--cert', 'http://127.0.0.1:9/x.yaml', '--cert', join(work, 'missing.yaml'), '-d', work, '--state-dir', join(work, 'state')]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('http://127.0.0.1:9/x.yaml');
    expect(run.stderr()).toContain('missing.yaml');
    expect(existsSync(join(work, 'a.bin'))).toBe(false);
  });
});

describe('state commands', () => {
  it('mirrors --probe measures each mirror and saves it; mirrors shows it; --json for scripts', async () => {
    const m = await oneMirror({ 'pub/a.bin': content(MiB, 4) });
    const work = dir();
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, certText(m.url));
    const state = join(work, 'state');
    const probe = runCli(['mirrors', '--probe', '--cert', cert, '--state-dir', state]);
    expect(await probe.exit).toBe(0);
    const show = runCli(['mirrors', '--json', '--cert', cert, '--state-dir', state]);
    expect(await show.exit).toBe(0);
    const parsed = JSON.parse(show.stdout());
    expect(parsed.mirrors[0]).toMatchObject({ name: 'm1', state: 'ok', samples: 1 });
    expect(parsed.mirrors[0].throughput).toBeGreaterThan(0);
  });

  it('a corrupt state file is a warning and a fresh start; --no-state writes nothing', async () => {
    const data = content(MiB, 5);
    const m = await oneMirror({ 'pub/a.bin': data });
    const work = dir();
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, certText(m.url));
    const state = join(work, 'state');
    const run1 = runCli(['get', 'a.bin', '--cert', cert, '-d', join(work, 'o1'), '--state-dir', state, '--json']);
    expect(await run1.exit).toBe(0);
    writeFileSync(join(state, 'boot.test.json'), '{ not json');
    const run2 = runCli(['get', 'a.bin', '--cert', cert, '-d', join(work, 'o2'), '--state-dir', state, '--json']);
    expect(await run2.exit).toBe(0);
    expect(run2.events.some((e) => e.type === 'warning' && /corrupt/.test(e.message))).toBe(true);
    expect(sha256File(join(work, 'o2', 'a.bin'))).toBe(sha256(data));
    const fresh = join(work, 'nostate');
    const run3 = runCli(['get', 'a.bin', '--cert', cert, '-d', join(work, 'o3'), '--state-dir', fresh, '--no-state', '--json']);
    expect(await run3.exit).toBe(0);
    // No state file; and a local certificate is never cached, so nothing at all.
    expect(existsSync(fresh)).toBe(false);
  });
});
