// Certificate signing (certificate/signing.ts) and the certificate keys that go with it:
// `signing_key` and `membership: { path, unsigned: ok }`; and the anonymous-only login of a
// mirror that only a membership update named.

import { describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/certificate/credentials.js';
import { parseCertificate } from '../../src/certificate/load.js';
import {
  generateSigningKey,
  lineOfTopKey,
  parsePublicKey,
  readPrivateKey,
  signBytes,
  verifyBytes,
} from '../../src/certificate/signing.js';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { FILE, problemsOf } from '../helpers/cert-problems.js';

const MIRRORS = 'mirrors:\n  - url: ftp://127.0.0.1:2121/pub\n    name: a\n';

describe('keys and signatures', () => {
  const { privatePem, publicKey } = generateSigningKey();
  const { key } = readPrivateKey(privatePem);
  const data = Buffer.from(`service: s\nsigning_key: ${publicKey}\n${MIRRORS}`);

  it('a key pair: PKCS#8 PEM private key, "ed25519:" + base64 of the raw 32-byte public key', () => {
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect(readPrivateKey(privatePem).publicKey).toBe(publicKey);
    expect(parsePublicKey(`  ${publicKey}\n`)).toEqual({ key: publicKey });
  });

  it('a signature is one line, and verifies the exact bytes only', () => {
    const sig = signBytes(data, key);
    expect(sig).toMatch(/^ed25519:[A-Za-z0-9+/]{86}==\n$/);
    expect(verifyBytes(data, sig, publicKey)).toEqual({ ok: true });
    const changed = Buffer.from(data);
    changed[5] = changed[5]! ^ 1; // one bit of one byte
    expect(verifyBytes(changed, sig, publicKey)).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
    expect(verifyBytes(Buffer.concat([data, Buffer.from('\n')]), sig, publicKey).ok).toBe(false);
  });

  it('another key, no signature or a malformed one: not ok, with the reason', () => {
    const other = generateSigningKey();
    const sig = signBytes(data, readPrivateKey(other.privatePem).key);
    expect(verifyBytes(data, sig, publicKey)).toMatchObject({ ok: false, reason: expect.stringContaining(publicKey) });
    expect(verifyBytes(data, undefined, publicKey)).toEqual({ ok: false, reason: 'not signed (no signature found)' });
    expect(verifyBytes(data, 'ed25519:AAAA', publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^malformed signature/) });
    expect(verifyBytes(data, '<html>Not found</html>', publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^malformed/) });
  });

  it('a private key of another type is refused', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => readPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())).toThrow(/not an Ed25519 private key/);
  });

  it('finds the line of a top-level key', () => {
    expect(lineOfTopKey(data.toString(), 'signing_key')).toBe(2);
    expect(lineOfTopKey(data.toString(), 'ttl')).toBe(0);
  });
});

describe('the certificate keys', () => {
  const { publicKey } = generateSigningKey();

  it('signing_key is kept in its canonical form', () => {
    const cert = parseCertificate(`service: s\nsigning_key: "${publicKey}"\n${MIRRORS}`, FILE);
    expect(cert.signingKey).toBe(publicKey);
  });

  it('a bad signing_key is a problem with its line and key', () => {
    const [p, ...rest] = problemsOf(`service: s\nsigning_key: ed25519:abc\n${MIRRORS}`);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: FILE, line: 2, column: 14, key: 'signing_key' });
    expect(p!.message).toContain('base64 of 32 bytes');
    const pem = problemsOf(`service: s\nsigning_key: "-----BEGIN PRIVATE KEY-----"\n${MIRRORS}`)[0]!;
    expect(pem.message).toMatch(/expected an Ed25519 public key .*a private key never goes in the certificate/);
  });

  it('membership: a path as before, or a mapping with path and unsigned: ok', () => {
    const plain = parseCertificate(`service: s\nmembership: MIRRORS.yaml\n${MIRRORS}`, FILE);
    expect(plain.membershipPath).toBe('MIRRORS.yaml');
    expect(plain.membershipUnsignedOk).toBeUndefined();
    const open = parseCertificate(`service: s\nmembership: { path: MIRRORS.yaml, unsigned: ok }\n${MIRRORS}`, FILE);
    expect(open).toMatchObject({ membershipPath: 'MIRRORS.yaml', membershipUnsignedOk: true });
    const block = parseCertificate(`service: s\nmembership:\n  path: M.yaml\n${MIRRORS}`, FILE);
    expect(block.membershipPath).toBe('M.yaml');
    expect(block.membershipUnsignedOk).toBeUndefined();
  });

  it('membership problems: a missing path, another value for unsigned, an unknown key', () => {
    const problems = problemsOf(`service: s\nmembership:\n  unsigned: yes\n  pth: M.yaml\n${MIRRORS}`);
    expect(problems.map((p) => [p.line, p.key])).toEqual([
      [3, 'membership.path'],
      [3, 'membership.unsigned'],
      [4, 'membership.pth'],
    ]);
    expect(problems[1]!.message).toContain("expected 'ok'");
    expect(problems[2]!.message).toContain("did you mean 'path'?");
  });
});

describe('an anonymous-only mirror', () => {
  it('logs in as anonymous whatever its user, password_env or ~/.netrc say', async () => {
    const mirror: MirrorSpec = {
      name: 'x',
      url: 'ftp://files.example/pub',
      protocol: 'ftp',
      host: 'files.example',
      port: 21,
      basePath: '/pub/',
      maxConnections: 1,
      user: 'alice',
      passwordEnv: 'SECRET',
      anonymousOnly: true,
    };
    const creds = await resolveCredentials(mirror, { SECRET: 'hunter2' }, '/nonexistent/netrc');
    expect(creds).toEqual({ user: 'anonymous', password: 'smartftp@' });
  });
});
