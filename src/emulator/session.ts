import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type net from 'node:net';
import { statelessReply } from './commands.js';
import type { ServerContext } from './context.js';
import { closeWhenRead, DataChannel } from './datachannel.js';
import { formatMdtm, resolveSafe } from './fsview.js';
import { readListing, sendListing } from './listing.js';
import { plainAddress } from './passive.js';
import { sendFile } from './transfer.js';
import { noop, sleep } from './util.js';

// server.ts and transfer.ts import it from here.
export type { ServerContext } from './context.js';

const PRE_LOGIN = new Set(['USER', 'PASS', 'QUIT', 'FEAT', 'SYST', 'OPTS']);
const MAX_LINE = 8192;
const MAX_QUEUED = 256;

/** One control connection. Commands run strictly one after another (clients may pipeline). */
export class Session {
  private buf: Buffer = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private quitting = false;
  private readonly life = new AbortController();
  private user: string | undefined;
  private loggedIn = false;
  private cwd = '/';
  private restOffset = 0;
  private readonly channel: DataChannel;
  /** Set while RETR runs, so that an ABOR can overtake the queue. */
  private transfer: AbortController | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ServerContext,
    private readonly control: net.Socket,
  ) {
    this.channel = new DataChannel(ctx);
    control.on('data', (d: Buffer) => this.onData(d));
    control.once('close', () => this.cleanup('closed'));
  }

  start(): void {
    this.enqueue(() => this.reply(220, 'smartftp emulated mirror'));
  }

  /** Graceful server shutdown: abort any transfer, say goodbye, half-close. */
  shutdown(): void {
    this.quitting = true;
    this.cleanup('shutdown');
    if (this.control.writable) this.control.end('421 Service not available, closing control connection.\r\n');
  }

  /** Armed whenever the session has nothing to do; a client that stays silent is let go. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.ctx.idleTimeoutMs === undefined || this.quitting || this.queued > 0) return;
    this.idleTimer = setTimeout(() => {
      this.quitting = true;
      this.cleanup('idle');
      if (this.control.writable) this.control.end('421 Timeout.\r\n');
    }, this.ctx.idleTimeoutMs);
  }

  private cleanup(reason: string): void {
    clearTimeout(this.idleTimer);
    this.life.abort(reason);
    this.channel.discard();
  }

  private onData(d: Buffer): void {
    clearTimeout(this.idleTimer);
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    for (let i = this.buf.indexOf(0x0a); i !== -1; i = this.buf.indexOf(0x0a)) {
      let line = this.buf.subarray(0, i).toString('utf8');
      this.buf = this.buf.subarray(i + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.onLine(line);
    }
    if (this.buf.length > MAX_LINE) this.control.destroy();
  }

  private onLine(raw: string): void {
    if (this.quitting) return;
    // Telnet IP/Synch bytes may precede an urgent ABOR.
    const line = raw.replace(/^[^A-Za-z]+/, '');
    if (line === '') return;
    const sp = line.indexOf(' ');
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    this.ctx.countCommand();
    if (cmd === 'ABOR' && this.transfer) {
      this.transfer.abort('abor');
      return;
    }
    if (this.queued >= MAX_QUEUED) {
      this.control.destroy();
      return;
    }
    this.enqueue(() => this.exec(cmd, arg));
  }

  private enqueue(task: () => Promise<void>): void {
    this.queued++;
    this.chain = this.chain
      .then(() => (this.life.signal.aborted ? undefined : task()))
      .catch(() => {
        // A failing command must not stop the session; answer like a server with a local problem.
        if (!this.life.signal.aborted) return this.reply(451, 'Requested action aborted: local error.');
      })
      .catch(noop)
      .finally(() => {
        this.queued--;
        this.armIdle();
      });
  }

  private async reply(code: number, text: string): Promise<void> {
    await this.write(`${code} ${text}\r\n`);
  }

  private async write(raw: string): Promise<void> {
    if (this.ctx.controlDelayMs > 0 && !(await sleep(this.ctx.controlDelayMs, this.life.signal))) return;
    if (this.control.writable) this.control.write(raw);
  }

  private async exec(cmd: string, arg: string): Promise<void> {
    if (!this.loggedIn && !PRE_LOGIN.has(cmd)) return this.reply(530, 'Please login with USER and PASS.');
    const fixed = statelessReply(cmd, arg);
    if (fixed !== undefined) return this.write(fixed);
    switch (cmd) {
      case 'USER':
        this.user = arg;
        this.loggedIn = false;
        return this.reply(331, 'Please specify the password.');
      case 'PASS':
        return this.pass(arg);
      case 'QUIT':
        this.quitting = true;
        await this.reply(221, 'Goodbye.');
        this.control.end();
        return;
      case 'PWD':
      case 'XPWD':
        return this.reply(257, `"${this.cwd.replaceAll('"', '""')}" is the current directory`);
      case 'CWD':
      case 'XCWD':
        return this.cwdTo(arg);
      case 'CDUP':
      case 'XCUP':
        return this.cwdTo('..');
      case 'SIZE': {
        const r = await resolveSafe(this.ctx.rootReal, this.cwd, arg);
        return r?.stat.isFile() ? this.reply(213, String(r.stat.size)) : this.reply(550, 'Could not get file size.');
      }
      case 'MDTM': {
        const r = await resolveSafe(this.ctx.rootReal, this.cwd, arg);
        return r?.stat.isFile()
          ? this.reply(213, formatMdtm(r.stat.mtime))
          : this.reply(550, 'Could not get file modification time.');
      }
      case 'REST': {
        const n = /^\d+$/.test(arg.trim()) ? Number(arg.trim()) : NaN;
        if (!Number.isSafeInteger(n)) return this.reply(501, 'Invalid REST parameter.');
        this.restOffset = n;
        return this.reply(350, `Restart position accepted (${n}).`);
      }
      case 'EPSV':
        if (arg.trim().toUpperCase() === 'ALL') return this.reply(200, 'EPSV ALL ok.');
        return this.openPassive(true);
      case 'PASV':
        return this.openPassive(false);
      case 'RETR':
        return this.retr(arg);
      case 'LIST':
      case 'NLST':
        return this.list(arg, cmd === 'NLST');
      case 'ABOR':
        return this.reply(225, 'No transfer to ABOR.');
      default:
        // Includes PORT/EPRT: active mode is not offered.
        return this.reply(502, 'Command not implemented.');
    }
  }

  private async pass(password: string): Promise<void> {
    if (this.user === undefined) return this.reply(503, 'Login with USER first.');
    const users = this.ctx.users;
    const ok = users === undefined || (Object.hasOwn(users, this.user) && users[this.user] === password);
    this.loggedIn = ok;
    return ok ? this.reply(230, 'Login successful.') : this.reply(530, 'Login incorrect.');
  }

  private async cwdTo(arg: string): Promise<void> {
    const r = await resolveSafe(this.ctx.rootReal, this.cwd, arg);
    if (!r?.stat.isDirectory()) return this.reply(550, 'Failed to change directory.');
    this.cwd = r.virtual;
    return this.reply(250, 'Directory successfully changed.');
  }

  private async openPassive(extended: boolean): Promise<void> {
    this.channel.dropListener();
    const local = plainAddress(this.control.localAddress);
    if (!extended && !/^\d+\.\d+\.\d+\.\d+$/.test(local)) return this.reply(425, 'PASV needs IPv4; use EPSV.');
    let port: number | undefined;
    try {
      port = await this.channel.listen(plainAddress(this.control.remoteAddress), this.life.signal);
    } catch {
      return this.reply(425, 'Cannot open passive connection.');
    }
    if (port === undefined) return;
    if (extended) return this.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
    return this.reply(227, `Entering Passive Mode (${local.replaceAll('.', ',')},${port >> 8},${port & 255}).`);
  }

  private async retr(arg: string): Promise<void> {
    const offset = this.restOffset;
    this.restOffset = 0;
    const file = await resolveSafe(this.ctx.rootReal, this.cwd, arg);
    const size = file?.stat.size ?? 0;
    let fh: FileHandle | undefined;
    try {
      if (file?.stat.isFile()) fh = await fsp.open(file.real, 'r');
    } catch {
      fh = undefined;
    }
    if (!fh) return this.reply(550, 'Failed to open file.');
    if (!this.channel.ready) {
      await fh.close().catch(noop);
      return this.reply(425, 'Use PASV or EPSV first.');
    }

    const ctl = new AbortController();
    const onLife = (): void => ctl.abort('session');
    this.life.signal.addEventListener('abort', onLife, { once: true });
    this.transfer = ctl;
    let sending = false;
    try {
      const data = await this.channel.take(ctl.signal);
      if (!data) return await this.afterAbort(ctl, 425, 'Failed to establish connection.');
      data.once('close', () => {
        if (sending) ctl.abort('data-closed');
      });
      // Errors of the error fault are decided when the transfer starts; stall/drop are read live.
      const f = this.ctx.fault();
      const ending = f.type === 'error' || f.type === 'short' ? { kind: f.type, at: f.afterBytes ?? 0 } : undefined;
      this.ctx.countTransfer();
      await this.reply(150, `Opening BINARY mode data connection for ${arg} (${size} bytes).`);
      sending = true;
      const outcome = await sendFile(this.ctx, fh, offset, data, ending, ctl.signal).finally(() => this.ctx.transferEnded());
      fh = undefined; // sendFile's stream owns and closes the handle
      sending = false;
      // From here on an ABOR has nothing to abort; it queues and gets 225 after our reply.
      this.transfer = undefined;
      if (outcome === 'drop') {
        data.destroy();
        this.control.destroy();
        return;
      }
      if (outcome === 'aborted') return await this.afterAbort(ctl, 426, 'Connection closed; transfer aborted.');
      // 'done', 'short' or 'error': the client reads what was sent before the reply comes.
      await closeWhenRead(data, this.life.signal);
      if (outcome === 'done' || outcome === 'short') return await this.reply(226, 'Transfer complete.');
      return await this.reply(426, 'Connection closed; transfer aborted.');
    } finally {
      if (fh) await fh.close().catch(noop);
      this.life.signal.removeEventListener('abort', onLife);
      if (this.transfer === ctl) this.transfer = undefined;
      this.channel.close();
    }
  }

  /** Replies for a transfer that did not complete; an ABOR gets its own 226 after the failure reply. */
  private async afterAbort(ctl: AbortController, code: number, text: string): Promise<void> {
    const reason: unknown = ctl.signal.reason;
    if (reason === 'session') return;
    this.channel.close();
    if (reason === 'abor') {
      await this.reply(426, 'Connection closed; transfer aborted.');
      return this.reply(226, 'ABOR successful.');
    }
    return this.reply(code, text);
  }

  private async list(arg: string, namesOnly: boolean): Promise<void> {
    const text = await readListing(this.ctx.rootReal, this.cwd, arg, namesOnly);
    if (text === undefined) return this.reply(550, 'Failed to open directory.');
    if (!this.channel.ready) return this.reply(425, 'Use PASV or EPSV first.');
    const data = await this.channel.take(this.life.signal);
    if (!data) return this.reply(425, 'Failed to establish connection.');
    await this.reply(150, 'Here comes the directory listing.');
    if (!(await sendListing(this.ctx.bucket, data, text, this.life.signal))) return;
    this.channel.close();
    return this.reply(226, 'Directory send OK.');
  }
}
