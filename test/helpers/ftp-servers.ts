/**
 * Test harness: the FTP servers Debian ships, started on 127.0.0.1 for the interop tests, each on a
 * free port with its own config in a temp dir, serving one directory read-only to anonymous users.
 *
 * | kind           | package (how it gets here)                 | how it runs                                       |
 * |----------------|--------------------------------------------|---------------------------------------------------|
 * | vsftpd         | vsftpd (apt)                               | test/helpers/vsftpd.ts                            |
 * | pure-ftpd      | pure-ftpd (unpacked: conflicts with vsftpd) | flags only (-S, -p, -c/-C, -t)                    |
 * | proftpd        | proftpd-core (unpacked)                    | its own proftpd.conf, an <Anonymous> block        |
 * | pyftpdlib      | python3-pyftpdlib (apt)                    | test/helpers/py-ftpd.py pyftpdlib                 |
 * | twisted        | python3-twisted (apt)                      | test/helpers/py-ftpd.py twisted                   |
 * | inetutils-ftpd | inetutils-ftpd (unpacked)                  | inetd-style under test/helpers/py-ftpd.py inetd   |
 * | bsd-ftpd       | ftpd-ssl (unpacked; `in.ftpd`)             | inetd-style under test/helpers/py-ftpd.py inetd   |
 *
 * test/interop/install-servers.sh installs them all (unpacked ones under $SMARTFTP_FTPDS, default
 * /opt/smartftp-ftpds). A kind that is missing here is reported by `problem()`; describeWithServer
 * then skips its tests with that reason, or fails them in CI (CI=true).
 *
 * What the servers need, measured on Debian 12 as root:
 * - pure-ftpd, inetutils ftpd and BSD ftpd serve anonymous users the home directory of the `ftp`
 *   account (/srv/ftp, made by the vsftpd package) and have no option for another one. They are run
 *   in a private mount namespace (`unshare --mount --propagation private`) in which the test's root
 *   is bind-mounted over that home: the host's /srv/ftp does not change.
 * - BSD ftpd authenticates every login through the PAM service `ftp`, which Debian's /etc/pam.d
 *   lacks unless ftpd-ssl is installed (then `550 Authentication failure` at USER anonymous). In its
 *   namespace a copy of /etc/pam.d with the package's own pam.d/ftp (pam_ftp.so) is bind-mounted
 *   over /etc/pam.d.
 * - inetutils ftpd and BSD ftpd are inetd services (their standalone modes listen on port 21 only):
 *   py-ftpd.py's `inetd` accepts on the test's port and execs one ftpd per connection with the
 *   socket as fd 0 and 1. They have no passive-port option (kernel ephemeral ports) and no session
 *   limit.
 * - proftpd's MaxClients counts logged-in users of the <Anonymous> block: when full it greets 220 and
 *   answers PASS with 530 and the block's message; Debian's example config (and the tester) use
 *   "Sorry, max %m users -- try again later", so that is the message here.
 * - pyftpdlib counts its listening socket among the connections: its max_cons is the limit + 1.
 * - Twisted's FTPFactory has no REST (`502 Command 'REST' not implemented`); its connectionLimit
 *   (from policies.LimitTotalConnectionsFactory) greets 421 past the limit.
 * - Every process is found and signalled by the PID spawned (the listener, which unshare and sh exec
 *   in place) and its descendants (see vsftpd.ts's Instance): only processes the test started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  describeIfUsable,
  freePort,
  Instance,
  isExecutable,
  isRoot,
  nextPasvRange,
  probe,
  sessionProcesses,
  startVsftpd,
  track,
  vsftpdPath,
  watchExit,
} from './vsftpd.js';

export type ServerKind = 'vsftpd' | 'pure-ftpd' | 'proftpd' | 'pyftpdlib' | 'twisted' | 'inetutils-ftpd' | 'bsd-ftpd';

export interface ServerOptions {
  /** Served read-only to anonymous users; must be readable by the ftp user (0755) and not writable by it. */
  root: string;
  /** The server's own session limit (only where `sessionLimit` says how it has one). */
  maxSessions?: number;
  /** Bytes/s per transfer (only where `rate` is true). */
  rateBytesPerSec?: number;
}

