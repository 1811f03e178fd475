// Write a small file so that a crash or Ctrl-C leaves either the old contents or the new ones,
// never half of either: a temporary file beside it, fsynced, then renamed over it.

import { promises as fsp, renameSync, writeFileSync } from 'node:fs';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
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
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
