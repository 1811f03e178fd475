// The README's first command, `npm run demo`, as a newcomer runs it: the example certificate's
// three mirrors on 127.0.0.1 (its fixed ports 2121-2123), twelve small files, a 64 MiB file with
// the fastest mirror killed half-way, and every file checked by sha256. Needs dist/.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';

const LIMIT_MS = 150_000;

it('npm run demo: every file intact, a failover on the way, exit 0', async () => {
  const child = spawn(process.execPath, [join(REPO, 'scripts', 'demo.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGTERM'), LIMIT_MS);
  const code = await new Promise<number | string>((resolve) => child.on('close', (c, sig) => resolve(c ?? String(sig))));
  clearTimeout(timer);
  expect(code, out).toBe(0);
  expect(out).toContain('demo: all files intact');
  expect(out).toMatch(/resuming on mirror local-[bc] at/);
  expect(out.match(/^ok {3}sample\//gm)?.length, out).toBe(13);
}, LIMIT_MS + 10_000);
