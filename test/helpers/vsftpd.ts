/**
 * Test harness: start private vsftpd instances on 127.0.0.1 and stop them again.
 *
 * Each instance gets its own temp directory (config file, empty secure_chroot_dir,
 * startup-error file), its own control port and its own PASV port range. Processes
 * are found and signalled only by the listener PID we spawned and its descendants
 * (plus any orphaned session process whose argv names our unique config path).
 *
 * What vsftpd 3.0.3 (Debian bookworm) needs, measured on this machine as root:
 * - The config file must be owned by root when vsftpd runs as root, otherwise it exits
 *   with "500 OOPS: config file not owned by correct user, or not a file" (we create it,
 *   so it is root-owned).
 * - vsftpd reports startup failures ("500 OOPS: could not bind listening IPv4 socket",
 *   "unrecognised variable in config file: ...") on FILE DESCRIPTOR 0, not on stderr:
 *   die() writes to the FTP control fd, which is fd 0. So fd 0 of the child is a temp
 *   file opened for writing, and we read it back on failure.
 * - anon_root must not be writable by the ftp user (owned by ftp, or group/world
 *   writable): every login then gets "500 OOPS: vsftpd: refusing to run with writable
 *   root inside chroot()". Only sessions fail, the listener keeps running and still
 *   greets 220, so startVsftpd() logs in once as anonymous to surface such errors.
 * - anon_root must be readable and searchable by the ftp user (e.g. 0755): with a 0700
 *   root (what fs.mkdtemp creates) the login succeeds but every RETR/SIZE answers 550.
 *   Parent directories do not matter (vsftpd chroots while still root). With the default
 *   anon_world_readable_only=YES, served files must be world-readable too (0644).
 * - secure_chroot_dir must exist ("500 OOPS: vsftpd: not found: directory given in
 *   'secure_chroot_dir'") and must not be writable by the unprivileged user (a 0777 one
 *   gives the "writable root inside chroot()" OOPS before the 220). We create an empty
 *   root-owned 0755 directory per instance.
 * - Every session calls setsid(): a session's two processes (privileged helper running
 *   as "nobody" after an anonymous login, and its child running as "ftp" that moves the
 *   data) are in their OWN process group, not in the listener's. process.kill(-pid)
 *   therefore only reaches the listener, and SIGTERM/SIGKILL to the helper alone leaves
 *   the "ftp" child running as an orphan. signal() and stop() therefore signal every
 *   process of the instance, found through /proc.
 * - isolate=NO, isolate_network=NO: with the defaults (YES) vsftpd tries to clone each
 *   session into new PID/network namespaces ("fail-ok": on this VM it silently fell back
 *   to a plain fork). A session that is the init of its PID namespace ignores SIGTERM
 *   sent from outside, so we switch isolation off to get the same behaviour everywhere.
 * - seccomp_sandbox=NO: the sandbox happened to work here for RETR/REST/SIZE/MDTM/LIST,
 *   but it kills sessions whenever libc makes a syscall vsftpd 3.0.3 did not foresee;
 *   a test server does not need it.
 * - background=NO + listen=YES keeps the listener in the foreground as the spawned PID.
 * - No PAM is involved for anonymous logins (pam_service_name only matters for local
 *   and guest logins).
 * - No log (xferlog_enable=NO, syslog_enable=NO).
 *
 * Why there is no `users` option (local/virtual logins): the Debian vsftpd binary is
 * built with PAM and authenticates every non-anonymous login through PAM only. Linux-PAM
 * strips any directory from pam_service_name (measured with strace:
 * pam_service_name=/tmp/x/svc makes libpam open /etc/pam.d/svc, then /etc/pam.d/other),
 * so a private PAM stack (pam_exec or pam_userdb checking our own password file, plus
 * guest_enable to map logins to the ftp user) would need a file in /etc/pam.d, and
 * without guest_enable a login needs a real system account. Both touch the system.
 * Also, the user names "ftp" and "anonymous" are always anonymous logins in vsftpd.
 *
 * The listener must run as root (it chroots sessions and switches to the ftp user);
 * the ftp system user (created by the Debian package) must exist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { sleep } from './wait.js';

export interface VsftpdOptions {
  /** Directory served to anonymous users, read-only. Must be 0755-like and not writable by the ftp user. */
  root: string;
  /** vsftpd max_clients: connections beyond it are greeted with 421 and closed. */
  maxClients?: number;
  /** vsftpd anon_max_rate in bytes/s. vsftpd applies it per session, not per server. */
  rateBytesPerSec?: number;
  /** Explicit FTPS (AUTH TLS) with this certificate and key; data connections must then be encrypted. */
  tls?: { certFile: string; keyFile: string };
  /** Listen on this address (default 127.0.0.1); with `netns`, one of that namespace's own. */
  host?: string;
  /** Run inside this network namespace (`ip netns exec`), one the test made (see netns.ts). */
  netns?: string;
  /** Log every transfer, whole or cut, to this file in xferlog format (bytes as vsftpd sent them). */
  xferlog?: string;
}

