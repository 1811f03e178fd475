// A hostile FTP server for tests (issue "Trust no mirror"): every mirror is a stranger, so the
// client is attacked with lies, silence, floods and trickles. Honest by default; each option below
// turns on one misbehaviour, and several combine. In-process (node:net), 127.0.0.1 only.

import net from 'node:net';
import { posix } from 'node:path';
import { formatMdtm } from '../../src/emulator/fsview.js';
import { noop, raceAbort, sleep, waitEvent } from '../../src/emulator/util.js';
import { MTIME } from './fixtures.js';

export interface HostileOptions {
  /** Files served, keyed by path as the client sends it ('/pub/f.bin'; the leading slash is optional). */
  files?: Record<string, Buffer>;
  /** The time MDTM gives for every file (default: the fixtures' MTIME). */
  mtime?: Date;
  /** Replaces the '220' greeting line, e.g. '421 Too many users' (a 421 reply also closes the connection). */
  greeting?: string;
  /** Replaces the reply to PASS, e.g. '530 Sorry, max 5 users -- try again later' (proftpd when full). */
  loginReply?: string;
  /** Replaces the SIZE reply line: fixed, or made from the path and the real size (undefined when missing). */
  sizeReply?: string | ((path: string, size: number | undefined) => string);
  /** SIZE says the real size plus this many bytes. */
  sizeDelta?: number;
  /** Bytes RETR serves instead of the file's own (SIZE still tells the file's size). */
  body?: Record<string, Buffer> | ((path: string, data: Buffer) => Buffer);
  /** Bytes sent past the file's end before 226; 'endless' = until the client leaves, close() or 1 GiB. */
  extraBytes?: number | 'endless';
  /** RETR sends this many bytes fewer than the file has, then 226 as if complete. */
  shortBy?: number;
  /** REST answers "502 Command 'REST' not implemented". */
  noRest?: boolean;
  /** Commands (and 'greeting') that are never answered. */
  silentOn?: Iterable<string>;
  /** Commands (and 'greeting') whose replies are sent one byte every trickleMs. */
  trickle?: Iterable<string>;
  /** Default 1000. */
  trickleMs?: number;
  /** Bytes per trickled piece (default 1): e.g. 6 splits '213 100000' after '213 10'. */
  trickleBytes?: number;
  /** A command (or 'greeting') answered by 'code-' lines forever (code 213, a line every 5 ms by default). */
  endlessMultiline?: string | { command: string; code?: number; everyMs?: number };
  /** RETR data rate in bytes/s, sent in small chunks (1 = slowloris). */
  dataRate?: number;
  /**
   * Raw listings by directory ('/pub'): LIST, NLST and MLSD of that directory send this text as it
   * is, e.g. an entry named '../../etc/x' (the in-memory files' own listing otherwise).
   */
  listing?: Record<string, string>;
  /** FEAT also names MLST (so clients list with MLSD). */
  mlst?: boolean;
  /** EPSV/PASV name this port instead of a listener of ours; RETR then says 150 and 226 and sends nothing. */
  pasvTo?: number | (() => number);
}

export interface HostileStats {
  /** Control connections accepted. */
  sessions: number;
  /** Every command line as received, over all sessions (PASS with its password). */
  commands: string[];
  /** Payload bytes written to data connections (RETR and listings). */
  bytesSent: number;
  /** RETRs that began (answered 150). */
  retrs: number;
}

export interface HostileFtpd {
  readonly host: string;
  readonly port: number;
  /** ftp://127.0.0.1:port/ */
  readonly url: string;
  /** Live counters. */
  readonly stats: HostileStats;
  /** Destroys every socket and listener it made and stops every loop; bounded (2 s at most). */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const CHUNK = 64 * 1024;
const FILLER = Buffer.alloc(CHUNK, 'X');
const ENDLESS_CAP = 2 ** 30; // "endless" extra bytes stop at 1 GiB
const ENDLESS_LINES_CAP = 1_000_000; // and an endless multi-line reply after this many lines
const DATA_WAIT_MS = 5_000; // RETR waits this long for the client's data connection, then 425
const CLOSE_WAIT_MS = 2_000;
const MAX_LINE = 8192;
const PRE_LOGIN = new Set(['USER', 'PASS', 'QUIT', 'FEAT', 'SYST', 'OPTS', 'AUTH', 'NOOP']);

const upper = (names: Iterable<string> | undefined): Set<string> => new Set([...(names ?? [])].map((n) => n.toUpperCase()));
const key = (path: string): string => posix.resolve('/', path);

/** What every session shares: the options, the counters, and what close() must undo. */
class Server {
  readonly life = new AbortController();
  readonly stats: HostileStats = { sessions: 0, commands: [], bytesSent: 0, retrs: 0 };
  readonly files = new Map<string, Buffer>();
  readonly bodies = new Map<string, Buffer>();
  readonly silent: Set<string>;
  readonly trickle: Set<string>;
  readonly endless: { command: string; code: number; everyMs: number } | undefined;
  readonly sockets = new Set<net.Socket>();
  readonly listeners = new Set<net.Server>();

