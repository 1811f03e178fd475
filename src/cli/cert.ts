// `smartftp cert check FILE`.

import { CertificateError, loadCertificateFile } from '../certificate/load.js';
import { maskPasswords, maskPasswordsDeep } from '../util/safe-text.js';
import { EXIT } from './exit-codes.js';

export async function runCertCheck(file: string, options: { json?: boolean }): Promise<number> {
  try {
    const cert = await loadCertificateFile(file);
    // The certificate refuses passwords in URLs; masking again costs nothing.
    if (options.json) process.stdout.write(JSON.stringify(maskPasswordsDeep(cert), null, 2) + '\n');
    else process.stdout.write(maskPasswords(`${file}: ok: service ${cert.service}, ${cert.mirrors.length} mirror(s), policy ${cert.director.policy}`) + '\n');
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    process.stderr.write(error.message + '\n');
    return EXIT.usage;
  }
}
