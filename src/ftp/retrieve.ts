// One bounded data transfer (RETR from an offset), shared by downloads and probes. Whatever ends
// it early goes through one stop() that keeps the first reason, the way basic-ftp's closeWithError
// does: the failure is then classified from that reason (classify.ts), not guessed afterwards from
// what the closed socket said.

import type { Client } from 'basic-ftp';
import { LocalError, RequestError } from '../director/errors.js';
import { classifyRetrieval } from './classify.js';
import { DataPhase } from './data-phase.js';
import { readDirectly } from './direct-read.js';
import { resync, watchTransferReply } from './resync.js';
import { ByteSink, type Throttle } from './sink.js';
import { StallWatchdog, type StallLimits } from './watchdog.js';

/** Why a transfer ended before the server finished it. */
export type StopReason =
  /** The wanted end was reached: only the data connection is closed, the control one stays. */
  | { kind: 'end' }
  | { kind: 'aborted' }
  | { kind: 'stalled'; silentMs: number }
  /** Data kept trickling, far slower than the mirrors were measured at. */
  | { kind: 'crawling'; rate: number; floor: number }
  | { kind: 'local'; error: LocalError }
  /** The bytes were refused by their taker (they disagree with what is known of the file). */
  | { kind: 'rejected'; error: RequestError }
  /** The policy preferred another mirror for the rest. */
  | { kind: 'leave'; message: string }
  /** The server sent past the size it announced. */
  | { kind: 'overrun' };

export interface RetrieveOptions {
  /** Where the transfer starts (REST). */
  offset: number;
  /** The size the server announced: bytes past it are never taken, and a server that sends them is stopped. */
  size: number;
  /** Where to stop reading, at most `size`: asked for every chunk, since it may come closer meanwhile. */
  end?: () => number;
  /**
   * Takes the bytes at `position` (writes them, keeps them, or checks them); a LocalError thrown
   * stops the run, a RequestError fails this mirror.
   */
  take: (chunk: Buffer, position: number) => void;
  /** After each chunk was taken and counted. */
  progress?: (phase: DataPhase) => void;
  stall: StallLimits;
  /** The slowest rate that is not a stall, bytes/s (0: none), judged over the stall timeout. */
  floor?: () => number;
  signal: AbortSignal;
  throttle?: Throttle;
  /** Asked every `everyMs` while data flows: a reason to give the transfer up, if any. */
  review?: { everyMs: number; leave: (phase: DataPhase) => string | undefined };
  /** For messages. */
  mirror: string;
}

/** How long the server may take to answer once a transfer was stopped early (then the connection is closed). */
const RESYNC_MS = 5000;

/**
 * Run the transfer (`phase` times it, and says what came even when it fails); resolves with its data phase once the server finished or the wanted end was
 * reached (the connection is then back in step), rejects with a RequestError, Interrupted or
 * LocalError classified from the reason it stopped.
 */
export async function retrieve(client: Client, remote: string, options: RetrieveOptions, phase = new DataPhase()): Promise<DataPhase> {
  const { offset, size, signal } = options;
  let reason: StopReason | undefined;
  const stop = (why: StopReason): void => {
    if (reason) return;
    reason = why;
    if (why.kind === 'end') {
      sink.stoppedOnPurpose = true;
      client.ftp.dataSocket?.destroy();
    } else {
      client.close();
    }
  };
  const floor = options.floor && { bytesPerSecond: options.floor, windowMs: options.stall.ceilingMs };
  const watchdog = new StallWatchdog(
    options.stall,
    (silentMs) => stop({ kind: 'stalled', silentMs }),
    floor,
    (rate, min) => stop({ kind: 'crawling', rate, floor: min }),
  );
  const onChunk = (chunk: Buffer): void => {
    if (reason) return;
    const position = offset + phase.received;
    const end = Math.min(options.end?.() ?? size, size);
    const wanted = Math.max(0, Math.min(chunk.length, end - position));
    if (wanted > 0) {
      try {
        options.take(wanted < chunk.length ? chunk.subarray(0, wanted) : chunk, position);
      } catch (error) {
        if (error instanceof LocalError) stop({ kind: 'local', error });
        else if (error instanceof RequestError) stop({ kind: 'rejected', error });
        throw error;
      }
      phase.add(wanted);
      watchdog.feed(wanted);
      options.progress?.(phase);
    }
    if (position + chunk.length > size) stop({ kind: 'overrun' });
    else if (position + wanted >= end && end < size) {
      // The taker may have moved the end on (a kept tail it dropped): then the transfer goes on,
      // with the rest of this chunk first.
      if (Math.min(options.end?.() ?? size, size) <= position + wanted) stop({ kind: 'end' });
      else if (wanted < chunk.length) onChunk(chunk.subarray(wanted));
    }
  };
  const sink = new ByteSink(onChunk, options.throttle);
  const onAbort = () => stop({ kind: 'aborted' });
  signal.addEventListener('abort', onAbort, { once: true });
  const review = options.review;
  const reviewer = review
    ? setInterval(() => {
        const message = phase.received > 0 ? review.leave(phase) : undefined;
        if (message) stop({ kind: 'leave', message });
      }, review.everyMs)
    : undefined;
  reviewer?.unref();
  const ordinaryReads = readDirectly(client, sink);
  const reply = watchTransferReply(client);
  try {
    if (signal.aborted) stop({ kind: 'aborted' });
    await client.downloadTo(sink, remote, offset);
  } catch (error) {
    // Ctrl-C wins over whatever the closing sockets did meanwhile.
    const why: StopReason | undefined = signal.aborted ? { kind: 'aborted' } : reason;
    if (why?.kind !== 'end') throw classifyRetrieval(why, error, { mirror: options.mirror, position: offset + phase.received, size });
    // The server's last reply to RETR (426, or 226 if it had sent everything) may still be on its
    // way: skip it before the connection serves another command.
    if (!(await resync(client, RESYNC_MS, reply.answered()))) client.close();
  } finally {
    reply.stop();
    ordinaryReads();
    watchdog.stop();
    clearInterval(reviewer);
    signal.removeEventListener('abort', onAbort);
  }
  return phase;
}
