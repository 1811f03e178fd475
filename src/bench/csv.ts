// Every point of a run as CSV: one row per point, per-server columns up to the most servers run.

import { shares, type BenchResult } from './results.js';

function cell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? String(Number.isInteger(v) ? v : Number(v.toPrecision(6))) : v;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(result: BenchResult): string {
  const most = Math.max(1, ...result.points.map((p) => p.servers));
  const perServer = (prefix: string) => Array.from({ length: most }, (_, i) => `${prefix}_${result.serverNames[i] ?? i + 1}`);
  const header = [
    'servers', 'clients', 'policy', 'files_per_client', 'file_bytes', 'scale',
    'seconds', 'bytes', 'files_done', 'files_failed', 'mb_per_s_measured', 'mb_per_s_paper',
    'capacity_mb_per_s_measured', 'utilisation', 'connections', 'failovers', 'probes', 'rejected_421', 'event_loop_busy',
    ...perServer('share'), ...perServer('bytes'), ...perServer('sent'),
  ];
  const { files, size, scale } = result.settings;
  const rows = result.points.map((p) => {
    const s = shares(p);
    const fill = (values: number[] | undefined) => Array.from({ length: most }, (_, i) => cell(values?.[i]));
    return [
      cell(p.servers), cell(p.clients), cell(p.policy), cell(files), cell(size), cell(scale),
      cell(p.seconds), cell(p.bytes), cell(p.filesDone), cell(p.filesFailed), cell(p.rate / 1e6), cell(p.paperMBps),
      cell(p.capacity === undefined ? undefined : p.capacity / 1e6), cell(p.utilisation), cell(p.connections), cell(p.failovers), cell(p.probes),
      cell(p.rejected), cell(p.loopBusy),
      ...fill(s), ...fill(p.bytesByServer), ...fill(p.sentByServer),
    ].join(',');
  });
  return [header.join(','), ...rows].join('\n') + '\n';
}
