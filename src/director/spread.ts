// Spreading files over mirrors while several run at once (`get -j N`): each new file goes to the
// mirror where it is expected to finish first, given the transfers already running there. With
// one file at a time nothing runs when a file is ranked, and the ranked policy's own order (with
// its site affinity and re-tests) applies unchanged.

import type { MirrorSpec } from '../certificate/types.js';
import { shuffle, type RankContext } from './policies.js';
import { inCooldown } from './stats.js';

/**
 * A new file on a mirror with `running` transfers is expected to take (running + 1) / throughput
 * (per byte): the measured figure is one transfer's rate, and the model counts the transfers
 * there as sharing what the mirror gives, as they do behind one link (the paper's servers, a
 * `tc`-shaped link, the emulator). On servers that limit each session instead (vsftpd's
 * `anon_max_rate`) it spreads more than needed, which `max_connections` bounds anyway, and an
 * idle mirror half as fast as a busy one still takes the next file rather than queue.
 */
export function expectedCost(running: number, throughput: number): number {
  return (running + 1) / throughput;
}

/** Whether other transfers of this director are under way: then the files are spread. */
export function busy(ctx: RankContext): boolean {
  return Object.values(ctx.load ?? {}).some((n) => n > 0);
}

/**
 * Every mirror, the one where a new file is expected to finish first first. Unmeasured mirrors
 * count as fast as the best measured one (they are tried, and probes measure them too); mirrors
 * whose `max_connections` are all in use come after the others (the file would wait for a
 * connection), and mirrors cooling down last. The last mirror keeps its place at the front while
 * its cost is within the affinity margin of the best: its idle connection saves a login.
 */
export function spreadOrder(mirrors: readonly MirrorSpec[], ctx: RankContext, affinityMargin: number): MirrorSpec[] {
  const running = (m: MirrorSpec) => ctx.load?.[m.name] ?? 0;
  const speeds = mirrors.map((m) => ctx.stats[m.name]?.throughput ?? 0);
  const bestKnown = Math.max(0, ...speeds);
  const speed = (m: MirrorSpec) => (ctx.stats[m.name]?.throughput ?? 0) || bestKnown || 1;
  const cost = (m: MirrorSpec) => expectedCost(running(m), speed(m));
  const rank = (m: MirrorSpec) => (inCooldown(ctx.stats[m.name], ctx.now) ? 2 : running(m) >= m.maxConnections ? 1 : 0);
  // Shuffled first, so that equal costs (nothing measured yet) fall on a random mirror.
  const order = shuffle(mirrors, ctx.random).sort((a, b) => rank(a) - rank(b) || cost(a) - cost(b));
  const best = order[0];
  const last = mirrors.find((m) => m.name === ctx.lastMirror);
  if (best && last && last !== best && rank(last) === 0 && cost(last) * affinityMargin <= cost(best)) {
    ctx.note?.(`spread: ${last.name} (${running(last)} running) within the affinity margin of ${best.name}: stay`);
    return [last, ...order.filter((m) => m !== last)];
  }
  if (best) ctx.note?.(`spread: ${best.name} expected first (${running(best)} running, ${Math.round(speed(best))} B/s per transfer)`);
  return order;
}
