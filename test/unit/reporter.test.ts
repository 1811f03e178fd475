// The reporter without a terminal: the plain lines byte for byte, the live area's writes on a
// stand-in terminal, the transfer lines at several widths, cutting by display width, EPIPE.

import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SmartEvent } from '../../src/ui/events.js';
import { quietOnBrokenPipe } from '../../src/ui/pipes.js';
import { createReporter } from '../../src/ui/reporter.js';
import { Transfers } from '../../src/ui/transfers.js';
import { displayWidth, fitEnd, fitStart } from '../../src/ui/width.js';

const MiB = 1024 * 1024;

const RUN: SmartEvent[] = [
  { type: 'start', file: 'big.bin', dest: '/d/big.bin', offset: 0 },
  { type: 'attempt', file: 'big.bin', mirror: 'm1', offset: 0, size: 8 * MiB, reused: false },
  { type: 'progress', file: 'big.bin', mirror: 'm1', bytes: 3 * MiB, size: 8 * MiB, rate: MiB },
  { type: 'failover', file: 'big.bin', mirror: 'm1', kind: 'broken', message: 'Server sent FIN packet unexpectedly', bytes: 3 * MiB, size: 8 * MiB },
  { type: 'attempt', file: 'big.bin', mirror: 'm2', offset: 3 * MiB, size: 8 * MiB, reused: false },
  { type: 'done', file: 'big.bin', dest: '/d/big.bin', size: 8 * MiB, resumedFrom: 0, seconds: 2.5, bytesByMirror: { m1: 3 * MiB, m2: 5 * MiB } },
  { type: 'error', file: 'x.bin', message: 'x.bin: every mirror failed: m1: missing (550 No such file)', attempts: [] },
  { type: 'warning', message: 'careful' },
];

/** A stand-in terminal: what was written, a size, resize events. */
function fakeTerminal(columns: number, rows: number) {
  const out = Object.assign(new EventEmitter(), {
    isTTY: true,
    columns,
    rows,
    written: [] as string[],
    write(s: string) {
      out.written.push(s);
      return true;
    },
    getWindowSize: () => [out.columns, out.rows],
  });
  return out;
}

describe('plain lines (stderr not a terminal)', () => {
  it('are the same bytes as before the terminal reporter', () => {
    const err = new PassThrough();
    const r = createReporter({ json: false, quiet: false, stderr: err as unknown as NodeJS.WriteStream });
    for (const e of RUN) r.event(e);
    r.note('smartftp get: a note');
    r.close();
    expect(err.read()?.toString()).toBe(
      [
        'big.bin: mirror m1 broken at 3.0 MiB (Server sent FIN packet unexpectedly), resuming on mirror m2 at 3.0 MiB',
        '/d/big.bin: 8.0 MiB in 2.5 s (3.0 MiB from m1, 5.0 MiB from m2)',
        'x.bin: every mirror failed: m1: missing (550 No such file)',
        'warning: careful',
        'smartftp get: a note',
        '',
      ].join('\n'),
    );
  });

  it('-q keeps errors, warnings and notes only', () => {
    const err = new PassThrough();
    const r = createReporter({ json: false, quiet: true, stderr: err as unknown as NodeJS.WriteStream });
    for (const e of RUN) r.event(e);
    r.note('smartftp get: no file named');
    expect(err.read()?.toString().split('\n')).toEqual(['x.bin: every mirror failed: m1: missing (550 No such file)', 'warning: careful', 'smartftp get: no file named', '']);
  });
});

describe('on a terminal', () => {
  it('writes every lasting line whole, live lines within the width, and erases them at close', () => {
    const term = fakeTerminal(40, 10);
    const r = createReporter({ json: false, quiet: false, stderr: term as unknown as NodeJS.WriteStream, total: 1 });
    for (const e of RUN.slice(0, 5)) r.event(e); // up to the attempt on m2: a live line is on screen
    r.note('a note\x1b[2J with an escape');
    r.close();
    expect(term.written.at(-1)).toMatch(/^\r\x1b\[2K(\x1b\[1A\x1b\[2K)+$/);
    expect(term.listenerCount('resize')).toBe(0);
    for (const e of RUN.slice(5)) r.event(e); // after close: lines only
    const all = term.written.join('');
    expect(all).not.toContain('\x1b[?7l'); // line wrap is never turned off
    expect(all).toContain('resuming on mirror m2 at 3.0 MiB\n');
    expect(all).toContain('/d/big.bin: 8.0 MiB in 2.5 s (3.0 MiB from m1, 5.0 MiB from m2)\n');
    expect(all).toContain('a note\\u001b[2J with an escape\n');
    // Live lines: what sits between the last erase and the end of each write.
    const live = term.written.flatMap((w) => w.split('\n').filter((l) => l.includes('ETA')));
    expect(live.length).toBeGreaterThan(0);
    for (const l of live) expect(displayWidth(l.replace(/\x1b\[[0-9]*[AK]|\r/g, ''))).toBeLessThan(40);
  });
});

describe('transfer lines', () => {
  const file = 'some/rather/long/directory/name/file-0.iso';
  const events: SmartEvent[] = [
    { type: 'start', file, dest: 'x', offset: 0 },
    { type: 'attempt', file, mirror: 'mirror-east', offset: 0, size: 700 * MiB, reused: false },
  ];

  it('keep the rate and ETA at 80 columns and below, the bar and the mirror giving way first', () => {
    let now = 0;
    const t = new Transfers(3, () => now);
    for (const e of events) t.event(e);
    now = 2000;
    t.event({ type: 'progress', file, mirror: 'mirror-east', bytes: 100 * MiB, size: 700 * MiB, rate: 0 });
    for (const columns of [120, 80, 60, 40]) {
      const [overall, line] = t.render(columns, 24);
      expect(overall).toMatch(/^files 0\/3  100\.0 MiB\/~2\.1 GiB  -  ETA --:--  from mirror-east$/);
      expect(line).toMatch(/50\.0 MiB\/s +ETA 0:12/);
      expect(displayWidth(line!)).toBeLessThan(columns);
    }
    expect(t.render(120, 24)[1]).toMatch(/\[#+-+\].*from mirror-east$/);
    expect(t.render(40, 24)[1]).not.toContain('[');
  });

  it('a finished transfer leaves no line; with every file done, no overall line either', () => {
    const t = new Transfers(1);
    for (const e of events) t.event(e);
    t.event({ type: 'done', file, dest: 'x', size: 700 * MiB, resumedFrom: 0, seconds: 1, bytesByMirror: {} });
    expect(t.render(80, 24)).toEqual([]);
  });
});

describe('display width', () => {
  it('counts wide characters twice and cuts by cells', () => {
    expect(displayWidth('日本語.bin')).toBe(10);
    expect(fitEnd('abcdefghij', 6)).toBe('abc...');
    expect(fitStart('dir/日本語.bin', 9)).toBe('...語.bin');
    expect(displayWidth(fitStart('日本語日本語日本語', 8))).toBeLessThanOrEqual(8);
  });
});

describe('EPIPE', () => {
  it('is swallowed; any other stream error still throws', () => {
    const stream = new EventEmitter() as unknown as NodeJS.WritableStream;
    quietOnBrokenPipe([stream]);
    expect(() => stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).not.toThrow();
    expect(() => stream.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }))).toThrow('EIO');
  });
});
