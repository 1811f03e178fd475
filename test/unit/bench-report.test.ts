// The benchmark's outputs from made-up results: the table, the terminal chart, the checks, the CSV
// and the SVG. No servers here; test/integration/bench.test.ts runs the real thing.

import { describe, expect, it } from 'vitest';
import { figureChart, niceCeil, renderPanels } from '../../src/bench/chart.js';
import { runChecks, type Check } from '../../src/bench/checks.js';
import { toCsv } from '../../src/bench/csv.js';
import { PAPER_POINTS, paperPoint } from '../../src/bench/paper.js';
import { reportLines, resultTable } from '../../src/bench/report.js';
import { shares, type BenchResult, type PointResult } from '../../src/bench/results.js';
import { defaultSettings, scaled, type Contender } from '../../src/bench/settings.js';
import { summarize } from '../../src/bench/sweep.js';
import { escapeXml, toSvg, wrap } from '../../src/bench/svg.js';
import { textTable } from '../../src/ui/text-table.js';
import { benchExitCode } from '../../src/cli/bench.js';

const SCALE = 16;
const LINK = 1_250_000 * SCALE;

/** A point delivering `util` of `servers` links, bytes split evenly. */
function point(servers: number, clients: number, policy: Contender, util: number, extra: Partial<PointResult> = {}): PointResult {
  const capacity = servers * LINK;
  const rate = util * capacity;
  const seconds = 10;
  return {
    servers,
    clients,
    policy,
    seconds,
    bytes: rate * seconds,
    filesDone: clients * 40,
    filesFailed: 0,
    rate,
    paperMBps: rate / SCALE / 1e6,
    capacity,
    utilisation: util,
    bytesByServer: Array.from({ length: servers }, () => (rate * seconds) / servers),
    sentByServer: Array.from({ length: servers }, () => (rate * seconds) / servers),
    connections: policy === 'random' ? clients * 20 : clients * servers,
    failovers: 0,
    probes: 0,
    rejected: 0,
    loopBusy: 0.3,
    ...extra,
  };
}

function result(points: PointResult[]): BenchResult {
  const settings = defaultSettings();
  return { settings, scaled: scaled(settings), target: 'emulated', serverNames: ['s1', 's2', 's3', 's4'], points, seconds: 123.4, interrupted: false };
}

/** A run with the paper's shape for random and a good ranked director. */
function goodRun(): PointResult[] {
  const out: PointResult[] = [];
  for (const n of [1, 2, 4]) {
    for (const c of [1, 2, 4, 8, 12, 16]) {
      const randomUtil = n === 1 ? Math.min(0.97, 0.6 * c) : Math.min(0.8, (0.55 * c) / n);
      const rankedUtil = Math.min(0.96, (0.7 * c) / n);
      out.push(point(n, c, 'random', randomUtil), point(n, c, 'ranked', rankedUtil));
    }
  }
  return out;
}

describe('table', () => {
  it('pads columns and spans group labels', () => {
    const lines = textTable(['a', 'bb'], [['1', '22'], ['333', '4']], { groups: [{ label: 'group', span: 2 }] });
    expect(lines[0]!.trim()).toBe('group');
    expect(lines[1]).toBe('  a  bb');
    expect(lines[3]).toBe('  1  22');
    expect(lines[4]).toBe('333   4');
  });

  it('puts each policy beside the other and the paper beside both', () => {
    const r = result(goodRun());
    const lines = resultTable(r, { paper: true });
    expect(lines[0]).toMatch(/random \(paper\).*ranked\+affinity/);
    expect(lines[1]).toMatch(/servers.*clients.*MB\/s.*%links.*share %.*conns.*failovers.*ranked\/random.*paper MB\/s/);
    const row = lines.find((l) => /^\s*1\s+8\s/.test(l))!;
    expect(row).toMatch(/1\.2$/); // the paper's 1.2 MB/s at one server, 8 clients
    const four = lines.find((l) => /^\s*4\s+16\s/.test(l))!;
    expect(four).toMatch(/25\/25\/25\/25/);
    expect(four).toMatch(/3\.0$/);
  });

  it('leaves the paper out when it does not apply', () => {
    expect(resultTable(result(goodRun()), { paper: false })[1]).not.toMatch(/paper/);
  });

  it('reports failed files', () => {
    const r = result([point(2, 4, 'random', 0.5, { filesFailed: 3 }), point(2, 4, 'ranked', 0.6)]);
    expect(resultTable(r, { paper: false }).join('\n')).toMatch(/\(3 failed\)/);
  });
});

