// `smartftp get` against real vsftpd mirrors started by the test: failover when one is killed or
// stopped mid-transfer, 550, 421, and resume after Ctrl-C.

import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, mirrorSpec, putFile, runCli, sha256, sha256File, stalledFor, writeCert, type CliEvent } from '../helpers/fixtures.js';
import { describeWithVsftpd, startVsftpd } from '../helpers/vsftpd.js';
import { PROBE_BYTES } from '../../src/ftp/download-request.js';
import type { Certificate } from '../../src/certificate/types.js';
import { ServiceClient } from '../../src/client/service-client.js';
import type { SmartEvent } from '../../src/ui/events.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

/** vsftpd serves a root the ftp user can read but not write. */
function readableRoots(n: number, files: Record<string, Buffer>): string[] {
  const roots = t.roots(n, files);
  for (const r of roots) {
    mkdirSync(join(r, 'pub'), { recursive: true });
    chmodSync(r, 0o755);
    chmodSync(join(r, 'pub'), 0o755);
  }
  return roots;
}

/** One vsftpd per root; rates[i] paces the i-th (per session), the rest are unpaced. */
async function vsftpds(roots: string[], opts: { rates?: number[]; maxClients?: number } = {}) {
  const servers = await Promise.all(roots.map(async (root, i) => t.track(await startVsftpd({ root, rateBytesPerSec: opts.rates?.[i], maxClients: opts.maxClients }))));
  return servers.map((v, i) => ({ v, url: v.url + 'pub', name: `v${i + 1}` }));
}

const work = () => t.dir();

function fetched(events: CliEvent[]): number {
  const done = events.find((e) => e.type === 'done')! as unknown as { bytesByMirror: Record<string, number> };
  return Object.values(done.bytesByMirror).reduce((a, b) => a + b, 0);
}

describeWithVsftpd('get against vsftpd', () => {
  const size = 32 * MiB;
  const data = content(size, 21);

  // A first file is probed on two mirrors; which one then carries it is the director's choice.
  async function servingAThird(run: ReturnType<typeof runCli>, ms: Awaited<ReturnType<typeof vsftpds>>) {
    const at = await run.waitFor((e) => e.type === 'progress' && (e.bytes as number) >= size / 3);
    return ms.find((m) => m.name === at.mirror)!;
  }

  it('resumes on the next vsftpd when the first is killed a third of the way', async () => {
    // All paced alike, so the mirror the director picks is still mid-file when it is killed.
    const ms = await vsftpds(readableRoots(3, { 'pub/big.bin': data }), { rates: [12_000_000, 12_000_000, 12_000_000] });
    const dir = work();
    const run = runCli(['get', 'big.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    const victim = await servingAThird(run, ms);
    victim.v.signal('SIGKILL');
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
    expect(run.events.find((e) => e.type === 'failover')).toMatchObject({ mirror: victim.name, kind: 'broken' });
    expect(fetched(run.events) - size).toBeLessThanOrEqual(MiB);
  });

  it("keeps a probe's bytes from the other vsftpd, and the connection it stopped early stays in step", async () => {
    const big = content(8 * MiB, 23);
    const ms = await vsftpds(readableRoots(2, { 'pub/big.bin': big, 'pub/small.bin': content(MiB, 24) }), { rates: [4_000_000, 4_000_000] });
    const cert: Certificate = {
      service: 'probe.test',
      origin: 'test',
      director: { policy: 'ranked', stallTimeout: 5, connectTimeout: 5 },
      mirrors: ms.map((m) => mirrorSpec(m.v, m.name)),
    };
    const dir = work();
    const events: SmartEvent[] = [];
    const client = await ServiceClient.open(cert, { events: (e) => events.push(e) });
    try {
      const result = await client.download('big.bin', join(dir, 'big.bin'));
      await client.director.settle();
      expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(big));
      const main = result.mirror;
      const probed = main === 'v1' ? 'v2' : 'v1';
      expect(result.bytesByMirror).toEqual({ [main]: big.length - PROBE_BYTES, [probed]: PROBE_BYTES });
      // vsftpd answered the early stop with 426; that reply was read off, so the same connection
      // now gets its own replies.
      const lease = await client.pool.acquire(cert.mirrors.find((m) => m.name === main)!, new AbortController().signal);
      expect(lease.fresh).toBe(false);
      expect(await lease.client.size('/pub/small.bin')).toBe(MiB);
      client.pool.release(lease);
      expect(events.filter((e) => e.type === 'failover')).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('leaves a stopped vsftpd within the stall timeout plus one second', async () => {
    const ms = await vsftpds(readableRoots(2, { 'pub/big.bin': data }), { rates: [12_000_000, 12_000_000] });
    const dir = work();
    const run = runCli(['get', 'big.bin', '--cert', writeCert(dir, ms), '-d', dir, '--json']);
    const victim = await servingAThird(run, ms);
    victim.v.signal('SIGSTOP');
    const t0 = Date.now();
    const failover = await run.waitFor((e) => e.type === 'failover', 15_000);
    expect(failover).toMatchObject({ mirror: victim.name, kind: 'stalled' });
    // By the watchdog's own clock, within the stall timeout; basic-ftp's backstop would take 10 s.
    expect(stalledFor(failover)).toBeLessThanOrEqual(3 + 1);
    expect((Date.now() - t0) / 1000).toBeLessThan(10);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
    expect(fetched(run.events) - size).toBeLessThanOrEqual(MiB);
  });

  it('skips a vsftpd without the file (550) and one that is full (421)', async () => {
    const small = content(2 * MiB, 4);
    const roots = readableRoots(3, {});
    putFile(roots[1]!, 'pub/s.bin', small);
    putFile(roots[2]!, 'pub/s.bin', small);
    for (const r of roots) chmodSync(join(r, 'pub'), 0o755);
    const [missing, full, good] = await vsftpds(roots, { maxClients: 1 });
    // Occupy the only session of the second mirror.
    const holder = new Client(5000);
    await holder.access({ host: '127.0.0.1', port: full!.v.port, user: 'anonymous', password: 'x' });
    try {
      const dir = work();
      const run = runCli(['get', 's.bin', '--cert', writeCert(dir, [missing!, full!, good!]), '-d', dir, '--json']);
      expect(await run.exit).toBe(0);
      expect(run.events.filter((e) => e.type === 'failover').map((e) => `${e.mirror}:${e.kind}`)).toEqual(['v1:missing', 'v2:busy']);
      expect(sha256File(join(dir, 's.bin'))).toBe(sha256(small));
    } finally {
      holder.close();
    }
  });

  it('Ctrl-C keeps the .part; the next run fetches only the rest', async () => {
    const ms = await vsftpds(readableRoots(2, { 'pub/big.bin': data }), { rates: [12_000_000, 12_000_000] });
    const dir = work();
    const cert = writeCert(dir, ms);
    const first = runCli(['get', 'big.bin', '--cert', cert, '-d', dir, '--json']);
    await first.waitFor((e) => e.type === 'progress' && (e.bytes as number) >= size / 3);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(130);
    const partial = statSync(join(dir, 'big.bin.part')).size;
    expect(existsSync(join(dir, 'big.bin'))).toBe(false);
    const second = runCli(['get', 'big.bin', '--cert', cert, '-d', dir, '--json']);
    expect(await second.exit).toBe(0);
    expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
    expect(Math.abs(fetched(second.events) - (size - partial))).toBeLessThanOrEqual(MiB);
  });
});
