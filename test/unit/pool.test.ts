// FtpPool against the embedded FTP server: leases, reuse of an idle connection, the per-mirror
// connection limit, and the ways an acquire fails.

import { afterEach, describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerHandle, type FtpServerOptions } from '../../src/emulator/server.js';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { Interrupted, RequestError } from '../../src/director/errors.js';
import { FtpPool, type Lease } from '../../src/ftp/pool.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { mirrorSpec } from '../helpers/fixtures.js';

const t = cleanupAfterEach();

/** No ~/.netrc of this machine's user: the pool logs in anonymously. */
const env = { NETRC: '/nonexistent/netrc' };
const pools: FtpPool[] = [];
const leases: Lease[] = [];

afterEach(() => {
  for (const lease of leases.splice(0)) lease.client.close();
  for (const pool of pools.splice(0)) pool.closeAll();
});

function pool(connectTimeoutMs = 5_000): FtpPool {
  const p = new FtpPool({ connectTimeoutMs, idleTimeoutMs: 10_000, env });
  pools.push(p);
  return p;
}

async function serve(name: string, options: Partial<FtpServerOptions> = {}, extra: Partial<MirrorSpec> = {}): Promise<{ server: FtpServerHandle; mirror: MirrorSpec }> {
  // An empty root: the pool never reads a file.
  const server = t.track(await startFtpServer({ root: t.dir('smartftp-pool-'), ...options }));
  return { server, mirror: mirrorSpec(server, name, extra) };
}

const signal = () => new AbortController().signal;

async function acquire(p: FtpPool, mirror: MirrorSpec, s = signal()): Promise<Lease> {
  const lease = await p.acquire(mirror, s);
  leases.push(lease);
  return lease;
}

