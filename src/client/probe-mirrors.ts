// `mirrors --probe`: measure every mirror of the service now with a small download (the probe a
// request runs beside itself), a few at once. A mirror that fails is recorded in the director's
// stats as any failure is, and its error returned for the caller to show; one that answers and
// sends is a success, so its earlier failures no longer describe it.

import type { MirrorSpec } from '../certificate/types.js';
import { Interrupted, RequestError } from '../director/errors.js';
import { recordFailure, recordSuccess, statsFor } from '../director/stats.js';
import { classifyTransferError } from '../ftp/classify.js';
import type { ServiceClient } from './service-client.js';

/** Probes run in parallel, this many at once. */
const PROBE_PARALLEL = 4;

/** The first plain file in the mirror's base directory, when the certificate names none. */
async function firstListedFile(client: ServiceClient, mirror: MirrorSpec, signal: AbortSignal): Promise<string> {
  const lease = await client.pool.acquire(mirror, signal);
  try {
    const list = await lease.client.list(mirror.basePath);
    client.pool.release(lease);
    const file = list.find((f) => f.isFile && f.size > 0);
    if (!file) throw new RequestError('missing', `no file to probe in ${mirror.basePath}`);
    return file.name;
  } catch (error) {
    if (lease.client.closed) client.pool.discard(lease);
    throw classifyTransferError(error);
  }
}

/** Probe every mirror; returns "kind: message" by mirror name for those that failed. Rejects with Interrupted. */
export async function probeAll(client: ServiceClient, signal: AbortSignal): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  const { director } = client;
  const queue = [...director.mirrors];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      try {
        const path = client.cert.probePath ?? (await firstListedFile(client, m, signal));
        const request = client.request(path, '/dev/null', { events: () => {} });
        await request.probe(m, signal, director.meter(m));
        recordSuccess(statsFor(director.stats, m.name), Date.now());
      } catch (error) {
        if (error instanceof Interrupted || signal.aborted) throw new Interrupted();
        const e = error instanceof RequestError ? error : classifyTransferError(error);
        recordFailure(statsFor(director.stats, m.name), e.kind, Date.now());
        errors[m.name] = `${e.kind}: ${e.message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: PROBE_PARALLEL }, worker));
  return errors;
}
