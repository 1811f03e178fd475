import type { FileHandle } from 'node:fs/promises';
import type net from 'node:net';
import { onTheWire } from './framing.js';
import type { ServerContext } from './session.js';
import { raceAbort, waitEvent } from './util.js';

/** Throttled data moves in slices this big, each paying its tokens first. */
export const SLICE = 16 * 1024;
const UNTHROTTLED_CHUNK = 64 * 1024;
const DROP_FLUSH_WAIT_MS = 2_000;

export type Outcome = 'done' | 'drop' | 'error' | 'short' | 'aborted';

interface Limit {
  kind: 'stall' | 'drop' | 'error' | 'short';
  at: number;
}

/** The faults fixed when a transfer starts (stall and drop are read live instead). */
export interface EndFault {
  kind: 'error' | 'short';
  at: number;
}

/**
 * Streams fh (from offset) into the data socket, honouring the shared token bucket (the link, paid
 * for the data and its framing), socket backpressure and injected faults. `ending` is the error or
 * short fault fixed at transfer start; stall and drop are read live so setFault() reaches
 * transfers in progress. A stalled transfer resumes if the fault is lifted (like SIGCONT after
 * SIGSTOP).
 */
export async function sendFile(
  ctx: ServerContext,
  fh: FileHandle,
  offset: number,
  data: net.Socket,
  ending: EndFault | undefined,
  signal: AbortSignal,
): Promise<Outcome> {
  let sent = 0;
  const limit = (): Limit | undefined => {
    const f = ctx.fault();
    let l: Limit | undefined;
    if (f.type === 'stall' || f.type === 'drop') l = { kind: f.type, at: f.afterBytes ?? 0 };
    if (ending !== undefined && (l === undefined || ending.at < l.at)) l = ending;
    return l;
  };
  // undefined = keep sending; otherwise how the transfer ends.
  const gate = async (): Promise<Outcome | undefined> => {
    for (;;) {
      if (signal.aborted) return 'aborted';
      const l = limit();
      if (l === undefined || sent < l.at) return undefined;
      if (l.kind === 'drop') {
        // Let what was "sent" leave the process before the connections die.
        if (data.writableLength > 0) await waitEvent(data, 'drain', signal, DROP_FLUSH_WAIT_MS);
        return signal.aborted ? 'aborted' : 'drop';
      }
      if (l.kind === 'error' || l.kind === 'short') return l.kind;
      const changed = ctx.faultChanged();
      if ((await raceAbort(changed.then(() => true), signal)) !== true) return 'aborted';
    }
  };

  const stream = fh.createReadStream({
    start: offset,
    highWaterMark: ctx.bucket.limited ? SLICE : UNTHROTTLED_CHUNK,
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const stop = await gate();
        if (stop !== undefined) return stop;
        let n = chunk.length - off;
        if (ctx.bucket.limited) n = Math.min(n, SLICE);
        const l = limit();
        if (l !== undefined) n = Math.min(n, l.at - sent);
        if (ctx.bucket.limited && !(await ctx.bucket.take(onTheWire(n), signal))) return 'aborted';
        if (signal.aborted || data.destroyed) return 'aborted';
        const piece = chunk.subarray(off, off + n);
        off += n;
        sent += n;
        ctx.countBytes(n);
        if (!data.write(piece) && !(await waitEvent(data, 'drain', signal))) return 'aborted';
      }
    }
    return (await gate()) ?? 'done';
  } catch {
    // A read error mid-file: report it like an aborted transfer.
    return signal.aborted ? 'aborted' : 'error';
  } finally {
    stream.destroy();
  }
}
