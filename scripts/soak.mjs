#!/usr/bin/env node
// The chaos soak ("Trust no mirror"): several mirrors on 127.0.0.1 serve the same tree of files,
// embedded emulated servers and, when it is installed and we are root, real vsftpd instances.
// An injector picks, every few seconds (seeded, printed), a mirror and a fault: kill and restart,
// stop (SIGSTOP; a stall for an embedded one), 421 for a while, a copy cut short, a truncated or an
// altered copy on disk (same size and mtime), dropped or aborted transfers, a trickle. Meanwhile
// the real CLI (bin/smartftp.js get -i LIST -j N --json) downloads the whole tree; a run that ends
// with files missing is run again (it resumes) until the tree is complete, and the tree is then
// checked by sha256 against the originals and downloaded afresh (a round), until --minutes is up.
// Then the faults stop, every mirror is healed, the round under way completes, and one summary is
// printed. Exit 0 only when no file was ever wrong or missing.
//
// Every loop is bounded in count and time; only 127.0.0.1; only processes this script started
// are signalled, by PID; the temp directory is removed at the end. Needs `npm run build` first.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFtpServer } from '../dist/emulator/server.js';
import { SAMPLE_MTIME, writeSampleFile } from '../dist/emulator/sample-data.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'smartftp.js');
const HOST = '127.0.0.1';
const KiB = 1024;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options

const ALL_KINDS = ['kill', 'stop', 'refuse', 'short', 'truncated', 'altered', 'drop', 'error', 'trickle', 'outage'];
/** The share of draws that are an outage (every mirror without a fault killed at once), when 'outage' is among the kinds. */
const OUTAGE_SHARE = 0.05;
const USAGE = `usage: node scripts/soak.mjs [options]
  --minutes M         inject faults for M minutes (default 30); then heal, finish the round, check
  --max-faults N      at most N faults (default 2000)
  --files N           files in the tree (default 200), 0 B .. --max-size
  --max-size MIB      largest file in MiB (default 16)
  --seed S            seed of the tree and of the injector (default: random, printed)
  --jobs N            smartftp get -j N (default 4)
  --embedded N        embedded mirrors (default 3)
  --vsftpd N          vsftpd mirrors if vsftpd is installed and we are root (default 2; 0 = none)
  --interval A-B      seconds between two faults, uniform (default 1-4)
  --faults LIST       fault kinds to inject (default all: ${ALL_KINDS.join(',')})
  --max-runs N        smartftp runs per round at most (default 60)
  --settle-minutes M  after the faults stop, at most this long to complete the round (default 5)
  --no-checksums      publish no SHA256SUMS (then only sizes and overlaps guard against spoiled copies)
  --log FILE          also write every line printed, and every JSON event, to FILE
  --keep              keep the temp directory (trees, downloads, events)`;

function fail(msg) {
  console.error(`soak: ${msg}\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      'max-faults': { type: 'string', default: '2000' },
      files: { type: 'string', default: '200' },
      'max-size': { type: 'string', default: '16' },
      seed: { type: 'string' },
      jobs: { type: 'string', default: '4' },
      embedded: { type: 'string', default: '3' },
      vsftpd: { type: 'string', default: '2' },
      interval: { type: 'string', default: '1-4' },
      faults: { type: 'string', default: ALL_KINDS.join(',') },
      'max-runs': { type: 'string', default: '60' },
      'settle-minutes': { type: 'string', default: '5' },
      log: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-checksums': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  fail(error.message);
}
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}

function num(name, min, max, integer = true) {
  const v = Number(parsed[name]);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) fail(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${parsed[name]}`);
  return v;
}

const opt = {
  minutes: num('minutes', 0.05, 24 * 60, false),
  maxFaults: num('max-faults', 0, 1e6),
  files: num('files', 8, 5000),
  maxSize: Math.round(num('max-size', 0.125, 64, false) * MiB),
  seed: parsed.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : num('seed', 0, 2 ** 32 - 1),
  jobs: num('jobs', 1, 32),
  embedded: num('embedded', 0, 8),
  vsftpd: num('vsftpd', 0, 4),
  maxRuns: num('max-runs', 1, 10_000),
  settleMinutes: num('settle-minutes', 0.1, 60, false),
  keep: parsed.keep,
  checksums: !parsed['no-checksums'],
};
const interval = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(parsed.interval);
if (!interval || Number(interval[1]) < 0.2 || Number(interval[2]) < Number(interval[1]) || Number(interval[2]) > 600) fail(`--interval must look like 1-5 (seconds, from 0.2), got ${parsed.interval}`);
opt.interval = [Number(interval[1]), Number(interval[2])];
opt.kinds = parsed.faults.split(',').map((k) => k.trim()).filter(Boolean);
for (const k of opt.kinds) if (!ALL_KINDS.includes(k)) fail(`unknown fault kind ${k} (kinds: ${ALL_KINDS.join(', ')})`);

// ---------------------------------------------------------------------------------------------
// Output: every line to stdout, and to --log if given.

const T0 = Date.now();
const logFd = parsed.log ? fs.openSync(parsed.log, 'w') : undefined;
const elapsed = () => (Date.now() - T0) / 1000;
const stamp = () => `[${elapsed().toFixed(1).padStart(7)}s]`;
function say(line = '') {
  console.log(line);
  if (logFd !== undefined) fs.writeSync(logFd, line + '\n');
}
function logEvent(run, e) {
  if (logFd !== undefined) fs.writeSync(logFd, `event ${elapsed().toFixed(2)} run ${run} ${JSON.stringify(e)}\n`);
}

const fmtBytes = (n) => {
  const a = Math.abs(n);
  const s = a >= 1024 ** 3 ? `${(a / 1024 ** 3).toFixed(2)} GiB` : a >= MiB ? `${(a / MiB).toFixed(1)} MiB` : a >= KiB ? `${(a / KiB).toFixed(1)} KiB` : `${a} B`;
  return `${n < 0 ? '-' : ''}${s}`;
};

// ---------------------------------------------------------------------------------------------
// Seeded random (mulberry32): one stream for the tree, one for the injector.

function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo, hi) => lo + next() * (hi - lo),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `promise`'s value, or undefined after `ms`; the timer is cleared either way, so it holds nothing up. */
async function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The tree: mixed sizes with the edges (0 B, 1 B, around the 64 KiB overlap, the largest), unique
// base names in a few subdirectories (get -d keeps base names only).

