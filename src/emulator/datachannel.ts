import type net from 'node:net';
import type { ServerContext } from './context.js';
import { Passive } from './passive.js';
import { raceAbort, waitEvent } from './util.js';

const DATA_WAIT_MS = 10_000;
/** How long a finished transfer waits for the client to close its end before replying anyway. */
const DATA_CLOSE_WAIT_MS = 10_000;

/**
 * The data side of one session: the listener of the last PASV/EPSV and the data socket taken from
 * it. Held apart from the control state so the session can drop both at once on any exit.
 */
export class DataChannel {
  private passive: Passive | undefined;
  private socket: net.Socket | undefined;

  constructor(private readonly ctx: ServerContext) {}

  /** True while a PASV/EPSV listener waits for the transfer that will use it. */
  get ready(): boolean {
    return this.passive !== undefined;
  }

  /** Opens a listener for `peer` only; throws if it cannot. Undefined when signal aborted meanwhile. */
  async listen(peer: string, signal: AbortSignal): Promise<number | undefined> {
    const p = await Passive.open(this.ctx.host, peer, this.ctx.trackSocket, this.ctx.trackServer);
    if (signal.aborted) {
      p.discard();
      return undefined;
    }
    this.passive = p;
    return p.port;
  }

  /** Forgets the listener; a new PASV/EPSV replaces, never adds. */
  dropListener(): void {
    this.passive?.discard();
    this.passive = undefined;
  }

  /** Waits (bounded, no polling) for the data connection of the last PASV/EPSV. */
  async take(signal: AbortSignal): Promise<net.Socket | undefined> {
    const p = this.passive;
    if (!p) return undefined;
    this.passive = undefined;
    const s = await raceAbort(p.connection, signal, DATA_WAIT_MS);
    if (s) p.take();
    p.discard(); // also drops a connection that arrived just as we gave up
    if (!s || s.destroyed) return undefined;
    this.socket = s;
    return s;
  }

  /** Destroys the data socket taken by the current transfer, if any. */
  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  discard(): void {
    this.dropListener();
    this.close();
  }
}

/**
 * Half-closes data (after `last`, if given) and waits until the client has read everything and
 * closed its end, so that the 226 that follows cannot overtake the data.
 */
export async function closeWhenRead(data: net.Socket, signal: AbortSignal, last?: Buffer): Promise<void> {
  if (last === undefined) data.end();
  else data.end(last);
  if (!data.closed) await waitEvent(data, 'close', signal, DATA_CLOSE_WAIT_MS);
  data.destroy();
}
