// The chaos soak's short variant (scripts/soak.mjs, docs/soak.md): half a minute of faults on
// embedded mirrors (and vsftpd ones where it is installed and we are root) while the real CLI
// downloads a 40-file tree with -j 4; every file must end intact, spoiled copies on a mirror's
// disk (altered, truncated) included: the tree publishes SHA256SUMS and the mirrors' sizes are
// compared. Needs dist/ (npm test builds it first).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';

const SOAK = join(REPO, 'scripts', 'soak.mjs');
const LIMIT_MS = 110_000;

it('soaks 0.5 min of faults: every file intact, exit 0', async () => {
  const args = [SOAK, '--minutes', '0.5', '--max-faults', '20', '--files', '40', '--seed', '1'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number | string>((resolve) => {
    // The soak ends by itself; past the limit it is stopped (SIGTERM: it stops its servers and cleans up).
    timer = setTimeout(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    }, LIMIT_MS);
    child.on('close', (c, sig) => resolve(c ?? String(sig)));
  });
  clearTimeout(timer);
  expect(out).toContain('== soak summary');
  expect(out, out).toContain('wrong or missing: 0 ');
  expect(code, out).toBe(0);
  const faults = Number(/^faults: (\d+)/m.exec(out)?.[1]);
  expect(faults, out).toBeGreaterThanOrEqual(5);
  expect(out).toMatch(/^rounds: \d+ \([1-9]\d* complete\)/m);
}, LIMIT_MS + 10_000);
