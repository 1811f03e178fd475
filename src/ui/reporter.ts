// Turns library events into output: JSON lines for scripts, progress bars on a terminal, plain
// lines otherwise. The only place besides the CLI commands that writes to the console.

import cliProgress from 'cli-progress';
import { maskPasswords, maskPasswordsDeep } from '../util/safe-text.js';
import type { SmartEvent } from './events.js';
import { formatBytes, formatRate } from './format.js';

export interface Reporter {
  event(e: SmartEvent): void;
  /** A line for a human (never in JSON mode's stdout stream). */
  note(line: string): void;
  close(): void;
}

export interface ReporterOptions {
  json: boolean;
  quiet: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream;
}

export function createReporter(options: ReporterOptions): Reporter {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.json) return new Masking(new JsonReporter(stdout, stderr));
  if (options.quiet) return new Masking(new LineReporter(stderr, true));
  if (stderr.isTTY) return new Masking(new BarReporter(stderr));
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
    this.out.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
  }
  note(line: string): void {
    this.err.write(line + '\n');
  }
  close(): void {}
}

/** Says "mirror A stalled at 41.2 MiB, resuming on mirror B" once the next mirror is known. */
class FailoverLines {
  private pending = new Map<string, string>();

  constructor(private readonly say: (line: string) => void) {}

  event(e: SmartEvent): void {
    if (e.type === 'failover') {
      this.flush(e.file, '');
      this.pending.set(e.file, `${e.file}: mirror ${e.mirror} ${describeKind(e.kind)} at ${formatBytes(e.bytes)} (${e.message})`);
    } else if (e.type === 'attempt') {
      this.flush(e.file, e.offset > 0 ? `, resuming on mirror ${e.mirror} at ${formatBytes(e.offset)}` : `, starting over on mirror ${e.mirror}`);
    } else if (e.type === 'error' || e.type === 'done') {
      this.flush(e.file, e.type === 'error' ? ', no mirror left' : '');
    }
  }

  private flush(file: string, tail: string): void {
    const line = this.pending.get(file);
    if (line === undefined) return;
    this.pending.delete(file);
    this.say(line + tail);
  }
}

function describeKind(kind: string): string {
  switch (kind) {
    case 'unreachable':
      return 'is unreachable';
    case 'busy':
      return 'is busy';
    case 'missing':
      return 'does not have the file';
    case 'mismatch':
      return 'has a different copy';
    case 'auth':
      return 'refused the login';
    case 'slow':
      return 'is slow';
    case 'corrupt':
      return "sent bytes that disagree with another mirror's";
    default:
      return kind; // stalled, broken
  }
}

function summary(e: Extract<SmartEvent, { type: 'done' }>): string {
  const from = Object.entries(e.bytesByMirror)
    .map(([m, n]) => `${formatBytes(n)} from ${m}`)
    .join(', ');
  const resumed = e.resumedFrom > 0 ? `, resumed at ${formatBytes(e.resumedFrom)}` : '';
  return `${e.dest}: ${formatBytes(e.size)} in ${e.seconds.toFixed(1)} s (${from || 'nothing fetched'}${resumed})`;
}

class LineReporter implements Reporter {
  private readonly failovers: FailoverLines;

  constructor(
    private readonly err: NodeJS.WritableStream,
    private readonly quiet: boolean,
  ) {
    this.failovers = new FailoverLines((line) => this.say(line));
  }
  private say(line: string): void {
    if (!this.quiet) this.err.write(line + '\n');
  }
  event(e: SmartEvent): void {
    this.failovers.event(e);
    if (e.type === 'done') this.say(summary(e));
    else if (e.type === 'skipped') this.say(`${e.dest}: ${e.reason}; skipped (--force fetches it again)`);
    else if (e.type === 'error') this.err.write(`${e.file}: ${e.message}\n`);
    else if (e.type === 'warning') this.err.write(`warning: ${e.message}\n`);
    else if (e.type === 'membership') this.say(`${e.service}: membership updated from ${e.from} (+${e.added.join(',') || '-'} -${e.removed.join(',') || '-'})`);
    else if (e.type === 'decision') this.say(`decision: ${e.what}: ${e.reason}`);
  }
  note(line: string): void {
    this.say(line);
  }
  close(): void {}
}

class BarReporter implements Reporter {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly failovers: FailoverLines;

  constructor(stream: NodeJS.WriteStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream,
        format: ' {bar} {percentage}% | {file} | {mirror} | {done}/{all} | {rate} | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.failovers = new FailoverLines((line) => this.multibar.log(line + '\n'));
  }

  event(e: SmartEvent): void {
    this.failovers.event(e);
    switch (e.type) {
      case 'attempt': {
        const payload = { file: e.file, mirror: e.mirror, done: formatBytes(e.offset), all: formatBytes(e.size), rate: '-' };
        const bar = this.bars.get(e.file);
        if (bar) {
          bar.setTotal(e.size);
          bar.update(e.offset, payload);
        } else {
          this.bars.set(e.file, this.multibar.create(e.size, e.offset, payload));
        }
        break;
      }
      case 'progress':
        this.bars.get(e.file)?.update(e.bytes, { mirror: e.mirror, done: formatBytes(e.bytes), rate: formatRate(e.rate) });
        break;
      case 'done': {
        const bar = this.bars.get(e.file);
        bar?.update(e.size, { done: formatBytes(e.size), rate: '-' });
        bar?.stop();
        this.multibar.log(summary(e) + '\n');
        break;
      }
      case 'error':
        this.bars.get(e.file)?.stop();
        this.multibar.log(`${e.file}: ${e.message}\n`);
        break;
      case 'warning':
        this.multibar.log(`warning: ${e.message}\n`);
        break;
      case 'skipped':
        this.multibar.log(`${e.dest}: ${e.reason}; skipped (--force fetches it again)\n`);
        break;
      default:
        break;
    }
  }
  note(line: string): void {
    this.multibar.log(line + '\n');
  }
  close(): void {
    this.multibar.stop();
  }
}
