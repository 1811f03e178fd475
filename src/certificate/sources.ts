// Bootstrapping (paper 3.2): a certificate can come from a file or from well-known places
// (ftp://, http(s):// URLs), tried in turn. The last good copy is cached beside the state with the
// time it was fetched, so no single host is needed to start: with every source down, the cache
// serves (with a warning). Each kind of place is a small strategy object.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Client } from 'basic-ftp';
import { join } from 'node:path';
import { readSmallFile, type SizeLimit } from '../ftp/read-small-file.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { controlCharacter, maskPasswords, safeForMessage } from '../util/safe-text.js';
import { parseMirrorUrl } from './schema.js';
import { CertificateError, parseCertificate } from './load.js';
import { resolveCredentials } from './credentials.js';
import type { Certificate, MirrorSpec } from './types.js';

/** A certificate is small; anything larger is not one. */
export const MAX_CERT_BYTES = 1024 * 1024;
export const CERT_SIZE_LIMIT: SizeLimit = { bytes: MAX_CERT_BYTES, message: 'larger than a certificate can be' };
/** A detached signature is one short line. */
export const SIGNATURE_SIZE_LIMIT: SizeLimit = { bytes: 4096, message: 'larger than a signature can be' };

export interface CertificateSource {
  /** The file path or URL, for messages (a password in it masked). */
  readonly origin: string;
  /** The certificate's text. */
  read(timeoutMs: number): Promise<string>;
}

export class FileSource implements CertificateSource {
  constructor(readonly origin: string) {}
  async read(): Promise<string> {
    return fsp.readFile(this.origin, 'utf8');
  }
}

export class HttpSource implements CertificateSource {
  readonly origin: string;
  constructor(private readonly url: string) {
    this.origin = maskPasswords(url);
  }
  async read(timeoutMs: number): Promise<string> {
    const response = await fetch(this.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > CERT_SIZE_LIMIT.bytes) throw new Error(CERT_SIZE_LIMIT.message);
    return text;
  }
}

export class FtpSource implements CertificateSource {
  readonly origin: string;
  constructor(private readonly url: string) {
    this.origin = maskPasswords(url);
  }
  async read(timeoutMs: number): Promise<string> {
    const parsed = parseMirrorUrl(this.url);
    if (typeof parsed === 'string') throw new Error(parsed);
    const spec: MirrorSpec = { ...parsed, name: `${parsed.host}:${parsed.port}`, maxConnections: 1 };
    const client = new Client(timeoutMs);
    const timer = setTimeout(() => client.close(), timeoutMs);
    try {
      const { user, password } = await resolveCredentials(spec);
      await client.access({ host: spec.host, port: spec.port, user, password, secure: spec.protocol === 'ftps' });
      // parseMirrorUrl reads the path as a directory; here it names the file.
      return await readSmallFile(client, spec.basePath.replace(/\/$/, ''), CERT_SIZE_LIMIT);
    } finally {
      clearTimeout(timer);
      client.close();
    }
  }
}

/**
 * The source a --cert value names. A URL that can never be read (a control character, a
 * password, a bad host) throws a CertificateError at once: it is the user's to fix, not a source
 * that is down for now and may be skipped for the next one or the cache.
 */
export function sourceFor(spec: string): CertificateSource {
  const isHttp = /^https?:\/\//i.test(spec);
  const isFtp = /^ftps?:\/\//i.test(spec);
  if (isHttp || isFtp) {
    const problem = urlSourceProblem(spec, isFtp);
    if (problem) throw new CertificateError([{ file: safeForMessage(spec), line: 0, column: 0, key: '', message: problem }]);
  }
  if (isHttp) return new HttpSource(spec);
  if (isFtp) return new FtpSource(spec);
  return new FileSource(spec);
}

function urlSourceProblem(spec: string, ftp: boolean): string | undefined {
  const control = controlCharacter(spec);
  if (control) return `the URL contains a control character (${control})`;
  if (ftp) {
    const parsed = parseMirrorUrl(spec);
    return typeof parsed === 'string' ? parsed : undefined;
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return 'not a valid http(s) URL';
  }
  if (url.password) return 'the URL contains a password; passwords are not given on the command line';
  if (url.username) return 'a user name in an http(s) URL is not supported';
  return undefined;
}

