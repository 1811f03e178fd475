// Director policies: strategy objects that order the mirrors for one request. They read the
// measurements and never change them (aria2 splits its URI selectors from ServerStat the same way).

import type { MirrorSpec, PolicyName } from '../certificate/types.js';
import type { TransferPace } from './request.js';
import { busy, spreadOrder } from './spread.js';
import { inCooldown, type StatsBook } from './stats.js';

export interface RankContext {
  stats: StatsBook;
  now: number;
  /** Uniform in [0, 1); seeded in tests. */
  random: () => number;
  /** The mirror that served the previous request of this director (site affinity). */
  lastMirror?: string;
  /**
   * True when the director measures unmeasured mirrors with probes beside the request; then the
   * request itself goes to the best known mirror instead of exploring.
   */
  probing?: boolean;
  /**
   * Requests this director finished since it last measured the mirror (0 or 1: fresh; loaded from
   * the state file and not measured since: stale). Absent: every figure counts as fresh.
   */
  age?: (mirror: string) => number;
  /**
   * The director's (jittered) re-test threshold: an alternative is re-tested once its age times
   * (its figure / the last mirror's)^2 reaches it. Absent: the policy makes no re-tests (none, or
   * the director makes them with probes).
   */
  retestAt?: number;
  /**
   * At the previous request the last mirror was already behind a fresh alternative, and the
   * client stayed: now it moves for sure.
   */
  hesitated?: boolean;
  /** The last request re-tested lastMirror, coming from this mirror. */
  retestedFrom?: string;
  /** Told the reason of each decision (debugging). */
  note?: (reason: string) => void;
  /** Transfers of this director under way per mirror, other than the request being ranked (`get -j`). */
  load?: Readonly<Record<string, number>>;
}

