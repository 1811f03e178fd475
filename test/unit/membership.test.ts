// Lazy membership updates (client/membership.ts) against the embedded FTP server: when a look is
// due, what is adopted, what is ignored, and how an adopted list outlives a restart.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { parseCertificate } from '../../src/certificate/load.js';
import type { Certificate } from '../../src/certificate/types.js';
import { DEFAULT_MEMBERSHIP_TTL, fingerprint, MembershipWatcher, startingMembership } from '../../src/client/membership.js';
import { Director } from '../../src/director/director.js';
import { policyByName } from '../../src/director/policies.js';
import { snapshot, StateStore } from '../../src/director/state.js';
import { FtpPool } from '../../src/ftp/pool.js';
import type { SmartEvent } from '../../src/ui/events.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { putFile } from '../helpers/fixtures.js';

const t = cleanupAfterEach();
const pools: FtpPool[] = [];
afterEach(() => {
  for (const pool of pools.splice(0)) pool.closeAll();
});

/** Port 9 (discard) stands for mirrors this test never connects to. */
const ELSEWHERE = 'ftp://127.0.0.1:9/pub';

function certText(service: string, mirrors: [name: string, url: string][], extra: string[] = []): string {
  return [`service: ${service}`, ...extra, 'mirrors:', ...mirrors.flatMap(([name, url]) => [`  - url: ${url}`, `    name: ${name}`]), ''].join('\n');
}

function cert(text: string): Certificate {
  return parseCertificate(text, 'test.yaml');
}

/**
 * A client's certificate naming m1 (served here) and m2, as after a download from m1: its
 * connection stays open and idle. `publish` puts a certificate at m1's pub/MIRRORS.yaml.
 */
async function setup() {
  const [root] = t.roots(1, {});
  const server = t.track(await startFtpServer({ root: root! }));
  const m1 = `${server.url}pub`;
  const own = cert(certText('members.test', [['m1', m1], ['m2', ELSEWHERE]], ['ttl: 60s', 'membership: { path: MIRRORS.yaml, unsigned: ok }']));
  const director = new Director({ mirrors: own.mirrors, policy: policyByName('ordered') });
  director.lastMirror = 'm1';
  const pool = new FtpPool({ connectTimeoutMs: 5000, idleTimeoutMs: 10_000 });
  pools.push(pool);
  pool.release(await pool.acquire(own.mirrors[0]!, new AbortController().signal));
  const events: SmartEvent[] = [];
  const clock = { now: 1_000_000_000 };
  const watcher = new MembershipWatcher(own, 0, undefined, (e) => events.push(e), () => clock.now);
  return {
    m1,
    own,
    director,
    pool,
    events,
    clock,
    watcher,
    publish: (text: string) => putFile(root!, 'pub/MIRRORS.yaml', Buffer.from(text)),
    check: () => watcher.check(director, pool, new AbortController().signal),
  };
}

