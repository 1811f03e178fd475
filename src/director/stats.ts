// Per-mirror measurements: plain data (persisted in the state file) plus the functions that update
// them. Policies read these; they never write them.

import type { ErrorKind } from './errors.js';

export interface MirrorStats {
  /** Expected throughput of the data phase in bytes/s (0 = never measured). */
  throughput: number;
  /** How many throughput samples went into `throughput`. */
  samples: number;
  /**
   * How much data stands behind `throughput`: the samples' weights added up (a 1 MiB transfer
   * counts 1, a 128 KiB probe 0.125), capped. Below 1 the figure is a rough one.
   */
  weight: number;
  /** Connect-and-login latency in ms, smoothed (0 = never measured). */
  latencyMs: number;
  /** Failures since the last success, most recent last (kinds only, bounded). */
  failures: ErrorKind[];
  /** Epoch ms until which the mirror is cooling down after a failure (0 = not cooling). */
  cooldownUntil: number;
  /** Epoch ms of the last successful transfer (0 = never). */
  lastSuccess: number;
  /** Epoch ms of the last attempt of any outcome (0 = never). */
  lastUsed: number;
}

export type StatsBook = Record<string, MirrorStats>;

export function emptyStats(): MirrorStats {
  return { throughput: 0, samples: 0, weight: 0, latencyMs: 0, failures: [], cooldownUntil: 0, lastSuccess: 0, lastUsed: 0 };
}

export function statsFor(book: StatsBook, mirror: string): MirrorStats {
  let s = book[mirror];
  if (!s) {
    s = emptyStats();
    book[mirror] = s;
  }
  return s;
}

/**
 * Transfers shorter than this say more about latency than bandwidth (a 4 KiB file is over before
 * TCP leaves slow start), so they are not throughput samples at all.
 */
export const MIN_SAMPLE_BYTES = 64 * 1024;
/** A sample's weight grows with its size up to this many bytes, so one 64 KiB file cannot undo a 64 MiB one. */
export const FULL_WEIGHT_BYTES = 1024 * 1024;
/** After this many samples the mean becomes an EWMA (aria2 does the same with alpha 0.2 from the 5th). */
const MEAN_SAMPLES = 4;
const ALPHA = 0.3;
/** `weight` stops growing here: it only needs to tell rough figures from established ones. */
const WEIGHT_CAP = 8;
/** Figures with less weight behind them than this are rough (see rough()). */
export const ROUGH_WEIGHT = 0.5;
/** How far one rough sample may raise a stale established figure. */
const ROUGH_RAISE = 2;
/** A full-weight sample this many times off the estimate replaces it. */
const CHANGE_FACTOR = 2;

/**
 * Record the data phase of one transfer. The first few samples form a plain (byte-weighted) mean,
 * so the start is not dominated by the first sample; then an EWMA, so the figure follows a mirror
 * whose load changes. Each sample is weighted by min(bytes / FULL_WEIGHT_BYTES, 1).
 */
export function recordThroughput(s: MirrorStats, bytes: number, seconds: number, now: number, replace = false): void {
  if (bytes < MIN_SAMPLE_BYTES || seconds <= 0) return;
  const weight = Math.min(bytes / FULL_WEIGHT_BYTES, 1);
  // A rough sample (a probe's 128 KiB) re-testing a stale figure that a whole file stands behind
  // may at most double it: a rate limiter's burst (vsftpd lets its first 128-192 KiB through at
  // loopback speed whatever anon_max_rate says) must not send the client to a mirror measured
  // at half the speed; a mirror whose load really dropped climbs by doubling at each re-test.
  // The weight stays: a whole file still stands behind the figure.
  if (replace && weight < ROUGH_WEIGHT && (s.weight ?? 0) >= ROUGH_WEIGHT && s.throughput > 0) {
    s.throughput = Math.min(bytes / seconds, ROUGH_RAISE * s.throughput);
    s.samples += 1;
    s.lastUsed = now;
    return;
  }
  const sample = bytes / seconds;
  if (replace || s.samples === 0 || s.throughput <= 0 || ((s.weight ?? 0) < 1 && weight >= Math.min(1, 4 * (s.weight ?? 0)))) {
    s.throughput = sample;
    s.weight = 0;
  } else if (s.samples < MEAN_SAMPLES) {
    const w = weight / ((s.weight ?? s.samples) + weight);
    s.throughput += w * (sample - s.throughput);
  } else if (weight >= 1 && (sample > CHANGE_FACTOR * s.throughput || sample * CHANGE_FACTOR < s.throughput)) {
    // A full-weight sample this far off means the mirror's situation changed (aria2 restarts its
    // mean when speed drops below 80 %); an EWMA would take many files to notice.
    s.throughput = sample;
    s.samples = 0;
    s.weight = 0;
  } else {
    s.throughput += ALPHA * weight * (sample - s.throughput);
  }
  s.samples += 1;
  s.weight = Math.min(WEIGHT_CAP, (s.weight ?? 0) + weight);
  s.lastUsed = now;
}

