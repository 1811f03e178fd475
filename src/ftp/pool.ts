// Reusable basic-ftp clients per mirror. One Client runs one transfer at a time (basic-ftp's model),
// so the pool hands out a client per transfer and keeps idle ones open: successive files on the same
// mirror reuse one control connection (site affinity without reconnecting).

import { Client } from 'basic-ftp';
import { resolveLogin } from '../certificate/credentials.js';
import type { MirrorSpec } from '../certificate/types.js';
import { Interrupted, RequestError } from '../director/errors.js';
import { classifyConnectError } from './classify.js';
import { withoutTaskStacks } from './task-stacks.js';

export interface Lease {
  readonly mirror: MirrorSpec;
  readonly client: Client;
  /** True when this lease opened a new control connection. */
  readonly fresh: boolean;
  /** Connect-and-login time in ms for a fresh lease, else 0. */
  readonly connectMs: number;
}

export interface PoolOptions {
  /** Connect-and-login limit, ms. */
  connectTimeoutMs: number;
  /** basic-ftp's own socket timeout once connected, ms; our stall watchdog fires first. */
  idleTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** A control connection to this mirror was opened. */
  onConnect?: (mirror: string) => void;
  /** Every line of the FTP dialogue, when set (basic-ftp masks the password). */
  onDialogue?: (mirror: string, line: string) => void;
  /** Something the user should know about the login (the netrc file is open to others): on every connection that reads it. */
  onWarning?: (message: string) => void;
}

interface MirrorSlot {
  idle: Client[];
  open: number;
  waiters: (() => void)[];
}

export class FtpPool {
  /** Control connections opened so far, per mirror (the benchmark counts these). */
  readonly opened: Record<string, number> = {};
  private readonly slots = new Map<string, MirrorSlot>();

  constructor(private readonly options: PoolOptions) {}

  private slot(mirror: MirrorSpec): MirrorSlot {
    let s = this.slots.get(mirror.name);
    if (!s) {
      s = { idle: [], open: 0, waiters: [] };
      this.slots.set(mirror.name, s);
    }
    return s;
  }

  /** Whether an idle, open connection to this mirror is waiting. */
  hasIdle(mirror: MirrorSpec): boolean {
    return this.slot(mirror).idle.some((c) => !c.closed);
  }

  /** Whether a lease on this mirror would be given now, without waiting for another to end. */
  hasRoom(mirror: MirrorSpec): boolean {
    const slot = this.slot(mirror);
    return slot.open < mirror.maxConnections || this.hasIdle(mirror);
  }

