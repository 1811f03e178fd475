// Reading a small file (a certificate) over FTP into memory. Both the ftp:// certificate source and
// the membership watcher use it; a limit keeps a wrong path to a large file from filling memory.

import { Writable } from 'node:stream';
import type { Client } from 'basic-ftp';

export interface SizeLimit {
  bytes: number;
  /** The error's message when the file is larger. */
  message: string;
}

/** The file's text, with a client that is already logged in. */
export async function readSmallFile(client: Client, path: string, limit: SizeLimit): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > limit.bytes) return callback(new Error(limit.message));
      chunks.push(chunk);
      callback();
    },
  });
  await client.downloadTo(sink, path);
  return Buffer.concat(chunks).toString('utf8');
}
