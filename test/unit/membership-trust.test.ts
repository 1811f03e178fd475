// Trust no mirror (client/membership.ts, client/membership-trust.ts): a membership update is adopted
// only when signed by the local certificate's key (or unsigned where the certificate says so), and
// a mirror that only an update named never receives this user's credentials.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/certificate/load.js';
import { generateSigningKey, readPrivateKey, signBytes } from '../../src/certificate/signing.js';
import type { Certificate } from '../../src/certificate/types.js';
import { fingerprint, MembershipWatcher, startingMembership } from '../../src/client/membership.js';
import { adoptionBase } from '../../src/client/membership-trust.js';
import { Director } from '../../src/director/director.js';
import { policyByName } from '../../src/director/policies.js';
import { startFtpServer } from '../../src/emulator/server.js';
import { FtpPool } from '../../src/ftp/pool.js';
import type { SmartEvent } from '../../src/ui/events.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { putFile } from '../helpers/fixtures.js';
import { startHostileFtpd } from '../helpers/hostile-ftpd.js';

const t = cleanupAfterEach();
const pools: FtpPool[] = [];
afterEach(() => {
  for (const pool of pools.splice(0)) pool.closeAll();
});

const KEY = generateSigningKey();
const PRIVATE = readPrivateKey(KEY.privatePem).key;
const ELSEWHERE = 'ftp://127.0.0.1:9/pub';
const SECRET = 'not-for-strangers';

type Mirror = [name: string, url: string, extra?: string[]];

function certText(mirrors: Mirror[], extra: string[] = []): string {
  const items = mirrors.flatMap(([name, url, more = []]) => [`  - url: ${url}`, `    name: ${name}`, ...more.map((l) => `    ${l}`)]);
  return ['service: trust.test', 'ttl: 60s', ...extra, 'mirrors:', ...items, ''].join('\n');
}

const signed = (text: string, key = PRIVATE) => signBytes(Buffer.from(text), key);

/**
 * A client whose certificate (its own `terms`) names m1, served here with user alice and the
 * password in $SECRET, and m2 elsewhere; m1's connection is idle, as after a download.
 */
async function setup(terms: string[]) {
  const [root] = t.roots(1, {});
  const server = t.track(await startFtpServer({ root: root!, users: { alice: SECRET } }));
  const m1: Mirror = ['m1', `${server.url}pub`, ['user: alice', 'password_env: SECRET']];
  const own = parseCertificate(certText([m1, ['m2', ELSEWHERE]], terms), 'local.yaml');
  const director = new Director({ mirrors: own.mirrors, policy: policyByName('ordered') });
  director.lastMirror = 'm1';
  const pool = new FtpPool({ connectTimeoutMs: 5000, idleTimeoutMs: 10_000, env: { SECRET, NETRC: '/nonexistent' } });
  pools.push(pool);
  pool.release(await pool.acquire(own.mirrors[0]!, new AbortController().signal));
  const events: SmartEvent[] = [];
  const watcher = new MembershipWatcher(own, 0, undefined, (e) => events.push(e), () => 1_000_000_000);
  /** Puts the update at m1's pub/MIRRORS.yaml, and its signature beside it (none: no .sig file). */
  const publish = (text: string, signature?: string) => {
    putFile(root!, 'pub/MIRRORS.yaml', Buffer.from(text));
    if (signature !== undefined) putFile(root!, 'pub/MIRRORS.yaml.sig', Buffer.from(signature));
    else rmSync(join(root!, 'pub/MIRRORS.yaml.sig'), { force: true });
  };
  return { m1, own, director, pool, events, watcher, publish, check: () => watcher.check(director, pool, new AbortController().signal) };
}

