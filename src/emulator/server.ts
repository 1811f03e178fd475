/**
 * The "emulated mirror": a small read-only FTP server on node:net for tests, the demo and the
 * benchmark. One instance stands for one mirror site: a shared link rate, a session limit
 * answered with 421, a control-channel delay standing for distance, and injectable faults.
 */
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import { TokenBucket } from './bucket.js';
import type { Fault } from './faults.js';
import { Session, type ServerContext } from './session.js';
import { deferred, noop, raceAbort, sleep } from './util.js';

export interface FtpServerOptions {
  root: string; // directory served read-only; paths can never escape it (.., symlinks out)
  host?: string; // default '127.0.0.1'
  port?: number; // default 0 (ephemeral); handle.port tells the real one
  linkRate?: number; // bytes/s on the wire, framing included (framing.ts), shared by ALL data connections of this server (token bucket); undefined = unlimited
  controlDelayMs?: number; // added before every control reply (stands for network distance); default 0
  idleTimeoutMs?: number; // a session idle this long gets "421 Timeout." and is closed, as real servers do; default never
  maxSessions?: number; // default 16; a session beyond it is greeted 421 and closed
  users?: Record<string, string>; // when set, only these user/password pairs log in (530 otherwise); when unset anyone logs in (anonymous)
  fault?: Fault;
}

/** transfers counts RETRs that started sending (150); bytesSent counts RETR payload bytes. */
export interface FtpServerStats {
  sessionsOpened: number;
  sessionsRejected: number;
  activeSessions: number;
  transfers: number;
  /** RETRs sending right now (a closing session holds none, unlike activeSessions). */
  activeTransfers: number;
  bytesSent: number;
  /** Commands received, of every kind: how many round trips clients spent. */
  commands: number;
}

export interface FtpServerHandle {
  readonly host: string;
  readonly port: number;
  readonly url: string; // url = ftp://host:port/
  readonly stats: FtpServerStats; // live counters
  setFault(fault: Fault): void; // applies to transfers/sessions that start afterwards (and stall/drop also to ones in progress)
  setLinkRate(bytesPerSecond: number | undefined): void;
  onSession(listener: () => void): () => void; // called as each session is accepted (not for one refused 421); returns what unsubscribes
  kill(): void; // in-process stand-in for SIGKILL: destroy every socket at once, stop listening, no replies
  close(): Promise<void>; // graceful: stop listening, end sessions, resolve when all sockets are gone (bounded: force after 2 s)
}

const CLOSE_GRACE_MS = 2_000;
/** A rejected (421) client that never closes its end is dropped after this. */
const REJECT_LINGER_MS = 5_000;

function checkRate(r: number | undefined): number | undefined {
  if (r !== undefined && !(Number.isFinite(r) && r > 0)) throw new RangeError(`linkRate must be a positive number, got ${r}`);
  return r;
}

