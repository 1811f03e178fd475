// Before any test (and before each re-run in watch mode): build dist/ from the current src/, so the
// processes the tests spawn run the code under test. See test/helpers/build.ts.

import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { buildDist, type BuildReport } from './helpers/build.js';

/** Not fixtures.REPO: that module imports src/, which tsc should be the first to judge. */
const REPO = fileURLToPath(new URL('..', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    /** When this run's build of dist/ finished (epoch ms); test/unit/build.test.ts checks it. */
    distBuiltAt: number;
  }
}

async function build(project: TestProject): Promise<void> {
  const report: BuildReport = await buildDist({ root: REPO });
  project.provide('distBuiltAt', Date.now());
  const removed = report.removed.length > 0 ? `; removed ${report.removed.join(', ')} (no source)` : '';
  console.info(`dist/ built from src/ in ${(report.ms / 1000).toFixed(1)} s${report.full ? ' (everything emitted)' : ''}${removed}`);
}

export default async function setup(project: TestProject): Promise<void> {
  await build(project);
  project.onTestsRerun(() => build(project));
}