export interface FtpServer {
  kind: ServerKind;
  /** The spawned listener. */
  pid: number;
  port: number;
  /** ftp://127.0.0.1:<port>/ */
  url: string;
  root: string;
  /** Every process of the server (listener and sessions) gets `sig`. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM to every process, SIGKILL after 2 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** What the server wrote to its log so far ('' where it keeps none). */
  log(): string;
}

export interface ServerImpl {
  kind: ServerKind;
  /** Its session limit, as the option that sets it; undefined where it has none. */
  sessionLimit: string | undefined;
  /** Whether it implements REST. */
  rest: boolean;
  /** Whether it can limit a transfer's rate. */
  rate: boolean;
  /** Why it cannot run on this machine, or undefined when it can. */
  problem(): string | undefined;
  start(options: ServerOptions): Promise<FtpServer>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 8_000;
const START_ATTEMPTS = 3;
const INSTALL_HINT = 'bash test/interop/install-servers.sh';
const PYTHON = '/usr/bin/python3'; // Debian's: python3-pyftpdlib and python3-twisted install there
const PY_FTPD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'py-ftpd.py');

/** Where install-servers.sh unpacks the servers that conflict with vsftpd in apt. */
export function unpackedDir(): string {
  return process.env.SMARTFTP_FTPDS || '/opt/smartftp-ftpds';
}

const unpacked = (pkg: string, bin: string) => path.join(unpackedDir(), pkg, bin);

/** The ftp account's home, which pure-ftpd, inetutils ftpd and BSD ftpd serve to anonymous users. */
function ftpHome(): string | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ftp:'));
  const home = line?.split(':')[5];
  return home && fs.existsSync(home) ? home : undefined;
}

const pythonModules = new Map<string, boolean>();
function hasPythonModule(name: string): boolean {
  if (!pythonModules.has(name)) {
    const r = isExecutable(PYTHON) ? spawnSync(PYTHON, ['-c', `import ${name}`], { stdio: 'ignore', timeout: 10_000 }) : undefined;
    pythonModules.set(name, r?.status === 0);
  }
  return pythonModules.get(name)!;
}

/** The first thing missing among `needs` (each: a problem or undefined). */
function firstProblem(...needs: (() => string | undefined)[]): string | undefined {
  for (const need of needs) {
    const p = need();
    if (p !== undefined) return p;
  }
  return undefined;
}

const needRoot = () => (isRoot() ? undefined : 'needs root (it chroots, or runs in a mount namespace)');
const needFile = (file: string, what: string) => () => (isExecutable(file) ? undefined : `${what} is not installed (${file})`);
const needFtpHome = () => (ftpHome() ? undefined : 'no ftp account with a home directory (the vsftpd package makes it)');
const needUnshare = () => (isExecutable('/usr/bin/unshare') ? undefined : 'no /usr/bin/unshare (util-linux)');
const needPython = (module: string, pkg: string) => () =>
  hasPythonModule(module) ? undefined : `${pkg} is not installed (${PYTHON} cannot import ${module})`;

// ---------------------------------------------------------------------------------------
// Starting a server process

interface Launch {
  /** Program and arguments. */
  argv: string[];
  /** Text the 220 greeting must contain (our nonce), '' where the greeting cannot carry one. */
  marker: string;
  /** Run in a private mount namespace with the root bind-mounted over the ftp account's home. */
  homeBind?: boolean;
  /** Also bind-mount this directory over /etc/pam.d there. */
  pamDir?: string;
  /** An argument of every process of the server, to find sessions the listener's death orphaned. */
  argvMarker: string;
}

/**
 * Spawn one server in `dir` (its temp dir, removed on stop) and wait until it greets and takes an
 * anonymous login; `launch` builds the command for a port and passive range. Retries with another
 * port when the server exits at start (a port someone took meanwhile).
 */
