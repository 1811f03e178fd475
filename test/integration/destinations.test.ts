// Where several files go with -d: they keep the directories they do not all share, so two files
// with the same base name in different directories are fetched in one run (paths and -i alike).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, runCli, sha256, sha256File, writeCert } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

it('get pub/a/x.bin pub/b/x.bin -i LIST -d OUT: each file under the directories it does not share with the others', async () => {
  const files = { 'pub/rel/a/x.bin': content(70_000, 1), 'pub/rel/b/x.bin': content(80_000, 2), 'pub/rel/b/c/y.bin': content(90_000, 3) };
  const [root] = t.roots(1, files);
  const server = t.track(await startFtpServer({ root: root! }));
  const dir = t.dir();
  const cert = writeCert(dir, [{ name: 'm1', url: server.url + 'pub' }]);
  const list = join(dir, 'list.txt');
  writeFileSync(list, 'rel/b/c/y.bin\n');
  const out = join(dir, 'out');
  const run = runCli(['get', 'rel/a/x.bin', '/rel/b/x.bin', '-i', list, '--cert', cert, '-d', out, '--json', '--no-state']);
  expect(await run.exit).toBe(0);
  expect(sha256File(join(out, 'a/x.bin'))).toBe(sha256(files['pub/rel/a/x.bin']));
  expect(sha256File(join(out, 'b/x.bin'))).toBe(sha256(files['pub/rel/b/x.bin']));
  expect(sha256File(join(out, 'b/c/y.bin'))).toBe(sha256(files['pub/rel/b/c/y.bin']));
});
