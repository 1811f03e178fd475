// The destination is looked at before any connection: a mistake about where files go is found
// in a moment, not after the whole file came (a rename onto a directory fails at the very end).

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { localErrorText } from '../util/local-error-text.js';

export interface DestinationProblem {
  /** 'usage': the options are wrong; 'local': this machine refuses (permission, read-only file system). */
  kind: 'usage' | 'local';
  message: string;
}

function kindOf(path: string): 'file' | 'dir' | 'other' | undefined {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

/** The nearest directory that exists on the way to `path`, and whether it can be written to. */
function writableAncestor(path: string): { dir: string; refused?: unknown } {
  let dir = path;
  while (kindOf(dir) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return { dir };
  } catch (error) {
    return { dir, refused: error };
  }
}

/** What is wrong with -o FILE or -d DIR, if anything. */
export function destinationProblem(options: { output?: string; dir?: string }): DestinationProblem | undefined {
  if (options.output !== undefined) {
    const out = resolve(options.output);
    if (kindOf(out) === 'dir') return { kind: 'usage', message: `-o ${options.output} is a directory; to put the file in it, use -d ${options.output}` };
    if (/[/\\]$/.test(options.output)) return { kind: 'usage', message: `-o ${options.output} ends with a slash: -o names a file; for a directory use -d` };
    const place = writableAncestor(dirname(out));
    if (kindOf(place.dir) !== 'dir') return { kind: 'usage', message: `-o ${options.output}: ${place.dir} is not a directory` };
    if (place.refused) return { kind: 'local', message: `-o ${options.output}: ${localErrorText(place.refused, place.dir)}` };
    return undefined;
  }
  const dir = resolve(options.dir ?? '.');
  const kind = kindOf(dir);
  if (kind !== undefined && kind !== 'dir') return { kind: 'usage', message: `-d ${options.dir}: it is a file, not a directory` };
  const place = writableAncestor(dir);
  if (kindOf(place.dir) !== 'dir') return { kind: 'usage', message: `-d ${options.dir}: ${place.dir} is not a directory` };
  if (place.refused) return { kind: 'local', message: `-d ${options.dir ?? '.'}: ${localErrorText(place.refused, place.dir)}` };
  return undefined;
}
