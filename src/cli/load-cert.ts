// Finds and loads the certificate for a command; a bad one is reported with file, line and key.

import { CertificateError, loadCertificateFile } from '../certificate/load.js';
import type { Certificate } from '../certificate/types.js';
import type { Reporter } from '../ui/reporter.js';

export interface CertOptions {
  cert?: string;
}

export const DEFAULT_CERT = 'mirrors.yaml';

export function certPath(options: CertOptions): string {
  return options.cert ?? process.env.SMARTFTP_CERT ?? DEFAULT_CERT;
}

/** The certificate, or undefined after reporting why not. */
export async function loadCertificateForCli(options: CertOptions, reporter: Reporter): Promise<Certificate | undefined> {
  try {
    return await loadCertificateFile(certPath(options));
  } catch (error) {
    if (error instanceof CertificateError) {
      reporter.note(error.message);
      return undefined;
    }
    throw error;
  }
}
