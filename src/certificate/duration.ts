// Durations in the certificate: seconds as a number, or a string with a unit ("500ms", "10s", "2m").

/** What a duration looks like, for messages about a value that is not one. */
export const DURATION_EXPECTED = 'expected a duration such as 30, "500ms", "10s", "2m", "1h" or "1d"';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?$/;

/**
 * Seconds for a non-negative number, or a string such as "1.5s", "2m" or "30" (seconds);
 * undefined when the value is not a duration.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  const amount = Number(m[1]);
  const unit = m[2] ?? 's';
  // Divided, not multiplied by 0.001, so "500ms" is exactly 0.5.
  return unit === 'ms' ? amount / 1000 : amount * (UNIT_SECONDS[unit] ?? 1);
}

/** The shortest form parseDuration reads back as the same number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return String(seconds);
  if (seconds > 0 && seconds < 1) {
    const ms = seconds * 1000;
    const rounded = Math.round(ms);
    if (Math.abs(ms - rounded) < 1e-9 && rounded / 1000 === seconds) return `${rounded}ms`;
    return `${seconds}s`;
  }
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
