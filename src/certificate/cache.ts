// The last good copy of a fetched certificate, kept beside the state for when no source answers
// (paper 3.2): its exact bytes, its detached signature when it had one, and when and where it was
// fetched. bootstrap.ts decides what may go in and when what is there may be used.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { makeDirs } from '../util/make-dirs.js';

export interface CacheMeta {
  fetchedAt: string;
  origin: string;
}

export interface CachedCopy {
  bytes: Buffer;
  signature?: string;
  meta: CacheMeta;
}

/** The cached copy for one list of sources, given as absolute paths and URLs (sources.absoluteSource). */
export class CertificateCache {
  constructor(private readonly dir: string) {}

  private base(specs: string[]): string {
    return join(this.dir, createHash('sha256').update(specs.join('\n')).digest('hex').slice(0, 16));
  }

  async read(specs: string[]): Promise<CachedCopy | undefined> {
    const base = this.base(specs);
    try {
      const [bytes, meta] = await Promise.all([fsp.readFile(`${base}.yaml`), fsp.readFile(`${base}.json`, 'utf8')]);
      const signature = await fsp.readFile(`${base}.sig`, 'utf8').catch(() => undefined);
      return { bytes, meta: JSON.parse(meta) as CacheMeta, ...(signature !== undefined ? { signature } : {}) };
    } catch {
      return undefined;
    }
  }

  async write(specs: string[], copy: { bytes: Buffer; signature?: string; origin: string }, now = Date.now()): Promise<void> {
    await makeDirs(this.dir);
    const base = this.base(specs);
    const meta: CacheMeta = { fetchedAt: new Date(now).toISOString(), origin: copy.origin };
    // The meta goes last: until it is written, a half-replaced copy fails its checks or is older.
    await writeFileAtomic(`${base}.yaml`, copy.bytes);
    if (copy.signature !== undefined) await writeFileAtomic(`${base}.sig`, copy.signature);
    else await fsp.rm(`${base}.sig`, { force: true });
    await writeFileAtomic(`${base}.json`, JSON.stringify(meta) + '\n');
  }
}
