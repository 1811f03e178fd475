// The report for a terminal or a README: what was run, the table (ours beside the paper's), the
// chart and the checks. Returns lines; the CLI prints them.

import { figureChart } from './chart.js';
import type { Check } from './checks.js';
import { CONTENDER_LABEL, scaleLine, settingsLine } from './describe.js';
import { PAPER_NOTES, paperPoint } from './paper.js';
import { findPoint, shares, type BenchResult, type PointResult } from './results.js';
import { textTable, type Group } from '../ui/text-table.js';

const pct = (n: number | undefined): string => (n === undefined ? '-' : `${Math.round(n * 100)}%`);

function shareText(p: PointResult): string {
  return p.servers === 1 ? '-' : shares(p).map((s) => String(Math.round(s * 100))).join('/');
}

/** One row per (servers, clients): each policy's figures side by side, then the paper's. */
export function resultTable(result: BenchResult, options: { paper: boolean }): string[] {
  const { policies } = result.settings;
  const header = ['servers', 'clients'];
  const groups: Group[] = [{ label: '', span: 2 }];
  for (const policy of policies) {
    header.push('MB/s', '%links', 'share %', 'conns', 'failovers');
    groups.push({ label: CONTENDER_LABEL[policy], span: 5 });
  }
  const both = policies.includes('random') && policies.includes('ranked');
  if (both) header.push('ranked/random');
  if (options.paper) header.push('paper MB/s');
  groups.push({ label: '', span: (both ? 1 : 0) + (options.paper ? 1 : 0) });
  const rows: string[][] = [];
  const keys = [...new Set(result.points.map((p) => `${p.servers}:${p.clients}`))];
  for (const key of keys) {
    const [servers, clients] = key.split(':').map(Number) as [number, number];
    const row = [String(servers), String(clients)];
    for (const policy of policies) {
      const p = findPoint(result.points, servers, clients, policy);
      if (!p) {
        row.push('-', '-', '-', '-', '-');
        continue;
      }
      const failed = p.filesFailed > 0 ? ` (${p.filesFailed} failed)` : '';
      row.push(p.paperMBps.toFixed(2) + failed, pct(p.utilisation), shareText(p), String(p.connections), String(p.failovers));
    }
    if (both) {
      const a = findPoint(result.points, servers, clients, 'ranked');
      const b = findPoint(result.points, servers, clients, 'random');
      row.push(a && b && b.rate > 0 ? `${(a.rate / b.rate).toFixed(2)}x` : '-');
    }
    if (options.paper) row.push(paperPoint(servers, clients)?.mbps.toFixed(1) ?? '');
    rows.push(row);
  }
  return textTable(header, rows, { groups });
}

export function checkLines(checks: Check[]): string[] {
  return checks.map((c) => `${c.ok === undefined ? '[ ? ]' : c.ok ? '[ ok ]' : '[FAIL]'} ${c.name}: ${c.detail}`);
}

/** Everything a person reads after a run. `paper` is false for heterogeneous links or real mirrors. */
export function reportLines(result: BenchResult, checks: Check[], options: { paper: boolean }): string[] {
  const lines = [
    `smartftp bench: Figure 6 of "Using Smart Clients to Build Scalable Services" (USENIX 1997), ${result.target === 'emulated' ? 'on emulated mirrors at 127.0.0.1' : `against ${result.target}`}`,
    `Settings: ${settingsLine(result.settings, result.scaled, result.target === 'emulated')}`,
    scaleLine(result.settings, result.scaled),
    `MB = 10^6 bytes; MB/s = bytes of completed files / wall time until the last client finished; %links = of the file data the servers' links can carry (their rate less TCP/IP framing);`,
    `share = bytes by server; conns = control connections opened; random (paper) holds one connection per client like the paper's applet.`,
    '',
    ...resultTable(result, options),
    '',
    ...figureChart(result.points, result.settings.policies, options),
  ];
  if (options.paper) lines.push('', ...PAPER_NOTES.map((n) => `Paper: ${n}`));
  if (checks.length > 0) {
    lines.push('', 'Checks:', ...checkLines(checks));
    // Measured here: the same point (4 servers, 16 clients, ranked) ranged 85-93 % over 16 runs in
    // session 7, and 91.8-93.6 % over 8 runs of the code with re-tests by probe.
    lines.push('Each check reads one run of each point; a busy point varies by a few % between runs. node scripts/bench-repeat.mjs runs several seeds.');
  }
  const busy = Math.max(0, ...result.points.map((p) => p.loopBusy));
  lines.push('', `Run took ${result.seconds.toFixed(1)} s; busiest point kept the event loop ${pct(busy)} busy${busy > 0.9 ? ' (the machine may have set the pace there)' : ''}.`);
  if (result.interrupted) lines.push('Interrupted: the points above are those that finished.');
  return lines;
}
