import net from 'node:net';
import { noop } from './util.js';

const ACCEPT_WINDOW_MS = 10_000;

export function plainAddress(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:/i, '');
}

/**
 * One passive-mode listener: accepts exactly one data connection, only from the control
 * connection's peer address, and closes itself after that or after 10 s.
 */
export class Passive {
  readonly connection: Promise<net.Socket | undefined>;
  private resolveConnection!: (s: net.Socket | undefined) => void;
  private timer: NodeJS.Timeout | undefined;
  private socket: net.Socket | undefined;
  private taken = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {
    this.connection = new Promise((resolve) => {
      this.resolveConnection = resolve;
    });
  }

  static async open(
    host: string,
    peer: string,
    track: (s: net.Socket) => void,
    trackServer: (s: net.Server) => void,
  ): Promise<Passive> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0, exclusive: true }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', noop);
    trackServer(server);
    const address = server.address();
    const p = new Passive(server, typeof address === 'object' && address ? address.port : 0);
    server.on('connection', (s) => p.onConnection(s, peer, track));
    p.timer = setTimeout(() => p.close(), ACCEPT_WINDOW_MS);
    return p;
  }

  /** Hands the accepted socket to a transfer; the caller owns it from then on. */
  take(): void {
    this.taken = true;
  }

  /** Stops listening; the accepted socket (if any) stays open for its transfer. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.server.close();
    this.resolveConnection(undefined);
  }

  /** Stops listening and drops an accepted socket nobody took. */
  discard(): void {
    this.close();
    if (!this.taken) this.socket?.destroy();
  }

  private onConnection(s: net.Socket, peer: string, track: (s: net.Socket) => void): void {
    s.on('error', noop);
    if (this.socket !== undefined || plainAddress(s.remoteAddress) !== peer) {
      s.destroy();
      return;
    }
    track(s);
    this.socket = s;
    this.resolveConnection(s);
    this.close();
  }
}