const warnings = (events: SmartEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
const names = (director: Director) => director.mirrors.map((m) => m.name);

describe('when a look is due', () => {
  it('once the ttl has passed since the last look; never without a membership path', () => {
    const now = 10_000_000;
    const watcher = (extra: string[], checkedAt: number) =>
      new MembershipWatcher(cert(certText('s', [['m1', ELSEWHERE]], extra)), checkedAt, undefined, () => {}, () => now);
    const both = ['ttl: 60s', 'membership: MIRRORS.yaml'];
    expect(watcher(both, 0).due()).toBe(true);
    expect(watcher(both, now - 59_000).due()).toBe(false);
    expect(watcher(both, now - 60_000).due()).toBe(true);
    // Without a ttl, the default.
    expect(watcher(['membership: MIRRORS.yaml'], now - DEFAULT_MEMBERSHIP_TTL * 1000 + 1).due()).toBe(false);
    expect(watcher(['membership: MIRRORS.yaml'], now - DEFAULT_MEMBERSHIP_TTL * 1000).due()).toBe(true);
    expect(watcher(['ttl: 60s'], 0).due()).toBe(false);
  });

  it('looks at most once per ttl, on the idle connection of the last mirror', async () => {
    const s = await setup();
    s.director.lastMirror = undefined;
    await s.check();
    expect(s.watcher.checkedAt).toBe(0);
    s.director.lastMirror = 'm1';
    await s.check();
    expect(s.watcher.checkedAt).toBe(s.clock.now);
    expect(warnings(s.events)).toEqual([expect.stringMatching(/^membership: cannot read .*MIRRORS\.yaml/)]);
    // The failed read gave the connection back for the next file.
    expect(s.pool.hasIdle(s.own.mirrors[0]!)).toBe(true);
    s.publish(certText('members.test', [['m1', s.m1]]));
    s.clock.now += 59_000;
    await s.check();
    expect(s.events).toHaveLength(1);
    expect(names(s.director)).toEqual(['m1', 'm2']);
  });
});

describe('what a look finds', () => {
  it('a valid certificate of the same service: its mirror list is adopted, with an event', async () => {
    const s = await setup();
    const m3 = 'ftp://127.0.0.1:7/pub';
    s.publish(certText('members.test', [['m1', s.m1], ['m3', m3]], ['ttl: 60s', 'membership: MIRRORS.yaml']));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm3']);
    expect(s.director.lastMirror).toBe('m1');
    const from = `${s.m1}/MIRRORS.yaml`;
    expect(s.events).toEqual([{ type: 'membership', service: 'members.test', added: ['m3'], removed: ['m2'], from }]);
    expect(s.watcher.adopted).toEqual({ base: fingerprint(s.own.mirrors), mirrors: s.director.mirrors, from, adoptedAt: s.clock.now });
    // The same list again a ttl later: nothing new.
    s.clock.now += 60_000;
    await s.check();
    expect(s.events).toHaveLength(1);
  });

  it("another service's certificate is ignored with a warning", async () => {
    const s = await setup();
    s.publish(certText('other.test', [['m1', s.m1]]));
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm2']);
    expect(s.watcher.adopted).toBeUndefined();
    expect(warnings(s.events)).toEqual([expect.stringContaining('is for service other.test, not members.test; ignored')]);
  });

  it('an invalid certificate is ignored with a warning', async () => {
    const s = await setup();
    s.publish('service: members.test\nmirrors:\n  - url: gopher://nowhere\n');
    await s.check();
    expect(names(s.director)).toEqual(['m1', 'm2']);
    expect(s.watcher.adopted).toBeUndefined();
    expect(warnings(s.events)).toEqual([expect.stringMatching(/^membership: ignoring an invalid certificate:\n/)]);
  });
});

describe('across a restart', () => {
  it('the adopted list is kept while the certificate is unchanged, and dropped when its own list changed', async () => {
    const own = cert(certText('members.test', [['m1', ELSEWHERE], ['m2', 'ftp://127.0.0.1:8/pub']], ['membership: { path: MIRRORS.yaml, unsigned: ok }']));
    const adopted = { base: fingerprint(own.mirrors), mirrors: cert(certText('members.test', [['m3', 'ftp://127.0.0.1:7/pub']])).mirrors, from: 'x', adoptedAt: 5 };
    const store = new StateStore(join(t.dir(), 'state'));
    await store.save(snapshot(own.service, adopted.mirrors, {}, { membershipCheckedAt: 5, adopted }));
    const { state } = await store.load(own.service);
    expect(state?.adopted).toEqual(adopted);
    // m3 is not the certificate's own mirror: it logs in as anonymous only.
    expect(startingMembership(own, state?.adopted)).toEqual(adopted.mirrors.map((m) => ({ ...m, anonymousOnly: true })));
    // The user edited the certificate's own list: that edit wins over what was adopted.
    const edited = cert(certText('members.test', [['m1', ELSEWHERE], ['m4', 'ftp://127.0.0.1:6/pub']], ['membership: { path: MIRRORS.yaml, unsigned: ok }']));
    expect(startingMembership(edited, state?.adopted)).toEqual(edited.mirrors);
    expect(startingMembership(own, undefined)).toEqual(own.mirrors);
  });
});
