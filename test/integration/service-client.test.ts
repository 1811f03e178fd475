// The ServiceClient in-process: connection reuse across files, and a server that times idle
// sessions out between files (as real servers do) costs a reconnect, never a failover.

import fs, { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startFtpServer, type FtpServerHandle } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import type { Certificate } from '../../src/certificate/types.js';
import { ServiceClient } from '../../src/client/service-client.js';
import { downloadBatch } from '../../src/client/batch.js';
import type { SmartEvent } from '../../src/ui/events.js';
import { PROBE_BYTES } from '../../src/ftp/download-request.js';
import { content, mirrorSpec, sha256, sha256File } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait.js';

const t = cleanupAfterEach();

function certFor(handles: FtpServerHandle[]): Certificate {
  return {
    service: 'client.test',
    origin: 'test',
    director: { policy: 'ordered', stallTimeout: 5, connectTimeout: 5 },
    mirrors: handles.map((h, i) => mirrorSpec(h, `m${i + 1}`)),
  };
}

describe('ServiceClient', () => {
  const a = content(512 * 1024, 1);
  const b = content(512 * 1024, 2);

  it('reuses one control connection for successive files', async () => {
    const roots = t.roots(1, { 'pub/a.bin': a, 'pub/b.bin': b });
    const server = await startFtpServer({ root: roots[0]! });
    t.trackAll(server);
    const out = t.dir();
    const client = await ServiceClient.open(certFor([server]), { events: () => {} });
    await client.download('a.bin', join(out, 'a.bin'));
    await client.download('b.bin', join(out, 'b.bin'));
    await client.close();
    expect(server.stats.sessionsOpened).toBe(1);
    expect(client.pool.opened).toEqual({ m1: 1 });
    expect(sha256File(join(out, 'b.bin'))).toBe(sha256(b));
  });

  it('a connection is ready after four commands (each a round trip on a distant mirror), and a file costs four more', async () => {
    const roots = t.roots(1, { 'pub/a.bin': a, 'pub/b.bin': b });
    const server = t.track(await startFtpServer({ root: roots[0]! }));
    const out = t.dir();
    const client = await ServiceClient.open(certFor([server]), { events: () => {} });
    await client.download('a.bin', join(out, 'a.bin'));
    // USER, PASS, TYPE I, OPTS UTF8 ON; then SIZE, MDTM, EPSV, RETR.
    expect(server.stats.commands).toBe(8);
    await client.download('b.bin', join(out, 'b.bin'));
    expect(server.stats.commands).toBe(12);
    await client.close();
    expect(sha256File(join(out, 'a.bin'))).toBe(sha256(a));
    expect(sha256File(join(out, 'b.bin'))).toBe(sha256(b));
  });

  /**
   * Two mirrors at 2 MB/s each serving these roots, and a ranked client that has fetched big.bin:
   * the transfer takes about a second, the probe of the other mirror a tenth of it.
   */
  async function rankedBigDownload(roots: string[]) {
    const servers = await Promise.all(roots.map((root) => startFtpServer({ root, linkRate: 2_000_000 })));
    t.trackAll(...servers);
    const out = t.dir();
    const events: SmartEvent[] = [];
    const client = await ServiceClient.open(certFor(servers), { events: (e) => events.push(e), policy: 'ranked' });
    const result = await client.download('big.bin', join(out, 'big.bin'));
    return { servers, out, events, client, result };
  }

  it("keeps a probe's bytes: the transfer stops where the probe's tail begins, and the connection serves the next file", async () => {
    const big = content(2 * 1024 * 1024, 7);
    const { servers, out, events, client, result } = await rankedBigDownload(t.roots(2, { 'pub/big.bin': big, 'pub/a.bin': a }));
    await client.director.settle();
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(big));
    const main = events.find((e) => e.type === 'attempt')!.mirror;
    const probed = main === 'm1' ? 'm2' : 'm1';
    expect(result.bytesByMirror).toEqual({ [main]: big.length - PROBE_BYTES, [probed]: PROBE_BYTES });
    // Nothing twice: the servers sent the file once, plus what was in flight when the transfer stopped.
    const sent = servers[0]!.stats.bytesSent + servers[1]!.stats.bytesSent;
    expect(sent).toBeGreaterThanOrEqual(big.length);
    expect(sent).toBeLessThan(big.length + PROBE_BYTES / 2);
    // The stopped transfer's 426 was read off: the next file goes over the same connection.
    const opened = { ...client.pool.opened };
    await client.download('a.bin', join(out, 'a.bin'));
    await client.close();
    expect(sha256File(join(out, 'a.bin'))).toBe(sha256(a));
    expect(client.pool.opened).toEqual(opened);
    expect(events.filter((e) => e.type === 'failover')).toEqual([]);
  });

  it("a probe's bytes from another copy of the same size are not kept", async () => {
    const mine = content(2 * 1024 * 1024, 8);
    const theirs = Buffer.from(mine);
    theirs.fill(0, theirs.length - 1000); // the same size, other bytes at the end
    const roots = [t.roots(1, { 'pub/big.bin': mine })[0]!, t.roots(1, { 'pub/big.bin': theirs })[0]!];
    utimesSync(join(roots[1]!, 'pub/big.bin'), new Date('2001-01-01'), new Date('2001-01-01'));
    const { out, events, client, result } = await rankedBigDownload(roots);
    await client.close();
    const main = events.find((e) => e.type === 'attempt')!.mirror;
    expect(events.some((e) => e.type === 'probe')).toBe(true);
    expect(result.bytesByMirror).toEqual({ [main]: mine.length });
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(main === 'm1' ? mine : theirs));
  });

  it("where a probe's tail and the transfer disagree, a third mirror tells the odd copy: the file is the others' copy", async () => {
    const honest = content(2 * 1024 * 1024, 9);
    const odd = Buffer.from(honest);
    odd.fill(0, odd.length - PROBE_BYTES + 100, odd.length - PROBE_BYTES + 200); // the same size and time, other bytes where a tail begins
    const roots = [t.roots(1, { 'pub/big.bin': odd })[0]!, ...t.roots(2, { 'pub/big.bin': honest })];
    for (const root of roots) utimesSync(join(root, 'pub/big.bin'), new Date('2020-01-01'), new Date('2020-01-01'));
    const { out, events, client, result } = await rankedBigDownload(roots);
    await client.close();
    expect(sha256File(join(out, 'big.bin'))).toBe(sha256(honest));
    expect(result.bytesByMirror.m1).toBeUndefined();
    const failovers = events.flatMap((e) => (e.type === 'failover' ? [`${e.mirror} ${e.kind}: ${e.message}`] : []));
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    if (events.find((e) => e.type === 'attempt')!.mirror === 'm1') {
      // The file came from the odd copy: refused as a whole, and only it is blamed.
      expect(failovers).toEqual([expect.stringMatching(/^m1 corrupt: m1's copy differs from m[23]'s and m[23]'s at byte 1966180$/)]);
      expect(warnings).toEqual([]);
    } else {
      // The odd copy was only probed: its tail is not used.
      expect(failovers).toEqual([]);
      for (const w of warnings) expect(w).toMatch(/^big\.bin: the last bytes m1 sent differ from m[23]'s and m[23]'s copies; not used$/);
    }
  });

  /** Mirrors m1 (with `first` options) and m2, and a client that has fetched a.bin from m1. */
  async function twoMirrorsAfterFirstFile(first: { idleTimeoutMs?: number }) {
    const roots = t.roots(2, { 'pub/a.bin': a, 'pub/b.bin': b });
    const server = t.track(await startFtpServer({ root: roots[0]!, ...first }));
    const other = t.track(await startFtpServer({ root: roots[1]! }));
    const out = t.dir();
    const events: SmartEvent[] = [];
    const client = await ServiceClient.open(certFor([server, other]), { events: (e) => events.push(e) });
    await client.download('a.bin', join(out, 'a.bin'));
    return { server, other, out, events, client };
  }

  it("a size only one mirror said is put to another; a listing's size from another mirror counts instead", async () => {
    const roots = t.roots(2, { 'pub/a.bin': a, 'pub/b.bin': b });
    const [m1, m2] = [t.track(await startFtpServer({ root: roots[0]! })), t.track(await startFtpServer({ root: roots[1]! }))];
    const out = t.dir();
    const client = await ServiceClient.open(certFor([m1, m2]), { events: () => {} });
    await client.download('a.bin', join(out, 'a.bin'));
    const asked = m2.stats.commands;
    expect(asked).toBeGreaterThan(0); // logged in, and SIZE of a.bin
    await client.download('b.bin', join(out, 'b.bin'), { listed: [{ mirror: 'm2', size: b.length }] });
    await client.close();
    expect(m2.stats.commands).toBe(asked); // nothing more: m2's word on b.bin was in hand
    expect(m2.stats.transfers).toBe(0);
    expect(sha256File(join(out, 'b.bin'))).toBe(sha256(b));
  });

  it('a fresh file that arrives whole costs three stats and one look for a record, and leaves none written', async () => {
    const roots = t.roots(1, { 'pub/a.bin': a });
    const server = t.track(await startFtpServer({ root: roots[0]! }));
    const out = t.dir();
    const client = await ServiceClient.open(certFor([server]), { events: () => {} });
    // node:fs's named exports follow its default object once synced: partial-file.ts's calls are counted.
    const stat = vi.spyOn(fs, 'statSync');
    const exists = vi.spyOn(fs, 'existsSync');
    const write = vi.spyOn(fs, 'writeFileSync');
    syncBuiltinESMExports();
    try {
      await client.download('a.bin', join(out, 'a.bin'));
    } finally {
      vi.restoreAllMocks();
      syncBuiltinESMExports();
    }
    await client.close();
    expect(sha256File(join(out, 'a.bin'))).toBe(sha256(a));
    // The directory, the .part, the final name; the record's presence once (prepare's look serves the first attempt).
    expect(stat.mock.calls.map(([path]) => String(path))).toEqual([out, join(out, 'a.bin.part'), join(out, 'a.bin')]);
    expect(exists.mock.calls.map(([path]) => String(path))).toEqual([join(out, 'a.bin.part.json')]);
    expect(write).not.toHaveBeenCalled();
  });

  it('says when a file is verified, before its sync and rename: the .part is whole and the final name not there yet', async () => {
    const roots = t.roots(1, { 'pub/a.bin': a });
    const server = t.track(await startFtpServer({ root: roots[0]! }));
    const out = t.dir();
    const dest = join(out, 'a.bin');
    const events: SmartEvent[] = [];
    const client = await ServiceClient.open(certFor([server]), { events: (e) => events.push(e) });
    const seen: string[] = [];
    const result = await client.download('a.bin', dest, {
      onVerified: () => seen.push(`${fs.existsSync(dest)} ${sha256File(`${dest}.part`) === sha256(a)} ${events.some((e) => e.type === 'done')}`),
    });
    await client.close();
    expect(seen).toEqual(['false true false']);
    expect(sha256File(dest)).toBe(sha256(a));
    expect(result.seconds).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  });

  it('twelve files at once on its own signal: no warning of too many abort listeners', async () => {
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`pub/f${i}.bin`, content(64 * 1024, 100 + i)]));
    const server = t.track(await startFtpServer({ root: t.roots(1, files)[0]! }));
    const out = t.dir();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const client = await ServiceClient.open(certFor([server]), { events: () => {} });
      const items = Array.from({ length: 12 }, (_, i) => ({ remotePath: `f${i}.bin`, dest: join(out, `f${i}.bin`) }));
      const outcomes = await downloadBatch(client, items, { jobs: 12 });
      await client.close();
      expect(outcomes.filter((o) => 'result' in o)).toHaveLength(12);
      // A warning is emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    for (const [path, bytes] of Object.entries(files)) expect(sha256File(join(out, path.slice(4)))).toBe(sha256(bytes));
  });

  it('an idle session the server timed out is replaced quietly, not failed over', async () => {
    const { server, other, out, events, client } = await twoMirrorsAfterFirstFile({ idleTimeoutMs: 150 });
    // The server says "421 Timeout." and closes; the client sees its idle connection closed.
    const m1 = client.director.mirrors[0]!;
    await waitUntil(() => server.stats.activeSessions === 0 && !client.pool.hasIdle(m1), 'the server to time the idle session out');
    await client.download('b.bin', join(out, 'b.bin'));
    await client.close();
    expect(events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(server.stats.sessionsOpened).toBe(2);
    // Nothing fetched from the other mirror: one session of its, for its word on the sizes.
    expect(other.stats.transfers).toBe(0);
    expect(other.stats.sessionsOpened).toBe(1);
    expect(client.director.stats.m1!.failures).toEqual([]);
    expect(sha256File(join(out, 'a.bin'))).toBe(sha256(a));
    expect(sha256File(join(out, 'b.bin'))).toBe(sha256(b));
  });

  it('when the close lands after the pool handed the connection out, one quiet reconnect follows', async () => {
    const { server, out, events, client } = await twoMirrorsAfterFirstFile({});
    // The race, forced: the idle connection is handed out and only then found closed.
    const pool = client.pool;
    const acquire = pool.acquire.bind(pool);
    pool.acquire = async (mirror, signal) => {
      pool.acquire = acquire;
      const lease = await acquire(mirror, signal);
      lease.client.close();
      return lease;
    };
    await client.download('b.bin', join(out, 'b.bin'));
    await client.close();
    expect(events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(server.stats.sessionsOpened).toBe(2);
    expect(sha256File(join(out, 'b.bin'))).toBe(sha256(b));
  });

  describe('a netrc file open to other users', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it.skipIf(process.platform === 'win32')('is a warning event once a run, however many connections read it', async () => {
      const netrc = join(t.dir(), 'netrc');
      writeFileSync(netrc, 'default login anonymous password guest@\n');
      chmodSync(netrc, 0o644);
      vi.stubEnv('NETRC', netrc);
      const { server, out, events, client } = await twoMirrorsAfterFirstFile({ idleTimeoutMs: 150 });
      const m1 = client.director.mirrors[0]!;
      await waitUntil(() => server.stats.activeSessions === 0 && !client.pool.hasIdle(m1), 'the server to time the idle session out');
      await client.download('b.bin', join(out, 'b.bin'));
      await client.close();
      // Two logins read the file; one warning.
      expect(server.stats.sessionsOpened).toBe(2);
      expect(events.filter((e) => e.type === 'warning')).toEqual([
        { type: 'warning', message: `${netrc} can be read or written by other users (mode 644); chmod 600 ${netrc}` },
      ]);
    });
  });
});
