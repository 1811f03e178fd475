// `smartftp get -r` against real vsftpd mirrors (LIST only, no MLSD): the tree keeps its shape.

import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert } from '../helpers/fixtures.js';
import { describeWithVsftpd, startVsftpd } from '../helpers/vsftpd.js';

const t = cleanupAfterEach();

const TREE: Record<string, Buffer> = {
  'one.bin': content(30_000, 801),
  '.dot': content(10, 802),
  'a/two.bin': content(40_000, 803),
  'a/b/three.bin': content(50_000, 804),
  'a/b/empty': content(0, 805),
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => statSync(join(dir, p)).isFile())
    .map((p) => relative(dir, join(dir, p)))
    .sort();
}

describeWithVsftpd('get -r against vsftpd', () => {
  it('lists with LIST and fetches the whole tree from two vsftpds with -j 2', async () => {
    const roots = t.roots(2, Object.fromEntries(Object.entries(TREE).map(([p, d]) => [`pub/tree/${p}`, d])));
    for (const r of roots) {
      mkdirSync(join(r, 'pub'), { recursive: true });
      chmodSync(r, 0o755);
    }
    const servers = await Promise.all(roots.map(async (root) => t.track(await startVsftpd({ root }))));
    const work = t.dir();
    const out = join(work, 'out');
    const cert = writeCert(work, servers.map((v, i) => ({ url: `${v.url}pub`, name: `v${i + 1}` })));
    const run = runCli(['get', '-r', 'tree', '-j', '2', '--cert', cert, '-d', out, '--json', '--no-state']);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(filesUnder(out)).toEqual(Object.keys(TREE).sort());
    for (const [p, data] of Object.entries(TREE)) expect(sha256File(join(out, p)), p).toBe(sha256(data));
    expect(run.events.filter((e) => e.type === 'warning')).toEqual([]);
  });
});
