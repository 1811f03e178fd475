// Ed25519 signatures over a certificate's exact bytes (issue "Trust no mirror"), with node:crypto.
//
// Formats (docs/certificate-signing.md):
// - public key, as the certificate's `signing_key` and as `--key`/`--cert-key`: `ed25519:` and the
//   standard base64 of the raw 32-byte key;
// - private key: a PKCS#8 PEM file ("BEGIN PRIVATE KEY"), mode 0600, never in a certificate;
// - signature: a detached file beside the certificate (`mirrors.yaml.sig`) holding one line,
//   `ed25519:` and the standard base64 of the 64-byte signature.

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const KEY_PREFIX = 'ed25519:';
/** Where a certificate's detached signature lives: the same place, with this appended. */
export const SIGNATURE_SUFFIX = '.sig';
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `ed25519:BASE64` to its raw bytes, or the reason it is not one as a string. */
function decodeTagged(text: string, what: string, bytes: number): Buffer | string {
  const trimmed = text.trim();
  if (!trimmed.toLowerCase().startsWith(KEY_PREFIX)) {
    return `expected ${what} as "${KEY_PREFIX}" followed by base64, got ${JSON.stringify(trimmed.slice(0, 40))}`;
  }
  const body = trimmed.slice(KEY_PREFIX.length);
  const raw = BASE64.test(body) ? Buffer.from(body, 'base64') : undefined;
  if (!raw || raw.length !== bytes) return `${what} must be the base64 of ${bytes} bytes after "${KEY_PREFIX}"`;
  return raw;
}

/** The canonical `ed25519:BASE64` form of a public key line, or the reason it is not one. */
export function parsePublicKey(text: string): { key: string } | { problem: string } {
  const raw = decodeTagged(text, 'an Ed25519 public key', PUBLIC_KEY_BYTES);
  return typeof raw === 'string' ? { problem: raw } : { key: KEY_PREFIX + raw.toString('base64') };
}

function publicKeyObject(key: string): KeyObject {
  const raw = decodeTagged(key, 'an Ed25519 public key', PUBLIC_KEY_BYTES);
  if (typeof raw === 'string') throw new Error(raw);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function publicKeyLine(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return KEY_PREFIX + Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

/** A new key pair: the private key as PKCS#8 PEM, the public one as `ed25519:BASE64`. */
export function generateSigningKey(): { privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: publicKeyLine(publicKey) };
}

/** The private key of a PEM file's text, with its public key line; throws when it is not Ed25519. */
export function readPrivateKey(pem: string): { key: KeyObject; publicKey: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key (the file from `smartftp cert keygen`, not its .pub)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 private key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return { key, publicKey: publicKeyLine(createPublicKey(key)) };
}

/** The signature file's text (one line) for these exact bytes. */
export function signBytes(data: Buffer, privateKey: KeyObject): string {
  return `${KEY_PREFIX}${sign(null, data, privateKey).toString('base64')}\n`;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Whether `signatureText` (a signature file's text) signs exactly `data` with `publicKey`. */
export function verifyBytes(data: Buffer, signatureText: string | undefined, publicKey: string): Verdict {
  if (signatureText === undefined) return { ok: false, reason: 'not signed (no signature found)' };
  const signature = decodeTagged(signatureText, 'an Ed25519 signature', SIGNATURE_BYTES);
  if (typeof signature === 'string') return { ok: false, reason: `malformed signature: ${signature}` };
  let good: boolean;
  try {
    good = verify(null, data, publicKeyObject(publicKey), signature);
  } catch (error) {
    return { ok: false, reason: `cannot check the signature: ${(error as Error).message}` };
  }
  return good ? { ok: true } : { ok: false, reason: `the signature does not match (changed since signing, or not signed by ${publicKey})` };
}

/** The line (1-based) of a top-level key in a certificate's text, or 0 when it is not at the start of a line. */
export function lineOfTopKey(text: string, key: string): number {
  const index = text.split(/\r?\n/).findIndex((line) => line.startsWith(`${key}:`));
  return index + 1;
}
