// What a mirror says of one remote file before any byte moves: where it is, its size and its
// modification time, with failures translated for the director.

import { posix } from 'node:path';
import type { MirrorSpec } from '../certificate/types.js';
import { classifyTransferError } from './classify.js';
import type { Lease } from './pool.js';

export function remoteFullPath(mirror: MirrorSpec, remotePath: string): string {
  return posix.join(mirror.basePath, remotePath.replace(/^\/+/, ''));
}

/** SIZE, with its failure translated (550: missing here). */
export async function remoteSize(lease: Lease, remote: string): Promise<number> {
  return lease.client.size(remote).catch((e) => {
    throw classifyTransferError(e);
  });
}

/** MDTM where the server has it; a missing MDTM is no reason to fail. */
export async function remoteMtime(lease: Lease, remote: string): Promise<string | undefined> {
  try {
    return (await lease.client.lastMod(remote)).toISOString();
  } catch (error) {
    if (lease.client.closed) throw classifyTransferError(error);
    return undefined;
  }
}