export interface Vsftpd {
  /** PID of the vsftpd listener (leader of its own process group). */
  pid: number;
  host: string;
  port: number;
  /** ftp://<host>:<port>/ */
  url: string;
  /** Absolute path of the served directory. */
  root: string;
  /** PASV data port range of this instance (inclusive). */
  pasvPorts: { min: number; max: number };
  /** SIGCONT + SIGTERM to every process of the instance, SIGKILL after 2 s; waits; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends `sig` to the listener's process group and to every session process of this instance
   * (sessions setsid() into groups of their own). The listener is SIGSTOPped for the moment the
   * session list is read from /proc, so that no session forked meanwhile escapes the signal.
   */
  signal(sig: NodeJS.Signals): void;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 5;
const STOP_GRACE_MS = 2_000;

// PASV ranges live below Linux's ephemeral range (32768-60999), so they never collide with
// the control ports we get from binding port 0. Blocks are handed out by a module counter
// (no collision inside one process); the start block is derived from the PID so that
// parallel test processes are unlikely to overlap (vsftpd also retries a busy PASV port).
const PASV_BASE = 20_000;
const PASV_SPAN = 32;
const PASV_BLOCKS = Math.floor((31_000 - PASV_BASE) / PASV_SPAN);
let pasvCounter = (process.pid * 37) % PASV_BLOCKS;

export function nextPasvRange(): { min: number; max: number } {
  const block = pasvCounter % PASV_BLOCKS;
  pasvCounter += 1;
  const min = PASV_BASE + block * PASV_SPAN;
  return { min, max: min + PASV_SPAN - 1 };
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The vsftpd binary, or undefined when it is not installed.
 * `VSFTPD_BIN` overrides the search (set it to a non-existent path to exercise the skip path).
 */
export function vsftpdPath(): string | undefined {
  const override = process.env.VSFTPD_BIN;
  if (override !== undefined && override !== '') return isExecutable(override) ? override : undefined;
  const dirs = ['/usr/sbin', '/usr/local/sbin', '/sbin', ...(process.env.PATH ?? '').split(path.delimiter)];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'vsftpd');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** For test files: in CI (CI=true) a missing vsftpd is a failure; elsewhere the tests are skipped with a visible message. */
export function describeWithVsftpd(name: string, fn: () => void): void {
  const bin = vsftpdPath();
  const problem =
    bin === undefined
      ? { warn: `vsftpd not installed: skipping ${name} (apt-get install -y vsftpd)`, fail: 'vsftpd is not installed (apt-get install -y vsftpd)' }
      : !isRoot()
        ? { warn: `vsftpd needs root: skipping ${name} (run the tests as root)`, fail: 'vsftpd tests must run as root (vsftpd chroots and switches users)' }
        : undefined;
  describeIfUsable(name, problem, fn, 'vsftpd');
}

/**
 * `describe(name, fn)` when there is no problem; otherwise, in CI (CI=true), one failing test that
 * says what is missing, and elsewhere the tests skipped with the warning printed.
 */
export function describeIfUsable(name: string, problem: { warn: string; fail: string } | undefined, fn: () => void, what = 'server'): void {
  if (problem === undefined) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it(`has a usable ${what}`, () => {
        throw new Error(`${problem.fail}; required in CI for "${name}"`);
      });
    });
  } else {
    console.warn(problem.warn);
    describe.skip(name, fn);
  }
}