async function startServer(
  kind: ServerKind,
  root: string,
  dir: string,
  launch: (port: number, pasv: { min: number; max: number }) => Promise<Launch> | Launch,
): Promise<FtpServer> {
  const logPath = path.join(dir, 'server.log');
  const failures: string[] = [];
  try {
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      const port = await freePort();
      const pasv = nextPasvRange();
      const l = await launch(port, pasv);
      let command = l.argv;
      const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
      if (l.homeBind) {
        // unshare and sh exec in place: the spawned PID is the server's.
        const pam = l.pamDir ? 'mount --bind "$SMARTFTP_PAM" /etc/pam.d && ' : '';
        command = ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', `mount --bind "$SMARTFTP_ROOT" "$SMARTFTP_HOME" && ${pam}exec "$@"`, 'sh', ...l.argv];
        Object.assign(env, { SMARTFTP_ROOT: root, SMARTFTP_HOME: ftpHome(), SMARTFTP_PAM: l.pamDir ?? '' });
      }
      const logFd = fs.openSync(logPath, 'a');
      let child: ChildProcess;
      try {
        child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', logFd, logFd], env });
      } finally {
        fs.closeSync(logFd);
      }
      const { exited, exitInfo } = watchExit(child);
      let probeError: Error | undefined;
      await Promise.race([
        probe(port, l.marker, Date.now() + READY_TIMEOUT_MS, () => exitInfo() !== undefined).catch((err: Error) => {
          probeError = err;
        }),
        exited,
      ]);
      if (exitInfo() === undefined && probeError === undefined && child.pid !== undefined) {
        const inst = new Instance(child, child.pid, port, root, pasv, dir, l.argvMarker, kind);
        // The probe's session must be gone, or it could count against a session limit.
        const reapDeadline = Date.now() + 2_000;
        while (sessionProcesses(inst.pid, l.argvMarker).length > 0 && Date.now() < reapDeadline) await new Promise((r) => setTimeout(r, 10));
        child.unref();
        track(inst);
        return {
          kind,
          pid: inst.pid,
          port,
          url: inst.url,
          root,
          signal: (sig) => inst.signal(sig),
          stop: () => inst.stop(),
          log: () => {
            try {
              return fs.readFileSync(logPath, 'utf8');
            } catch {
              return '';
            }
          },
        };
      }
      if (exitInfo() === undefined && child.pid !== undefined) {
        for (const p of sessionProcesses(child.pid, l.argvMarker)) process.kill(p.pid, 'SIGKILL');
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      }
      const said = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').trim() : '';
      failures.push(`attempt ${attempt} (port ${port}): ${probeError?.message ?? `${kind} exited (${exitInfo()})`}${said ? `\n${kind} said: ${said}` : ''}`);
      if (exitInfo() === undefined) break; // it runs but does not answer as it should: another port will not help
    }
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  await fsp.rm(dir, { recursive: true, force: true });
  throw new Error(`${kind} did not start:\n${failures.join('\n')}`);
}

async function tempDir(kind: ServerKind): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `smartftp-${kind}-`));
}

const nonce = (kind: ServerKind) => `smartftp test ${kind} ${randomBytes(6).toString('hex')}`;
const kib = (bytesPerSec: number) => Math.max(1, Math.round(bytesPerSec / 1024));