function makeSizes(n, maxSize, rnd) {
  const edges = [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, maxSize - 1];
  const large = Math.max(2, Math.round(n / 50));
  const sizes = [...edges, ...Array(large).fill(maxSize)];
  while (sizes.length < n) {
    if (rnd.next() < 0.1) sizes.push(rnd.int(0, 4 * KiB));
    else sizes.push(Math.min(maxSize, Math.round(Math.exp(rnd.between(Math.log(4 * KiB), Math.log(maxSize / 2))))));
  }
  return sizes.slice(0, n);
}

function sha256File(path) {
  return createHash('sha256').update(fs.readFileSync(path)).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Temp directory and cleanup

const work = fs.mkdtempSync(join(tmpdir(), 'smartftp-soak-'));
fs.chmodSync(work, 0o755); // vsftpd's ftp user must reach the mirror roots (it chroots as root, but be plain)
const origDir = join(work, 'orig');
const altDir = join(work, 'alt');
const outDir = join(work, 'out');
const stateDir = join(work, 'state');
for (const d of [origDir, altDir]) fs.mkdirSync(d, { mode: 0o755 });

/** Processes we started and may have to kill on the way out (vsftpd listeners, the smartftp child). */
const cleanups = new Set();
let cleanedUp = false;
function cleanupSync() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // going away anyway
    }
  }
  if (!opt.keep) fs.rmSync(work, { recursive: true, force: true });
}
process.once('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    say(`\nsoak: ${sig}: stopping what it started and removing ${work}`);
    cleanupSync();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// vsftpd (what test/helpers/vsftpd.ts found: config owned by root, errors on fd 0, sessions
// setsid() away from the listener so they are found through /proc, isolation and seccomp off).

function vsftpdBinary() {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/sbin', ...(process.env.PATH ?? '').split(':')]) {
    if (!dir) continue;
    const p = join(dir, 'vsftpd');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readProc(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}
const alive = (pid) => {
  const p = readProc(pid);
  return p !== undefined && p.state !== 'Z' && p.state !== 'X';
};
function trySignal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One vsftpd mirror: a fixed port, config path and root across restarts. */
class VsftpdMirror {
  kind = 'vsftpd';
  supports = new Set(['kill', 'stop', 'refuse', 'truncated', 'altered', 'drop', 'trickle']);
  busy = false;
  listener; // ChildProcess of the listener, while it runs
  responder; // the 421 server standing in for it during 'refuse'
  logLinesSeen = 0;

  constructor(bin, name, root, port, pasv, rate) {
    Object.assign(this, { bin, name, root, port, pasv, rate });
    this.dir = join(work, 'vsftpd', name);
    fs.mkdirSync(join(this.dir, 'empty'), { recursive: true, mode: 0o755 });
    fs.chmodSync(join(this.dir, 'empty'), 0o755);
    this.conf = join(this.dir, 'vsftpd.conf');
    this.logFile = join(this.dir, 'vsftpd.log');
    this.banner = `smartftp soak ${name} ${process.pid}`;
    this.url = `ftp://${HOST}:${port}/`;
    cleanups.add(() => this.killAllSync());
  }

  writeConf(rate) {
    const lines = [
      'listen=YES', 'listen_ipv6=NO', 'background=NO', `listen_address=${HOST}`, `listen_port=${this.port}`,
      `ftpd_banner=${this.banner}`, 'anonymous_enable=YES', 'local_enable=NO', 'write_enable=NO',
      `anon_root=${this.root}`, `secure_chroot_dir=${join(this.dir, 'empty')}`, 'pasv_enable=YES',
      `pasv_min_port=${this.pasv.min}`, `pasv_max_port=${this.pasv.max}`, 'connect_from_port_20=NO',
      'seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO', 'syslog_enable=NO', 'dirmessage_enable=NO',
      'use_localtime=NO', 'max_clients=16', `anon_max_rate=${rate}`,
      // vsftpd's own log format: one line per transfer, "OK DOWNLOAD" or "FAIL DOWNLOAD" with the bytes sent
      'xferlog_enable=YES', 'xferlog_std_format=NO', `vsftpd_log_file=${this.logFile}`,
    ];
    fs.writeFileSync(this.conf, lines.join('\n') + '\n', { mode: 0o600 });
  }

  /** Start the listener on our port (retrying while the port is still held); waits for our banner. */
  async startListener(rate = this.rate) {
    this.writeConf(rate);
    let last = '';
    for (let attempt = 1; attempt <= 25; attempt++) {
      const errPath = join(this.dir, 'fd0.txt');
      const errFd = fs.openSync(errPath, 'w');
      let child;
      try {
        child = spawn(this.bin, [this.conf], { detached: true, stdio: [errFd, 'ignore', 'ignore'] });
      } finally {
        fs.closeSync(errFd);
      }
      let exited = false;
      child.once('exit', () => (exited = true));
      child.once('error', () => (exited = true));
      const ok = await this.waitBanner(3_000, () => exited);
      if (ok && !exited) {
        child.unref();
        this.listener = child;
        return;
      }
      if (!exited) {
        trySignal(child.pid, 'SIGKILL');
        await sleep(50);
      }
      last = fs.readFileSync(errPath, 'utf8').trim();
      await sleep(200);
    }
    throw new Error(`vsftpd ${this.name} did not start on port ${this.port}: ${last || 'no banner'}`);
  }

  async waitBanner(ms, exited) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !exited()) {
      const text = await new Promise((resolve) => {
        const s = net.connect({ host: HOST, port: this.port });
        let buf = '';
        const done = (v) => {
          s.destroy();
          resolve(v);
        };
        s.setTimeout(1_000, () => done(buf));
        s.on('data', (d) => {
          buf += d.toString('latin1');
          if (buf.includes('\r\n')) done(buf);
        });
        s.on('error', () => done(''));
        s.on('close', () => done(buf));
      });
      if (text.startsWith('220') && text.includes(this.banner)) return true;
      await sleep(30);
    }
    return false;
  }

  /** The listener and every session process of this instance (sessions found by our config path in argv). */
  processes() {
    const infos = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const info = readProc(Number(name));
      if (info) infos.push(info);
    }
    const found = new Set();
    const lpid = this.listener && this.listener.exitCode === null && this.listener.signalCode === null ? this.listener.pid : undefined;
    const queue = lpid ? [lpid] : [];
    while (queue.length) {
      const parent = queue.shift();
      for (const i of infos) if (i.ppid === parent && !found.has(i.pid)) (found.add(i.pid), queue.push(i.pid));
    }
    for (const i of infos) {
      if (found.has(i.pid) || i.pid === lpid) continue;
      try {
        if (fs.readFileSync(`/proc/${i.pid}/cmdline`, 'utf8').split('\0').includes(this.conf)) found.add(i.pid);
      } catch {
        // gone
      }
    }
    return { listener: lpid, sessions: [...found] };
  }

  /** `sig` to the listener (frozen first, so that it forks no session meanwhile) and to every session. */
  signalAll(sig) {
    const { listener } = this.processes();
    if (listener) {
      trySignal(listener, 'SIGSTOP');
      for (let i = 0; i < 200 && readProc(listener)?.state !== 'T'; i++) sleepSync(1);
    }
    for (const pid of this.processes().sessions) trySignal(pid, sig);
    if (listener) {
      trySignal(listener, sig);
      if (sig !== 'SIGSTOP' && sig !== 'SIGKILL') trySignal(listener, 'SIGCONT');
    }
  }

  async killListener() {
    const child = this.listener;
    if (!child) return;
    this.listener = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      trySignal(child.pid, 'SIGKILL');
      await within(gone, 3_000);
    }
  }

  killSessions() {
    const { sessions } = this.processes();
    for (const pid of sessions) trySignal(pid, 'SIGKILL');
    return sessions.length;
  }

  async killAll() {
    this.signalAll('SIGKILL');
    await this.killListener();
    this.killSessions();
    for (let i = 0; i < 100 && this.processes().sessions.some(alive); i++) await sleep(20);
  }

  killAllSync() {
    const { listener, sessions } = this.processes();
    if (listener) trySignal(listener, 'SIGKILL');
    for (const pid of sessions) trySignal(pid, 'SIGKILL');
    if (this.responder) {
      for (const s of this.responder.sockets) s.destroy();
      this.responder.close();
    }
  }

  /** A stand-in on our port that greets every connection with 421 and closes it. */
  async startResponder() {
    for (let attempt = 1; attempt <= 25; attempt++) {
      const sockets = new Set();
      const srv = net.createServer((s) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {});
        s.resume(); // read (and drop) what comes: a paused socket never sees the client's FIN, and close() would wait for it
        s.setTimeout(2_000, () => s.destroy());
        s.end('421 Service not available, closing control connection.\r\n');
      });
      srv.sockets = sockets;
      const ok = await new Promise((resolve) => {
        srv.once('error', () => resolve(false));
        srv.listen({ host: HOST, port: this.port, exclusive: true }, () => resolve(true));
      });
      if (ok) {
        this.responder = srv;
        return;
      }
      await sleep(100);
    }
    throw new Error(`${this.name}: port ${this.port} stayed busy for the 421 stand-in`);
  }

  async stopResponder() {
    const srv = this.responder;
    this.responder = undefined;
    if (!srv) return;
    const closed = new Promise((resolve) => srv.close(resolve));
    for (const s of srv.sockets) s.destroy();
    if ((await within(closed.then(() => true), 3_000)) !== true) throw new Error(`${this.name}: the 421 stand-in did not close`);
  }

  /** Bytes vsftpd logged as sent (OK and FAIL downloads); a SIGKILLed session logs nothing. */
  loggedBytes() {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return { bytes: 0, transfers: 0 };
    }
    let bytes = 0;
    let transfers = 0;
    for (const m of text.matchAll(/(?:OK|FAIL) DOWNLOAD: .*?, (\d+) bytes/g)) {
      bytes += Number(m[1]);
      transfers++;
    }
    return { bytes, transfers };
  }

  async stop() {
    await this.stopResponder();
    this.signalAll('SIGCONT');
    await this.killAll();
  }
}

