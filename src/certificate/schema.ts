// Turns the parsed YAML document into a Certificate, collecting every problem with its place.

import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { BOUNDS } from './bounds.js';
import { Checker, describe, duration, fields, join, mirrorPath, nonEmptyString, offsetOf, placeOf, positiveInteger, type Field } from './checker.js';
import { CREDENTIALS_HINT, hostForName, parseMirrorUrl, type MirrorUrl } from './mirror-url.js';
import type { Problem } from './problems.js';
import { parsePublicKey } from './signing.js';
import { POLICY_NAMES, type Certificate, type DirectorSettings, type MirrorSpec } from './types.js';

export { closestKey, levenshtein } from './checker.js';
export { DEFAULT_FTP_PORT, normalizeBasePath, parseMirrorUrl, type MirrorUrl } from './mirror-url.js';

const TOP_KEYS = ['service', 'ttl', 'membership', 'probe', 'checksums', 'director', 'mirrors', 'signing_key'];
const DIRECTOR_KEYS = ['policy', 'stall_timeout', 'connect_timeout'];
const MIRROR_KEYS = ['url', 'name', 'max_connections', 'user', 'password_env'];

export const DEFAULT_DIRECTOR: Readonly<DirectorSettings> = {
  policy: 'ranked',
  stallTimeout: 10,
  connectTimeout: 10,
};
export const DEFAULT_MAX_CONNECTIONS = 2;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/** `checksums: NAME` or a list of names: files of checksums (SHA256SUMS...) a mirror's directories may hold. */
function checksumFiles(ck: Checker, f: Field): string[] {
  const items: unknown[] = isSeq(f.value) ? f.value.items : [f.value];
  const names: string[] = [];
  for (const item of items) {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v === 'string' && /^[^/\\\0\r\n]+$/.test(v) && v !== '.' && v !== '..') names.push(v);
    else ck.report(offsetOf(item, placeOf(f)), 'checksums', `expected a file name such as SHA256SUMS (looked up in each file's directory), got ${describe(item)}`);
  }
  return names;
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
  const checksumsField = top.get('checksums');
  const checksums = checksumsField && checksumFiles(ck, checksumsField);
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
  if (checksums?.length) certificate.checksumFiles = checksums;
  return { certificate, problems: ck.problems };
}
