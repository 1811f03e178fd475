// Sets of byte ranges [start, end) of one file, as plain sorted arrays: which bytes of a `.part`
// a split download has done, and which are still missing. Pure functions, no I/O.

/** Bytes [start, end) of a file. */
export type ByteRange = [start: number, end: number];

/** Sorted, with touching or overlapping ranges merged and empty ones dropped. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: ByteRange[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** The ranges of [0, size) that `done` leaves out. */
export function missingRanges(done: readonly ByteRange[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  let at = 0;
  for (const [s, e] of mergeRanges(done)) {
    if (s > at) out.push([at, Math.min(s, size)]);
    at = Math.max(at, e);
  }
  if (at < size) out.push([at, size]);
  return out.filter(([s, e]) => e > s);
}

/** How many bytes from 0 are done without a gap (what a sequential resume may continue from). */
export function donePrefix(done: readonly ByteRange[]): number {
  const first = mergeRanges(done)[0];
  return first && first[0] === 0 ? first[1] : 0;
}

/** Bytes the ranges cover. */
export function coveredBytes(ranges: readonly ByteRange[]): number {
  return mergeRanges(ranges).reduce((sum, [s, e]) => sum + e - s, 0);
}

/** The ranges a record holds, if they are well formed for a file of `size` bytes (else undefined: trust none). */
export function checkedRanges(value: unknown, size: number): ByteRange[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const ok = value.every(
    (r) => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] >= 0 && r[0] < r[1] && r[1] <= size,
  );
  return ok ? mergeRanges(value as ByteRange[]) : undefined;
}