describe('the paper\'s figures', () => {
  it('are the three the text states', () => {
    expect(PAPER_POINTS.map((p) => [p.servers, p.clients, p.mbps])).toEqual([
      [1, 8, 1.2],
      [2, 16, 2],
      [4, 16, 3],
    ]);
    expect(paperPoint(2, 16)?.quote).toMatch(/approximately 2 MB\/s/);
    expect(paperPoint(2, 8)).toBeUndefined();
  });
});

describe('checks', () => {
  it('pass on a run of the right shape', () => {
    const checks = runChecks(goodRun(), { heterogeneous: false });
    expect(checks.length).toBeGreaterThanOrEqual(10);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('fail where ranked falls short', () => {
    const points = goodRun().map((p) => (p.policy === 'ranked' && p.servers === 4 && p.clients === 16 ? point(4, 16, 'ranked', 0.7) : p));
    const failed = runChecks(points, { heterogeneous: false }).filter((c) => c.ok === false);
    expect(failed.map((c) => c.name)).toEqual(['ranked, 4 servers at 16 clients: >= 90% of the links']);
    expect(failed[0]!.detail).toMatch(/70%/);
  });

  it('compare ranked with random on heterogeneous links', () => {
    const checks = runChecks([point(4, 8, 'random', 0.3), point(4, 8, 'ranked', 0.6)], { heterogeneous: true });
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: true });
    expect(checks[0]!.detail).toMatch(/2\.00x/);
  });
});

describe('fault checks', () => {
  it('want every file and fewer failovers for ranked', () => {
    const checks = runChecks([point(2, 8, 'random', 0.5, { failovers: 90 }), point(2, 8, 'ranked', 0.5, { failovers: 3 })], { heterogeneous: false, faults: true });
    expect(checks.map((c) => c.ok)).toEqual([true, true]);
    const lost = runChecks([point(2, 8, 'random', 0.5, { filesFailed: 2 }), point(2, 8, 'ranked', 0.5, { failovers: 3 })], { heterogeneous: false, faults: true });
    expect(lost.map((c) => c.ok)).toEqual([false, false]);
  });
});

describe('summarize', () => {
  it('adds the clients up and divides by the wall time', () => {
    const client = (bytes: number, byMirror: Record<string, number>, seconds: number) => ({
      filesDone: 2,
      filesFailed: 0,
      bytes,
      bytesByMirror: byMirror,
      connections: { s1: 1, s2: 2 },
      failovers: 1,
      probes: 1,
      seconds,
    });
    const p = summarize(
      { servers: 2, clients: 2, policy: 'ranked' },
      { seconds: 4, interrupted: false, clients: [client(600, { s1: 600 }, 3), client(600, { s1: 200, s2: 400 }, 4)] },
      { names: ['s1', 's2', 's3'], scale: 2, capacity: 1000, stats: { sent: [900, 500], rejected: 1 }, loopBusy: 0.5 },
    );
    expect(p).toMatchObject({ bytes: 1200, rate: 300, utilisation: 0.3, bytesByServer: [800, 400], connections: 6, failovers: 2, probes: 2, filesDone: 4, rejected: 1 });
    expect(p.paperMBps).toBeCloseTo(300 / 2 / 1e6);
    expect(shares(p)).toEqual([800 / 1200, 400 / 1200]);
  });
});

