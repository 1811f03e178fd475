// A temporary directory that names the process it belongs to (an OWNER file holding its pid), so
// that one left behind by a killed process (SIGKILL, a crash: no chance to remove it) is removed by
// the next process that makes one with the same prefix. `serve`'s sample tree is 76 MiB a run.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from './process-alive.js';

const OWNER = 'OWNER.pid';


/** The pid written in the directory, if it is one of ours (directories of older versions have none). */
function ownerOf(dir: string): number | undefined {
  try {
    const text = readFileSync(join(dir, OWNER), 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Remove the PREFIX* directories under the temporary directory whose owner is no longer running. */
export function removeAbandoned(prefix: string, parent = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = join(parent, name);
    const pid = ownerOf(dir);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Another user's, or already going: not ours to insist on.
    }
  }
  return removed;
}

/** mkdtemp under the temporary directory, with this process's pid in it, after removing abandoned ones. */
export function makeOwnedTempDir(prefix: string): string {
  const parent = tmpdir();
  removeAbandoned(prefix, parent);
  const dir = mkdtempSync(join(parent, prefix));
  writeFileSync(join(dir, OWNER), `${process.pid}\n`);
  return dir;
}