// ---------------------------------------------------------------------------------------
// /proc helpers (Linux)

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." - comm may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(name)) pids.push(Number(name));
  }
  return pids;
}

function argvOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * The session processes of one instance: descendants of the listener, plus processes whose
 * argv contains our unique config path (sessions orphaned after the listener died).
 * Zombies are included (signalling them is harmless); the listener itself is not.
 */
export function sessionProcesses(listenerPid: number | undefined, confPath: string): ProcInfo[] {
  const infos = new Map<number, ProcInfo>();
  for (const pid of allPids()) {
    const info = readProc(pid);
    if (info !== undefined) infos.set(pid, info);
  }
  const found = new Map<number, ProcInfo>();
  // Once the listener has been reaped its PID may be reused, so only walk the tree while it is ours.
  const queue = listenerPid === undefined ? [] : [listenerPid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const info of infos.values()) {
      if (info.ppid === parent && !found.has(info.pid)) {
        found.set(info.pid, info);
        queue.push(info.pid);
      }
    }
  }
  for (const info of infos.values()) {
    if (info.pid !== listenerPid && !found.has(info.pid) && argvOf(info.pid).includes(confPath)) found.set(info.pid, info);
  }
  return [...found.values()];
}

function isAlive(pid: number): boolean {
  const info = readProc(pid);
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

function trySignal(pid: number, sig: NodeJS.Signals | 0): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}


