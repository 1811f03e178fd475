/**
 * The emulated mirror (src/emulator) against the real basic-ftp client, on 127.0.0.1 only.
 * The serve-main tests run dist/, which the global setup builds (test/global-setup.ts).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataRate, onTheWire } from '../../src/emulator/framing.js';
import { startFtpServer, type FtpServerHandle, type FtpServerOptions } from '../../src/emulator/server.js';
import { startMirrorProcess } from '../helpers/mirror-process.js';
import { watchStalls } from '../helpers/stalls.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const BIG = 5 * MiB;
const MTIME = new Date('2001-02-03T04:05:06Z');
const REPO = fileURLToPath(new URL('../../', import.meta.url));

let base: string;
let root: string;
let big: Buffer;
let bigSha: string;
let outCount = 0;
const cleanups: (() => unknown)[] = [];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const out = (name: string): string => path.join(base, 'out', `${++outCount}-${name}`);

async function serve(opts: Partial<FtpServerOptions> = {}): Promise<FtpServerHandle> {
  const h = await startFtpServer({ root, ...opts });
  cleanups.push(() => h.close());
  return h;
}

function newClient(timeoutMs: number): Client {
  const c = new Client(timeoutMs);
  cleanups.push(() => c.close());
  return c;
}

async function login(h: { host?: string; port: number }, timeoutMs = 10_000, user?: string, password?: string): Promise<Client> {
  const c = newClient(timeoutMs);
  await c.access({ host: h.host ?? '127.0.0.1', port: h.port, user, password });
  return c;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** A Writable that counts and hashes what it receives. */
function sink(): { stream: Writable; bytes: () => number; sha: () => string } {
  let n = 0;
  const hash = createHash('sha256');
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      hash.update(chunk);
      cb();
    },
  });
  return { stream, bytes: () => n, sha: () => hash.copy().digest('hex') };
}

