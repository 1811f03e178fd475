// Write a small file so that a crash or Ctrl-C leaves either the old contents or the new ones,
// never half of either: a temporary file beside it (PATH.PID.tmp), fsynced, then renamed over it.
// A process killed mid-write (SIGKILL, power loss) leaves its temporary file behind: the next
// write of the same file removes those of processes no longer running, so they never pile up.

import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './process-alive.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await removeStaleTemps(path);
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

/** Per directory, looked at once per process: the temporary files found there (NAME.PID.tmp) not yet dealt with. */
const found = new Map<string, Promise<Set<string>>>();

function tempsIn(dir: string): Promise<Set<string>> {
  let names = found.get(dir);
  if (!names) {
    // Only the names that look like ours are kept: a download directory may hold many files.
    names = fsp.readdir(dir).then(
      (all) => new Set(all.filter((n) => /\.\d+\.tmp$/.test(n))),
      () => new Set<string>(),
    );
    found.set(dir, names);
  }
  return names;
}


/** Remove PATH.PID.tmp files of processes that are gone (another run's, still writing, stay). */
async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const names = await tempsIn(dir);
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length, -'.tmp'.length) : '';
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    names.delete(name);
    // A clean-up that fails (another user's file) must not fail the write itself.
    if (!processAlive(Number(pid))) await fsp.rm(join(dir, name), { force: true }).catch(() => {});
  }
}