export interface Policy {
  readonly name: PolicyName;
  /** Whether the director should probe unmeasured mirrors for this policy. */
  readonly explores?: boolean;
  /** Every mirror, best first: the director tries them in this order. */
  rank(mirrors: readonly MirrorSpec[], ctx: RankContext): MirrorSpec[];
  /**
   * Whether a running transfer should be given up for `faster`, the fastest other mirror measured
   * (the offset on disk carries over). Absent: transfers are never left while they deliver.
   */
  leave?(pace: TransferPace, faster: { name: string; throughput: number }, ctx: RankContext): boolean;
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Mirrors not cooling down keep their order; those cooling down go last, soonest back first. */
function coolingLast(mirrors: MirrorSpec[], ctx: RankContext): MirrorSpec[] {
  const ready = mirrors.filter((m) => !inCooldown(ctx.stats[m.name], ctx.now));
  const cooling = mirrors
    .filter((m) => inCooldown(ctx.stats[m.name], ctx.now))
    .sort((a, b) => ctx.stats[a.name]!.cooldownUntil - ctx.stats[b.name]!.cooldownUntil);
  return [...ready, ...cooling];
}

/** Certificate order (the "inorder" selector); mirrors in cooldown last. */
export const orderedPolicy: Policy = {
  name: 'ordered',
  rank: (mirrors, ctx) => coolingLast([...mirrors], ctx),
};

/** The paper's FTP director: a fresh random order for every request, blind to measurements. */
export const randomPolicy: Policy = {
  name: 'random',
  rank: (mirrors, ctx) => shuffle(mirrors, ctx.random),
};

/** Stay with the last mirror while its throughput is at least this share of the best alternative's. */
export const AFFINITY_MARGIN = 0.8;
/** Mirrors within this share of the best count as equally good; one of them is picked at random. */
export const NEAR_BEST = 0.75;
/** A figure at most this many requests old is fresh: it may move the client at once. */
export const FRESH_AGE = 1;
/**
 * The first time fresh evidence puts the last mirror behind, a client leaves it with probability
 * LEAVE_DAMPING x (1 - last / best). Measured with \`smartftp bench\` at 4 servers and 16 clients
 * (6 runs each): 0.25 gave 83 % of the links, 0.5 gave 86-88 %, 1 (everyone leaves) 82 %.
 */
export const LEAVE_DAMPING = 0.5;
/** Alternatives slower than this share of the last mirror are never re-tested. */
export const RETEST_FLOOR = 0.25;
/**
 * When to give up a transfer for a faster mirror (aria2 looks for a faster one every 10 s): after
 * the transfer has run `afterMs`, if another mirror was measured `factor` times faster than this
 * transfer's own rate and moving would save at least `minGainS` seconds on the rest of the file.
 * The probes have measured the other mirrors within a fraction of a second; one second of the
 * transfer's own rate is enough beside them. minGainS keeps short files, and small gains, where
 * they are.
 */
export const LEAVE_TRANSFER = { afterMs: 1000, factor: 2, minGainS: 5 };

/**
 * Measured throughput, best first. Unmeasured mirrors are explored: first in line when the
 * director does not probe, right after the best known ones when it does. Mirrors within NEAR_BEST
 * of the best are shuffled so that many clients do not pile onto one mirror (aria2's adaptive
 * selector does the same within 25 %).
 *
 * Site affinity keeps the last mirror first while it is within AFFINITY_MARGIN of every *fresh*
 * alternative, which also keeps its open connection in use. A stale figure never moves the client
 * by itself: many clients holding the same old figure of a mirror that was idle would all leave
 * for it at once and crowd it (measured in the benchmark: a mirror went from 9 clients to none and
 * back). A stale alternative is re-tested instead, one client at a time: when its age, weighted
 * by (its figure / the last mirror's)^2, reaches the director's jittered threshold. So an
 * alternative that looked as fast is re-checked every few requests, one that looked half as fast
 * four times less often, and all of them sooner when the last mirror slows down. Here the request
 * itself goes to the re-tested mirror; while a probe costs no bytes the director re-tests with a
 * probe beside the request instead (and leaves ctx.retestAt unset).
 */
export const rankedPolicy: Policy = {
  name: 'ranked',
  explores: true,
  rank(mirrors, ctx) {
    // Other files under way: this one goes where it is expected to finish first.
    if (busy(ctx)) return spreadOrder(mirrors, ctx, AFFINITY_MARGIN);
    const speed = (m: MirrorSpec) => ctx.stats[m.name]?.throughput ?? 0;
    const age = (m: MirrorSpec) => ctx.age?.(m.name) ?? 0;
    const ready = (m: MirrorSpec) => !inCooldown(ctx.stats[m.name], ctx.now);
    const shuffled = shuffle(mirrors, ctx.random);
    const unmeasured = shuffled.filter((m) => speed(m) <= 0);
    const measured = shuffled.filter((m) => speed(m) > 0).sort((a, b) => speed(b) - speed(a));
    const nearBestOf = (list: MirrorSpec[]) => {
      const best = list.length > 0 ? speed(list[0]!) : 0;
      return shuffle(list.filter((m) => speed(m) >= NEAR_BEST * best), ctx.random);
    };
    const nearBest = nearBestOf(measured);
    const rest = measured.filter((m) => !nearBest.includes(m));
    let order = ctx.probing && measured.length > 0 ? [...nearBest, ...unmeasured, ...rest] : [...unmeasured, ...nearBest, ...rest];
    const first = (m: MirrorSpec) => (order = [m, ...order.filter((o) => o !== m)]);
    const last = ctx.lastMirror === undefined ? undefined : mirrors.find((m) => m.name === ctx.lastMirror);
    if (!last || speed(last) <= 0 || !ready(last)) {
      ctx.note?.(last ? `${last.name} unmeasured or cooling down: fastest measured first` : 'no last mirror: fastest measured first');
      return coolingLast(order, ctx);
    }

    const others = measured.filter((m) => m !== last && ready(m));
    const fresh = freshAlternatives(mirrors, ctx);
    const bestFresh = fresh.length > 0 ? speed(fresh[0]!) : 0;
    first(last);
    // After a re-test the client stays on the re-tested mirror only if it did at least as well as
    // the one it came from: otherwise clients spread evenly would keep trading places. That figure
    // was taken on the file before the re-test, so it is one file older than fresh.
    const from = ctx.retestedFrom === undefined ? undefined : others.find((m) => m.name === ctx.retestedFrom && age(m) <= FRESH_AGE + 1);
    if (from && speed(last) < speed(from)) {
      ctx.note?.(`re-tested ${last.name} did worse than ${from.name}: back`);
      return coolingLast(first(from), ctx);
    }
    if (behindFresh(mirrors, ctx)) {
      // Fresh evidence of a better mirror. Every client that shares this mirror sees the same
      // evidence at about the same time; if all of them moved, the better mirror would be the
      // crowded one. So the first time, only some move (those that stay then measure the mirror
      // their peers left); if it is still behind at the next request, the client moves for sure,
      // so one client alone on a slow mirror leaves it within two requests.
      const stay = ctx.hesitated ? 0 : 1 - LEAVE_DAMPING * (1 - speed(last) / bestFresh);
      const moved = ctx.random() >= stay;
      if (moved) first(nearBestOf(fresh)[0]!);
      ctx.note?.(`${last.name} behind fresh ${fresh[0]!.name} (${Math.round(speed(last))} < ${AFFINITY_MARGIN} x ${Math.round(bestFresh)} B/s): ${moved ? `moved to ${order[0]!.name}` : 'stayed (damped)'}`);
      return coolingLast(order, ctx);
    }
    // A re-test: the request itself goes to the most overdue stale alternative; its fresh figure
    // then decides, through affinity, where the next one goes.
    if (ctx.retestAt !== undefined) {
      const overdue = overdueAlternative(mirrors, ctx, ctx.retestAt);
      if (overdue) {
        first(overdue);
        ctx.note?.(`re-test of ${overdue.name}: its figure is ${age(overdue)} requests old`);
        return coolingLast(order, ctx);
      }
    }
    ctx.note?.(`affinity: stay on ${last.name}`);
    return coolingLast(order, ctx);
  },
  leave(pace, faster, ctx) {
    if (pace.elapsedMs < LEAVE_TRANSFER.afterMs || faster.throughput < LEAVE_TRANSFER.factor * pace.rate) return false;
    const gain = pace.remaining / pace.rate - pace.remaining / faster.throughput;
    if (gain < LEAVE_TRANSFER.minGainS) return false;
    ctx.note?.(`leave for ${faster.name}: ${Math.round(faster.throughput)} B/s against ${Math.round(pace.rate)} B/s here, ${gain.toFixed(1)} s saved`);
    return true;
  },
};

/**
 * The stale alternative to the last mirror most overdue for a re-test, if one has reached
 * `threshold`: its age in requests times (its figure / the last mirror's)^2. Alternatives under
 * RETEST_FLOOR of the last mirror, cooling down, or in `skip`, never are.
 */
export function overdueAlternative(mirrors: readonly MirrorSpec[], ctx: RankContext, threshold: number, skip: (m: MirrorSpec) => boolean = () => false): MirrorSpec | undefined {
  const speed = (m: MirrorSpec) => ctx.stats[m.name]?.throughput ?? 0;
  const age = (m: MirrorSpec) => ctx.age?.(m.name) ?? 0;
  const last = mirrors.find((m) => m.name === ctx.lastMirror);
  if (!last || speed(last) <= 0) return undefined;
  const due = (m: MirrorSpec) => age(m) * (speed(m) / speed(last)) ** 2;
  return mirrors
    .filter((m) => m !== last && !skip(m) && !inCooldown(ctx.stats[m.name], ctx.now) && age(m) > FRESH_AGE)
    .filter((m) => speed(m) >= RETEST_FLOOR * speed(last) && due(m) >= threshold)
    .sort((a, b) => due(b) - due(a))[0];
}

/** The age up to which a figure is fresh; one more after a hesitation, since the evidence then is a request older. */
function freshAge(ctx: RankContext): number {
  return ctx.hesitated ? FRESH_AGE + 1 : FRESH_AGE;
}

/** Measured mirrors other than the last one, not cooling down, with fresh figures: fastest first. */
function freshAlternatives(mirrors: readonly MirrorSpec[], ctx: RankContext): MirrorSpec[] {
  const speed = (m: MirrorSpec) => ctx.stats[m.name]?.throughput ?? 0;
  return mirrors
    .filter((m) => m.name !== ctx.lastMirror && speed(m) > 0 && !inCooldown(ctx.stats[m.name], ctx.now) && (ctx.age?.(m.name) ?? 0) <= freshAge(ctx))
    .sort((a, b) => speed(b) - speed(a));
}

/** Whether the last mirror is behind a fresh alternative by more than the affinity margin (rankedPolicy's test). */
export function behindFresh(mirrors: readonly MirrorSpec[], ctx: RankContext): boolean {
  const last = ctx.lastMirror === undefined ? undefined : ctx.stats[ctx.lastMirror];
  if (!last || last.throughput <= 0 || inCooldown(last, ctx.now)) return false;
  const best = freshAlternatives(mirrors, ctx)[0];
  return best !== undefined && last.throughput < AFFINITY_MARGIN * ctx.stats[best.name]!.throughput;
}

export function policyByName(name: PolicyName): Policy {
  switch (name) {
    case 'ordered':
      return orderedPolicy;
    case 'random':
      return randomPolicy;
    case 'ranked':
      return rankedPolicy;
  }
}
