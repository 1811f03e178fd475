// Finds and loads the certificate for a command: from the --cert sources in turn, or the cache;
// a bad one is reported with file, line and key.

import { join } from 'node:path';
import { CertificateError } from '../certificate/load.js';
import { bootstrapCertificate, CertificateCache } from '../certificate/sources.js';
import type { Certificate } from '../certificate/types.js';
import { defaultStateDir } from '../director/state.js';
import type { Reporter } from '../ui/reporter.js';

export interface CertOptions {
  /** Files or URLs, tried in turn. */
  cert?: string[];
  stateDir?: string;
}

export const DEFAULT_CERT = 'mirrors.yaml';

export function certSources(options: CertOptions): string[] {
  if (options.cert && options.cert.length > 0) return options.cert;
  return [process.env.SMARTFTP_CERT ?? DEFAULT_CERT];
}

export function certCache(options: CertOptions): CertificateCache {
  return new CertificateCache(join(options.stateDir ?? defaultStateDir(), 'certs'));
}

/** The certificate, or undefined after reporting why not. */
export async function loadCertificateForCli(options: CertOptions, reporter: Reporter): Promise<Certificate | undefined> {
  try {
    const { cert, warnings } = await bootstrapCertificate(certSources(options), { cache: certCache(options) });
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