const STOP_SIGNALS = new Set<NodeJS.Signals>(['SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

// ---------------------------------------------------------------------------------------
// Startup

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function configText(o: {
  host: string;
  xferlog: string | undefined;
  port: number;
  pasv: { min: number; max: number };
  root: string;
  emptyDir: string;
  banner: string;
  maxClients: number | undefined;
  rate: number | undefined;
  tls?: { certFile: string; keyFile: string };
}): string {
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    'background=NO',
    `listen_address=${o.host}`,
    `listen_port=${o.port}`,
    `ftpd_banner=${o.banner}`,
    'anonymous_enable=YES',
    'local_enable=NO',
    'write_enable=NO',
    'anon_upload_enable=NO',
    'anon_mkdir_write_enable=NO',
    'anon_other_write_enable=NO',
    `anon_root=${o.root}`,
    `secure_chroot_dir=${o.emptyDir}`,
    'pasv_enable=YES',
    `pasv_min_port=${o.pasv.min}`,
    `pasv_max_port=${o.pasv.max}`,
    'connect_from_port_20=NO',
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    'syslog_enable=NO',
    'dirmessage_enable=NO',
    'use_localtime=NO',
  ];
  lines.push(o.xferlog === undefined ? 'xferlog_enable=NO' : 'xferlog_enable=YES');
  if (o.xferlog !== undefined) lines.push('xferlog_std_format=YES', `xferlog_file=${o.xferlog}`);
  if (o.maxClients !== undefined) lines.push(`max_clients=${o.maxClients}`);
  if (o.rate !== undefined) lines.push(`anon_max_rate=${o.rate}`);
  if (o.tls) {
    // Logins may stay plain (the harness's own readiness probe logs in without TLS), but no file
    // leaves unencrypted: a client that did not negotiate TLS gets 522 on RETR.
    lines.push(
      'ssl_enable=YES',
      'allow_anon_ssl=YES',
      'force_anon_data_ssl=YES',
      'force_anon_logins_ssl=NO',
      'require_ssl_reuse=NO',
      `rsa_cert_file=${o.tls.certFile}`,
      `rsa_private_key_file=${o.tls.keyFile}`,
    );
  }
  return lines.join('\n') + '\n';
}

class ReplyReader {
  private buf = '';
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;

  constructor(private readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      this.buf += chunk;
      this.wake();
    });
    sock.on('close', () => {
      this.ended ??= new Error('connection closed');
      this.wake();
    });
    sock.on('error', (err) => {
      this.ended = err;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Next complete reply (single- or multi-line), e.g. { code: 220, text: "220 (vsFTPd 3.0.3)" }. */
  async next(): Promise<{ code: number; text: string }> {
    for (;;) {
      const lines = this.buf.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        const m = /^(\d{3}) /.exec(lines[i] as string);
        if (m !== null) {
          const text = lines.slice(0, i + 1).join('\n');
          this.buf = lines.slice(i + 1).join('\r\n');
          return { code: Number(m[1]), text };
        }
      }
      if (this.ended !== undefined) throw new Error(`${this.ended.message}${this.buf ? `; got "${this.buf.trim()}"` : ''}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

function connectOnce(port: number, host: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.once('connect', () => {
      sock.removeListener('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/**
 * Waits for the 220 greeting (which must carry our banner nonce, so we know it is our
 * listener and not someone else's on a re-used port), then logs in anonymously and does
 * CWD / to surface per-session "500 OOPS" failures, and QUITs.
 */
export async function probe(port: number, banner: string, deadline: number, exited: () => boolean, host = HOST): Promise<void> {
  let sock: net.Socket | undefined;
  while (sock === undefined) {
    if (exited()) throw new Error('the server exited');
    try {
      sock = await connectOnce(port, host);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`port ${port} never accepted a connection: ${(err as Error).message}`);
      await sleep(20);
    }
  }
  const s = sock;
  const timer = setTimeout(() => s.destroy(new Error(`no complete answer within ${READY_TIMEOUT_MS} ms`)), Math.max(0, deadline - Date.now()));
  try {
    const r = new ReplyReader(s);
    const expect = async (codes: number[], what: string) => {
      const reply = await r.next();
      if (!codes.includes(reply.code)) throw new Error(`${what}: ${reply.text}`);
      return reply;
    };
    const greeting = await expect([220], 'greeting');
    if (!greeting.text.includes(banner)) throw new Error(`port ${port} is served by another FTP server: ${greeting.text}`);
    s.write('USER anonymous\r\n');
    const user = await expect([230, 331], 'USER anonymous');
    if (user.code === 331) {
      s.write('PASS probe@smartftp\r\n');
      await expect([230], 'anonymous login');
    }
    s.write('CWD /\r\n');
    await expect([250], 'CWD / (is the root readable by the ftp user?)');
    s.write('QUIT\r\n');
    await expect([221], 'QUIT');
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
}

// Instances not stopped yet. If the test process ends without stop() (forgotten stop,
// Ctrl-C, or vitest ending its fork worker with SIGTERM, which skips 'exit' handlers),
// kill them so no daemon outlives the tests. The signal handlers are only installed while
// an instance is live, and re-raise the signal when nobody else handles it.
const live = new Set<Instance>();
const HOOK_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
let exitHookInstalled = false;

function killAllLive(): void {
  for (const inst of live) inst.killNow();
  live.clear();
}

function onFatalSignal(sig: NodeJS.Signals): void {
  killAllLive();
  disarmSignalHooks();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function armSignalHooks(): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllLive);
  }
  for (const sig of HOOK_SIGNALS) {
    if (!process.listeners(sig).includes(onFatalSignal)) process.on(sig, onFatalSignal);
  }
}

function disarmSignalHooks(): void {
  for (const sig of HOOK_SIGNALS) process.removeListener(sig, onFatalSignal);
}

export function track(inst: Instance): void {
  live.add(inst);
  armSignalHooks();
}

function untrack(inst: Instance): void {
  live.delete(inst);
  if (live.size === 0) disarmSignalHooks();
}

export class Instance implements Vsftpd {
  /** The address it listens on (set before it is handed out, for a server in a namespace). */
  host = HOST;
  private exitPromise: Promise<void>;
  private exitedFlag = false;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly root: string,
    readonly pasvPorts: { min: number; max: number },
    private readonly dir: string,
    /** Appears in the argv of every process of the instance (finds sessions orphaned by the listener's death). */
    private readonly confPath: string,
    /** For messages: which server this is. */
    private readonly name = 'vsftpd',
  ) {
    this.exitPromise = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.exitedFlag = true;
        resolve();
        return;
      }
      child.once('exit', () => {
        this.exitedFlag = true;
        resolve();
      });
    });
  }

  get url(): string {
    return `ftp://${this.host}:${this.port}/`;
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  signal(sig: NodeJS.Signals): void {
    const listenerUp = !this.exitedFlag && isAlive(this.pid);
    let resumeListener = false;
    if (listenerUp) {
      // Freeze the listener first so that it cannot fork a new session between our /proc
      // snapshot and the signal. Wait (briefly) until it is really stopped.
      resumeListener = readProc(this.pid)?.state !== 'T' && !STOP_SIGNALS.has(sig);
      trySignal(this.pid, 'SIGSTOP');
      for (let i = 0; i < 200 && readProc(this.pid)?.state !== 'T'; i++) sleepSync(1);
    }
    for (const p of this.sessions()) trySignal(p.pid, sig);
    if (listenerUp) {
      trySignal(-this.pid, sig);
      if (resumeListener) trySignal(this.pid, 'SIGCONT');
    }
  }

  /** Synchronous last resort (process exit hook). */
  killNow(): void {
    try {
      this.signal('SIGKILL');
    } catch {
      // ignore
    }
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // ignore
    }
  }

  private sessions(): ProcInfo[] {
    return sessionProcesses(this.exitedFlag ? undefined : this.pid, this.confPath);
  }

  private allGone(): boolean {
    return (this.exitedFlag || !isAlive(this.pid)) && this.sessions().every((p) => !isAlive(p.pid));
  }

  private async waitGone(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.allGone()) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    try {
      const deadline = Date.now() + STOP_GRACE_MS;
      this.signal('SIGCONT'); // a stopped process would not act on SIGTERM
      // Sessions before the listener, so that the still running listener reaps the session
      // helpers (otherwise init inherits them and shows them as zombies until it reaps).
      // Measured: both session processes catch SIGTERM. The helper exits at once; an idle
      // "ftp" child did not (it still answered SIZE 300 ms later), but it exits as soon as
      // its helper is gone. Init inherits that child, so it may show as a zombie briefly.
      for (const p of this.sessions()) trySignal(p.pid, 'SIGTERM');
      while (Date.now() < deadline - 1_000 && !this.exitedFlag && this.sessions().some((p) => p.ppid === this.pid)) {
        await sleep(5);
      }
      this.signal('SIGTERM');
      if (!(await this.waitGone(Math.max(0, deadline - Date.now())))) {
        this.signal('SIGKILL');
        if (!(await this.waitGone(STOP_GRACE_MS))) throw new Error(`${this.name} ${this.pid}: processes still alive after SIGKILL`);
      }
      await Promise.race([this.exitPromise, sleep(STOP_GRACE_MS)]);
      if (!this.exitedFlag) throw new Error(`${this.name} ${this.pid}: no exit event after SIGKILL`);
    } finally {
      untrack(this);
      this.child.stderr?.destroy();
      await fsp.rm(this.dir, { recursive: true, force: true });
    }
  }
}

/** How a spawned server ended, once it has: `exited` resolves then, and `exitInfo()` says how ("code 1", "signal SIGKILL"). */
export function watchExit(child: ChildProcess): { exited: Promise<void>; exitInfo: () => string | undefined } {
  let info: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      info = sig !== null ? `signal ${sig}` : `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      info = `spawn error: ${err.message}`;
      resolve();
    });
  });
  return { exited, exitInfo: () => info };
}

/** Starts a private vsftpd on 127.0.0.1 serving `opts.root` read-only to anonymous users. */
export async function startVsftpd(opts: VsftpdOptions): Promise<Vsftpd> {
  const bin = vsftpdPath();
  if (bin === undefined) throw new Error('vsftpd is not installed (apt-get install -y vsftpd)');
  if (!isRoot()) throw new Error('startVsftpd needs root: vsftpd chroots its sessions and switches to the ftp user');
  for (const [k, v] of [['maxClients', opts.maxClients], ['rateBytesPerSec', opts.rateBytesPerSec]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new Error(`${k} must be a positive integer, got ${v}`);
  }

  const root = await fsp.realpath(opts.root);
  const st = await fsp.stat(root);
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`);
  if ((st.mode & 0o005) !== 0o005) {
    throw new Error(`${root} has mode ${(st.mode & 0o777).toString(8)}: the ftp user cannot read it (chmod 755 it)`);
  }
  if ((st.mode & 0o002) !== 0) {
    throw new Error(`${root} is world-writable: vsftpd refuses a writable root inside chroot (chmod 755 it)`);
  }

  const host = opts.host ?? HOST;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartftp-vsftpd-'));
  const emptyDir = path.join(dir, 'empty');
  const confPath = path.join(dir, 'vsftpd.conf');
  const errPath = path.join(dir, 'startup-fd0.txt');
  await fsp.mkdir(emptyDir);
  await fsp.chmod(emptyDir, 0o755);
  const banner = `smartftp test vsftpd ${randomBytes(6).toString('hex')}`;

  const failures: string[] = [];
  try {
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      const port = await freePort();
      const pasv = nextPasvRange();
      await fsp.writeFile(
        confPath,
        configText({ host, xferlog: opts.xferlog, port, pasv, root, emptyDir, banner, maxClients: opts.maxClients, rate: opts.rateBytesPerSec, tls: opts.tls }),
        { mode: 0o600 },
      );

      const errFd = fs.openSync(errPath, 'w');
      let child: ChildProcess;
      try {
        // `ip netns exec` execs the command in the same process: the PID is still vsftpd's.
        const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, bin, confPath] : [bin, confPath];
        child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: [errFd, 'ignore', 'pipe'] });
      } finally {
        fs.closeSync(errFd);
      }
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (s: string) => (stderr += s));
      const { exited, exitInfo } = watchExit(child);
      const startupOutput = () =>
        [fs.existsSync(errPath) ? fs.readFileSync(errPath, 'utf8').trim() : '', stderr.trim()].filter(Boolean).join('\n');

      const deadline = Date.now() + READY_TIMEOUT_MS;
      let probeError: Error | undefined;
      await Promise.race([
        probe(port, banner, deadline, () => exitInfo() !== undefined, host).catch((err: Error) => {
          probeError = err;
        }),
        exited,
      ]);

      if (exitInfo() === undefined && probeError === undefined && child.pid !== undefined) {
        const inst = new Instance(child, child.pid, port, root, pasv, dir, confPath);
        inst.host = host;
        // Wait until the probe session has been reaped by the listener, otherwise it could
        // still count against max_clients when the test connects.
        const reapDeadline = Date.now() + 2_000;
        while (sessionProcesses(inst.pid, confPath).length > 0 && Date.now() < reapDeadline) await sleep(10);
        child.unref();
        (child.stderr as net.Socket | null)?.unref?.();
        track(inst);
        return inst;
      }

      // Failure: make sure nothing of this attempt survives.
      if (exitInfo() === undefined && child.pid !== undefined) {
        const pid = child.pid;
        for (const p of sessionProcesses(pid, confPath)) trySignal(p.pid, 'SIGKILL');
        trySignal(-pid, 'SIGKILL');
        await Promise.race([exited, sleep(STOP_GRACE_MS)]);
      }
      const output = startupOutput();
      const msg = `attempt ${attempt} (port ${port}): ${probeError?.message ?? `vsftpd exited (${exitInfo()})`}${output ? `\nvsftpd said: ${output}` : ''}`;
      failures.push(msg);
      if (!/could not bind listening/i.test(output)) break; // only a port clash is worth retrying
    }
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  await fsp.rm(dir, { recursive: true, force: true });
  throw new Error(`vsftpd did not start:\n${failures.join('\n')}`);
}

/**
 * The bytes each transfer in an xferlog (standard format) sent, in order: the 8th field of each
 * line. vsftpd writes a line when a RETR ends, complete ('c') or not ('i').
 */
export function xferlogBytes(file: string): number[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Number(line.trim().split(/\s+/)[7]));
}
