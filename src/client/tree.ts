// `get -r`: which files of a listed tree are fetched, and where each goes. The tree keeps its shape
// under -d DIR, and like `lftp mirror` the contents of the remote directory go into DIR (its own
// name is not kept): REMOTE_DIR/sub/x.bin -> DIR/sub/x.bin.

import { posix } from 'node:path';
import picomatch from 'picomatch';
import type { TreeFile } from '../ftp/list-request.js';
import type { BatchItem } from './batch.js';
import { quoted, treeDestination } from './remote-name.js';

export interface TreeFilter {
  /** Globs on the path relative to the listed directory: when any is given, a file must match one. */
  include?: readonly string[];
  /** Globs: a file that matches one, or lies in a directory that does, is left out. */
  exclude?: readonly string[];
}

/**
 * A matcher of paths relative to the tree. Dot files are files like any other, and a glob without
 * "/" is matched against the last segment too ("*.iso" matches "a/b/x.iso"), as rsync does.
 */
function matcher(globs: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  if (!globs || globs.length === 0) return undefined;
  // One matcher each: picomatch's basename option, given a list, would apply to globs with "/" too.
  const each = globs.map((glob) => picomatch(glob, { dot: true, basename: !glob.includes('/') }));
  return (path) => each.some((match) => match(path));
}

/** Whether the file at `path` is wanted: included (when includes are given), and neither it nor a directory above it excluded. */
export function treeFilter(filter: TreeFilter): (path: string) => boolean {
  const include = matcher(filter.include);
  const exclude = matcher(filter.exclude);
  return (path) => {
    if (include && !include(path)) return false;
    if (!exclude) return true;
    const segments = path.split('/');
    return !segments.some((_, i) => exclude(segments.slice(0, i + 1).join('/')));
  };
}

export interface TreePlan {
  items: BatchItem[];
  /** Files the globs left out. */
  filtered: number;
  /** One line per file that could not be placed inside DIR. */
  problems: string[];
}

/** What one mirror's listing said of the tree: each file's size is that mirror's word on it. */
export interface ListedBy {
  mirror: string;
  files: readonly TreeFile[];
}

/**
 * The batch items for the files of a tree listed under `root`, into `dir`; `listings`: the mirrors'
 * listings whose sizes each item carries (a file another listing lacks gets no word from it).
 */
export function planTree(root: string, files: readonly TreeFile[], dir: string, filter: TreeFilter = {}, listings: readonly ListedBy[] = []): TreePlan {
  const wanted = treeFilter(filter);
  const sizes = listings.map(({ mirror, files: listed }) => ({ mirror, of: new Map(listed.map((f) => [f.path, f.size])) }));
  const plan: TreePlan = { items: [], filtered: 0, problems: [] };
  for (const file of files) {
    if (!wanted(file.path)) {
      plan.filtered++;
      continue;
    }
    try {
      const listed = sizes.flatMap(({ mirror, of }) => (of.has(file.path) ? [{ mirror, size: of.get(file.path)! }] : []));
      plan.items.push({ remotePath: posix.join(root, file.path), dest: treeDestination(dir, file.path), ...(listed.length > 0 ? { listed } : {}) });
    } catch (error) {
      plan.problems.push(`skipped ${quoted(file.path)}: ${(error as Error).message}`);
    }
  }
  return plan;
}
