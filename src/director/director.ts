// The director (paper 3.1.3, Fig. 5): one per service. It hides the mirrors behind one request
// interface: the policy orders them, the request runs on the first, and on a RequestError the
// request cleans up and is re-applied on the next.

import type { MirrorSpec } from '../certificate/types.js';
import { AllMirrorsFailed, Interrupted, LocalError, RequestError, type Attempt } from './errors.js';
import { Exploration } from './exploration.js';
import { behindFresh, FRESH_AGE, type Policy, type RankContext } from './policies.js';
import { chooseSplit, type SplitChoice } from './split-choice.js';
import type { Meter, Request } from './request.js';
import { MIN_SAMPLE_BYTES, faultMark, forgiveSince, inCooldown, recordFault, recordLatency, recordSuccess, recordThroughput, rough, statsFor, type FaultMark, type StatsBook } from './stats.js';

export type { Meter, Request } from './request.js';
export { PROBE_RETEST_SHARE, RETEST_MIN, RETEST_SPREAD } from './exploration.js';

/** A ranking decision and its reason, for debugging (the policy says why). */
export interface Decision {
  type: 'decision';
  what: string;
  reason: string;
}

export interface DirectorOptions {
  mirrors: MirrorSpec[];
  policy: Policy;
  stats?: StatsBook;
  random?: () => number;
  now?: () => number;
  /** Aborts every request (Ctrl-C). */
  signal?: AbortSignal;
  /** Most passes over the mirror list for one request; only passes that made progress earn the next. */
  maxPasses?: number;
  /** Most probes of unmeasured mirrors under way at once (0 = never probe). */
  maxProbes?: number;
  /** Told every decision the policy explains. */
  onDecision?: (decision: Decision) => void;
  /** Wait between passes over the mirrors, ms (0: none). */
  passWaitMs?: number;
}

/** One pass over the mirrors for a request: the first choice, and after each failure the best not yet tried. */
interface Pass {
  /** The policy's order when the pass started (probes go to the others). */
  order: MirrorSpec[];
  first: MirrorSpec | undefined;
  /** The mirror the request left for a re-test, if it did. */
  retestedFrom: string | undefined;
  tried: Set<string>;
}

export class Director {
  mirrors: MirrorSpec[];
  readonly policy: Policy;
  readonly stats: StatsBook;
  /** The mirror that served the last successful request (site affinity). */
  lastMirror: string | undefined;
  /** Requests finished (successfully) by this director: the clock that figures age by. */
  private finished = 0;
  /** The value of `finished` when each mirror was last measured; figures loaded from the state are stale. */
  private readonly measuredAt = new Map<string, number>();
  private readonly exploration: Exploration;
  private readonly random: () => number;
  readonly now: () => number;
  private readonly signal: AbortSignal | undefined;
  private readonly maxPasses: number;
  private readonly passWaitMs: number;
  private readonly probing: boolean;
  private readonly onDecision: ((decision: Decision) => void) | undefined;
  /** Transfers under way per mirror (several with `get -j`): the policy spreads new ones by them. */
  private readonly running: Record<string, number> = {};

  constructor(options: DirectorOptions) {
    this.mirrors = options.mirrors;
    this.policy = options.policy;
    this.stats = options.stats ?? {};
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.signal = options.signal;
    this.maxPasses = options.maxPasses ?? 3;
    this.passWaitMs = options.passWaitMs ?? 0;
    const maxProbes = options.maxProbes ?? 2;
    this.probing = !!this.policy.explores && maxProbes > 0;
    this.onDecision = options.onDecision;
    this.exploration = new Exploration(this, maxProbes, this.random);
  }

  /** Requests finished since the mirror was last measured (figures from before this director: stale). */
  age(mirror: string): number {
    return this.finished - (this.measuredAt.get(mirror) ?? -FRESH_AGE - 1);
  }

  /** The order the policy would try the mirrors in right now for this request. */
  rank(request: Request<unknown>): MirrorSpec[] {
    return avoiding(this.policy.rank(this.mirrors, this.context(request)), request);
  }

  /** The order the policy would try the mirrors in right now, for no request in particular. */
  order(): MirrorSpec[] {
    return this.policy.rank(this.mirrors, this.context());
  }

