// The tests import src/ directly, but the processes they spawn (the CLI, mirror processes, the
// bench's fleet) run the compiled code in dist/ (the CLI from its bundle, dist/bundle/). A dist/
// older than src/ would test two versions at once, silently; buildDist() makes dist/ and the
// bundle match src/ before any test runs (test/global-setup.ts).

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** A build of this repository takes about 5 s on two cores; this is far beyond it. */
const TSC_TIMEOUT_MS = 180_000;
/** Made by scripts/bundle.mjs from dist/, not by tsc from src/: no orphans there. */
const BUNDLE_DIR = 'bundle';

export interface BuildOptions {
  /** The project directory (holding the tsconfig). */
  root: string;
  tsconfig?: string;
  /** rootDir and outDir of that tsconfig, relative to root. */
  srcDir?: string;
  outDir?: string;
}

export interface BuildReport {
  ms: number;
  /** Whether the incremental build left stale or missing outputs, so everything was emitted again. */
  full: boolean;
  /** Outputs removed because their source is gone (a moved or deleted module). */
  removed: string[];
}

/** Every file under dir (relative paths), bounded by the tree itself. */
function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [relative(base, full)];
  });
}

const isSource = (f: string) => f.endsWith('.ts') && !f.endsWith('.d.ts');
const outputOf = (source: string) => source.replace(/\.ts$/, '.js');

/** Sources whose output is missing or older than the source (edited after the last emit). */
export function staleOutputs(src: string, out: string): string[] {
  return walk(src)
    .filter(isSource)
    .filter((f) => {
      const o = join(out, outputOf(f));
      return !existsSync(o) || statSync(join(src, f)).mtimeMs > statSync(o).mtimeMs;
    });
}

/** Run one build step with node; a failure carries the step's own output (tsc names each file and line on stdout). */
async function step(root: string, args: string[], what: string): Promise<void> {
  try {
    await run(process.execPath, args, { cwd: root, timeout: TSC_TIMEOUT_MS, maxBuffer: 16 << 20 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed in ${root}:\n${(e.stdout ?? '') + (e.stderr ?? '') || e.message}`);
  }
}

const tsc = (root: string, tsconfig: string, buildInfo: string) =>
  step(root, [TSC, '-p', tsconfig, '--incremental', '--tsBuildInfoFile', buildInfo], `tsc -p ${tsconfig}`);

const bundle = (root: string) => step(root, [join(root, 'scripts', 'bundle.mjs')], 'scripts/bundle.mjs');

/**
 * Compile src/ into dist/ and leave nothing stale there. Incremental (the build info lives in
 * dist/, so removing dist/ starts afresh); an output the incremental build did not refresh (dist/
 * written by another build, a source touched) makes it emit everything. Outputs whose source is
 * gone are removed, so a moved module cannot be spawned from its old place.
 */
export async function buildDist(options: BuildOptions): Promise<BuildReport> {
  const { root, tsconfig = 'tsconfig.json', srcDir = 'src', outDir = 'dist' } = options;
  const started = performance.now();
  const src = join(root, srcDir);
  const out = join(root, outDir);
  const buildInfo = join(out, '.tsbuildinfo');
  await tsc(root, tsconfig, buildInfo);
  let full = false;
  if (staleOutputs(src, out).length > 0) {
    full = true;
    rmSync(buildInfo, { force: true });
    await tsc(root, tsconfig, buildInfo);
    // Only existence now: everything was just written (a source dated in the future stays newer).
    const missing = walk(src).filter((f) => isSource(f) && !existsSync(join(out, outputOf(f))));
    if (missing.length > 0) throw new Error(`tsc wrote no output in ${out} for: ${missing.join(', ')}`);
  }
  const removed = removeOrphans(src, out);
  // This repository bundles the CLI from dist/ (scripts/bundle.mjs); the small projects of build.test.ts do not.
  if (existsSync(join(root, 'scripts', 'bundle.mjs'))) await bundle(root);
  return { ms: performance.now() - started, full, removed };
}

/** Remove outputs (.js, .js.map) without a source, then directories left empty. */
function removeOrphans(src: string, out: string): string[] {
  const removed = walk(out).filter((f) => {
    if (f.startsWith(`${BUNDLE_DIR}/`)) return false;
    const m = /^(.*)\.js(\.map)?$/.exec(f);
    return m !== null && !existsSync(join(src, `${m[1]}.ts`));
  });
  for (const f of removed) rmSync(join(out, f));
  const dirs = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => [...dirs(join(dir, e.name)), join(dir, e.name)]);
  if (existsSync(out)) for (const d of dirs(out)) if (readdirSync(d).length === 0) rmdirSync(d);
  return removed;
}
