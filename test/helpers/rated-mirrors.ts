// Mirrors behind real rate limiters, and a run of files through one service client: what the
// director tests on real servers share (vsftpd's anon_max_rate here, tc-shaped links in netns.ts).

import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Certificate, MirrorSpec } from '../../src/certificate/types.js';
import { downloadBatch } from '../../src/client/batch.js';
import { ServiceClient } from '../../src/client/service-client.js';
import type { DownloadResult } from '../../src/ftp/download-request.js';
import type { EventSink } from '../../src/ui/events.js';
import type { Cleanup } from './cleanup.js';
import { content, sha256, sha256File } from './fixtures.js';

export const MiB = 1024 * 1024;

/** `count` files of `size` bytes named f00.bin..., each with its own content. */
export function numberedFiles(count: number, size: number, seed = 900): Record<string, Buffer> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${String(i).padStart(2, '0')}.bin`, content(size, seed + i)]));
}

/** N roots holding `files` under pub/, readable but not writable by vsftpd's ftp user. */
export function servedRoots(t: Cleanup, n: number, files: Record<string, Buffer>): string[] {
  const roots = t.roots(n, Object.fromEntries(Object.entries(files).map(([name, data]) => [`pub/${name}`, data])));
  for (const r of roots) {
    mkdirSync(join(r, 'pub'), { recursive: true });
    chmodSync(r, 0o755);
    chmodSync(join(r, 'pub'), 0o755);
  }
  return roots;
}

export function certificate(mirrors: MirrorSpec[]): Certificate {
  return { service: 'rated.test', origin: 'test', director: { policy: 'ranked', stallTimeout: 5, connectTimeout: 5 }, mirrors };
}

export interface RunOutcome {
  /** In the order the files finished. */
  results: DownloadResult[];
  /** Bytes received from each mirror over the run. */
  bytesByMirror: Record<string, number>;
  /** The mirror that ended each file, in the order the files were started. */
  servedBy: string[];
  seconds: number;
}

/**
 * Fetch every file (`jobs` at once) through one client into `dir`; checks every sha256 and throws
 * on any failed file.
 */
export async function fetchAll(cert: Certificate, files: Record<string, Buffer>, dir: string, jobs: number, events: EventSink = () => {}): Promise<RunOutcome> {
  const client = await ServiceClient.open(cert, { events, decisions: true });
  const started = performance.now();
  try {
    const items = Object.keys(files).map((name) => ({ remotePath: name, dest: join(dir, name) }));
    const outcomes = await downloadBatch(client, items, { jobs });
    const seconds = (performance.now() - started) / 1000;
    const results: DownloadResult[] = [];
    for (const o of outcomes) {
      if ('error' in o) throw o.error;
      results.push(o.result);
    }
    for (const [name, data] of Object.entries(files)) {
      if (sha256File(join(dir, name)) !== sha256(data)) throw new Error(`${name}: wrong sha256`);
    }
    const bytesByMirror: Record<string, number> = {};
    for (const r of results) for (const [m, n] of Object.entries(r.bytesByMirror)) bytesByMirror[m] = (bytesByMirror[m] ?? 0) + n;
    const byDest = new Map(results.map((r) => [r.dest, r.mirror]));
    return { results, bytesByMirror, servedBy: items.map((i) => byDest.get(i.dest)!), seconds };
  } finally {
    await client.close();
  }
}

/**
 * One file at a time: `fastest` ended one of the files up to index `foundBy`, and after the first
 * such file each slower mirror ended at most one (a re-test); `why` explains a failure.
 */
export function expectFastestFound(run: RunOutcome, fastest: string, foundBy: number, why: string): void {
  const found = run.servedBy.indexOf(fastest);
  expect(found, why).toBeGreaterThanOrEqual(0);
  expect(found, why).toBeLessThanOrEqual(foundBy);
  const after = run.servedBy.slice(found + 1);
  for (const slower of new Set(run.servedBy.filter((m) => m !== fastest))) expect(after.filter((m) => m === slower).length, `${slower}\n${why}`).toBeLessThanOrEqual(1);
}

/** Several at a time: every mirror served, bytes in the order of `slowestFirst`, adding up to `total`. */
export function expectBytesInRateOrder(run: RunOutcome, slowestFirst: string[], total: number): void {
  const b = (m: string) => run.bytesByMirror[m] ?? 0;
  const summary = JSON.stringify(run.bytesByMirror);
  expect(b(slowestFirst[0]!), summary).toBeGreaterThan(0);
  for (let i = 1; i < slowestFirst.length; i++) expect(b(slowestFirst[i]!), summary).toBeGreaterThan(b(slowestFirst[i - 1]!));
  expect(slowestFirst.reduce((n, m) => n + b(m), 0), summary).toBe(total);
}
