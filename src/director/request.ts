// The paper's request interface (IRequest) and the meter through which a request reports on a
// mirror while it runs. The director knows requests only through these: an FTP download, a
// listing, or in tests something that is not FTP at all.

import type { MirrorSpec } from '../certificate/types.js';
import type { RequestError } from './errors.js';
import type { MirrorStats } from './stats.js';

/** How a running transfer is doing, when it asks whether to go on elsewhere. */
export interface TransferPace {
  /** Since its data started, ms. */
  elapsedMs: number;
  /** Its own rate so far, bytes/s. */
  rate: number;
  /** Bytes still to come. */
  remaining: number;
}

/** What a request reports about a mirror while it runs; the director keeps the figures. */
export interface Meter {
  /** A new control connection took this long to connect and log in. */
  connected(ms: number): void;
  /** The data phase moved this many bytes in this many seconds. */
  transferred(bytes: number, seconds: number): void;
  /** The request's data has started to arrive from this mirror (probes of others may start now). */
  flowing(): void;
  /** What is known of the mirror so far (read-only). */
  readonly known: Readonly<MirrorStats>;
  /**
   * The request asks, the policy answers: the mirror to leave this transfer for (the offset on
   * disk carries over), or undefined to stay.
   */
  leaveFor(pace: TransferPace): { name: string; throughput: number } | undefined;
  /** The fastest figure of any mirror not cooling down, this one's included (0: none measured). */
  bestThroughput(): number;
}

/** The paper's IRequest. */
export interface Request<T> {
  /** What is being requested, for messages ("pub/big.iso"). */
  readonly what: string;
  /** Run the request on one mirror. Fails with RequestError for a mirror's fault; anything else stops the director. */
  action(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<T>;
  /** Called after a failed action, before the request is re-applied elsewhere. */
  cleanup(mirror: MirrorSpec, error: RequestError): Promise<void> | void;
  /**
   * Mirrors this request would rather not be served by now (busy with its sibling requests, e.g. the
   * other ranges of one file): tried after the others, in the policy's order.
   */
  avoid?(): ReadonlySet<string>;
  /** How far the request has got (bytes on disk): a pass over the mirrors that made progress earns another. */
  progress?(): number;
  /**
   * Measure a mirror without relying on it: run beside the action on another mirror, the result
   * is thrown away and only the meter's figures are kept.
   */
  probe?(mirror: MirrorSpec, signal: AbortSignal, meter: Meter): Promise<void>;
  /**
   * Whether a probe started now would cost no bytes of its own (the action keeps what it reads).
   * Absent: probes are never free, and re-tests move the request instead.
   */
  probeIsFree?(): boolean;
}