  constructor(readonly o: HostileOptions) {
    for (const [path, data] of Object.entries(o.files ?? {})) this.files.set(key(path), data);
    if (typeof o.body === 'object') for (const [path, data] of Object.entries(o.body)) this.bodies.set(key(path), data);
    this.silent = upper(o.silentOn);
    this.trickle = upper(o.trickle);
    const e = typeof o.endlessMultiline === 'string' ? { command: o.endlessMultiline } : o.endlessMultiline;
    this.endless = e && { command: e.command.toUpperCase(), code: e.code ?? 213, everyMs: e.everyMs ?? 5 };
  }

  track(s: net.Socket): void {
    s.on('error', noop); // a client's ECONNRESET must never crash the test run
    if (this.life.signal.aborted) s.destroy();
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  async listen(server: net.Server): Promise<number> {
    server.on('error', noop);
    this.listeners.add(server);
    server.once('close', () => this.listeners.delete(server));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: 0, exclusive: true }, resolve);
    });
    return (server.address() as net.AddressInfo).port;
  }
}

type Handler = (s: Session, arg: string) => Promise<void>;

/** The honest answers; misbehaviours are decided in Session.dispatch and the data pump. */
const COMMANDS: Record<string, Handler> = {
  GREETING: (s) => s.reply(s.srv.o.greeting ?? '220 hostile-ftpd ready'),
  USER: (s) => s.reply('331 Password required'),
  PASS: async (s) => {
    const answer = s.srv.o.loginReply ?? '230 Logged in';
    s.loggedIn = answer.startsWith('2');
    await s.reply(answer);
  },
  AUTH: (s) => s.reply('502 TLS not supported'),
  SYST: (s) => s.reply('215 UNIX Type: L8'),
  FEAT: (s) => s.reply(`211-Features:\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n EPSV\r\n UTF8\r\n${s.srv.o.mlst ? ' MLST type*;size*;\r\n' : ''}211 End`),
  TYPE: (s) => s.reply('200 Type set'),
  STRU: (s) => s.reply('200 Structure set'),
  OPTS: (s) => s.reply('200 OK'),
  NOOP: (s) => s.reply('200 NOOP ok'),
  PWD: (s) => s.reply(`257 "${s.cwd}" is the current directory`),
  CWD: (s, arg) => {
    s.cwd = posix.resolve(s.cwd, arg);
    return s.reply('250 Directory changed');
  },
  SIZE: (s, arg) => {
    const path = s.path(arg);
    const size = s.srv.files.get(path)?.length;
    const { sizeReply, sizeDelta = 0 } = s.srv.o;
    if (sizeReply !== undefined) return s.reply(typeof sizeReply === 'string' ? sizeReply : sizeReply(path, size));
    return s.reply(size === undefined ? '550 No such file' : `213 ${size + sizeDelta}`);
  },
  MDTM: (s, arg) => s.reply(s.srv.files.has(s.path(arg)) ? `213 ${formatMdtm(s.srv.o.mtime ?? MTIME)}` : '550 No such file'),
  EPSV: async (s) => s.reply(`229 Entering Extended Passive Mode (|||${await s.passive()}|)`),
  PASV: async (s) => {
    const port = await s.passive();
    await s.reply(`227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255})`);
  },
  REST: (s, arg) => {
    if (s.srv.o.noRest) return s.reply("502 Command 'REST' not implemented");
    s.rest = Number(arg);
    return Number.isSafeInteger(s.rest) && s.rest >= 0 ? s.reply(`350 Restarting at ${s.rest}`) : s.reply('501 Bad offset');
  },
  RETR: (s, arg) => s.retr(s.path(arg)),
  LIST: (s, arg) => s.list(arg, (name, size) => `-rw-r--r-- 1 ftp ftp ${size} Jan 02 03:04 ${name}`),
  NLST: (s, arg) => s.list(arg, (name) => name),
  MLSD: (s, arg) => s.list(arg, (name, size) => `type=file;size=${size}; ${name}`),
  ABOR: (s) => s.reply('226 ABOR successful'),
  QUIT: async (s) => {
    await s.reply('221 Goodbye');
    s.control.end();
  },
};

