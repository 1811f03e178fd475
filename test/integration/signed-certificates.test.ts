// Trust no mirror, end to end through the CLI: a fetched certificate is used and cached only when
// signed by the trusted key; the cache never stands in for a local file; HTTP redirects stay on
// the same origin; a forged membership update is never adopted or saved; and a mirror that only a
// signed update named never receives a password.

import { createServer, type ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, readPrivateKey, signBytes } from '../../src/certificate/signing.js';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const t = cleanupAfterEach();
const KEY = generateSigningKey();
const sign = (text: string, pem = KEY.privatePem) => signBytes(Buffer.from(text), readPrivateKey(pem).key);
const DATA = { 'pub/a.bin': content(64 * 1024, 1), 'pub/b.bin': content(64 * 1024, 2), 'pub/c.bin': content(64 * 1024, 3) };

/** An HTTP server on 127.0.0.1: each path answers with what its handler says (404 when none). */
async function http(routes: Record<string, (res: ServerResponse) => void>) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) route(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.track(server);
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const body = (text: () => string | undefined) => (res: ServerResponse) => {
  const value = text();
  if (value === undefined) res.writeHead(404).end();
  else res.writeHead(200).end(value);
};

function certText(mirrorUrl: string, extra: string[] = [], name = 'm1'): string {
  return ['service: trust.test', ...extra, 'director:', '  policy: ordered', 'mirrors:', `  - url: ${mirrorUrl}`, `    name: ${name}`, ''].join('\n');
}

async function genuineMirror() {
  const [root] = t.roots(1, DATA);
  const server = t.track(await startFtpServer({ root: root! }));
  return { root: root!, url: `${server.url}pub` };
}

const cachedCopies = (state: string) => readdirSync(join(state, 'certs')).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(state, 'certs', f), 'utf8'));

describe('a certificate fetched over http', () => {
  it.each([
    ['pinned with --cert-key', true],
    ['pinned by the cached copy', false],
  ])('a tampered copy is not used nor cached, and the genuine one is used again (%s)', async (_, withKey) => {
    const m = await genuineMirror();
    const attacker = t.track(await startHostileFtpd({ files: { '/pub/a.bin': Buffer.from('evil'), '/pub/b.bin': Buffer.from('evil') } }));
    const genuine = certText(m.url, ['ttl: 0s', `signing_key: ${KEY.publicKey}`]);
    const tampered = certText(`${attacker.url}pub`, ['ttl: 30d']); // the longest a certificate may say
    let served = { text: genuine, sig: sign(genuine) as string | undefined };
    const src = await http({ '/mirrors.yaml': body(() => served.text), '/mirrors.yaml.sig': body(() => served.sig) });
    const work = t.dir();
    const state = join(work, 'state');
    const get = (file: string) =>
      runCli(['get', file, '--cert', `${src.base}/mirrors.yaml`, '-d', work, '--state-dir', state, '--json', ...(withKey ? ['--cert-key', KEY.publicKey] : [])]);

    expect(await get('a.bin').exit).toBe(0);
    expect(cachedCopies(state)).toEqual([genuine]);

    for (const sig of [undefined, sign(tampered, generateSigningKey().privatePem)]) {
      served = { text: tampered, sig };
      const run = get('b.bin');
      expect(await run.exit).toBe(0);
      const warning = run.events.find((e) => e.type === 'warning')?.message as string;
      expect(warning).toMatch(/not used: it needs a signature by .*; using the copy cached .* from http:\/\/127\.0\.0\.1/);
      expect(cachedCopies(state)).toEqual([genuine]);
      rmSync(join(work, 'b.bin'));
    }
    expect(attacker.stats.sessions).toBe(0);

    served = { text: genuine, sig: sign(genuine) };
    const hits = src.hits.length;
    const again = get('c.bin');
    expect(await again.exit).toBe(0);
    expect(again.events.filter((e) => e.type === 'warning')).toEqual([]);
    expect(src.hits.length).toBeGreaterThan(hits);
    expect(sha256File(join(work, 'c.bin'))).toBe(sha256(DATA['pub/c.bin']));
  });

  it('a cached copy spares the source only within its own ttl, counted from when it was fetched', async () => {
    const m = await genuineMirror();
    const src = await http({ '/mirrors.yaml': body(() => certText(m.url, ['ttl: 1h'])) });
    const work = t.dir();
    const state = join(work, 'state');
    const get = (file: string) => runCli(['get', file, '--cert', `${src.base}/mirrors.yaml`, '-d', work, '--state-dir', state]);
    expect(await get('a.bin').exit).toBe(0);
    expect(await get('b.bin').exit).toBe(0);
    expect(src.hits).toEqual(['/mirrors.yaml']);
    // The copy's age is what its meta says: older than its ttl, or (a wrong clock) from the future.
    const meta = join(state, 'certs', readdirSync(join(state, 'certs')).find((f) => f.endsWith('.json'))!);
    for (const [file, fetchedAt] of [['c.bin', Date.now() - 2 * 3600_000], ['a.bin', Date.now() + 3600_000]] as const) {
      writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, 'utf8')), fetchedAt: new Date(fetchedAt).toISOString() }));
      rmSync(join(work, file), { force: true });
      const hits = src.hits.length;
      expect(await get(file).exit).toBe(0);
      expect(src.hits.length).toBe(hits + 1);
    }
  });

  it('redirects are followed on the same origin only', async () => {
    const m = await genuineMirror();
    const other = await http({ '/mirrors.yaml': body(() => certText(m.url)) });
    const src = await http({
      '/old.yaml': (res) => res.writeHead(301, { location: '/mirrors.yaml' }).end(),
      '/mirrors.yaml': body(() => certText(m.url)),
      '/away.yaml': (res) => res.writeHead(302, { location: `${other.base}/mirrors.yaml` }).end(),
    });
    const work = t.dir();
    const get = (from: string, file: string) => runCli(['get', file, '--cert', `${src.base}${from}`, '-d', work, '--state-dir', join(work, 'state')]);
    expect(await get('/old.yaml', 'a.bin').exit).toBe(0);
    const away = get('/away.yaml', 'b.bin');
    expect(await away.exit).toBe(2);
    expect(away.stderr()).toContain(`${src.base}/away.yaml: cannot read the certificate: redirected to ${other.base}; redirects are followed within ${src.base} only`);
    expect(other.hits).toEqual([]);
    expect(existsSync(join(work, 'b.bin'))).toBe(false);
  });
});

