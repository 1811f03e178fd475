// mkdir -p without Node's own recursive mkdir, which on Node 20 spins forever when the kernel
// answers ENOENT for a parent that exists (under /proc or /sys): one level at a time, so every
// failure is an error for the caller.

import { promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';

export async function makeDirs(path: string): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      const s = await fsp.stat(p);
      if (!s.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path: p });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw error;
      missing.unshift(p);
    }
  }
  for (const p of missing) {
    try {
      await fsp.mkdir(p);
    } catch (error) {
      // Another download (-j) made it in the meantime.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fsp.stat(p)).isDirectory()) throw error;
    }
  }
}
