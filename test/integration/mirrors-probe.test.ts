// `mirrors --probe` measures every mirror now: one that answers and sends is no longer shown as
// failing for an old fault; one that is down is recorded as failing. Found following the README:
// after a failover demo, `mirrors --probe` kept showing the revived mirror as "failing: broken".

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, writeCert } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

describe('mirrors --probe', () => {
  it('clears the old failures of a mirror that answers now, and records one that does not', async () => {
    const [root] = t.roots(1, { 'pub/p.bin': content(256 * 1024, 5) });
    const up = t.track(await startFtpServer({ root: root! }));
    const down = t.track(await startFtpServer({ root: root! }));
    const work = t.dir();
    const cert = writeCert(work, [{ url: up.url + 'pub', name: 'up' }, { url: down.url + 'pub', name: 'down' }], 'probe: p.bin');
    await down.close();
    const state = join(work, 'state');
    mkdirSync(state);
    const earlier = Date.now() - 3_600_000;
    const failing = { throughput: 1e6, samples: 1, weight: 1, latencyMs: 5, failures: ['broken'], cooldownUntil: earlier + 15_000, lastSuccess: earlier, lastUsed: earlier };
    writeFileSync(join(state, 'test.smartftp.json'), JSON.stringify({ version: 1, service: 'test.smartftp', savedAt: '', mirrors: [], stats: { up: failing } }));

    const run = runCli(['mirrors', '--probe', '--cert', cert, '--state-dir', state]);
    expect(await run.exit).toBe(0);
    const saved = JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8'));
    expect(saved.stats.up.failures).toEqual([]);
    expect(saved.stats.up.samples).toBe(2);
    expect(saved.stats.down.failures).toEqual(['unreachable']);
    expect(run.stdout()).toMatch(/^up +ok +/m);
    expect(run.stdout()).toMatch(/^down +(failing: unreachable|cooling down until \S+ \(unreachable\)) +/m);
  });
});
