// What a mirror says of one remote file before any byte moves: where it is, its size and its
// modification time. Every answer is a stranger's: each command runs under a deadline, and a size
// that is not a plain non-negative integer is a protocol error, not a number to trust.

import { posix } from 'node:path';
import type { Client } from 'basic-ftp';
import type { MirrorSpec } from '../certificate/types.js';
import { RequestError } from '../director/errors.js';
import { classifyTransferError } from './classify.js';
import type { Lease } from './pool.js';

export function remoteFullPath(mirror: MirrorSpec, remotePath: string): string {
  return posix.join(mirror.basePath, remotePath.replace(/^\/+/, ''));
}

/**
 * `work` on the control connection, or a 'stalled' failure after `ms`: the connection is closed,
 * so a reply trickled a byte at a time, or a multi-line reply that never ends, cannot hold the
 * client (basic-ftp's own timeout only notices total silence).
 */
export async function withDeadline<T>(client: Client, ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected first, so that this reason wins over the one closing the connection gives.
      reject(new RequestError('stalled', `no complete answer to ${what} within ${ms / 1000} s`));
      client.close();
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The largest size a SIZE reply may state: digits beyond a safe integer are no size. */
const SIZE_REPLY = /^213 (\d{1,16})(?:[ ,]|$)/;

/** SIZE, strictly parsed, with its failure translated (550: missing here). */
export async function remoteSize(lease: Lease, remote: string, deadlineMs: number): Promise<number> {
  const { client, mirror } = lease;
  const res = await withDeadline(client, deadlineMs, 'SIZE', client.send(`SIZE ${remote}`)).catch((e) => {
    throw classifyTransferError(e);
  });
  const size = Number(SIZE_REPLY.exec(res.message)?.[1]);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RequestError('broken', `${mirror.name} answered SIZE with "${res.message.slice(0, 40)}", not a size`);
  }
  return size;
}

/** MDTM where the server has it; a missing MDTM is no reason to fail. */
export async function remoteMtime(lease: Lease, remote: string, deadlineMs: number): Promise<string | undefined> {
  const { client } = lease;
  try {
    return (await withDeadline(client, deadlineMs, 'MDTM', client.lastMod(remote))).toISOString();
  } catch (error) {
    if (client.closed) throw classifyTransferError(error);
    return undefined;
  }
}
