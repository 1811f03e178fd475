// `smartftp cert keygen | sign | verify` as a user runs them: files, modes, messages, exit codes.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { runCli } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

async function cli(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  const run = runCli(args, { cwd });
  const code = await run.exit;
  return { code, out: run.stdout(), err: run.stderr() };
}

const CERT = 'service: signed.test\nttl: 1h\nmirrors:\n  - url: ftp://127.0.0.1:2121/pub\n    name: a\n';

/** A directory with a key pair and a certificate naming its public key, as the docs tell. */
async function keyAndCert(): Promise<{ dir: string; publicLine: string; cert: string }> {
  const dir = t.dir();
  const keygen = await cli(['cert', 'keygen', '--out', 'k'], dir);
  expect(keygen.code).toBe(0);
  const publicLine = keygen.out.trim();
  const cert = join(dir, 'mirrors.yaml');
  writeFileSync(cert, CERT.replace('ttl: 1h\n', `ttl: 1h\n${publicLine}\n`));
  return { dir, publicLine, cert };
}

describe('cert keygen', () => {
  it('writes the private key with mode 0600 and prints the line for the certificate', async () => {
    const { dir, publicLine } = await keyAndCert();
    expect(publicLine).toMatch(/^signing_key: ed25519:[A-Za-z0-9+/]{43}=$/);
    expect(statSync(join(dir, 'k')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'k'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(join(dir, 'k.pub'), 'utf8')).toBe(publicLine.replace('signing_key: ', '') + '\n');
    const again = await cli(['cert', 'keygen', '--out', 'k'], dir);
    expect(again.code).toBe(2);
    expect(again.err).toContain('k exists');
    expect((await cli(['cert', 'keygen', '--out', 'k', '--force'], dir)).code).toBe(0);
    expect(readFileSync(join(dir, 'k.pub'), 'utf8')).not.toBe(publicLine.replace('signing_key: ', '') + '\n');
  });
});

describe('cert sign and verify', () => {
  it('round trip; one changed byte fails with file, line and key, exit 2', async () => {
    const { dir, cert } = await keyAndCert();
    const sign = await cli(['cert', 'sign', '--key', 'k', 'mirrors.yaml'], dir);
    expect(sign.code).toBe(0);
    expect(sign.out).toMatch(/^mirrors\.yaml\.sig: signed mirrors\.yaml \(\d+ bytes\) with ed25519:/);
    expect(readFileSync(`${cert}.sig`, 'utf8')).toMatch(/^ed25519:[A-Za-z0-9+/]{86}==\n$/);
    const ok = await cli(['cert', 'verify', 'mirrors.yaml'], dir);
    expect(ok).toMatchObject({ code: 0, out: expect.stringContaining('mirrors.yaml: ok: mirrors.yaml.sig is a good signature by ed25519:') });
    expect((await cli(['cert', 'verify', '--key', 'k.pub', 'mirrors.yaml'], dir)).code).toBe(0);

    const bytes = readFileSync(cert);
    const at = bytes.indexOf('signed.test') + 1;
    bytes[at] = 'x'.charCodeAt(0); // 'signed' -> 'sxgned': one byte
    writeFileSync(cert, bytes);
    const bad = await cli(['cert', 'verify', 'mirrors.yaml'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^mirrors\.yaml:3:1: signing_key: the signature does not match .*\(signature mirrors\.yaml\.sig\)\n$/);
  });

  it('another key, no signature, no key: exit 2 with the reason', async () => {
    const { dir } = await keyAndCert();
    expect((await cli(['cert', 'keygen', '--out', 'other'], dir)).code).toBe(0);
    const mismatch = await cli(['cert', 'sign', '--key', 'other', 'mirrors.yaml'], dir);
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(/^mirrors\.yaml:3:1: signing_key: the certificate names ed25519:.*, but other is the private key of ed25519:/);
    const unsigned = await cli(['cert', 'verify', 'mirrors.yaml'], dir);
    expect(unsigned.code).toBe(2);
    expect(unsigned.err).toContain('mirrors.yaml.sig: cannot read the signature');
    // Signed by "other" into another file, checked against the certificate's key.
    writeFileSync(join(dir, 'plain.yaml'), CERT);
    const plainSign = await cli(['cert', 'sign', '--key', 'other', 'plain.yaml', '--out', 'mirrors.yaml.sig'], dir);
    expect(plainSign.code).toBe(0);
    expect(plainSign.err).toContain('plain.yaml: note: it names no signing_key');
    expect((await cli(['cert', 'verify', 'mirrors.yaml'], dir)).code).toBe(2);
    const noKey = await cli(['cert', 'verify', 'plain.yaml', '--sig', 'mirrors.yaml.sig'], dir);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('plain.yaml: signing_key: no key to verify with');
    expect((await cli(['cert', 'verify', 'plain.yaml', '--sig', 'mirrors.yaml.sig', '--key', 'other.pub'], dir)).code).toBe(0);
    const pubAsKey = await cli(['cert', 'sign', '--key', 'k.pub', 'mirrors.yaml'], dir);
    expect(pubAsKey).toMatchObject({ code: 2, err: expect.stringContaining('k.pub: cannot use it as a signing key: not a PEM private key') });
  });

  it('a certificate with a bad signing_key is not signed: exit 2 with file, line and key', async () => {
    const { dir } = await keyAndCert();
    writeFileSync(join(dir, 'bad.yaml'), CERT.replace('ttl: 1h\n', 'ttl: 1h\nsigning_key: ed25519:short\n'));
    const sign = await cli(['cert', 'sign', '--key', 'k', 'bad.yaml'], dir);
    expect(sign.code).toBe(2);
    expect(sign.err).toMatch(/^bad\.yaml:3:14: signing_key: an Ed25519 public key must be the base64 of 32 bytes/);
    const check = await cli(['cert', 'check', 'bad.yaml'], dir);
    expect(check.code).toBe(2);
    expect(check.err).toContain('bad.yaml:3:14: signing_key:');
  });
});
