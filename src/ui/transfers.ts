// The live area's content: one line per transfer under way and, for several files, one overall
// line above them (files n/N, bytes, rate, ETA, mirrors in use). A finished transfer's line goes;
// its summary is a lasting line. The lines are laid out as a table fitted to the width: the bar
// gives way first, then the name is cut (to 20 cells), then the mirror and the byte counts go;
// the rate and the ETA stay.

import { printable } from '../util/safe-text.js';
import type { SmartEvent } from './events.js';
import { formatBytes, formatRate } from './format.js';
import { RateWindow } from './rate.js';
import { displayWidth, fitStart } from './width.js';

interface Transfer {
  file: string;
  size?: number;
  bytes: number;
  mirror?: string;
  /** While no mirror sends: connecting, switching. */
  status?: string;
  rate: RateWindow;
  /** When bytes last moved (ms, performance.now()). */
  movedAt: number;
}

/** No byte for this long and the line says "waiting" instead of a rate. */
const QUIET_MS = 3000;
const GAP = '  ';
/** A bar narrower than this (brackets included) says nothing. */
const MIN_BAR = 7;
/** Columns after the bar: percent, bytes, rate, ETA, mirror. Which are kept, widest layout first. */
const LAYOUTS = [[0, 1, 2, 3, 4], [0, 1, 2, 3], [0, 2, 3], [2, 3]];
const RIGHT = [true, true, true, false, false];

export class Transfers {
  private readonly active = new Map<string, Transfer>();
  private finished = 0;
  private failed = 0;
  private finishedBytes = 0;
  /** Bytes received in this run, for the overall rate. */
  private fetched = 0;
  private readonly overallRate = new RateWindow();