/** One embedded mirror (in this process): a fixed port and root across restarts. */
class EmbeddedMirror {
  kind = 'embedded';
  supports = new Set(['kill', 'stop', 'refuse', 'short', 'truncated', 'altered', 'drop', 'error', 'trickle']);
  busy = false;
  handle;
  bytesBefore = 0; // bytes sent by the handles of earlier lives (before a kill)
  transfersBefore = 0;

  constructor(name, root, rate) {
    Object.assign(this, { name, root, rate });
  }

  async start(port = 0) {
    let last;
    for (let attempt = 1; attempt <= 50; attempt++) {
      try {
        this.handle = await startFtpServer({ root: this.root, port, linkRate: this.rate, maxSessions: 16 });
        this.port = this.handle.port;
        this.url = this.handle.url;
        return;
      } catch (e) {
        last = e;
        if (e.code !== 'EADDRINUSE') throw e;
        await sleep(100);
      }
    }
    throw new Error(`${this.name}: port ${port} stayed busy: ${last?.message}`);
  }

  kill() {
    this.bytesBefore += this.handle.stats.bytesSent;
    this.transfersBefore += this.handle.stats.transfers;
    this.handle.kill();
    this.handle = undefined;
  }

  get sent() {
    return { bytes: this.bytesBefore + (this.handle?.stats.bytesSent ?? 0), transfers: this.transfersBefore + (this.handle?.stats.transfers ?? 0) };
  }

