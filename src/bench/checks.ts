// The "done when" figures, checked against a run's results, so every run says whether it
// reproduces the paper's shape and whether the ranked director beats it.

import { findPoint, type PointResult } from './results.js';

export interface Check {
  name: string;
  /** undefined: the run has not the points this check needs. */
  ok: boolean | undefined;
  detail: string;
}

const fmt = (n: number): string => n.toFixed(2);
const pct = (n: number): string => `${Math.round(n * 100)}%`;

/** Random: one server saturates near its link; 2 and 4 servers gain, but less than 2x and 4x. */
function randomShape(points: PointResult[]): Check[] {
  const checks: Check[] = [];
  const one = points.filter((p) => p.servers === 1 && p.policy === 'random' && p.clients >= 8);
  if (one.length > 0) {
    const best = one.reduce((a, b) => (b.utilisation ?? 0) > (a.utilisation ?? 0) ? b : a);
    const u = best.utilisation ?? 0;
    checks.push({
      name: 'random, 1 server saturates its link (>= 8 clients)',
      ok: best.utilisation === undefined ? undefined : u >= 0.9,
      detail: `${fmt(best.paperMBps)} MB/s at ${best.clients} clients = ${pct(u)} of the link (paper: 1.2 MB/s at 8)`,
    });
  }
  const top = Math.max(0, ...points.filter((p) => p.policy === 'random').map((p) => p.clients));
  const base = findPoint(points, 1, top, 'random');
  for (const n of [2, 4]) {
    const p = findPoint(points, n, top, 'random');
    if (!p || !base) continue;
    const gain = p.rate / base.rate;
    checks.push({
      name: `random, ${n} servers at ${top} clients: a gain, sub-linear`,
      ok: gain > 1 && gain < n * 0.95,
      detail: `${fmt(p.paperMBps)} MB/s = ${gain.toFixed(2)}x one server (linear: ${n}x; paper: ${n === 2 ? '2 MB/s, 1.7x' : '3 MB/s, 2.5x'})`,
    });
  }
  return checks;
}

/** Ranked with affinity: >= 90 % of the links at 16 clients; with few clients, more servers never hurt. */
function rankedBeatsIt(points: PointResult[]): Check[] {
  const checks: Check[] = [];
  for (const n of [1, 2, 4]) {
    const p = findPoint(points, n, 16, 'ranked');
    if (!p || p.utilisation === undefined) continue;
    checks.push({
      name: `ranked, ${n} server${n > 1 ? 's' : ''} at 16 clients: >= 90% of the links`,
      ok: p.utilisation >= 0.9,
      detail: `${fmt(p.paperMBps)} MB/s = ${pct(p.utilisation)} (paper, random: ${n === 1 ? '~100%' : n === 2 ? '~83%' : '~62%'})`,
    });
  }
  for (const c of [1, 2, 4]) {
    const one = findPoint(points, 1, c, 'ranked');
    if (!one) continue;
    for (const n of [2, 4]) {
      const p = findPoint(points, n, c, 'ranked');
      if (!p) continue;
      checks.push({
        name: `ranked, ${c} client${c > 1 ? 's' : ''}: ${n} servers at least as good as 1`,
        ok: p.rate >= one.rate,
        detail: `${fmt(p.paperMBps)} vs ${fmt(one.paperMBps)} MB/s (${((p.rate / one.rate - 1) * 100).toFixed(1)}%)`,
      });
    }
  }
  return checks;
}

/** Ranked against random point by point, where both ran (the --links scenario's 1.5x). */
function rankedOverRandom(points: PointResult[], atLeast: number | undefined): Check[] {
  if (atLeast === undefined) return [];
  const checks: Check[] = [];
  for (const p of points.filter((x) => x.policy === 'ranked')) {
    const r = findPoint(points, p.servers, p.clients, 'random');
    if (!r || r.rate <= 0) continue;
    checks.push({
      name: `ranked >= ${atLeast}x random, ${p.servers} servers, ${p.clients} clients`,
      ok: p.rate >= atLeast * r.rate,
      detail: `${fmt(p.paperMBps)} vs ${fmt(r.paperMBps)} MB/s = ${(p.rate / r.rate).toFixed(2)}x`,
    });
  }
  return checks;
}

/** With a fault injected: every file still arrives, and measuring costs fewer failovers than being blind. */
function faultChecks(points: PointResult[]): Check[] {
  const failed = points.reduce((a, p) => a + p.filesFailed, 0);
  const checks: Check[] = [{ name: 'every file completes despite the fault', ok: failed === 0, detail: `${failed} of ${points.reduce((a, p) => a + p.filesDone + p.filesFailed, 0)} files failed` }];
  for (const p of points.filter((x) => x.policy === 'ranked')) {
    const r = findPoint(points, p.servers, p.clients, 'random');
    if (!r) continue;
    checks.push({
      name: `ranked fails over less than random, ${p.servers} servers, ${p.clients} clients`,
      ok: p.failovers <= r.failovers,
      detail: `${p.failovers} vs ${r.failovers} failovers`,
    });
  }
  return checks;
}

/** Every check that applies to this run: the paper's setup, heterogeneous links, or a fault. */
export function runChecks(points: PointResult[], options: { heterogeneous: boolean; faults?: boolean }): Check[] {
  if (options.faults) return faultChecks(points);
  if (options.heterogeneous) return rankedOverRandom(points, 1.5);
  return [...randomShape(points), ...rankedBeatsIt(points)];
}
