// Turns the parsed YAML document into a Certificate, collecting every problem with its place.

import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type YAMLMap } from 'yaml';
import { remoteNameProblem } from '../client/remote-name.js';
import { controlCharacter } from '../util/safe-text.js';
import { aboveBound, BOUNDS, type Bound } from './bounds.js';
import { DURATION_EXPECTED, parseDuration } from './duration.js';
import type { Problem } from './problems.js';
import { parsePublicKey } from './signing.js';
import { POLICY_NAMES, type Certificate, type DirectorSettings, type MirrorSpec } from './types.js';

const TOP_KEYS = ['service', 'ttl', 'membership', 'probe', 'director', 'mirrors', 'signing_key'];
const DIRECTOR_KEYS = ['policy', 'stall_timeout', 'connect_timeout'];
const MIRROR_KEYS = ['url', 'name', 'max_connections', 'user', 'password_env'];

export const DEFAULT_DIRECTOR: Readonly<DirectorSettings> = {
  policy: 'ranked',
  stallTimeout: 10,
  connectTimeout: 10,
};
export const DEFAULT_MAX_CONNECTIONS = 2;
export const DEFAULT_FTP_PORT = 21;

const CREDENTIALS_HINT =
  'passwords never go in the certificate: name an environment variable with password_env, or use ~/.netrc';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A key's value and where the key is, for problems about a value that has no place of its own. */
interface Field {
  keyAt: number;
  value: unknown;
}

