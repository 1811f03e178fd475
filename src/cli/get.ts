// `smartftp get`: parse, hand the files to the service client (client/batch.ts), print, and map
// each outcome to the exit code. It never picks a mirror. Files given by full URLs are fetched
// through services built from those URLs, one after another (client/url-files.ts).

import { statSync } from 'node:fs';
import { downloadBatch, type BatchItem, type BatchOutcome } from '../client/batch.js';
import { destinationProblem } from '../client/destination.js';
import { checkRemoteNames } from '../client/remote-name.js';
import { ServiceClient } from '../client/service-client.js';
import { onTheFlyCertificate } from '../certificate/compose.js';
import { CertificateError } from '../certificate/load.js';
import type { Certificate, PolicyName } from '../certificate/types.js';
import { AllMirrorsFailed, Interrupted } from '../director/errors.js';
import { defaultStateDir, StateStore } from '../director/state.js';
import { createReporter, type Reporter } from '../ui/reporter.js';
import { isMachineFault, localErrorText } from '../util/local-error-text.js';
import { EXIT } from './exit-codes.js';
import { readList, wantedFiles, type ListEntry, type Wanted } from './get-input.js';
import { runGetTree } from './get-tree.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli, type CertOptions } from './load-cert.js';

export interface GetOptions extends CertOptions {
  output?: string;
  dir?: string;
  policy?: PolicyName;
  stallTimeout?: number;
  sha256?: string;
  /** Fetch files that are already complete too. */
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  /** Also print the director's decisions with their reasons. */
  debug?: boolean;
  /** false with --no-state. */
  state?: boolean;
  /** false with --no-adaptive-stall. */
  adaptiveStall?: boolean;
  /** -i: a file listing remote paths or URL lines, one a line ('-' for stdin). */
  inputFile?: string;
  /** -j: files downloaded at once. */
  jobs?: number;
  /** -s: byte ranges of one file fetched from several mirrors at once (not given: the director decides). */
  split?: number;
  /** -v: the FTP dialogue too. */
  verbose?: boolean;
  /** Seconds. */
  connectTimeout?: number;
  tries?: number;
  /** Seconds. */
  retryWait?: number;
  /** Bytes a second. */
  limitRate?: number;
  dryRun?: boolean;
  /** -r: the one path is a directory; its tree is fetched (cli/get-tree.ts). */
  recursive?: boolean;
  /** With -r: globs on paths relative to the directory. */
  include?: string[];
  exclude?: string[];
}

export async function runGet(paths: string[], options: GetOptions): Promise<number> {
  // Where the files go is looked at first: a wrong -o or -d is found before any byte moves.
  const where = destinationProblem({ output: options.output, dir: options.dir });
  if (where) {
    createReporter({ json: !!options.json, quiet: !!options.quiet }).note(`smartftp get: ${where.message}`);
    return where.kind === 'usage' ? EXIT.usage : EXIT.local;
  }
  if (options.recursive) return runGetTree(paths, options);
  if (options.include || options.exclude) {
    createReporter({ json: !!options.json, quiet: !!options.quiet }).note('smartftp get: --include and --exclude go with -r');
    return EXIT.usage;
  }
  const output = { json: !!options.json, quiet: !!options.quiet };
  let listed: ListEntry[];
  try {
    listed = options.inputFile ? await readList(options.inputFile) : [];
  } catch (error) {
    createReporter(output).note(`smartftp get: cannot read the list -i ${localErrorText(error, options.inputFile ?? '-', 'read')}`);
    return isMachineFault(error) ? EXIT.local : EXIT.usage;
  }
  const count = paths.length + listed.length;
  const reporter = createReporter({ ...output, total: count });
  if (count === 0) {
    reporter.note('smartftp get: no file named (give paths, or -i FILE)');
    return EXIT.usage;
  }
  const listName = options.inputFile === '-' ? 'stdin' : options.inputFile;
  const wanted = wantedFiles(paths, listed, listName, options);
  if (wanted.problems.length > 0) {
    for (const problem of wanted.problems) reporter.note(problem);
    return EXIT.usage;
  }
  if (options.output && count > 1) {
    reporter.note('smartftp get: -o names one file; use -d DIR for several');
    return EXIT.usage;
  }
  // Before any connection: a bad name could inject an FTP command or write outside -d DIR.
  // Several files, or a list, keep their remote paths under -d: the same place whatever subset a re-run names.
  const keepDirs = !!options.inputFile || paths.length > 1;
  const { dests, problems } = checkRemoteNames(wanted.names, { output: options.output, dir: options.dir, keepDirs }, (i) => wanted.where[i]);
  if (problems.length > 0) {
    for (const problem of problems) reporter.note(`smartftp get: ${problem}`);
    return EXIT.usage;
  }
  const clash = dests.find((d, i) => dests.indexOf(d) !== i);
  if (clash) {
    reporter.note(`smartftp get: two of the files would both be written to ${clash}`);
    return EXIT.usage;
  }
  if (options.sha256 && count > 1) {
    reporter.note('smartftp get: --sha256 checks one file');
    return EXIT.usage;
  }
  const items = wanted.names.map((remotePath, i): BatchItem => ({ remotePath, dest: dests[i]! }));
  const runs = await services(wanted.urlGroups, items, options, reporter);
  if (!runs) return EXIT.usage;

  const interrupt = interruptSignal();
  let code: number = EXIT.ok;
  try {
    // One service after another: each saves what it measured before the next loads its own.
    for (const run of runs) {
      code = Math.max(code, await fetchThrough(run.cert, run.items, options, reporter, interrupt.signal));
      if (code === EXIT.interrupted || code === EXIT.local) break;
    }
  } finally {
    interrupt.dispose();
    reporter.close();
  }
  return code;
}

