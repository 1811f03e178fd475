// `smartftp cert keygen | sign | verify`: Ed25519 keys and detached signatures for certificates
// (certificate/signing.ts; docs/certificate-signing.md). A certificate problem is exit 2, with the
// file, line and key; a file that cannot be written here is exit 3.

import { promises as fsp } from 'node:fs';
import { CertificateError, formatProblem, parseCertificate, type Problem } from '../certificate/load.js';
import { generateSigningKey, lineOfTopKey, readPrivateKey, SIGNATURE_SUFFIX, signBytes, verifyBytes } from '../certificate/signing.js';
import type { Certificate } from '../certificate/types.js';
import { errnoCode, isMachineFault, localReason, type Access } from '../util/local-error-text.js';
import { EXIT } from './exit-codes.js';
import { DEFAULT_KEY_FILE } from './key-file.js';
import { readPublicKeyArg } from './load-cert.js';


/** A message for the user and the exit code that goes with it. */
class Stop extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
  }
}

async function run(body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CertificateError) process.stderr.write(error.message + '\n');
    else if (error instanceof Stop) process.stderr.write(error.message + '\n');
    else throw error;
    return error instanceof Stop ? error.code : EXIT.usage;
  }
}

/** Why a local file could not be used: an OS error in words (local-error-text.ts), else the error's message. */
function reason(error: unknown, path: string, access: Access): string {
  if (errnoCode(error)) return localReason(error, path, access);
  return error instanceof Error ? error.message : String(error);
}

/** A file that cannot be written: exit 3 when this machine refuses, 2 when the name is wrong. */
function cannotWrite(out: string, error: unknown): Stop {
  return new Stop(`cannot write ${out}: ${reason(error, out, 'write')}`, isMachineFault(error) ? EXIT.local : EXIT.usage);
}

/** The file's exact bytes and the certificate they hold (CertificateError when it is not a valid one). */
async function readCertificate(file: string): Promise<{ bytes: Buffer; cert: Certificate }> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (error) {
    throw new Stop(`${file}: cannot read the certificate: ${reason(error, file, 'read')}`, isMachineFault(error) ? EXIT.local : EXIT.usage);
  }
  return { bytes, cert: parseCertificate(bytes.toString('utf8'), file) };
}

/** A problem about the certificate's signing_key, at its line when it is written at the start of one. */
function keyProblem(file: string, bytes: Buffer, message: string): Stop {
  const line = lineOfTopKey(bytes.toString('utf8'), 'signing_key');
  const p: Problem = { file, line, column: line > 0 ? 1 : 0, key: 'signing_key', message };
  return new Stop(formatProblem(p));
}

export async function runCertKeygen(options: { out?: string; force?: boolean }): Promise<number> {
  return run(async () => {
    const out = options.out ?? DEFAULT_KEY_FILE;
    const { privatePem, publicKey } = generateSigningKey();
    try {
      if (options.force) await fsp.rm(out, { force: true });
      // 'wx': never over an existing key by accident; the mode is set as the file is made.
      await fsp.writeFile(out, privatePem, { mode: 0o600, flag: 'wx' });
      await fsp.chmod(out, 0o600);
      await fsp.writeFile(`${out}.pub`, `${publicKey}\n`, { mode: 0o644 });
    } catch (error) {
      const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
      if (exists) throw new Stop(`${out} exists; keep it, or give --force to replace it (its signatures will no longer verify)`);
      throw cannotWrite(out, error);
    }
    process.stdout.write(`signing_key: ${publicKey}\n`);
    process.stderr.write(
      `private key written to ${out} (mode 0600): keep it secret and off the mirrors; the public key is also in ${out}.pub.\n` +
        'Paste the line above into the certificate, then sign it: smartftp cert sign --key ' +
        `${out} mirrors.yaml\n`,
    );
  });
}

export async function runCertSign(file: string, options: { key: string; out?: string }): Promise<number> {
  return run(async () => {
    let signer: ReturnType<typeof readPrivateKey>;
    try {
      signer = readPrivateKey(await fsp.readFile(options.key, 'utf8'));
    } catch (error) {
      throw new Stop(`${options.key}: cannot use it as a signing key: ${reason(error, options.key, 'read')}`);
    }
    const { bytes, cert } = await readCertificate(file);
    if (cert.signingKey !== undefined && cert.signingKey !== signer.publicKey) {
      const message = `the certificate names ${cert.signingKey}, but ${options.key} is the private key of ${signer.publicKey}; a signature by it would not verify`;
      throw keyProblem(file, bytes, message);
    }
    if (cert.signingKey === undefined) {
      process.stderr.write(
        `${file}: note: it names no signing_key; clients take updates signed by the key of their own certificate, or fetched copies signed by the key given with --cert-key\n`,
      );
    }
    const out = options.out ?? file + SIGNATURE_SUFFIX;
    try {
      await fsp.writeFile(out, signBytes(bytes, signer.key));
    } catch (error) {
      throw cannotWrite(out, error);
    }
    process.stdout.write(`${out}: signed ${file} (${bytes.length} bytes) with ${signer.publicKey}\n`);
  });
}

export async function runCertVerify(file: string, options: { key?: string; sig?: string }): Promise<number> {
  return run(async () => {
    const { bytes, cert } = await readCertificate(file);
    let key = cert.signingKey;
    if (options.key !== undefined) {
      try {
        key = await readPublicKeyArg(options.key);
      } catch (error) {
        throw new Stop(`--key ${(error as Error).message}`);
      }
    }
    if (key === undefined) throw keyProblem(file, bytes, 'no key to verify with: the certificate names no signing_key; give --key');
    const sigFile = options.sig ?? file + SIGNATURE_SUFFIX;
    let signature: string;
    try {
      signature = await fsp.readFile(sigFile, 'utf8');
    } catch (error) {
      throw new Stop(`${sigFile}: cannot read the signature: ${reason(error, sigFile, 'read')}`);
    }
    const verdict = verifyBytes(bytes, signature, key);
    if (!verdict.ok) {
      const message = `${verdict.reason} (signature ${sigFile})`;
      if (options.key === undefined) throw keyProblem(file, bytes, message);
      throw new Stop(`${file}: ${message}`);
    }
    process.stdout.write(`${file}: ok: ${sigFile} is a good signature by ${key}\n`);
  });
}
