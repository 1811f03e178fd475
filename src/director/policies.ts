// Director policies: strategy objects that order the mirrors for one request. They read the
// measurements and never change them (aria2 splits its URI selectors from ServerStat the same way).

import type { MirrorSpec, PolicyName } from '../certificate/types.js';
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
   * The last mirror has served enough requests in a row that what this client knows of the others
   * is stale (other clients' load moves): the next request re-tests one of them.
   */
  retestDue?: boolean;
}

export interface Policy {
  readonly name: PolicyName;
  /** Whether the director should probe unmeasured mirrors for this policy. */
  readonly explores?: boolean;
  /** Every mirror, best first: the director tries them in this order. */
  rank(mirrors: readonly MirrorSpec[], ctx: RankContext): MirrorSpec[];
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
/** A re-test goes to the alternative measured longest ago among those at least this share of the last mirror's speed. */
export const RETEST_BAND = 0.5;

/**
 * Measured throughput, best first. Unmeasured mirrors are explored: first in line when the
 * director does not probe, right after the best known ones when it does. Mirrors within NEAR_BEST
 * of the best are shuffled so that many clients do not pile onto one mirror (aria2's adaptive
 * selector does the same within 25 %). Affinity keeps the last mirror first while it is within
 * AFFINITY_MARGIN of the best measured alternative, which also keeps its open connection in use.
 */
export const rankedPolicy: Policy = {
  name: 'ranked',
  explores: true,
  rank(mirrors, ctx) {
    const speed = (m: MirrorSpec) => ctx.stats[m.name]?.throughput ?? 0;
    const shuffled = shuffle(mirrors, ctx.random);
    const unmeasured = shuffled.filter((m) => speed(m) <= 0);
    const measured = shuffled.filter((m) => speed(m) > 0).sort((a, b) => speed(b) - speed(a));
    const best = measured.length > 0 ? speed(measured[0]!) : 0;
    const band = measured.filter((m) => speed(m) >= NEAR_BEST * best);
    const nearBest = shuffle(band, ctx.random);
    const rest = measured.slice(band.length);
    let order = ctx.probing && measured.length > 0 ? [...nearBest, ...unmeasured, ...rest] : [...unmeasured, ...nearBest, ...rest];
    const last = ctx.lastMirror === undefined ? undefined : mirrors.find((m) => m.name === ctx.lastMirror);
    if (last && speed(last) > 0 && !inCooldown(ctx.stats[last.name], ctx.now)) {
      const bestOther = Math.max(0, ...measured.filter((m) => m !== last).map(speed));
      if (speed(last) >= AFFINITY_MARGIN * bestOther) order = [last, ...order.filter((m) => m !== last)];
      // A figure from a probe alone is rough (a short transfer, taken while others ran): an
      // alternative that looks about as good as the last mirror gets a real request to confirm it,
      // rather than affinity deciding on a guess.
      const rough = measured
        .filter((m) => m !== last && !inCooldown(ctx.stats[m.name], ctx.now) && (ctx.stats[m.name]!.weight ?? 1) < 1)
        .filter((m) => speed(m) >= AFFINITY_MARGIN * speed(last))[0];
      if (rough) order = [rough, ...order.filter((m) => m !== rough)];
      // A re-test: the request itself goes to the alternative measured longest ago, if it was
      // not far slower; its fresh figure then decides, through affinity, where the next one goes.
      const stalest = ctx.retestDue
        ? measured
            .filter((m) => m !== last && !inCooldown(ctx.stats[m.name], ctx.now) && speed(m) >= RETEST_BAND * speed(last))
            .sort((a, b) => ctx.stats[a.name]!.lastUsed - ctx.stats[b.name]!.lastUsed)[0]
        : undefined;
      if (stalest) order = [stalest, ...order.filter((m) => m !== stalest)];
    }
    return coolingLast(order, ctx);
  },
};

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
