// The partial download on disk: DEST.part holds the bytes so far and DEST.part.json says which file
// they came from (size and modification time), so a later run, or another mirror, resumes only
// when its copy is the same file. Nothing ever appears under DEST until it is complete and verified.

import { promises as fsp } from 'node:fs';
import { LocalError } from '../director/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface PartialMeta {
  version: 1;
  remotePath: string;
  size: number;
  /** Modification time as the first mirror reported it (ISO), when it did. */
  mtime?: string;
}

export function partPath(dest: string): string {
  return `${dest}.part`;
}

export function metaPath(dest: string): string {
  return `${dest}.part.json`;
}

/** Turn an OS error on a local file into a LocalError that stops the run. */
export function localFault(error: unknown, what: string): LocalError {
  const e = error as NodeJS.ErrnoException;
  const reason = e?.code === 'ENOSPC' ? 'no space left on device' : e?.code === 'EACCES' || e?.code === 'EPERM' ? 'permission denied' : e?.message ?? String(error);
  return new LocalError(`${what}: ${reason}`, { cause: error, code: e?.code });
}

export async function partialLength(dest: string): Promise<number> {
  try {
    return (await fsp.stat(partPath(dest))).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw localFault(error, partPath(dest));
  }
}

export async function readMeta(dest: string): Promise<PartialMeta | undefined> {
  try {
    const data = JSON.parse(await fsp.readFile(metaPath(dest), 'utf8')) as PartialMeta;
    return data && data.version === 1 && typeof data.size === 'number' ? data : undefined;
  } catch {
    return undefined; // missing or unreadable: the bytes are judged by size alone
  }
}

export async function writeMeta(dest: string, meta: PartialMeta): Promise<void> {
  try {
    await writeFileAtomic(metaPath(dest), JSON.stringify(meta) + '\n');
  } catch (error) {
    throw localFault(error, metaPath(dest));
  }
}

/** Cut the partial file back to `length` bytes (bytes past it cannot be trusted). */
export async function truncatePartial(dest: string, length: number): Promise<void> {
  try {
    await fsp.truncate(partPath(dest), length);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw localFault(error, partPath(dest));
  }
  if (length === 0) await fsp.rm(metaPath(dest), { force: true });
}

/** fsync the complete file, then move it under its final name in one rename. */
export async function finalizePartial(dest: string): Promise<void> {
  try {
    const handle = await fsp.open(partPath(dest), 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(partPath(dest), dest);
    await fsp.rm(metaPath(dest), { force: true });
  } catch (error) {
    throw localFault(error, dest);
  }
}