interface ServiceRun {
  cert: Certificate;
  items: BatchItem[];
}

/** The certificate (--cert, --mirror, ./mirrors.yaml) with every file, or one service per group of URLs. */
async function services(groups: Wanted['urlGroups'], items: BatchItem[], options: GetOptions, reporter: Reporter): Promise<ServiceRun[] | undefined> {
  if (!groups) {
    const cert = await loadCertificateForCli(options, reporter);
    return cert && [{ cert, items }];
  }
  try {
    return groups.map((g) => ({ cert: onTheFlyCertificate(g.mirrors, 'the URLs given'), items: g.entries.map((i) => items[i]!) }));
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    reporter.note(error.message);
    return undefined;
  }
}

/**
 * Fetch the items through one service; the exit code they make: 1 when one failed on every mirror,
 * 3 for a local fault, 130 when interrupted (the highest wins).
 */
async function fetchThrough(cert: Certificate, items: BatchItem[], options: GetOptions, reporter: Reporter, signal: AbortSignal): Promise<number> {
  const client = await openClient(cert, options, reporter, signal);
  try {
    return await fetchItems(client, items, options, reporter);
  } finally {
    await client.close();
  }
}

/** The service client `get` works through, its events going to the reporter. */
export function openClient(cert: Certificate, options: GetOptions, reporter: Reporter, signal: AbortSignal): Promise<ServiceClient> {
  return ServiceClient.open(cert, {
    events: (e) => reporter.event(e),
    policy: options.policy,
    stallTimeout: options.stallTimeout,
    adaptiveStall: options.adaptiveStall,
    decisions: !!options.debug,
    dialogue: !!options.verbose,
    connectTimeout: options.connectTimeout,
    tries: options.tries,
    retryWaitMs: options.retryWait === undefined ? undefined : options.retryWait * 1000,
    limitRate: options.limitRate,
    store: options.state === false ? undefined : new StateStore(options.stateDir ?? defaultStateDir()),
    signal,
  });
}

/** Fetch the items through an open client (--dry-run: only say where from); the exit code they make. */
export async function fetchItems(client: ServiceClient, items: BatchItem[], options: GetOptions, reporter: Reporter): Promise<number> {
  if (options.dryRun) {
    // The order is the director's now, from what it remembers; nothing is connected to or saved.
    // With -s N, the first N in line share the file, one range each; without, the director decides once it knows the size.
    const ranges = options.split ?? 1;
    for (const item of items) {
      const order = client.plan(item.remotePath, item.dest);
      const from = order.slice(0, ranges);
      const then = order.slice(ranges);
      const how = ranges > 1 ? `in up to ${ranges} ranges at once, ` : '';
      reporter.note(`${item.remotePath} -> ${item.dest}: ${how}from ${from.join(', ') || 'no mirror'}${then.length ? ` (then ${then.join(', ')})` : ''}`);
    }
    return EXIT.ok;
  }
  let code: number = EXIT.ok;
  const onOutcome = (outcome: BatchOutcome) => {
    if (!('error' in outcome)) return;
    const { item, error } = outcome;
    // Said only when there are bytes kept: a failure before the first byte leaves none.
    const stays = keptBytes(`${item.dest}.part`) > 0 ? '; the partial file stays for the next run' : '';
    if (error instanceof AllMirrorsFailed) {
      reporter.event({ type: 'error', file: item.remotePath, message: error.message, attempts: error.attempts });
      code = Math.max(code, EXIT.failed);
    } else if (error instanceof Interrupted) {
      reporter.event({ type: 'error', file: item.remotePath, message: `interrupted${stays}`, attempts: [] });
      code = EXIT.interrupted;
    } else {
      reporter.event({ type: 'error', file: item.remotePath, message: `${error.message}${stays}`, attempts: [] });
      if (code !== EXIT.interrupted) code = EXIT.local;
    }
  };
  await downloadBatch(client, items, { jobs: options.jobs ?? 1, file: { sha256: options.sha256, force: options.force, split: options.split ?? 'auto' }, onOutcome });
  return code;
}

/** Bytes in a partial file (0 when there is none, or it cannot be looked at). */
function keptBytes(part: string): number {
  try {
    return statSync(part).size;
  } catch {
    return 0;
  }
}
