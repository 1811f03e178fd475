// The director on real links: three vsftpd mirrors, each in a network namespace of its own behind
// a tc-shaped link (1, 2 and 4 MB/s). One file at a time the files go to the fastest once it is
// found; a probe's figure on a real link is honest, so it takes fewer files than on vsftpd's own
// bursty limiter. With a 20 ms delay on the fastest link (when netem is there) it is still found.

import { expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { mirrorSpec } from '../helpers/fixtures.js';
import { bytesLogged, describeWithNetns, netemProblem, shapedMirrors } from '../helpers/netns.js';
import { certificate, fetchAll, MiB, numberedFiles, servedRoots } from '../helpers/rated-mirrors.js';

const t = cleanupAfterEach();
/** tbf rates, kbit/s: about 1, 2 and 4 MB/s. */
const RATES = [8_000, 16_000, 32_000];

describeWithNetns('the director on tc-shaped links in network namespaces', () => {
  const shaped = shapedMirrors();

  async function run(delayMs?: number) {
    const files = numberedFiles(12, MiB);
    const mirrors = await shaped.start(RATES.map((rateKbit, i) => ({ rateKbit, delayMs: i === 2 ? delayMs : undefined })), servedRoots(t, 3, files));
    const cert = certificate(mirrors.map((m, i) => mirrorSpec({ host: m.server.host, port: m.server.port }, `n${i + 1}`)));
    const log: string[] = [];
    const outcome = await fetchAll(cert, files, t.dir(), 1, (e) => {
      if (e.type === 'decision') log.push(`${e.what}: ${e.reason}`);
      if (e.type === 'probe') log.push(`probe ${e.mirror}: ${Math.round(e.rate)} B/s`);
    });
    const why = `${outcome.servedBy.join(' ')}\n${log.join('\n')}`;
    const found = outcome.servedBy.indexOf('n3');
    expect(found, why).toBeGreaterThanOrEqual(0);
    expect(found, why).toBeLessThanOrEqual(4);
    expect(outcome.servedBy.slice(found + 1).filter((m) => m !== 'n3').length, why).toBeLessThanOrEqual(1);
    // What the servers sent (xferlog, cut transfers included) against the files' bytes.
    const sent = mirrors.reduce((n, m) => n + bytesLogged(m.xferlog), 0);
    return { outcome, sent, total: 12 * MiB };
  }

  it('ranks three shaped links right: the files go to the fastest', async () => {
    const { sent, total } = await run();
    expect(sent).toBeGreaterThanOrEqual(total);
  });

  const noDelay = netemProblem();
  it.skipIf(noDelay !== undefined)(`still ranks right with 20 ms on the fastest link${noDelay ? ` (skipped: ${noDelay})` : ''}`, async () => {
    await run(20);
  });
});
