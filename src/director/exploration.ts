// Exploration: what the director does besides serving the request, to keep its figures true.
// Probes measure mirrors never measured, beside the request, so that the next request can already
// go to the fastest; re-tests re-measure a stale alternative (its figure is from before other
// clients' load moved), by a probe while probes cost no bytes, else by moving the request itself
// (rankedPolicy does that when the context carries a threshold). All re-test state lives here.

import type { MirrorSpec } from '../certificate/types.js';
import { RequestError } from './errors.js';
import { overdueAlternative, type RankContext } from './policies.js';
import type { Meter, Request } from './request.js';
import { inCooldown, recordFault, statsFor, type StatsBook } from './stats.js';

/**
 * The re-test threshold (see rankedPolicy): RETEST_MIN + [0, RETEST_SPREAD), drawn again after
 * every re-test so that clients do not move together. An alternative that looked as fast as the
 * last mirror is re-tested after 4 to 7 requests, one that looked half as fast after 16 to 28.
 */
export const RETEST_MIN = 4;
export const RETEST_SPREAD = 4;
/**
 * A re-test by probe costs no bytes and does not move the request, so it comes at this share of
 * the threshold (the best of 1/3, 1/2, 2/3 and 1 in the benchmark at 4 servers and 16 clients).
 */
export const PROBE_RETEST_SHARE = 0.5;
/** How long a finished run waits for probes under way before ending them, ms. */
export const SETTLE_GRACE_MS = 1000;

/** What exploration reads of its director. */
export interface ExplorationHost {
  readonly mirrors: MirrorSpec[];
  readonly stats: StatsBook;
  now(): number;
  /** The ranking context without a request (re-tests by probe read the last mirror's figures). */
  context(): RankContext;
  meter(mirror: MirrorSpec): Meter;
}

export class Exploration {
  /** The current re-test threshold (jittered, so clients do not move together). */
  retestAt: number;
  /**
   * Re-tests are made by probes beside the request (the request stays where affinity puts it)
   * while probes are free: the last file was large enough for a probe's bytes to be kept.
   */
  retestByProbe = true;
  /** The last request stayed on the last mirror although a fresh alternative was ahead (see rankedPolicy). */
  hesitated = false;
  /** The last request was a re-test that left this mirror (see rankedPolicy). */
  retestedFrom: string | undefined;
  /** Probes under way, by mirror. */
  private readonly probes = new Map<string, Promise<void>>();
  /** Ends the probes under way once the work is done (a trickling mirror must not hold the exit). */
  private ender = new AbortController();

  constructor(
    private readonly host: ExplorationHost,
    /** Most probes under way at once (0: never probe). */
    private readonly maxProbes: number,
    private readonly random: () => number,
  ) {
    this.retestAt = this.drawRetest();
  }

  drawRetest(): number {
    return RETEST_MIN + Math.floor(this.random() * RETEST_SPREAD);
  }

  /** Whether re-tests for this request are probes rather than the policy's moves. */
  probesRetest(request: Request<unknown> | undefined, probing: boolean): boolean {
    return probing && this.retestByProbe && !!request?.probe && !!request.probeIsFree;
  }

  /**
   * Start probes of mirrors never measured (and not cooling down), other than the one about to
   * serve the request. Then, while probes are free, a re-test: a probe of the stale alternative
   * most overdue, whose fresh figure decides through affinity where the next request goes. When
   * the mirrors' loads shift (clients finishing leave a mirror idle) the clients on a crowded one
   * learn it this way without leaving it to find out.
   */
  explore<T>(order: MirrorSpec[], request: Request<T>, signal: AbortSignal): void {
    if (!request.probe) return;
    const now = this.host.now();
    for (const mirror of order.slice(1)) {
      if (this.probes.size >= this.maxProbes) break;
      const s = this.host.stats[mirror.name];
      if (this.probes.has(mirror.name) || (s && (s.samples > 0 || inCooldown(s, now)))) continue;
      this.startProbe(mirror, request, signal);
    }
    // Whether a probe is free now (early in the file) says it for the next file too, which is
    // likely of a size like this one's: until then, re-tests move the request.
    const free = request.probeIsFree?.() ?? false;
    this.retestByProbe = free;
    if (!free || this.probes.size >= this.maxProbes) return;
    const skip = (m: MirrorSpec) => m === order[0] || this.probes.has(m.name);
    const overdue = overdueAlternative(this.host.mirrors, this.host.context(), this.retestAt * PROBE_RETEST_SHARE, skip);
    if (!overdue) return;
    this.retestAt = this.drawRetest();
    this.startProbe(overdue, request, signal);
  }

  private startProbe<T>(mirror: MirrorSpec, request: Request<T>, signal: AbortSignal): void {
    // Its own signal, ended by Ctrl-C or by settle(); the listeners go with the probe (Node 20's
    // AbortSignal.any keeps them on the run's signal).
    const own = new AbortController();
    const ender = this.ender.signal;
    const end = () => own.abort();
    signal.addEventListener('abort', end, { once: true });
    ender.addEventListener('abort', end, { once: true });
    const run = request
      .probe!(mirror, own.signal, this.host.meter(mirror))
      .catch((error: unknown) => {
        if (error instanceof RequestError && !signal.aborted) recordFault(statsFor(this.host.stats, mirror.name), error.kind, this.host.now());
      })
      .finally(() => {
        signal.removeEventListener('abort', end);
        ender.removeEventListener('abort', end);
        this.probes.delete(mirror.name);
      });
    this.probes.set(mirror.name, run);
  }

  /**
   * Wait for probes under way (before saving the state or closing connections), at most `graceMs`:
   * then they are ended, and what they measured so far is lost.
   */
  async settle(graceMs = SETTLE_GRACE_MS): Promise<void> {
    const all = Promise.allSettled([...this.probes.values()]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    const ended = await Promise.race([all.then(() => false), late]);
    clearTimeout(timer);
    if (!ended) return;
    this.ender.abort();
    this.ender = new AbortController();
    await all;
  }
}