/** Minimal raw control connection, for what basic-ftp does not send (pipelining, ABOR). */
async function rawControl(port: number): Promise<{ send: (line: string) => void; reply: () => Promise<string>; close: () => void }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setEncoding('utf8');
  sock.on('error', () => {});
  cleanups.push(() => sock.destroy());
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  sock.on('data', (d: string) => {
    buf += d;
    wake?.();
  });
  sock.on('close', () => {
    closed = true;
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const take = (): string | undefined => {
    const m = /^(\d{3})([ -])/.exec(buf);
    if (!m) return undefined;
    const from = m[2] === ' ' ? 0 : buf.indexOf(`\r\n${m[1]} `);
    if (from < 0) return undefined;
    const end = buf.indexOf('\r\n', from === 0 ? 0 : from + 2);
    if (end < 0) return undefined;
    const r = buf.slice(0, end);
    buf = buf.slice(end + 2);
    return r;
  };
  return {
    send: (line) => void sock.write(`${line}\r\n`),
    close: () => sock.destroy(),
    async reply(): Promise<string> {
      const until = performance.now() + 5_000;
      for (;;) {
        const r = take();
        if (r !== undefined) return r;
        if (closed) throw new Error(`control closed; pending "${buf}"`);
        const left = until - performance.now();
        if (left <= 0) throw new Error(`no reply within 5 s; pending "${buf}"`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'smartftp-emu-'));
  root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(base, 'out'));
  big = randomBytes(BIG);
  bigSha = sha256(big);
  fs.writeFileSync(path.join(root, 'big.bin'), big);
  fs.utimesSync(path.join(root, 'big.bin'), MTIME, MTIME);
  fs.writeFileSync(path.join(root, 'cap.bin'), randomBytes(8 * MiB));
  fs.writeFileSync(path.join(root, 'sub', 'inner.txt'), 'inner\n');
  fs.writeFileSync(path.join(base, 'secret.txt'), 'outside the root\n');
  fs.symlinkSync('../secret.txt', path.join(root, 'escape.txt'));
  fs.symlinkSync('big.bin', path.join(root, 'inlink.bin'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('emulated mirror: transfers', () => {
  it('downloads 5 MiB intact, resumes with REST, answers SIZE, MDTM, LIST, CWD', async () => {
    const h = await serve();
    const c = await login(h);
    const full = out('full.bin');
    await c.downloadTo(full, 'big.bin');
    expect(sha256(fs.readFileSync(full))).toBe(bigSha);

    const partial = out('partial.bin');
    const K = 1_234_567;
    fs.writeFileSync(partial, big.subarray(0, K));
    const before = h.stats.bytesSent;
    await c.downloadTo(partial, 'big.bin', K); // REST K, RETR
    expect(h.stats.bytesSent - before).toBe(BIG - K);
    expect(fs.statSync(partial).size).toBe(BIG);
    expect(sha256(fs.readFileSync(partial))).toBe(bigSha);

    expect(await c.size('big.bin')).toBe(BIG);
    expect((await c.lastMod('big.bin')).toISOString()).toBe(MTIME.toISOString());
    const list = await c.list();
    expect(list.map((f) => f.name).sort()).toEqual(['big.bin', 'cap.bin', 'inlink.bin', 'sub']); // escape.txt hidden
    expect(list.find((f) => f.name === 'big.bin')?.size).toBe(BIG);
    expect(list.find((f) => f.name === 'sub')?.isDirectory).toBe(true);

    await c.cd('sub');
    expect(await c.pwd()).toBe('/sub');
    const s = sink();
    await c.downloadTo(s.stream, 'inner.txt');
    expect(s.bytes()).toBe(6);
    await c.cdup();
    expect(await c.pwd()).toBe('/');
    expect(h.stats.transfers).toBe(3);
    expect(h.stats.activeSessions).toBe(1);
  });

  it('answers 550 for a missing file and for every way out of the root', async () => {
    const h = await serve();
    const c = await login(h);
    const e1 = await rejection(c.size('nope.bin'));
    expect(e1).toBeInstanceOf(FTPError);
    expect((e1 as FTPError).code).toBe(550);
    const dest = out('missing.bin');
    const e2 = await rejection(c.downloadTo(dest, 'nope.bin'));
    expect(e2).toBeInstanceOf(FTPError);
    expect((e2 as FTPError).code).toBe(550);
    expect(e2.message).toContain('Failed to open file.');
    expect(fs.existsSync(dest)).toBe(false);

    for (const p of ['../secret.txt', '../../secret.txt', '/../secret.txt', 'sub/../../secret.txt', 'escape.txt']) {
      const es = await rejection(c.size(p));
      expect((es as FTPError).code, `SIZE ${p}`).toBe(550);
      const d = out('escape.bin');
      const er = await rejection(c.downloadTo(d, p));
      expect((er as FTPError).code, `RETR ${p}`).toBe(550);
      expect(fs.existsSync(d)).toBe(false);
    }
    expect((await rejection(c.size('sub'))) as FTPError).toMatchObject({ code: 550 }); // a directory has no SIZE
    expect(await c.size('inlink.bin')).toBe(BIG); // a symlink that stays inside is fine
    await c.send('NOOP'); // the session survived all of it
  });

  it('logs in only configured users when users is set', async () => {
    const h = await serve({ users: { alice: 's3cret' } });
    for (const [user, password] of [['alice', 'wrong'], ['anonymous', 'guest'], ['bob', 's3cret']] as const) {
      const e = await rejection(newClient(5_000).access({ host: h.host, port: h.port, user, password }));
      expect((e as FTPError).code, user).toBe(530);
    }
    const c = await login(h, 5_000, 'alice', 's3cret');
    expect(await c.size('big.bin')).toBe(BIG);
  });

  it('processes pipelined commands in order; 530 before login, 502 for the unknown and active mode', async () => {
    const h = await serve();
    const ctl = await rawControl(h.port);
    expect(await ctl.reply()).toBe('220 smartftp emulated mirror');
    ctl.send(
      ['NOOP', 'SYST', 'FEAT', 'USER anonymous', 'PASS x', 'size big.bin', 'PORT 127,0,0,1,4,1', 'EPRT |1|127.0.0.1|1025|', 'XYZ', 'TYPE I', 'MODE S', 'STRU F', 'OPTS UTF8 ON', 'REST 10', 'MDTM big.bin', 'PWD', 'QUIT']
        .map((l) => `${l}\r\n`)
        .join('')
        .trimEnd(),
    );
    const replies: string[] = [];
    for (let i = 0; i < 17; i++) replies.push(await ctl.reply());
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['530', '215', '211', '331', '230', '213', '502', '502', '502', '200', '200', '200', '200', '350', '213', '257', '221']);
    expect(replies[1]).toBe('215 UNIX Type: L8');
    expect(replies[2]!.split('\r\n')).toEqual(['211-Features:', ' SIZE', ' MDTM', ' REST STREAM', ' EPSV', ' PASV', ' UTF8', '211 End']);
    expect(replies[5]).toBe(`213 ${BIG}`);
    expect(replies[14]).toBe('213 20010203040506');
    expect(replies[15]).toBe('257 "/" is the current directory');
  });

  it('ABOR overtakes a running RETR (426 then 226); PASV data accepts only the control peer', async () => {
    const h = await serve({ linkRate: 500_000 });
    const ctl = await rawControl(h.port);
    expect(await ctl.reply()).toMatch(/^220 /);
    ctl.send('USER anonymous');
    expect(await ctl.reply()).toMatch(/^331 /);
    ctl.send('PASS x');
    expect(await ctl.reply()).toMatch(/^230 /);
    ctl.send('PASV');
    const pasv = await ctl.reply();
    const m = /^227 .*\(127,0,0,1,(\d+),(\d+)\)/.exec(pasv);
    expect(m, pasv).not.toBeNull();
    const port = Number(m![1]) * 256 + Number(m![2]);

    // A stranger (another loopback address) is turned away; the real peer gets in.
    const stranger = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    stranger.on('error', () => {});
    await new Promise((r) => stranger.once('close', r));
    const data = net.connect(port, '127.0.0.1');
    data.on('error', () => {});
    let got = 0;
    let dataClosed = false;
    data.on('data', (d: Buffer) => void (got += d.length));
    data.on('close', () => void (dataClosed = true));
    ctl.send('RETR big.bin');
    expect(await ctl.reply()).toMatch(/^150 .*\(5242880 bytes\)/);
    await waitUntil(() => got > 50_000, 'some data');
    ctl.send('ABOR');
    expect(await ctl.reply()).toBe('426 Connection closed; transfer aborted.');
    expect(await ctl.reply()).toMatch(/^226 /);
    await waitUntil(() => dataClosed, 'data connection closed');
    expect(got).toBeLessThan(BIG);
    ctl.send('ABOR');
    expect(await ctl.reply()).toMatch(/^225 /);
    ctl.send('RETR big.bin'); // no PASV since the last transfer
    expect(await ctl.reply()).toMatch(/^425 /);
    ctl.send('QUIT');
    expect(await ctl.reply()).toBe('221 Goodbye.');
  });
});

describe('emulated mirror: limits', () => {
  it('admits 16 sessions, greets the 17th with 421, admits again after one leaves', async () => {
    const h = await serve({ maxSessions: 16 });
    const clients = await Promise.all(Array.from({ length: 16 }, () => login(h)));
    expect(h.stats.activeSessions).toBe(16);
    const e = await rejection(newClient(5_000).access({ host: h.host, port: h.port }));
    expect(e).toBeInstanceOf(FTPError);
    expect((e as FTPError).code).toBe(421);
    expect(e.message).toContain('Too many users, try later.');
    expect(h.stats.sessionsRejected).toBe(1);
    await Promise.all(clients.map((c) => c.send('NOOP')));

    clients[0]!.close();
    await waitUntil(() => h.stats.activeSessions === 15, 'a slot to free up');
    const late = await login(h);
    expect(await late.size('big.bin')).toBe(BIG);
    expect(h.stats).toMatchObject({ activeSessions: 16, sessionsOpened: 17, sessionsRejected: 1 });
  });

  it('holds linkRate within 10 % for 1, 4 and 16 simultaneous downloads, shared fairly', async () => {
    const RATE = 2_000_000;
    const WARMUP_MS = 400;
    // Long enough for every one of 16 sessions to get its turn many times (a 16 KiB slice each per round).
    const WINDOW_MS = 1_200;
    const h = await serve({ linkRate: RATE });
    const rows: string[] = [];
    for (const n of [1, 4, 16]) {
      const clients = await Promise.all(Array.from({ length: n }, () => login(h)));
      const sinks = clients.map(() => sink());
      // From here the link is idle: the bucket holds at most one burst (TokenBucket's 32 KiB).
      const start = { sent: h.stats.bytesSent, at: performance.now() };
      const downloads = clients.map((c, i) => c.downloadTo(sinks[i]!.stream, 'cap.bin').catch((err: unknown) => err));
      await sleep(WARMUP_MS); // skip the initial burst and the connection setup
      const stalls = watchStalls();
      const b0 = sinks.map((s) => s.bytes());
      const s0 = h.stats.bytesSent;
      const t0 = performance.now();
      await sleep(WINDOW_MS);
      const b1 = sinks.map((s) => s.bytes());
      const s1 = h.stats.bytesSent;
      const t1 = performance.now();
      const stalled = stalls.ms() / 1000;
      stalls.stop();
      const secs = (t1 - t0) / 1000;
      for (const c of clients) c.close();
      await Promise.all(downloads);
      await waitUntil(() => h.stats.activeSessions === 0, 'sessions to end');

      const per = b1.map((b, i) => (b - b0[i]!) / secs);
      const total = per.reduce((a, b) => a + b, 0);
      const server = (s1 - s0) / secs;
      rows.push(
        `n=${n}: client-side ${(total / 1e6).toFixed(3)} MB/s (${(((total - dataRate(RATE)) / dataRate(RATE)) * 100).toFixed(1)} % of the data rate), ` +
          `server-side ${(server / 1e6).toFixed(3)} MB/s, per session ${(Math.min(...per) / 1e3).toFixed(0)}-${(Math.max(...per) / 1e3).toFixed(0)} kB/s, ` +
          `process stalled ${(stalled * 1000).toFixed(0)} ms of ${(secs * 1000).toFixed(0)}`,
      );
      // Never above the link, on any machine: since the idle start, one burst plus the rate (the
      // data and its framing).
      expect(onTheWire(s1 - start.sent), rows.at(-1)).toBeLessThanOrEqual(32 * 1024 + RATE * ((t1 - start.at) / 1000));
      // The whole link while the process can run: the time a busy machine froze it is not the link's.
      expect(server, rows.at(-1)).toBeGreaterThan(0.9 * dataRate(RATE) * ((secs - stalled) / secs));
      // Fairly shared: each session gets its part of what the link delivered.
      expect(Math.min(...per), rows.at(-1)).toBeGreaterThan((0.6 * total) / n);
      expect(Math.max(...per), rows.at(-1)).toBeLessThan((1.4 * total) / n);
    }
    console.info(`linkRate ${RATE} B/s\n${rows.join('\n')}`);
  });

  it('setLinkRate re-caps a transfer in progress and can lift the cap', async () => {
    const h = await serve({ linkRate: 1_000_000 });
    const c = await login(h);
    const s = sink();
    const dl = c.downloadTo(s.stream, 'big.bin');
    /** The rate over `ms`, and the share of that time the process could run (a busy machine freezes the link too). */
    const rateOver = async (settleMs: number, ms: number): Promise<{ rate: number; running: number }> => {
      await sleep(settleMs);
      const stalls = watchStalls();
      const b0 = s.bytes();
      await sleep(ms);
      const rate = (s.bytes() - b0) / (stalls.elapsedMs() / 1000);
      const running = stalls.runningMs() / stalls.elapsedMs();
      stalls.stop();
      return { rate, running };
    };
    const within = (r: { rate: number; running: number }, target: number) => {
      const what = `at ${target} B/s: ${r.rate.toFixed(0)} B/s, the process ran ${(r.running * 100).toFixed(0)} % of the time`;
      expect(r.rate, what).toBeLessThan(1.15 * target);
      expect(r.rate, what).toBeGreaterThan(0.85 * target * r.running);
    };
    const r1 = await rateOver(300, 700);
    h.setLinkRate(2_500_000);
    const r2 = await rateOver(200, 700);
    within(r1, 1_000_000);
    within(r2, 2_500_000);
    expect(s.bytes()).toBeLessThan(BIG - 1_000_000);
    h.setLinkRate(undefined);
    const lifted = watchStalls();
    await dl;
    expect(lifted.runningMs()).toBeLessThan(500); // the last 1+ MB goes at loopback speed
    lifted.stop();
    expect(s.sha()).toBe(bigSha);
  });

  it('delays every control reply by controlDelayMs', async () => {
    const slow = await serve({ controlDelayMs: 100 });
    const t = performance.now();
    const c = await login(slow); // greeting, OPTS, USER, PASS, FEAT, TYPE, STRU, OPTS: 8 replies
    expect(performance.now() - t).toBeGreaterThanOrEqual(780);
    for (let i = 0; i < 3; i++) {
      const noop = watchStalls();
      await c.send('NOOP');
      expect(noop.elapsedMs()).toBeGreaterThanOrEqual(98);
      expect(noop.runningMs()).toBeLessThan(400); // the delay once, not per line or twice
      noop.stop();
    }
    const s = sink();
    await c.downloadTo(s.stream, 'big.bin');
    expect(s.sha()).toBe(bigSha);

    const fast = await login(await serve());
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const noop = watchStalls();
      await fast.send('NOOP');
      times.push(noop.runningMs());
      noop.stop();
    }
    expect(times.sort((a, b) => a - b)[1]).toBeLessThan(50);
  });
});

describe('emulated mirror: faults', () => {
  it('stall: basic-ftp times out on the data socket; the partial file holds exactly afterBytes', async () => {
    const h = await serve({ fault: { type: 'stall', afterBytes: 100_000 } });
    const c = await login(h, 1_500);
    const dest = out('stall.bin');
    const t = performance.now();
    const e = await rejection(c.downloadTo(dest, 'big.bin'));
    const ms = performance.now() - t;
    expect(e).not.toBeInstanceOf(FTPError);
    expect(e.message).toBe('Timeout (data socket)');
    expect(ms).toBeGreaterThanOrEqual(1_400);
    expect(ms).toBeLessThan(6_000);
    const got = fs.readFileSync(dest);
    expect(got.length).toBe(100_000);
    expect(got.equals(big.subarray(0, 100_000))).toBe(true);
    await waitUntil(() => h.stats.activeSessions === 0, 'the session to end');
  });

  it('stall reaches a transfer in progress; lifting it lets the transfer finish intact', async () => {
    const h = await serve({ linkRate: 4_000_000 });
    const c = await login(h, 10_000);
    const s = sink();
    const dl = c.downloadTo(s.stream, 'big.bin');
    await waitUntil(() => s.bytes() > 1_000_000, '1 MB');
    h.setFault({ type: 'stall' });
    // What was in flight lands: nothing new for 300 ms (after a freeze, a timer runs before the socket is read).
    let seen = s.bytes();
    let quietSince = performance.now();
    await waitUntil(() => {
      if (s.bytes() !== seen) [seen, quietSince] = [s.bytes(), performance.now()];
      return performance.now() - quietSince >= 300;
    }, 'the data in flight to land');
    const frozen = s.bytes();
    await sleep(300);
    expect(s.bytes()).toBe(frozen);
    expect(frozen).toBeLessThan(BIG);
    h.setFault({ type: 'none' });
    h.setLinkRate(undefined); // the rest need not be paced
    await dl;
    expect(s.bytes()).toBe(BIG);
    expect(s.sha()).toBe(bigSha);
  });

  it('drop: plain Error at once, no reply; the partial file is a prefix of at most afterBytes', async () => {
    const h = await serve({ fault: { type: 'drop', afterBytes: 200_000 } });
    const c = await login(h, 10_000);
    const dest = out('drop.bin');
    const clock = watchStalls();
    const e = await rejection(c.downloadTo(dest, 'big.bin'));
    expect(clock.runningMs()).toBeLessThan(1_000); // at once, not after the 10 s timeout
    clock.stop();
    expect(e).not.toBeInstanceOf(FTPError);
    expect(e.message).toMatch(/FIN|closed/);
    const got = fs.readFileSync(dest);
    expect(got.length).toBeLessThanOrEqual(200_000);
    expect(got.equals(big.subarray(0, got.length))).toBe(true);
    await waitUntil(() => h.stats.activeSessions === 0, 'the session to end');
  });

  it('error: FTPError 426 after exactly afterBytes; the session stays usable', async () => {
    const h = await serve({ fault: { type: 'error', afterBytes: 300_000 } });
    const c = await login(h, 10_000);
    const dest = out('error.bin');
    const e = await rejection(c.downloadTo(dest, 'big.bin'));
    expect(e).toBeInstanceOf(FTPError);
    expect((e as FTPError).code).toBe(426);
    expect(e.message).toBe('426 Connection closed; transfer aborted.');
    const got = fs.readFileSync(dest);
    expect(got.length).toBe(300_000);
    expect(got.equals(big.subarray(0, 300_000))).toBe(true);
    h.setFault({ type: 'none' });
    await c.downloadTo(dest, 'big.bin', got.length); // resume on the same session
    expect(sha256(fs.readFileSync(dest))).toBe(bigSha);
  });

  it('refuse: new sessions get FTPError 421 at access(); existing ones keep working', async () => {
    const h = await serve();
    const before = await login(h);
    h.setFault({ type: 'refuse' });
    const e = await rejection(newClient(5_000).access({ host: h.host, port: h.port }));
    expect(e).toBeInstanceOf(FTPError);
    expect((e as FTPError).code).toBe(421);
    expect(h.stats.sessionsRejected).toBe(1);
    const s = sink();
    await before.downloadTo(s.stream, 'big.bin');
    expect(s.sha()).toBe(bigSha);
    h.setFault({ type: 'none' });
    await login(h);
    expect(h.stats.activeSessions).toBe(2);
  });

  it('kill() mid-transfer: the client fails at once and the port is closed', async () => {
    const h = await serve({ linkRate: 1_000_000 });
    const c = await login(h, 10_000);
    let progress = 0;
    c.trackProgress((info) => void (progress = info.bytes));
    const dest = out('kill.bin');
    const dl = c.downloadTo(dest, 'big.bin');
    await waitUntil(() => progress > 200_000, '200 kB');
    const clock = watchStalls();
    h.kill();
    const e = await rejection(dl);
    expect(clock.runningMs()).toBeLessThan(500); // at once, not after the 10 s timeout
    clock.stop();
    expect(e).not.toBeInstanceOf(FTPError);
    const got = fs.readFileSync(dest);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(BIG);
    expect(got.equals(big.subarray(0, got.length))).toBe(true);
    await waitUntil(() => h.stats.activeSessions === 0, 'sessions to end');
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(h.port, h.host);
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    const closing = watchStalls();
    await h.close();
    expect(closing.runningMs()).toBeLessThan(500);
    closing.stop();
  });
});

describe('emulated mirror: processes', () => {
  it('serve-main serves two roots; SIGSTOP makes basic-ftp time out; stop() reaps the process', async () => {
    const rootB = path.join(base, 'rootB');
    fs.mkdirSync(rootB, { recursive: true });
    const b = randomBytes(700_000);
    fs.writeFileSync(path.join(rootB, 'b.bin'), b);
    const mp = await startMirrorProcess({ roots: [root, rootB], rate: 2_000_000 });
    cleanups.push(() => mp.stop());
    expect(mp.servers.map((s) => s.root)).toEqual([root, rootB]);
    expect(mp.servers[0]!.port).not.toBe(mp.servers[1]!.port);
    for (const s of mp.servers) expect(s.url).toBe(`ftp://127.0.0.1:${s.port}/`);

    const ca = await login(mp.servers[0]!);
    const sa = sink();
    await ca.downloadTo(sa.stream, 'sub/inner.txt');
    expect(sa.bytes()).toBe(6);
    const cb = await login(mp.servers[1]!);
    const sb = sink();
    await cb.downloadTo(sb.stream, 'b.bin');
    expect(sb.sha()).toBe(sha256(b));

    const c = await login(mp.servers[0]!, 1_500);
    const s = sink();
    const dl = c.downloadTo(s.stream, 'big.bin'); // ~2.6 s at 2 MB/s
    await waitUntil(() => s.bytes() > 300_000, '300 kB');
    mp.signal('SIGSTOP');
    const t = performance.now();
    const e = await rejection(dl);
    expect(e.message).toBe('Timeout (data socket)');
    expect(performance.now() - t).toBeGreaterThanOrEqual(1_000);
    expect(s.bytes()).toBeLessThan(BIG);

    await mp.stop();
    expect(() => process.kill(mp.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('close() leaves nothing behind: a process with a stalled transfer, a pending PASV and a 421 exits by itself', async () => {
    const serverUrl = pathToFileURL(path.join(REPO, 'dist/emulator/server.js')).href;
    expect(fs.existsSync(fileURLToPath(serverUrl)), 'dist/ is built by the global setup (test/global-setup.ts)').toBe(true);
    const script = `
      import { startFtpServer } from ${JSON.stringify(serverUrl)};
      import { Client } from 'basic-ftp';
      import { Writable } from 'node:stream';
      const h = await startFtpServer({ root: ${JSON.stringify(root)}, linkRate: 200000, controlDelayMs: 5, maxSessions: 2,
        fault: { type: 'stall', afterBytes: 50000 } });
      const a = new Client(30000); await a.access({ host: h.host, port: h.port });
      const stalled = a.downloadTo(new Writable({ write(c, e, cb) { cb(); } }), 'big.bin').catch(() => {});
      const b = new Client(30000); await b.access({ host: h.host, port: h.port });
      await b.send('EPSV');
      const r = new Client(30000); await r.access({ host: h.host, port: h.port }).catch(() => {});
      await new Promise((res) => setTimeout(res, 300));
      const t = performance.now();
      await h.close();
      const closeMs = performance.now() - t;
      await stalled;
      a.close(); b.close(); r.close();
      process.stdout.write(JSON.stringify({ ...h.stats, closeMs }) + '\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    let closedAt = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      closedAt ||= performance.now();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(-1), 15_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code, stderr).toBe(0);
    expect(performance.now() - closedAt).toBeLessThan(5_000); // a leftover 10 s PASV timer would show here
    const result = JSON.parse(stdout) as { closeMs: number };
    expect(result).toMatchObject({ sessionsOpened: 2, sessionsRejected: 1, activeSessions: 0, transfers: 1, bytesSent: 50_000 });
    expect(result.closeMs).toBeLessThan(2_000); // every socket went away without the force, which comes at 2 s
  });
});
