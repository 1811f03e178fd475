// A 200-file tree fetched with -j 8 from three mirrors, one of them killed mid-run: every file
// is whole and right, and no file is fetched twice in full: the servers sent the files' bytes
// plus only the overlaps re-sent where the cut files resumed.

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File } from '../helpers/fixtures.js';

const KiB = 1024;
const t = cleanupAfterEach();
/** 200 files of 160-180 KiB (larger than a probe's 128 KiB, so a probe never reads a whole file) in 4 directories. */
const TREE: Record<string, Buffer> = Object.fromEntries(
  Array.from({ length: 200 }, (_, i) => [`d${i % 4}/f${String(i).padStart(3, '0')}.bin`, content(160 * KiB + ((i * 97) % (20 * KiB)), 3000 + i)]),
);
const TOTAL = Object.values(TREE).reduce((n, b) => n + b.length, 0);

describe('get -r -j 8 with a mirror killed', () => {
  it('200 files from 3 mirrors, one killed mid-run: every sha256 matches, nothing fetched twice in full', async () => {
    const files = Object.fromEntries(Object.entries(TREE).map(([p, b]) => [`pub/tree/${p}`, b]));
    const roots = t.roots(3, files);
    // Each mirror's link is 4 MB/s, so the run lasts long enough to kill one in the middle.
    const handles = await Promise.all(roots.map(async (root) => t.track(await startFtpServer({ root, linkRate: 4_000_000 }))));
    const work = t.dir();
    const cert = join(work, 'mirrors.yaml');
    const mirrors = handles.flatMap((h, i) => [`  - url: ${h.url}pub`, `    name: m${i + 1}`, '    max_connections: 4']);
    writeFileSync(cert, ['service: kill.test', 'director:', '  policy: ranked', '  stall_timeout: 3s', 'mirrors:', ...mirrors].join('\n') + '\n');
    const out = join(work, 'out');
    const run = runCli(['get', '-r', 'tree', '-j', '8', '--cert', cert, '-d', out, '--json', '--no-state']);
    await run.waitFor((e) => e.type === 'done' && run.events.filter((d) => d.type === 'done').length >= 60, 60_000);
    handles[0]!.kill();
    expect(await run.exit, run.stderr()).toBe(0);

    for (const [name, data] of Object.entries(TREE)) expect(sha256File(join(out, name)), name).toBe(sha256(data));
    expect(readdirSync(out).sort()).toEqual(['d0', 'd1', 'd2', 'd3']);
    const done = run.events.filter((e) => e.type === 'done');
    expect(done).toHaveLength(200);
    expect(run.events.some((e) => e.type === 'failover' && e.mirror === 'm1')).toBe(true);
    // Every mirror served: the files were spread, not queued on one.
    for (const m of ['m1', 'm2', 'm3']) expect(done.some((e) => (e.bytesByMirror[m] ?? 0) > 0), m).toBe(true);
    const sent = handles.reduce((n, h) => n + h.stats.bytesSent, 0);
    const extra = sent - TOTAL;
    // Only the files cut by the kill cost anything: each resumes elsewhere re-sending the 64 KiB
    // before its offset, and at most 4 ran there (max_connections). No probes run while other
    // files of the batch do, so no transfer is cut for a probe's tail.
    expect(extra, `servers sent ${sent} bytes for ${TOTAL}`).toBeLessThanOrEqual(4 * 64 * KiB);
    expect(extra).toBeGreaterThanOrEqual(0);
  });
});
