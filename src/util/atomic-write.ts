// Write a small file so that a crash or Ctrl-C leaves either the old contents or the new ones,
// never half of either: a temporary file beside it, fsynced, then renamed over it.

import { promises as fsp } from 'node:fs';

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
