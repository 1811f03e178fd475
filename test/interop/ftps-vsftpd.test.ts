// ftps:// mirrors: explicit TLS (AUTH TLS) against a real vsftpd that refuses to send a file
// unencrypted, with a certificate the test makes and trusts through NODE_EXTRA_CA_CERTS.

import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { content, mirrorRoots, removeAll, runCli, sha256, sha256File, tempDir } from '../helpers/fixtures.js';
import { describeWithVsftpd, startVsftpd, type Vsftpd } from '../helpers/vsftpd.js';

describeWithVsftpd('ftps:// against vsftpd', () => {
  const data = content(3 * 1024 * 1024, 61);
  const dirs: string[] = [];
  let server: Vsftpd;
  let certFile: string;

  beforeAll(async () => {
    const keys = tempDir('smartftp-tls-');
    dirs.push(keys);
    certFile = join(keys, 'cert.pem');
    const keyFile = join(keys, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const roots = mirrorRoots(1, { 'pub/s.bin': data });
    dirs.push(...roots);
    chmodSync(roots[0]!, 0o755);
    chmodSync(join(roots[0]!, 'pub'), 0o755);
    server = await startVsftpd({ root: roots[0]!, tls: { certFile, keyFile } });
  });

  afterAll(async () => {
    await server?.stop();
    removeAll(dirs);
  });

  function cert(dir: string, scheme: 'ftp' | 'ftps'): string {
    const path = join(dir, 'mirrors.yaml');
    writeFileSync(path, `service: tls.test\ndirector:\n  policy: ordered\nmirrors:\n  - url: ${scheme}://127.0.0.1:${server.port}/pub\n    name: tls\n`);
    return path;
  }

  it('downloads over TLS from an ftps:// mirror whose certificate is trusted', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = runCli(['get', 's.bin', '--cert', cert(dir, 'ftps'), '-d', dir, '--json', '--no-state'], { env: { NODE_EXTRA_CA_CERTS: certFile } });
    expect(await run.exit).toBe(0);
    expect(sha256File(join(dir, 's.bin'))).toBe(sha256(data));
  });

  it('the same server refuses the file to a plain ftp:// client (so the test above did use TLS)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = runCli(['get', 's.bin', '--cert', cert(dir, 'ftp'), '-d', dir, '--json', '--no-state']);
    expect(await run.exit).toBe(1);
    expect(run.events.find((e) => e.type === 'failover')?.message).toMatch(/522/);
  });

  it('an untrusted certificate is refused, not ignored', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const run = runCli(['get', 's.bin', '--cert', cert(dir, 'ftps'), '-d', dir, '--json', '--no-state'], { env: { NODE_EXTRA_CA_CERTS: '' } });
    expect(await run.exit).toBe(1);
    expect(run.events.find((e) => e.type === 'failover')).toMatchObject({ kind: 'unreachable' });
  });
});