  async acquire(mirror: MirrorSpec, signal: AbortSignal): Promise<Lease> {
    const slot = this.slot(mirror);
    for (;;) {
      if (signal.aborted) throw new Interrupted();
      while (slot.idle.length > 0) {
        const client = slot.idle.pop()!;
        if (!client.closed) return { mirror, client, fresh: false, connectMs: 0 };
        slot.open--;
      }
      if (slot.open < mirror.maxConnections) break;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        slot.waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    slot.open++;
    this.opened[mirror.name] = (this.opened[mirror.name] ?? 0) + 1;
    this.options.onConnect?.(mirror.name);
    try {
      return await this.connect(mirror, signal);
    } catch (error) {
      this.freeSlot(slot);
      throw error;
    }
  }

  private async connect(mirror: MirrorSpec, signal: AbortSignal): Promise<Lease> {
    // basic-ftp has one timeout for everything; ours for connecting is enforced by a timer.
    const client = new Client(this.options.idleTimeoutMs);
    withoutTaskStacks(client);
    const dialogue = this.options.onDialogue;
    if (dialogue) {
      // basic-ftp logs to the console; ours goes to the events instead.
      client.ftp.verbose = true;
      client.ftp.log = (line: string) => dialogue(mirror.name, line.trimEnd());
    }
    const onAbort = () => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      client.close();
    }, this.options.connectTimeoutMs);
    const started = performance.now();
    try {
      const { credentials, warnings } = await resolveLogin(mirror, this.options.env ?? process.env);
      for (const warning of warnings) this.options.onWarning?.(warning);
      const { user, password } = credentials;
      await logIn(client, mirror, user, password);
      return { mirror, client, fresh: true, connectMs: performance.now() - started };
    } catch (error) {
      client.close();
      if (signal.aborted) throw new Interrupted();
      if (timedOut) throw new RequestError('unreachable', `no login within ${this.options.connectTimeoutMs / 1000} s`);
      throw classifyConnectError(error);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Give a healthy client back for the next file. */
  release(lease: Lease): void {
    const slot = this.slot(lease.mirror);
    if (lease.client.closed) {
      this.freeSlot(slot);
      return;
    }
    slot.idle.push(lease.client);
    slot.waiters.shift()?.();
  }

  /** Close a client that failed or was aborted. */
  discard(lease: Lease): void {
    lease.client.close();
    this.freeSlot(this.slot(lease.mirror));
  }

  private freeSlot(slot: MirrorSlot): void {
    slot.open = Math.max(0, slot.open - 1);
    slot.waiters.shift()?.();
  }

  /** Close every idle connection (QUIT is not awaited: the run is over). */
  closeAll(): void {
    for (const slot of this.slots.values()) {
      for (const client of slot.idle) client.close();
      slot.open -= slot.idle.length;
      slot.idle = [];
    }
  }
}

/**
 * Connect and log in with the fewest round trips that leave the session ready for RETR: greeting,
 * (AUTH TLS,) USER, PASS, TYPE I, OPTS UTF8 ON (and PBSZ/PROT on TLS). basic-ftp's access() also
 * sends OPTS UTF8 before login, FEAT, STRU F (the default anyway) and OPTS MLST: four more round
 * trips that downloading does not use, paid on every connection (curl does not send them either).
 */
async function logIn(client: Client, mirror: MirrorSpec, user: string, password: string): Promise<void> {
  const tls = mirror.protocol === 'ftps';
  await client.connect(mirror.host, mirror.port);
  if (tls) await client.useTLS({ host: mirror.host });
  await client.login(user, password);
  await client.send('TYPE I');
  // Paths may be UTF-8; servers that are always in UTF-8 mode answer 200 or 202 anyway.
  await client.sendIgnoringError('OPTS UTF8 ON');
  if (tls) {
    await client.sendIgnoringError('PBSZ 0');
    await client.sendIgnoringError('PROT P');
  }
}

/**
 * Run `work` on a connection to the mirror, then give the connection back when it is still good.
 * `work` calls `answered()` once the server has replied to its first command: an idle connection
 * the server closed meanwhile (servers time idle sessions out) fails before that, and is no fault
 * of the mirror, so it is replaced once, quietly.
 */
export async function withConnection<T>(
  pool: FtpPool,
  mirror: MirrorSpec,
  signal: AbortSignal,
  onConnected: (ms: number) => void,
  work: (lease: Lease, answered: () => void) => Promise<T>,
): Promise<T> {
  for (let retry = false; ; retry = true) {
    const lease = await pool.acquire(mirror, signal);
    if (lease.fresh) onConnected(lease.connectMs);
    let answered = false;
    let reusable = false;
    // Ctrl-C ends whatever the connection is waiting for (a command's reply, a transfer).
    const onAbort = () => lease.client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await work(lease, () => (answered = true));
      reusable = !lease.client.closed;
      return result;
    } catch (error) {
      if (signal.aborted) throw new Interrupted();
      if (!lease.fresh && !retry && !answered && lease.client.closed) continue;
      // A "file missing here" reply leaves the control connection in good order.
      reusable = error instanceof RequestError && error.kind === 'missing' && !lease.client.closed;
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (reusable) pool.release(lease);
      else pool.discard(lease);
    }
  }
}
