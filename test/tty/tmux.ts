// A terminal for tests: a tmux session of a given size on a socket of its own, a shell in it,
// keys typed into it and the screen read back as a person would see it.

import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why the terminal tests cannot run here, or undefined when they can. */
export function tmuxMissing(): string | undefined {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'tmux is not installed (apt-get install -y tmux; test/interop/install-servers.sh installs it)';
  }
}

export class Tmux {
  /** Every session on a socket of its own: no other tmux server is touched. */
  private readonly socket: string;

  private constructor(readonly name: string) {
    this.socket = `${name}-sock`;
  }

  /** A detached session `columns` x `rows` running a plain bash with the prompt "$ ". */
  static async start(name: string, columns: number, rows: number, env: Record<string, string>): Promise<Tmux> {
    const t = new Tmux(name);
    const vars = Object.entries({ PS1: '$ ', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await t.tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), ...vars, 'bash --norc --noprofile');
    await t.tmux('set-option', '-t', name, 'history-limit', '5000');
    return t;
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    return stdout;
  }

  /** Types a command line and Enter. */
  async type(line: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.name, '-l', line);
    await this.tmux('send-keys', '-t', this.name, 'Enter');
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.name, ...keys);
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', this.name, '-x', String(columns), '-y', String(rows));
  }

  /** The visible screen, row by row, as it is drawn (a long line is on several rows). */
  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', this.name);
  }

  /** Everything printed since the last clear, scrollback included, with wrapped rows joined back into their lines. */
  async lines(): Promise<string[]> {
    const text = await this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', this.name);
    return text.split('\n').map((l) => l.trimEnd());
  }

  /** Waits until the joined lines satisfy `test`; returns them. */
  async waitFor(test: (lines: string[]) => boolean, what: string, timeoutMs = 30_000): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.lines();
      if (test(lines)) return lines;
      if (Date.now() > until) throw new Error(`no ${what} on the screen within ${timeoutMs} ms:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for the "EXIT=n" the test's command line echoes after the command; returns n and the lines. */
  async exit(timeoutMs = 30_000): Promise<{ code: number; lines: string[] }> {
    const lines = await this.waitFor((ls) => ls.some((l) => /^EXIT=\d+$/.test(l)), 'EXIT=', timeoutMs);
    const code = Number(lines.find((l) => /^EXIT=\d+$/.test(l))!.slice('EXIT='.length));
    return { code, lines };
  }

  /** A fresh screen and scrollback for the next command. */
  async clear(): Promise<void> {
    await this.type('clear');
    const until = Date.now() + 5000;
    while ((await this.screen()).trim() !== '$') {
      if (Date.now() > until) throw new Error(`the screen did not clear:\n${await this.screen()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.tmux('clear-history', '-t', this.name);
  }

  /** Ends the session (and so its server, the socket's only one) and removes the socket file tmux leaves. */
  async kill(): Promise<void> {
    const socket = (await this.tmux('display-message', '-p', '-t', this.name, '#{socket_path}').catch(() => '')).trim();
    await this.tmux('kill-session', '-t', this.name).catch(() => undefined);
    if (socket) rmSync(socket, { force: true });
  }
}