/** Whether a promise has settled once everything already queued has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

/** The error p rejects with; a hang (an acquire left waiting for a slot) fails within 5 s. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('still pending after 5 s')), 5_000);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer)).then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('FtpPool: leases', () => {
  it('opens a connection, and a released one serves the next acquire without a new login', async () => {
    const { server, mirror } = await serve('m1');
    const p = pool();
    const first = await acquire(p, mirror);
    expect(first).toMatchObject({ fresh: true, mirror });
    expect(first.connectMs).toBeGreaterThan(0);
    await first.client.send('NOOP');
    expect(p.hasIdle(mirror)).toBe(false);
    p.release(first);
    expect(p.hasIdle(mirror)).toBe(true);

    const second = await acquire(p, mirror);
    expect(second.client).toBe(first.client);
    expect(second).toMatchObject({ fresh: false, connectMs: 0 });
    expect(p.opened).toEqual({ m1: 1 });
    expect(server.stats.sessionsOpened).toBe(1);
  });

  it('a discarded connection is closed and not handed out again', async () => {
    const { server, mirror } = await serve('m1');
    const p = pool();
    const first = await acquire(p, mirror);
    p.discard(first);
    expect(first.client.closed).toBe(true);
    expect(p.hasIdle(mirror)).toBe(false);
    const second = await acquire(p, mirror);
    expect(second.fresh).toBe(true);
    expect(second.client).not.toBe(first.client);
    expect(p.opened).toEqual({ m1: 2 });
    expect(server.stats.sessionsOpened).toBe(2);
  });

  it('an idle connection that closed meanwhile is replaced by a fresh one', async () => {
    const { mirror } = await serve('m1');
    const p = pool();
    const first = await acquire(p, mirror);
    p.release(first);
    first.client.close(); // as when the server times an idle session out
    expect(p.hasIdle(mirror)).toBe(false);
    const second = await acquire(p, mirror);
    expect(second.fresh).toBe(true);
    expect(second.client.closed).toBe(false);
  });

  it('releasing a closed client frees its slot instead of keeping it', async () => {
    const { mirror } = await serve('m1', {}, { maxConnections: 1 });
    const p = pool();
    const first = await acquire(p, mirror);
    first.client.close();
    p.release(first);
    expect(p.hasIdle(mirror)).toBe(false);
    expect((await acquire(p, mirror)).fresh).toBe(true);
  });

  it('closeAll() closes the idle connections', async () => {
    const { mirror } = await serve('m1');
    const p = pool();
    const a = await acquire(p, mirror);
    const b = await acquire(p, mirror);
    p.release(a);
    p.release(b);
    p.closeAll();
    expect([a.client.closed, b.client.closed]).toEqual([true, true]);
    expect(p.hasIdle(mirror)).toBe(false);
  });
});

describe('FtpPool: max connections per mirror', () => {
  it('an acquire beyond max_connections waits for a release, then takes that connection', async () => {
    const { server, mirror } = await serve('m1', {}, { maxConnections: 2 });
    const p = pool();
    const a = await acquire(p, mirror);
    const b = await acquire(p, mirror);
    const third = acquire(p, mirror);
    expect(await settled(third)).toBe(false);
    p.release(a);
    const c = await third;
    expect(c.client).toBe(a.client);
    expect(c.fresh).toBe(false);
    expect(server.stats.sessionsOpened).toBe(2);
    expect(b.client).not.toBe(a.client);
  });

  it('a discard lets a waiting acquire open a connection of its own', async () => {
    const { mirror } = await serve('m1', {}, { maxConnections: 1 });
    const p = pool();
    const a = await acquire(p, mirror);
    const next = acquire(p, mirror);
    expect(await settled(next)).toBe(false);
    p.discard(a);
    const b = await next;
    expect(b.fresh).toBe(true);
    expect(p.opened).toEqual({ m1: 2 });
  });

  it('the limit is per mirror: another mirror is not held up', async () => {
    const one = await serve('m1', {}, { maxConnections: 1 });
    const two = await serve('m2', {}, { maxConnections: 1 });
    const p = pool();
    await acquire(p, one.mirror);
    const blocked = acquire(p, one.mirror);
    const other = await acquire(p, two.mirror);
    expect(other.fresh).toBe(true);
    expect(await settled(blocked)).toBe(false);
    expect(p.opened).toEqual({ m1: 1, m2: 1 });
  });

  it('an abort while waiting ends the acquire with Interrupted and takes no slot', async () => {
    const { mirror } = await serve('m1', {}, { maxConnections: 1 });
    const p = pool();
    const a = await acquire(p, mirror);
    const stop = new AbortController();
    const waiting = p.acquire(mirror, stop.signal);
    expect(await settled(waiting)).toBe(false);
    stop.abort();
    expect(await rejection(waiting)).toBeInstanceOf(Interrupted);
    // The slot is still a's: released, it serves the next acquire.
    p.release(a);
    expect((await acquire(p, mirror)).client).toBe(a.client);
    expect(p.opened).toEqual({ m1: 1 });
  });

  it('an acquire with an aborted signal does not start', async () => {
    const { server, mirror } = await serve('m1');
    const stop = new AbortController();
    stop.abort();
    expect(await rejection(pool().acquire(mirror, stop.signal))).toBeInstanceOf(Interrupted);
    expect(server.stats.sessionsOpened).toBe(0);
  });
});

describe('FtpPool: failures to connect', () => {
  /** The error of an acquire that must fail; the slot it took must be free again. */
  async function failure(p: FtpPool, mirror: MirrorSpec, s = signal()): Promise<RequestError> {
    const error = await rejection(p.acquire(mirror, s));
    expect(error).toBeInstanceOf(RequestError);
    return error as RequestError;
  }

  it('a refused connection is unreachable, and frees its slot', async () => {
    const { server, mirror } = await serve('m1', {}, { maxConnections: 1 });
    server.kill();
    const p = pool();
    expect((await failure(p, mirror)).kind).toBe('unreachable');
    expect((await failure(p, mirror)).kind).toBe('unreachable'); // not left waiting for a slot
    expect(p.opened).toEqual({ m1: 2 });
  });

  it('421 at the greeting is busy; 530 at login is auth', async () => {
    const busy = await serve('busy', { fault: { type: 'refuse' } });
    const locked = await serve('locked', { users: { alice: 'secret' } });
    const p = pool();
    expect((await failure(p, busy.mirror)).kind).toBe('busy');
    expect((await failure(p, locked.mirror)).kind).toBe('auth');
  });

  it('no login within connectTimeoutMs is unreachable', async () => {
    // Every reply 1 s late: the greeting alone outlasts a 100 ms connect limit.
    const { mirror } = await serve('far', { controlDelayMs: 1_000 });
    const error = await failure(pool(100), mirror);
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe('no login within 0.1 s');
  });

  it('an abort while logging in is Interrupted', async () => {
    const { mirror } = await serve('far', { controlDelayMs: 1_000 });
    const stop = new AbortController();
    const connecting = pool().acquire(mirror, stop.signal);
    setTimeout(() => stop.abort(), 20);
    expect(await rejection(connecting)).toBeInstanceOf(Interrupted);
  });
});

describe('commands on a leased connection', () => {
  it("take no stack trace per command (basic-ftp's task stack), and leave the process's limit as it was", async () => {
    const { mirror } = await serve('m', { controlDelayMs: 100 });
    const lease = await acquire(pool(), mirror);
    const limit = Error.stackTraceLimit;
    const answer = lease.client.send('NOOP');
    // The task in flight: basic-ftp keeps the stack it took when the command was sent.
    const task = (lease.client.ftp as unknown as { _task?: { stack: string } })._task;
    const limitMeanwhile = Error.stackTraceLimit;
    expect((await answer).code).toBe(200);
    expect(task?.stack).toMatch(/^Error:? *$/); // no frames
    expect(limitMeanwhile).toBe(limit);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
