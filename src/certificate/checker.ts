// The checker that schema.ts reads a certificate with: where each key and value is, and the checks
// every kind of value shares (strings, paths, bounded numbers and durations), each problem
// reported with its file, line and key.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type YAMLMap } from 'yaml';
import { remoteNameProblem } from '../client/remote-name.js';
import { aboveBound, type Bound } from './bounds.js';
import { DURATION_EXPECTED, parseDuration } from './duration.js';
import type { Problem } from './problems.js';

/** A key's value and where the key is, for problems about a value that has no place of its own. */
export interface Field {
  keyAt: number;
  value: unknown;
}

export class Checker {
  readonly problems: Problem[] = [];
  constructor(
    private readonly origin: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
  ) {}

  /** Follows an alias so `*ref` is checked like the anchored node it stands for. */
  deref(value: unknown): unknown {
    return isAlias(value) ? (value.resolve(this.doc) ?? value) : value;
  }

  lineOf(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  report(offset: number, key: string, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.origin, line, column: col, key, message });
  }
}

export function offsetOf(node: unknown, fallback: number): number {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range?.[0] ?? fallback;
}

/** Where to point for a value: the value itself, or its key when the value was left empty. */
export function placeOf(f: Field): number {
  return isScalar(f.value) && f.value.value === null ? f.keyAt : offsetOf(f.value, f.keyAt);
}

export function describe(value: unknown): string {
  if (isMap(value)) return 'a mapping';
  if (isSeq(value)) return 'a list';
  const v = isScalar(value) ? value.value : value;
  if (v === null || v === undefined) return 'nothing';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest valid key, if near enough to be a likely typo (more slack for longer keys). */
export function closestKey(name: string, valid: readonly string[]): string | undefined {
  const limit = name.length <= 3 ? 1 : name.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of valid) {
    const d = levenshtein(name.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** The known keys of a mapping; unknown and repeated keys are reported and left out. */
export function fields(
  ck: Checker,
  map: YAMLMap,
  path: string,
  valid: readonly string[],
  hint?: (name: string) => string | undefined,
): Map<string, Field> {
  const known = new Map<string, Field>();
  const firstAt = new Map<string, number>();
  for (const pair of map.items) {
    const keyAt = offsetOf(pair.key, offsetOf(map, 0));
    const keyValue = isScalar(pair.key) ? pair.key.value : undefined;
    if (keyValue === null || keyValue === undefined || typeof keyValue === 'object') {
      ck.report(keyAt, path, `expected a plain key name, got ${describe(pair.key)}`);
      continue;
    }
    const name = String(keyValue);
    const previous = firstAt.get(name);
    if (previous !== undefined) {
      ck.report(keyAt, join(path, name), `duplicate key '${name}' (first given on line ${ck.lineOf(previous)})`);
      continue;
    }
    firstAt.set(name, keyAt);
    if (!valid.includes(name)) {
      const near = closestKey(name, valid);
      let message = `unknown key '${name}'`;
      if (near) message += `; did you mean '${near}'?`;
      const extra = hint?.(name);
      if (extra) message += `; ${extra}`;
      ck.report(keyAt, join(path, name), message);
      continue;
    }
    known.set(name, { keyAt, value: ck.deref(pair.value) });
  }
  return known;
}

export function nonEmptyString(ck: Checker, f: Field, key: string): string | undefined {
  const v = f.value;
  if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '') return v.value;
  ck.report(placeOf(f), key, `expected a non-empty string, got ${describe(v)}`);
  return undefined;
}

/** A path on each mirror (membership, probe): the same rules as a name given to `get`. */
export function mirrorPath(ck: Checker, f: Field, key: string): string | undefined {
  const path = nonEmptyString(ck, f, key);
  const problem = path === undefined ? undefined : remoteNameProblem(path);
  if (problem) ck.report(placeOf(f), key, `not a usable path on a mirror: ${problem}`);
  return problem ? undefined : path;
}

/** Reports a value above its bound; true when the value is within. */
export function withinBound(ck: Checker, f: Field, key: string, value: number, bound: Bound): boolean {
  const problem = aboveBound(value, bound);
  if (problem) ck.report(placeOf(f), key, `${problem}, got ${describe(f.value)}`);
  return !problem;
}

export function positiveInteger(ck: Checker, f: Field, key: string, bound: Bound): number | undefined {
  const v = isScalar(f.value) ? f.value.value : undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return withinBound(ck, f, key, v, bound) ? v : undefined;
  ck.report(placeOf(f), key, `expected an integer >= 1, got ${describe(f.value)}`);
  return undefined;
}

export function duration(ck: Checker, f: Field, key: string, bound: Bound): number | undefined {
  const positive = !!bound.aboveZero;
  const seconds = parseDuration(isScalar(f.value) ? f.value.value : undefined);
  if (seconds === undefined) {
    ck.report(placeOf(f), key, `${DURATION_EXPECTED}, got ${describe(f.value)}`);
    return undefined;
  }
  if (positive && seconds <= 0) {
    ck.report(placeOf(f), key, `must be greater than 0, got ${describe(f.value)}`);
    return undefined;
  }
  return withinBound(ck, f, key, seconds, bound) ? seconds : undefined;
}
