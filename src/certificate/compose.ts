// A certificate made from mirror base URLs: the text `cert init` writes (a comment above each
// mirror), and the service `get` builds on the fly from --mirror or full file URLs. It is made as
// text and read back by the same checks as any certificate, so what is made here is what
// `cert check` accepts.

import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { printable } from '../util/safe-text.js';
import { parseCertificate } from './load.js';
import { DEFAULT_FTP_PORT, hostForName, PASSWORD_IN_URL, COMMAND_LINE_CREDENTIALS_HINT, parseMirrorUrl, type MirrorUrl } from './mirror-url.js';
import { DEFAULT_DIRECTOR } from './schema.js';
import type { Certificate } from './types.js';

export interface MirrorBase {
  /** The base URL as given (a user name allowed, never a password): what goes in the certificate. */
  text: string;
  parsed: MirrorUrl;
}

/** Service names longer than this are shortened (they name the state file). */
const MAX_SERVICE_NAME = 80;

/** A mirror base URL from the command line; the reason when it is not one. */
export function commandLineMirror(text: string): MirrorBase | string {
  const parsed = parseMirrorUrl(text);
  if (typeof parsed !== 'string') return { text, parsed };
  return parsed.startsWith(PASSWORD_IN_URL) ? `${PASSWORD_IN_URL}; ${COMMAND_LINE_CREDENTIALS_HINT}` : parsed;
}

/** The same mirror whatever way it was written: scheme, user, host:port and base directory. */
export function mirrorKey(m: MirrorUrl): string {
  return `${m.protocol}://${m.user === undefined ? '' : `${encodeURIComponent(m.user)}@`}${hostForName(m)}${m.basePath}`;
}

/** Each mirror once, in the order first given. */
export function distinctMirrors(mirrors: MirrorBase[]): MirrorBase[] {
  const byKey = new Map<string, MirrorBase>();
  for (const m of mirrors) if (!byKey.has(mirrorKey(m.parsed))) byKey.set(mirrorKey(m.parsed), m);
  return [...byKey.values()];
}

function hostLabel(m: MirrorUrl): string {
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  return m.port === DEFAULT_FTP_PORT ? host : `${host}:${m.port}`;
}

/** `urls:HOST+HOST`: the hosts (with ":port" when not 21) sorted, each once; a long list is shortened with a hash. */
export function serviceNameFor(mirrors: MirrorUrl[]): string {
  const hosts = [...new Set(mirrors.map(hostLabel))].sort();
  const name = `urls:${hosts.join('+')}`;
  if (name.length <= MAX_SERVICE_NAME) return name;
  const hash = createHash('sha256').update(hosts.join('\n')).digest('hex').slice(0, 8);
  return `urls:${hosts[0]!.slice(0, 40)}+${hosts.length - 1}-more-${hash}`;
}

/**
 * Mirror names where the certificate's default (host:port) would repeat: two base directories on
 * one server are told apart by the directory (and the user). undefined = the default will do.
 */
function mirrorNames(mirrors: MirrorUrl[]): (string | undefined)[] {
  const counts = new Map<string, number>();
  for (const m of mirrors) counts.set(hostForName(m), (counts.get(hostForName(m)) ?? 0) + 1);
  return mirrors.map((m) => (counts.get(hostForName(m))! > 1 ? mirrorKey(m).replace(/^ftp:\/\//, '') : undefined));
}

/** A YAML scalar on one line (plain when that reads the same, else quoted). */
function scalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function withNote(line: string, note: string): string {
  return `${line.padEnd(26)}# ${note}`;
}

export interface ComposeOptions {
  service: string;
  mirrors: MirrorBase[];
  /** Comment lines at the top. */
  header?: string[];
  /** Comment lines above each mirror, by index. */
  notes?: string[][];
}

/** The certificate's text: the service, the default director settings spelt out, the mirrors. */
export function certificateText(options: ComposeOptions): string {
  const d = DEFAULT_DIRECTOR;
  const comment = (indent: string, text: string) => `${indent}# ${printable(text)}`.trimEnd();
  const lines = [
    ...(options.header ?? []).map((l) => comment('', l)),
    `service: ${scalar(options.service)}`,
    'director:',
    withNote(`  policy: ${d.policy}`, 'ranked | ordered | random'),
    withNote(`  stall_timeout: ${d.stallTimeout}s`, 'no byte for this long: leave the mirror, resume elsewhere'),
    withNote(`  connect_timeout: ${d.connectTimeout}s`, 'connect and log in within this'),
    'mirrors:',
  ];
  const names = mirrorNames(options.mirrors.map((m) => m.parsed));
  options.mirrors.forEach((m, i) => {
    for (const note of options.notes?.[i] ?? []) lines.push(comment('  ', note));
    lines.push(`  - url: ${scalar(m.text)}`);
    if (names[i] !== undefined) lines.push(`    name: ${scalar(names[i]!)}`);
  });
  return lines.join('\n') + '\n';
}

/**
 * A service of these mirrors, named from their hosts, with the default director settings: read
 * back through the certificate checks (a CertificateError names `origin` if one failed).
 */
export function onTheFlyCertificate(mirrors: MirrorBase[], origin: string): Certificate {
  const distinct = distinctMirrors(mirrors);
  const service = serviceNameFor(distinct.map((m) => m.parsed));
  return parseCertificate(certificateText({ service, mirrors: distinct }), origin);
}
