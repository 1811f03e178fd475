// `smartftp get`: parse, hand the files to the service client (client/batch.ts), print, and map
// each outcome to the exit code. It never picks a mirror.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { downloadBatch, type BatchOutcome } from '../client/batch.js';
import { checkRemoteNames } from '../client/remote-name.js';
import { ServiceClient } from '../client/service-client.js';
import type { PolicyName } from '../certificate/types.js';
import { AllMirrorsFailed, Interrupted } from '../director/errors.js';
import { defaultStateDir, StateStore } from '../director/state.js';
import { createReporter } from '../ui/reporter.js';
import { EXIT } from './exit-codes.js';
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
  /** -i: a file listing remote paths, one a line ('-' for stdin). */
  inputFile?: string;
  /** -j: files downloaded at once. */
  jobs?: number;
}

export interface ListEntry {
  path: string;
  /** 1-based line in the list. */
  line: number;
}

/** Remote paths from a list: one a line; blank lines and # comments skipped (as wget -i, aria2 -i). */
export async function readList(file: string): Promise<ListEntry[]> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ path: l.trim(), line: i + 1 }))
    .filter((e) => e.path && !e.path.startsWith('#'));
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export async function runGet(paths: string[], options: GetOptions): Promise<number> {
  const output = { json: !!options.json, quiet: !!options.quiet };
  let listed: ListEntry[];
  try {
    listed = options.inputFile ? await readList(options.inputFile) : [];
  } catch (error) {
    createReporter(output).note(`smartftp get: cannot read ${options.inputFile}: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const all = [...paths, ...listed.map((e) => e.path)];
  const reporter = createReporter({ ...output, total: all.length });
  if (all.length === 0) {
    reporter.note('smartftp get: no file named (give paths, or -i FILE)');
    return EXIT.usage;
  }
  if (options.output && all.length > 1) {
    reporter.note('smartftp get: -o names one file; use -d DIR for several');
    return EXIT.usage;
  }
  // Before any connection: a bad name could inject an FTP command or write outside -d DIR.
  const listName = options.inputFile === '-' ? 'stdin' : options.inputFile;
  const from = (i: number) => (i < paths.length ? undefined : `${listName} line ${listed[i - paths.length]!.line}`);
  const { dests, problems } = checkRemoteNames(all, { output: options.output, dir: options.dir }, from);
  if (problems.length > 0) {
    for (const problem of problems) reporter.note(`smartftp get: ${problem}`);
    return EXIT.usage;
  }
  const clash = dests.find((d, i) => dests.indexOf(d) !== i);
  if (clash) {
    reporter.note(`smartftp get: two of the files would both be written to ${clash}`);
    return EXIT.usage;
  }
  if (options.sha256 && all.length > 1) {
    reporter.note('smartftp get: --sha256 checks one file');
    return EXIT.usage;
  }
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;

  const interrupt = interruptSignal();
  const client = await ServiceClient.open(cert, {
    events: (e) => reporter.event(e),
    policy: options.policy,
    stallTimeout: options.stallTimeout,
    adaptiveStall: options.adaptiveStall,
    decisions: !!options.debug,
    store: options.state === false ? undefined : new StateStore(options.stateDir ?? defaultStateDir()),
    signal: interrupt.signal,
  });

  let code: number = EXIT.ok;
  const onOutcome = (outcome: BatchOutcome) => {
    if (!('error' in outcome)) return;
    const { item, error } = outcome;
    // Said only when there is one: a failure before the first byte leaves none.
    const stays = existsSync(`${item.dest}.part`) ? '; the partial file stays for the next run' : '';
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
  try {
    const items = all.map((remotePath, i) => ({ remotePath, dest: dests[i]! }));
    await downloadBatch(client, items, { jobs: options.jobs ?? 1, file: { sha256: options.sha256, force: options.force }, onOutcome });
  } finally {
    await client.close();
    interrupt.dispose();
    reporter.close();
  }
  return code;
}
