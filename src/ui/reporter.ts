// Turns library events into output: JSON lines for scripts, a live area on a terminal, plain
// lines otherwise. The only place besides the CLI commands that writes to the console.

import { maskPasswords, maskPasswordsDeep, printable } from '../util/safe-text.js';
import type { SmartEvent } from './events.js';
import { LastingLines } from './lines.js';
import { LiveArea } from './live.js';
import { Transfers } from './transfers.js';

export interface Reporter {
  event(e: SmartEvent): void;
  /** A line for a human, printed at once and even with --quiet: every caller's note is an error. */
  note(line: string): void;
  /** Ends the live area on a terminal; what was printed stays. */
  close(): void;
}

export interface ReporterOptions {
  json: boolean;
  quiet: boolean;
  /** How many files the run has, for the overall line on a terminal. */
  total?: number;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream;
}

export function createReporter(options: ReporterOptions): Reporter {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.json) return new Masking(new JsonReporter(stdout, stderr));
  if (options.quiet) return new Masking(new LineReporter(stderr, true));
  if (stderr.isTTY) return new Masking(new TerminalReporter(stderr, options.total));
  return new Masking(new LineReporter(stderr, false));
}

/** Whatever a message quotes (a mirror's reply, an origin), a password in a URL is never printed. */
class Masking implements Reporter {
  constructor(private readonly inner: Reporter) {}
  event(e: SmartEvent): void {
    this.inner.event(maskPasswordsDeep(e));
  }
  note(line: string): void {
    this.inner.note(maskPasswords(line));
  }
  close(): void {
    this.inner.close();
  }
}

class JsonReporter implements Reporter {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly err: NodeJS.WritableStream,
  ) {}
  event(e: SmartEvent): void {
    this.out.write(JSON.stringify({ time: new Date().toISOString(), ...e }, rounded) + '\n');
  }
  note(line: string): void {
    this.err.write(line + '\n');
  }
  close(): void {}
}

/** One line after another, for a pipe or a file. */
class LineReporter implements Reporter {
  private readonly lines: LastingLines;

  constructor(
    private readonly err: NodeJS.WritableStream,
    quiet: boolean,
  ) {
    this.lines = new LastingLines((line, important) => {
      if (important || !quiet) err.write(line + '\n');
    });
  }
  event(e: SmartEvent): void {
    this.lines.event(e);
  }
  note(line: string): void {
    this.err.write(line + '\n');
  }
  close(): void {}
}

/** The same lasting lines, above a live area of the transfers under way (live.ts, transfers.ts). */
class TerminalReporter implements Reporter {
  private readonly transfers: Transfers;
  private readonly area: LiveArea;
  private readonly lines: LastingLines;

  constructor(stream: NodeJS.WriteStream, total: number | undefined) {
    this.transfers = new Transfers(total);
    this.area = new LiveArea(stream, (columns, rows) => this.transfers.render(columns, rows));
    this.lines = new LastingLines((line) => this.area.print(onScreen(line)));
  }
  event(e: SmartEvent): void {
    // The live lines first, so that a summary is drawn in the same write that removes the bar.
    const changed = this.transfers.event(e);
    this.lines.event(e);
    if (changed) this.area.update();
  }
  note(line: string): void {
    this.area.print(onScreen(line));
  }
  close(): void {
    this.area.close();
  }
}

/** A quoted reply cannot move the cursor: control characters are shown escaped, line breaks kept. */
function onScreen(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** JSON numbers as a script wants them: rates in whole bytes a second, other fractions to the millisecond. */
function rounded(key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isInteger(value)) return value;
  return key === 'rate' ? Math.round(value) : Math.round(value * 1000) / 1000;
}