class Checker {
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

function offsetOf(node: unknown, fallback: number): number {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range?.[0] ?? fallback;
}

/** Where to point for a value: the value itself, or its key when the value was left empty. */
function placeOf(f: Field): number {
  return isScalar(f.value) && f.value.value === null ? f.keyAt : offsetOf(f.value, f.keyAt);
}

function describe(value: unknown): string {
  if (isMap(value)) return 'a mapping';
  if (isSeq(value)) return 'a list';
  const v = isScalar(value) ? value.value : value;
  if (v === null || v === undefined) return 'nothing';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function join(path: string, key: string): string {
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
function fields(
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

function nonEmptyString(ck: Checker, f: Field, key: string): string | undefined {
  const v = f.value;
  if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '') return v.value;
  ck.report(placeOf(f), key, `expected a non-empty string, got ${describe(v)}`);
  return undefined;
}

/** A path on each mirror (membership, probe): the same rules as a name given to `get`. */
function mirrorPath(ck: Checker, f: Field, key: string): string | undefined {
  const path = nonEmptyString(ck, f, key);
  const problem = path === undefined ? undefined : remoteNameProblem(path);
  if (problem) ck.report(placeOf(f), key, `not a usable path on a mirror: ${problem}`);
  return problem ? undefined : path;
}

/** Reports a value above its bound; true when the value is within. */
function withinBound(ck: Checker, f: Field, key: string, value: number, bound: Bound): boolean {
  const problem = aboveBound(value, bound);
  if (problem) ck.report(placeOf(f), key, `${problem}, got ${describe(f.value)}`);
  return !problem;
}

function positiveInteger(ck: Checker, f: Field, key: string, bound: Bound): number | undefined {
  const v = isScalar(f.value) ? f.value.value : undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return withinBound(ck, f, key, v, bound) ? v : undefined;
  ck.report(placeOf(f), key, `expected an integer >= 1, got ${describe(f.value)}`);
  return undefined;
}

function duration(ck: Checker, f: Field, key: string, bound: Bound): number | undefined {
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

function directorSettings(ck: Checker, f: Field): DirectorSettings | undefined {
  if (!isMap(f.value)) {
    ck.report(placeOf(f), 'director', `expected a mapping, got ${describe(f.value)}`);
    return undefined;
  }
  const before = ck.problems.length;
  const d = fields(ck, f.value, 'director', DIRECTOR_KEYS);
  const settings: DirectorSettings = { ...DEFAULT_DIRECTOR };
  const policy = d.get('policy');
  if (policy) {
    const v = isScalar(policy.value) ? policy.value.value : undefined;
    const found = POLICY_NAMES.find((name) => name === v);
    if (found) settings.policy = found;
    else {
      const message = `unknown policy ${describe(policy.value)}; expected one of ${POLICY_NAMES.join(', ')}`;
      ck.report(placeOf(policy), 'director.policy', message);
    }
  }
  const stall = d.get('stall_timeout');
  if (stall) settings.stallTimeout = duration(ck, stall, 'director.stall_timeout', BOUNDS.stall_timeout) ?? 0;
  const connect = d.get('connect_timeout');
  if (connect) settings.connectTimeout = duration(ck, connect, 'director.connect_timeout', BOUNDS.connect_timeout) ?? 0;
  return ck.problems.length === before ? settings : undefined;
}

export interface MirrorUrl {
  /** The URL as written, with any user name taken out. */
  url: string;
  protocol: 'ftp' | 'ftps';
  host: string;
  port: number;
  basePath: string;
  user?: string;
}

/** Reads an ftp:// or ftps:// URL; gives the reason as a string when it is not one. */
export function parseMirrorUrl(text: string): MirrorUrl | string {
  // CR/LF would end an FTP command early and start another; no control character is ever meant.
  const control = controlCharacter(text);
  if (control) return `the URL contains a control character (${control})`;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(text);
  const [, scheme = '', authority = '', path = ''] = m ?? [];
  // No URL syntax says where a password ends: everything up to the last "@" is withheld.
  if (!m) return `not a URL: ${JSON.stringify(text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/*)?.*@/s, '$1***@'))}; expected ftp://host[:port]/path`;
  const protocol = scheme.toLowerCase();
  if (protocol !== 'ftp' && protocol !== 'ftps') {
    return `unsupported scheme '${scheme}://'; expected ftp:// or ftps://`;
  }
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = authority.slice(at + 1);
  if (userinfo !== undefined && userinfo.includes(':')) return `the URL contains a password; ${CREDENTIALS_HINT}`;
  if (userinfo === '') return 'empty user name before "@" in the URL';
  let user: string | undefined;
  try {
    user = userinfo === undefined ? undefined : decodeURIComponent(userinfo);
  } catch {
    return 'bad percent-encoding in the user name';
  }
  const userControl = user === undefined ? undefined : controlCharacter(user);
  if (userControl) return `the user name contains an encoded control character (${userControl})`;

  const hp = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(.*))?$/s.exec(hostPort);
  if (!hp) return `invalid host ${JSON.stringify(hostPort)}`;
  const [, ipv6, name, portText] = hp;
  let host: string;
  if (ipv6 !== undefined) {
    if (!isIPv6(ipv6)) return `invalid IPv6 address '${ipv6}'`;
    host = ipv6.toLowerCase();
  } else {
    if (!name) return 'missing host; expected ftp://host[:port]/path';
    // Plain ASCII names are kept as written (lower-cased); others go through IDNA.
    const ascii = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name) ? name.toLowerCase() : domainToASCII(name);
    if (!ascii) return `invalid host '${name}'`;
    host = ascii;
  }
  let port = DEFAULT_FTP_PORT;
  if (portText) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) return `invalid port '${portText}'; expected 1-65535`;
  }

  if (/[?#]/.test(path)) return 'a query or fragment ("?", "#") is not allowed; percent-encode them in a path';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'bad percent-encoding in the path';
  }
  const pathControl = controlCharacter(decoded);
  if (pathControl) return `the path contains an encoded control character (${pathControl})`;
  const result: MirrorUrl = {
    url: `${scheme}://${hostPort}${path}`,
    protocol,
    host,
    port,
    basePath: normalizeBasePath(decoded),
  };
  if (user !== undefined) result.user = user;
  return result;
}

/** "/pub" and "pub//x/" become "/pub/" and "/pub/x/"; "." and ".." are resolved. */
export function normalizeBasePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.length ? `/${parts.join('/')}/` : '/';
}

function hostForName(url: MirrorUrl): string {
  return `${url.host.includes(':') ? `[${url.host}]` : url.host}:${url.port}`;
}

interface MirrorResult {
  spec?: MirrorSpec;
  /** The name (given or default) and where to point if it repeats. */
  name?: string;
  nameAt: number;
  nameKey: string;
  named: boolean;
}

