// A chart for the terminal: one panel per policy, aggregate MB/s against clients, one glyph per
// server count (the digit), the paper's stated points as '*'. Plain ASCII, so it survives logs.

import { CONTENDER_LABEL } from './describe.js';
import { PAPER_POINTS } from './paper.js';
import type { PointResult } from './results.js';
import type { Contender } from './settings.js';

export interface Series {
  glyph: string;
  points: [x: number, y: number][];
  /** Dots between neighbouring points (false for scattered reference points). */
  connect?: boolean;
}

export interface Panel {
  title: string;
  series: Series[];
}

/** Rows: four intervals of three rows, so the labelled rows fall on quarters of the axis. */
const HEIGHT = 13;
const WIDTH = 34;

/** An axis maximum whose quarters are round: 1, 2, 3, 4, 5, 6 or 8 times a power of ten, at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= v - 1e-9) return m * p;
  return 10 * p;
}

function plotPanel(panel: Panel, xMax: number, yMax: number): string[] {
  const grid = Array.from({ length: HEIGHT }, () => Array.from({ length: WIDTH }, () => ' '));
  const col = (x: number): number => Math.round((x / xMax) * (WIDTH - 1));
  const row = (y: number): number => HEIGHT - 1 - Math.round((Math.min(y, yMax) / yMax) * (HEIGHT - 1));
  for (const s of panel.series) {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    // Dots between neighbouring points, then the glyphs on top.
    for (let i = 1; s.connect !== false && i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      for (let c = col(x0) + 1; c < col(x1); c++) {
        const y = y0 + ((y1 - y0) * (c - col(x0))) / (col(x1) - col(x0));
        const cell = grid[row(y)]!;
        if (cell[c] === ' ') cell[c] = '.';
      }
    }
    for (const [x, y] of pts) grid[row(y)]![col(x)] = s.glyph;
  }
  const label = (r: number): string => {
    const y = ((HEIGHT - 1 - r) / (HEIGHT - 1)) * yMax;
    return r % 3 === 0 ? String(Number(y.toFixed(2))).padStart(4) : '    ';
  };
  const lines = grid.map((cells, r) => `${label(r)} |${cells.join('')}`);
  const ticks = Array.from({ length: WIDTH }, () => ' ');
  for (const x of [1, 4, 8, 12, 16].filter((t) => t <= xMax)) {
    const s = String(x);
    const c = Math.min(col(x), WIDTH - s.length);
    for (let i = 0; i < s.length; i++) ticks[c + i] = s[i]!;
  }
  return [panel.title.padEnd(WIDTH + 6), ...lines, `     +${'-'.repeat(WIDTH)}`, `      ${ticks.join('')}`, `      clients`.padEnd(WIDTH + 6)];
}

/** Panels side by side, sharing the axes. */
export function renderPanels(panels: Panel[], xMax: number, yMax: number): string[] {
  const blocks = panels.map((p) => plotPanel(p, xMax, yMax));
  const width = WIDTH + 6;
  return blocks[0]!.map((_, i) => blocks.map((b) => (b[i] ?? '').padEnd(width)).join('   ').trimEnd());
}

/** The Figure 6 chart of a run: a panel per policy, paper MB/s against clients. */
export function figureChart(points: PointResult[], policies: Contender[], options: { paper: boolean } = { paper: true }): string[] {
  const reference = options.paper ? PAPER_POINTS : [];
  const xMax = Math.max(16, ...points.map((p) => p.clients));
  const servers = [...new Set(points.map((p) => p.servers))].sort((a, b) => a - b);
  const yMax = niceCeil(Math.max(0.1, ...points.map((p) => p.paperMBps), ...reference.map((p) => p.mbps)));
  const panels: Panel[] = policies.map((policy) => ({
    title: `${CONTENDER_LABEL[policy]}, MB/s`,
    series: [
      // The paper's points first: where ours coincide, ours show.
      { glyph: '*', connect: false, points: reference.filter((p) => servers.includes(p.servers)).map((p): [number, number] => [p.clients, p.mbps]) },
      ...servers.map((n) => ({
        glyph: n < 10 ? String(n) : String.fromCharCode(55 + n),
        points: points.filter((p) => p.policy === policy && p.servers === n).map((p): [number, number] => [p.clients, p.paperMBps]),
      })),
    ],
  }));
  const legend = options.paper
    ? "glyph = number of servers; * = the paper's stated figures (random: 1 server 8 clients, 2 and 4 servers 16 clients)"
    : 'glyph = number of servers';
  return [...renderPanels(panels, xMax, yMax), legend];
}
