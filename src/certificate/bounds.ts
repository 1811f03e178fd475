// The largest values a certificate may give (README, "The certificate"; docs/limits.md). A value
// past them is a certificate error, not a number to pass on: a timer given more than 2^31-1 ms
// (about 24.8 days) fires after 1 ms with a warning, and 1e308 connections is no limit at all.

import { formatDuration } from './duration.js';

/** setTimeout's and setInterval's largest delay, ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const HOUR = 3600;
const DAY = 86400;

export interface Bound {
  /** Whether the smallest allowed value is excluded (durations that must be > 0). */
  aboveZero?: boolean;
  min: number;
  max: number;
  /** How values are written in messages. */
  unit: 'duration' | 'count';
}

/** The allowed range of each bounded key, by its name in the certificate. */
export const BOUNDS = {
  /** Compared with timestamps only (cache freshness, membership look-ups), never given to a timer. */
  ttl: { min: 0, max: 30 * DAY, unit: 'duration' },
  stall_timeout: { aboveZero: true, min: 0, max: HOUR, unit: 'duration' },
  connect_timeout: { aboveZero: true, min: 0, max: HOUR, unit: 'duration' },
  max_connections: { min: 1, max: 64, unit: 'count' },
} as const satisfies Record<string, Bound>;

function show(n: number, bound: Bound): string {
  return bound.unit === 'duration' && n !== 0 ? formatDuration(n) : String(n);
}

/** "more than 0 up to 1h", "0 up to 30d", "1 to 64". */
export function describeBound(bound: Bound): string {
  const low = bound.aboveZero ? `more than ${show(bound.min, bound)} up to` : bound.unit === 'duration' ? `${show(bound.min, bound)} up to` : `${show(bound.min, bound)} to`;
  return `${low} ${show(bound.max, bound)}`;
}

/** The problem with a value above its bound ("out of range: allowed ..."), or undefined when it is within. */
export function aboveBound(value: number, bound: Bound): string | undefined {
  return value > bound.max ? `out of range: allowed ${describeBound(bound)}` : undefined;
}

/** A delay for setTimeout/setInterval from seconds, never past what a timer can hold. */
export function timerMs(seconds: number): number {
  return Math.min(Math.max(0, seconds * 1000), MAX_TIMER_MS);
}
