// The listing request (`get -r`): walks a remote directory tree on one mirror, through the
// director like a file, so the listing comes from the best mirror and fails over like a download.
// A listing is a stranger's word: each LIST runs under a deadline, the walk is capped in entries
// and depth, symbolic links are not followed, and every name is checked before it becomes part of
// a path (a name that could climb out of the tree is skipped, with a warning).

import { posix } from 'node:path';
import { FileType, type Client, type FileInfo } from 'basic-ftp';
import type { MirrorSpec } from '../certificate/types.js';
import { RequestError } from '../director/errors.js';
import type { Meter, Request } from '../director/request.js';
import { classifyTransferError } from './classify.js';
import { withConnection, type FtpPool, type Lease } from './pool.js';
import { remoteFullPath, withDeadline } from './remote-file.js';
import { printable } from '../util/safe-text.js';

/** A name from a listing, quoted and safe to print (control characters escaped). */
const shown = (name: string) => `"${printable(name.replace(/\\/g, '\\\\'))}"`;

export const MAX_TREE_ENTRIES = 100_000;
export const MAX_TREE_DEPTH = 64;

export interface TreeFile {
  /** Relative to the listed directory, "/"-separated ("sub/x.bin"). */
  path: string;
  size: number;
}

export interface TreeListing {
  /** The mirror the listing came from. */
  mirror: string;
  files: TreeFile[];
  /** Directories listed (the root included). */
  dirs: number;
  /** One line per entry left out (a bad name, too deep); symbolic links are counted in one line. */
  skipped: string[];
}

export interface ListOptions {
  /** The directory, relative to each mirror's base directory. */
  root: string;
  pool: FtpPool;
  /** How long one LIST (its whole listing) may take, ms. */
  listTimeoutMs: number;
  /** How long FEAT may take, ms. */
  commandTimeoutMs: number;
  /** Why an entry's name may not be used (undefined: it may); "." and ".." never reach it. */
  nameProblem: (name: string) => string | undefined;
  maxEntries?: number;
  maxDepth?: number;
}

/** The connections whose listing command is chosen: FEAT is asked once a connection. */
const chosen = new WeakSet<Client>();

/**
 * MLSD where the server has it, LIST otherwise. The pool's login skips FEAT (downloads do not need
 * it), so basic-ftp would only ever try LIST: ask FEAT here, once a connection, as basic-ftp's own
 * login does ("The presence of the MLST feature indicates that both MLST and MLSD are supported").
 */
async function chooseListCommand(lease: Lease, deadlineMs: number): Promise<void> {
  const { client } = lease;
  if (chosen.has(client)) return;
  const features = await withDeadline(client, deadlineMs, 'FEAT', client.features());
  client.availableListCommands = features.has('MLST') ? ['MLSD', 'LIST -a', 'LIST'] : ['LIST -a', 'LIST'];
  chosen.add(client);
}

export class ListRequest implements Request<TreeListing> {
  readonly what: string;

  constructor(private readonly options: ListOptions) {
    this.what = options.root;
  }

  async action(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<TreeListing> {
    return withConnection(this.options.pool, mirror, signal, (ms) => meter.connected(ms), async (lease, answered) => {
      await this.chooseCommand(lease);
      answered();
      return this.walk(lease, mirror);
    });
  }

  /**
   * The same tree listed on a connection already leased (a second mirror's listing: its sizes are
   * that mirror's word on each file, so no file of the tree needs a SIZE; client/service-client.ts).
   */
  async listOn(lease: Lease): Promise<TreeListing> {
    await this.chooseCommand(lease);
    return this.walk(lease, lease.mirror);
  }

  private async chooseCommand(lease: Lease): Promise<void> {
    try {
      await chooseListCommand(lease, this.options.commandTimeoutMs);
    } catch (error) {
      throw classifyTransferError(error);
    }
  }

  /** Breadth first, so that a tree too deep is cut at the same level on every mirror. */
  private async walk(lease: Lease, mirror: MirrorSpec): Promise<TreeListing> {
    const { maxEntries = MAX_TREE_ENTRIES, maxDepth = MAX_TREE_DEPTH, nameProblem } = this.options;
    const listing: TreeListing = { mirror: mirror.name, files: [], dirs: 0, skipped: [] };
    const queue: { rel: string; depth: number }[] = [{ rel: '', depth: 0 }];
    let entries = 0;
    let links = 0;
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      listing.dirs++;
      const seen = new Set<string>();
      for (const entry of await this.list(lease, dir.rel)) {
        if (entry.name === '.' || entry.name === '..') continue;
        if (++entries > maxEntries) throw new RequestError('broken', `${mirror.name} lists more than ${maxEntries} entries under ${this.what}`);
        const rel = dir.rel === '' ? entry.name : `${dir.rel}/${entry.name}`;
        const problem = nameProblem(entry.name);
        if (problem) {
          listing.skipped.push(`${mirror.name} listed ${shown(rel)} in ${this.what}: skipped, ${problem}`);
        } else if (seen.has(entry.name)) {
          listing.skipped.push(`${mirror.name} listed ${shown(rel)} twice in ${this.what}: skipped the second`);
        } else if (entry.type === FileType.SymbolicLink) {
          links++;
        } else if (entry.type === FileType.Directory) {
          if (dir.depth + 1 > maxDepth) listing.skipped.push(`${shown(rel)} in ${this.what}: not descended, deeper than ${maxDepth} levels`);
          else queue.push({ rel, depth: dir.depth + 1 });
        } else if (entry.type === FileType.File) {
          listing.files.push({ path: rel, size: entry.size });
        }
        seen.add(entry.name);
      }
    }
    if (links > 0) listing.skipped.push(`${links} symbolic link(s) in ${this.what} not followed`);
    return listing;
  }

  /** One directory's entries, under the listing deadline. */
  private async list(lease: Lease, rel: string): Promise<FileInfo[]> {
    const { client } = lease;
    const remote = remoteFullPath(lease.mirror, posix.join(this.options.root, rel));
    try {
      return await withDeadline(client, this.options.listTimeoutMs, 'LIST', client.list(remote));
    } catch (error) {
      throw classifyTransferError(error);
    }
  }

  cleanup(): void {
    // Nothing kept: the next mirror lists the tree from the start.
  }
}
