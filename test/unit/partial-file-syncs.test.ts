// finalize waits for the background syncs of every writer the partial file opened, and fails on
// an error of any of them: an earlier attempt's descriptor is closed by then, and Linux reports a
// write-back error only to descriptors open when it happened, not to the one the final fsync opens.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LocalError } from '../../src/director/errors.js';
import { SYNC_EVERY } from '../../src/ftp/background-sync.js';
import { PartialFile } from '../../src/ftp/partial-file.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

/** Background fdatasyncs still to fail with EIO, after a delay (the disk is slow to say so). */
let failing = 0;

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    if (failing <= 0) return fs.fdatasync(fd, callback);
    failing--;
    setTimeout(() => callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' })), 200);
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

const t = cleanupAfterEach();

describe('PartialFile.finalize', () => {
  it("fails on an earlier writer's sync error, once that sync has ended", async () => {
    const p = new PartialFile(join(t.dir(), 'f.bin'));
    await p.open();
    failing = 1;
    const first = p.writer(0);
    first.write(Buffer.alloc(SYNC_EVERY, 1), 0); // starts a background sync, which will fail
    first.close(); // closed once its sync ends: the attempt failed over
    const second = p.writer(SYNC_EVERY);
    second.write(Buffer.from('last'), SYNC_EVERY);
    second.close();
    const finalize = p.finalize();
    await expect(finalize).rejects.toThrow(LocalError);
    await expect(finalize).rejects.toThrow(/f\.bin: input\/output error/i);
    expect(existsSync(p.dest)).toBe(false);
  });
});