function checkOptions(impl: ServerImpl, o: ServerOptions): void {
  if (o.maxSessions !== undefined && impl.sessionLimit === undefined) throw new Error(`${impl.kind} has no session limit`);
  if (o.rateBytesPerSec !== undefined && !impl.rate) throw new Error(`${impl.kind} cannot limit a transfer's rate`);
  for (const [k, v] of [['maxSessions', o.maxSessions], ['rateBytesPerSec', o.rateBytesPerSec]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
}

// ---------------------------------------------------------------------------------------
// The servers

const PURE_FTPD = () => unpacked('pure-ftpd', 'usr/sbin/pure-ftpd');
const PROFTPD = () => unpacked('proftpd-core', 'usr/sbin/proftpd');
const INETUTILS_FTPD = () => unpacked('inetutils-ftpd', 'usr/sbin/ftpd');
const BSD_FTPD = () => unpacked('ftpd-ssl', 'usr/sbin/in.ftpd');

function proftpdConf(o: { port: number; pasv: { min: number; max: number }; root: string; dir: string; banner: string; maxSessions?: number; rate?: number }): string {
  return [
    `ServerName "${o.banner}"`,
    'ServerType standalone',
    `Port ${o.port}`,
    `DefaultAddress ${HOST}`,
    'SocketBindTight on',
    'UseIPv6 off',
    `PidFile ${o.dir}/proftpd.pid`,
    `ScoreboardFile ${o.dir}/proftpd.scoreboard`,
    'DelayTable none',
    'WtmpLog off',
    'UseReverseDNS off',
    'TransferLog none',
    `SystemLog ${o.dir}/system.log`,
    // The command dialogue, for a failure's report: command, reply code and text.
    'LogFormat dialogue "%{pid} %r -> %s %S"',
    `ExtendedLog ${o.dir}/server.log ALL dialogue`,
    `PassivePorts ${o.pasv.min} ${o.pasv.max}`,
    'User nobody',
    'Group nogroup',
    'MaxInstances 64',
    'RequireValidShell off',
    `<Anonymous ${o.root}>`,
    '  User ftp',
    '  Group nogroup',
    '  UserAlias anonymous ftp',
    '  RequireValidShell off',
    ...(o.maxSessions !== undefined ? [`  MaxClients ${o.maxSessions} "Sorry, max %m users -- try again later"`] : []),
    ...(o.rate !== undefined ? [`  TransferRate RETR ${kib(o.rate)}`] : []),
    '  <Limit WRITE>',
    '    DenyAll',
    '  </Limit>',
    '</Anonymous>',
    '',
  ].join('\n');
}

/** A copy of /etc/pam.d with the ftpd-ssl package's own `ftp` service (pam_ftp for anonymous logins). */
async function pamDirFor(dir: string): Promise<string> {
  const pam = path.join(dir, 'pam.d');
  await fsp.cp('/etc/pam.d', pam, { recursive: true });
  await fsp.copyFile(unpacked('ftpd-ssl', 'etc/pam.d/ftp'), path.join(pam, 'ftp'));
  return pam;
}

/**
 * An inetd service (inetutils ftpd, BSD ftpd): py-ftpd.py accepts on the port and execs `bin args`
 * per connection, in a mount namespace where the root is the ftp account's home (and, with `pam`,
 * /etc/pam.d has the ftpd-ssl package's `ftp` service). Neither has a session limit or a rate.
 */
function inetdServer(kind: ServerKind, pkg: string, bin: () => string, args: string[], pam: boolean): ServerImpl {
  return {
    kind,
    sessionLimit: undefined,
    rest: true,
    rate: false,
    problem: () => firstProblem(needFile(bin(), pkg), needFile(PYTHON, 'python3 (Debian)'), needRoot, needFtpHome, needUnshare),
    async start(o) {
      checkOptions(this, o);
      const dir = await tempDir(kind);
      const pamDir = pam ? await pamDirFor(dir) : undefined;
      return startServer(kind, o.root, dir, (port) => ({
        argv: [PYTHON, PY_FTPD, 'inetd', HOST, String(port), dir, bin(), ...args],
        marker: '', // py-ftpd.py bound the port itself, else it would have exited
        homeBind: true,
        pamDir,
        argvMarker: dir,
      }));
    },
  };
}

export const SERVERS: readonly ServerImpl[] = [
  {
    kind: 'vsftpd',
    sessionLimit: 'max_clients',
    rest: true,
    rate: true,
    problem: () => firstProblem(() => (vsftpdPath() ? undefined : 'vsftpd is not installed (apt-get install -y vsftpd)'), needRoot),
    async start(o) {
      checkOptions(this, o);
      const v = await startVsftpd({ root: o.root, maxClients: o.maxSessions, rateBytesPerSec: o.rateBytesPerSec });
      return { kind: 'vsftpd', pid: v.pid, port: v.port, url: v.url, root: v.root, signal: (s) => v.signal(s), stop: () => v.stop(), log: () => '' };
    },
  },
  {
    kind: 'pure-ftpd',
    sessionLimit: '-c',
    rest: true,
    rate: true,
    problem: () => firstProblem(needFile(PURE_FTPD(), 'pure-ftpd'), needRoot, needFtpHome, needUnshare),
    async start(o) {
      checkOptions(this, o);
      const dir = await tempDir('pure-ftpd');
      const max = String(o.maxSessions ?? 50);
      return startServer('pure-ftpd', o.root, dir, (port, pasv) => ({
        // -e anonymous only, -i no anonymous upload, -H no reverse DNS, -f none: no syslog;
        // -c sessions in all, -C sessions from one address (every test client is 127.0.0.1).
        argv: [PURE_FTPD(), '-S', `${HOST},${port}`, '-p', `${pasv.min}:${pasv.max}`, '-e', '-i', '-H', '-f', 'none', '-c', max, '-C', max,
          ...(o.rateBytesPerSec !== undefined ? ['-t', String(kib(o.rateBytesPerSec))] : [])],
        // Its greeting cannot be set; it names the port it serves.
        marker: `Server port: ${port}.`,
        homeBind: true,
        argvMarker: dir,
      }));
    },
  },
  {
    kind: 'proftpd',
    sessionLimit: 'MaxClients',
    rest: true,
    rate: true,
    problem: () => firstProblem(needFile(PROFTPD(), 'proftpd'), needRoot),
    async start(o) {
      checkOptions(this, o);
      const dir = await tempDir('proftpd');
      const conf = path.join(dir, 'proftpd.conf');
      const banner = nonce('proftpd');
      return startServer('proftpd', o.root, dir, async (port, pasv) => {
        await fsp.writeFile(conf, proftpdConf({ port, pasv, root: o.root, dir, banner, maxSessions: o.maxSessions, rate: o.rateBytesPerSec }));
        return { argv: [PROFTPD(), '--nodaemon', '--config', conf], marker: banner, argvMarker: conf };
      });
    },
  },
  ...(['pyftpdlib', 'twisted'] as const).map(
    (kind): ServerImpl => ({
      kind,
      sessionLimit: kind === 'pyftpdlib' ? 'max_cons' : 'connectionLimit',
      rest: kind === 'pyftpdlib',
      rate: kind === 'pyftpdlib',
      problem: () =>
        firstProblem(needFile(PYTHON, 'python3 (Debian)'), kind === 'pyftpdlib' ? needPython('pyftpdlib', 'python3-pyftpdlib') : needPython('twisted.protocols.ftp', 'python3-twisted')),
      async start(o) {
        checkOptions(this, o);
        const dir = await tempDir(kind);
        const banner = nonce(kind);
        return startServer(kind, o.root, dir, (port, pasv) => ({
          argv: [PYTHON, PY_FTPD, kind, HOST, String(port), o.root, String(pasv.min), String(pasv.max), String(o.maxSessions ?? 0), banner, String(o.rateBytesPerSec ?? 0), dir],
          marker: banner,
          argvMarker: dir,
        }));
      },
    }),
  ),
  inetdServer('inetutils-ftpd', 'inetutils-ftpd', INETUTILS_FTPD, ['-A'], false), // -A: anonymous only
  inetdServer('bsd-ftpd', 'ftpd-ssl (BSD ftpd)', BSD_FTPD, ['-n'], true), // -n: numeric addresses in its log
];

export function serverImpl(kind: ServerKind): ServerImpl {
  return SERVERS.find((s) => s.kind === kind)!;
}

/** describe(name, fn) when `impl` can run here; else skipped with the reason, or one failing test in CI. */
export function describeWithServer(impl: ServerImpl, name: string, fn: () => void): void {
  describeWithServers([impl], name, fn);
}

/** describe(name, fn) when every one of `impls` can run here; else as describeWithServer, for the first that cannot. */
export function describeWithServers(impls: ServerImpl[], name: string, fn: () => void): void {
  const missing = impls.map((impl) => ({ impl, problem: impl.problem() })).find((m) => m.problem !== undefined);
  describeIfUsable(
    name,
    missing === undefined
      ? undefined
      : { warn: `${missing.impl.kind}: ${missing.problem}: skipping ${name} (${INSTALL_HINT})`, fail: `${missing.impl.kind}: ${missing.problem} (${INSTALL_HINT})` },
    fn,
    impls.map((i) => i.kind).join(', '),
  );
}
