// One bounded transfer against the embedded server: where it stops, why, and what state it leaves
// the control connection in. Each case checks the exact bytes taken.

import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerOptions } from '../../src/emulator/server.js';
import { Interrupted, LocalError, RequestError } from '../../src/director/errors.js';
import { retrieve, type RetrieveOptions } from '../../src/ftp/retrieve.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, sha256 } from '../helpers/fixtures.js';

const t = cleanupAfterEach();
const SIZE = 1024 * 1024;
const data = content(SIZE, 7);
const stall = { ceilingMs: 5000, floorMs: 5000 };

async function connected(options: Partial<FtpServerOptions> = {}): Promise<Client> {
  const [root] = t.roots(1, { 'f.bin': data });
  const server = t.track(await startFtpServer({ root: root!, ...options }));
  const client = new Client(10_000);
  t.track(client);
  await client.access({ host: server.host, port: server.port });
  return client;
}

/** Retrieve f.bin, collecting what was taken. */
async function fetch(client: Client, options: Partial<RetrieveOptions>): Promise<{ taken: Buffer; error?: unknown }> {
  const parts: Buffer[] = [];
  const offset = options.offset ?? 0;
  let at = offset;
  try {
    await retrieve(client, 'f.bin', {
      offset,
      size: SIZE,
      take: (chunk, position) => {
        expect(position).toBe(at);
        at += chunk.length;
        parts.push(Buffer.from(chunk));
      },
      stall,
      signal: new AbortController().signal,
      mirror: 'm',
      ...options,
    });
  } catch (error) {
    return { taken: Buffer.concat(parts), error };
  }
  return { taken: Buffer.concat(parts) };
}

describe('retrieve', () => {
  it('takes the file from an offset, every byte at its position', async () => {
    const client = await connected();
    const { taken, error } = await fetch(client, { offset: 1000 });
    expect(error).toBeUndefined();
    expect(sha256(taken)).toBe(sha256(data.subarray(1000)));
  });

  it('a taker that moves the end on gets the rest of the chunk, and the transfer goes on to the new end', async () => {
    const client = await connected();
    // Inside a chunk (as where a dropped tail's check ends): the rest of that chunk must not be lost.
    let end = 300_001;
    const parts: Buffer[] = [];
    let at = 0;
    await retrieve(client, 'f.bin', {
      offset: 0,
      size: SIZE,
      end: () => end,
      take: (chunk, position) => {
        expect(position).toBe(at);
        at += chunk.length;
        parts.push(Buffer.from(chunk));
        if (at >= 300_001) end = SIZE;
      },
      stall,
      signal: new AbortController().signal,
      mirror: 'm',
    });
    expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
  });

  it('stops exactly at the wanted end, and the connection serves the next command', async () => {
    const client = await connected({ linkRate: 4 * SIZE });
    const { taken, error } = await fetch(client, { end: () => 300_000 });
    expect(error).toBeUndefined();
    expect(sha256(taken)).toBe(sha256(data.subarray(0, 300_000)));
    expect(client.closed).toBe(false);
    // The stopped RETR's late reply was skipped: SIZE gets its own answer.
    expect(await client.size('f.bin')).toBe(SIZE);
  });

  it('never takes a byte past the announced size: a server that sends more is corrupt', async () => {
    const client = await connected();
    const { taken, error } = await fetch(client, { size: 100_000 });
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).kind).toBe('corrupt');
    expect((error as RequestError).message).toBe('m sent more than the 100000 bytes the file has');
    expect(sha256(taken)).toBe(sha256(data.subarray(0, 100_000)));
    expect(client.closed).toBe(true);
  });

  it('a silent server is stalled, with the byte it stopped at', async () => {
    const client = await connected({ fault: { type: 'stall', afterBytes: 65_536 } });
    const started = performance.now();
    const { taken, error } = await fetch(client, { stall: { ceilingMs: 400, floorMs: 400 } });
    expect(performance.now() - started).toBeLessThan(5000);
    expect((error as RequestError).kind).toBe('stalled');
    expect((error as RequestError).message).toMatch(new RegExp(`^no data from m for 0\\.\\d s at byte ${taken.length}$`));
    expect(sha256(taken)).toBe(sha256(data.subarray(0, taken.length)));
  });

  it('an abort is Interrupted, not a mirror fault', async () => {
    const client = await connected({ linkRate: SIZE / 4 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const { taken, error } = await fetch(client, { signal: abort.signal });
    expect(error).toBeInstanceOf(Interrupted);
    expect(taken.length).toBeLessThan(SIZE);
  });

  it('a local write failure stops the run as a LocalError', async () => {
    const client = await connected();
    const full = new LocalError('x.part: no space left on device');
    const { error } = await fetch(client, {
      take: () => {
        throw full;
      },
    });
    expect(error).toBe(full);
  });

  it('a review that prefers another mirror gives the transfer up as slow, with its reason', async () => {
    const client = await connected({ linkRate: SIZE / 2 });
    const { taken, error } = await fetch(client, { review: { everyMs: 100, leave: (p) => (p.received > 0 ? 'a faster mirror' : undefined) } });
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).kind).toBe('slow');
    expect((error as RequestError).message).toBe('a faster mirror');
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.length).toBeLessThan(SIZE);
  });
});
