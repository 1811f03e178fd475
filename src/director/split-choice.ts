// Whether a file is fetched in byte ranges from several mirrors when the user did not say (`get`
// without `-s`). A strategy like the policies: it reads the director's figures and never changes
// them. Only large files from mirrors measured good are split; every other file goes one mirror at
// a time, as before, with its probes and its leave-for-a-faster-mirror.

import type { MirrorSpec } from '../certificate/types.js';
import { inCooldown, type StatsBook } from './stats.js';

/**
 * Files smaller than this are fetched from one mirror at a time. A second range costs a login and
 * its commands on another mirror (greeting, USER, PASS, TYPE, SIZE, MDTM, REST, PASV, RETR: about
 * ten round trips, half a second on a mirror 50 ms away) and a new data connection's slow start;
 * splitting a file between two mirrors of 10 MB/s saves about 1 s at 20 MiB, a fraction of the
 * cost below a few MiB. aria2's --min-split-size is 20 MiB too. Below it, a file that completes
 * in one transfer also keeps the sequential path's cheaper bookkeeping (no range record).
 */
export const SPLIT_MIN_BYTES = 20 * 1024 * 1024;
/**
 * A mirror shares a file only when its figure is at least this share of the best one's. At half
 * the best's rate a second mirror cuts the file's time by a third; a much slower one adds little,
 * its figure is the least tested, and the range it holds at the end (re-balancing stops at
 * MIN_PIECE halves) finishes at its pace.
 */
export const SPLIT_PARTNER_SHARE = 0.5;
/** Most ranges at once when the split is automatic (aria2's default -s). */
export const AUTO_SPLIT_MAX = 5;

export interface SplitChoice {
  /** Ranges under way at once: 1 is one mirror at a time. */
  ranges: number;
  /** The mirrors chosen to share the file, best first (the ranges go to them first). */
  mirrors: string[];
  reason: string;
}

/** The mirrors good enough to share a file, best first, and what the others lack. */
export function splitPartners(mirrors: readonly MirrorSpec[], stats: StatsBook, now: number): { good: string[]; left: string[] } {
  const speed = (m: MirrorSpec) => stats[m.name]?.throughput ?? 0;
  const left: string[] = [];
  const healthy = mirrors.filter((m) => {
    const s = stats[m.name];
    if (!s || s.throughput <= 0) left.push(`${m.name} not measured`);
    else if (inCooldown(s, now)) left.push(`${m.name} cooling down`);
    else if (s.failures.length > 0) left.push(`${m.name} failed since its last success`);
    else return true;
    return false;
  });
  const best = Math.max(0, ...healthy.map(speed));
  const good = healthy.filter((m) => speed(m) >= SPLIT_PARTNER_SHARE * best).sort((a, b) => speed(b) - speed(a));
  for (const m of healthy) if (!good.includes(m)) left.push(`${m.name} at ${Math.round((100 * speed(m)) / best)} % of the best`);
  return { good: good.map((m) => m.name), left };
}

/**
 * How to fetch a file whose size `size()` tells (asked only when at least two mirrors are good:
 * it may cost a round trip). Unmeasured mirrors do not count: with no figures yet, the file goes
 * one mirror at a time, and its transfer and probes measure the mirrors for the next one.
 */
export async function chooseSplit(mirrors: readonly MirrorSpec[], stats: StatsBook, now: number, size: () => Promise<number | undefined>): Promise<SplitChoice> {
  const { good, left } = splitPartners(mirrors, stats, now);
  const others = left.length > 0 ? ` (${left.join(', ')})` : '';
  const one = (why: string): SplitChoice => ({ ranges: 1, mirrors: [], reason: `one mirror at a time: ${why}` });
  if (good.length < 2) return one(`${good.length === 0 ? 'no mirror' : `only ${good[0]}`} measured good to share it${others}`);
  const bytes = await size();
  if (bytes === undefined) return one('no mirror said its size');
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes < SPLIT_MIN_BYTES) return one(`${mib(bytes)}, under the ${mib(SPLIT_MIN_BYTES)} worth splitting`);
  const chosen = good.slice(0, AUTO_SPLIT_MAX);
  return { ranges: chosen.length, mirrors: chosen, reason: `${mib(bytes)} in ranges from ${chosen.join(', ')}, measured within ${SPLIT_PARTNER_SHARE * 100} % of the best${others}` };
}
