// Write a small file so that a crash or Ctrl-C leaves either the old contents or the new ones,
// never half of either: a temporary file beside it (PATH.PID.tmp), fsynced, then renamed over it.
// A process killed mid-write (SIGKILL, power loss) leaves its temporary file behind: the next
// write of the same file removes those of processes no longer running, so they never pile up.

import { promises as fsp, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './process-alive.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  removeStaleTemps(path);
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, path);
}

/**
 * The same without the fsync, and synchronous (a small write to the page cache costs less than the
 * thread-pool round trips): a crash of the process still leaves the old contents or the new ones,
 * but a power loss may leave the file empty or missing. Only for files whose loss is harmless.
 */
export function replaceFileSync(path: string, data: string | Uint8Array): void {
  removeStaleTemps(path);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Per directory, listed once per process: the temporary files found there (NAME.PID.tmp) not yet
 * dealt with. Only names that look like ours are kept: a download directory may hold many files,
 * and after the first look a write costs a walk of this (usually empty) set.
 */
const found = new Map<string, Set<string>>();

function tempsIn(dir: string): Set<string> {
  let names = found.get(dir);
  if (!names) {
    try {
      names = new Set(readdirSync(dir).filter((n) => /\.\d+\.tmp$/.test(n)));
    } catch {
      names = new Set(); // the write itself will say what is wrong with the directory
    }
    found.set(dir, names);
  }
  return names;
}

/**
 * Remove PATH.PID.tmp files of processes that are gone (another run's, still writing, stay). Also
 * for a file that is no longer written (a record a download did not need): its leftovers go too.
 */
export function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const names = tempsIn(dir);
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length, -'.tmp'.length) : '';
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    names.delete(name);
    if (processAlive(Number(pid))) continue;
    try {
      rmSync(join(dir, name), { force: true });
    } catch {
      // Another user's file: a clean-up that fails must not fail the write itself.
    }
  }
}
