// Several files through one service client, N at once (`get -j`). The workers share one director
// (its measurements and connections); the pool's per-mirror limit decides how many of them one
// mirror serves at once. It never prints: each outcome goes to a callback as it happens.

import { AllMirrorsFailed, Interrupted, LocalError } from '../director/errors.js';
import type { DownloadResult } from '../ftp/download-request.js';
import type { FileOptions, ServiceClient } from './service-client.js';

export interface BatchItem {
  remotePath: string;
  dest: string;
  /** The sizes listings gave, and the mirrors they came from: each one mirror's word on the size already. */
  listed?: readonly { mirror: string; size: number }[];
}

/** How one file ended: fetched, or one of the errors a download is expected to end with. */
export type BatchOutcome =
  | { item: BatchItem; result: DownloadResult }
  | { item: BatchItem; error: AllMirrorsFailed | Interrupted | LocalError };

export interface BatchOptions {
  /** Files downloaded at once. */
  jobs: number;
  file?: FileOptions;
  /** Called as each file ends. */
  onOutcome?: (outcome: BatchOutcome) => void;
}

/**
 * Download every item; after an Interrupted or a LocalError no further file starts (the ones under
 * way end on their own). Returns the outcomes in the order they came; any other error rejects.
 *
 * A worker starts its next file as soon as the current one is verified, while that one is synced
 * and renamed: so the disk's sync overlaps the next file's commands and transfer. Each worker has
 * at most one file in that last step, so -j N still means N transfers at once.
 */
export async function downloadBatch(client: ServiceClient, items: BatchItem[], options: BatchOptions): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  const queue = [...items];
  let stop = false;
  const report = (outcome: BatchOutcome) => {
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  };
  /** One file to its outcome; never rejects, other than with an error no download is expected to end with. */
  const fetch = (item: BatchItem, onVerified: () => void): Promise<void> =>
    client.download(item.remotePath, item.dest, { ...options.file, listed: item.listed, onVerified }).then(
      (result) => report({ item, result }),
      (error: unknown) => {
        if (!(error instanceof AllMirrorsFailed || error instanceof Interrupted || error instanceof LocalError)) throw error;
        // A local fault (disk full) would hit the next file too; an interrupt means stop.
        if (!(error instanceof AllMirrorsFailed)) stop = true;
        report({ item, error });
      },
    );
  const worker = async () => {
    let finishing: Promise<void> | undefined;
    for (let item = queue.shift(); item !== undefined && !stop; item = queue.shift()) {
      let verified!: () => void;
      const movedOn = new Promise<void>((resolve) => (verified = resolve));
      const outcome = fetch(item, verified);
      await Promise.race([outcome, movedOn]);
      await finishing;
      finishing = outcome;
    }
    await finishing;
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, Math.max(1, items.length)) }, worker));
  return outcomes;
}
