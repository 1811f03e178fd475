// The checksums the mirrors publish (the certificate's `checksums:` files, looked up in each file's
// directory), read once per directory a run. A checksum file comes from a stranger like any other
// file, so two mirrors are asked for it: an entry counts where they agree (or where only one mirror
// has the file); where they disagree a third decides, and without a majority the entry is not used.

import { posix } from 'node:path';
import { classifyTransferError } from '../ftp/classify.js';
import { readSmallFile } from '../ftp/read-small-file.js';
import type { ExpectedDigest } from '../ftp/running-hash.js';
import { remoteFullPath, withDeadline } from '../ftp/remote-file.js';
import type { Lease } from '../ftp/pool.js';
import type { EventSink } from '../ui/events.js';
import { parseChecksumList, type Digest } from './checksum-list.js';
import type { SecondOpinion } from './second-opinion.js';

/** A checksum file larger than this is not one (a wrong name pointing at a large file). */
const MAX_LIST_BYTES = 32 * 1024 * 1024;

type Entries = Map<string, { digest: Digest; mirrors: string[] }>;

export class ChecksumCatalog {
  private readonly dirs = new Map<string, Promise<Map<string, ExpectedDigest>>>();

  constructor(
    private readonly names: readonly string[],
    private readonly opinion: SecondOpinion,
    private readonly events: EventSink,
    private readonly deadlineMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** The checksum the mirrors publish for this remote file, if any does. */
  async lookup(remotePath: string): Promise<ExpectedDigest | undefined> {
    const clean = remotePath.replace(/^\/+/, '');
    const dir = posix.dirname(clean);
    let listing = this.dirs.get(dir);
    if (!listing) this.dirs.set(dir, (listing = this.readDir(dir)));
    return (await listing).get(posix.basename(clean));
  }

  private async readDir(dir: string): Promise<Map<string, ExpectedDigest>> {
    const found = new Map<string, ExpectedDigest>();
    for (const name of this.names) {
      const path = dir === '.' ? name : `${dir}/${name}`;
      for (const [file, expected] of await this.agreed(path, name)) if (!found.has(file)) found.set(file, expected);
    }
    return found;
  }

  /** The entries of one checksum file that the mirrors asked agree on. */
  private async agreed(path: string, name: string): Promise<Map<string, ExpectedDigest>> {
    const limit = { bytes: MAX_LIST_BYTES, message: `${path} is larger than ${MAX_LIST_BYTES} bytes` };
    const read = (lease: Lease) =>
      withDeadline(lease.client, this.deadlineMs, `RETR ${path}`, readSmallFile(lease.client, remoteFullPath(lease.mirror, path), limit)).catch((e) => {
        throw classifyTransferError(e); // a 550 (no such file here) keeps the connection for the next question
      });
    const copies = await this.opinion.ask(2, new Set(), this.signal, read);
    const entries = gather(copies);
    const disputed = [...entries.values()].filter((e) => e.size > 1);
    if (disputed.length > 0) {
      const asked = new Set(copies.map((c) => c.mirror));
      gather(await this.opinion.ask(1, asked, this.signal, read), entries);
    }
    const result = new Map<string, ExpectedDigest>();
    for (const [file, candidates] of entries) {
      const [first, second] = [...candidates.values()].sort((a, b) => b.mirrors.length - a.mirrors.length);
      if (!first) continue;
      if (second && first.mirrors.length === second.mirrors.length) {
        const ranked = [...candidates.values()];
        const sides = ranked.map((c) => [...c.mirrors].sort().join(', ')).sort();
        this.events({ type: 'warning', message: `${path}: the mirrors disagree on ${file} (${sides.join(' against ')}); its checksum is not used` });
        continue;
      }
      const { digest, mirrors } = first;
      result.set(file, { ...digest, source: `${name} (${[...mirrors].sort().join(', ')})` });
    }
    return result;
  }
}

/** Each file's candidate digests, with the mirrors that published each. */
function gather(copies: { mirror: string; answer: string }[], into = new Map<string, Entries>()): Map<string, Entries> {
  for (const { mirror, answer } of copies) {
    for (const [file, digest] of parseChecksumList(answer)) {
      const candidates = into.get(file) ?? new Map();
      into.set(file, candidates);
      const key = `${digest.algorithm}:${digest.hex}`;
      const entry = candidates.get(key) ?? { digest, mirrors: [] };
      entry.mirrors.push(mirror);
      candidates.set(key, entry);
    }
  }
  return into;
}