interface CacheMeta {
  fetchedAt: string;
  origin: string;
}

/** The cached copy for one list of sources (and, after a membership update, its newer text). */
export class CertificateCache {
  constructor(private readonly dir: string) {}

  private base(specs: string[]): string {
    return join(this.dir, createHash('sha256').update(specs.join('\n')).digest('hex').slice(0, 16));
  }

  async read(specs: string[]): Promise<{ text: string; meta: CacheMeta } | undefined> {
    try {
      const base = this.base(specs);
      const [text, meta] = await Promise.all([fsp.readFile(`${base}.yaml`, 'utf8'), fsp.readFile(`${base}.json`, 'utf8')]);
      return { text, meta: JSON.parse(meta) as CacheMeta };
    } catch {
      return undefined;
    }
  }

  async write(specs: string[], text: string, origin: string, now = Date.now()): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const base = this.base(specs);
    const meta: CacheMeta = { fetchedAt: new Date(now).toISOString(), origin };
    await writeFileAtomic(`${base}.yaml`, text);
    await writeFileAtomic(`${base}.json`, JSON.stringify(meta) + '\n');
  }
}

export interface Bootstrapped {
  cert: Certificate;
  /** Where it came from: a source, or the cache. */
  from: string;
  warnings: string[];
}

export interface BootstrapOptions {
  cache?: CertificateCache;
  timeoutMs?: number;
  now?: number;
}

/**
 * The certificate from the first source that gives a valid one; a fresh cached copy (younger than
 * its ttl) is used without asking the sources; with every source failing, any cached copy.
 * Throws CertificateError naming every source's failure.
 */
export async function bootstrapCertificate(specs: string[], options: BootstrapOptions = {}): Promise<Bootstrapped> {
  const now = options.now ?? Date.now();
  // Every source is checked before any is read: a URL that can never work is a usage error.
  const sources = specs.map(sourceFor);
  const cached = options.cache ? await options.cache.read(specs) : undefined;
  // A cache written before origins were masked may hold a password.
  if (cached) cached.meta.origin = maskPasswords(cached.meta.origin);
  const cachedCert = cached ? tryParse(cached.text, `${cached.meta.origin} (cached ${cached.meta.fetchedAt})`) : undefined;
  // A local file is always read as it is now; only remote sources are spared while the cache is fresh.
  const remoteOnly = sources.every((source) => !(source instanceof FileSource));
  if (remoteOnly && cachedCert?.ttl !== undefined && now - Date.parse(cached!.meta.fetchedAt) < cachedCert.ttl * 1000) {
    return { cert: cachedCert, from: 'cache', warnings: [] };
  }
  const failures: CertificateError[] = [];
  for (const source of sources) {
    let text: string;
    try {
      text = await source.read(options.timeoutMs ?? 10_000);
    } catch (error) {
      failures.push(unreadable(source.origin, error));
      continue;
    }
    try {
      const cert = parseCertificate(text, source.origin);
      await options.cache?.write(specs, text, source.origin, now).catch(() => undefined);
      return { cert, from: source.origin, warnings: [] };
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      failures.push(error);
    }
  }
  if (cachedCert) {
    const reasons = failures.map((f) => f.problems[0]?.message ?? f.message).join('; ');
    return {
      cert: cachedCert,
      from: 'cache',
      warnings: [`no certificate source answered (${reasons}); using the copy cached ${cached!.meta.fetchedAt} from ${cached!.meta.origin}`],
    };
  }
  throw new CertificateError(failures.flatMap((f) => f.problems));
}

function tryParse(text: string, origin: string): Certificate | undefined {
  try {
    return parseCertificate(text, origin);
  } catch {
    return undefined;
  }
}

function unreadable(origin: string, error: unknown): CertificateError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CertificateError([{ file: origin, line: 0, column: 0, key: '', message: `cannot read the certificate: ${reason}` }]);
}