  async stop() {
    if (this.handle) {
      const h = this.handle;
      this.bytesBefore += h.stats.bytesSent;
      this.transfersBefore += h.stats.transfers;
      this.handle = undefined;
      await h.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration, printed first

const vsBin = vsftpdBinary();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const vsNote =
  opt.vsftpd === 0 ? 'vsftpd: none asked (--vsftpd 0)'
  : !vsBin ? 'vsftpd: NOT INSTALLED, embedded mirrors only (apt-get install -y vsftpd)'
  : !isRoot ? 'vsftpd: installed but not root, embedded mirrors only (vsftpd must start as root)'
  : undefined;
const vsCount = vsNote ? 0 : opt.vsftpd;
if (opt.embedded + vsCount < 2) fail('at least two mirrors are needed (--embedded, --vsftpd)');
const EMB_RATES = [10, 6, 3].map((m) => m * MiB); // bytes/s per embedded server (shared by its transfers)
const VS_RATE = 2 * MiB; // bytes/s per vsftpd session
const TRICKLE = [16 * KiB, 64 * KiB];
const STALL_TIMEOUT_S = 5;

const treeRnd = prng(opt.seed);
const injRnd = prng(opt.seed ^ 0x9e3779b9);
const sizes = makeSizes(opt.files, opt.maxSize, treeRnd);
const DIRS = ['a', 'b/c', 'd', 'e/f/g'];
const tree = sizes.map((size, i) => ({ path: `${DIRS[i % DIRS.length]}/f${String(i).padStart(4, '0')}-${size}.bin`, size, seed: (opt.seed * 7919 + i + 1) >>> 0 }));
const treeBytes = tree.reduce((a, f) => a + f.size, 0);

say('== smartftp chaos soak');
say(`seed ${opt.seed} (the injector's timing also depends on the runs, so a seed fixes the tree and the draws, not the whole story)`);
say(`faults for ${opt.minutes} min or ${opt.maxFaults} faults, one every ${opt.interval[0]}-${opt.interval[1]} s, kinds: ${opt.kinds.join(', ')}`);
say(`tree: ${tree.length} files, ${fmtBytes(treeBytes)}, ${fmtBytes(Math.min(...sizes))} .. ${fmtBytes(Math.max(...sizes))}, in ${DIRS.length} directories, unique base names`);
say(`client: ${cli} get -i LIST -j ${opt.jobs} -d DIR --json (stall_timeout ${STALL_TIMEOUT_S}s), at most ${opt.maxRuns} runs a round, settle ${opt.settleMinutes} min`);
say(`mirrors: ${opt.embedded} embedded (link ${EMB_RATES.slice(0, opt.embedded).map((r) => fmtBytes(r) + '/s').join(', ')}${opt.embedded > 3 ? ', ...' : ''}), ${vsNote ?? `${vsCount} vsftpd (${vsBin}, ${fmtBytes(VS_RATE)}/s per session)`}`);
say(`work dir: ${work}${opt.keep ? ' (kept)' : ' (removed at the end)'}`);

// ---------------------------------------------------------------------------------------------
// Build the tree and the mirrors' roots (hard links to the originals: a fault replaces a link by
// another file, and the restore links the original back; in-flight transfers keep their file)

const t1 = Date.now();
const origSha = new Map();
for (const f of tree) {
  const p = join(origDir, f.path);
  fs.mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
  origSha.set(f.path, writeSampleFile(p, f.size, f.seed));
  fs.chmodSync(p, 0o644);
}
// Each directory's SHA256SUMS, as release trees publish them (named in the certificate).
const published = [];
if (opt.checksums) {
  const byDir = new Map();
  for (const f of tree) byDir.set(dirname(f.path), [...(byDir.get(dirname(f.path)) ?? []), f.path]);
  for (const [dir, paths] of byDir) {
    const path = join(dir, 'SHA256SUMS');
    fs.writeFileSync(join(origDir, path), paths.map((p) => `${origSha.get(p)}  ${basename(p)}\n`).join(''), { mode: 0o644 });
    published.push(path);
  }
}
const mirrors = [];
function linkTree(root) {
  for (const f of [...tree, ...published.map((path) => ({ path }))]) {
    const p = join(root, f.path);
    fs.mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
    fs.linkSync(join(origDir, f.path), p);
  }
  fs.chmodSync(root, 0o755);
}

let pasvBlock = (process.pid * 37) % 300;
try {
  for (let i = 0; i < opt.embedded; i++) {
    const name = `emb-${i + 1}`;
    const root = join(work, 'm', name);
    linkTree(root);
    const m = new EmbeddedMirror(name, root, EMB_RATES[i % EMB_RATES.length]);
    await m.start();
    mirrors.push(m);
  }
  for (let i = 0; i < vsCount; i++) {
    const name = `vs-${i + 1}`;
    const root = join(work, 'm', name);
    linkTree(root);
    for (const dir of DIRS) for (let d = join(root, dir); d !== root; d = dirname(d)) fs.chmodSync(d, 0o755);
    const min = 20_000 + (pasvBlock++ % 300) * 32;
    const m = new VsftpdMirror(vsBin, name, root, await freePort(), { min, max: min + 31 }, VS_RATE);
    await m.startListener();
    mirrors.push(m);
  }
} catch (error) {
  say(`soak: could not start the mirrors: ${error.message}`);
  for (const m of mirrors) await m.stop().catch(() => {});
  process.exit(1);
}
say(`built the tree and ${mirrors.length} mirror roots in ${((Date.now() - t1) / 1000).toFixed(1)} s: ${mirrors.map((m) => `${m.name} ${m.url}`).join(', ')}`);

const certPath = join(work, 'mirrors.yaml');
fs.writeFileSync(
  certPath,
  [
    'service: soak.smartftp.test',
    'director:',
    '  policy: ranked',
    `  stall_timeout: ${STALL_TIMEOUT_S}s`,
    '  connect_timeout: 5s',
    ...(opt.checksums ? ['checksums: SHA256SUMS'] : []),
    'mirrors:',
    ...mirrors.flatMap((m) => [`  - url: ${m.url}`, `    name: ${m.name}`, '    max_connections: 4']),
  ].join('\n') + '\n',
);

// ---------------------------------------------------------------------------------------------
// The injector

const faultCounts = Object.fromEntries(ALL_KINDS.map((k) => [k, 0]));
const faultLog = []; // { id, t, end, kind, mirror, detail }
const alterations = []; // { faultId, mirror, path, t, end, at, length } (altered or truncated copies)
const injectorErrors = [];
let skippedAllBusy = 0;
const heal = new AbortController(); // aborted at the deadline: every fault ends now
let pendingPaths = new Set(tree.map((f) => f.path)); // files not yet complete in this round
let altSeq = 0;

/** Put a file of `data` in place of the mirror's link at `path` (same mtime), atomically. */
function replaceFile(m, path, data) {
  const tmp = join(altDir, `${m.name}-${altSeq++}`);
  fs.writeFileSync(tmp, data, { mode: 0o644 });
  fs.utimesSync(tmp, SAMPLE_MTIME, SAMPLE_MTIME);
  fs.renameSync(tmp, join(m.root, path));
}
function restoreFile(m, path) {
  const tmp = join(altDir, `${m.name}-${altSeq++}`);
  fs.linkSync(join(origDir, path), tmp);
  fs.renameSync(tmp, join(m.root, path));
}

/** Files for an on-disk fault: some of the ones still to download this round (all if none left). */
function filesToSpoil(rnd, count) {
  const pending = tree.filter((f) => f.size > 0 && pendingPaths.has(f.path));
  const pool = pending.length > 0 ? pending : tree.filter((f) => f.size > 0);
  const chosen = new Set();
  for (let i = 0; i < count * 4 && chosen.size < Math.min(count, pool.length); i++) chosen.add(rnd.pick(pool));
  return [...chosen];
}

async function inject(m, kind, id, rnd) {
  const rec = { id, t: elapsed(), end: undefined, kind, mirror: m.name, detail: '' };
  faultLog.push(rec);
  const start = (detail) => {
    rec.detail = detail;
    say(`${stamp()} fault #${id} ${kind} ${m.name}: ${detail}`);
  };
  const emb = m.kind === 'embedded';
  try {
    switch (kind) {
      case 'kill': {
        const down = rnd.between(0.5, 6);
        start(`${emb ? 'kill()' : 'SIGKILL listener and sessions'}, restart in ${down.toFixed(1)} s`);
        if (emb) m.kill();
        else await m.killAll();
        await sleep(down * 1000, heal.signal);
        if (emb) await m.start(m.port);
        else await m.startListener();
        break;
      }
      case 'stop': {
        const s = rnd.between(1, 15);
        if (emb) {
          const after = rnd.int(0, 2 * MiB);
          start(`stall after ${after} bytes of each transfer, for ${s.toFixed(1)} s`);
          m.handle.setFault({ type: 'stall', afterBytes: after });
          await sleep(s * 1000, heal.signal);
          m.handle?.setFault({ type: 'none' });
        } else {
          start(`SIGSTOP listener and sessions, SIGCONT in ${s.toFixed(1)} s`);
          m.signalAll('SIGSTOP');
          await sleep(s * 1000, heal.signal);
          m.signalAll('SIGCONT');
        }
        break;
      }
      case 'refuse': {
        const s = rnd.between(1, 10);
        if (emb) {
          start(`421 to every new session for ${s.toFixed(1)} s`);
          m.handle.setFault({ type: 'refuse' });
          await sleep(s * 1000, heal.signal);
          m.handle?.setFault({ type: 'none' });
        } else {
          start(`listener replaced by a 421 responder for ${s.toFixed(1)} s (sessions under way go on)`);
          await m.killListener();
          await m.startResponder();
          await sleep(s * 1000, heal.signal);
          await m.stopResponder();
          await m.startListener();
        }
        break;
      }
      case 'short':
      case 'drop':
      case 'error': {
        const s = rnd.between(1, 10);
        const after = rnd.int(0, 4 * MiB);
        const what = { short: 'data ends cleanly with 226', drop: 'data and control sockets destroyed', error: 'data closed, 426' }[kind];
        if (emb) {
          start(`${what} after ${after} bytes of each transfer, for ${s.toFixed(1)} s`);
          m.handle.setFault({ type: kind, afterBytes: after });
          await sleep(s * 1000, heal.signal);
          m.handle?.setFault({ type: 'none' });
        } else {
          // vsftpd: drop only (kill the session processes: data and control connections die)
          const n = m.killSessions();
          start(`SIGKILL to the ${n} session process(es) under way`);
        }
        break;
      }
      case 'trickle': {
        const rate = Math.round(rnd.between(TRICKLE[0], TRICKLE[1]));
        const s = rnd.between(3, 15);
        if (emb) {
          start(`link ${fmtBytes(rate)}/s for ${s.toFixed(1)} s`);
          m.handle.setLinkRate(rate);
          await sleep(s * 1000, heal.signal);
          m.handle?.setLinkRate(m.rate);
        } else {
          start(`listener restarted with ${fmtBytes(rate)}/s per session for ${s.toFixed(1)} s (new sessions trickle)`);
          await m.killListener();
          await m.startListener(rate);
          await sleep(s * 1000, heal.signal);
          await m.killListener();
          await m.startListener();
        }
        break;
      }
      case 'altered':
      case 'truncated': {
        const s = rnd.between(3, 20);
        const files = filesToSpoil(rnd, rnd.int(1, Math.max(1, Math.round(tree.length / 40))));
        const parts = [];
        const mine = [];
        for (const f of files) {
          const data = fs.readFileSync(join(origDir, f.path));
          if (kind === 'altered') {
            const length = Math.min(f.size, rnd.int(1, 16));
            const at = rnd.int(0, f.size - length);
            for (let i = at; i < at + length; i++) data[i] ^= 0x5a;
            replaceFile(m, f.path, data);
            parts.push(`${basename(f.path)} bytes ${at}..${at + length - 1}`);
            mine.push({ faultId: id, kind, mirror: m.name, path: f.path, t: elapsed(), end: undefined, at, length });
          } else {
            const keep = rnd.int(0, f.size - 1);
            replaceFile(m, f.path, data.subarray(0, keep));
            parts.push(`${basename(f.path)} to ${keep} of ${f.size} bytes`);
            mine.push({ faultId: id, kind, mirror: m.name, path: f.path, t: elapsed(), end: undefined, at: keep, length: f.size - keep });
          }
        }
        alterations.push(...mine);
        start(`${kind === 'altered' ? 'altered' : 'truncated'} copies (same mtime) for ${s.toFixed(1)} s: ${parts.join('; ')}`);
        await sleep(s * 1000, heal.signal);
        for (const a of mine) {
          restoreFile(m, a.path);
          a.end = elapsed();
        }
        break;
      }
    }
  } catch (error) {
    injectorErrors.push(`#${id} ${kind} ${m.name}: ${error.message}`);
    say(`${stamp()} fault #${id} ${kind} ${m.name}: INJECTOR ERROR ${error.message}`);
  } finally {
    rec.end = elapsed();
  }
}

/** Every mirror that has no fault now is killed at once, and all restart together a while later. */
async function outage(list, id, rnd) {
  const names = list.map((m) => m.name);
  const rec = { id, t: elapsed(), end: undefined, kind: 'outage', mirror: names.join(','), detail: '' };
  faultLog.push(rec);
  const down = rnd.between(2, 12);
  rec.detail = `${names.length === mirrors.length ? 'every mirror' : `every mirror without a fault (${names.join(', ')})`} killed, restart in ${down.toFixed(1)} s`;
  say(`${stamp()} fault #${id} outage: ${rec.detail}`);
  try {
    for (const m of list) m.kind === 'embedded' ? m.kill() : await m.killAll();
    await sleep(down * 1000, heal.signal);
    for (const m of list) m.kind === 'embedded' ? await m.start(m.port) : await m.startListener();
  } catch (error) {
    injectorErrors.push(`#${id} outage: ${error.message}`);
    say(`${stamp()} fault #${id} outage: INJECTOR ERROR ${error.message}`);
  } finally {
    rec.end = elapsed();
  }
}

/** Until the deadline or max-faults: every few seconds one fault on a mirror that has none. */
async function injector(deadline) {
  const running = new Set();
  let id = 0;
  while (id < opt.maxFaults && Date.now() < deadline && !heal.signal.aborted) {
    const wait = injRnd.between(opt.interval[0], opt.interval[1]) * 1000;
    if (!(await sleep(Math.min(wait, Math.max(0, deadline - Date.now())), heal.signal))) break;
    if (Date.now() >= deadline) break;
    const free = mirrors.filter((m) => !m.busy);
    if (free.length === 0) {
      skippedAllBusy++;
      continue;
    }
    if (opt.kinds.includes('outage') && (opt.kinds.length === 1 || injRnd.next() < OUTAGE_SHARE)) {
      id++;
      faultCounts.outage++;
      for (const m of free) m.busy = true;
      const p = outage(free, id, injRnd).finally(() => {
        for (const m of free) m.busy = false;
        running.delete(p);
      });
      running.add(p);
      continue;
    }
    const m = injRnd.pick(free.filter((x) => opt.kinds.some((k) => x.supports.has(k))));
    if (m === undefined) continue;
    const kind = injRnd.pick(opt.kinds.filter((k) => m.supports.has(k)));
    id++;
    faultCounts[kind]++;
    m.busy = true;
    const p = inject(m, kind, id, injRnd).finally(() => {
      m.busy = false;
      running.delete(p);
    });
    running.add(p);
  }
  heal.abort();
  // Every fault is undone at once now; one that takes longer than a minute is a fault of the soak.
  const settled = await within(Promise.allSettled([...running]).then(() => true), 60_000);
  if (settled !== true) {
    for (const f of faultLog.filter((x) => x.end === undefined)) injectorErrors.push(`fault #${f.id} ${f.kind} ${f.mirror} was still not undone a minute after the faults ended`);
  }
  return id;
}

/** Faults that should long be over (the longest lasts 20 s): said once each, and counted as the soak's own errors. */
const stuckSeen = new Set();
const stuckWatch = setInterval(() => {
  for (const f of faultLog) {
    if (f.end === undefined && elapsed() - f.t > 90 && !stuckSeen.has(f.id)) {
      stuckSeen.add(f.id);
      injectorErrors.push(`fault #${f.id} ${f.kind} ${f.mirror} still not undone ${Math.round(elapsed() - f.t)} s after it began`);
      say(`${stamp()} fault #${f.id} ${f.kind} ${f.mirror}: STUCK, not undone ${Math.round(elapsed() - f.t)} s after it began`);
    }
  }
}, 5_000);
stuckWatch.unref();

// ---------------------------------------------------------------------------------------------
// Runs of the real CLI

const stats = {
  runs: 0,
  exitCodes: {},
  failovers: 0,
  failoverKinds: {},
  failoverMirrors: {},
  errors: 0,
  warnings: 0,
  warningSamples: [],
  done: 0,
  doneBytes: 0, // sum of done events' bytesByMirror
  resumedFrom: 0, // sum of done events' resumedFrom (bytes a previous run left)
  byMirror: {},
  nonJson: 0,
  hungRuns: 0,
  stderrTail: [],
  maxListenerRuns: new Set(),
};
let history = new Map(); // path -> [{t, run, text}] for this round: why a wrong file is wrong
let runChild;
const RUN_TIMEOUT_MS = 15 * 60_000;

function note(file, run, text) {
  const key = file.replace(/^\//, '');
  if (!history.has(key)) history.set(key, []);
  history.get(key).push({ t: elapsed(), run, text });
}

function onEvent(e, run) {
  logEvent(run, e);
  switch (e.type) {
    case 'failover':
      stats.failovers++;
      stats.failoverKinds[e.kind] = (stats.failoverKinds[e.kind] ?? 0) + 1;
      stats.failoverMirrors[e.mirror] = (stats.failoverMirrors[e.mirror] ?? 0) + 1;
      note(e.file, run, `failover ${e.mirror} ${e.kind} at ${e.bytes}: ${e.message}`);
      break;
    case 'attempt':
      note(e.file, run, `attempt ${e.mirror} from ${e.offset}/${e.size}${e.reused ? ' (reused connection)' : ''}`);
      break;
    case 'probe':
      note(e.file, run, `probe ${e.mirror} ${e.bytes} bytes`);
      break;
    case 'start':
      note(e.file, run, `start at ${e.offset}${e.size !== undefined ? ` of ${e.size}` : ''}`);
      break;
    case 'done': {
      stats.done++;
      const got = Object.values(e.bytesByMirror).reduce((a, b) => a + b, 0);
      stats.doneBytes += got;
      stats.resumedFrom += e.resumedFrom;
      for (const [k, v] of Object.entries(e.bytesByMirror)) stats.byMirror[k] = (stats.byMirror[k] ?? 0) + v;
      note(e.file, run, `done ${e.size} bytes, resumed from ${e.resumedFrom}, by mirror ${JSON.stringify(e.bytesByMirror)}`);
      break;
    }
    case 'error':
      stats.errors++;
      note(e.file, run, `error: ${e.message}`);
      break;
    case 'warning': {
      stats.warnings++;
      if (stats.warningSamples.length < 5) stats.warningSamples.push(e.message);
      const f = tree.find((x) => e.message.startsWith(x.path) || e.message.startsWith('/' + x.path));
      if (f) note(f.path, run, `warning: ${e.message}`);
      break;
    }
  }
}

/** One run of `smartftp get` over `paths`; resolves with its exit code (or 'timeout'). */
function runOnce(paths, runNo, timeoutMs) {
  const list = join(work, `list-${runNo}.txt`);
  fs.writeFileSync(list, paths.join('\n') + '\n');
  const args = [cli, 'get', '-i', list, '-j', String(opt.jobs), '-d', outDir, '--cert', certPath, '--state-dir', stateDir, '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  runChild = child;
  const killer = () => trySignal(child.pid, 'SIGKILL');
  cleanups.add(killer);
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      stats.nonJson++;
      return;
    }
    onEvent(e, runNo);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.includes('MaxListenersExceededWarning')) stats.maxListenerRuns.add(runNo);
    stats.stderrTail.push(`run ${runNo}: ${line}`);
    if (stats.stderrTail.length > 20) stats.stderrTail.shift();
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      say(`${stamp()} run ${runNo} still going after ${timeoutMs / 1000} s: SIGINT, then SIGKILL 10 s later`);
      trySignal(child.pid, 'SIGINT');
      setTimeout(killer, 10_000).unref();
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      cleanups.delete(killer);
      runChild = undefined;
      resolve(timedOut ? 'timeout' : code ?? signal);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Rounds: download the tree until complete (runs resume), check it, start afresh

const deadline = T0 + opt.minutes * 60_000;
say(`${stamp()} faults start`);
const injecting = injector(deadline).then((n) => {
  say(`${stamp()} faults end after ${n} (every mirror healed)`);
  return n;
});
let injectorDone = false;
void injecting.then(() => (injectorDone = true));

const rounds = [];
const wrongFiles = []; // { round, path, what, firstDiff }
let missingTotal = 0;
let settleDeadline;
let round = 0;
let bytesChecked = 0;
let filesChecked = 0;

function firstDiff(path, dest) {
  const a = fs.readFileSync(join(origDir, path));
  const b = fs.readFileSync(dest);
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  let last = n - 1;
  while (last > i && a[last] === b[last]) last--;
  return { at: i, last, sizes: `${b.length} bytes, the original ${a.length}`, short: a.length - b.length };
}

/**
 * Why a file is wrong, when the faults say: its differing bytes all lie in a region that a mirror
 * served altered (or cut short) during this round, and that mirror sent bytes of the file.
 */
function explain(f, diff, h, roundStart) {
  const done = h.filter((x) => x.text.startsWith('done ')).at(-1)?.text ?? '';
  const sent = (mirror) => done.includes(`"${mirror}":`) || h.some((x) => x.text.startsWith(`attempt ${mirror} `));
  for (const a of alterations) {
    if (a.path !== f.path || !sent(a.mirror) || (a.end ?? Infinity) < roundStart) continue;
    if (a.kind === 'altered' && diff.at >= a.at && diff.last <= a.at + a.length - 1) {
      return `the altered copy of fault #${a.faultId} on ${a.mirror} (bytes ${a.at}..${a.at + a.length - 1}), accepted: no resume put the overlap check over those bytes`;
    }
    if (a.kind === 'truncated' && diff.sizes.startsWith(`${a.at} bytes`)) {
      return `the truncated copy of fault #${a.faultId} on ${a.mirror} (${a.at} of ${f.size} bytes), accepted as the whole file`;
    }
  }
  return undefined;
}

while (true) {
  round++;
  fs.rmSync(outDir, { recursive: true, force: true });
  history = new Map();
  pendingPaths = new Set(tree.map((f) => f.path));
  const r = { round, started: elapsed(), runs: 0, complete: false };
  rounds.push(r);
  say(`${stamp()} round ${round}: ${tree.length} files`);
  while (pendingPaths.size > 0 && r.runs < opt.maxRuns) {
    if (injectorDone) {
      settleDeadline ??= Date.now() + opt.settleMinutes * 60_000;
      if (Date.now() >= settleDeadline) break;
    }
    r.runs++;
    stats.runs++;
    const before = pendingPaths.size;
    const left = injectorDone ? settleDeadline - Date.now() : deadline + opt.settleMinutes * 60_000 - Date.now();
    const code = await runOnce([...pendingPaths], stats.runs, Math.max(10_000, Math.min(RUN_TIMEOUT_MS, left)));
    if (code === 'timeout') stats.hungRuns++;
    stats.exitCodes[code] = (stats.exitCodes[code] ?? 0) + 1;
    for (const p of [...pendingPaths]) if (fs.existsSync(join(outDir, basename(p)))) pendingPaths.delete(p);
    say(`${stamp()} run ${stats.runs} (round ${round}) exit ${code}: ${before - pendingPaths.size} files completed, ${pendingPaths.size} left`);
    if (pendingPaths.size > 0 && pendingPaths.size === before) await sleep(1_000); // every mirror down: not a busy loop
  }
  // Check this round against the originals.
  let wrong = 0;
  let missing = 0;
  for (const f of tree) {
    const dest = join(outDir, basename(f.path));
    if (!fs.existsSync(dest)) {
      missing++;
      continue;
    }
    filesChecked++;
    bytesChecked += f.size;
    if (sha256File(dest) !== origSha.get(f.path)) {
      wrong++;
      const h = history.get(f.path) ?? [];
      const diff = firstDiff(f.path, dest);
      wrongFiles.push({ round, path: f.path, diff, history: h, cause: explain(f, diff, h, r.started) });
    }
  }
  missingTotal += missing;
  r.complete = missing === 0;
  r.ended = elapsed();
  r.wrong = wrong;
  r.missing = missing;
  say(`${stamp()} round ${round} checked: ${tree.length - missing} files present, ${wrong} wrong, ${missing} missing (${r.runs} runs)`);
  if (missing > 0 || injectorDone || Date.now() >= deadline) break;
  // Another round would mostly run after the faults end: end them now instead.
  if (deadline - Date.now() < (r.ended - r.started) * 1000) {
    say(`${stamp()} ${((deadline - Date.now()) / 1000).toFixed(0)} s of faults left, less than a round takes: the faults end now`);
    break;
  }
}

heal.abort();
const faults = await injecting;

// ---------------------------------------------------------------------------------------------
// Summary

const sentEmb = mirrors.filter((m) => m.kind === 'embedded').map((m) => ({ name: m.name, ...m.sent }));
const sentVs = mirrors.filter((m) => m.kind === 'vsftpd').map((m) => ({ name: m.name, ...m.loggedBytes() }));
for (const m of mirrors) await m.stop().catch((e) => injectorErrors.push(`stopping ${m.name}: ${e.message}`));

const completeRounds = rounds.filter((r) => r.complete).length;
const treeTimes = tree.length * rounds.length;
const wrongTotal = wrongFiles.length;
const lines = [];
const p = (s = '') => lines.push(s);
p('');
p('== soak summary');
p(`configuration: seed ${opt.seed}; ${mirrors.map((m) => `${m.name} (${m.kind === 'embedded' ? `embedded, ${fmtBytes(m.rate)}/s` : `vsftpd, ${fmtBytes(VS_RATE)}/s per session`})`).join(', ')}${vsNote ? `; ${vsNote}` : ''}; checksums: ${opt.checksums ? 'SHA256SUMS in every directory' : 'none published'}`);
p(`  tree ${tree.length} files, ${fmtBytes(treeBytes)} (${treeBytes} bytes); -j ${opt.jobs}; faults every ${opt.interval[0]}-${opt.interval[1]} s for ${opt.minutes} min (max ${opt.maxFaults})`);
p(`  duration ${(elapsed() / 60).toFixed(1)} min (faults ${((Math.min(Date.now(), deadline) - T0) / 60_000).toFixed(1)} min, then healed)`);
p(`rounds: ${rounds.length} (${completeRounds} complete); runs: ${stats.runs} (exit codes ${Object.entries(stats.exitCodes).map(([c, n]) => `${c}: ${n}`).join(', ')})${stats.hungRuns ? `; ${stats.hungRuns} RUN(S) HUNG past their time limit` : ''}`);
p(`files: ${filesChecked} of ${treeTimes} checked by sha256; bytes: ${fmtBytes(bytesChecked)} (${bytesChecked})`);
p(`faults: ${faults} — ${ALL_KINDS.filter((k) => faultCounts[k] > 0).map((k) => `${k} ${faultCounts[k]}`).join(', ') || 'none'}${skippedAllBusy ? `; ${skippedAllBusy} draws skipped (every mirror already faulty)` : ''}`);
p(`  altered copies served: ${alterations.filter((a) => a.kind === 'altered').length} files; truncated copies: ${alterations.filter((a) => a.kind === 'truncated').length} files`);
p(`failovers: ${stats.failovers} (${Object.entries(stats.failoverKinds).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}); by mirror left: ${Object.entries(stats.failoverMirrors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
p(`file errors (every mirror failed for a file in a run; the next run resumed it): ${stats.errors}; warnings: ${stats.warnings}`);
for (const w of stats.warningSamples) p(`  e.g. ${w}`);
const beyondDone = stats.doneBytes - treeBytes * completeRounds;
const shortfall = wrongFiles.reduce((a, w) => a + w.diff.short, 0);
const refetched = beyondDone + stats.resumedFrom + shortfall;
p(`bytes written, from done events: ${fmtBytes(stats.doneBytes)} (${stats.doneBytes}) by mirror ${Object.entries(stats.byMirror).map(([k, v]) => `${k} ${fmtBytes(v)}`).join(', ')}`);
p(`  minus the tree x ${completeRounds} complete round(s): ${beyondDone} bytes (${fmtBytes(beyondDone)})`);
p(`  plus what earlier runs had left in partial files (done events' resumedFrom): ${fmtBytes(stats.resumedFrom)}${shortfall ? `, plus what the files that ended short lack: ${fmtBytes(shortfall)}` : ''}`);
p(`  = bytes fetched beyond the tree in the runs that completed files: ${fmtBytes(refetched)} (${refetched}); what a run wrote to a file it then failed is in no event`);
const kept = (list) => list.reduce((a, s) => a + (stats.byMirror[s.name] ?? 0), 0);
const embBytes = sentEmb.reduce((a, s) => a + s.bytes, 0);
const vsBytes = sentVs.reduce((a, s) => a + s.bytes, 0);
if (sentEmb.length) {
  p(`bytes the embedded mirrors sent (RETR payload): ${fmtBytes(embBytes)} (${embBytes}; ${sentEmb.map((s) => `${s.name} ${fmtBytes(s.bytes)} in ${s.transfers} RETRs`).join(', ')})`);
  p(`  of which written into completed files (done events): ${fmtBytes(kept(sentEmb))}; the other ${fmtBytes(embBytes - kept(sentEmb))} (${embBytes - kept(sentEmb)}) are overlaps re-sent on resume, probes, and transfers cut by faults`);
}
if (sentVs.length) {
  p(`bytes vsftpd logged as sent: ${fmtBytes(vsBytes)} (${vsBytes}; ${sentVs.map((s) => `${s.name} ${fmtBytes(s.bytes)} in ${s.transfers} transfers`).join(', ')}): a lower bound, a SIGKILLed session logs nothing`);
  p(`  of which written into completed files (done events): ${fmtBytes(kept(sentVs))}`);
}
if (injectorErrors.length) p(`THE SOAK'S OWN ERRORS (its faults did not go as planned; the exit status is 1): ${injectorErrors.length}: ${injectorErrors.slice(0, 5).join(' | ')}`);
if (stats.nonJson) p(`non-JSON lines on smartftp's stdout: ${stats.nonJson}`);
if (stats.maxListenerRuns.size) p(`smartftp stderr: ${stats.maxListenerRuns.size} of ${stats.runs} runs printed a MaxListenersExceededWarning (more than 10 abort listeners on one AbortSignal)`);
if (stats.stderrTail.length) p(`smartftp stderr (last lines): ${stats.stderrTail.slice(-3).join(' | ')}`);
const explained = wrongFiles.filter((w) => w.cause).length;
p(`wrong or missing: ${wrongTotal + missingTotal} (wrong ${wrongTotal}, missing ${missingTotal})`);
if (wrongTotal) {
  const altered = wrongFiles.filter((w) => w.cause?.startsWith('the altered')).length;
  const truncated = wrongFiles.filter((w) => w.cause?.startsWith('the truncated')).length;
  p(`  of the wrong: ${altered} an altered copy accepted whole, ${truncated} a truncated copy accepted as the whole file, ${wrongTotal - explained} NOT EXPLAINED by a spoiled copy`);
}
for (const w of wrongFiles.slice(0, 60)) {
  p(`  WRONG round ${w.round} ${w.path}: differs from byte ${w.diff.at} to ${w.diff.last} (${w.diff.sizes})`);
  p(`    cause: ${w.cause ?? 'NOT EXPLAINED by an altered or truncated copy'}`);
  const rd = rounds[w.round - 1];
  const spoilers = alterations.filter((a) => a.path === w.path && a.t <= rd.ended && (a.end ?? Infinity) >= rd.started);
  for (const a of spoilers) p(`    fault #${a.faultId} ${a.kind} on ${a.mirror} from ${a.t.toFixed(1)} s to ${a.end?.toFixed(1) ?? '?'} s: bytes ${a.at}..${a.at + a.length - 1}`);
  const t0 = w.history[0]?.t ?? rd.started;
  const t1 = w.history.at(-1)?.t ?? elapsed();
  const used = new Set(w.history.flatMap((h) => /^(?:attempt|probe|failover) (\S+)/.exec(h.text)?.[1] ?? []));
  for (const f of faultLog.filter((f) => f.mirror.split(',').some((x) => used.has(x)) && f.t <= t1 && (f.end ?? Infinity) >= t0 - 1)) {
    p(`    fault #${f.id} ${f.kind} ${f.mirror} ${f.t.toFixed(1)}-${f.end?.toFixed(1) ?? '?'} s: ${f.detail}`);
  }
  for (const h of w.history) p(`    ${h.t.toFixed(1)} s run ${h.run}: ${h.text}`);
}
if (wrongFiles.length > 60) p(`  ... and ${wrongFiles.length - 60} more wrong files, not listed`);
for (const l of lines) say(l);
if (logFd !== undefined) fs.closeSync(logFd);
cleanupSync();
process.exitCode = wrongTotal + missingTotal === 0 && stats.hungRuns === 0 && injectorErrors.length === 0 ? 0 : 1;
