/**
 * Integration tests for test/helpers/vsftpd.ts against the real vsftpd, with basic-ftp as client.
 * Loopback only; every wait is bounded.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithVsftpd, startVsftpd, type Vsftpd } from '../helpers/vsftpd.js';
import { watchStalls } from '../helpers/stalls.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const FILE_SIZE = 8 * MiB;
const MTIME = new Date('2021-03-04T05:06:07Z');

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

/** Child processes (recursively) of `pid`, read from /proc; zombies excluded. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  const stateOf = new Map<number, string>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(rest[1]));
      stateOf.set(Number(name), rest[0] ?? '?');
    } catch {
      // raced with exit
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [child, parent] of parentOf) {
      if (parent === p && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out.filter((p) => stateOf.get(p) !== 'Z');
}

function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
};

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describeWithVsftpd('vsftpd harness', () => {
  let dataDir: string;
  let workDir: string;
  let source: Buffer;
  let sourceSha: string;
  const servers: Vsftpd[] = [];
  const clients: Client[] = [];

  async function server(opts: { maxClients?: number; rateBytesPerSec?: number; root?: string } = {}): Promise<Vsftpd> {
    const s = await startVsftpd({ root: dataDir, ...opts });
    servers.push(s);
    return s;
  }

  async function client(srv: Vsftpd, timeout = 10_000): Promise<Client> {
    const c = new Client(timeout);
    clients.push(c);
    await c.access({ host: '127.0.0.1', port: srv.port, user: 'anonymous', password: 'test@smartftp' });
    return c;
  }

  beforeAll(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartftp-vsftpd-data-'));
    await fsp.chmod(dataDir, 0o755); // mkdtemp gives 0700: the ftp user could not read it
    workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartftp-vsftpd-work-'));
    source = randomBytes(FILE_SIZE);
    sourceSha = sha256(source);
    const file = path.join(dataDir, 'big.bin');
    await fsp.writeFile(file, source, { mode: 0o644 });
    await fsp.utimes(file, MTIME, MTIME);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    await fsp.rm(dataDir, { recursive: true, force: true });
    await fsp.rm(workDir, { recursive: true, force: true });
  });

  it('downloads 8 MiB intact, resumes with REST, answers SIZE and MDTM', async () => {
    const srv = await server();
    expect(srv.url).toBe(`ftp://127.0.0.1:${srv.port}/`);
    const c = await client(srv);

    expect(await c.size('big.bin')).toBe(FILE_SIZE);
    expect((await c.lastMod('big.bin')).toISOString()).toBe(MTIME.toISOString());

    const full = path.join(workDir, 'full.bin');
    await c.downloadTo(full, 'big.bin');
    expect(sha256(await fsp.readFile(full))).toBe(sourceSha);

    const offset = 3 * MiB + 12345;
    const partial = path.join(workDir, 'partial.bin');
    await fsp.writeFile(partial, source.subarray(0, offset));
    let transferred = 0;
    c.trackProgress((info) => (transferred = info.bytes));
    await c.downloadTo(partial, 'big.bin', offset);
    c.trackProgress();
    expect(transferred).toBe(FILE_SIZE - offset); // really resumed, not downloaded again
    expect(sha256(await fsp.readFile(partial))).toBe(sourceSha);
  });

  it('answers 550 for a missing file and stays usable', async () => {
    const srv = await server();
    const c = await client(srv);
    const dest = path.join(workDir, 'missing.bin');
    const err = await c.downloadTo(dest, 'no-such-file.bin').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FTPError);
    expect((err as FTPError).code).toBe(550);
    expect(fs.existsSync(dest)).toBe(false);
    expect(await c.size('big.bin')).toBe(FILE_SIZE);
  });

  it('rejects the third simultaneous login with 421 when maxClients is 2', async () => {
    const srv = await server({ maxClients: 2 });
    await client(srv);
    await client(srv);
    const err = await client(srv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FTPError);
    expect((err as FTPError).code).toBe(421);
    expect((err as FTPError).message).toMatch(/too many connected users/i);
  });

  it('SIGKILL mid-transfer kills the session processes and breaks the transfer at once', async () => {
    const srv = await server({ rateBytesPerSec: 1_000_000 });
    const c = await client(srv, 10_000);
    const dest = path.join(workDir, 'killed.bin');
    let received = 0;
    c.trackProgress((info) => (received = info.bytes));
    const download = c.downloadTo(dest, 'big.bin').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await waitUntil(() => received >= 700_000, 'the first 700 kB', 5_000);

    const sessions = descendants(srv.pid);
    expect(sessions.length).toBeGreaterThanOrEqual(2); // privileged helper + ftp-user child
    const clock = watchStalls();
    srv.signal('SIGKILL');
    const err = await download;
    // The time this process could run: a busy machine's pauses are not the client's.
    const elapsed = Math.round(clock.runningMs());
    clock.stop();
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(FTPError);
    expect(elapsed).toBeLessThan(2_000); // at once, not after the 10 s timeout
    await waitUntil(() => sessions.every((p) => !alive(p)) && !alive(srv.pid), 'the session processes to die', 2_000);

    const got = await fsp.readFile(dest);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(FILE_SIZE);
    expect(got.equals(source.subarray(0, got.length))).toBe(true);
    console.info(`SIGKILL: client error after ${elapsed} ms: "${err?.message}"; partial file ${got.length} bytes`);

    await srv.stop();
    expect(pidGone(srv.pid)).toBe(true);
  });

  it('SIGSTOP mid-transfer stalls it into a data-socket timeout; stop() still cleans up', async () => {
    const srv = await server({ rateBytesPerSec: 1_000_000 });
    const c = await client(srv, 1_500);
    const dest = path.join(workDir, 'stopped.bin');
    let received = 0;
    c.trackProgress((info) => (received = info.bytes));
    const download = c.downloadTo(dest, 'big.bin').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await waitUntil(() => received >= 300_000, 'the first 300 kB', 5_000);

    const sessions = descendants(srv.pid);
    const clock = watchStalls();
    srv.signal('SIGSTOP');
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    await waitUntil(() => [srv.pid, ...sessions].every((p) => procState(p) === 't' || procState(p) === 'T'), 'all processes to be stopped', 1_000);
    const err = await download;
    const elapsed = Math.round(clock.runningMs());
    clock.stop();
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toBe('Timeout (data socket)');
    expect(elapsed).toBeLessThan(3_500);
    console.info(`SIGSTOP: "${err?.message}" after ${elapsed} ms (client timeout 1500 ms)`);

    const t1 = Date.now();
    await srv.stop();
    console.info(`stop() of a stopped instance took ${Date.now() - t1} ms`);
    expect(pidGone(srv.pid)).toBe(true);
    expect(sessions.filter(alive)).toEqual([]);
  });

  it('runs two instances side by side without collisions', async () => {
    const otherRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartftp-vsftpd-data2-'));
    try {
      await fsp.chmod(otherRoot, 0o755);
      await fsp.writeFile(path.join(otherRoot, 'only-here.txt'), 'second instance\n', { mode: 0o644 });
      const [a, b] = await Promise.all([server(), server({ root: otherRoot })]);
      if (a === undefined || b === undefined) throw new Error('unreachable');
      expect(a.port).not.toBe(b.port);
      expect(a.pid).not.toBe(b.pid);
      expect(a.pasvPorts.max < b.pasvPorts.min || b.pasvPorts.max < a.pasvPorts.min).toBe(true);

      const [ca, cb] = await Promise.all([client(a), client(b)]);
      const destA = path.join(workDir, 'a.bin');
      const destB = path.join(workDir, 'b.txt');
      const dataPorts: number[][] = [[], []];
      for (const [i, c] of [ca, cb].entries()) {
        c.ftp.verbose = true;
        c.ftp.log = (msg: string) => {
          const m = /\(\|\|\|(\d+)\|\)/.exec(msg);
          if (m !== null) dataPorts[i]?.push(Number(m[1]));
        };
      }
      await Promise.all([ca.downloadTo(destA, 'big.bin'), cb.downloadTo(destB, 'only-here.txt')]);
      expect(sha256(await fsp.readFile(destA))).toBe(sourceSha);
      expect(await fsp.readFile(destB, 'utf8')).toBe('second instance\n');
      for (const [i, s] of [a, b].entries()) {
        expect(dataPorts[i]?.length).toBe(1);
        const port = dataPorts[i]?.[0] ?? -1;
        expect(port >= s.pasvPorts.min && port <= s.pasvPorts.max).toBe(true);
      }
      // Each root is its own: a file of one instance is missing on the other.
      expect(await cb.size('big.bin').catch((e: FTPError) => e.code)).toBe(550);

      // Stopping one leaves the other serving.
      cb.close();
      await b.stop();
      expect(pidGone(b.pid)).toBe(true);
      expect(await ca.size('big.bin')).toBe(FILE_SIZE);
      const fresh = await client(a);
      expect(await fresh.size('big.bin')).toBe(FILE_SIZE);
    } finally {
      await fsp.rm(otherRoot, { recursive: true, force: true });
    }
  });
});
