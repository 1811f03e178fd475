// `smartftp get -r REMOTE_DIR`: list the tree through the director (from the best mirror, failing
// over like a file), then fetch its files with the same batch queue as `get` (-j). Like
// `lftp mirror`, the directory's contents go into -d DIR: REMOTE_DIR/sub/x.bin -> DIR/sub/x.bin.

import { AllMirrorsFailed, Interrupted } from '../director/errors.js';
import { quoted, remoteDirProblem } from '../client/remote-name.js';
import { planTree } from '../client/tree.js';
import { createReporter } from '../ui/reporter.js';
import { EXIT } from './exit-codes.js';
import { fetchItems, openClient, type GetOptions } from './get.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli } from './load-cert.js';

/** Flags that name one file, or files by URL: they make no sense with -r. */
function conflict(paths: string[], options: GetOptions): string | undefined {
  if (paths.length !== 1) return '-r takes one remote directory';
  if (/^ftps?:\/\//i.test(paths[0]!)) return '-r takes a directory relative to the mirrors\' base directories, not a URL (use --mirror)';
  if (options.output) return '-o names one file; -r writes the tree into -d DIR';
  if (options.inputFile) return '-i and -r do not go together';
  if (options.sha256) return '--sha256 checks one file';
  return undefined;
}

export async function runGetTree(paths: string[], options: GetOptions): Promise<number> {
  const reporter = createReporter({ json: !!options.json, quiet: !!options.quiet });
  const usage = conflict(paths, options);
  const root = paths[0] ?? '';
  const problem = usage ?? (remoteDirProblem(root) && `refused remote directory ${quoted(root)}: ${remoteDirProblem(root)}`);
  if (problem) {
    reporter.note(`smartftp get: ${problem}`);
    reporter.close();
    return EXIT.usage;
  }
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) {
    reporter.close();
    return EXIT.usage;
  }
  const interrupt = interruptSignal();
  const client = await openClient(cert, options, reporter, interrupt.signal);
  try {
    let listing;
    try {
      listing = await client.list(root);
    } catch (error) {
      if (error instanceof Interrupted) return EXIT.interrupted;
      if (!(error instanceof AllMirrorsFailed)) throw error;
      reporter.event({ type: 'error', file: root, message: `cannot list: ${error.message}`, attempts: error.attempts });
      return EXIT.failed;
    }
    const plan = planTree(root, listing.files, options.dir ?? '.', { include: options.include, exclude: options.exclude }, [listing, ...(listing.second ? [listing.second] : [])]);
    for (const line of plan.problems) reporter.event({ type: 'warning', message: line });
    const left = plan.filtered > 0 ? ` (${plan.filtered} left out by --include/--exclude)` : '';
    if (!options.quiet && !options.json) {
      reporter.note(`${root}: ${listing.files.length} file(s) in ${listing.dirs} director${listing.dirs === 1 ? 'y' : 'ies'} from ${listing.mirror}; fetching ${plan.items.length}${left}`);
    }
    return await fetchItems(client, plan.items, options, reporter);
  } finally {
    await client.close();
    interrupt.dispose();
    reporter.close();
  }
}
