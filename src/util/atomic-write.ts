// Write a small file so that a crash or Ctrl-C leaves either the old contents or the new ones,
// never half of either: a temporary file beside it, fsynced, then renamed over it. Without the
// fsync (`sync: false`) a process crash still leaves old or new, but a power loss may leave the
// file empty or missing: only for files whose loss is harmless (see PartialFile.saveRecord).

import { promises as fsp } from 'node:fs';

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { sync?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    if (options.sync !== false) await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, path);
}