function mirror(ck: Checker, item: unknown, path: string, fallbackAt: number): MirrorResult {
  const itemAt = offsetOf(item, fallbackAt);
  const before = ck.problems.length;
  let url: MirrorUrl | undefined;
  const spec: Partial<MirrorSpec> = { maxConnections: DEFAULT_MAX_CONNECTIONS };
  const result: MirrorResult = { nameAt: itemAt, nameKey: path, named: false };

  if (isScalar(item) && typeof item.value === 'string') {
    const parsed = parseMirrorUrl(item.value);
    if (typeof parsed === 'string') ck.report(itemAt, path, parsed);
    else url = parsed;
  } else if (isMap(item)) {
    const hint = (k: string): string | undefined => (/pass/i.test(k) ? CREDENTIALS_HINT : undefined);
    const f = fields(ck, item, path, MIRROR_KEYS, hint);
    const urlField = f.get('url');
    if (!urlField) ck.report(itemAt, `${path}.url`, "missing required key 'url'");
    else if (isScalar(urlField.value) && typeof urlField.value.value === 'string') {
      const parsed = parseMirrorUrl(urlField.value.value);
      if (typeof parsed === 'string') ck.report(placeOf(urlField), `${path}.url`, parsed);
      else url = parsed;
    } else {
      const got = describe(urlField.value);
      ck.report(placeOf(urlField), `${path}.url`, `expected an ftp:// or ftps:// URL string, got ${got}`);
    }
    const name = f.get('name');
    if (name) {
      result.name = nonEmptyString(ck, name, `${path}.name`);
      result.nameAt = placeOf(name);
      result.nameKey = `${path}.name`;
      result.named = true;
    }
    const max = f.get('max_connections');
    if (max) spec.maxConnections = positiveInteger(ck, max, `${path}.max_connections`, BOUNDS.max_connections);
    const user = f.get('user');
    if (user) {
      spec.user = nonEmptyString(ck, user, `${path}.user`);
      if (spec.user !== undefined && url?.user !== undefined && url.user !== spec.user) {
        const message = `user '${spec.user}' differs from the user in the url ('${url.user}'); give it once`;
        ck.report(placeOf(user), `${path}.user`, message);
      }
    }
    const env = f.get('password_env');
    if (env) {
      const v = isScalar(env.value) ? env.value.value : undefined;
      if (typeof v === 'string' && ENV_NAME.test(v)) spec.passwordEnv = v;
      else {
        const message = `expected the name of an environment variable (letters, digits, _), got ${describe(env.value)}`;
        ck.report(placeOf(env), `${path}.password_env`, message);
      }
    }
  } else {
    ck.report(itemAt, path, `expected a mapping or an ftp:// URL string, got ${describe(item)}`);
  }

  if (url && !result.named) result.name = hostForName(url);
  if (!url || ck.problems.length !== before || result.name === undefined) return result;
  const { url: text, protocol, host, port, basePath } = url;
  const user = spec.user ?? url.user;
  result.spec = {
    name: result.name,
    url: text,
    protocol,
    host,
    port,
    basePath,
    maxConnections: spec.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ...(user !== undefined ? { user } : {}),
    ...(spec.passwordEnv !== undefined ? { passwordEnv: spec.passwordEnv } : {}),
  };
  return result;
}

function mirrors(ck: Checker, f: Field): MirrorSpec[] | undefined {
  if (!isSeq(f.value)) {
    ck.report(placeOf(f), 'mirrors', `expected a list of mirrors, got ${describe(f.value)}`);
    return undefined;
  }
  if (f.value.items.length === 0) {
    ck.report(placeOf(f), 'mirrors', 'the mirror list is empty; give at least one mirror');
    return undefined;
  }
  const specs: MirrorSpec[] = [];
  const seen = new Map<string, string>();
  const listAt = placeOf(f);
  f.value.items.forEach((raw, i) => {
    const path = `mirrors[${i}]`;
    const r = mirror(ck, ck.deref(raw), path, listAt);
    if (r.spec) specs.push(r.spec);
    if (r.name === undefined) return;
    const first = seen.get(r.name);
    if (first === undefined) {
      seen.set(r.name, path);
      return;
    }
    const why = r.named ? '' : '; mirrors on the same host and port need a name';
    ck.report(r.nameAt, r.nameKey, `duplicate mirror name '${r.name}' (also ${first})${why}`);
  });
  return specs;
}

