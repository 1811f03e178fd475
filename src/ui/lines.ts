// What a person is told of each event as lasting lines (summaries, failovers, errors, warnings):
// the same words whether they go to a pipe one after another or above a terminal's live area.

import type { SmartEvent } from './events.js';
import { formatBytes } from './format.js';

/** `important` lines (errors, warnings) are printed even with --quiet. */
export type Say = (line: string, important: boolean) => void;

export class LastingLines {
  private readonly failovers: FailoverLines;

  constructor(private readonly say: Say) {
    this.failovers = new FailoverLines((line) => say(line, false));
  }

  event(e: SmartEvent): void {
    this.failovers.event(e);
    if (e.type === 'done') this.say(summary(e), false);
    else if (e.type === 'skipped') this.say(`${e.dest}: ${e.reason}; skipped (--force fetches it again)`, false);
    // AllMirrorsFailed's message already starts with the file's name.
    else if (e.type === 'error') this.say(e.message.startsWith(`${e.file}: `) ? e.message : `${e.file}: ${e.message}`, true);
    else if (e.type === 'warning') this.say(`warning: ${e.message}`, true);
    else if (e.type === 'membership') this.say(`${e.service}: membership updated from ${e.from} (+${e.added.join(',') || '-'} -${e.removed.join(',') || '-'})`, false);
    else if (e.type === 'decision') this.say(`decision: ${e.what}: ${e.reason}`, false);
    else if (e.type === 'dialogue') this.say(`${e.mirror} ${e.line}`, false);
  }
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
    } else if (e.type === 'error' || e.type === 'done' || e.type === 'skipped') {
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
      return 'sent bytes that failed a check';
    default:
      return kind; // stalled, broken
  }
}

export function summary(e: Extract<SmartEvent, { type: 'done' }>): string {
  const from = Object.entries(e.bytesByMirror)
    .map(([m, n]) => `${formatBytes(n)} from ${m}`)
    .join(', ');
  const resumed = e.resumedFrom > 0 ? `, resumed at ${formatBytes(e.resumedFrom)}` : '';
  return `${e.dest}: ${formatBytes(e.size)} in ${e.seconds.toFixed(1)} s (${from || 'nothing fetched'}${resumed})`;
}