  constructor(
    /** Files in the run, when known (get's paths and list). */
    private readonly total?: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when the live lines changed. */
  event(e: SmartEvent): boolean {
    const now = this.now();
    if (e.type === 'start') {
      this.active.set(e.file, { file: e.file, size: e.size, bytes: e.offset, status: 'connecting', rate: new RateWindow(), movedAt: now });
    } else if (e.type === 'attempt') {
      const t = this.transfer(e.file);
      Object.assign(t, { size: e.size, mirror: e.mirror, bytes: e.offset, status: undefined, movedAt: now });
      t.rate.reset();
      t.rate.add(now, e.offset);
    } else if (e.type === 'progress') {
      const t = this.transfer(e.file);
      if (e.bytes > t.bytes) this.fetched += e.bytes - t.bytes;
      Object.assign(t, { size: e.size, mirror: e.mirror, bytes: e.bytes, status: undefined, movedAt: now });
      t.rate.add(now, e.bytes);
    } else if (e.type === 'failover') {
      const t = this.active.get(e.file);
      if (t) Object.assign(t, { mirror: undefined, status: 'switching', bytes: e.bytes });
    } else if (e.type === 'done' || e.type === 'skipped' || e.type === 'error') {
      const t = this.active.get(e.file);
      this.active.delete(e.file);
      if (e.type === 'error') this.failed++;
      else {
        this.finished++;
        this.finishedBytes += e.size;
        if (e.type === 'done') this.fetched += Math.max(0, e.size - (t?.bytes ?? e.size));
      }
    } else {
      return false;
    }
    return true;
  }

  private transfer(file: string): Transfer {
    let t = this.active.get(file);
    if (!t) this.active.set(file, (t = { file, bytes: 0, rate: new RateWindow(), movedAt: this.now() }));
    return t;
  }

  render(columns: number, rows: number): string[] {
    const width = columns - 1;
    const now = this.now();
    const all = [...this.active.values()];
    const lines: string[] = [];
    const files = this.total ?? this.finished + this.failed + all.length;
    if (files > 1 && this.finished + this.failed < files) lines.push(this.overall(all, files, now));
    const room = Math.max(1, rows - 1 - lines.length);
    const shown = all.length > room ? all.slice(0, room - 1) : all;
    lines.push(...table(shown, width, now));
    if (shown.length < all.length) lines.push(`and ${all.length - shown.length} more under way`);
    return lines;
  }

  private overall(all: Transfer[], files: number, now: number): string {
    this.overallRate.add(now, this.fetched);
    const rate = this.overallRate.rate(now);
    // Files whose size is not known yet count as the average of those whose size is.
    const sized = all.filter((t) => t.size !== undefined);
    const known = this.finishedBytes + sized.reduce((n, t) => n + t.size!, 0);
    const unknown = files - this.finished - this.failed - sized.length;
    const average = this.finished + sized.length > 0 ? known / (this.finished + sized.length) : 0;
    const total = known + unknown * average;
    const done = this.finishedBytes + all.reduce((n, t) => n + t.bytes, 0);
    const mirrors = [...new Set(all.map((t) => t.mirror).filter((m) => m !== undefined))];
    return [
      `files ${this.finished + this.failed}/${files}${this.failed > 0 ? ` (${this.failed} failed)` : ''}`,
      total > 0 ? pair(done, total, unknown > 0) : formatBytes(done),
      rate === undefined ? '-' : formatRate(rate),
      `ETA ${formatEta(rate ? (total - done) / rate : undefined)}`,
      mirrors.length > 0 ? `from ${mirrors.map(printable).join(',')}` : '',
    ]
      .filter(Boolean)
      .join(GAP);
  }
}

function table(shown: Transfer[], width: number, now: number): string[] {
  const rows = shown.map((t) => ({ t, name: printable(t.file), cells: cells(t, now) }));
  const longest = Math.max(0, ...rows.map((r) => displayWidth(r.name)));
  for (const [i, keep] of LAYOUTS.entries()) {
    const widths = keep.map((c) => Math.max(0, ...rows.map((r) => displayWidth(r.cells[c]!))));
    const room = width - widths.reduce((a, w) => a + w, 0) - GAP.length * keep.length;
    if (room < Math.min(longest, 20) && i < LAYOUTS.length - 1) continue;
    // The name says more than the bar: whole if the bar still fits, cut to no less than 20 cells
    // for a bar of 12, or else all the room and no bar.
    let [nameWidth, barWidth] = [Math.max(1, Math.min(longest, room)), 0];
    if (longest + 1 + MIN_BAR <= room) [nameWidth, barWidth] = [longest, Math.min(32, room - longest - 1)];
    else if (room - 13 >= Math.min(longest, 20)) [nameWidth, barWidth] = [room - 13, 12];
    return rows.map(({ t, name, cells }) => {
      const fitted = fitStart(name, nameWidth);
      const head = fitted + ' '.repeat(Math.max(0, nameWidth - displayWidth(fitted)));
      const tail = keep.map((c, k) => (RIGHT[c] ? cells[c]!.padStart(widths[k]!) : cells[c]!.padEnd(widths[k]!))).join(GAP);
      return (barWidth > 0 ? `${head} ${bar(t.bytes, t.size, barWidth)}${GAP}${tail}` : `${head}${GAP}${tail}`).trimEnd();
    });
  }
  return [];
}

/** Percent, bytes, rate, ETA, mirror. */
function cells(t: Transfer, now: number): string[] {
  const quiet = now - t.movedAt >= QUIET_MS;
  const rate = t.rate.rate(now);
  return [
    t.size ? `${Math.floor((t.bytes / t.size) * 100)}%` : '-',
    t.size !== undefined ? pair(t.bytes, t.size) : formatBytes(t.bytes),
    t.status ?? (quiet ? 'waiting' : rate === undefined ? '-' : formatRate(rate)),
    `ETA ${formatEta(t.size !== undefined && rate && !quiet && !t.status ? (t.size - t.bytes) / rate : undefined)}`,
    t.mirror === undefined ? '' : `from ${printable(t.mirror)}`,
  ];
}

function bar(bytes: number, size: number | undefined, width: number): string {
  const inner = width - 2;
  const filled = size ? Math.min(inner, Math.floor((bytes / size) * inner)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(inner - filled)}]`;
}

/** "1.2/3.0 MiB", or "512.0 KiB/3.0 MiB" when the units differ; "1.2/~3.0 MiB" for an estimate. */
export function pair(done: number, total: number, estimate = false): string {
  const a = formatBytes(done);
  const b = (estimate ? '~' : '') + formatBytes(total);
  const unit = b.slice(b.indexOf(' '));
  return a.endsWith(unit) ? `${a.slice(0, -unit.length)}/${b}` : `${a}/${b}`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.min(Math.round(seconds), 99 * 3600 + 3599);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