  /**
   * Whether a file the user gave no `-s` for is fetched in ranges (split-choice.ts), from the
   * figures now; `size` is asked only when the mirrors would allow it. The reason is a decision.
   */
  async splitFor(what: string, size: () => Promise<number | undefined>): Promise<SplitChoice> {
    const choice = await chooseSplit(this.mirrors, this.stats, this.now(), size);
    this.onDecision?.({ type: 'decision', what, reason: choice.reason });
    return choice;
  }

  context(request?: Request<unknown>): RankContext {
    const x = this.exploration;
    return {
      stats: this.stats,
      now: this.now(),
      random: this.random,
      lastMirror: this.lastMirror,
      probing: this.probing,
      age: (name) => this.age(name),
      retestAt: x.probesRetest(request, this.probing) ? undefined : x.retestAt,
      hesitated: x.hesitated,
      retestedFrom: x.retestedFrom,
      load: { ...this.running },
      note: this.onDecision && request ? (reason) => this.onDecision!({ type: 'decision', what: request.what, reason }) : undefined,
    };
  }

  /** Transfers under way besides the caller's own (which is counted while its action runs). */
  private runningOthers(): number {
    return Object.values(this.running).reduce((a, b) => a + b, 0) - 1;
  }

  /** Wait for probes under way (before saving the state or closing connections). */
  async settle(): Promise<void> {
    await this.exploration.settle();
  }

  /**
   * The meter through which a request reports on a mirror. A sample of a mirror whose figure is
   * stale replaces the figure instead of being averaged into it: other clients' load has moved.
   */
  meter(mirror: MirrorSpec, onFlowing?: () => void, request?: Request<unknown>): Meter {
    const stats = statsFor(this.stats, mirror.name);
    return {
      connected: (ms) => recordLatency(stats, ms),
      flowing: () => onFlowing?.(),
      transferred: (bytes, seconds) => {
        recordThroughput(stats, bytes, seconds, this.now(), this.age(mirror.name) > FRESH_AGE);
        if (bytes >= MIN_SAMPLE_BYTES) this.measuredAt.set(mirror.name, this.finished);
      },
      known: stats,
      bestThroughput: () => {
        const now = this.now();
        return Math.max(0, ...this.mirrors.map((m) => this.stats[m.name]).filter((s) => s && !inCooldown(s, now)).map((s) => s!.throughput));
      },
      leaveFor: (pace) => {
        const faster = this.fastestOther(mirror);
        return faster && this.policy.leave?.(pace, faster, this.context(request)) ? faster : undefined;
      },
    };
  }

  /** The fastest other mirror measured and not cooling down, if any. */
  private fastestOther(mirror: MirrorSpec): { name: string; throughput: number } | undefined {
    const now = this.now();
    let best: { name: string; throughput: number } | undefined;
    for (const m of this.mirrors) {
      const s = this.stats[m.name];
      if (m.name === mirror.name || !s || s.throughput <= 0 || inCooldown(s, now)) continue;
      if (!best || s.throughput > best.throughput) best = { name: m.name, throughput: s.throughput };
    }
    return best;
  }

  /** Rank for a new pass, and keep the re-test bookkeeping the ranked policy reads. */
  private startPass(request: Request<unknown>): Pass {
    const x = this.exploration;
    const context = this.context(request);
    const order = avoiding(this.policy.rank(this.mirrors, context), request);
    const first = order[0];
    x.hesitated = first?.name === this.lastMirror && behindFresh(this.mirrors, context);
    // Going elsewhere than the last mirror on a stale figure, or on a rough one (a probe's burst),
    // is a re-test: draw the next threshold, and come back if it did worse.
    const moved = this.lastMirror !== undefined && first !== undefined && first.name !== this.lastMirror;
    const retest = moved && (this.age(first.name) > FRESH_AGE || rough(this.stats[first.name]));
    if (retest) x.retestAt = x.drawRetest();
    return { order, first, retestedFrom: retest ? this.lastMirror : undefined, tried: new Set() };
  }

  /** The best-ranked mirror not yet tried in this pass: re-ranked, so what a failed attempt measured counts at once. */
  private next(pass: Pass, request: Request<unknown>): MirrorSpec | undefined {
    return this.rank(request).find((m) => !pass.tried.has(m.name));
  }

