// Commander's argument parsers: a flag whose value stands on its own is checked here, as commander
// reads it, and a bad one is a usage error naming the flag. Flags that need each other or the
// certificate are checked by their command; `bench` takes strings (bench/options.ts).

import { InvalidArgumentError } from 'commander';
import { aboveBound, BOUNDS } from '../certificate/bounds.js';
import { parseDuration } from '../certificate/duration.js';

/** --stall-timeout: the same range as the certificate's stall_timeout. */
export function durationArg(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds <= 0) throw new InvalidArgumentError('expected a duration such as 10, 2.5s or 500ms');
  const problem = aboveBound(seconds, BOUNDS.stall_timeout);
  if (problem) throw new InvalidArgumentError(problem);
  return seconds;
}

/** --limit-rate: bytes a second, with curl's suffixes (K, M, G: powers of 1024), e.g. 500K or 2M. */
export function rateArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  const rate = m ? Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()) : NaN;
  if (!Number.isFinite(rate) || rate < 1) throw new InvalidArgumentError('expected bytes a second such as 500K, 2M or 100000');
  return Math.round(rate);
}

export function listOfNumbers(value: string): number[] {
  const list = value.split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n < 0)) throw new InvalidArgumentError('expected numbers separated by commas');
  return list;
}

/** A parser of whole numbers >= min. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
    return n;
  };
}

export function sha256Arg(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('expected 64 hex digits');
  return value.toLowerCase();
}

/** Collects a repeatable option (--cert, --fault) into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
