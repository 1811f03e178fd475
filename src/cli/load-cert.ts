// Finds and loads the certificate for a command: from the --cert sources in turn, or the cache;
// a bad one is reported with file, line and key. A fetched one must be signed by the key given
// with --cert-key ($SMARTFTP_CERT_KEY), or else by the one pinned in the cache (bootstrap.ts).
// --mirror URLs make a service on the fly instead (certificate/compose.ts).

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapCertificate } from '../certificate/bootstrap.js';
import { CertificateCache } from '../certificate/cache.js';
import { commandLineMirror, onTheFlyCertificate, type MirrorBase } from '../certificate/compose.js';
import { CertificateError } from '../certificate/load.js';
import { KEY_PREFIX, parsePublicKey } from '../certificate/signing.js';
import type { Certificate } from '../certificate/types.js';
import { defaultStateDir } from '../director/state.js';
import type { Reporter } from '../ui/reporter.js';
import { localReason } from '../util/local-error-text.js';
import { maskPasswords } from '../util/safe-text.js';

export interface CertOptions {
  /** Files or URLs, tried in turn. */
  cert?: string[];
  /** Mirror base URLs (--mirror, repeatable): a service built from them, instead of a certificate. */
  mirror?: string[];
  /** `ed25519:BASE64`, or a file holding it: the key fetched certificates must be signed by. */
  certKey?: string;
  stateDir?: string;
}

export const DEFAULT_CERT = 'mirrors.yaml';

/** --cert, else $SMARTFTP_CERT, else ./mirrors.yaml when there is one; none at all is []. */
export function certSources(options: CertOptions): string[] {
  if (options.cert && options.cert.length > 0) return options.cert;
  if (process.env.SMARTFTP_CERT) return [process.env.SMARTFTP_CERT];
  return existsSync(DEFAULT_CERT) ? [DEFAULT_CERT] : [];
}

/** What to say when no certificate is named anywhere. */
export function noCertificateNote(): string[] {
  return [
    `smartftp: no certificate: no --cert, no $SMARTFTP_CERT, and no ${DEFAULT_CERT} in ${process.cwd()}`,
    `  name one with --cert FILE|URL; or give mirrors with --mirror ftp://host/dir (repeatable), or a file's full ftp:// URL to get;`,
    `  or write a ${DEFAULT_CERT} from mirror URLs with \`smartftp cert init ftp://host/dir...\``,
  ];
}

export function certCache(options: CertOptions): CertificateCache {
  return new CertificateCache(join(options.stateDir ?? defaultStateDir(), 'certs'));
}

/**
 * A public key given on the command line: the `ed25519:BASE64` line itself, or a file holding it
 * (e.g. KEYFILE.pub from `cert keygen`, or a line `signing_key: ed25519:...`). Throws Error.
 */
export async function readPublicKeyArg(value: string): Promise<string> {
  let text = value;
  if (!value.trim().toLowerCase().startsWith(KEY_PREFIX)) {
    try {
      text = await readFile(value, 'utf8');
    } catch (error) {
      throw new Error(`${value}: neither an ed25519:BASE64 key nor a readable file (${localReason(error, value, 'read')})`);
    }
    text = text.replace(/^\s*signing_key\s*:\s*/, '').replace(/^["']|["']\s*$/g, '');
  }
  const parsed = parsePublicKey(text);
  if ('problem' in parsed) throw new Error(`${value}: ${parsed.problem}`);
  return parsed.key;
}

/** The service of the --mirror URLs, or undefined after reporting why not. */
function mirrorsCertificate(urls: string[], options: CertOptions, reporter: Reporter): Certificate | undefined {
  if (options.cert && options.cert.length > 0) {
    reporter.note('smartftp: --mirror builds a service from mirror URLs and --cert names one: give one or the other');
    return undefined;
  }
  const bases: MirrorBase[] = [];
  for (const url of urls) {
    const base = commandLineMirror(url);
    if (typeof base === 'string') reporter.note(`smartftp: --mirror ${maskPasswords(url)}: ${base}`);
    else bases.push(base);
  }
  if (bases.length !== urls.length) return undefined;
  try {
    return onTheFlyCertificate(bases, '--mirror');
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    reporter.note(error.message);
    return undefined;
  }
}

/** The certificate, or undefined after reporting why not. */
export async function loadCertificateForCli(options: CertOptions, reporter: Reporter): Promise<Certificate | undefined> {
  if (options.mirror && options.mirror.length > 0) return mirrorsCertificate(options.mirror, options, reporter);
  const sources = certSources(options);
  if (sources.length === 0) {
    for (const line of noCertificateNote()) reporter.note(line);
    return undefined;
  }
  const keyArg = options.certKey ?? process.env.SMARTFTP_CERT_KEY;
  let trustedKey: string | undefined;
  try {
    trustedKey = keyArg ? await readPublicKeyArg(keyArg) : undefined;
  } catch (error) {
    reporter.note(`--cert-key ${(error as Error).message}`);
    return undefined;
  }
  try {
    const { cert, warnings } = await bootstrapCertificate(sources, { cache: certCache(options), trustedKey });
    for (const message of warnings) reporter.event({ type: 'warning', message });
    return cert;
  } catch (error) {
    if (error instanceof CertificateError) {
      reporter.note(error.message);
      return undefined;
    }
    throw error;
  }
}
