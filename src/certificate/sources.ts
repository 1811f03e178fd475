// Where a certificate can be read from (paper 3.2): a local file, or a well-known place given by an
// ftp:// or http(s):// URL. Each kind of place is a small strategy object that gives the exact
// bytes and, when asked, the detached signature found at the same place + ".sig" (signing.ts).
// Choosing among them, checking and caching is bootstrap.ts. A URL that can never be read is
// refused when the source is made.

import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'basic-ftp';
import { readSmallFile, type SizeLimit } from '../ftp/read-small-file.js';
import { controlCharacter, maskPasswords, safeForMessage } from '../util/safe-text.js';
import { CertificateError } from './load.js';
import { parseMirrorUrl } from './schema.js';
import { resolveCredentials } from './credentials.js';
import { SIGNATURE_SUFFIX } from './signing.js';
import type { MirrorSpec } from './types.js';

/** A certificate is small; anything larger is not one. */
export const MAX_CERT_BYTES = 1024 * 1024;
export const CERT_SIZE_LIMIT: SizeLimit = { bytes: MAX_CERT_BYTES, message: 'larger than a certificate can be' };
/** A detached signature is one short line. */
export const SIGNATURE_SIZE_LIMIT: SizeLimit = { bytes: 4096, message: 'larger than a signature can be' };
/** Redirects followed (to the same origin only) before giving up. */
export const MAX_REDIRECTS = 5;

export interface Fetched {
  /** The certificate file's exact bytes. */
  bytes: Buffer;
  /** The text of its detached signature, when asked for and found. */
  signature?: string;
}

// For the importers of earlier days, when the choosing lived here.
export { bootstrapCertificate } from './bootstrap.js';

export interface CertificateSource {
  /** The file path or URL, for messages (a password in it masked). */
  readonly origin: string;
  /** A file on this machine: trusted as it is, never replaced by a cached copy. */
  readonly local: boolean;
  /** The certificate, and its signature when `withSignature` (a missing one is not an error). */
  read(timeoutMs: number, withSignature: boolean): Promise<Fetched>;
}

export class FileSource implements CertificateSource {
  readonly local = true;
  constructor(readonly origin: string) {}
  async read(_timeoutMs: number, withSignature: boolean): Promise<Fetched> {
    const bytes = await fsp.readFile(this.origin);
    if (!withSignature) return { bytes };
    const signature = await fsp.readFile(this.origin + SIGNATURE_SUFFIX, 'utf8').catch(() => undefined);
    return { bytes, signature };
  }
}

export class HttpSource implements CertificateSource {
  readonly local = false;
  readonly origin: string;
  constructor(private readonly url: string) {
    this.origin = maskPasswords(url);
  }

  async read(timeoutMs: number, withSignature: boolean): Promise<Fetched> {
    const signal = AbortSignal.timeout(timeoutMs);
    const bytes = await this.get(this.url, signal, CERT_SIZE_LIMIT);
    if (!withSignature) return { bytes };
    const url = new URL(this.url);
    url.pathname += SIGNATURE_SUFFIX;
    const signature = await this.get(url.href, signal, SIGNATURE_SIZE_LIMIT).then(
      (b) => b.toString('utf8'),
      () => undefined,
    );
    return { bytes, signature };
  }

  /** The body at `url`, following redirects only within the origin (scheme, host and port) it was given. */
  private async get(url: string, signal: AbortSignal, limit: SizeLimit): Promise<Buffer> {
    const origin = new URL(this.url).origin;
    let current = url;
    for (let hops = 0; ; hops++) {
      const response = await fetch(current, { signal, redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        const next = new URL(location, current);
        if (next.origin !== origin) throw new Error(`redirected to ${next.origin}; redirects are followed within ${origin} only`);
        if (hops >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
        current = next.href;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      return readLimited(response, limit);
    }
  }
}

async function readLimited(response: Response, limit: SizeLimit): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > limit.bytes) throw new Error(limit.message);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export class FtpSource implements CertificateSource {
  readonly local = false;
  readonly origin: string;
  constructor(private readonly url: string) {
    this.origin = maskPasswords(url);
  }
  async read(timeoutMs: number, withSignature: boolean): Promise<Fetched> {
    const parsed = parseMirrorUrl(this.url);
    if (typeof parsed === 'string') throw new Error(parsed);
    const spec: MirrorSpec = { ...parsed, name: `${parsed.host}:${parsed.port}`, maxConnections: 1 };
    const client = new Client(timeoutMs);
    const timer = setTimeout(() => client.close(), timeoutMs);
    try {
      const { user, password } = await resolveCredentials(spec);
      await client.access({ host: spec.host, port: spec.port, user, password, secure: spec.protocol === 'ftps' });
      // parseMirrorUrl reads the path as a directory; here it names the file. The text is UTF-8,
      // so encoding it again gives the bytes as served (a certificate that is not UTF-8 cannot verify).
      const path = spec.basePath.replace(/\/$/, '');
      const bytes = Buffer.from(await readSmallFile(client, path, CERT_SIZE_LIMIT), 'utf8');
      if (!withSignature) return { bytes };
      const signature = await readSmallFile(client, path + SIGNATURE_SUFFIX, SIGNATURE_SIZE_LIMIT).catch(() => undefined);
      return { bytes, signature };
    } finally {
      clearTimeout(timer);
      client.close();
    }
  }
}

/** Whether a --cert value names a URL (http, https, ftp, ftps) rather than a local file. */
export function isUrlSource(spec: string): boolean {
  return /^(?:https?|ftps?):\/\//i.test(spec);
}

/**
 * What a --cert value stands for wherever it is given: the absolute path of a file (a relative one
 * names another file in another directory), a URL as it is. The certificate cache is keyed by these.
 */
export function absoluteSource(spec: string): string {
  return isUrlSource(spec) ? spec : resolve(spec);
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