const KEYED = [`signing_key: ${KEY.publicKey}`, 'membership: MIRRORS.yaml'];
const warnings = (events: SmartEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
const names = (director: Director) => director.mirrors.map((m) => m.name);

describe('a membership update', () => {
  it('signed by the local key: adopted', async () => {
    const s = await setup(KEYED);
    const update = certText([s.m1, ['m3', 'ftp://127.0.0.1:7/pub']]);
    s.publish(update, signed(update));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm3']);
    expect(s.events).toEqual([expect.objectContaining({ type: 'membership', added: ['m3'], removed: ['m2'] })]);
    expect(s.watcher.adopted?.base).toBe(adoptionBase(s.own));
  });

  it('unsigned, or signed by another key, or changed after signing: ignored with a warning', async () => {
    const s = await setup(KEYED);
    const forged = certText([['evil', 'ftp://127.0.0.1:7/pub']]);
    s.publish(forged);
    await s.check();
    const other = readPrivateKey(generateSigningKey().privatePem).key;
    s.publish(forged, signed(forged, other));
    s.watcher.checkedAt = 0;
    await s.check();
    const genuine = certText([s.m1, ['m3', 'ftp://127.0.0.1:7/pub']]);
    s.publish(forged, signed(genuine));
    s.watcher.checkedAt = 0;
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm2']);
    expect(s.watcher.adopted).toBeUndefined();
    expect(warnings(s.events)).toEqual([
      expect.stringMatching(/^membership: ignoring the update at ftp:.*MIRRORS\.yaml: not signed/),
      expect.stringContaining('does not match'),
      expect.stringContaining('does not match'),
    ]);
  });

  it('without a key and without unsigned: ok, nothing is adopted', async () => {
    const s = await setup(['membership: MIRRORS.yaml']);
    const update = certText([s.m1, ['m3', 'ftp://127.0.0.1:7/pub']]);
    s.publish(update, signed(update));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm2']);
    expect(warnings(s.events)).toEqual([expect.stringContaining('has no signing_key to check it with')]);
  });

  it('with a key and unsigned: ok, an unsigned update is adopted but a bad signature is not', async () => {
    const s = await setup([`signing_key: ${KEY.publicKey}`, 'membership: { path: MIRRORS.yaml, unsigned: ok }']);
    const bad = certText([s.m1, ['m4', 'ftp://127.0.0.1:6/pub']]);
    s.publish(bad, signed('something else'));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm2']);
    expect(warnings(s.events)).toEqual([expect.stringContaining('does not match')]);
    const update = certText([s.m1, ['m3', 'ftp://127.0.0.1:7/pub']]);
    s.publish(update);
    s.watcher.checkedAt = 0;
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm3']);
  });
});

describe('credentials of adopted mirrors', () => {
  it('a mirror only the update names logs in as anonymous; the same mirror keeps its own', async () => {
    const s = await setup(KEYED);
    const hostile = t.track(await startHostileFtpd({ files: { '/pub/x.bin': Buffer.from('x') } }));
    const url = `${hostile.url}pub`;
    // The update asks for the secret for a new mirror, and for "m1" moved to the hostile host.
    const update = certText([
      ['m1', url, ['user: alice', 'password_env: SECRET']],
      ['m3', url, ['user: alice', 'password_env: SECRET']],
      ['m1-too', s.m1[1], ['user: alice', 'password_env: SECRET']],
    ]);
    s.publish(update, signed(update));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm3', 'm1-too']);
    for (const m of s.director.mirrors) {
      expect(m).toMatchObject({ anonymousOnly: true });
      expect(m.passwordEnv).toBeUndefined();
    }
    const signal = new AbortController().signal;
    for (const m of s.director.mirrors.slice(0, 2)) s.pool.release(await s.pool.acquire(m, signal));
    expect(hostile.stats.commands).toContain('PASS smartftp@');
    expect(hostile.stats.commands.filter((c) => c.includes(SECRET))).toEqual([]);
  });

  it('an update that keeps the local mirror keeps its credentials from the local certificate', async () => {
    const s = await setup(KEYED);
    const update = certText([['m1', s.m1[1], ['user: bob', 'password_env: OTHER']], ['m3', 'ftp://127.0.0.1:7/pub']]);
    s.publish(update, signed(update));
    await s.check();
    expect(s.director.mirrors[0]).toMatchObject({ name: 'm1', user: 'alice', passwordEnv: 'SECRET' });
    expect(s.director.mirrors[0]!.anonymousOnly).toBeUndefined();
  });
});

describe('an adopted list from the state', () => {
  const own = (terms: string[]): Certificate => parseCertificate(certText([['m1', ELSEWHERE, ['password_env: SECRET']]], terms), 'local.yaml');
  /** A list as a state file might hold it: asking for other variables for m1 and for a new m3. */
  const list = () => parseCertificate(certText([['m1', ELSEWHERE, ['password_env: OTHER']], ['m3', 'ftp://127.0.0.1:7/pub', ['password_env: SECRET']]]), 'u').mirrors;

  it('gets its credentials from the certificate, like a fresh update', () => {
    const cert = own(KEYED);
    const adopted = { base: adoptionBase(cert), mirrors: list(), from: 'x', adoptedAt: 1 };
    const start = startingMembership(cert, adopted);
    expect(start.map((m) => [m.name, m.passwordEnv, m.anonymousOnly])).toEqual([
      ['m1', 'SECRET', undefined],
      ['m3', undefined, true],
    ]);
  });

  it('is dropped, with a warning, when the certificate no longer takes it', () => {
    const legacy = own(['membership: MIRRORS.yaml']);
    const adopted = { base: fingerprint(legacy.mirrors), mirrors: list(), from: 'ftp://old/MIRRORS.yaml', adoptedAt: 1 };
    expect(startingMembership(legacy, adopted)).toEqual(legacy.mirrors);
    const events: SmartEvent[] = [];
    const watcher = new MembershipWatcher(legacy, 0, adopted, (e) => events.push(e));
    expect(watcher.adopted).toBeUndefined();
    expect(warnings(events)).toEqual([expect.stringContaining('not using the list adopted from ftp://old/MIRRORS.yaml')]);
    // Signing the certificate binds adopted lists to the key: one adopted before is not used.
    const keyed = own(KEYED);
    expect(startingMembership(keyed, { ...adopted, base: fingerprint(keyed.mirrors) })).toEqual(keyed.mirrors);
  });
});