function checkCount(name: string, v: number | undefined, dflt: number, min: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

export async function startFtpServer(options: FtpServerOptions): Promise<FtpServerHandle> {
  const rootReal = await fsp.realpath(options.root);
  if (!(await fsp.stat(rootReal)).isDirectory()) throw new Error(`root is not a directory: ${options.root}`);
  const host = options.host ?? '127.0.0.1';
  const maxSessions = checkCount('maxSessions', options.maxSessions, 16, 0);
  const controlDelayMs = checkCount('controlDelayMs', options.controlDelayMs, 0, 0);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : checkCount('idleTimeoutMs', options.idleTimeoutMs, 1, 1);
  const bucket = new TokenBucket(checkRate(options.linkRate));
  const users = options.users ? { ...options.users } : undefined;

  let fault: Fault = options.fault ?? { type: 'none' };
  let faultGen = deferred();
  // Handed out as handle.stats: live, and plain so it logs and serializes well.
  const counters: FtpServerStats = { sessionsOpened: 0, sessionsRejected: 0, activeSessions: 0, transfers: 0, activeTransfers: 0, bytesSent: 0, commands: 0 };
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  const sessions = new Set<Session>();
  const sessionListeners = new Set<() => void>();
  // Aborted by close()/kill(): cancels pending 421 greetings.
  const life = new AbortController();
  let onEmpty: (() => void) | undefined;

  const untracked = (): void => {
    if (sockets.size === 0 && servers.size === 0) onEmpty?.();
  };
  const trackSocket = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      untracked();
    });
  };
  const trackServer = (s: net.Server): void => {
    servers.add(s);
    s.once('close', () => {
      servers.delete(s);
      untracked();
    });
  };

  const ctx: ServerContext = {
    rootReal,
    host,
    controlDelayMs,
    idleTimeoutMs,
    users,
    bucket,
    fault: () => fault,
    faultChanged: () => faultGen.promise,
    trackSocket,
    trackServer,
    countTransfer: () => {
      counters.transfers++;
      counters.activeTransfers++;
    },
    transferEnded: () => void counters.activeTransfers--,
    countBytes: (n) => void (counters.bytesSent += n),
    countCommand: () => void counters.commands++,
  };

  const reject421 = async (s: net.Socket): Promise<void> => {
    counters.sessionsRejected++;
    s.resume(); // discard input (e.g. a QUIT); unread data would keep the client's FIN from being seen
    s.setTimeout(REJECT_LINGER_MS, () => s.destroy());
    if (controlDelayMs > 0 && !(await sleep(controlDelayMs, life.signal))) return;
    if (s.writable) s.end('421 Too many users, try later.\r\n');
  };

  const listener = net.createServer((s) => {
    s.on('error', noop); // a client's ECONNRESET/EPIPE must never crash the process
    if (life.signal.aborted) {
      s.destroy();
      return;
    }
    trackSocket(s);
    s.setNoDelay(true); // Nagle would hold back multi-line replies (measured 44 ms per file)
    if (fault.type === 'refuse' || counters.activeSessions >= maxSessions) {
      void reject421(s);
      return;
    }
    counters.activeSessions++;
    counters.sessionsOpened++;
    const session = new Session(ctx, s);
    sessions.add(session);
    s.once('close', () => {
      counters.activeSessions--;
      sessions.delete(session);
    });
    session.start();
    for (const listener of [...sessionListeners]) listener();
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port: options.port ?? 0, exclusive: true }, () => {
      listener.removeListener('error', reject);
      resolve();
    });
  });
  listener.on('error', noop);
  trackServer(listener);
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `ftp://${host.includes(':') ? `[${host}]` : host}:${port}/`;

  const stopListening = (): void => {
    life.abort();
    bucket.dispose();
    for (const srv of servers) srv.close();
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopListening();
      for (const session of sessions) session.shutdown();
      for (const s of sockets) s.end();
      const gone = new Promise<true>((resolve) => {
        onEmpty = () => resolve(true);
      });
      untracked();
      if ((await raceAbort(gone, undefined, CLOSE_GRACE_MS)) !== true) {
        for (const s of sockets) s.destroy();
        await raceAbort(gone, undefined, CLOSE_GRACE_MS);
      }
    })();
    return closing;
  };

  return {
    host,
    port,
    url,
    stats: counters,
    setFault(f: Fault): void {
      fault = f;
      const previous = faultGen;
      faultGen = deferred();
      previous.resolve(); // wakes stalled transfers so they re-read the fault
    },
    setLinkRate(bytesPerSecond: number | undefined): void {
      bucket.setRate(checkRate(bytesPerSecond));
    },
    onSession(listener: () => void): () => void {
      const own = (): void => listener(); // the same function twice is two subscriptions
      sessionListeners.add(own);
      return () => void sessionListeners.delete(own);
    },
    kill(): void {
      stopListening();
      for (const s of sockets) s.destroy();
    },
    close,
  };
}
