// `smartftp serve --fault`: the faults' clocks start at the first client connection, not when serve
// starts. Runs dist/ (built by the global setup) as a child process, on 127.0.0.1 only.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { putFile, runCli, writeCert } from '../helpers/fixtures.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const t = cleanupAfterEach();

/** A port free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Log in and read a file's size: the mirror is alive. */
async function sizeOf(port: number, path: string): Promise<number> {
  const client = new Client(5_000);
  try {
    await client.access({ host: '127.0.0.1', port, user: 'anonymous', password: 'test@' });
    return await client.size(path);
  } finally {
    client.close();
  }
}

/** Whether a TCP connection to the port is refused (nothing listens there any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('smartftp serve --fault', () => {
  it("times a fault from the first client connection: a mirror nobody connected to is still alive after the fault's time", async () => {
    const work = t.dir('smartftp-serve-');
    const root = t.dir('smartftp-serve-root-');
    putFile(root, 'pub/hello.txt', Buffer.from('hello\n'));
    const [portA, portB] = [await freePort(), await freePort()];
    const cert = writeCert(work, [
      { url: `ftp://127.0.0.1:${portA}/pub`, name: 'local-a' },
      { url: `ftp://127.0.0.1:${portB}/pub`, name: 'local-b' },
    ]);
    const run = runCli(['serve', '--cert', cert, '--root', root, '--fault', 'kill:local-a@1s']);
    const pid = run.child.pid!;
    let exited = false;
    void run.exit.then(() => (exited = true));
    // Stopped by its PID whatever happens below.
    t.track({ close: () => (exited ? undefined : process.kill(pid, 'SIGKILL')) });
    await waitUntil(() => run.stdout().includes('ready (Ctrl-C stops)') || exited, 'serve to be ready', 20_000);
    expect(run.stdout(), run.stderr()).toMatch(/faults: kill:local-a@1s, timed from the first client connection/);

    // Twice the fault's time with no client: nothing happened yet.
    await sleep(2_000);
    expect(run.stdout()).not.toMatch(/fault: killed/);
    const connected = performance.now();
    expect(await sizeOf(portA, '/pub/hello.txt')).toBe(6);
    expect(run.stdout()).toMatch(/first client connected/);

    // About a second after that first connection, local-a dies; local-b lives on.
    await waitUntil(() => run.stdout().includes('fault: killed local-a'), 'the kill of local-a', 10_000);
    const after = (performance.now() - connected) / 1000;
    expect(after).toBeGreaterThan(0.8);
    expect(after).toBeLessThan(3);
    expect(run.stdout()).toMatch(/fault: killed local-a, 1 s after the first client connected/);
    expect(await refused(portA)).toBe(true);
    expect(await sizeOf(portB, '/pub/hello.txt')).toBe(6);

    process.kill(pid, 'SIGINT');
    expect(await run.exit).toBe(0);
  });
});

describe('smartftp serve: its sample tree', () => {
  /** serve on two free ports with TMPDIR set, ready; stopped by its PID whatever happens. */
  async function serveIn(tmp: string) {
    const work = t.dir('smartftp-serve-');
    const [portA, portB] = [await freePort(), await freePort()];
    const cert = writeCert(work, [
      { url: `ftp://127.0.0.1:${portA}/pub`, name: 'local-a' },
      { url: `ftp://127.0.0.1:${portB}/pub`, name: 'local-b' },
    ]);
    const run = runCli(['serve', '--cert', cert], { env: { TMPDIR: tmp } });
    const pid = run.child.pid!;
    let exited = false;
    void run.exit.then(() => (exited = true));
    t.track({ close: () => (exited ? undefined : process.kill(pid, 'SIGKILL')) });
    await waitUntil(() => run.stdout().includes('ready (Ctrl-C stops)') || exited, 'serve to be ready', 60_000);
    expect(exited, run.stderr()).toBe(false);
    return { run, pid };
  }

  const trees = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('smartftp-serve-')).sort();

  it("a killed serve's tree (76 MiB) is removed by the next serve; a running one's, and one of unknown owner, stay", async () => {
    const tmp = t.dir('smartftp-tmpdir-');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const fake = (name: string, owner?: number) => {
      mkdirSync(join(tmp, name));
      writeFileSync(join(tmp, name, 'x.bin'), 'x');
      if (owner !== undefined) writeFileSync(join(tmp, name, 'OWNER.pid'), `${owner}\n`);
    };
    fake('smartftp-serve-dead', dead);
    fake('smartftp-serve-live', process.pid);
    fake('smartftp-serve-older'); // an older version's, which names no owner

    const first = await serveIn(tmp);
    const firstTree = trees(tmp).find((n) => !['smartftp-serve-dead', 'smartftp-serve-live', 'smartftp-serve-older'].includes(n))!;
    expect(trees(tmp)).toEqual([firstTree, 'smartftp-serve-live', 'smartftp-serve-older'].sort());
    process.kill(first.pid, 'SIGKILL');
    await first.run.exit;
    expect(existsSync(join(tmp, firstTree, 'pub', 'sample', '64MiB.bin'))).toBe(true); // no chance to clean up

    const second = await serveIn(tmp);
    const secondTree = trees(tmp).find((n) => !['smartftp-serve-live', 'smartftp-serve-older'].includes(n))!;
    expect(secondTree).not.toBe(firstTree);
    expect(trees(tmp)).toEqual([secondTree, 'smartftp-serve-live', 'smartftp-serve-older'].sort());
    process.kill(second.pid, 'SIGINT');
    expect(await second.run.exit).toBe(0);
    expect(trees(tmp)).toEqual(['smartftp-serve-live', 'smartftp-serve-older']);
  });
});
