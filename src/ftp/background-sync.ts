// Writes a growing file to disk while it is still being received: every `every` bytes, one
// fdatasync in libuv's thread pool (never two at once, never blocking the event loop). The final
// fsync before the rename then finds little left to write, instead of the whole file: a 1 GiB
// download otherwise waited seconds at the end for the disk.

import { closeSync, fdatasync } from 'node:fs';

/** Bytes written between two background syncs. */
export const SYNC_EVERY = 32 * 1024 * 1024;

export class BackgroundSync {
  private unsynced = 0;
  private running: Promise<void> | undefined;
  private closeWhenDone = false;
  /**
   * The first failure of a background sync. Linux reports a write-back error to the descriptors
   * open when it happened, not to one opened later for the final fsync: so it is kept and thrown.
   */
  error: NodeJS.ErrnoException | undefined;

  constructor(
    private readonly fd: number,
    private readonly every = SYNC_EVERY,
  ) {}

  /** `bytes` more were written: start a sync when enough are waiting and none is running. */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < this.every || this.running) return;
    this.unsynced = 0;
    this.running = new Promise((resolve) =>
      fdatasync(this.fd, (error) => {
        this.error ??= error ?? undefined;
        this.running = undefined;
        if (this.closeWhenDone) this.closeNow();
        resolve();
      }),
    );
  }

  /** Close the descriptor, once a sync still running on it has ended. */
  close(): void {
    if (this.running) this.closeWhenDone = true;
    else this.closeNow();
  }

  private closeNow(): void {
    try {
      closeSync(this.fd);
    } catch (error) {
      this.error ??= error as NodeJS.ErrnoException;
    }
  }

  /** Resolves when no sync is running any more (then `error` is final for what was synced). */
  async settled(): Promise<void> {
    await this.running;
  }
}
