// The director on real rate limiters: three vsftpd mirrors with distinct anon_max_rate (a
// per-session limit, bursty at the start of each transfer). One file at a time, the files go to
// the fastest once it is found; six at a time, they spread so that every mirror works and the
// bytes follow the rates.

import { it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { mirrorSpec } from '../helpers/fixtures.js';
import { certificate, expectBytesInRateOrder, expectFastestFound, fetchAll, MiB, numberedFiles, servedRoots } from '../helpers/rated-mirrors.js';
import { describeWithVsftpd, startVsftpd } from '../helpers/vsftpd.js';

const t = cleanupAfterEach();
/** Per-session rates, bytes/s: v1 slowest, v3 fastest. */
const RATES = [1_000_000, 2_000_000, 4_000_000];

async function ratedMirrors(files: Record<string, Buffer>, maxConnections: number) {
  const roots = servedRoots(t, RATES.length, files);
  const servers = await Promise.all(roots.map(async (root, i) => t.track(await startVsftpd({ root, rateBytesPerSec: RATES[i] }))));
  return certificate(servers.map((v, i) => mirrorSpec(v, `v${i + 1}`, { maxConnections })));
}

describeWithVsftpd('the director on vsftpd rate limiters', () => {
  it('one file at a time: within the first seven files, the files go to the fastest mirror', async () => {
    const files = numberedFiles(12, MiB);
    const log: string[] = [];
    const run = await fetchAll(await ratedMirrors(files, 2), files, t.dir(), 1, (e) => {
      if (e.type === 'decision') log.push(`${e.what}: ${e.reason}`);
      if (e.type === 'probe') log.push(`probe ${e.mirror}: ${Math.round(e.rate)} B/s`);
    });
    const why = `${run.servedBy.join(' ')}\n${log.join('\n')}`;
    // Probes of 128 KiB come out of vsftpd's burst at loopback speed, so their figures are rough:
    // the client tests each slower mirror by a whole file at most once after it has found the
    // fastest (a re-test of the second mirror every ten files or so is the re-test cadence).
    expectFastestFound(run, 'v3', 6, why);
  });

  it('six at a time: every mirror serves, the fastest the most bytes and the slowest the fewest', async () => {
    const files = numberedFiles(30, MiB);
    const run = await fetchAll(await ratedMirrors(files, 3), files, t.dir(), 6);
    expectBytesInRateOrder(run, ['v1', 'v2', 'v3'], 30 * MiB);
  });
});
