// What a benchmark run measures and how it is scaled. Everything here is in the paper's units
// (Mbit/s links, ms of control delay, seconds); `scale` speeds the whole experiment up by running
// links `scale` times faster and control replies `scale` times sooner, so that the ratio of
// per-file overhead to transfer time, and so the curves' shape, stays the paper's.

import { mirrorName } from '../emulator/emulation.js';
import { unknownTarget, type FaultSpec } from '../emulator/faults.js';

/** The paper's random director as its applet ran it, or smartftp's ranked director. */
export type Contender = 'random' | 'ranked' | 'random-pooled';
export const CONTENDERS: readonly Contender[] = ['random', 'ranked', 'random-pooled'];

export interface BenchSettings {
  servers: number[];
  clients: number[];
  policies: Contender[];
  /** Consecutive retrievals per client (the paper's 40). */
  files: number;
  /** Bytes per file (the paper's 512 KB). */
  size: number;
  /** Mbit/s per server (paper units), by server number; the last one repeats. */
  linkMbit: number[];
  /** Added delay on every control reply, ms (paper units). */
  delayMs: number;
  /** Each client's own link, Mbit/s (paper units); undefined = not capped. */
  clientLinkMbit: number | undefined;
  /** Sessions per server before 421 (the paper's server allowed 16). */
  maxSessions: number;
  /** Links run `scale` times faster and control replies come `scale` times sooner. */
  scale: number;
  faults: FaultSpec[];
  seed: number;
}

export const KiB = 1024;
export const MB = 1_000_000;

/** The paper's experiment exactly (section 4.2, Figure 6). */
export const PAPER_SETTINGS: BenchSettings = {
  servers: [1, 2, 4],
  clients: [1, 2, 4, 8, 12, 16],
  policies: ['random', 'ranked'],
  files: 40,
  size: 512 * KiB,
  linkMbit: [10],
  delayMs: 20,
  clientLinkMbit: 10,
  maxSessions: 16,
  scale: 1,
  faults: [],
  seed: 1997,
};

/**
 * The default run: the paper's settings, 16 times faster, so the whole sweep (about 5.4 GB) takes
 * about 3 minutes on a 2-core machine. Faster than 16 and the machine's own per-file costs start to
 * show (measured: 20x reads 5-10 % lower at one client than 16x); the control delay, 20 / 16, rounds
 * to 1 ms (see scaled()).
 */
export const DEFAULT_SCALE = 16;

export function defaultSettings(): BenchSettings {
  return { ...PAPER_SETTINGS, scale: DEFAULT_SCALE, servers: [...PAPER_SETTINGS.servers], clients: [...PAPER_SETTINGS.clients] };
}

/** The figures the emulation actually runs with (bytes/s and whole ms, as the servers take them). */
export interface ScaledSettings {
  /** Server link rates, bytes/s, for server 1..max(servers). */
  linkRates: number[];
  /** Control delay per reply, whole ms (the server's unit). */
  delayMs: number;
  /** The control delay the run stands for in paper units (delayMs x scale; differs from the asked one by rounding). */
  paperDelayMs: number;
  clientLinkRate: number | undefined;
}

export function mbitToBytes(mbit: number): number {
  return (mbit * MB) / 8;
}

/** The link of server `n` (1-based): the list's n-th entry, or its last. */
export function linkMbitOf(settings: Pick<BenchSettings, 'linkMbit'>, n: number): number {
  const list = settings.linkMbit;
  return list[Math.min(n, list.length) - 1] ?? 10;
}

export function scaled(settings: BenchSettings): ScaledSettings {
  const k = settings.scale;
  const most = Math.max(1, ...settings.servers);
  const delayMs = Math.round(settings.delayMs / k);
  return {
    linkRates: Array.from({ length: most }, (_, i) => mbitToBytes(linkMbitOf(settings, i + 1)) * k),
    delayMs,
    paperDelayMs: delayMs * k,
    clientLinkRate: settings.clientLinkMbit === undefined ? undefined : mbitToBytes(settings.clientLinkMbit) * k,
  };
}

/** Bytes/s of links in the run -> the paper-equivalent MB/s the report shows. */
export function paperMBps(bytesPerSecond: number, scale: number): number {
  return bytesPerSecond / scale / MB;
}

// ---- parsing (the CLI's arguments; each returns a value or throws Error with a message for the user)

export function parseIntList(text: string, what: string, min = 1): number[] {
  const list = text.split(',').map((s) => s.trim());
  const out = list.map(Number);
  if (list.some((s) => s === '') || out.some((n) => !Number.isSafeInteger(n) || n < min)) {
    throw new Error(`${what}: expected whole numbers >= ${min} separated by commas, got "${text}"`);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseRateList(text: string, what: string): number[] {
  const out = text.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new Error(`${what}: expected Mbit/s figures > 0 separated by commas, got "${text}"`);
  }
  return out;
}

export function parsePolicies(text: string): Contender[] {
  const list = text.split(',').map((s) => s.trim());
  const bad = list.find((p) => !(CONTENDERS as readonly string[]).includes(p));
  if (bad !== undefined) throw new Error(`--policies: unknown policy "${bad}" (choose from ${CONTENDERS.join(', ')})`);
  return [...new Set(list as Contender[])];
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?$/i;
const SIZE_UNIT: Record<string, number> = { b: 1, k: KiB, kb: 1000, kib: KiB, m: KiB * KiB, mb: MB, mib: KiB * KiB };

/** "512KiB", "512k" (KiB), "1MiB", "100kB", "65536". */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  const n = m ? Math.round(Number(m[1]) * SIZE_UNIT[(m[2] ?? 'b').toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--size: expected a size such as 512KiB, 1MiB or 65536, got "${text}"`);
  return n;
}

/** Problems that make a settings object unusable (empty = fine). */
export function checkSettings(s: BenchSettings): string[] {
  const problems: string[] = [];
  if (s.servers.length === 0 || s.clients.length === 0 || s.policies.length === 0) problems.push('nothing to run: servers, clients and policies must not be empty');
  if (!(s.scale > 0)) problems.push('--scale must be > 0');
  if (!Number.isSafeInteger(s.files) || s.files < 1) problems.push('--files must be a whole number >= 1');
  if (s.delayMs < 0) problems.push('--delay must be >= 0');
  if (Math.max(...s.clients) > 64) problems.push('--clients: at most 64 clients');
  if (Math.max(...s.servers) > 16) problems.push('--servers: at most 16 servers');
  // A fault by number for a server a point lacks is skipped there; a name must be one of them.
  const names = Array.from({ length: Math.max(1, ...s.servers) }, (_, i) => mirrorName(i + 1));
  for (const f of s.faults) {
    const unknown = 'mirror' in f ? unknownTarget(f, names) : undefined;
    if (unknown) problems.push(unknown);
  }
  return problems;
}