/**
 * A figure that less than half a full-weight sample stands behind (probes only: a whole file's
 * data phase, its first chunk left out, weighs just under 1): a move on it is a test.
 */
export function rough(s: MirrorStats | undefined): boolean {
  return !!s && s.throughput > 0 && (s.weight ?? 0) < ROUGH_WEIGHT;
}

export function recordLatency(s: MirrorStats, ms: number): void {
  s.latencyMs = s.latencyMs <= 0 ? ms : s.latencyMs + ALPHA * (ms - s.latencyMs);
}

export function recordSuccess(s: MirrorStats, now: number): void {
  s.failures = [];
  s.cooldownUntil = 0;
  s.lastSuccess = now;
  s.lastUsed = now;
}

/** Base cooldown per kind in ms; it doubles with each consecutive failure, up to MAX_COOLDOWN_MS. */
const BASE_COOLDOWN_MS: Record<ErrorKind, number> = {
  unreachable: 30_000,
  busy: 5_000,
  missing: 0, // the file is missing there, the mirror is fine
  slow: 0, // left for a faster one: a ranking matter, not a fault
  stalled: 30_000,
  broken: 15_000,
  mismatch: 60_000,
  auth: 300_000,
  corrupt: 600_000, // its bytes disagreed with another mirror's
};
const MAX_COOLDOWN_MS = 30 * 60_000;
const MAX_FAILURES_KEPT = 8;

export function recordFailure(s: MirrorStats, kind: ErrorKind, now: number): void {
  s.lastUsed = now;
  if (kind === 'missing' || kind === 'slow') return;
  s.failures.push(kind);
  if (s.failures.length > MAX_FAILURES_KEPT) s.failures.shift();
  const base = BASE_COOLDOWN_MS[kind];
  const ms = Math.min(base * 2 ** (s.failures.length - 1), MAX_COOLDOWN_MS);
  s.cooldownUntil = Math.max(s.cooldownUntil, now + ms);
}

/**
 * A failure of the mirror; when its bytes were bad ('corrupt') its figures go too, so that a
 * mirror fast at sending garbage cannot rank first.
 */
export function recordFault(s: MirrorStats, kind: ErrorKind, now: number): void {
  recordFailure(s, kind, now);
  if (kind !== 'corrupt') return;
  s.throughput = 0;
  s.samples = 0;
  s.weight = 0;
}

/** A mirror's fault record and figures at one moment, to go back to when its later faults are forgiven. */
export type FaultMark = Pick<MirrorStats, 'failures' | 'cooldownUntil' | 'throughput' | 'samples' | 'weight'>;

export function faultMark(s: MirrorStats): FaultMark {
  const { cooldownUntil, throughput, samples, weight } = s;
  return { failures: [...s.failures], cooldownUntil, throughput, samples, weight };
}

/** Take back the faults recorded since `mark`, and the figures a 'corrupt' wiped unless measured again since. */
export function forgiveSince(s: MirrorStats, mark: FaultMark): void {
  s.failures = [...mark.failures];
  s.cooldownUntil = mark.cooldownUntil;
  if (s.samples > 0) return;
  s.throughput = mark.throughput;
  s.samples = mark.samples;
  s.weight = mark.weight;
}

export function inCooldown(s: MirrorStats | undefined, now: number): boolean {
  return !!s && s.cooldownUntil > now;
}