describe('a certificate fetched over ftp', () => {
  it('one that names a key needs its signature; one signed by another key than --cert-key is refused', async () => {
    const m = await genuineMirror();
    const text = certText(m.url, ['ttl: 0s', `signing_key: ${KEY.publicKey}`]);
    putFile(m.root, 'pub/mirrors.yaml', Buffer.from(text));
    const work = t.dir();
    const get = (file: string, ...more: string[]) =>
      runCli(['get', file, '--cert', `${m.url}/mirrors.yaml`, '-d', work, '--state-dir', join(work, 'state'), ...more]);
    const unsigned = get('a.bin');
    expect(await unsigned.exit).toBe(2);
    expect(unsigned.stderr()).toContain(`${m.url}/mirrors.yaml: not used: it needs a signature by the signing_key it names (at the same place + .sig): not signed`);
    putFile(m.root, 'pub/mirrors.yaml.sig', Buffer.from(sign(text)));
    expect(await get('a.bin').exit).toBe(0);
    const other = generateSigningKey().publicKey;
    const refused = get('b.bin', '--cert-key', other);
    expect(await refused.exit).toBe(2);
    expect(refused.stderr()).toContain(`not used: it needs a signature by the trusted key ${other}`);
    const badKey = get('b.bin', '--cert-key', 'ed25519:nope');
    expect(await badKey.exit).toBe(2);
    expect(badKey.stderr()).toContain('--cert-key ed25519:nope: an Ed25519 public key must be the base64 of 32 bytes');
  });
});

describe('a local certificate file', () => {
  it('never falls back to a cache: a missing one is exit 2 even after a good run', async () => {
    const m = await genuineMirror();
    const work = t.dir();
    const cert = join(work, 'mirrors.yaml');
    writeFileSync(cert, certText(m.url, ['ttl: 1h']));
    const state = join(work, 'state');
    const get = (file: string) => runCli(['get', file, '--cert', cert, '-d', work, '--state-dir', state]);
    expect(await get('a.bin').exit).toBe(0);
    rmSync(cert);
    const run = get('b.bin');
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain(`${cert}: cannot read the certificate`);
  });
});

describe('membership updates through the CLI', () => {
  it('a forged update is ignored and never saved; a mirror from a signed one never gets the password', async () => {
    const secret = 'pw-for-m1-only';
    const [root] = t.roots(1, DATA);
    const m1 = t.track(await startFtpServer({ root: root!, users: { alice: secret } }));
    const hostile = t.track(await startHostileFtpd({ files: { '/pub/c.bin': DATA['pub/c.bin'] } }));
    const work = t.dir();
    const state = join(work, 'state');
    const cert = join(work, 'mirrors.yaml');
    const terms = ['ttl: 0s', 'membership: MIRRORS.yaml', `signing_key: ${KEY.publicKey}`];
    writeFileSync(cert, certText(`ftp://alice@127.0.0.1:${m1.port}/pub`, terms).replace('    name: m1\n', '    name: m1\n    password_env: M1_PASSWORD\n'));
    const get = (file: string) => runCli(['get', file, '--cert', cert, '-d', work, '--state-dir', state, '--json'], { env: { M1_PASSWORD: secret } });
    // The update names only the hostile mirror, and asks it be given m1's password.
    const update = certText(`ftp://alice@127.0.0.1:${hostile.port}/pub`, [], 'm9').replace('    name: m9\n', '    name: m9\n    password_env: M1_PASSWORD\n');

    putFile(root!, 'pub/MIRRORS.yaml', Buffer.from(update));
    const forged = get('a.bin');
    expect(await forged.exit).toBe(0);
    expect(forged.events.find((e) => e.type === 'warning')?.message).toMatch(/^membership: ignoring the update at .*MIRRORS\.yaml: not signed/);
    expect(forged.events.some((e) => e.type === 'membership')).toBe(false);
    const saved = JSON.parse(readFileSync(join(state, 'trust.test.json'), 'utf8'));
    expect(saved.adopted).toBeUndefined();
    expect(saved.mirrors.map((m: { name: string }) => m.name)).toEqual(['m1']);

    putFile(root!, 'pub/MIRRORS.yaml.sig', Buffer.from(sign(update)));
    const adopting = get('b.bin');
    expect(await adopting.exit).toBe(0);
    expect(adopting.events.find((e) => e.type === 'membership')).toMatchObject({ added: ['m9'], removed: ['m1'] });
    const onlyHostile = get('c.bin');
    expect(await onlyHostile.exit).toBe(0);
    expect(sha256File(join(work, 'c.bin'))).toBe(sha256(DATA['pub/c.bin']));
    expect(hostile.stats.commands).toContain('PASS smartftp@');
    expect(hostile.stats.commands.filter((c) => c.includes(secret))).toEqual([]);
  });
});