  /** The paper's IDirector.apply: the request's result, or AllMirrorsFailed with every attempt. */
  async apply<T>(request: Request<T>): Promise<T> {
    const attempts: Attempt[] = [];
    // Each mirror's fault record before this request's first fault on it, should it be forgiven.
    const marks = new Map<string, FaultMark>();
    const signal = this.signal ?? new AbortController().signal;
    for (let round = 0; round < this.maxPasses; round++) {
      const before = request.progress?.() ?? 0;
      const pass = this.startPass(request);
      // Probes start once the request's own data flows (or its first attempt ended): their logins
      // would otherwise compete with the request's for the same round trips and the same CPU.
      const first = pass.first;
      let explored = round > 0 || !this.probing;
      const explore = (): void => {
        if (explored) return;
        explored = true;
        // With other files under way the spread itself measures every mirror worth a file; a
        // probe would only cut a transfer and waste what it had in flight.
        if (this.runningOthers() > 0) return;
        this.exploration.explore(pass.order, request, signal);
      };
      for (let mirror = first; mirror; mirror = this.next(pass, request)) {
        pass.tried.add(mirror.name);
        if (signal.aborted) throw new Interrupted();
        this.running[mirror.name] = (this.running[mirror.name] ?? 0) + 1;
        try {
          const result = await request
            .action(mirror, signal, this.meter(mirror, explore, request))
            .finally(() => {
              explore();
              this.running[mirror.name]! -= 1;
            });
          this.succeeded(mirror, mirror === first ? pass.retestedFrom : undefined);
          return result;
        } catch (error) {
          if (signal.aborted) throw new Interrupted();
          if (error instanceof LocalError) this.forgive(error.forgive, marks);
          if (!(error instanceof RequestError)) throw error;
          attempts.push({ mirror: mirror.name, kind: error.kind, message: error.message });
          const blamed = error.culprit ?? mirror.name;
          if (!marks.has(blamed)) marks.set(blamed, faultMark(statsFor(this.stats, blamed)));
          this.failed(mirror, error);
          await request.cleanup(mirror, error);
        }
      }
      // Another pass only helps when this one got somewhere (a mirror that drops every few
      // megabytes still finishes the file); a pass of refusals would only repeat itself.
      if ((request.progress?.() ?? 0) <= before || round + 1 >= this.maxPasses) break;
      if (this.passWaitMs > 0) await pause(this.passWaitMs, signal);
    }
    throw new AllMirrorsFailed(request.what, attempts);
  }

  private succeeded(mirror: MirrorSpec, retestedFrom: string | undefined): void {
    recordSuccess(statsFor(this.stats, mirror.name), this.now());
    this.finished += 1;
    this.exploration.retestedFrom = retestedFrom;
    this.lastMirror = mirror.name;
  }

  /** The request found that these mirrors' faults were not theirs: back to their records before it. */
  private forgive(mirrors: readonly string[], marks: Map<string, FaultMark>): void {
    for (const name of mirrors) {
      const mark = marks.get(name);
      if (mark) forgiveSince(statsFor(this.stats, name), mark);
    }
  }

  private failed(mirror: MirrorSpec, error: RequestError): void {
    // Another mirror's bytes were outvoted: it is the one at fault.
    if (error.culprit !== undefined) this.blame(error.culprit);
    else recordFault(statsFor(this.stats, mirror.name), error.kind, this.now());
    if (this.lastMirror === mirror.name) this.lastMirror = undefined;
  }

  /** A mirror's bytes were outvoted outside any request of its own: it served another copy. */
  blame(mirror: string): void {
    recordFault(statsFor(this.stats, mirror), 'corrupt', this.now());
    if (this.lastMirror === mirror) this.lastMirror = undefined;
  }
}

/** The policy's order with the mirrors the request would rather avoid moved last (order kept). */
function avoiding(order: MirrorSpec[], request: Request<unknown>): MirrorSpec[] {
  const avoid = request.avoid?.();
  if (!avoid || avoid.size === 0) return order;
  return [...order.filter((m) => !avoid.has(m.name)), ...order.filter((m) => avoid.has(m.name))];
}

/** Wait `ms`, or until the signal aborts (then Interrupted). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted());
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(new Interrupted());
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
