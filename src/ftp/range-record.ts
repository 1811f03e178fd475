// A split download's record (.part.json) kept up to date while its ranges run: saved after every
// few MiB or every second of writing, one save at a time (each an atomic write), and once more
// when the download stops. What it lists as done is always on disk already: ranges advance only
// after their bytes were written.

import type { ByteRange } from './byte-ranges.js';
import type { PartialFile, PartialRecord } from './partial-file.js';

/** A save is due after this many bytes written since the last one... */
export const RECORD_EVERY_BYTES = 4 * 1024 * 1024;
/** ...or this long since the last one, ms, whichever comes first. */
export const RECORD_EVERY_MS = 1000;

export class RangeRecord {
  private sinceSave = 0;
  private savedAt = performance.now();
  /** The save under way, if any; a save asked for meanwhile follows it. */
  private saving: Promise<void> | undefined;
  private again = false;
  /** The first failed save (a full disk): the download stops on it. */
  failure: unknown;

  constructor(
    private readonly partial: PartialFile,
    /** The record without its ranges: service, remote path, size, mtime. */
    private readonly base: Omit<PartialRecord, 'ranges'>,
    private readonly done: () => ByteRange[],
  ) {}

  /** Bytes were written: save when enough came or enough time went by since the last save. */
  wrote(bytes: number): void {
    this.sinceSave += bytes;
    if (this.sinceSave >= RECORD_EVERY_BYTES || performance.now() - this.savedAt >= RECORD_EVERY_MS) this.save();
  }

  /** Save now (after the save under way). */
  save(): Promise<void> {
    this.sinceSave = 0;
    this.savedAt = performance.now();
    if (this.saving) {
      this.again = true;
      return this.saving;
    }
    this.saving = this.write().finally(() => (this.saving = undefined));
    return this.saving;
  }

  /** Wait for the saves under way, then save what is done now. */
  async flush(): Promise<void> {
    while (this.saving) await this.saving;
    await this.save();
  }

  private async write(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.partial.saveRecord({ ...this.base, ranges: this.done() });
      } catch (error) {
        this.failure ??= error;
        return;
      }
    } while (this.again);
  }
}
