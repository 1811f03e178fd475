/** The data of LIST/NLST (RETR's is in transfer.ts): built whole, then sent in one piece. */

import type net from 'node:net';
import type { TokenBucket } from './bucket.js';
import { closeWhenRead } from './datachannel.js';
import { onTheWire } from './framing.js';
import { formatListing, resolveSafe } from './fsview.js';

/** The listing of what a LIST/NLST argument names, or undefined when there is nothing to list. */
export async function readListing(rootReal: string, cwd: string, arg: string, namesOnly: boolean): Promise<Buffer | undefined> {
  // Clients send ls-style flags such as "LIST -a"; they do not change our listing.
  const target = await resolveSafe(rootReal, cwd, arg.replace(/^(\s*-\S*)+\s*/, ''));
  if (!target) return undefined;
  return Buffer.from(await formatListing(rootReal, target, namesOnly), 'utf8');
}

/** Pays the shared bucket for the whole listing and its framing, then sends it; false when signal aborted first. */
export async function sendListing(bucket: TokenBucket, data: net.Socket, text: Buffer, signal: AbortSignal): Promise<boolean> {
  if (!(await bucket.take(onTheWire(text.length), signal))) return false;
  await closeWhenRead(data, signal, text);
  return true;
}
