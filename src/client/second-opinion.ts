// Asking mirrors other than the one a file comes from: a second opinion on its size, or a copy of
// a checksum file. The best-ranked are asked first; one that does not answer is passed over for the
// next. These are side questions: they never fail a download, and a mirror's silence here is no
// fault in the director's figures.

import type { MirrorSpec } from '../certificate/types.js';
import type { Director } from '../director/director.js';
import { withConnection, type FtpPool, type Lease } from '../ftp/pool.js';

export interface Opinion<T> {
  mirror: string;
  answer: T;
}

export class SecondOpinion {
  constructor(
    private readonly director: Director,
    private readonly pool: FtpPool,
  ) {}

  /**
   * Ask `question` of up to `count` mirrors not in `except`, `count` at a time in rank order; a
   * mirror that fails is replaced by the next in line. Fewer answers when fewer mirrors answer.
   */
  async ask<T>(count: number, except: ReadonlySet<string>, signal: AbortSignal, question: (lease: Lease) => Promise<T>, idleOnly = false): Promise<Opinion<T>[]> {
    // Open connections first, then mirrors with room for one: a question should not queue behind
    // transfers. `idleOnly`: only where a connection is open and idle (it costs one round trip).
    const others = this.director.order().filter((m) => !except.has(m.name));
    const idle = others.filter((m) => this.pool.hasIdle(m));
    const room = idleOnly ? [] : others.filter((m) => !idle.includes(m) && this.pool.hasRoom(m));
    const busy = idleOnly ? [] : others.filter((m) => !idle.includes(m) && !room.includes(m));
    const queue: MirrorSpec[] = [...idle, ...room, ...busy];
    const answers: Opinion<T>[] = [];
    let asking = 0;
    const worker = async (): Promise<void> => {
      // A worker asks the next mirror only while the answers in hand and on the way fall short.
      while (answers.length + asking < count && !signal.aborted) {
        const mirror = queue.shift();
        if (!mirror) return;
        asking++;
        try {
          answers.push({ mirror: mirror.name, answer: await withConnection(this.pool, mirror, signal, () => {}, (lease) => question(lease)) });
        } catch {
          // No answer from this one: the next in line is asked.
        } finally {
          asking--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, queue.length) }, worker));
    return answers;
  }
}
