// The suite's global setup builds dist/ from src/ (test/helpers/build.ts): proven here on a small
// project of its own, and checked on this repository's dist/ as this run left it.

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { buildDist, staleOutputs } from '../helpers/build.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { REPO } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

/** A project like this repository's (src/ -> dist/), with the smallest lib, so each tsc takes well under a second. */
function project(files: Record<string, string>): string {
  const root = t.dir('smartftp-build-');
  const options = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [], lib: ['ES5'], rootDir: 'src', outDir: 'dist', sourceMap: true };
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src'] }));
  for (const [path, text] of Object.entries(files)) write(root, path, text);
  return root;
}

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

const out = (root: string, path: string) => readFileSync(join(root, 'dist', path), 'utf8');

describe('buildDist', () => {
  it('brings dist/ up to date: edited, touched and deleted sources, deleted outputs; a type error fails naming the file', async () => {
    const root = project({ 'src/a.ts': 'export const a = 1;\n', 'src/sub/b.ts': 'export const b = 2;\n', 'src/c.ts': 'export const c = 3;\n', 'src/d.ts': 'export const d = 4;\n' });
    const first = await buildDist({ root });
    expect(out(root, 'a.js')).toContain('a = 1');
    expect(out(root, 'sub/b.js')).toContain('b = 2');
    expect(first.removed).toEqual([]);

    // The edits a stale dist/ would hide, all at once.
    write(root, 'src/a.ts', 'export const a = 10;\n'); // edited
    const before = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'dist/c.js'), before, before); // c.ts touched since: the incremental build would skip it
    rmSync(join(root, 'src/sub/b.ts')); // moved away: its output must not stay behind to be spawned
    rmSync(join(root, 'dist/d.js')); // an output lost, its source unchanged
    const second = await buildDist({ root });
    expect(out(root, 'a.js')).toContain('a = 10');
    expect(second.full).toBe(true);
    expect(staleOutputs(join(root, 'src'), join(root, 'dist'))).toEqual([]); // c.js refreshed, d.js back
    expect(second.removed.sort()).toEqual(['sub/b.js', 'sub/b.js.map']);
    expect(existsSync(join(root, 'dist/sub'))).toBe(false);

    write(root, 'src/a.ts', 'export const a: string = 1;\n');
    await expect(buildDist({ root })).rejects.toThrow(/src\/a\.ts.*TS2322/);
  }, 60_000);
});

describe("this run's dist/", () => {
  it('was built by the global setup of this run, from the src/ it tests', () => {
    const builtAt = inject('distBuiltAt');
    // Provided only by this run's global setup: a dist/ left by an earlier build does not count.
    expect(builtAt, 'the global setup (test/global-setup.ts) did not build dist/').toBeGreaterThan(0);
    expect(staleOutputs(join(REPO, 'src'), join(REPO, 'dist'))).toEqual([]);
  });

  it("holds the CLI's bundle, made after tsc wrote the modules it bundles", () => {
    // bin/smartftp.js runs dist/bundle/main.js: a bundle older than dist/cli/main.js would run old code.
    const bundled = statSync(join(REPO, 'dist', 'bundle', 'main.js')).mtimeMs;
    expect(bundled).toBeGreaterThanOrEqual(statSync(join(REPO, 'dist', 'cli', 'main.js')).mtimeMs);
    expect(readFileSync(join(REPO, 'bin', 'smartftp.js'), 'utf8')).toContain("import('../dist/bundle/main.js')");
  });
});