/** One control connection; commands run one after another, as they arrived. */
class Session {
  cwd = '/';
  rest = 0;
  loggedIn = false;
  private buf = '';
  private chain = Promise.resolve();
  private command = '';
  private listener: net.Server | undefined;
  private data: Promise<net.Socket | undefined> | undefined;
  private transfer: AbortController | undefined;
  private readonly signal: AbortSignal;

  constructor(
    readonly srv: Server,
    readonly control: net.Socket,
  ) {
    const gone = new AbortController();
    control.once('close', () => {
      gone.abort();
      this.listener?.close();
    });
    this.signal = AbortSignal.any([srv.life.signal, gone.signal]);
    control.setNoDelay(true); // a trickled reply must leave one byte at a time
    control.setEncoding('utf8'); // paths are UTF-8 (OPTS UTF8 ON); the decoder keeps split characters whole
    control.on('data', (text: string) => this.onData(text));
    this.enqueue('GREETING', '');
  }

  path(arg: string): string {
    return posix.resolve(this.cwd, arg);
  }

  private onData(text: string): void {
    this.buf += text;
    for (let i = this.buf.indexOf('\n'); i !== -1; i = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      this.srv.stats.commands.push(line);
      const sp = line.indexOf(' ');
      const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      if (cmd === 'ABOR') this.transfer?.abort(); // overtakes the queue, as urgent data would
      this.enqueue(cmd, sp < 0 ? '' : line.slice(sp + 1));
    }
    if (this.buf.length > MAX_LINE) this.control.destroy();
  }

  private enqueue(cmd: string, arg: string): void {
    this.chain = this.chain.then(() => this.dispatch(cmd, arg)).catch(() => void this.control.destroy());
  }

  /** Where the per-command misbehaviours are chosen. */
  private async dispatch(cmd: string, arg: string): Promise<void> {
    if (this.signal.aborted || this.srv.silent.has(cmd)) return;
    this.command = cmd;
    const endless = this.srv.endless;
    if (endless?.command === cmd) return this.endlessReply(endless.code, endless.everyMs);
    if (!this.loggedIn && !PRE_LOGIN.has(cmd) && cmd !== 'GREETING') return this.reply('530 Please login with USER and PASS');
    const handler = COMMANDS[cmd];
    await (handler ? handler(this, arg) : this.reply(`502 Command '${cmd}' not implemented`));
  }

  /** Writes one reply (lines joined by CRLF), trickled when the command is chosen for it; 421 hangs up. */
  async reply(text: string): Promise<void> {
    const bytes = Buffer.from(text + '\r\n', 'utf8');
    if (this.srv.trickle.has(this.command)) {
      const { trickleMs = 1000, trickleBytes = 1 } = this.srv.o;
      for (let i = 0; i < bytes.length; i += trickleBytes) {
        if (this.control.destroyed || (i > 0 && !(await sleep(trickleMs, this.signal)))) return;
        this.control.write(bytes.subarray(i, i + trickleBytes));
      }
    } else if (!this.control.destroyed) {
      this.control.write(bytes);
    }
    if (text.startsWith('421')) this.control.end();
  }

  /** 'code-' continuation lines forever: bounded by the client leaving, close() and a line cap. */
  private async endlessReply(code: number, everyMs: number): Promise<void> {
    for (let n = 0; n < ENDLESS_LINES_CAP && !this.control.destroyed; n++) {
      if (!this.control.write(`${code}-line ${n} of a reply that never ends\r\n`)) {
        if (!(await waitEvent(this.control, 'drain', this.signal))) return;
      }
      if (!(await sleep(everyMs, this.signal))) return;
    }
  }

  /** Opens a one-shot data listener (replacing any earlier one) and returns the port to announce. */
  async passive(): Promise<number> {
    const { pasvTo } = this.srv.o;
    if (pasvTo !== undefined) return typeof pasvTo === 'number' ? pasvTo : pasvTo();
    this.listener?.close();
    const listener = (this.listener = net.createServer());
    this.data = new Promise((resolve) => {
      listener.once('connection', (s) => {
        this.srv.track(s);
        listener.close();
        resolve(s);
      });
      listener.once('close', () => resolve(undefined));
    });
    return this.srv.listen(listener);
  }

  private async dataSocket(): Promise<net.Socket | undefined> {
    const pending = this.data;
    this.data = undefined;
    return pending && raceAbort(pending, this.signal, DATA_WAIT_MS);
  }

