// `get --split` against real vsftpd mirrors, each capped per session by anon_max_rate: every
// mirror serves a share (counted in each vsftpd's own xferlog), a mirror killed mid-download
// hands its ranges over, and nothing is fetched twice beyond the bytes in flight.

import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';
import { describeWithVsftpd, startVsftpd, xferlogBytes } from '../helpers/vsftpd.js';

const MiB = 1024 * 1024;
/** What a vsftpd may send that is never written, per range: in flight when a range's data connection is closed. */
const IN_FLIGHT = MiB;
const t = cleanupAfterEach();

async function cappedVsftpds(n: number, files: Record<string, Buffer>, rate: number) {
  const roots = t.roots(n, files);
  const logs = t.dir();
  const servers = await Promise.all(
    roots.map(async (root, i) => {
      mkdirSync(join(root, 'pub'), { recursive: true });
      chmodSync(root, 0o755);
      chmodSync(join(root, 'pub'), 0o755);
      return t.track(await startVsftpd({ root, rateBytesPerSec: rate, xferlog: join(logs, `v${i + 1}.log`) }));
    }),
  );
  const dir = t.dir();
  const cert = writeCert(dir, servers.map((v, i) => ({ url: v.url + 'pub', name: `v${i + 1}` })));
  const sentBy = (i: number) => xferlogBytes(join(logs, `v${i + 1}.log`)).reduce((a, b) => a + b, 0);
  return { servers, dir, cert, sentBy };
}

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);

describeWithVsftpd('get --split against vsftpd', () => {
  const size = 32 * MiB;
  const data = content(size, 51);

  it('fetches from four capped vsftpd at once, each serving a share', async () => {
    const { servers, dir, cert, sentBy } = await cappedVsftpds(4, { 'pub/big.bin': data }, 4_000_000);
    const run = runCli(['get', 'big.bin', '--split', '4', '--cert', cert, '-d', dir, '--json']);
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
    // vsftpd writes its log line as each session's transfer ends: give the last one a moment.
    await new Promise((r) => setTimeout(r, 300));
    const sent = servers.map((_, i) => sentBy(i));
    const done = ofType(run.events, 'done')[0]!;
    const ranges = ofType(run.events, 'attempt').length;
    console.info(`4 vsftpd at 4 MB/s each: ${done.seconds.toFixed(2)} s, ${ranges} ranges, xferlog bytes ${JSON.stringify(sent)}`);
    for (const s of sent) expect(s).toBeGreaterThan(size / 8);
    const total = sent.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(size);
    expect(total - size).toBeLessThanOrEqual(ranges * IN_FLIGHT);
  });

  it('a vsftpd killed mid-download hands its ranges over; the file is whole', async () => {
    const { servers, dir, cert, sentBy } = await cappedVsftpds(3, { 'pub/big.bin': data }, 4_000_000);
    const run = runCli(['get', 'big.bin', '--split', '3', '--cert', cert, '-d', dir, '--json']);
    await run.waitFor((e) => e.type === 'progress' && e.bytes >= size / 4);
    servers[0]!.signal('SIGKILL');
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
    expect(ofType(run.events, 'failover').map((e) => e.mirror)).toContain('v1');
    const done = ofType(run.events, 'done')[0]!;
    const written = Object.values(done.bytesByMirror as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(written).toBe(size);
    expect(done.bytesByMirror.v1).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    // The killed vsftpd logged nothing of its last transfer; the others' logs show what they sent.
    const others = sentBy(1) + sentBy(2);
    const ranges = ofType(run.events, 'attempt').length;
    console.info(`v1 killed: ${JSON.stringify(done.bytesByMirror)}, v2+v3 xferlog ${others}, ${ranges} ranges`);
    expect(others).toBeGreaterThanOrEqual(size - done.bytesByMirror.v1);
    expect(others - (size - done.bytesByMirror.v1)).toBeLessThanOrEqual(ranges * IN_FLIGHT);
  });
});
