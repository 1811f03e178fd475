// `smartftp bench`: hand the options to src/bench (bench/options.ts resolves them), run the sweep,
// print the report and write the files. Measuring and formatting live in src/bench.

import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { CertificateError } from '../certificate/load.js';
import { runChecks, type Check } from '../bench/checks.js';
import { toCsv } from '../bench/csv.js';
import { CONTENDER_LABEL } from '../bench/describe.js';
import { checkLines, reportLines } from '../bench/report.js';
import type { BenchResult, PointResult } from '../bench/results.js';
import { settingsFromOptions, targetFromOptions, type BenchOptions } from '../bench/options.js';
import type { BenchSettings } from '../bench/settings.js';
import { runSweep, totalFiles, type PointPlan, type Target } from '../bench/sweep.js';
import { toSvg } from '../bench/svg.js';
import { faultTarget } from '../emulator/faults.js';
import { isMachineFault, localErrorText } from '../util/local-error-text.js';
import { makeDirs } from '../util/make-dirs.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';

/** Progress on stderr: a bar on a terminal, a line per point otherwise. */
function progress(settings: BenchSettings, quietLines: boolean) {
  const err = process.stderr;
  const label = (p: PointPlan) => `${p.servers} server${p.servers > 1 ? 's' : ''}, ${p.clients} client${p.clients > 1 ? 's' : ''}, ${CONTENDER_LABEL[p.policy]}`;
  if (err.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: ' {bar} {percentage}% | {value}/{total} files | ETA {eta_formatted} | {point}', hideCursor: true, stream: err, etaBuffer: 200 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalFiles(settings), 0, { point: '' });
    return {
      onPointStart: (p: PointPlan) => bar.update({ point: label(p) }),
      onFile: () => bar.increment(),
      onPoint: (_: PointResult) => undefined,
      stop: () => bar.stop(),
    };
  }
  let n = 0;
  const of = settings.servers.length * settings.clients.length * settings.policies.length;
  return {
    onPointStart: () => undefined,
    onFile: () => undefined,
    onPoint: (p: PointResult) => {
      if (!quietLines) err.write(`[${++n}/${of}] ${label(p)}: ${p.paperMBps.toFixed(2)} MB/s in ${p.seconds.toFixed(1)} s\n`);
    },
    stop: () => undefined,
  };
}

async function writeOutputs(dir: string, result: BenchResult, report: string[], paper: boolean): Promise<string[]> {
  await makeDirs(dir);
  const files: [string, string][] = [
    ['bench.csv', toCsv(result)],
    ['figure6.svg', toSvg(result, { paper })],
    ['bench.json', JSON.stringify(result, null, 2) + '\n'],
    ['report.txt', report.join('\n') + '\n'],
  ];
  for (const [name, text] of files) await fsp.writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

/**
 * What a finished run exits with: 130 when interrupted; 1 when a check failed (a check that could
 * not be judged, [ ? ], is no failure), unless reportOnly; else 0.
 */
export function benchExitCode(interrupted: boolean, checks: readonly Check[], reportOnly = false): number {
  if (interrupted) return EXIT.interrupted;
  if (!reportOnly && checks.some((c) => c.ok === false)) return EXIT.failed;
  return EXIT.ok;
}

export async function runBench(o: BenchOptions): Promise<number> {
  let settings: BenchSettings;
  let target: Target;
  try {
    settings = settingsFromOptions(o);
    target = await targetFromOptions(o, settings);
  } catch (error) {
    const message = error instanceof CertificateError ? error.message : (error as Error).message;
    process.stderr.write(`smartftp bench: ${message}\n`);
    return EXIT.usage;
  }
  // The paper's figures apply to its setup: equal emulated links, no faults.
  const paper = !o.cert && new Set(settings.linkMbit).size <= 1 && settings.faults.length === 0;
  const interrupt = interruptSignal();
  const bar = progress(settings, !!o.json);
  let result: BenchResult;
  try {
    result = await runSweep(settings, target, {
      signal: interrupt.signal,
      onPointStart: bar.onPointStart,
      onFile: bar.onFile,
      onPoint: bar.onPoint,
      onFault: (p, f) => {
        if (!process.stderr.isTTY && !o.json) process.stderr.write(`  fault: ${f.kind} ${'server' in f ? 'server ' : ''}${faultTarget(f)} at ${f.atSeconds} s (${p.servers} servers, ${p.clients} clients, ${p.policy})\n`);
      },
    });
  } catch (error) {
    process.stderr.write(`smartftp bench: ${(error as Error).message}\n`);
    return EXIT.failed;
  } finally {
    bar.stop();
    await target.dispose();
    interrupt.dispose();
  }
  if (o.cert) {
    const first = result.points.find((p) => p.filesDone > 0);
    if (first) result.settings.size = Math.round(first.bytes / first.filesDone);
  }
  const checks = runChecks(result.points, { heterogeneous: new Set(settings.linkMbit).size > 1, faults: settings.faults.length > 0 });
  const report = reportLines(result, checks, { paper });
  if (o.json) process.stdout.write(JSON.stringify({ ...result, checks }, null, 2) + '\n');
  else process.stdout.write(report.join('\n') + '\n');
  if (o.out) {
    try {
      const written = await writeOutputs(resolve(o.out), result, report, paper);
      process.stderr.write(`wrote ${written.join(', ')}\n`);
    } catch (error) {
      // The report is on stdout already: the run is not lost, only the files.
      const path = (error as NodeJS.ErrnoException).path ?? o.out;
      process.stderr.write(`smartftp bench: --out ${o.out}: cannot write the results: ${localErrorText(error, path)}\n`);
      return isMachineFault(error) ? EXIT.local : EXIT.usage;
    }
  }
  if (o.json && checks.length > 0) process.stderr.write(checkLines(checks).join('\n') + '\n');
  const code = benchExitCode(result.interrupted, checks, o.reportOnly);
  if (code === EXIT.failed) {
    const failed = checks.filter((c) => c.ok === false).length;
    process.stderr.write(`smartftp bench: ${failed} check${failed > 1 ? 's' : ''} failed (exit 1; --report-only exits 0)\n`);
  }
  return code;
}