  async retr(path: string): Promise<void> {
    const offset = this.rest;
    this.rest = 0;
    const file = this.srv.files.get(path);
    if (!file) return this.reply('550 No such file');
    const { body, shortBy = 0, extraBytes = 0, pasvTo } = this.srv.o;
    const served = typeof body === 'function' ? body(path, file) : (this.srv.bodies.get(path) ?? file);
    if (pasvTo !== undefined) {
      // The data went "elsewhere": whoever listens at pasvTo's port decides what the client gets.
      this.srv.stats.retrs++;
      return this.reply('150 Opening BINARY mode data connection\r\n226 Transfer complete');
    }
    const socket = await this.dataSocket();
    if (!socket) return this.reply("425 Can't open data connection");
    this.srv.stats.retrs++;
    await this.reply('150 Opening BINARY mode data connection');
    const payload = served.subarray(Math.min(offset, served.length), Math.max(offset, served.length - shortBy));
    const extra = extraBytes === 'endless' ? ENDLESS_CAP : extraBytes;
    await this.send(socket, chunks(payload, extra, this.srv.o.dataRate));
  }

  async list(arg: string, line: (name: string, size: number) => string): Promise<void> {
    const dir = this.path(arg.replace(/^(-\S*\s*)+/, '')); // 'LIST -a /pub'
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    const raw = this.srv.o.listing?.[dir] ?? this.srv.o.listing?.[prefix];
    const lines = raw !== undefined ? [raw] : [...this.srv.files]
      .filter(([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map(([p, data]) => line(p.slice(prefix.length), data.length) + '\r\n');
    const socket = await this.dataSocket();
    if (!socket) return this.reply("425 Can't open data connection");
    await this.reply('150 Here comes the listing');
    await this.send(socket, [Buffer.from(lines.join(''), 'utf8')]);
  }

  /** Pumps chunks into the data socket respecting backpressure, then 226 (or 426 when cut off). */
  private async send(socket: net.Socket, parts: Iterable<Buffer>): Promise<void> {
    const transfer = new AbortController();
    this.transfer = transfer;
    socket.once('close', () => transfer.abort());
    const signal = AbortSignal.any([this.signal, transfer.signal]);
    const { tickMs } = pace(this.srv.o.dataRate);
    let complete = !signal.aborted;
    for (const part of parts) {
      this.srv.stats.bytesSent += part.length;
      const written = socket.write(part) || (await waitEvent(socket, 'drain', signal));
      if (!written || (tickMs > 0 && !(await sleep(tickMs, signal))) || signal.aborted) {
        complete = false;
        break;
      }
    }
    this.transfer = undefined;
    if (!complete) {
      socket.destroy();
      return this.reply('426 Connection closed; transfer aborted');
    }
    socket.end();
    await this.reply('226 Transfer complete');
  }
}

/** A rate becomes a chunk every tickMs (at least 10 ms apart, at least a byte each). */
function pace(rate: number | undefined): { tickMs: number; size: number } {
  if (!rate) return { tickMs: 0, size: CHUNK };
  const tickMs = Math.max(10, 1000 / rate);
  return { tickMs, size: Math.min(CHUNK, Math.max(1, Math.round((rate * tickMs) / 1000))) };
}

/** The payload, then `extra` filler bytes, in chunks a rate limiter can pace (never all in memory). */
function* chunks(payload: Buffer, extra: number, rate: number | undefined): Generator<Buffer> {
  const { size } = pace(rate);
  for (let at = 0; at < payload.length; at += size) yield payload.subarray(at, at + size);
  for (let left = extra; left > 0; left -= size) yield FILLER.subarray(0, Math.min(size, left));
}

export async function startHostileFtpd(options: HostileOptions = {}): Promise<HostileFtpd> {
  const srv = new Server(options);
  const listener = net.createServer((s) => {
    srv.track(s);
    if (srv.life.signal.aborted) return;
    srv.stats.sessions++;
    new Session(srv, s);
  });
  const port = await srv.listen(listener);
  let closing: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    url: `ftp://${HOST}:${port}/`,
    stats: srv.stats,
    close() {
      closing ??= (async () => {
        srv.life.abort(); // stops every trickle, pump and endless loop, and their timers
        const closed = [...srv.listeners].map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
        for (const s of srv.sockets) s.destroy();
        await raceAbort(Promise.all(closed), undefined, CLOSE_WAIT_MS);
      })();
      return closing;
    },
  };
}
