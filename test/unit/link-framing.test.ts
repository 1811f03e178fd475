// The emulated link charges a transfer's data with the framing a real link carries
// (src/emulator/framing.ts): over a link of R bytes/s, file data arrives at R x 1448/1514. The
// transfer runs on a fake clock that moves only to the link's next grant, so the figure is the
// link's and not the machine's.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, expect, it, vi } from 'vitest';
import { TokenBucket } from '../../src/emulator/bucket.js';
import { dataRate, onTheWire, SEGMENT_OVERHEAD, SEGMENT_PAYLOAD } from '../../src/emulator/framing.js';
import type { ServerContext } from '../../src/emulator/context.js';
import { sendFile } from '../../src/emulator/transfer.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function context(bucket: TokenBucket): ServerContext {
  return {
    rootReal: '/',
    host: '127.0.0.1',
    controlDelayMs: 0,
    idleTimeoutMs: undefined,
    users: undefined,
    bucket,
    fault: () => ({ type: 'none' }),
    faultChanged: () => new Promise<void>(() => {}),
    trackSocket: () => {},
    trackServer: () => {},
    countTransfer: () => {},
    transferEnded: () => {},
    countBytes: () => {},
    countCommand: () => {},
  };
}

it('a full segment travels in a 1514-byte frame', () => {
  expect(SEGMENT_PAYLOAD + SEGMENT_OVERHEAD).toBe(1514);
  expect(onTheWire(SEGMENT_PAYLOAD)).toBe(1514);
  expect(onTheWire(0)).toBe(0);
  expect(dataRate(1_250_000)).toBeCloseTo(1_195_509, 0); // a 10 Mbit/s link
});

it('a link of R bytes/s delivers file data at R x 1448/1514', async () => {
  const RATE = 1_000_000;
  const SIZE = 4 * MiB;
  const dir = mkdtempSync(join(tmpdir(), 'smartftp-framing-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'f.bin'), Buffer.alloc(SIZE, 7));
  const fh = await open(join(dir, 'f.bin'));
  try {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const bucket = new TokenBucket(RATE);
    // When each byte count reached the client, on the fake clock.
    const arrivals: [number, number][] = [];
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        arrivals.push([performance.now(), received]);
        cb();
      },
    });
    let outcome: string | undefined;
    const sent = sendFile(context(bucket), fh, 0, sink as unknown as net.Socket, undefined, new AbortController().signal).then((o) => (outcome = o));
    // The clock moves only to the link's next grant; between grants the file is read for real.
    for (let i = 0; i < 100_000 && outcome === undefined; i++) {
      await vi.advanceTimersToNextTimerAsync();
      await new Promise((r) => setImmediate(r));
    }
    await sent;
    bucket.dispose();
    expect(outcome).toBe('done');
    expect(received).toBe(SIZE);
    // Past the idle link's burst (32 KiB), to the last byte.
    const [t0, b0] = arrivals.find(([, b]) => b >= 64 * 1024)!;
    const [t1, b1] = arrivals.at(-1)!;
    const rate = (b1 - b0) / ((t1 - t0) / 1000);
    const expected = (RATE * 1448) / 1514;
    // A link that charged the data alone would deliver 4.6 % more.
    const what = `${(b1 - b0)} B in ${(t1 - t0).toFixed(1)} ms of link time: ${rate.toFixed(0)} B/s, expected ${expected.toFixed(0)}`;
    expect(rate / expected, what).toBeGreaterThan(0.995);
    expect(rate / expected, what).toBeLessThan(1.005);
  } finally {
    await fh.close();
  }
});
