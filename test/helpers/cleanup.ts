// Everything a test starts or makes is undone after it: servers and processes first, then the
// directories they served.

import { afterEach } from 'vitest';
import { mirrorRoots, removeAll, tempDir } from './fixtures.js';

type Closable = { close(): unknown } | { stop(): unknown };

export interface Cleanup {
  /** Close (or stop) this after the test; returns it. */
  track<T extends Closable>(thing: T): T;
  /** Close (or stop) all of these after the test. */
  trackAll(...things: Closable[]): void;
  /** A fresh temporary directory, removed after the test. */
  dir(prefix?: string): string;
  /** N mirror roots holding `files` (see fixtures.mirrorRoots), removed after the test. */
  roots(n: number, files: Record<string, Buffer>): string[];
  /** Remove these paths after the test. */
  remove(...paths: string[]): void;
}

export function cleanupAfterEach(): Cleanup {
  const closers: (() => unknown)[] = [];
  const paths: string[] = [];
  afterEach(async () => {
    await Promise.allSettled(closers.splice(0).map(async (close) => close()));
    removeAll(paths.splice(0));
  });
  return {
    track(thing) {
      closers.push(() => ('stop' in thing ? thing.stop() : thing.close()));
      return thing;
    },
    trackAll(...things) {
      for (const thing of things) this.track(thing);
    },
    dir(prefix) {
      const d = tempDir(prefix);
      paths.push(d);
      return d;
    },
    roots(n, files) {
      const roots = mirrorRoots(n, files);
      paths.push(...roots);
      return roots;
    },
    remove(...more) {
      paths.push(...more);
    },
  };
}