const MEMBERSHIP_KEYS = ['path', 'unsigned'];

/** `membership: PATH`, or `membership: { path: PATH, unsigned: ok }` to adopt unsigned updates. */
function membershipSettings(ck: Checker, f: Field): { path?: string; unsignedOk: boolean } {
  if (!isMap(f.value)) return { path: mirrorPath(ck, f, 'membership'), unsignedOk: false };
  const m = fields(ck, f.value, 'membership', MEMBERSHIP_KEYS);
  const pathField = m.get('path');
  if (!pathField) ck.report(placeOf(f), 'membership.path', "missing required key 'path'");
  const path = pathField && mirrorPath(ck, pathField, 'membership.path');
  const unsigned = m.get('unsigned');
  const value = unsigned && isScalar(unsigned.value) ? unsigned.value.value : undefined;
  if (unsigned && value !== 'ok') {
    const message = `expected 'ok' (adopt membership updates that are not signed), got ${describe(unsigned.value)}; leave the key out to require signatures`;
    ck.report(placeOf(unsigned), 'membership.unsigned', message);
  }
  return { path, unsignedOk: value === 'ok' };
}

/** `signing_key: ed25519:BASE64`: the key that signs this service's certificates (certificate/signing.ts). */
function signingKeySetting(ck: Checker, f: Field): string | undefined {
  const text = nonEmptyString(ck, f, 'signing_key');
  if (text === undefined) return undefined;
  const parsed = parsePublicKey(text);
  if ('key' in parsed) return parsed.key;
  ck.report(placeOf(f), 'signing_key', `${parsed.problem}; a private key never goes in the certificate`);
  return undefined;
}

/** Checks the document; the certificate is given only when there is no problem. */
export function checkCertificate(
  doc: Document,
  lines: LineCounter,
  origin: string,
): { certificate?: Certificate; problems: Problem[] } {
  const ck = new Checker(origin, lines, doc);
  const root = ck.deref(doc.contents);
  if (!isMap(root)) {
    const empty = root === null || root === undefined || (isScalar(root) && root.value === null);
    const message = empty
      ? 'the certificate is empty; expected a mapping with service and mirrors'
      : `expected a mapping at the top level, got ${describe(root)}`;
    ck.report(empty ? 0 : offsetOf(root, 0), '', message);
    return { problems: ck.problems };
  }
  const rootAt = offsetOf(root, 0);
  const top = fields(ck, root, '', TOP_KEYS);

  const serviceField = top.get('service');
  if (!serviceField) ck.report(rootAt, 'service', "missing required key 'service'");
  const service = serviceField && nonEmptyString(ck, serviceField, 'service');

  const ttlField = top.get('ttl');
  const ttl = ttlField && duration(ck, ttlField, 'ttl', BOUNDS.ttl);
  const membershipField = top.get('membership');
  const membership = membershipField && membershipSettings(ck, membershipField);
  const signingKeyField = top.get('signing_key');
  const signingKey = signingKeyField && signingKeySetting(ck, signingKeyField);
  const probeField = top.get('probe');
  const probePath = probeField && mirrorPath(ck, probeField, 'probe');
  const directorField = top.get('director');
  const director = directorField ? directorSettings(ck, directorField) : { ...DEFAULT_DIRECTOR };

  const mirrorsField = top.get('mirrors');
  if (!mirrorsField) ck.report(rootAt, 'mirrors', "missing required key 'mirrors'");
  const list = mirrorsField && mirrors(ck, mirrorsField);

  if (ck.problems.length || service === undefined || !director || !list) return { problems: ck.problems };
  const certificate: Certificate = { service, mirrors: list, director, origin };
  if (ttl !== undefined) certificate.ttl = ttl;
  if (membership?.path !== undefined) certificate.membershipPath = membership.path;
  if (membership?.unsignedOk) certificate.membershipUnsignedOk = true;
  if (signingKey !== undefined) certificate.signingKey = signingKey;
  if (probePath !== undefined) certificate.probePath = probePath;
  return { certificate, problems: ck.problems };
}
