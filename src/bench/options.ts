// The benchmark's command-line options resolved into what a run needs: the settings (--paper, --links
// and friends) and the target (emulated mirrors, or a certificate's real ones with --cert). The CLI
// hands the flags over as strings so that every mistake is one message, thrown here as an Error.

import { bootstrapCertificate } from '../certificate/sources.js';
import { parseFault } from '../emulator/faults.js';
import {
  checkSettings,
  defaultSettings,
  PAPER_SETTINGS,
  parseIntList,
  parsePolicies,
  parseRateList,
  parseSize,
  type BenchSettings,
} from './settings.js';
import { certificateTarget, emulatedTarget, type Target } from './sweep.js';

/** The flags as commander hands them over. */
export interface BenchOptions {
  servers?: string;
  clients?: string;
  policies?: string;
  files?: string;
  size?: string;
  link?: string;
  links?: string;
  delay?: string;
  clientLink?: string;
  scale?: string;
  maxSessions?: string;
  fault?: string[];
  seed?: string;
  paper?: boolean;
  out?: string;
  json?: boolean;
  /** Exit 0 even when a check fails (the report still says FAIL). */
  reportOnly?: boolean;
  cert?: string;
  file?: string;
}

function number(text: string, flag: string, min: number, integer = false): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag}: expected ${integer ? 'a whole number' : 'a number'} >= ${min}, got "${text}"`);
  }
  return n;
}

/** The settings a command line asks for (throws Error with a message for the user). */
export function settingsFromOptions(o: BenchOptions): BenchSettings {
  const s: BenchSettings = o.paper ? { ...PAPER_SETTINGS } : defaultSettings();
  if (o.scale !== undefined) s.scale = number(o.scale, '--scale', Number.MIN_VALUE);
  if (o.servers !== undefined) s.servers = parseIntList(o.servers, '--servers');
  if (o.clients !== undefined) s.clients = parseIntList(o.clients, '--clients');
  if (o.policies !== undefined) s.policies = parsePolicies(o.policies);
  if (o.files !== undefined) s.files = number(o.files, '--files', 1, true);
  if (o.size !== undefined) s.size = parseSize(o.size);
  if (o.link !== undefined && o.links !== undefined) throw new Error('--link and --links: give one or the other');
  if (o.link !== undefined) s.linkMbit = [number(o.link, '--link', Number.MIN_VALUE)];
  if (o.links !== undefined) {
    s.linkMbit = parseRateList(o.links, '--links');
    // The list names the mirrors; without --servers, run them all.
    if (o.servers === undefined) s.servers = [s.linkMbit.length];
  }
  if (o.delay !== undefined) s.delayMs = number(o.delay, '--delay', 0);
  if (o.clientLink !== undefined) s.clientLinkMbit = o.clientLink === 'none' || Number(o.clientLink) === 0 ? undefined : number(o.clientLink, '--client-link', Number.MIN_VALUE);
  if (o.maxSessions !== undefined) s.maxSessions = number(o.maxSessions, '--max-sessions', 1, true);
  if (o.seed !== undefined) s.seed = number(o.seed, '--seed', 0, true);
  s.faults = (o.fault ?? []).map(parseFault);
  const problems = checkSettings(s);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return s;
}

/**
 * What to run against: emulated mirrors started for `s`, or with --cert the certificate's real
 * mirrors, which fixes `s` to them (their count, their own speed). Throws Error or CertificateError.
 */
export async function targetFromOptions(o: BenchOptions, s: BenchSettings): Promise<Target> {
  if (!o.cert) return emulatedTarget(s);
  if (!o.file) throw new Error('--cert needs --file PATH: the file every mirror holds');
  if (s.faults.length > 0) throw new Error('--fault works on emulated mirrors only');
  const { cert } = await bootstrapCertificate([o.cert]);
  if (o.servers === undefined) s.servers = [cert.mirrors.length];
  if (Math.max(...s.servers) > cert.mirrors.length) throw new Error(`--servers: ${o.cert} names ${cert.mirrors.length} mirrors`);
  // Real mirrors run at their own speed: nothing is scaled, and links are what they are.
  s.scale = 1;
  if (o.clientLink === undefined) s.clientLinkMbit = undefined;
  s.linkMbit = [];
  return certificateTarget(cert, o.file);
}