describe('terminal chart', () => {
  it('rounds axes to values with round quarters', () => {
    expect(niceCeil(1.25)).toBe(2);
    expect(niceCeil(4.8)).toBe(5);
    expect(niceCeil(0.7)).toBe(0.8);
    expect(niceCeil(0)).toBe(1);
  });

  it('places glyphs by value and joins them with dots', () => {
    const lines = renderPanels([{ title: 't', series: [{ glyph: '1', points: [[0, 0], [16, 4]] }] }], 16, 4);
    expect(lines[0]!.trim()).toBe('t');
    expect(lines[1]).toMatch(/^\s+4 \|\s+\.?1$/); // the top row: the highest point at the far right
    expect(lines[13]).toMatch(/^\s+0 \|1/); // the bottom row: the first point at the far left
    expect(lines.some((l) => l.includes('.'))).toBe(true);
  });

  it('draws a panel per policy with the paper\'s points', () => {
    const lines = figureChart(goodRun(), ['random', 'ranked']);
    expect(lines[0]).toMatch(/random \(paper\).*ranked\+affinity/);
    const body = lines.join('\n');
    expect(body).toContain('*');
    for (const g of ['1', '2', '4']) expect(body).toContain(g);
    expect(figureChart(goodRun(), ['ranked'], { paper: false }).join('\n')).not.toContain('*');
  });
});

describe('report', () => {
  it('says what was run, how it was scaled, and how long it took', () => {
    const r = result(goodRun());
    const text = reportLines(r, runChecks(r.points, { heterogeneous: false }), { paper: true }).join('\n');
    expect(text).toMatch(/Settings: 40 files x 512\.0 KiB/);
    expect(text).toMatch(/Scale: run 16x faster/);
    expect(text).toMatch(/\[ ok \] ranked, 4 servers at 16 clients/);
    expect(text).toMatch(/Run took 123\.4 s/);
  });
});

describe('CSV', () => {
  it('has a row per point and a column per server', () => {
    const r = result([point(1, 1, 'random', 0.5), point(4, 16, 'ranked', 0.9)]);
    const lines = toCsv(r).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0]!.split(',');
    expect(header.slice(0, 3)).toEqual(['servers', 'clients', 'policy']);
    expect(header).toContain('share_s4');
    expect(header).toContain('sent_s1');
    const row = Object.fromEntries(lines[2]!.split(',').map((v, i) => [header[i], v]));
    expect(row).toMatchObject({ servers: '4', clients: '16', policy: 'ranked', utilisation: '0.9', share_s1: '0.25', scale: '16' });
    expect(Number(row.mb_per_s_paper)).toBeCloseTo(4.5);
    const first = Object.fromEntries(lines[1]!.split(',').map((v, i) => [header[i], v]));
    expect(first.share_s2).toBe(''); // one server: nothing for the others
  });
});

describe('SVG', () => {
  it('is one document with a line per server count and policy', () => {
    const svg = toSvg(result(goodRun()), { paper: true });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // 3 server counts x 2 policies = 6 data lines (paths with an M and L's, no fill).
    expect(svg.match(/<path d="M[^"]*L[^"]*" fill="none"/g)).toHaveLength(6);
    expect(svg).toContain('Number of clients');
    expect(svg).toContain('paper-equivalent');
    expect(svg).toContain('4 servers, ranked+affinity');
    expect(svg).toContain('paper (random), as stated');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('escapes text and wraps long notes', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&lt;b &amp; &quot;c&quot;');
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
  });
});

describe('the exit code of smartftp bench', () => {
  const check = (ok: boolean | undefined): Check => ({ name: 'c', ok, detail: '' });

  it('is 1 when a check failed, unless --report-only; a check that could not be judged fails nothing', () => {
    expect(benchExitCode(false, [])).toBe(0);
    expect(benchExitCode(false, [check(true), check(undefined)])).toBe(0);
    expect(benchExitCode(false, [check(true), check(false)])).toBe(1);
    expect(benchExitCode(false, [check(false)], true)).toBe(0);
  });

  it('is 130 when interrupted, whatever the checks', () => {
    expect(benchExitCode(true, [check(false)])).toBe(130);
    expect(benchExitCode(true, [check(true)], true)).toBe(130);
  });
});
