// `smartftp bench`: parse the options, run the sweep (src/bench), print the report and write the
// files. Measuring and formatting live in src/bench; this file only reads flags and prints.

import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { bootstrapCertificate } from '../certificate/sources.js';
import { CertificateError } from '../certificate/load.js';
import { runChecks } from '../bench/checks.js';
import { toCsv } from '../bench/csv.js';
import { CONTENDER_LABEL } from '../bench/describe.js';
import { checkLines, reportLines } from '../bench/report.js';
import type { BenchResult, PointResult } from '../bench/results.js';
import {
  checkSettings,
  defaultSettings,
  PAPER_SETTINGS,
  parseIntList,
  parsePolicies,
  parseRateList,
  parseSize,
  type BenchSettings,
} from '../bench/settings.js';
import { certificateTarget, emulatedTarget, runSweep, totalFiles, type PointPlan, type Target } from '../bench/sweep.js';
import { toSvg } from '../bench/svg.js';
import { faultTarget, parseFault } from '../emulator/faults.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';

/** The flags as commander hands them over: strings, parsed here so every mistake is one message. */
export interface BenchOptions {
  servers?: string;
  clients?: string;
  policies?: string;
  files?: string;
  size?: string;
  link?: string;
  links?: string;
  delay?: string;
  clientLink?: string;
  scale?: string;
  maxSessions?: string;
  fault?: string[];
  seed?: string;
  paper?: boolean;
  out?: string;
  json?: boolean;
  cert?: string;
  file?: string;
}

function number(text: string, flag: string, min: number, integer = false): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag}: expected ${integer ? 'a whole number' : 'a number'} >= ${min}, got "${text}"`);
  }
  return n;
}

/** The settings a command line asks for (throws Error with a message for the user). */
export function settingsFromOptions(o: BenchOptions): BenchSettings {
  const s: BenchSettings = o.paper ? { ...PAPER_SETTINGS } : defaultSettings();
  if (o.scale !== undefined) s.scale = number(o.scale, '--scale', Number.MIN_VALUE);
  if (o.servers !== undefined) s.servers = parseIntList(o.servers, '--servers');
  if (o.clients !== undefined) s.clients = parseIntList(o.clients, '--clients');
  if (o.policies !== undefined) s.policies = parsePolicies(o.policies);
  if (o.files !== undefined) s.files = number(o.files, '--files', 1, true);
  if (o.size !== undefined) s.size = parseSize(o.size);
  if (o.link !== undefined && o.links !== undefined) throw new Error('--link and --links: give one or the other');
  if (o.link !== undefined) s.linkMbit = [number(o.link, '--link', Number.MIN_VALUE)];
  if (o.links !== undefined) {
    s.linkMbit = parseRateList(o.links, '--links');
    // The list names the mirrors; without --servers, run them all.
    if (o.servers === undefined) s.servers = [s.linkMbit.length];
  }
  if (o.delay !== undefined) s.delayMs = number(o.delay, '--delay', 0);
  if (o.clientLink !== undefined) s.clientLinkMbit = o.clientLink === 'none' || Number(o.clientLink) === 0 ? undefined : number(o.clientLink, '--client-link', Number.MIN_VALUE);
  if (o.maxSessions !== undefined) s.maxSessions = number(o.maxSessions, '--max-sessions', 1, true);
  if (o.seed !== undefined) s.seed = number(o.seed, '--seed', 0, true);
  s.faults = (o.fault ?? []).map(parseFault);
  const problems = checkSettings(s);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return s;
}

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
  await fsp.mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['bench.csv', toCsv(result)],
    ['figure6.svg', toSvg(result, { paper })],
    ['bench.json', JSON.stringify(result, null, 2) + '\n'],
    ['report.txt', report.join('\n') + '\n'],
  ];
  for (const [name, text] of files) await fsp.writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

async function certTarget(o: BenchOptions, s: BenchSettings): Promise<Target> {
  if (!o.file) throw new Error('--cert needs --file PATH: the file every mirror holds');
  if (s.faults.length > 0) throw new Error('--fault works on emulated mirrors only');
  const { cert } = await bootstrapCertificate([o.cert!]);
  if (o.servers === undefined) s.servers = [cert.mirrors.length];
  if (Math.max(...s.servers) > cert.mirrors.length) throw new Error(`--servers: ${o.cert} names ${cert.mirrors.length} mirrors`);
  // Real mirrors run at their own speed: nothing is scaled, and links are what they are.
  s.scale = 1;
  if (o.clientLink === undefined) s.clientLinkMbit = undefined;
  s.linkMbit = [];
  return certificateTarget(cert, o.file);
}

export async function runBench(o: BenchOptions): Promise<number> {
  let settings: BenchSettings;
  let target: Target;
  try {
    settings = settingsFromOptions(o);
    target = o.cert ? await certTarget(o, settings) : await emulatedTarget(settings);
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
    const written = await writeOutputs(resolve(o.out), result, report, paper);
    process.stderr.write(`wrote ${written.join(', ')}\n`);
  }
  if (o.json && checks.length > 0) process.stderr.write(checkLines(checks).join('\n') + '\n');
  return result.interrupted ? EXIT.interrupted : EXIT.ok;
}
