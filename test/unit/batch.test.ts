// downloadBatch's scheduling, on a scripted client: a worker starts its next file once the current
// one is verified, keeps at most one file in its sync-and-rename step, and stops after a local fault.

import { describe, expect, it } from 'vitest';
import { downloadBatch, type BatchItem } from '../../src/client/batch.js';
import { LocalError } from '../../src/director/errors.js';
import type { DownloadResult } from '../../src/ftp/download-request.js';
import type { FileOptions, ServiceClient } from '../../src/client/service-client.js';

/** A file's download, held at two points the test releases: verified, and finished. */
interface Held {
  path: string;
  verify: () => void;
  finish: (error?: Error) => void;
}

function scriptedClient() {
  const log: string[] = [];
  const held = new Map<string, Held>();
  const client = {
    async download(path: string, dest: string, extra: FileOptions = {}): Promise<DownloadResult> {
      log.push(`start ${path}`);
      await new Promise<void>((resolve) => held.set(path, { path, verify: resolve, finish: () => {} }));
      extra.onVerified?.();
      const error = await new Promise<Error | undefined>((resolve) => (held.get(path)!.finish = resolve));
      log.push(`end ${path}`);
      if (error) throw error;
      return { dest, size: 1, resumedFrom: 0, bytesByMirror: { m: 1 }, mirror: 'm', seconds: 0.1 };
    },
  } as unknown as ServiceClient;
  return { client, log, held };
}

const items = (n: number): BatchItem[] => Array.from({ length: n }, (_, i) => ({ remotePath: `f${i}`, dest: `/out/f${i}` }));
const ticks = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('downloadBatch', () => {
  it('-j 1: the next file starts when the current one is verified; never two files in their last step', async () => {
    const { client, log, held } = scriptedClient();
    const batch = downloadBatch(client, items(3), { jobs: 1 });
    await ticks();
    expect(log).toEqual(['start f0']);
    held.get('f0')!.verify();
    await ticks();
    expect(log).toEqual(['start f0', 'start f1']);
    held.get('f1')!.verify();
    await ticks();
    // f1 is verified too, but f0 has not finished: f2 waits.
    expect(log).toEqual(['start f0', 'start f1']);
    held.get('f0')!.finish();
    await ticks();
    expect(log).toEqual(['start f0', 'start f1', 'end f0', 'start f2']);
    held.get('f2')!.verify();
    await ticks();
    held.get('f1')!.finish();
    held.get('f2')!.finish();
    const outcomes = await batch;
    expect(outcomes.map((o) => o.item.remotePath)).toEqual(['f0', 'f1', 'f2']);
  });

  it('a local fault while a file is synced stops the batch: the file under way ends, none after it starts', async () => {
    const { client, log, held } = scriptedClient();
    const batch = downloadBatch(client, items(3), { jobs: 1 });
    await ticks();
    held.get('f0')!.verify();
    await ticks();
    held.get('f0')!.finish(new LocalError('no space left on device'));
    held.get('f1')!.verify();
    await ticks();
    held.get('f1')!.finish();
    const outcomes = await batch;
    expect(log).toEqual(['start f0', 'start f1', 'end f0', 'end f1']);
    expect(outcomes.map((o) => ('error' in o ? `${o.item.remotePath}: ${o.error.message}` : o.item.remotePath))).toEqual(['f0: no space left on device', 'f1']);
  });
});
